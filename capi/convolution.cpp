// Convolution entry points: execute, rank (Get), time (Find), workspace size. Tensors are
// passed on by role (x, w, y); for the backward directions dx/dw/dy take those roles.
#include "execute.h"
#include "guard.h"

using namespace convx;

static void* mut(const void* p) { return const_cast<void*>(p); }

extern "C" {

convxStatus_t convxConvolutionForward(convxHandle_t handle, const void* alpha, convxTensorDescriptor_t x_desc, const void* x,
                                      convxFilterDescriptor_t w_desc, const void* w, convxConvolutionDescriptor_t conv,
                                      convxConvAlgo_t algo, void* workspace, size_t workspace_bytes, const void* beta,
                                      convxTensorDescriptor_t y_desc, void* y) {
    return CONVX_GUARD({
        execute(handle, Direction::Forward, {x_desc, w_desc, conv, y_desc}, {mut(x), mut(w), y}, alpha, beta, algoArg(algo), workspace,
                workspace_bytes);
    });
}

convxStatus_t convxConvolutionBackwardData(convxHandle_t handle, const void* alpha, convxFilterDescriptor_t w_desc, const void* w,
                                           convxTensorDescriptor_t dy_desc, const void* dy, convxConvolutionDescriptor_t conv,
                                           convxConvAlgo_t algo, void* workspace, size_t workspace_bytes, const void* beta,
                                           convxTensorDescriptor_t dx_desc, void* dx) {
    return CONVX_GUARD({
        execute(handle, Direction::BackwardData, {dx_desc, w_desc, conv, dy_desc}, {dx, mut(w), mut(dy)}, alpha, beta, algoArg(algo),
                workspace, workspace_bytes);
    });
}

convxStatus_t convxConvolutionBackwardFilter(convxHandle_t handle, const void* alpha, convxTensorDescriptor_t x_desc, const void* x,
                                             convxTensorDescriptor_t dy_desc, const void* dy, convxConvolutionDescriptor_t conv,
                                             convxConvAlgo_t algo, void* workspace, size_t workspace_bytes, const void* beta,
                                             convxFilterDescriptor_t dw_desc, void* dw) {
    return CONVX_GUARD({
        execute(handle, Direction::BackwardFilter, {x_desc, dw_desc, conv, dy_desc}, {mut(x), dw, mut(dy)}, alpha, beta, algoArg(algo),
                workspace, workspace_bytes);
    });
}

convxStatus_t convxGetConvolutionForwardAlgorithmMaxCount(convxHandle_t handle, int* count) {
    return CONVX_GUARD({
        requireNonNull(count, "count");
        *count = algorithmMaxCount(handle, Direction::Forward);
    });
}

convxStatus_t convxGetConvolutionBackwardDataAlgorithmMaxCount(convxHandle_t handle, int* count) {
    return CONVX_GUARD({
        requireNonNull(count, "count");
        *count = algorithmMaxCount(handle, Direction::BackwardData);
    });
}

convxStatus_t convxGetConvolutionBackwardFilterAlgorithmMaxCount(convxHandle_t handle, int* count) {
    return CONVX_GUARD({
        requireNonNull(count, "count");
        *count = algorithmMaxCount(handle, Direction::BackwardFilter);
    });
}

convxStatus_t convxGetConvolutionForwardAlgorithm(convxHandle_t handle, convxTensorDescriptor_t x_desc, convxFilterDescriptor_t w_desc,
                                                  convxConvolutionDescriptor_t conv, convxTensorDescriptor_t y_desc,
                                                  int requested_count, int* returned_count, convxAlgoPerf_t* results) {
    return CONVX_GUARD({
        getAlgorithms(handle, Direction::Forward, {x_desc, w_desc, conv, y_desc}, requested_count, returned_count, results);
    });
}

convxStatus_t convxGetConvolutionBackwardDataAlgorithm(convxHandle_t handle, convxFilterDescriptor_t w_desc,
                                                       convxTensorDescriptor_t dy_desc, convxConvolutionDescriptor_t conv,
                                                       convxTensorDescriptor_t dx_desc, int requested_count, int* returned_count,
                                                       convxAlgoPerf_t* results) {
    return CONVX_GUARD({
        getAlgorithms(handle, Direction::BackwardData, {dx_desc, w_desc, conv, dy_desc}, requested_count, returned_count, results);
    });
}

convxStatus_t convxGetConvolutionBackwardFilterAlgorithm(convxHandle_t handle, convxTensorDescriptor_t x_desc,
                                                         convxTensorDescriptor_t dy_desc, convxConvolutionDescriptor_t conv,
                                                         convxFilterDescriptor_t dw_desc, int requested_count, int* returned_count,
                                                         convxAlgoPerf_t* results) {
    return CONVX_GUARD({
        getAlgorithms(handle, Direction::BackwardFilter, {x_desc, dw_desc, conv, dy_desc}, requested_count, returned_count, results);
    });
}

convxStatus_t convxFindConvolutionForwardAlgorithm(convxHandle_t handle, convxTensorDescriptor_t x_desc, const void* x,
                                                   convxFilterDescriptor_t w_desc, const void* w, convxConvolutionDescriptor_t conv,
                                                   convxTensorDescriptor_t y_desc, void* y, int requested_count,
                                                   int* returned_count, convxAlgoPerf_t* results, void* workspace,
                                                   size_t workspace_bytes) {
    return CONVX_GUARD({
        findAlgorithms(handle, Direction::Forward, {x_desc, w_desc, conv, y_desc}, {mut(x), mut(w), y}, requested_count,
                       returned_count, results, workspace, workspace_bytes);
    });
}

convxStatus_t convxFindConvolutionBackwardDataAlgorithm(convxHandle_t handle, convxFilterDescriptor_t w_desc, const void* w,
                                                        convxTensorDescriptor_t dy_desc, const void* dy,
                                                        convxConvolutionDescriptor_t conv, convxTensorDescriptor_t dx_desc, void* dx,
                                                        int requested_count, int* returned_count, convxAlgoPerf_t* results,
                                                        void* workspace, size_t workspace_bytes) {
    return CONVX_GUARD({
        findAlgorithms(handle, Direction::BackwardData, {dx_desc, w_desc, conv, dy_desc}, {dx, mut(w), mut(dy)}, requested_count,
                       returned_count, results, workspace, workspace_bytes);
    });
}

convxStatus_t convxFindConvolutionBackwardFilterAlgorithm(convxHandle_t handle, convxTensorDescriptor_t x_desc, const void* x,
                                                          convxTensorDescriptor_t dy_desc, const void* dy,
                                                          convxConvolutionDescriptor_t conv, convxFilterDescriptor_t dw_desc,
                                                          void* dw, int requested_count, int* returned_count,
                                                          convxAlgoPerf_t* results, void* workspace, size_t workspace_bytes) {
    return CONVX_GUARD({
        findAlgorithms(handle, Direction::BackwardFilter, {x_desc, dw_desc, conv, dy_desc}, {mut(x), dw, mut(dy)}, requested_count,
                       returned_count, results, workspace, workspace_bytes);
    });
}

convxStatus_t convxGetConvolutionForwardWorkspaceSize(convxHandle_t handle, convxTensorDescriptor_t x_desc,
                                                      convxFilterDescriptor_t w_desc, convxConvolutionDescriptor_t conv,
                                                      convxTensorDescriptor_t y_desc, convxConvAlgo_t algo, size_t* size) {
    return CONVX_GUARD({
        requireNonNull(size, "size");
        *size = workspaceSize(handle, Direction::Forward, {x_desc, w_desc, conv, y_desc}, algoArg(algo));
    });
}

convxStatus_t convxGetConvolutionBackwardDataWorkspaceSize(convxHandle_t handle, convxFilterDescriptor_t w_desc,
                                                           convxTensorDescriptor_t dy_desc, convxConvolutionDescriptor_t conv,
                                                           convxTensorDescriptor_t dx_desc, convxConvAlgo_t algo, size_t* size) {
    return CONVX_GUARD({
        requireNonNull(size, "size");
        *size = workspaceSize(handle, Direction::BackwardData, {dx_desc, w_desc, conv, dy_desc}, algoArg(algo));
    });
}

convxStatus_t convxGetConvolutionBackwardFilterWorkspaceSize(convxHandle_t handle, convxTensorDescriptor_t x_desc,
                                                             convxTensorDescriptor_t dy_desc, convxConvolutionDescriptor_t conv,
                                                             convxFilterDescriptor_t dw_desc, convxConvAlgo_t algo, size_t* size) {
    return CONVX_GUARD({
        requireNonNull(size, "size");
        *size = workspaceSize(handle, Direction::BackwardFilter, {x_desc, dw_desc, conv, dy_desc}, algoArg(algo));
    });
}

}  // extern "C"
