// Transposed-convolution entry points: exactly convxConvolutionBackwardData of the same
// convolution descriptor, with the ConvTranspose's x in the dy role and its y in the dx role.
// The call is checked in ConvTranspose terms first (src/transpose.h), and handed on with the
// caller's argument names, so that no message speaks of dx or dy.
#include "descriptors.h"
#include "execute.h"
#include "guard.h"
#include "transpose.h"

using namespace convx;

namespace {

// By role in the BackwardData call: dx is the caller's y, dy the caller's x.
const CallNames kNames = {{"y_desc", "w_desc", "x_desc", "conv_desc"}, "y", "w", "x"};

void* mut(const void* p) { return const_cast<void*>(p); }

void checkCall(convxTensorDescriptor_t x_desc, convxFilterDescriptor_t w_desc, convxConvolutionDescriptor_t conv,
               convxTensorDescriptor_t y_desc) {
    const convxTensorStruct& x = setTensor(x_desc, "x_desc");
    const convxFilterStruct& w = setFilter(w_desc, "w_desc");
    const convxConvolutionStruct& c = setConvolution(conv, "conv_desc");
    const convxTensorStruct& y = setTensor(y_desc, "y_desc");
    checkTransposeCall(c, x, w, y, "conv_desc");
}

}  // namespace

extern "C" {

convxStatus_t convxGetConvolutionTranspose2dOutputDim(convxConvolutionDescriptor_t conv, convxTensorDescriptor_t x_desc,
                                                      convxFilterDescriptor_t w_desc, int output_padding_h, int output_padding_w,
                                                      int* n, int* c, int* h, int* w) {
    return CONVX_GUARD({
        const convxConvolutionStruct& cv = setConvolution(conv, "conv");
        const convxTensorStruct& x = setTensor(x_desc, "x_desc");
        const convxFilterStruct& f = setFilter(w_desc, "w_desc");
        if (cv.nsp != 2) fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "conv has %d spatial dims, not 2 (use the Nd query)", cv.nsp);
        const int op[2] = {output_padding_h, output_padding_w};
        int64_t od[CONVX_DIM_MAX];
        transposeOutputDims(cv, x, f, op, od, "conv");
        int* out[4] = {n, c, h, w};
        for (int i = 0; i < 4; ++i) requireNonNull(out[i], i == 0 ? "n" : i == 1 ? "c" : i == 2 ? "h" : "w");
        for (int i = 0; i < 4; ++i) *out[i] = static_cast<int>(od[i]);
    });
}

convxStatus_t convxGetConvolutionTransposeNdOutputDim(convxConvolutionDescriptor_t conv, convxTensorDescriptor_t x_desc,
                                                      convxFilterDescriptor_t w_desc, const int output_padding[], int nb_dims,
                                                      int output_dims[]) {
    return CONVX_GUARD({
        const convxConvolutionStruct& cv = setConvolution(conv, "conv");
        const convxTensorStruct& x = setTensor(x_desc, "x_desc");
        const convxFilterStruct& f = setFilter(w_desc, "w_desc");
        requireNonNull(output_dims, "output_dims");
        int64_t od[CONVX_DIM_MAX];
        transposeOutputDims(cv, x, f, output_padding, od, "conv");
        if (nb_dims != x.nbDims) fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "nb_dims = %d but x_desc has %d dims", nb_dims, x.nbDims);
        for (int i = 0; i < nb_dims; ++i) output_dims[i] = static_cast<int>(od[i]);
    });
}

convxStatus_t convxConvolutionTransposeForward(convxHandle_t handle, const void* alpha, convxTensorDescriptor_t x_desc, const void* x,
                                               convxFilterDescriptor_t w_desc, const void* w, convxConvolutionDescriptor_t conv,
                                               convxConvAlgo_t algo, void* workspace, size_t workspace_bytes, const void* beta,
                                               convxTensorDescriptor_t y_desc, void* y) {
    return CONVX_GUARD({
        const convxConvAlgo_t a = algoArg(algo);
        liveHandle(handle);
        checkCall(x_desc, w_desc, conv, y_desc);
        execute(handle, Direction::BackwardData, {y_desc, w_desc, conv, x_desc}, {y, mut(w), mut(x)}, alpha, beta, a, workspace,
                workspace_bytes, &kNames);
    });
}

convxStatus_t convxGetConvolutionTransposeForwardWorkspaceSize(convxHandle_t handle, convxTensorDescriptor_t x_desc,
                                                               convxFilterDescriptor_t w_desc, convxConvolutionDescriptor_t conv,
                                                               convxTensorDescriptor_t y_desc, convxConvAlgo_t algo, size_t* size) {
    return CONVX_GUARD({
        requireNonNull(size, "size");
        const convxConvAlgo_t a = algoArg(algo);
        liveHandle(handle);
        checkCall(x_desc, w_desc, conv, y_desc);
        *size = workspaceSize(handle, Direction::BackwardData, {y_desc, w_desc, conv, x_desc}, a, &kNames);
    });
}

}  // extern "C"
