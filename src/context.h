// The object behind convxHandle_t: which backend runs the calls, and its per-handle state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "convx/convx.h"

struct convxContext {
    convxBackend_t backend = CONVX_BACKEND_CPU;
    int numThreads = 0;      // CPU: 0 = OpenMP default
    void* stream = nullptr;  // CUDA: cudaStream_t
    int device = -1;         // CUDA: device ordinal
    void* cudnn = nullptr;   // CUDA: this handle's cudnnHandle_t, created on first use
    // convxSetWorkspaceLimit: AUTO, Get and Find never choose an algorithm needing more bytes.
    size_t workspaceLimit = SIZE_MAX;
};

namespace convx {
void initBackend(convxContext& ctx);     // throws NOT_SUPPORTED_BACKEND when the backend cannot run
void releaseBackend(convxContext& ctx);  // frees what initBackend and the algorithms attached
// Throws BAD_PARAM naming `arg` when the backend cannot address `ptr` (a host pointer on CUDA).
void checkBackendPointer(const convxContext& ctx, const void* ptr, const char* arg);
// Milliseconds that `run` takes on the handle's backend (CUDA: events on the handle's stream).
double backendTimeMs(const convxContext& ctx, const std::function<void()>& run);

// ---- hooks of the find-db and of CONVX_FIND_MODE=auto (CUDA parts in cuda/device.cu)
// What the handle runs on, as a file-name-safe key: "cpu-<model name>", "cuda-<name>-sm<cc>".
std::string backendDeviceKey(const convxContext& ctx);
// Memory the backend's kernels can address (CUDA: device memory), aligned for any element type.
// Throws ALLOC_FAILED / DEVICE_ALLOC_FAILED.
void* backendAlloc(const convxContext& ctx, size_t bytes);
void backendFree(const convxContext& ctx, void* p);
// Copies bytes between two backend buffers, ordered with the handle's work (CUDA: its stream).
void backendCopy(const convxContext& ctx, void* dst, const void* src, size_t bytes);
// Copies host memory into a backend buffer (CUDA: synchronous host-to-device, so `src` may be
// freed on return).
void backendUpload(const convxContext& ctx, void* dst, const void* hostSrc, size_t bytes);
// Keeps [A-Za-z0-9.+-] and turns every other run of characters into one '_'.
std::string sanitizeKey(const std::string& s);
}  // namespace convx
