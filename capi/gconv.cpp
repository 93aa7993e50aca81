// GCONV entry points (the GCONV section of convx.h): the descriptor, its setters, the output
// size and workspace queries, and convxGconvForward. The call is checked argument by argument
// (every message names the C argument), turned into a GconvProblem (the geometry through the
// same makeProblem as a convolution, so shapes, strides and layouts mean the same), and run by
// gconvForward on the handle's backend.
#include <cmath>
#include <string>

#include "context.h"
#include "descriptors.h"
#include "execute.h"
#include "gconv.h"
#include "guard.h"

using namespace convx;

struct convxGconvStruct {
    bool geometrySet = false;
    convxConvolutionStruct conv;  // pads, strides, dilations, groups, mode, compute type, math
    bool windowSet = false;
    int windowRank = 0;
    int64_t window[CONVX_SPATIAL_DIM_MAX] = {};
    GconvOps ops;
};

namespace {

const auto MISMATCH = CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH;

convxGconvStruct& liveGconv(convxGconvDescriptor_t d, const char* arg) {
    requireNonNull(d, arg);
    if (!isTracked(d))
        fail(CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "%s is not a live GCONV descriptor (destroyed, or never created)", arg);
    return *d;
}

const convxGconvStruct& setGconv(convxGconvDescriptor_t d, const char* arg) {
    const convxGconvStruct& g = liveGconv(d, arg);
    if (!g.geometrySet)
        fail(CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR,
             "%s has no geometry (call convxSetGconvNdGeometry or convxSetGconvGeometryFromConvolution)", arg);
    return g;
}

GUnary opArg(const convxGconvOp_t& op, const char* arg) {
    const int v = enumArg(op);
    if (v < 0 || v > CONVX_GCONV_OP_SQRT) fail(CONVX_STATUS_BAD_PARAM, "%s = %d is not a convxGconvOp_t", arg, v);
    return static_cast<GUnary>(v);
}

float paramArg(float param, const char* arg) {
    if (!std::isfinite(param)) fail(CONVX_STATUS_BAD_PARAM, "%s = %g is not finite", arg, double(param));
    return param;
}

const ArgNames kNames = {"x_desc", "w_desc", "y_desc", "gconv_desc"};

// The filter of the call: the caller's, or for PASS without one, C x 1 x window (K = C).
convxFilterStruct filterOf(const convxGconvStruct& g, const convxTensorStruct& x, convxFilterDescriptor_t wDesc) {
    if (wDesc) {
        const convxFilterStruct f = setFilter(wDesc, "w_desc");
        if (g.ops.map == GMap::Pass) {
            if (f.nbDims >= 2 && f.dims[1] != 1)
                fail(MISMATCH, "w_desc has C/groups = %lld but map PASS works per channel: it must be 1 (groups = C)",
                     (long long)f.dims[1]);
            if (g.windowSet) {
                if (f.nbDims != g.windowRank + 2)
                    fail(MISMATCH, "w_desc has %d dims but the window of gconv_desc has %d spatial dims", f.nbDims, g.windowRank);
                for (int i = 0; i < g.windowRank; ++i)
                    if (f.dims[2 + i] != g.window[i])
                        fail(MISMATCH, "w_desc spatial dim %d is %lld but the window of gconv_desc is %lld", i, (long long)f.dims[2 + i],
                             (long long)g.window[i]);
            }
        }
        return f;
    }
    if (g.ops.map != GMap::Pass) fail(CONVX_STATUS_BAD_PARAM_NULL_POINTER, "w_desc is NULL but the map of gconv_desc is not PASS");
    if (!g.windowSet)
        fail(CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "w_desc is NULL and gconv_desc has no window (call convxSetGconvWindow)");
    if (g.windowRank != x.nbDims - 2)
        fail(MISMATCH, "the window of gconv_desc has %d spatial dims but x_desc has %d", g.windowRank, x.nbDims - 2);
    convxFilterStruct f;
    f.set = true;
    f.nbDims = x.nbDims;
    f.dims[0] = x.dims[1];
    f.dims[1] = 1;
    for (int i = 0; i < g.windowRank; ++i) f.dims[2 + i] = g.window[i];
    f.dtype = x.dtype;
    f.format = Layout::NCHW;
    return f;
}

// PASS reads one input channel per output: the geometry's groups must be x's channels.
void checkGeometry(const convxGconvStruct& g, const convxTensorStruct& x) {
    if (g.ops.map == GMap::Pass && g.conv.groups != x.dims[1])
        fail(MISMATCH, "map PASS works per channel: groups of gconv_desc = %lld must equal x_desc's C = %lld", (long long)g.conv.groups,
             (long long)x.dims[1]);
}

GconvProblem problemOf(const convxGconvStruct& g, convxTensorDescriptor_t xDesc, convxFilterDescriptor_t wDesc,
                       convxTensorDescriptor_t yDesc) {
    const convxTensorStruct& x = setTensor(xDesc, "x_desc");
    const convxFilterStruct w = filterOf(g, x, wDesc);
    checkGeometry(g, x);
    const convxTensorStruct& y = setTensor(yDesc, "y_desc");
    GconvProblem gp;
    gp.conv = makeProblem(Direction::Forward, x, w, g.conv, y, &kNames);
    gp.ops = g.ops;
    return gp;
}

// z's strides as y's dims see them: a dim of size 1 where y's is larger broadcasts (stride 0).
Strides zStridesOf(const GconvProblem& gp, convxTensorDescriptor_t zDesc, const convxTensorStruct& y) {
    const convxTensorStruct& z = setTensor(zDesc, "z_desc");
    if (z.dtype != y.dtype)
        fail(CONVX_STATUS_BAD_PARAM, "z_desc has data type %s but y_desc has %s", dtypeName(z.dtype), dtypeName(y.dtype));
    if (z.nbDims != y.nbDims) fail(MISMATCH, "z_desc has %d dims but y_desc has %d", z.nbDims, y.nbDims);
    Strides s{};
    for (int i = 0; i < y.nbDims; ++i) {
        if (z.dims[i] == y.dims[i]) s[i] = y.dims[i] == 1 ? 0 : z.strides[i];
        else if (z.dims[i] == 1) s[i] = 0;
        else
            fail(MISMATCH, "z_desc dim %d is %lld but y_desc's is %lld (z must match y, or be 1 there to broadcast)", i,
                 (long long)z.dims[i], (long long)y.dims[i]);
    }
    (void)gp;
    return s;
}

void checkPointer(const convxContext& h, const void* p, const char* arg, DType t) {
    requireNonNull(p, arg);
    const uintptr_t align = dtypeSize(t);
    if (reinterpret_cast<uintptr_t>(p) % align)
        fail(CONVX_STATUS_BAD_PARAM_MISALIGNED_POINTER, "%s = %p is not aligned to its %zu-byte %s elements", arg, p, size_t(align),
             dtypeName(t));
    checkBackendPointer(h, p, arg);
}

void checkVector(const convxContext& h, const float* p, const char* arg) {
    if (!p) return;  // NULL: scale 1 / shift 0
    if (reinterpret_cast<uintptr_t>(p) % alignof(float))
        fail(CONVX_STATUS_BAD_PARAM_MISALIGNED_POINTER, "%s = %p is not aligned to 4-byte floats", arg, static_cast<const void*>(p));
    checkBackendPointer(h, p, arg);
}

}  // namespace

extern "C" {

convxStatus_t convxCreateGconvDescriptor(convxGconvDescriptor_t* desc) {
    return CONVX_GUARD({
        requireNonNull(desc, "desc");
        auto* g = new convxGconvStruct;
        trackObject(g);
        *desc = g;
    });
}

convxStatus_t convxDestroyGconvDescriptor(convxGconvDescriptor_t desc) {
    return CONVX_GUARD({
        convxGconvStruct& g = liveGconv(desc, "desc");
        untrackObject(&g);
        delete &g;
    });
}

convxStatus_t convxSetGconvNdGeometry(convxGconvDescriptor_t desc, int array_length, const int pads[], const int strides[],
                                      const int dilations[], int groups, convxConvolutionMode_t mode, convxDataType_t compute_type) {
    return CONVX_GUARD({
        convxGconvStruct& g = liveGconv(desc, "desc");
        if (groups < 1) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "groups = %d must be >= 1", groups);
        convxConvolutionStruct c;
        setConvolutionDesc(c, array_length, pads, strides, dilations, enumArg(mode), enumArg(compute_type), "desc");
        c.groups = groups;
        g.conv = c;
        g.geometrySet = true;
    });
}

convxStatus_t convxSetGconvGeometryFromConvolution(convxGconvDescriptor_t desc, convxConvolutionDescriptor_t conv) {
    return CONVX_GUARD({
        convxGconvStruct& g = liveGconv(desc, "desc");
        g.conv = setConvolution(conv, "conv");
        g.geometrySet = true;
    });
}

convxStatus_t convxSetGconvWindow(convxGconvDescriptor_t desc, int array_length, const int window[]) {
    return CONVX_GUARD({
        convxGconvStruct& g = liveGconv(desc, "desc");
        if (array_length < 1 || array_length > CONVX_SPATIAL_DIM_MAX)
            fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE, "array_length = %d, supported are 1..%d spatial dims", array_length, CONVX_SPATIAL_DIM_MAX);
        requireNonNull(window, "window");
        for (int i = 0; i < array_length; ++i)
            if (window[i] < 1) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "window[%d] = %d must be >= 1", i, window[i]);
        g.windowRank = array_length;
        for (int i = 0; i < CONVX_SPATIAL_DIM_MAX; ++i) g.window[i] = i < array_length ? window[i] : 0;
        g.windowSet = true;
    });
}

convxStatus_t convxSetGconvPadValue(convxGconvDescriptor_t desc, float pad_value) {
    return CONVX_GUARD({
        convxGconvStruct& g = liveGconv(desc, "desc");
        if (std::isnan(pad_value)) fail(CONVX_STATUS_BAD_PARAM, "pad_value is NaN");
        g.ops.padValue = pad_value;
    });
}

convxStatus_t convxSetGconvMapReduce(convxGconvDescriptor_t desc, convxGconvMap_t map, convxGconvReduce_t reduce) {
    return CONVX_GUARD({
        convxGconvStruct& g = liveGconv(desc, "desc");
        const int m = enumArg(map), r = enumArg(reduce);
        if (m < 0 || m > CONVX_GCONV_MAP_PASS) fail(CONVX_STATUS_BAD_PARAM, "map = %d is not a convxGconvMap_t", m);
        if (r < 0 || r > CONVX_GCONV_REDUCE_MEAN) fail(CONVX_STATUS_BAD_PARAM, "reduce = %d is not a convxGconvReduce_t", r);
        g.ops.map = static_cast<GMap>(m);
        g.ops.reduce = static_cast<GReduce>(r);
    });
}

convxStatus_t convxSetGconvPreOp(convxGconvDescriptor_t desc, convxGconvOp_t op, float param, int per_channel_affine) {
    return CONVX_GUARD({
        convxGconvStruct& g = liveGconv(desc, "desc");
        const GUnary u = opArg(op, "op");
        g.ops.preParam = paramArg(param, "param");
        g.ops.pre = u;
        g.ops.preAffine = per_channel_affine != 0;
    });
}

convxStatus_t convxSetGconvPostOp(convxGconvDescriptor_t desc, convxGconvOp_t op, float param, int per_channel_affine) {
    return CONVX_GUARD({
        convxGconvStruct& g = liveGconv(desc, "desc");
        const GUnary u = opArg(op, "op");
        g.ops.postParam = paramArg(param, "param");
        g.ops.post = u;
        g.ops.postAffine = per_channel_affine != 0;
    });
}

convxStatus_t convxSetGconvCombine(convxGconvDescriptor_t desc, convxGconvCombine_t combine) {
    return CONVX_GUARD({
        convxGconvStruct& g = liveGconv(desc, "desc");
        const int v = enumArg(combine);
        if (v < 0 || v > CONVX_GCONV_COMBINE_MUL) fail(CONVX_STATUS_BAD_PARAM, "combine = %d is not a convxGconvCombine_t", v);
        g.ops.combine = static_cast<GCombine>(v);
    });
}

convxStatus_t convxGetGconvOutputDim(convxGconvDescriptor_t desc, convxTensorDescriptor_t x_desc, convxFilterDescriptor_t w_desc,
                                     int nb_dims, int output_dims[]) {
    return CONVX_GUARD({
        const convxGconvStruct& g = setGconv(desc, "desc");
        const convxTensorStruct& x = setTensor(x_desc, "x_desc");
        requireNonNull(output_dims, "output_dims");
        const convxFilterStruct w = filterOf(g, x, w_desc);
        checkGeometry(g, x);
        int64_t od[CONVX_DIM_MAX];
        forwardOutputDims(g.conv, x, w, od, "desc", "x_desc", "w_desc");
        if (nb_dims != x.nbDims) fail(MISMATCH, "nb_dims = %d but x_desc has %d dims", nb_dims, x.nbDims);
        for (int i = 0; i < nb_dims; ++i) output_dims[i] = static_cast<int>(od[i]);
    });
}

convxStatus_t convxGetGconvWorkspaceSize(convxHandle_t handle, convxGconvDescriptor_t desc, convxTensorDescriptor_t x_desc,
                                         convxFilterDescriptor_t w_desc, convxTensorDescriptor_t y_desc, size_t* size) {
    return CONVX_GUARD({
        requireNonNull(size, "size");
        convxContext& h = liveHandle(handle);
        const convxGconvStruct& g = setGconv(desc, "gconv_desc");
        const GconvProblem gp = problemOf(g, x_desc, w_desc, y_desc);
        // z does not change the workspace; validate the rest without it.
        GconvProblem noZ = gp;
        noZ.ops.combine = GCombine::None;
        *size = gconvWorkspaceSize(h, noZ);
    });
}

convxStatus_t convxGconvForward(convxHandle_t handle, convxGconvDescriptor_t gconv_desc, const void* alpha, convxTensorDescriptor_t x_desc,
                                const void* x, convxFilterDescriptor_t w_desc, const void* w, convxTensorDescriptor_t z_desc, const void* z,
                                const float* pre_scale, const float* pre_shift, const float* post_scale, const float* post_shift,
                                void* workspace, size_t workspace_bytes, const void* beta, convxTensorDescriptor_t y_desc, void* y) {
    return CONVX_GUARD({
        convxContext& h = liveHandle(handle);
        const convxGconvStruct& g = setGconv(gconv_desc, "gconv_desc");
        GconvProblem gp = problemOf(g, x_desc, w_desc, y_desc);
        const DType t = gp.conv.dtype;
        if (gp.ops.combine != GCombine::None) {
            requireNonNull(z_desc, "z_desc (combine is not NONE)");
            gp.zStrides = zStridesOf(gp, z_desc, setTensor(y_desc, "y_desc"));
        }
        try {
            validateGconv(gp);
        } catch (const Error& e) {
            fail(e.status(), "gconv_desc: %s", e.what());
        }
        checkPointer(h, x, "x", t);
        if (gp.ops.map != GMap::Pass) checkPointer(h, w, "w", t);
        checkPointer(h, y, "y", t);
        if (gp.ops.combine != GCombine::None) checkPointer(h, z, "z (combine is not NONE)", t);
        if (gp.ops.preAffine) checkVector(h, pre_scale, "pre_scale"), checkVector(h, pre_shift, "pre_shift");
        if (gp.ops.postAffine) checkVector(h, post_scale, "post_scale"), checkVector(h, post_shift, "post_shift");
        requireNonNull(alpha, "alpha");
        requireNonNull(beta, "beta");
        Scale s;
        if (t == DType::F64) s = {*static_cast<const double*>(alpha), *static_cast<const double*>(beta)};
        else s = {*static_cast<const float*>(alpha), *static_cast<const float*>(beta)};
        const size_t need = gconvWorkspaceSize(h, gp);
        if (need > workspace_bytes)
            fail(CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "workspace_bytes = %zu, GCONV needs %zu for %s", workspace_bytes, need,
                 gp.str().c_str());
        if (need > 0 && !workspace) fail(CONVX_STATUS_BAD_PARAM_NULL_POINTER, "workspace is NULL but GCONV needs %zu bytes", need);
        GconvArgs a;
        a.x = x;
        a.w = gp.ops.map == GMap::Pass ? nullptr : w;
        a.y = y;
        a.z = gp.ops.combine != GCombine::None ? z : nullptr;
        a.preScale = pre_scale, a.preShift = pre_shift, a.postScale = post_scale, a.postShift = post_shift;
        gconvForward(ExecContext{&h, workspace, workspace_bytes}, gp, a, s);
    });
}

}  // extern "C"
