// The object behind convxHandle_t: which backend runs the calls, and its per-handle state.
#pragma once

#include "convx/convx.h"

struct convxContext {
    convxBackend_t backend = CONVX_BACKEND_CPU;
    int numThreads = 0;      // CPU: 0 = OpenMP default
    void* stream = nullptr;  // CUDA: cudaStream_t
    int device = -1;         // CUDA: device ordinal
};
