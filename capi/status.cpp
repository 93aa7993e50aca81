// Status strings, the thread-local last error, version and algorithm names.
#include <algorithm>
#include <cstring>

#include "algorithm.h"
#include "guard.h"

namespace convx {

static thread_local std::string tlsLastError;

void setLastError(const std::string& message) { tlsLastError = message; }

}  // namespace convx

extern "C" {

const char* convxGetErrorString(convxStatus_t status) {
    switch (convx::enumArg(status)) {
        case CONVX_STATUS_SUCCESS: return "CONVX_STATUS_SUCCESS";
        case CONVX_STATUS_NOT_INITIALIZED: return "CONVX_STATUS_NOT_INITIALIZED";
        case CONVX_STATUS_BAD_PARAM: return "CONVX_STATUS_BAD_PARAM";
        case CONVX_STATUS_BAD_PARAM_NULL_POINTER: return "CONVX_STATUS_BAD_PARAM_NULL_POINTER";
        case CONVX_STATUS_BAD_PARAM_MISALIGNED_POINTER: return "CONVX_STATUS_BAD_PARAM_MISALIGNED_POINTER";
        case CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND: return "CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND";
        case CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE: return "CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE";
        case CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH: return "CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH";
        case CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR: return "CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR";
        case CONVX_STATUS_NOT_SUPPORTED: return "CONVX_STATUS_NOT_SUPPORTED";
        case CONVX_STATUS_NOT_SUPPORTED_ALGORITHM: return "CONVX_STATUS_NOT_SUPPORTED_ALGORITHM";
        case CONVX_STATUS_NOT_SUPPORTED_SHAPE: return "CONVX_STATUS_NOT_SUPPORTED_SHAPE";
        case CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE: return "CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE";
        case CONVX_STATUS_NOT_SUPPORTED_LAYOUT: return "CONVX_STATUS_NOT_SUPPORTED_LAYOUT";
        case CONVX_STATUS_NOT_SUPPORTED_BACKEND: return "CONVX_STATUS_NOT_SUPPORTED_BACKEND";
        case CONVX_STATUS_INTERNAL_ERROR: return "CONVX_STATUS_INTERNAL_ERROR";
        case CONVX_STATUS_ALLOC_FAILED: return "CONVX_STATUS_ALLOC_FAILED";
        case CONVX_STATUS_DEVICE_ALLOC_FAILED: return "CONVX_STATUS_DEVICE_ALLOC_FAILED";
        case CONVX_STATUS_EXECUTION_FAILED: return "CONVX_STATUS_EXECUTION_FAILED";
        case CONVX_STATUS_EXECUTION_FAILED_CUDART: return "CONVX_STATUS_EXECUTION_FAILED_CUDART";
    }
    return "CONVX_STATUS_UNKNOWN (not a convxStatus_t)";
}

void convxGetLastErrorString(char* message, size_t max_size) {
    if (message == nullptr || max_size == 0) return;
    const std::string& m = convx::tlsLastError;
    const size_t n = std::min(m.size(), max_size - 1);
    std::memcpy(message, m.data(), n);
    message[n] = '\0';
}

size_t convxGetVersion(void) { return CONVX_VERSION; }

const char* convxGetAlgorithmName(convxConvAlgo_t algo) {
    const int v = convx::enumArg(algo);
    return v >= 0 && v < CONVX_ALGO_COUNT ? convx::algoName(static_cast<convxConvAlgo_t>(v)) : nullptr;
}

}  // extern "C"
