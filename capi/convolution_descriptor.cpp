// Convolution descriptor entry points and the output-size queries.
#include "descriptors.h"
#include "guard.h"

using namespace convx;

extern "C" {

convxStatus_t convxCreateConvolutionDescriptor(convxConvolutionDescriptor_t* desc) {
    return CONVX_GUARD({
        requireNonNull(desc, "desc");
        auto* c = new convxConvolutionStruct;
        trackObject(c);
        *desc = c;
    });
}

convxStatus_t convxDestroyConvolutionDescriptor(convxConvolutionDescriptor_t desc) {
    return CONVX_GUARD({
        convxConvolutionStruct& c = liveConvolution(desc, "desc");
        untrackObject(&c);
        delete &c;
    });
}

convxStatus_t convxSetConvolution2dDescriptor(convxConvolutionDescriptor_t desc, int pad_h, int pad_w, int u, int v, int dilation_h,
                                              int dilation_w, convxConvolutionMode_t mode, convxDataType_t compute_type) {
    return CONVX_GUARD({
        convxConvolutionStruct& c = liveConvolution(desc, "desc");
        const int pads[2] = {pad_h, pad_w}, strides[2] = {u, v}, dils[2] = {dilation_h, dilation_w};
        setConvolutionDesc(c, 2, pads, strides, dils, enumArg(mode), enumArg(compute_type), "desc");
    });
}

convxStatus_t convxGetConvolution2dDescriptor(convxConvolutionDescriptor_t desc, int* pad_h, int* pad_w, int* u, int* v,
                                              int* dilation_h, int* dilation_w, convxConvolutionMode_t* mode,
                                              convxDataType_t* compute_type) {
    return CONVX_GUARD({
        const convxConvolutionStruct& c = setConvolution(desc, "desc");
        if (c.nsp != 2) fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "desc has %d spatial dims, not 2 (use convxGetConvolutionNdDescriptor)", c.nsp);
        int* out[6] = {pad_h, pad_w, u, v, dilation_h, dilation_w};
        const int64_t val[6] = {c.pad[0], c.pad[1], c.stride[0], c.stride[1], c.dil[0], c.dil[1]};
        for (int i = 0; i < 6; ++i)
            if (out[i]) *out[i] = static_cast<int>(val[i]);
        if (mode) *mode = c.mode;
        if (compute_type) *compute_type = static_cast<convxDataType_t>(c.computeType);
    });
}

convxStatus_t convxSetConvolutionNdDescriptor(convxConvolutionDescriptor_t desc, int array_length, const int pads[],
                                              const int strides[], const int dilations[], convxConvolutionMode_t mode,
                                              convxDataType_t compute_type) {
    return CONVX_GUARD({
        convxConvolutionStruct& c = liveConvolution(desc, "desc");
        setConvolutionDesc(c, array_length, pads, strides, dilations, enumArg(mode), enumArg(compute_type), "desc");
    });
}

convxStatus_t convxGetConvolutionNdDescriptor(convxConvolutionDescriptor_t desc, int array_length_requested, int* array_length,
                                              int pads[], int strides[], int dilations[], convxConvolutionMode_t* mode,
                                              convxDataType_t* compute_type) {
    return CONVX_GUARD({
        const convxConvolutionStruct& c = setConvolution(desc, "desc");
        if (array_length_requested < 0)
            fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "array_length_requested = %d must be >= 0", array_length_requested);
        if (array_length_requested > 0) {
            requireNonNull(pads, "pads");
            requireNonNull(strides, "strides");
            requireNonNull(dilations, "dilations");
        }
        if (array_length) *array_length = c.nsp;
        for (int i = 0; i < array_length_requested && i < c.nsp; ++i) {
            pads[i] = static_cast<int>(c.pad[i]);
            strides[i] = static_cast<int>(c.stride[i]);
            dilations[i] = static_cast<int>(c.dil[i]);
        }
        if (mode) *mode = c.mode;
        if (compute_type) *compute_type = static_cast<convxDataType_t>(c.computeType);
    });
}

convxStatus_t convxSetConvolutionGroupCount(convxConvolutionDescriptor_t desc, int group_count) {
    return CONVX_GUARD({
        convxConvolutionStruct& c = liveConvolution(desc, "desc");
        if (group_count < 1) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "group_count = %d must be >= 1", group_count);
        c.groups = group_count;
    });
}

convxStatus_t convxGetConvolutionGroupCount(convxConvolutionDescriptor_t desc, int* group_count) {
    return CONVX_GUARD({
        const convxConvolutionStruct& c = liveConvolution(desc, "desc");
        requireNonNull(group_count, "group_count");
        *group_count = static_cast<int>(c.groups);
    });
}

convxStatus_t convxSetConvolutionMathType(convxConvolutionDescriptor_t desc, convxMathType_t math_type) {
    return CONVX_GUARD({
        convxConvolutionStruct& c = liveConvolution(desc, "desc");
        const int m = enumArg(math_type);
        if (m < CONVX_DEFAULT_MATH || m > CONVX_FMA_MATH) fail(CONVX_STATUS_BAD_PARAM, "math_type = %d is not a convxMathType_t", m);
        c.math = static_cast<convxMathType_t>(m);
    });
}

convxStatus_t convxGetConvolutionMathType(convxConvolutionDescriptor_t desc, convxMathType_t* math_type) {
    return CONVX_GUARD({
        const convxConvolutionStruct& c = liveConvolution(desc, "desc");
        requireNonNull(math_type, "math_type");
        *math_type = c.math;
    });
}

convxStatus_t convxGetConvolution2dForwardOutputDim(convxConvolutionDescriptor_t conv, convxTensorDescriptor_t x_desc,
                                                    convxFilterDescriptor_t w_desc, int* n, int* c, int* h, int* w) {
    return CONVX_GUARD({
        const convxConvolutionStruct& cv = setConvolution(conv, "conv");
        const convxTensorStruct& x = setTensor(x_desc, "x_desc");
        const convxFilterStruct& f = setFilter(w_desc, "w_desc");
        if (cv.nsp != 2) fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "conv has %d spatial dims, not 2 (use the Nd query)", cv.nsp);
        int64_t od[CONVX_DIM_MAX];
        forwardOutputDims(cv, x, f, od, "conv", "x_desc", "w_desc");
        int* out[4] = {n, c, h, w};
        for (int i = 0; i < 4; ++i) requireNonNull(out[i], i == 0 ? "n" : i == 1 ? "c" : i == 2 ? "h" : "w");
        for (int i = 0; i < 4; ++i) *out[i] = static_cast<int>(od[i]);
    });
}

convxStatus_t convxGetConvolutionNdForwardOutputDim(convxConvolutionDescriptor_t conv, convxTensorDescriptor_t x_desc,
                                                    convxFilterDescriptor_t w_desc, int nb_dims, int output_dims[]) {
    return CONVX_GUARD({
        const convxConvolutionStruct& cv = setConvolution(conv, "conv");
        const convxTensorStruct& x = setTensor(x_desc, "x_desc");
        const convxFilterStruct& f = setFilter(w_desc, "w_desc");
        requireNonNull(output_dims, "output_dims");
        int64_t od[CONVX_DIM_MAX];
        forwardOutputDims(cv, x, f, od, "conv", "x_desc", "w_desc");
        if (nb_dims != x.nbDims) fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "nb_dims = %d but x_desc has %d dims", nb_dims, x.nbDims);
        for (int i = 0; i < nb_dims; ++i) output_dims[i] = static_cast<int>(od[i]);
    });
}

}  // extern "C"
