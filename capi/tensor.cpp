// Tensor descriptor entry points.
#include <climits>

#include "descriptors.h"
#include "guard.h"

using namespace convx;

static void copyOut(int64_t v, int* dst) {
    if (dst) *dst = static_cast<int>(v);
}

extern "C" {

convxStatus_t convxCreateTensorDescriptor(convxTensorDescriptor_t* desc) {
    return CONVX_GUARD({
        requireNonNull(desc, "desc");
        auto* t = new convxTensorStruct;
        trackObject(t);
        *desc = t;
    });
}

convxStatus_t convxDestroyTensorDescriptor(convxTensorDescriptor_t desc) {
    return CONVX_GUARD({
        convxTensorStruct& t = liveTensor(desc, "desc");
        untrackObject(&t);
        delete &t;
    });
}

convxStatus_t convxSetTensor4dDescriptor(convxTensorDescriptor_t desc, convxTensorFormat_t format, convxDataType_t dtype,
                                         int n, int c, int h, int w) {
    return CONVX_GUARD({
        convxTensorStruct& t = liveTensor(desc, "desc");
        const int dims[4] = {n, c, h, w};
        setTensorDescPacked(t, checkFormat(enumArg(format), "format"), checkDType(enumArg(dtype), "dtype"), 4, dims, "desc");
    });
}

convxStatus_t convxSetTensor4dDescriptorEx(convxTensorDescriptor_t desc, convxDataType_t dtype, int n, int c, int h, int w,
                                           int n_stride, int c_stride, int h_stride, int w_stride) {
    return CONVX_GUARD({
        convxTensorStruct& t = liveTensor(desc, "desc");
        const int dims[4] = {n, c, h, w};
        const int strides[4] = {n_stride, c_stride, h_stride, w_stride};
        setTensorDesc(t, checkDType(enumArg(dtype), "dtype"), 4, dims, strides, "desc");
    });
}

convxStatus_t convxGetTensor4dDescriptor(convxTensorDescriptor_t desc, convxDataType_t* dtype, int* n, int* c, int* h, int* w,
                                         int* n_stride, int* c_stride, int* h_stride, int* w_stride) {
    return CONVX_GUARD({
        const convxTensorStruct& t = setTensor(desc, "desc");
        if (t.nbDims != 4) fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "desc has %d dims, not 4 (use convxGetTensorNdDescriptor)", t.nbDims);
        if (dtype) *dtype = static_cast<convxDataType_t>(t.dtype);
        int* dims[4] = {n, c, h, w};
        int* strides[4] = {n_stride, c_stride, h_stride, w_stride};
        for (int i = 0; i < 4; ++i) {
            copyOut(t.dims[i], dims[i]);
            copyOut(t.strides[i], strides[i]);
        }
    });
}

convxStatus_t convxSetTensorNdDescriptor(convxTensorDescriptor_t desc, convxDataType_t dtype, int nb_dims, const int dims[],
                                         const int strides[]) {
    return CONVX_GUARD({
        convxTensorStruct& t = liveTensor(desc, "desc");
        setTensorDesc(t, checkDType(enumArg(dtype), "dtype"), nb_dims, dims, strides, "desc");
    });
}

convxStatus_t convxSetTensorNdDescriptorEx(convxTensorDescriptor_t desc, convxTensorFormat_t format, convxDataType_t dtype,
                                           int nb_dims, const int dims[]) {
    return CONVX_GUARD({
        convxTensorStruct& t = liveTensor(desc, "desc");
        setTensorDescPacked(t, checkFormat(enumArg(format), "format"), checkDType(enumArg(dtype), "dtype"), nb_dims, dims, "desc");
    });
}

convxStatus_t convxGetTensorNdDescriptor(convxTensorDescriptor_t desc, int nb_dims_requested, convxDataType_t* dtype, int* nb_dims,
                                         int dims[], int strides[]) {
    return CONVX_GUARD({
        const convxTensorStruct& t = setTensor(desc, "desc");
        if (nb_dims_requested < 0) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "nb_dims_requested = %d must be >= 0", nb_dims_requested);
        if (nb_dims_requested > 0) {
            requireNonNull(dims, "dims");
            requireNonNull(strides, "strides");
        }
        if (dtype) *dtype = static_cast<convxDataType_t>(t.dtype);
        if (nb_dims) *nb_dims = t.nbDims;
        for (int i = 0; i < nb_dims_requested && i < t.nbDims; ++i) {
            dims[i] = static_cast<int>(t.dims[i]);
            strides[i] = static_cast<int>(t.strides[i]);
        }
    });
}

convxStatus_t convxGetTensorSizeInBytes(convxTensorDescriptor_t desc, size_t* size) {
    return CONVX_GUARD({
        const convxTensorStruct& t = setTensor(desc, "desc");
        requireNonNull(size, "size");
        int64_t span = 1;
        for (int i = 0; i < t.nbDims; ++i) span += (t.dims[i] - 1) * t.strides[i];  // bounded when set
        *size = static_cast<size_t>(span) * dtypeSize(t.dtype);
    });
}

}  // extern "C"
