// CUDA runtime errors become convx Errors with the runtime's own text.
#pragma once

#include <cuda_runtime.h>

#include "error.h"

namespace convx {

inline void cudaCheck(cudaError_t e, const char* what) {
    if (e != cudaSuccess)
        fail(CONVX_STATUS_EXECUTION_FAILED_CUDART, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

// After a launch: configuration errors surface here, asynchronous ones at the next sync.
inline void cudaCheckLaunch(const char* kernel) { cudaCheck(cudaGetLastError(), kernel); }

}  // namespace convx
