#include "context.h"

#include "error.h"

namespace convx {

#ifdef CONVX_HAVE_CUDA
void initCudaBackend(convxContext& ctx);  // cuda/device.cu
#endif

void initBackend(convxContext& ctx) {
    if (ctx.backend == CONVX_BACKEND_CPU) return;
#ifdef CONVX_HAVE_CUDA
    initCudaBackend(ctx);
#else
    fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "this build of convx has no CUDA backend (configured without a CUDA compiler); use CONVX_BACKEND_CPU");
#endif
}

}  // namespace convx
