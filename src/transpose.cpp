#include "transpose.h"

#include <algorithm>
#include <string>
#include <utility>

#include "error.h"

namespace convx {

namespace {

const auto MISMATCH = CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH;

// What x, w and conv fix of a ConvTranspose's output: N, out_channels, and per spatial dim the
// size with output_padding 0 (may be <= 0 when the padding eats the whole output).
struct TransposeShape {
    int64_t n = 0, c = 0;
    int64_t base[CONVX_SPATIAL_DIM_MAX] = {};
};

TransposeShape transposeShape(const convxConvolutionStruct& conv, const convxTensorStruct& x, const convxFilterStruct& w,
                              const char* convArg) {
    if (x.nbDims != conv.nsp + 2)
        fail(MISMATCH, "x_desc has %d dims but %s has %d spatial dims (expected %d tensor dims)", x.nbDims, convArg, conv.nsp,
             conv.nsp + 2);
    if (w.nbDims != x.nbDims) fail(MISMATCH, "w_desc has %d dims but x_desc has %d", w.nbDims, x.nbDims);
    // PyTorch's ConvTranspose weight is in_channels x out_channels/groups x k...: its first dim
    // (the filter's K) is x's channel count.
    if (w.dims[0] != x.dims[1])
        fail(MISMATCH, "w_desc has K = %lld (the ConvTranspose's in_channels, its first dim) but x_desc has C = %lld channels",
             (long long)w.dims[0], (long long)x.dims[1]);
    if (x.dims[1] % conv.groups)
        fail(MISMATCH, "x_desc has C = %lld channels, not divisible by groups = %lld (%s)", (long long)x.dims[1],
             (long long)conv.groups, convArg);
    TransposeShape s;
    s.n = x.dims[0];
    s.c = w.dims[1] * conv.groups;  // both below 2^31: no overflow in int64
    if (s.c > INT32_MAX)
        fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "the output channels, w_desc's %lld per group x groups = %lld, exceed INT_MAX (%s)",
             (long long)w.dims[1], (long long)conv.groups, convArg);
    for (int i = 0; i < conv.nsp; ++i) {
        // Each product is below 2^62 (factors below 2^31), so the sum stays inside int64.
        s.base[i] = (x.dims[2 + i] - 1) * conv.stride[i] - 2 * conv.pad[i] + (w.dims[2 + i] - 1) * conv.dil[i] + 1;
    }
    return s;
}

// Distinct elements must not share memory (as the generic check says it, but naming the
// caller's descriptor: past here, that check would name the BackwardData roles).
void checkNoOverlap(const convxTensorStruct& t, const char* arg) {
    int order[CONVX_DIM_MAX];
    int n = 0;
    for (int i = 0; i < t.nbDims; ++i)
        if (t.dims[i] > 1) order[n++] = i;
    for (int k = 1; k < n; ++k)  // insertion sort by stride: at most 5 entries
        for (int j = k; j > 0 && t.strides[order[j]] < t.strides[order[j - 1]]; --j) std::swap(order[j], order[j - 1]);
    int64_t need = 1;
    for (int k = 0; k < n; ++k) {
        const int i = order[k];
        if (t.strides[i] < need)
            fail(CONVX_STATUS_BAD_PARAM, "%s: strides make distinct elements overlap (dim %d stride %lld < %lld)", arg, i,
                 (long long)t.strides[i], (long long)need);
        need = t.strides[i] * t.dims[i];  // the span of a set descriptor fits in int64
    }
}

[[noreturn]] void failNotPositive(int i, int64_t base, int64_t op, const convxConvolutionStruct& conv, const char* convArg) {
    fail(MISMATCH,
         "spatial dim %d: output size %lld < 1: %s's padding 2 x %lld exceeds (in - 1)*stride + (k - 1)*dilation + 1 + "
         "output_padding = %lld of x_desc and w_desc",
         i, (long long)(base + op), convArg, (long long)conv.pad[i], (long long)(base + op + 2 * conv.pad[i]));
}

}  // namespace

void transposeOutputDims(const convxConvolutionStruct& conv, const convxTensorStruct& x, const convxFilterStruct& w,
                         const int* outputPadding, int64_t outDims[CONVX_DIM_MAX], const char* convArg) {
    const TransposeShape s = transposeShape(conv, x, w, convArg);
    outDims[0] = s.n;
    outDims[1] = s.c;
    for (int i = 0; i < conv.nsp; ++i) {
        const int64_t op = outputPadding ? outputPadding[i] : 0;
        const int64_t limit = std::max(conv.stride[i], conv.dil[i]);
        if (op < 0 || op >= limit)
            fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "output_padding[%d] = %lld must be >= 0 and < max(stride, dilation) = %lld (%s)",
                 i, (long long)op, (long long)limit, convArg);
        if (op >= conv.stride[i])
            fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE,
                 "output_padding[%d] = %lld is not below stride[%d] = %lld (PyTorch allows it since dilation = %lld): the extra "
                 "outputs lie beyond what %s maps back onto x_desc, so this is no BackwardData of it; convx computes "
                 "output_padding < stride",
                 i, (long long)op, i, (long long)conv.stride[i], (long long)conv.dil[i], convArg);
        const int64_t o = s.base[i] + op;
        if (o < 1) failNotPositive(i, s.base[i], op, conv, convArg);
        if (o > INT32_MAX)
            fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "spatial dim %d: output size %lld exceeds INT_MAX (%s)", i, (long long)o, convArg);
        outDims[2 + i] = o;
    }
    for (int i = conv.nsp + 2; i < CONVX_DIM_MAX; ++i) outDims[i] = 0;
}

void checkTransposeCall(const convxConvolutionStruct& conv, const convxTensorStruct& x, const convxFilterStruct& w,
                        const convxTensorStruct& y, const char* convArg) {
    if (w.dtype != x.dtype)
        fail(CONVX_STATUS_BAD_PARAM, "w_desc has data type %s but x_desc has %s", dtypeName(w.dtype), dtypeName(x.dtype));
    if (y.dtype != x.dtype)
        fail(CONVX_STATUS_BAD_PARAM, "y_desc has data type %s but x_desc has %s", dtypeName(y.dtype), dtypeName(x.dtype));
    const TransposeShape s = transposeShape(conv, x, w, convArg);
    if (y.nbDims != x.nbDims) fail(MISMATCH, "y_desc has %d dims but x_desc has %d", y.nbDims, x.nbDims);
    // The sizes y may have: output_padding 0 .. stride - 1, and at least 1.
    int64_t lo[CONVX_SPATIAL_DIM_MAX], hi[CONVX_SPATIAL_DIM_MAX];
    for (int i = 0; i < conv.nsp; ++i) {
        hi[i] = s.base[i] + conv.stride[i] - 1;
        if (hi[i] < 1) failNotPositive(i, s.base[i], conv.stride[i] - 1, conv, convArg);
        lo[i] = std::max<int64_t>(s.base[i], 1);
    }
    bool fits = y.dims[0] == s.n && y.dims[1] == s.c;
    for (int i = 0; i < conv.nsp; ++i) fits = fits && y.dims[2 + i] >= lo[i] && y.dims[2 + i] <= hi[i];
    if (fits) {
        checkNoOverlap(x, "x_desc");
        checkNoOverlap(y, "y_desc");
        return;
    }
    // Sizes that PyTorch reaches with stride <= output_padding < dilation: valid there, but the
    // convolution does not map them back onto x.
    if (y.dims[0] == s.n && y.dims[1] == s.c) {
        for (int i = 0; i < conv.nsp; ++i) {
            const int64_t op = y.dims[2 + i] - s.base[i];
            if (op >= conv.stride[i] && op < conv.dil[i])
                fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE,
                     "y_desc's spatial dim %d is %lld, which means output_padding = %lld, not below stride[%d] = %lld (PyTorch "
                     "allows it since dilation = %lld): the extra outputs lie beyond what %s maps back onto x_desc, so this is "
                     "no BackwardData of it; convx computes output_padding < stride",
                     i, (long long)y.dims[2 + i], (long long)op, i, (long long)conv.stride[i], (long long)conv.dil[i], convArg);
        }
    }
    std::string want = std::to_string(s.n) + "," + std::to_string(s.c), got;
    for (int i = 0; i < conv.nsp; ++i)
        want += "," + (lo[i] == hi[i] ? std::to_string(lo[i]) : std::to_string(lo[i]) + ".." + std::to_string(hi[i]));
    for (int j = 0; j < y.nbDims; ++j) got += (j ? "," : "") + std::to_string(y.dims[j]);
    fail(MISMATCH,
         "y_desc has dims [%s] but the transposed convolution of x_desc by w_desc gives [%s] (lo..hi: the sizes "
         "output_padding 0 to stride - 1 gives)",
         got.c_str(), want.c_str());
}

}  // namespace convx
