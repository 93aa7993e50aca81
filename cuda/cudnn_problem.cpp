#include "cudnn_problem.h"

#include <climits>

#include "error.h"

namespace convx {

cudnnDataType_t cudnnDataTypeOf(DType t) {
    switch (t) {
        case DType::F32: return CUDNN_DATA_FLOAT;
        case DType::F64: return CUDNN_DATA_DOUBLE;
        case DType::F16: return CUDNN_DATA_HALF;
        case DType::BF16: return CUDNN_DATA_BFLOAT16;
    }
    return CUDNN_DATA_FLOAT;
}

cudnnDataType_t cudnnComputeTypeOf(const Problem& p) { return cudnnDataTypeOf(p.accType); }

cudnnConvolutionMode_t cudnnModeOf(const Problem& p) {
    return p.mode == CONVX_CONVOLUTION ? CUDNN_CONVOLUTION : CUDNN_CROSS_CORRELATION;
}

cudnnMathType_t cudnnMathTypeFor(const Problem& p) {
    switch (p.math) {
        case CONVX_TENSOR_OP_MATH: return CUDNN_TENSOR_OP_MATH;
        case CONVX_TENSOR_OP_MATH_ALLOW_CONVERSION: return CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
        case CONVX_FMA_MATH: return CUDNN_FMA_MATH;
        case CONVX_DEFAULT_MATH: break;
    }
    return p.dtype == DType::F32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
}

static int toInt(int64_t v, const char* what) {
    if (v < INT_MIN || v > INT_MAX) fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE, "cuDNN's legacy API takes int sizes: %s = %lld does not fit", what, (long long)v);
    return static_cast<int>(v);
}

CudnnShape cudnnShapeOf(const Problem& p) {
    CudnnShape s;
    const int lead = p.nsp == 1 ? 1 : 0;
    const int nsp = p.nsp + lead;
    s.nb = nsp + 2;
    s.x[0] = s.y[0] = toInt(p.N, "N");
    s.x[1] = toInt(p.C, "C");
    s.y[1] = s.w[0] = toInt(p.K, "K");
    s.w[1] = toInt(p.Cg(), "C/groups");
    s.xs[0] = toInt(p.xStrides[0], "x stride");
    s.xs[1] = toInt(p.xStrides[1], "x stride");
    s.ys[0] = toInt(p.yStrides[0], "y stride");
    s.ys[1] = toInt(p.yStrides[1], "y stride");
    for (int j = 0; j < nsp; ++j) {
        const int i = j - lead;
        if (i < 0) {  // the unit H of a 1-D problem
            s.x[2] = s.y[2] = s.w[2] = 1;
            s.xs[2] = toInt(p.xStrides[2] * p.in[0], "x stride");
            s.ys[2] = toInt(p.yStrides[2] * p.out[0], "y stride");
            s.pad[0] = 0, s.stride[0] = 1, s.dil[0] = 1;
            continue;
        }
        s.x[2 + j] = toInt(p.in[i], "input size");
        s.y[2 + j] = toInt(p.out[i], "output size");
        s.w[2 + j] = toInt(p.ker[i], "filter size");
        s.xs[2 + j] = toInt(p.xStrides[2 + i], "x stride");
        s.ys[2 + j] = toInt(p.yStrides[2 + i], "y stride");
        s.pad[j] = toInt(p.pad[i], "pad");
        s.stride[j] = toInt(p.stride[i], "stride");
        s.dil[j] = toInt(p.dil[i], "dilation");
    }
    return s;
}

}  // namespace convx
