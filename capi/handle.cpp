// Handle entry points.
#include "context.h"
#include "descriptors.h"
#include "execute.h"
#include "guard.h"

using namespace convx;

extern "C" {

convxStatus_t convxCreateWithBackend(convxHandle_t* handle, convxBackend_t backend) {
    return CONVX_GUARD({
        requireNonNull(handle, "handle");
        const int b = enumArg(backend);
        if (b != CONVX_BACKEND_CPU && b != CONVX_BACKEND_CUDA)
            fail(CONVX_STATUS_BAD_PARAM, "backend = %d is not CONVX_BACKEND_CPU or CONVX_BACKEND_CUDA", b);
        auto* ctx = new convxContext;
        ctx->backend = static_cast<convxBackend_t>(b);
        try {
            initBackend(*ctx);
        } catch (...) {
            delete ctx;
            throw;
        }
        trackObject(ctx);
        *handle = ctx;
    });
}

convxStatus_t convxCreate(convxHandle_t* handle) { return convxCreateWithBackend(handle, CONVX_BACKEND_CUDA); }

convxStatus_t convxDestroy(convxHandle_t handle) {
    return CONVX_GUARD({
        convxContext& h = liveHandle(handle);
        untrackObject(&h);
        releaseBackend(h);
        delete &h;
    });
}

convxStatus_t convxGetBackend(convxHandle_t handle, convxBackend_t* backend) {
    return CONVX_GUARD({
        convxContext& h = liveHandle(handle);
        requireNonNull(backend, "backend");
        *backend = h.backend;
    });
}

convxStatus_t convxSetStream(convxHandle_t handle, void* stream) {
    return CONVX_GUARD({
        convxContext& h = liveHandle(handle);
        if (h.backend == CONVX_BACKEND_CPU && stream != nullptr)
            fail(CONVX_STATUS_BAD_PARAM, "stream: a CPU handle has no streams; only NULL is accepted");
        h.stream = stream;
    });
}

convxStatus_t convxGetStream(convxHandle_t handle, void** stream) {
    return CONVX_GUARD({
        convxContext& h = liveHandle(handle);
        requireNonNull(stream, "stream");
        *stream = h.stream;
    });
}

convxStatus_t convxSetNumThreads(convxHandle_t handle, int num_threads) {
    return CONVX_GUARD({
        convxContext& h = liveHandle(handle);
        if (num_threads < 0) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "num_threads = %d must be >= 0 (0 = default)", num_threads);
        h.numThreads = num_threads;
    });
}

convxStatus_t convxGetNumThreads(convxHandle_t handle, int* num_threads) {
    return CONVX_GUARD({
        convxContext& h = liveHandle(handle);
        requireNonNull(num_threads, "num_threads");
        *num_threads = h.numThreads;
    });
}

// ---------------------------------------------------------------- workspace limit (find-db branch)

convxStatus_t convxSetWorkspaceLimit(convxHandle_t handle, size_t bytes) {
    return CONVX_GUARD({
        convxContext& h = liveHandle(handle);
        h.workspaceLimit = bytes;
    });
}

convxStatus_t convxGetWorkspaceLimit(convxHandle_t handle, size_t* bytes) {
    return CONVX_GUARD({
        convxContext& h = liveHandle(handle);
        requireNonNull(bytes, "bytes");
        *bytes = h.workspaceLimit;
    });
}

}  // extern "C"
