// CUDA backend bring-up for a handle: is there a driver and a device? Until the CUDA
// algorithms land, a handle on a machine with a device is still refused, with a message that
// says so, rather than handed out with nothing behind it.
#include <cuda_runtime.h>

#include "context.h"
#include "error.h"

namespace convx {

void initCudaBackend(convxContext& ctx) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();  // clear the sticky-free error so later runtime calls start clean
        fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "no usable CUDA driver or device: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    }
    if (count == 0) fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "no CUDA device is visible");
    if (cudaGetDevice(&ctx.device) != cudaSuccess) fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "cannot query the current CUDA device");
    fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "the CUDA backend has no algorithms in this version; use CONVX_BACKEND_CPU");
}

}  // namespace convx
