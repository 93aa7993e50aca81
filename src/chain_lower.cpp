// Lowering of chain layers to GCONV steps, fusion, and concat placement (docs/algorithms/gconv.md,
// "Chains and the lowering table").
#include <algorithm>
#include <cmath>

#include "chain.h"
#include "error.h"

namespace convx {

namespace {

// The forward geometry of one step; strides are filled by the planner once concat placement is
// known.
Problem geometry(Layout layout, int64_t N, int64_t C, int64_t K, int64_t G, int64_t H, int64_t W, int64_t R, int64_t S,
                 const int64_t stride[2], const int64_t pad[2], const int64_t dil[2]) {
    Problem p;
    p.dir = Direction::Forward;
    p.dtype = DType::F32;
    p.accType = DType::F32;
    p.mode = CONVX_CROSS_CORRELATION;
    p.math = CONVX_FMA_MATH;
    p.nsp = 2;
    p.N = N, p.C = C, p.K = K, p.G = G;
    p.in = {H, W, 1};
    p.ker = {R, S, 1};
    p.stride = {stride[0], stride[1], 1};
    p.pad = {pad[0], pad[1], 0};
    p.dil = {dil[0], dil[1], 1};
    p.out = {convOutputSize(H, R, stride[0], pad[0], dil[0]), convOutputSize(W, S, stride[1], pad[1], dil[1]), 1};
    p.xLayout = p.wLayout = p.yLayout = layout;
    p.xStrides = packedStrides(layout, 2, N, C, p.in);
    p.yStrides = packedStrides(layout, 2, N, K, p.out);
    return p;
}

const int64_t kOne[2] = {1, 1}, kZero[2] = {0, 0};

}  // namespace

// Helpers that append steps; a friend of Chain.
struct ChainLowering {
    Chain& c;
    int layer = -1;

    int temp(Shape4 s) {
        Value v;
        v.s = s;
        v.layer = layer;
        c.values_.push_back(v);
        return static_cast<int>(c.values_.size()) - 1;
    }
    Step& add(int x, int y, const Problem& p, GconvOps ops) {
        Step st;
        st.gp.conv = p;
        st.gp.ops = ops;
        st.x = x, st.y = y;
        st.layers = {layer};
        c.steps_.push_back(std::move(st));
        return c.steps_.back();
    }
    // 1x1 depthwise PASS over x (shape of x): y = post(affine(x) (+|*) z).
    Step& pointwise(int x, int y, GconvOps ops) {
        const Shape4 s = c.values_[x].s;
        ops.map = GMap::Pass;
        ops.reduce = GReduce::Sum;
        Step& st = add(x, y, geometry(c.layout_, s.n, s.c, s.c, s.c, s.h, s.w, 1, 1, kOne, kZero, kOne), ops);
        st.pointwise = true;
        return st;
    }
    // A conv-shaped step over whole channels: 1x1, G = 1, C -> K.
    Step& mix(int x, int y, int64_t K, GconvOps ops) {
        const Shape4 s = c.values_[x].s;
        return add(x, y, geometry(c.layout_, s.n, s.c, K, 1, s.h, s.w, 1, 1, kOne, kZero, kOne), ops);
    }
};

void Chain::lower() {
    values_.clear();
    steps_.clear();
    for (size_t i = 0; i < layers_.size(); ++i) {
        Value v;
        v.s = layers_[i].out;
        v.layer = static_cast<int>(i);
        values_.push_back(v);
    }
    int nin = 0;
    for (size_t i = 0; i < layers_.size(); ++i)
        if (layers_[i].kind == LayerKind::Input) values_[i].input = nin++;
    for (size_t o = 0; o < outputs_.size(); ++o) values_[outputs_[o]].output = static_cast<int>(o);

    ChainLowering L{*this};
    for (size_t li = 0; li < layers_.size(); ++li) {
        const Layer& l = layers_[li];
        const int y = static_cast<int>(li);
        L.layer = y;
        const int x = l.in.empty() ? -1 : l.in[0];
        const Shape4 xs = x >= 0 ? layers_[x].out : Shape4{};
        GconvOps ops;
        switch (l.kind) {
        case LayerKind::Input:
        case LayerKind::Concat:  // addressing only (placeConcats)
            break;
        case LayerKind::Conv:
        case LayerKind::FullyConnected: {
            // FC is the convolution whose window is the whole map: w [out, C*H*W] is OIHW.
            const bool fc = l.kind == LayerKind::FullyConnected;
            const int64_t G = fc ? 1 : l.groups;
            Step& st = L.add(x, y,
                             geometry(layout_, xs.n, xs.c, l.K, G, xs.h, xs.w, l.R, l.S, fc ? kOne : l.stride, fc ? kZero : l.pad,
                                      fc ? kOne : l.dil),
                             ops);
            st.wLayer = y;
            if (!l.bias.empty()) st.gp.ops.postAffine = true, st.postShift = l.bias;
            break;
        }
        case LayerKind::BatchNorm: {
            ops.postAffine = true;
            Step& st = L.pointwise(x, y, ops);
            st.postScale.resize(xs.c), st.postShift.resize(xs.c);
            for (int64_t ch = 0; ch < xs.c; ++ch) {
                const double sc = double(l.gamma[ch]) / std::sqrt(double(l.var[ch]) + double(l.eps));
                st.postScale[ch] = float(sc);
                st.postShift[ch] = float(double(l.beta[ch]) - double(l.mean[ch]) * sc);
            }
            break;
        }
        case LayerKind::Activation: {
            static const GUnary map[] = {GUnary::Relu, GUnary::Relu6, GUnary::Sigmoid, GUnary::Tanh, GUnary::LeakyRelu};
            ops.post = map[static_cast<int>(l.act)];
            ops.postParam = l.param;
            L.pointwise(x, y, ops);
            break;
        }
        case LayerKind::MaxPool:
        case LayerKind::AvgPool:
        case LayerKind::GlobalMax:
        case LayerKind::GlobalAvg: {
            // Grouped G == C == K, PASS; padded taps are skipped by MAX and not counted by MEAN.
            const bool mx = l.kind == LayerKind::MaxPool || l.kind == LayerKind::GlobalMax;
            ops.map = GMap::Pass;
            ops.reduce = mx ? GReduce::Max : GReduce::Mean;
            L.add(x, y, geometry(layout_, xs.n, xs.c, xs.c, xs.c, xs.h, xs.w, l.R, l.S, l.stride, l.pad, kOne), ops);
            break;
        }
        case LayerKind::Add: {
            ops.combine = GCombine::Add;
            Step& st = L.pointwise(x, y, ops);
            st.z = l.in[1];
            break;
        }
        case LayerKind::Upsample: {
            // Exact nearest upsampling with forward GCONVs: one 1x1 PASS copy per phase (a, b),
            // writing the sub-grid y[s_h i + a, s_w j + b] through y strides scaled by the factors.
            for (int64_t a = 0; a < l.scale[0]; ++a)
                for (int64_t b = 0; b < l.scale[1]; ++b) {
                    Step& st = L.pointwise(x, y, GconvOps{});
                    st.pointwise = false;  // several steps write y: never a fusion target
                    st.yPhase[0] = a, st.yPhase[1] = b;
                    st.yStep[0] = l.scale[0], st.yStep[1] = l.scale[1];
                }
            break;
        }
        case LayerKind::LRN: {
            // d = (k + alpha/size * sum_band x^2)^-beta by one banded 1x1 GCONV (pre square, post
            // affine, post pow), then y = x * d (combine MUL).
            const int d = L.temp(xs);
            ops.pre = GUnary::Square;
            ops.postAffine = true;
            ops.post = GUnary::Pow;
            ops.postParam = -l.lrnBeta;
            Step& st = L.mix(x, d, xs.c, ops);
            st.wOwn.assign(xs.c * xs.c, 0.f);
            const int64_t lo = l.size / 2, hi = (l.size - 1) / 2;
            for (int64_t k = 0; k < xs.c; ++k)
                for (int64_t ch = std::max<int64_t>(0, k - lo); ch <= std::min<int64_t>(xs.c - 1, k + hi); ++ch) st.wOwn[k * xs.c + ch] = 1.f;
            st.postScale.assign(xs.c, l.lrnAlpha / float(l.size));
            st.postShift.assign(xs.c, l.lrnK);
            GconvOps m;
            m.combine = GCombine::Mul;
            Step& mul = L.pointwise(x, y, m);
            mul.z = d;
            break;
        }
        case LayerKind::Softmax: {
            // m = -max_c x (map ADD with zero weights keeps v; reduce MAX over channels),
            // e = exp(x + m) (z broadcast over channels), r = 1 / sum_c e, y = e * r.
            Shape4 one = xs;
            one.c = 1;
            const int m = L.temp(one), e = L.temp(xs), r = L.temp(one);
            GconvOps o1;
            o1.map = GMap::Add;
            o1.reduce = GReduce::Max;
            o1.postAffine = true;
            Step& s1 = L.mix(x, m, 1, o1);
            s1.wOwn.assign(xs.c, 0.f);
            s1.postScale = {-1.f};
            GconvOps o2;
            o2.combine = GCombine::Add;
            o2.post = GUnary::Exp;
            Step& s2 = L.pointwise(x, e, o2);
            s2.z = m;
            s2.pointwise = false;  // its z broadcasts: keep it a step of its own
            GconvOps o3;
            o3.post = GUnary::Reciprocal;
            Step& s3 = L.mix(e, r, 1, o3);
            s3.wOwn.assign(xs.c, 1.f);
            GconvOps o4;
            o4.combine = GCombine::Mul;
            Step& s4 = L.pointwise(e, y, o4);
            s4.z = r;
            s4.pointwise = false;
            break;
        }
        }
    }
}

namespace {

bool combineAllowed(const Step& a) { return a.gp.ops.combine == GCombine::None; }

// Folds pointwise step b (reading a's output) into a: t = sB (sA acc + hA) + hB, then b's combine
// and post. Legal when a has no post op yet and, if b brings an affine or a combine, a has no
// combine (those come before combine in the slot order).
bool canMerge(const Step& a, const Step& b) {
    if (a.gp.ops.post != GUnary::Identity) return false;
    if (a.yStep[0] != 1 || a.yStep[1] != 1) return false;
    if ((b.gp.ops.postAffine || b.gp.ops.combine != GCombine::None) && !combineAllowed(a)) return false;
    return true;
}

void merge(Step& a, const Step& b) {
    GconvOps& o = a.gp.ops;
    const GconvOps& ob = b.gp.ops;
    if (ob.postAffine) {
        const size_t K = static_cast<size_t>(a.gp.conv.K);
        std::vector<float> sc(K), sh(K);
        for (size_t k = 0; k < K; ++k) {
            const double sa = a.postScale.empty() ? 1.0 : a.postScale[k], ha = a.postShift.empty() ? 0.0 : a.postShift[k];
            const double sb = b.postScale.empty() ? 1.0 : b.postScale[k], hb = b.postShift.empty() ? 0.0 : b.postShift[k];
            sc[k] = float(sb * sa);
            sh[k] = float(sb * ha + hb);
        }
        o.postAffine = true;
        a.postScale = std::move(sc);
        a.postShift = std::move(sh);
    }
    if (ob.combine != GCombine::None) {
        o.combine = ob.combine;
        a.z = b.z;
    }
    if (ob.post != GUnary::Identity) {
        o.post = ob.post;
        o.postParam = ob.postParam;
    }
    a.y = b.y;
    a.layers.insert(a.layers.end(), b.layers.begin(), b.layers.end());
}

}  // namespace

void Chain::fuse() {
    for (bool changed = true; changed;) {
        changed = false;
        const size_t nv = values_.size();
        std::vector<int> producers(nv, 0), consumers(nv, 0), producer(nv, -1);
        for (size_t i = 0; i < steps_.size(); ++i) {
            const Step& st = steps_[i];
            ++producers[st.y];
            producer[st.y] = static_cast<int>(i);
            ++consumers[st.x];
            if (st.z >= 0) ++consumers[st.z];
        }
        for (const Layer& l : layers_)
            if (l.kind == LayerKind::Concat)
                for (int m : l.in) ++consumers[m];
        for (size_t j = 0; j < steps_.size() && !changed; ++j) {
            Step& b = steps_[j];
            if (!b.pointwise) continue;
            // A residual add is symmetric: either operand's producer may take it.
            const bool symmetric = b.gp.ops.combine == GCombine::Add;
            for (int pass = 0; pass < (symmetric ? 2 : 1) && !changed; ++pass) {
                if (pass == 1) std::swap(b.x, b.z);
                const int v = b.x;
                const Value& vv = values_[v];
                if (vv.input >= 0 || vv.output >= 0 || consumers[v] != 1 || producers[v] != 1) continue;
                const int i = producer[v];
                if (i < 0 || i >= static_cast<int>(j) || !canMerge(steps_[i], b)) continue;
                Step a = std::move(steps_[i]);
                merge(a, b);
                // The merged step runs where b ran: b's other operand is ready there, and a's
                // inputs stay valid (values are written once).
                steps_[j] = std::move(a);
                steps_.erase(steps_.begin() + i);
                changed = true;
            }
            if (!changed && symmetric) std::swap(b.x, b.z);  // restore the order of the operands
        }
    }
}

void Chain::placeConcats() {
    for (size_t li = 0; li < layers_.size(); ++li) {
        const Layer& l = layers_[li];
        if (l.kind != LayerKind::Concat) continue;
        const int cv = static_cast<int>(li);
        int64_t off = 0;
        std::vector<int> seen;
        for (int m : l.in) {
            Value& mv = values_[m];
            const bool dup = std::find(seen.begin(), seen.end(), m) != seen.end();
            seen.push_back(m);
            if (mv.input < 0 && mv.output < 0 && mv.alias < 0 && !dup) {
                // The producer(s) of m write straight into the concat's channel slice.
                mv.alias = cv;
                mv.chanOff = off;
            } else {
                // An input, an output, a tensor already placed in another concat, or a repeat:
                // one 1x1 PASS copy into the slice, before any reader of the concat.
                Value t;
                t.s = mv.s;
                t.layer = cv;
                t.alias = cv;
                t.chanOff = off;
                values_.push_back(t);
                const int tv = static_cast<int>(values_.size()) - 1;
                ChainLowering L{*this, cv};
                L.pointwise(m, tv, GconvOps{});
                Step cp = std::move(steps_.back());
                steps_.pop_back();
                cp.pointwise = false;
                size_t pos = 0;
                while (pos < steps_.size() && *std::max_element(steps_[pos].layers.begin(), steps_[pos].layers.end()) <= cv) ++pos;
                steps_.insert(steps_.begin() + pos, std::move(cp));
            }
            off += values_[m].s.c;
        }
    }
}

}  // namespace convx
