// Filter descriptor entry points.
#include "descriptors.h"
#include "guard.h"

using namespace convx;

extern "C" {

convxStatus_t convxCreateFilterDescriptor(convxFilterDescriptor_t* desc) {
    return CONVX_GUARD({
        requireNonNull(desc, "desc");
        auto* f = new convxFilterStruct;
        trackObject(f);
        *desc = f;
    });
}

convxStatus_t convxDestroyFilterDescriptor(convxFilterDescriptor_t desc) {
    return CONVX_GUARD({
        convxFilterStruct& f = liveFilter(desc, "desc");
        untrackObject(&f);
        delete &f;
    });
}

convxStatus_t convxSetFilter4dDescriptor(convxFilterDescriptor_t desc, convxDataType_t dtype, convxTensorFormat_t format, int k,
                                         int c, int r, int s) {
    return CONVX_GUARD({
        convxFilterStruct& f = liveFilter(desc, "desc");
        const int dims[4] = {k, c, r, s};
        setFilterDesc(f, checkDType(enumArg(dtype), "dtype"), checkFormat(enumArg(format), "format"), 4, dims, "desc");
    });
}

convxStatus_t convxGetFilter4dDescriptor(convxFilterDescriptor_t desc, convxDataType_t* dtype, convxTensorFormat_t* format, int* k,
                                         int* c, int* r, int* s) {
    return CONVX_GUARD({
        const convxFilterStruct& f = setFilter(desc, "desc");
        if (f.nbDims != 4) fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "desc has %d dims, not 4 (use convxGetFilterNdDescriptor)", f.nbDims);
        if (dtype) *dtype = static_cast<convxDataType_t>(f.dtype);
        if (format) *format = static_cast<convxTensorFormat_t>(f.format);
        int* out[4] = {k, c, r, s};
        for (int i = 0; i < 4; ++i)
            if (out[i]) *out[i] = static_cast<int>(f.dims[i]);
    });
}

convxStatus_t convxSetFilterNdDescriptor(convxFilterDescriptor_t desc, convxDataType_t dtype, convxTensorFormat_t format, int nb_dims,
                                         const int dims[]) {
    return CONVX_GUARD({
        convxFilterStruct& f = liveFilter(desc, "desc");
        setFilterDesc(f, checkDType(enumArg(dtype), "dtype"), checkFormat(enumArg(format), "format"), nb_dims, dims, "desc");
    });
}

convxStatus_t convxGetFilterNdDescriptor(convxFilterDescriptor_t desc, int nb_dims_requested, convxDataType_t* dtype,
                                         convxTensorFormat_t* format, int* nb_dims, int dims[]) {
    return CONVX_GUARD({
        const convxFilterStruct& f = setFilter(desc, "desc");
        if (nb_dims_requested < 0) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "nb_dims_requested = %d must be >= 0", nb_dims_requested);
        if (nb_dims_requested > 0) requireNonNull(dims, "dims");
        if (dtype) *dtype = static_cast<convxDataType_t>(f.dtype);
        if (format) *format = static_cast<convxTensorFormat_t>(f.format);
        if (nb_dims) *nb_dims = f.nbDims;
        for (int i = 0; i < nb_dims_requested && i < f.nbDims; ++i) dims[i] = static_cast<int>(f.dims[i]);
    });
}

convxStatus_t convxGetFilterSizeInBytes(convxFilterDescriptor_t desc, size_t* size) {
    return CONVX_GUARD({
        const convxFilterStruct& f = setFilter(desc, "desc");
        requireNonNull(size, "size");
        int64_t n = 1;
        for (int i = 0; i < f.nbDims; ++i) n *= f.dims[i];  // bounded when set
        *size = static_cast<size_t>(n) * dtypeSize(f.dtype);
    });
}

}  // extern "C"
