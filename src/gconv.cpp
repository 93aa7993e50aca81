// GCONV's contract (gconv.h): validation with argument-naming errors, the text forms, and the
// backend dispatch of gconvForward.
#include "gconv.h"

#include <cmath>
#include <sstream>

#include "checked.h"
#include "error.h"
#include "gconv_engine.h"

namespace convx {

namespace {

const char* mapName(GMap m) {
    switch (m) {
        case GMap::Mul: return "mul";
        case GMap::Add: return "add";
        case GMap::Pass: return "pass";
    }
    return "?";
}
const char* reduceName(GReduce r) {
    switch (r) {
        case GReduce::Sum: return "sum";
        case GReduce::Max: return "max";
        case GReduce::Min: return "min";
        case GReduce::Mean: return "mean";
    }
    return "?";
}
const char* combineName(GCombine c) {
    switch (c) {
        case GCombine::None: return "none";
        case GCombine::Add: return "add";
        case GCombine::Mul: return "mul";
    }
    return "?";
}
const char* unaryName(GUnary u) {
    switch (u) {
        case GUnary::Identity: return "identity";
        case GUnary::Square: return "square";
        case GUnary::Relu: return "relu";
        case GUnary::Relu6: return "relu6";
        case GUnary::Sigmoid: return "sigmoid";
        case GUnary::Tanh: return "tanh";
        case GUnary::Exp: return "exp";
        case GUnary::Reciprocal: return "reciprocal";
        case GUnary::Pow: return "pow";
        case GUnary::LeakyRelu: return "leaky_relu";
        case GUnary::Sqrt: return "sqrt";
    }
    return "?";
}
bool unaryHasParam(GUnary u) { return u == GUnary::Pow || u == GUnary::LeakyRelu; }

// The enums arrive from C as ints; an out-of-range value is reported, never converted.
template <class E>
int asInt(E e) {
    return static_cast<int>(e);
}

}  // namespace

std::string GconvOps::str() const {
    std::ostringstream o;
    o << "map=" << mapName(map) << ",reduce=" << reduceName(reduce);
    if (preAffine) o << ",pre_affine";
    if (pre != GUnary::Identity) {
        o << ",pre=" << unaryName(pre);
        if (unaryHasParam(pre)) o << '(' << preParam << ')';
    }
    if (padValue != 0.f) o << ",pad_value=" << padValue;
    if (postAffine) o << ",post_affine";
    if (combine != GCombine::None) o << ",combine=" << combineName(combine);
    if (post != GUnary::Identity) {
        o << ",post=" << unaryName(post);
        if (unaryHasParam(post)) o << '(' << postParam << ')';
    }
    return o.str();
}

std::string GconvProblem::str() const { return conv.str() + " " + ops.str(); }

void validateGconv(const GconvProblem& gp) {
    const Problem& p = gp.conv;
    const GconvOps& op = gp.ops;
    const auto BAD = CONVX_STATUS_BAD_PARAM;
    if (p.dir != Direction::Forward) fail(BAD, "gconv: the problem's direction is %s, not fwd", directionName(p.dir));
    validateProblem(p);
    if (asInt(op.map) < 0 || asInt(op.map) > 2) fail(BAD, "gconv: map = %d is not MUL, ADD or PASS", asInt(op.map));
    if (asInt(op.reduce) < 0 || asInt(op.reduce) > 3) fail(BAD, "gconv: reduce = %d is not SUM, MAX, MIN or MEAN", asInt(op.reduce));
    if (asInt(op.combine) < 0 || asInt(op.combine) > 2) fail(BAD, "gconv: combine = %d is not NONE, ADD or MUL", asInt(op.combine));
    if (asInt(op.pre) < 0 || asInt(op.pre) > 10) fail(BAD, "gconv: pre-op = %d is not a GCONV operator", asInt(op.pre));
    if (asInt(op.post) < 0 || asInt(op.post) > 10) fail(BAD, "gconv: post-op = %d is not a GCONV operator", asInt(op.post));
    if (!std::isfinite(op.preParam)) fail(BAD, "gconv: pre-op parameter %g is not finite", double(op.preParam));
    if (!std::isfinite(op.postParam)) fail(BAD, "gconv: post-op parameter %g is not finite", double(op.postParam));
    if (std::isnan(op.padValue)) fail(BAD, "gconv: pad value is NaN");
    if (op.map == GMap::Pass && p.Cg() != 1)
        fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH,
             "gconv: map PASS (pooling) works per channel: input channels per group C/G = %lld must be 1 (set groups = C)",
             (long long)p.Cg());
    if (op.combine != GCombine::None) {
        const int rank = 2 + p.nsp;
        const int64_t yd[5] = {p.N, p.K, p.out[0], p.out[1], p.out[2]};
        int64_t span = 1;
        for (int i = 0; i < rank; ++i) {
            if (gp.zStrides[i] < 0) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "gconv: z stride %d = %lld is negative", i, (long long)gp.zStrides[i]);
            span = checkedAdd(span, checkedMul(yd[i] - 1, gp.zStrides[i], "z"), "z");
        }
        checkedMul(span, static_cast<int64_t>(dtypeSize(p.dtype)), "z");
        for (int i = rank; i < CONVX_DIM_MAX; ++i)
            if (gp.zStrides[i] != 0) fail(CONVX_STATUS_BAD_PARAM, "gconv: z stride %d past rank %d is not 0", i, rank);
    }
}

void checkGconvArgs(const GconvProblem& gp, const GconvArgs& a) {
    requireNonNull(a.x, "x");
    requireNonNull(a.y, "y");
    if (gp.ops.map != GMap::Pass) requireNonNull(a.w, "w (map is not PASS)");
    if (gp.ops.combine != GCombine::None) requireNonNull(a.z, "z (combine is not NONE)");
}

size_t gconvWorkspaceSize(const convxContext& h, const GconvProblem& gp) {
    validateGconv(gp);
    if (h.backend == CONVX_BACKEND_CPU) return cpuGconvWorkspaceSize(gp);
#ifdef CONVX_HAVE_CUDA
    if (h.backend == CONVX_BACKEND_CUDA) return cudaGconvWorkspaceSize(gp);
#endif
    fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "gconv: backend %s has no GCONV engine in this build", h.backend == CONVX_BACKEND_CUDA ? "cuda" : "?");
}

void gconvForward(const ExecContext& ctx, const GconvProblem& gp, const GconvArgs& a, Scale s) {
    if (!ctx.handle) fail(CONVX_STATUS_BAD_PARAM_NULL_POINTER, "gconv: handle is NULL");
    validateGconv(gp);
    checkGconvArgs(gp, a);
    const size_t need = gconvWorkspaceSize(*ctx.handle, gp);
    if (need > 0 && (ctx.workspaceBytes < need || !ctx.workspace))
        fail(CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "gconv: workspace of %zu bytes, %zu needed", ctx.workspaceBytes, need);
    if (ctx.handle->backend == CONVX_BACKEND_CPU) return cpuGconvForward(ctx, gp, a, s);
#ifdef CONVX_HAVE_CUDA
    if (ctx.handle->backend == CONVX_BACKEND_CUDA) return cudaGconvForward(ctx, gp, a, s);
#endif
    fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "gconv: backend %s has no GCONV engine in this build", ctx.handle->backend == CONVX_BACKEND_CUDA ? "cuda" : "?");
}

}  // namespace convx
