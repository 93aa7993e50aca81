#include "descriptors.h"

#include <mutex>
#include <unordered_map>

#include "checked.h"
#include "error.h"

namespace convx {

namespace {
std::mutex& liveMutex() {
    static std::mutex m;
    return m;
}
std::unordered_map<const void*, ObjectKind>& liveSet() {
    static std::unordered_map<const void*, ObjectKind> s;
    return s;
}
}  // namespace

void trackObject(const void* p, ObjectKind kind) {
    std::lock_guard<std::mutex> lock(liveMutex());
    liveSet()[p] = kind;
}
void untrackObject(const void* p) {
    std::lock_guard<std::mutex> lock(liveMutex());
    liveSet().erase(p);
}
bool isTracked(const void* p, ObjectKind kind) {
    std::lock_guard<std::mutex> lock(liveMutex());
    auto it = liveSet().find(p);
    return it != liveSet().end() && it->second == kind;
}

template <class T>
static T& live(T* d, const char* arg, const char* kind) {
    requireNonNull(d, arg);
    if (!isTracked(d))
        fail(CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "%s is not a live %s (destroyed, or never created)", arg, kind);
    return *d;
}

convxTensorStruct& liveTensor(convxTensorDescriptor_t d, const char* arg) { return live(d, arg, "tensor descriptor"); }
convxFilterStruct& liveFilter(convxFilterDescriptor_t d, const char* arg) { return live(d, arg, "filter descriptor"); }
convxConvolutionStruct& liveConvolution(convxConvolutionDescriptor_t d, const char* arg) {
    return live(d, arg, "convolution descriptor");
}

template <class T>
static const T& requireSet(T& t, const char* arg) {
    if (!t.set) fail(CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "%s was created but never set", arg);
    return t;
}
const convxTensorStruct& setTensor(convxTensorDescriptor_t d, const char* arg) { return requireSet(liveTensor(d, arg), arg); }
const convxFilterStruct& setFilter(convxFilterDescriptor_t d, const char* arg) { return requireSet(liveFilter(d, arg), arg); }
const convxConvolutionStruct& setConvolution(convxConvolutionDescriptor_t d, const char* arg) {
    return requireSet(liveConvolution(d, arg), arg);
}

DType checkDType(int dtype, const char* arg) {
    if (!isKnownDType(dtype))
        fail(CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE, "%s: data type %d is not one of FLOAT, DOUBLE, HALF, BFLOAT16", arg, dtype);
    return static_cast<DType>(dtype);
}

Layout checkFormat(int format, const char* arg) {
    if (format != CONVX_TENSOR_NCHW && format != CONVX_TENSOR_NHWC)
        fail(CONVX_STATUS_NOT_SUPPORTED_LAYOUT, "%s: format %d is not CONVX_TENSOR_NCHW or CONVX_TENSOR_NHWC", arg, format);
    return static_cast<Layout>(format);
}

static void checkRank(int nbDims, const char* arg) {
    if (nbDims < 3 || nbDims > CONVX_DIM_MAX)
        fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE, "%s: nb_dims = %d, supported are 3..%d (N, C and 1 to 3 spatial dims)", arg, nbDims,
             CONVX_DIM_MAX);
}

static void checkDims(int nbDims, const int* dims, const char* arg, const char* what) {
    requireNonNull(dims, what);
    for (int i = 0; i < nbDims; ++i)
        if (dims[i] < 1) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: %s[%d] = %d must be >= 1", arg, what, i, dims[i]);
    int64_t n = 1;
    for (int i = 0; i < nbDims; ++i) {
        if (__builtin_mul_overflow(n, static_cast<int64_t>(dims[i]), &n) || n > INT64_MAX / 8)
            fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: the element count (product of %s) overflows", arg, what);
    }
}

void setTensorDesc(convxTensorStruct& t, DType dt, int nbDims, const int* dims, const int* strides, const char* arg) {
    checkRank(nbDims, arg);
    checkDims(nbDims, dims, arg, "dims");
    requireNonNull(strides, "strides");
    int64_t span = 1;
    for (int i = 0; i < nbDims; ++i) {
        if (strides[i] < 1) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: strides[%d] = %d must be >= 1", arg, i, strides[i]);
        int64_t reach;
        if (__builtin_mul_overflow(static_cast<int64_t>(dims[i] - 1), static_cast<int64_t>(strides[i]), &reach) ||
            __builtin_add_overflow(span, reach, &span) || span > INT64_MAX / 8)
            fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: the memory span of dims and strides overflows", arg);
    }
    t.nbDims = nbDims;
    for (int i = 0; i < CONVX_DIM_MAX; ++i) {
        t.dims[i] = i < nbDims ? dims[i] : 0;
        t.strides[i] = i < nbDims ? strides[i] : 0;
    }
    t.dtype = dt;
    t.set = true;
}

void setTensorDescPacked(convxTensorStruct& t, Layout format, DType dt, int nbDims, const int* dims, const char* arg) {
    checkRank(nbDims, arg);
    checkDims(nbDims, dims, arg, "dims");
    Dims sp{1, 1, 1};
    for (int i = 2; i < nbDims; ++i) sp[i - 2] = dims[i];
    Strides s = packedStrides(format, nbDims - 2, dims[0], dims[1], sp);
    for (int i = 0; i < nbDims; ++i)
        if (s[i] > INT32_MAX)
            fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: packed stride of dim %d (%lld) exceeds INT_MAX", arg, i, (long long)s[i]);
    t.nbDims = nbDims;
    for (int i = 0; i < CONVX_DIM_MAX; ++i) {
        t.dims[i] = i < nbDims ? dims[i] : 0;
        t.strides[i] = i < nbDims ? s[i] : 0;
    }
    t.dtype = dt;
    t.set = true;
}

void setFilterDesc(convxFilterStruct& f, DType dt, Layout format, int nbDims, const int* dims, const char* arg) {
    checkRank(nbDims, arg);
    checkDims(nbDims, dims, arg, "dims");
    f.nbDims = nbDims;
    for (int i = 0; i < CONVX_DIM_MAX; ++i) f.dims[i] = i < nbDims ? dims[i] : 0;
    f.dtype = dt;
    f.format = format;
    f.set = true;
}

void setConvolutionDesc(convxConvolutionStruct& c, int nsp, const int* pads, const int* strides, const int* dils, int mode,
                        int computeType, const char* arg) {
    if (nsp < 1 || nsp > CONVX_SPATIAL_DIM_MAX)
        fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE, "%s: array_length = %d, supported are 1..3 spatial dims", arg, nsp);
    requireNonNull(pads, "pads");
    requireNonNull(strides, "strides");
    requireNonNull(dils, "dilations");
    for (int i = 0; i < nsp; ++i) {
        if (pads[i] < 0) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: pad[%d] = %d must be >= 0", arg, i, pads[i]);
        if (strides[i] < 1) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: stride[%d] = %d must be >= 1", arg, i, strides[i]);
        if (dils[i] < 1) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: dilation[%d] = %d must be >= 1 (1 = none)", arg, i, dils[i]);
    }
    if (mode != CONVX_CONVOLUTION && mode != CONVX_CROSS_CORRELATION)
        fail(CONVX_STATUS_BAD_PARAM, "%s: mode %d is not CONVX_CONVOLUTION or CONVX_CROSS_CORRELATION", arg, mode);
    DType ct = checkDType(computeType, "compute_type");
    c.nsp = nsp;
    for (int i = 0; i < CONVX_SPATIAL_DIM_MAX; ++i) {
        c.pad[i] = i < nsp ? pads[i] : 0;
        c.stride[i] = i < nsp ? strides[i] : 1;
        c.dil[i] = i < nsp ? dils[i] : 1;
    }
    c.mode = static_cast<convxConvolutionMode_t>(mode);
    c.computeType = ct;
    c.set = true;
}

Layout inferLayout(const convxTensorStruct& t) {
    const int nsp = t.nbDims - 2;
    Dims sp{1, 1, 1};
    for (int i = 0; i < nsp; ++i) sp[i] = t.dims[2 + i];
    Strides s{};
    for (int i = 0; i < t.nbDims; ++i) s[i] = t.strides[i];
    if (s == packedStrides(Layout::NCHW, nsp, t.dims[0], t.dims[1], sp)) return Layout::NCHW;
    if (s == packedStrides(Layout::NHWC, nsp, t.dims[0], t.dims[1], sp)) return Layout::NHWC;
    // Strided view: channels-last when C has the smallest stride among the non-trivial dims.
    if (t.dims[1] > 1)
        for (int i = 2; i < t.nbDims; ++i)
            if (t.dims[i] > 1 && t.strides[i] < t.strides[1]) return Layout::NCHW;
    return t.dims[1] > 1 ? Layout::NHWC : Layout::NCHW;
}

ArgNames argNames(Direction d) {
    switch (d) {
        case Direction::Forward: return {"x_desc", "w_desc", "y_desc", "conv_desc"};
        case Direction::BackwardData: return {"dx_desc", "w_desc", "dy_desc", "conv_desc"};
        case Direction::BackwardFilter: return {"x_desc", "dw_desc", "dy_desc", "conv_desc"};
    }
    return {"x_desc", "w_desc", "y_desc", "conv_desc"};
}

void forwardOutputDims(const convxConvolutionStruct& conv, const convxTensorStruct& x, const convxFilterStruct& w,
                       int64_t outDims[CONVX_DIM_MAX], const char* convArg, const char* xArg, const char* wArg) {
    const auto MISMATCH = CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH;
    if (x.nbDims != conv.nsp + 2)
        fail(MISMATCH, "%s has %d dims but %s has %d spatial dims (expected %d tensor dims)", xArg, x.nbDims, convArg, conv.nsp,
             conv.nsp + 2);
    if (w.nbDims != x.nbDims) fail(MISMATCH, "%s has %d dims but %s has %d", wArg, w.nbDims, xArg, x.nbDims);
    if (conv.groups < 1 || x.dims[1] != w.dims[1] * conv.groups)
        fail(MISMATCH, "%s has C = %lld channels but %s has C/groups = %lld with groups = %lld", xArg, (long long)x.dims[1], wArg,
             (long long)w.dims[1], (long long)conv.groups);
    if (w.dims[0] % conv.groups)
        fail(MISMATCH, "%s has K = %lld output channels, not divisible by groups = %lld (%s)", wArg, (long long)w.dims[0],
             (long long)conv.groups, convArg);
    outDims[0] = x.dims[0];
    outDims[1] = w.dims[0];
    for (int i = 0; i < conv.nsp; ++i) {
        int64_t o = convOutputSize(x.dims[2 + i], w.dims[2 + i], conv.stride[i], conv.pad[i], conv.dil[i]);
        if (o < 1)
            fail(MISMATCH, "spatial dim %d: the %s filter extent %lld (dilated) exceeds the %s input %lld padded by 2 x %lld (%s)", i,
                 wArg, (long long)((w.dims[2 + i] - 1) * conv.dil[i] + 1), xArg, (long long)x.dims[2 + i], (long long)conv.pad[i],
                 convArg);
        if (o > INT32_MAX)
            fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "spatial dim %d: output size %lld exceeds INT_MAX (%s)", i, (long long)o, convArg);
        outDims[2 + i] = o;
    }
    for (int i = conv.nsp + 2; i < CONVX_DIM_MAX; ++i) outDims[i] = 0;
}

Problem makeProblem(Direction dir, const convxTensorStruct& x, const convxFilterStruct& w, const convxConvolutionStruct& conv,
                    const convxTensorStruct& y, const ArgNames* names) {
    const ArgNames a = names ? *names : argNames(dir);
    if (w.dtype != x.dtype)
        fail(CONVX_STATUS_BAD_PARAM, "%s has data type %s but %s has %s", a.w, dtypeName(w.dtype), a.x, dtypeName(x.dtype));
    if (y.dtype != x.dtype)
        fail(CONVX_STATUS_BAD_PARAM, "%s has data type %s but %s has %s", a.y, dtypeName(y.dtype), a.x, dtypeName(x.dtype));
    int64_t od[CONVX_DIM_MAX];
    forwardOutputDims(conv, x, w, od, a.conv, a.x, a.w);
    if (y.nbDims != x.nbDims)
        fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "%s has %d dims but %s has %d", a.y, y.nbDims, a.x, x.nbDims);
    for (int i = 0; i < x.nbDims; ++i)
        if (y.dims[i] != od[i]) {
            std::string want, got;
            for (int j = 0; j < x.nbDims; ++j) {
                want += (j ? "," : "") + std::to_string(od[j]);
                got += (j ? "," : "") + std::to_string(y.dims[j]);
            }
            fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "%s has dims [%s] but the convolution of %s by %s gives [%s]", a.y, got.c_str(),
                 a.x, a.w, want.c_str());
        }

    Problem p;
    p.dir = dir;
    p.dtype = x.dtype;
    p.accType = conv.computeType;
    p.mode = conv.mode;
    p.math = conv.math;
    p.nsp = conv.nsp;
    p.N = x.dims[0];
    p.C = x.dims[1];
    p.K = w.dims[0];
    p.G = conv.groups;
    for (int i = 0; i < p.nsp; ++i) {
        p.in[i] = x.dims[2 + i];
        p.out[i] = y.dims[2 + i];
        p.ker[i] = w.dims[2 + i];
        p.stride[i] = conv.stride[i];
        p.pad[i] = conv.pad[i];
        p.dil[i] = conv.dil[i];
    }
    p.xLayout = inferLayout(x);
    p.yLayout = inferLayout(y);
    p.wLayout = w.format;
    for (int i = 0; i < CONVX_DIM_MAX; ++i) {
        p.xStrides[i] = i < x.nbDims ? x.strides[i] : 0;
        p.yStrides[i] = i < y.nbDims ? y.strides[i] : 0;
    }
    try {
        validateProblem(p);
    } catch (const Error& e) {
        fail(e.status(), "%s / %s / %s / %s: %s", a.x, a.w, a.conv, a.y, e.what());
    }
    return p;
}

}  // namespace convx
