// CUDA backend bring-up for a handle: a driver and a device must be there, or the handle is
// refused with NOT_SUPPORTED_BACKEND and the runtime's reason.
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <string>

#include "context.h"
#include "cuda_check.h"
#include "error.h"

namespace convx {

#ifdef CONVX_HAVE_CUDNN
void releaseCudnnHandle(convxContext& ctx);  // cuda/cudnn_fallback.cpp
#endif

void initCudaBackend(convxContext& ctx) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();  // do not leave the error for the application's next runtime call
        fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "no usable CUDA driver or device: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    }
    if (count == 0) fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "no CUDA device is visible");
    e = cudaGetDevice(&ctx.device);
    if (e != cudaSuccess) {
        cudaGetLastError();
        fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "cannot query the current CUDA device: %s", cudaGetErrorString(e));
    }
}

void releaseCudaBackend(convxContext& ctx) {
#ifdef CONVX_HAVE_CUDNN
    releaseCudnnHandle(ctx);
#else
    (void)ctx;
#endif
}

void checkCudaPointer(const void* ptr, const char* arg) {
    cudaPointerAttributes attr{};
    cudaError_t e = cudaPointerGetAttributes(&attr, ptr);
    if (e != cudaSuccess) {
        cudaGetLastError();
        fail(CONVX_STATUS_BAD_PARAM, "%s = %p: the CUDA runtime cannot classify it (%s)", arg, ptr, cudaGetErrorString(e));
    }
    if (attr.type == cudaMemoryTypeUnregistered)
        fail(CONVX_STATUS_BAD_PARAM, "%s = %p is ordinary host memory; a CUDA handle needs device, managed or mapped memory", arg, ptr);
}

double cudaTimeMs(const convxContext& ctx, const std::function<void()>& run) {
    cudaStream_t stream = static_cast<cudaStream_t>(ctx.stream);
    cudaEvent_t start = nullptr, stop = nullptr;
    cudaCheck(cudaEventCreate(&start), "cudaEventCreate");
    float ms = 0.0f;
    try {
        cudaCheck(cudaEventCreate(&stop), "cudaEventCreate");
        cudaCheck(cudaEventRecord(start, stream), "cudaEventRecord");
        run();
        cudaCheck(cudaEventRecord(stop, stream), "cudaEventRecord");
        cudaCheck(cudaEventSynchronize(stop), "convolution on the GPU");
        cudaCheck(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    } catch (...) {
        cudaEventDestroy(start);
        if (stop) cudaEventDestroy(stop);
        throw;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return ms;
}

// ---- find-db hooks (src/context.h)

// The GPU as the find-db keys it: the device name and compute capability (the same facts the
// bench prints in its report header), e.g. "cuda-NVIDIA_H200-sm90". One query per device.
std::string cudaDeviceKey(const convxContext& ctx) {
    static std::mutex m;
    static std::map<int, std::string> keys;
    std::lock_guard<std::mutex> lock(m);
    auto it = keys.find(ctx.device);
    if (it != keys.end()) return it->second;
    cudaDeviceProp prop{};
    std::string key;
    if (cudaGetDeviceProperties(&prop, ctx.device) == cudaSuccess) {
        key = "cuda-" + sanitizeKey(prop.name) + "-sm" + std::to_string(prop.major) + std::to_string(prop.minor);
    } else {
        cudaGetLastError();
        key = "cuda-device" + std::to_string(ctx.device);  // not cached: the next call retries
        return key;
    }
    keys.emplace(ctx.device, key);
    return key;
}

void* cudaAllocBytes(size_t bytes) {
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
    if (e != cudaSuccess) {
        cudaGetLastError();
        fail(CONVX_STATUS_DEVICE_ALLOC_FAILED, "cannot allocate %zu bytes of device memory: %s", bytes, cudaGetErrorString(e));
    }
    return p;
}

void cudaFreeBytes(void* p) {
    if (p) cudaFree(p);
}

void cudaCopyBytes(const convxContext& ctx, void* dst, const void* src, size_t bytes) {
    if (bytes) cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(ctx.stream)), "cudaMemcpyAsync");
}

// Pageable host memory: ordered with the stream and finished on return (the caller may free src).
void cudaUploadBytes(const convxContext& ctx, void* dst, const void* src, size_t bytes) {
    if (!bytes) return;
    cudaStream_t st = static_cast<cudaStream_t>(ctx.stream);
    cudaCheck(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, st), "cudaMemcpyAsync");
    cudaCheck(cudaStreamSynchronize(st), "cudaStreamSynchronize");
}

}  // namespace convx
