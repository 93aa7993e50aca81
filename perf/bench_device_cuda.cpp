// The CUDA device: device memory, one non-blocking stream that the convx handle runs on, and
// CUDA events around each run. Built only with CONVX_HAVE_CUDA (plain C++ on the runtime API).
#include <cuda_runtime.h>

#include <cstdio>
#include <stdexcept>
#include <string>

#include "bench_device.h"

namespace convxbench {

namespace {

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess)
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

class EventTimer final : public Timer {
public:
    explicit EventTimer(cudaStream_t s) : stream_(s) {
        check(cudaEventCreate(&a_), "cudaEventCreate");
        check(cudaEventCreate(&b_), "cudaEventCreate");
    }
    ~EventTimer() override {
        cudaEventDestroy(a_);
        cudaEventDestroy(b_);
    }
    void start() override { check(cudaEventRecord(a_, stream_), "cudaEventRecord"); }
    void stop() override { check(cudaEventRecord(b_, stream_), "cudaEventRecord"); }
    double elapsedMs() override {
        check(cudaEventSynchronize(b_), "cudaEventSynchronize");
        float ms = 0.f;
        check(cudaEventElapsedTime(&ms, a_, b_), "cudaEventElapsedTime");
        return ms;
    }

private:
    cudaStream_t stream_;
    cudaEvent_t a_{}, b_{};
};

class CudaDevice final : public Device {
public:
    CudaDevice() {
        check(cudaGetDevice(&dev_), "cudaGetDevice");
        check(cudaGetDeviceProperties(&prop_, dev_), "cudaGetDeviceProperties");
        check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    }
    ~CudaDevice() override { cudaStreamDestroy(stream_); }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    std::string description() const override {
        char buf[160];
        std::snprintf(buf, sizeof buf, " (sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB)", prop_.major, prop_.minor, prop_.multiProcessorCount,
                      prop_.totalGlobalMem / 1073741824.0, prop_.l2CacheSize / 1048576.0);
        return std::string(prop_.name) + buf;
    }
    std::string driver() const override {
        int drv = 0, rt = 0;
        cudaDriverGetVersion(&drv);
        cudaRuntimeGetVersion(&rt);
        auto v = [](int x) { return std::to_string(x / 1000) + "." + std::to_string(x % 1000 / 10); };
        return "CUDA driver " + v(drv) + ", runtime " + v(rt);
    }
    size_t cacheBytes() const override { return static_cast<size_t>(prop_.l2CacheSize); }
    void* alloc(size_t bytes) override {
        void* p = nullptr;
        check(cudaMalloc(&p, bytes), "cudaMalloc");
        return p;
    }
    void release(void* p) override { cudaFree(p); }
    void upload(void* dst, const void* src, size_t bytes) override {
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpy H2D");
        synchronize();
    }
    void download(void* dst, const void* src, size_t bytes) override {
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpy D2H");
        synchronize();
    }
    void copy(void* dst, const void* src, size_t bytes) override {
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "cudaMemcpy D2D");
    }
    void fill(void* p, unsigned char byte, size_t bytes) override {
        check(cudaMemsetAsync(p, byte, bytes, stream_), "cudaMemset");
    }
    void synchronize() override { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }
    std::unique_ptr<Timer> makeTimer() override { return std::make_unique<EventTimer>(stream_); }
    void* stream() const override { return stream_; }

private:
    int dev_ = 0;
    cudaDeviceProp prop_{};
    cudaStream_t stream_{};
};

}  // namespace

std::unique_ptr<Device> makeCudaDevice(std::string* why) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        cudaGetLastError();
        if (why) *why = e != cudaSuccess ? std::string("no usable CUDA device: ") + cudaGetErrorString(e) : "no CUDA device is visible";
        return nullptr;
    }
    try {
        return std::make_unique<CudaDevice>();
    } catch (const std::exception& ex) {
        if (why) *why = ex.what();
        return nullptr;
    }
}

}  // namespace convxbench
