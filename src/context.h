// The object behind convxHandle_t: which backend runs the calls, and its per-handle state.
#pragma once

#include <functional>

#include "convx/convx.h"

struct convxContext {
    convxBackend_t backend = CONVX_BACKEND_CPU;
    int numThreads = 0;      // CPU: 0 = OpenMP default
    void* stream = nullptr;  // CUDA: cudaStream_t
    int device = -1;         // CUDA: device ordinal
    void* cudnn = nullptr;   // CUDA: this handle's cudnnHandle_t, created on first use
};

namespace convx {
void initBackend(convxContext& ctx);     // throws NOT_SUPPORTED_BACKEND when the backend cannot run
void releaseBackend(convxContext& ctx);  // frees what initBackend and the algorithms attached
// Throws BAD_PARAM naming `arg` when the backend cannot address `ptr` (a host pointer on CUDA).
void checkBackendPointer(const convxContext& ctx, const void* ptr, const char* arg);
// Milliseconds that `run` takes on the handle's backend (CUDA: events on the handle's stream).
double backendTimeMs(const convxContext& ctx, const std::function<void()>& run);
}  // namespace convx
