#include "context.h"

#include <chrono>

#include "error.h"

namespace convx {

#ifdef CONVX_HAVE_CUDA
void initCudaBackend(convxContext& ctx);     // cuda/device.cu
void releaseCudaBackend(convxContext& ctx);  // cuda/device.cu
void checkCudaPointer(const void* ptr, const char* arg);                          // cuda/device.cu
double cudaTimeMs(const convxContext& ctx, const std::function<void()>& run);  // cuda/device.cu
#endif

void initBackend(convxContext& ctx) {
    if (ctx.backend == CONVX_BACKEND_CPU) return;
#ifdef CONVX_HAVE_CUDA
    initCudaBackend(ctx);
#else
    fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "this build of convx has no CUDA backend (configured without a CUDA compiler); use CONVX_BACKEND_CPU");
#endif
}

void releaseBackend(convxContext& ctx) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) releaseCudaBackend(ctx);
#else
    (void)ctx;
#endif
}

void checkBackendPointer(const convxContext& ctx, const void* ptr, const char* arg) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) checkCudaPointer(ptr, arg);
#else
    (void)ctx, (void)ptr, (void)arg;
#endif
}

double backendTimeMs(const convxContext& ctx, const std::function<void()>& run) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) return cudaTimeMs(ctx, run);
#else
    (void)ctx;
#endif
    const auto t0 = std::chrono::steady_clock::now();
    run();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace convx
