// GCONV chains: building (every layer validated as it is added), describe and execute.
// Lowering and fusion: chain_lower.cpp; buffer planning and parameter packing: chain_plan.cpp.
#include "chain.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "error.h"

namespace convx {

const char* layerKindName(LayerKind k) {
    switch (k) {
    case LayerKind::Input: return "input";
    case LayerKind::Conv: return "conv";
    case LayerKind::BatchNorm: return "bn";
    case LayerKind::Activation: return "act";
    case LayerKind::MaxPool: return "maxpool";
    case LayerKind::AvgPool: return "avgpool";
    case LayerKind::GlobalMax: return "gmaxpool";
    case LayerKind::GlobalAvg: return "gavgpool";
    case LayerKind::FullyConnected: return "fc";
    case LayerKind::Add: return "add";
    case LayerKind::Concat: return "concat";
    case LayerKind::Upsample: return "upsample";
    case LayerKind::LRN: return "lrn";
    case LayerKind::Softmax: return "softmax";
    }
    return "?";
}

namespace {

const auto OOB = CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND;
const auto MISMATCH = CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH;

std::string shapeStr(const Shape4& s) {
    return format("%lldx%lldx%lldx%lld", (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w);
}

void positive(int64_t v, const char* arg) {
    if (v < 1) fail(OOB, "%s = %lld must be >= 1", arg, (long long)v);
}

std::vector<float> copyOf(const float* p, int64_t n) { return std::vector<float>(p, p + n); }

}  // namespace

Chain::Chain(convxContext* handle, Layout layout, DType dtype) : h_(handle), layout_(layout), dtype_(dtype) {
    if (dtype != DType::F32) fail(CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE, "dtype %s: chains are fp32 only", dtypeName(dtype));
    const char* env = std::getenv("CONVX_CHAIN_POISON");
    poison_ = env && env[0] == '1';
}

Chain::~Chain() {
    if (devParams_) backendFree(*h_, devParams_);
}

void Chain::requireBuilding() const {
    if (finalized_) fail(CONVX_STATUS_BAD_PARAM, "chain is finalized: no layer or output can be added");
}

const Layer& Chain::layerArg(int id, const char* arg) const {
    if (id < 0 || id >= static_cast<int>(layers_.size()))
        fail(CONVX_STATUS_BAD_PARAM, "%s = %d is not a layer id of this chain (it has %zu layers)", arg, id, layers_.size());
    return layers_[id];
}

int Chain::addLayer(Layer l) {
    const int64_t e = l.out.elems();
    if (l.out.n < 1 || l.out.c < 1 || l.out.h < 1 || l.out.w < 1 || e > (int64_t(1) << 40))
        fail(MISMATCH, "%s layer: output shape %s is empty or too large", layerKindName(l.kind), shapeStr(l.out).c_str());
    layers_.push_back(std::move(l));
    return static_cast<int>(layers_.size()) - 1;
}

Shape4 Chain::shape(int id) const { return layerArg(id, "id").out; }

int Chain::addInput(Shape4 s) {
    requireBuilding();
    positive(s.n, "n"), positive(s.c, "c"), positive(s.h, "h"), positive(s.w, "w");
    Layer l;
    l.kind = LayerKind::Input;
    l.out = s;
    ++numInputs_;
    return addLayer(std::move(l));
}

int Chain::addConv(int in, int64_t K, int64_t R, int64_t S, const int64_t stride[2], const int64_t pad[2], const int64_t dil[2],
                   int64_t groups, const float* w, const float* bias) {
    requireBuilding();
    const Shape4 x = layerArg(in, "input").out;
    positive(K, "k"), positive(R, "r"), positive(S, "s"), positive(stride[0], "stride_h"), positive(stride[1], "stride_w");
    positive(dil[0], "dil_h"), positive(dil[1], "dil_w"), positive(groups, "groups");
    if (pad[0] < 0) fail(OOB, "pad_h = %lld must be >= 0", (long long)pad[0]);
    if (pad[1] < 0) fail(OOB, "pad_w = %lld must be >= 0", (long long)pad[1]);
    if (x.c % groups) fail(MISMATCH, "groups = %lld does not divide the input's %lld channels", (long long)groups, (long long)x.c);
    if (K % groups) fail(MISMATCH, "groups = %lld does not divide k = %lld", (long long)groups, (long long)K);
    requireNonNull(w, "w");
    Layer l;
    l.kind = LayerKind::Conv;
    l.in = {in};
    l.K = K, l.R = R, l.S = S, l.groups = groups;
    for (int i = 0; i < 2; ++i) l.stride[i] = stride[i], l.pad[i] = pad[i], l.dil[i] = dil[i];
    const int64_t P = convOutputSize(x.h, R, stride[0], pad[0], dil[0]), Q = convOutputSize(x.w, S, stride[1], pad[1], dil[1]);
    if (P < 1 || Q < 1)
        fail(MISMATCH, "the %lldx%lld filter (dilated) is larger than the padded %lldx%lld input of layer %d", (long long)R, (long long)S,
             (long long)x.h, (long long)x.w, in);
    l.out = {x.n, K, P, Q};
    l.w = copyOf(w, K * (x.c / groups) * R * S);
    if (bias) l.bias = copyOf(bias, K);
    return addLayer(std::move(l));
}

int Chain::addBatchNorm(int in, const float* mean, const float* var, const float* gamma, const float* beta, float eps) {
    requireBuilding();
    const Shape4 x = layerArg(in, "input").out;
    requireNonNull(mean, "mean"), requireNonNull(var, "var"), requireNonNull(gamma, "gamma"), requireNonNull(beta, "beta");
    if (!(eps >= 0.f) || !std::isfinite(eps)) fail(CONVX_STATUS_BAD_PARAM, "eps = %g must be finite and >= 0", double(eps));
    Layer l;
    l.kind = LayerKind::BatchNorm;
    l.in = {in};
    l.out = x;
    l.mean = copyOf(mean, x.c), l.var = copyOf(var, x.c), l.gamma = copyOf(gamma, x.c), l.beta = copyOf(beta, x.c);
    for (int64_t c = 0; c < x.c; ++c)
        if (!(double(l.var[c]) + eps > 0.0))
            fail(CONVX_STATUS_BAD_PARAM, "var[%lld] + eps = %g must be > 0", (long long)c, double(l.var[c]) + eps);
    l.eps = eps;
    return addLayer(std::move(l));
}

int Chain::addActivation(int in, ActKind a, float param) {
    requireBuilding();
    Layer l;
    l.kind = LayerKind::Activation;
    l.out = layerArg(in, "input").out;
    l.in = {in};
    l.act = a;
    l.param = param;
    return addLayer(std::move(l));
}

int Chain::addPooling(int in, LayerKind kind, int64_t R, int64_t S, const int64_t stride[2], const int64_t pad[2]) {
    requireBuilding();
    const Shape4 x = layerArg(in, "input").out;
    Layer l;
    l.kind = kind;
    l.in = {in};
    if (kind == LayerKind::GlobalAvg || kind == LayerKind::GlobalMax) {
        l.R = x.h, l.S = x.w;
        l.out = {x.n, x.c, 1, 1};
        return addLayer(std::move(l));
    }
    positive(R, "r"), positive(S, "s"), positive(stride[0], "stride_h"), positive(stride[1], "stride_w");
    // A window made only of padding has no value to reduce.
    if (pad[0] < 0 || pad[0] >= R) fail(OOB, "pad_h = %lld must be in [0, r = %lld)", (long long)pad[0], (long long)R);
    if (pad[1] < 0 || pad[1] >= S) fail(OOB, "pad_w = %lld must be in [0, s = %lld)", (long long)pad[1], (long long)S);
    const int64_t P = convOutputSize(x.h, R, stride[0], pad[0], 1), Q = convOutputSize(x.w, S, stride[1], pad[1], 1);
    if (P < 1 || Q < 1)
        fail(MISMATCH, "the %lldx%lld window is larger than the padded %lldx%lld input of layer %d", (long long)R, (long long)S, (long long)x.h,
             (long long)x.w, in);
    l.R = R, l.S = S;
    for (int i = 0; i < 2; ++i) l.stride[i] = stride[i], l.pad[i] = pad[i];
    l.out = {x.n, x.c, P, Q};
    return addLayer(std::move(l));
}

int Chain::addFullyConnected(int in, int64_t outFeatures, const float* w, const float* bias) {
    requireBuilding();
    const Shape4 x = layerArg(in, "input").out;
    positive(outFeatures, "out_features");
    requireNonNull(w, "w");
    Layer l;
    l.kind = LayerKind::FullyConnected;
    l.in = {in};
    l.K = outFeatures, l.R = x.h, l.S = x.w;
    l.out = {x.n, outFeatures, 1, 1};
    l.w = copyOf(w, outFeatures * x.c * x.h * x.w);
    if (bias) l.bias = copyOf(bias, outFeatures);
    return addLayer(std::move(l));
}

int Chain::addAdd(int a, int b) {
    requireBuilding();
    const Shape4 sa = layerArg(a, "a").out, sb = layerArg(b, "b").out;
    if (sa != sb)
        fail(MISMATCH, "b (layer %d) has shape %s but a (layer %d) has %s: a residual add needs equal shapes", b, shapeStr(sb).c_str(), a,
             shapeStr(sa).c_str());
    Layer l;
    l.kind = LayerKind::Add;
    l.in = {a, b};
    l.out = sa;
    return addLayer(std::move(l));
}

int Chain::addConcat(const int* in, int count) {
    requireBuilding();
    requireNonNull(in, "inputs");
    if (count < 1) fail(OOB, "count = %d must be >= 1", count);
    Layer l;
    l.kind = LayerKind::Concat;
    const Shape4 s0 = layerArg(in[0], "inputs[0]").out;
    l.out = s0;
    l.out.c = 0;
    for (int i = 0; i < count; ++i) {
        const std::string arg = format("inputs[%d]", i);
        const Shape4 s = layerArg(in[i], arg.c_str()).out;
        if (s.n != s0.n || s.h != s0.h || s.w != s0.w)
            fail(MISMATCH, "inputs[%d] (layer %d) has shape %s but inputs[0] (layer %d) has %s: concat needs equal N, H, W", i, in[i],
                 shapeStr(s).c_str(), in[0], shapeStr(s0).c_str());
        l.in.push_back(in[i]);
        l.out.c += s.c;
    }
    return addLayer(std::move(l));
}

int Chain::addUpsample(int in, int64_t sh, int64_t sw) {
    requireBuilding();
    const Shape4 x = layerArg(in, "input").out;
    positive(sh, "scale_h"), positive(sw, "scale_w");
    Layer l;
    l.kind = LayerKind::Upsample;
    l.in = {in};
    l.scale[0] = sh, l.scale[1] = sw;
    l.out = {x.n, x.c, x.h * sh, x.w * sw};
    return addLayer(std::move(l));
}

int Chain::addLRN(int in, int64_t size, float alpha, float beta, float k) {
    requireBuilding();
    const Shape4 x = layerArg(in, "input").out;
    positive(size, "size");
    // The divisor (k + alpha/size * sum)^beta is raised by Pow, defined for positive bases.
    if (!(k > 0.f) || !std::isfinite(k)) fail(CONVX_STATUS_BAD_PARAM, "k = %g must be finite and > 0", double(k));
    if (!(alpha >= 0.f) || !std::isfinite(alpha)) fail(CONVX_STATUS_BAD_PARAM, "alpha = %g must be finite and >= 0", double(alpha));
    if (!std::isfinite(beta)) fail(CONVX_STATUS_BAD_PARAM, "beta = %g must be finite", double(beta));
    Layer l;
    l.kind = LayerKind::LRN;
    l.in = {in};
    l.out = x;
    l.size = size, l.lrnAlpha = alpha, l.lrnBeta = beta, l.lrnK = k;
    return addLayer(std::move(l));
}

int Chain::addSoftmax(int in) {
    requireBuilding();
    Layer l;
    l.kind = LayerKind::Softmax;
    l.in = {in};
    l.out = layerArg(in, "input").out;
    return addLayer(std::move(l));
}

void Chain::markOutput(int id) {
    requireBuilding();
    const Layer& l = layerArg(id, "id");
    if (l.kind == LayerKind::Input) fail(CONVX_STATUS_BAD_PARAM, "id = %d is a chain input; it cannot also be an output", id);
    for (int o : outputs_)
        if (o == id) fail(CONVX_STATUS_BAD_PARAM, "id = %d is already an output", id);
    outputs_.push_back(id);
}

void Chain::finalize(bool fuse) {
    requireBuilding();
    if (outputs_.empty()) fail(CONVX_STATUS_BAD_PARAM, "chain has no output: mark one with convxChainMarkOutput before finalizing");
    lower();
    fused_ = fuse;
    if (fuse) this->fuse();
    placeConcats();
    plan();
    for (const Step& st : steps_) validateGconv(st.gp);
    packParameters();
    finalized_ = true;
}

size_t Chain::workspaceSize() const {
    if (!finalized_) fail(CONVX_STATUS_BAD_PARAM, "chain is not finalized (call convxChainFinalize first)");
    return interBytes_ + engineBytes_;
}

namespace {

std::string valueName(const Chain& c, int v) {
    const int r = c.root(v);
    const Value& rv = c.values()[r];
    std::string s;
    if (rv.input >= 0)
        s = format("in%d", rv.input);
    else if (rv.output >= 0)
        s = format("out%d", rv.output);
    else
        s = format("ws%lld@%zu", (long long)rv.slot, rv.offset);
    const int64_t co = c.rootChannelOffset(v);
    if (r != v) s += format("+c%lld", (long long)co);
    return s;
}

}  // namespace

std::string Chain::describe() const {
    if (!finalized_) fail(CONVX_STATUS_BAD_PARAM, "chain is not finalized (call convxChainFinalize first)");
    std::string s = format("chain: %zu layers, %zu GCONVs (%s), layout %s, workspace %zu bytes = %zu intermediates + %zu engine\n",
                           layers_.size(), steps_.size(), fused_ ? "fused" : "unfused", layoutName(layout_), interBytes_ + engineBytes_,
                           interBytes_, engineBytes_);
    for (size_t i = 0; i < steps_.size(); ++i) {
        const Step& st = steps_[i];
        std::string names;
        for (int l : st.layers) names += format("%s%s%d", names.empty() ? "" : "+", layerKindName(layers_[l].kind), l);
        s += format("#%zu %s: y=%s x=%s", i, names.c_str(), valueName(*this, st.y).c_str(), valueName(*this, st.x).c_str());
        if (st.z >= 0) s += format(" z=%s", valueName(*this, st.z).c_str());
        if (st.yStep[0] != 1 || st.yStep[1] != 1)
            s += format(" y-phase=(%lld,%lld)/(%lld,%lld)", (long long)st.yPhase[0], (long long)st.yPhase[1], (long long)st.yStep[0],
                        (long long)st.yStep[1]);
        s += " | " + st.gp.str() + "\n";
    }
    return s;
}

void Chain::execute(const void* const* inputs, void* const* outputs, void* workspace, size_t bytes) {
    if (!finalized_) fail(CONVX_STATUS_BAD_PARAM, "chain is not finalized (call convxChainFinalize before convxChainExecute)");
    if (numInputs_ > 0) requireNonNull(inputs, "inputs");
    requireNonNull(outputs, "outputs");
    for (int i = 0; i < numInputs_; ++i) {
        const std::string arg = format("inputs[%d]", i);
        requireNonNull(inputs[i], arg.c_str());
        checkBackendPointer(*h_, inputs[i], arg.c_str());
    }
    for (int i = 0; i < numOutputs(); ++i) {
        const std::string arg = format("outputs[%d]", i);
        requireNonNull(outputs[i], arg.c_str());
        checkBackendPointer(*h_, outputs[i], arg.c_str());
    }
    const size_t need = interBytes_ + engineBytes_;
    if (bytes < need)
        fail(CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "workspace_bytes = %zu but the chain needs %zu (convxChainGetWorkspaceSize)", bytes,
             need);
    if (need > 0) {
        requireNonNull(workspace, "workspace");
        checkBackendPointer(*h_, workspace, "workspace");
    }
    char* ws = static_cast<char*>(workspace);
    const bool poison = poison_ && h_->backend == CONVX_BACKEND_CPU;
    auto fillNaN = [](char* p, size_t n) {
        float* f = reinterpret_cast<float*>(p);
        std::fill(f, f + n / sizeof(float), std::numeric_limits<float>::quiet_NaN());
    };
    if (poison && interBytes_) fillNaN(ws, interBytes_);

    auto addr = [&](int v) -> char* {
        const int r = root(v);
        const Value& rv = values_[r];
        char* base = rv.input >= 0 ? static_cast<char*>(const_cast<void*>(inputs[rv.input]))
                     : rv.output >= 0 ? static_cast<char*>(outputs[rv.output])
                                      : ws + rv.offset;
        const Strides st = stridesOf(r);
        return base + rootChannelOffset(v) * st[1] * int64_t(sizeof(float));
    };
    const float* par = static_cast<const float*>(devParams_ ? devParams_ : static_cast<const void*>(params_.data()));
    auto vec = [&](int64_t off) -> const float* { return off < 0 ? nullptr : par + off; };
    ExecContext ctx;
    ctx.handle = h_;
    ctx.workspace = engineBytes_ ? ws + interBytes_ : nullptr;
    ctx.workspaceBytes = engineBytes_;
    for (size_t i = 0; i < steps_.size(); ++i) {
        const Step& st = steps_[i];
        GconvArgs a;
        a.x = addr(st.x);
        const Strides ys = stridesOf(root(st.y));
        a.y = addr(st.y) + (st.yPhase[0] * ys[2] + st.yPhase[1] * ys[3]) * int64_t(sizeof(float));
        a.z = st.z >= 0 ? addr(st.z) : nullptr;
        a.w = vec(st.wOff);
        a.preScale = vec(st.preScaleOff), a.preShift = vec(st.preShiftOff);
        a.postScale = vec(st.postScaleOff), a.postShift = vec(st.postShiftOff);
        gconvForward(ctx, st.gp, a, Scale{1.0, 0.0});
        if (poison) {
            for (const Value& v : values_)
                if (v.slot >= 0 && v.last == int64_t(i)) fillNaN(ws + v.offset, v.bytes);
        }
    }
}

}  // namespace convx
