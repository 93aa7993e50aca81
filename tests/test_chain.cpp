// GCONV chains: every layer kind against its own float64 definition (written here, independent
// of the lowering), fusion legality, the buffer plan, concat placement, both layouts, ResNet-50
// and MobileNetV2 end to end at small resolution, and the bad-input list of the C API.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "chain.h"
#include "nets.h"
#include "test_util.h"

using nets::Kind;
using nets::NetBuilder;
using nets::NetLayer;
using nets::NetSpec;

namespace {

// ---------------------------------------------------------------- float64 definitions (NCHW)

struct T4 {
    int n = 0, c = 0, h = 0, w = 0;
    std::vector<double> v;
    double& at(int a, int b, int y, int x) { return v[((size_t(a) * c + b) * h + y) * w + x]; }
    double at(int a, int b, int y, int x) const { return v[((size_t(a) * c + b) * h + y) * w + x]; }
};

T4 make(int n, int c, int h, int w) {
    T4 t;
    t.n = n, t.c = c, t.h = h, t.w = w;
    t.v.assign(size_t(n) * c * h * w, 0.0);
    return t;
}

double act(convxChainActivation_t a, double v, double p) {
    switch (a) {
    case CONVX_CHAIN_RELU: return v > 0 ? v : 0;
    case CONVX_CHAIN_RELU6: return std::min(6.0, std::max(0.0, v));
    case CONVX_CHAIN_SIGMOID: return 1.0 / (1.0 + std::exp(-v));
    case CONVX_CHAIN_TANH: return std::tanh(v);
    case CONVX_CHAIN_LEAKY_RELU: return v < 0 ? p * v : v;
    }
    return v;
}

T4 evalLayer(const NetLayer& l, const std::vector<T4>& t, const T4* input) {
    if (l.kind == Kind::Input) return *input;
    const T4& x = t[l.in[0]];
    T4 y = make(l.n, l.c, l.h, l.w);
    switch (l.kind) {
    case Kind::Input: break;
    case Kind::Conv: {
        const int cg = x.c / l.groups, kg = l.k / l.groups;
        for (int n = 0; n < y.n; ++n)
            for (int k = 0; k < y.c; ++k)
                for (int p = 0; p < y.h; ++p)
                    for (int q = 0; q < y.w; ++q) {
                        double acc = l.bias.empty() ? 0.0 : l.bias[k];
                        for (int c = 0; c < cg; ++c)
                            for (int r = 0; r < l.r; ++r)
                                for (int s = 0; s < l.s; ++s) {
                                    const int ih = p * l.strideH - l.padH + r * l.dilH, iw = q * l.strideW - l.padW + s * l.dilW;
                                    if (ih < 0 || ih >= x.h || iw < 0 || iw >= x.w) continue;
                                    acc += double(l.weight[((size_t(k) * cg + c) * l.r + r) * l.s + s]) * x.at(n, k / kg * cg + c, ih, iw);
                                }
                        y.at(n, k, p, q) = acc;
                    }
        break;
    }
    case Kind::BatchNorm:
        for (int n = 0; n < y.n; ++n)
            for (int c = 0; c < y.c; ++c)
                for (int i = 0; i < y.h * y.w; ++i) {
                    const double v = x.at(n, c, i / y.w, i % y.w);
                    y.at(n, c, i / y.w, i % y.w) = l.gamma[c] * (v - l.mean[c]) / std::sqrt(double(l.var[c]) + l.eps) + l.beta[c];
                }
        break;
    case Kind::Activation:
        for (size_t i = 0; i < y.v.size(); ++i) y.v[i] = act(l.act, x.v[i], l.param);
        break;
    case Kind::Pooling: {
        const bool mx = l.pool == CONVX_CHAIN_POOL_MAX || l.pool == CONVX_CHAIN_POOL_GLOBAL_MAX;
        for (int n = 0; n < y.n; ++n)
            for (int c = 0; c < y.c; ++c)
                for (int p = 0; p < y.h; ++p)
                    for (int q = 0; q < y.w; ++q) {
                        double acc = mx ? -std::numeric_limits<double>::infinity() : 0.0;
                        int cnt = 0;
                        for (int r = 0; r < l.r; ++r)
                            for (int s = 0; s < l.s; ++s) {
                                const int ih = p * l.strideH - l.padH + r, iw = q * l.strideW - l.padW + s;
                                if (ih < 0 || ih >= x.h || iw < 0 || iw >= x.w) continue;  // padding never wins, never counts
                                const double v = x.at(n, c, ih, iw);
                                acc = mx ? std::max(acc, v) : acc + v;
                                ++cnt;
                            }
                        y.at(n, c, p, q) = mx ? acc : acc / cnt;
                    }
        break;
    }
    case Kind::FullyConnected: {
        const size_t in = size_t(x.c) * x.h * x.w;
        for (int n = 0; n < y.n; ++n)
            for (int k = 0; k < y.c; ++k) {
                double acc = l.bias.empty() ? 0.0 : l.bias[k];
                for (size_t i = 0; i < in; ++i) acc += double(l.weight[k * in + i]) * x.v[n * in + i];
                y.at(n, k, 0, 0) = acc;
            }
        break;
    }
    case Kind::Add: {
        const T4& b = t[l.in[1]];
        for (size_t i = 0; i < y.v.size(); ++i) y.v[i] = x.v[i] + b.v[i];
        break;
    }
    case Kind::Concat: {
        int c0 = 0;
        for (int m : l.in) {
            const T4& a = t[m];
            for (int n = 0; n < a.n; ++n)
                for (int c = 0; c < a.c; ++c)
                    for (int i = 0; i < a.h * a.w; ++i) y.at(n, c0 + c, i / a.w, i % a.w) = a.at(n, c, i / a.w, i % a.w);
            c0 += a.c;
        }
        break;
    }
    case Kind::Upsample:
        for (int n = 0; n < y.n; ++n)
            for (int c = 0; c < y.c; ++c)
                for (int p = 0; p < y.h; ++p)
                    for (int q = 0; q < y.w; ++q) y.at(n, c, p, q) = x.at(n, c, p / l.scaleH, q / l.scaleW);
        break;
    case Kind::LRN:
        for (int n = 0; n < y.n; ++n)
            for (int c = 0; c < y.c; ++c)
                for (int i = 0; i < y.h * y.w; ++i) {
                    double sum = 0;
                    for (int j = c - l.size / 2; j <= c + (l.size - 1) / 2; ++j)
                        if (j >= 0 && j < x.c) sum += x.at(n, j, i / y.w, i % y.w) * x.at(n, j, i / y.w, i % y.w);
                    y.at(n, c, i / y.w, i % y.w) = x.at(n, c, i / y.w, i % y.w) / std::pow(l.lrnK + l.alpha / l.size * sum, l.lrnBeta);
                }
        break;
    case Kind::Softmax:
        for (int n = 0; n < y.n; ++n)
            for (int i = 0; i < y.h * y.w; ++i) {
                double m = -std::numeric_limits<double>::infinity(), sum = 0;
                for (int c = 0; c < y.c; ++c) m = std::max(m, x.at(n, c, i / y.w, i % y.w));
                for (int c = 0; c < y.c; ++c) sum += std::exp(x.at(n, c, i / y.w, i % y.w) - m);
                for (int c = 0; c < y.c; ++c) y.at(n, c, i / y.w, i % y.w) = std::exp(x.at(n, c, i / y.w, i % y.w) - m) / sum;
            }
        break;
    }
    return y;
}

// Layer by layer; inputs in the order of the Input layers.
std::vector<T4> evalNet(const NetSpec& net, const std::vector<T4>& inputs) {
    std::vector<T4> t;
    size_t nin = 0;
    for (const NetLayer& l : net.layers) t.push_back(evalLayer(l, t, l.kind == Kind::Input ? &inputs.at(nin++) : nullptr));
    std::vector<T4> out;
    for (int o : net.outputs) out.push_back(t[o]);
    return out;
}

// ---------------------------------------------------------------- running a chain

struct Chain {
    convxChain_t c = nullptr;
    Chain(convxHandle_t h, convxTensorFormat_t f) { REQUIRE(convxChainCreate(h, &c, f, CONVX_DATA_FLOAT) == CONVX_STATUS_SUCCESS); }
    ~Chain() { convxChainDestroy(c); }
    convx::Chain& impl() { return *c->chain; }
};

std::vector<float> toLayout(const T4& t, bool nhwc) {
    std::vector<float> v(t.v.size());
    for (int n = 0; n < t.n; ++n)
        for (int c = 0; c < t.c; ++c)
            for (int y = 0; y < t.h; ++y)
                for (int x = 0; x < t.w; ++x) {
                    const size_t i = nhwc ? ((size_t(n) * t.h + y) * t.w + x) * t.c + c : ((size_t(n) * t.c + c) * t.h + y) * t.w + x;
                    v[i] = float(t.at(n, c, y, x));
                }
    return v;
}

T4 fromLayout(const std::vector<float>& v, int n, int c, int h, int w, bool nhwc) {
    T4 t = make(n, c, h, w);
    for (int a = 0; a < n; ++a)
        for (int b = 0; b < c; ++b)
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) {
                    const size_t i = nhwc ? ((size_t(a) * h + y) * w + x) * c + b : ((size_t(a) * c + b) * h + y) * w + x;
                    t.at(a, b, y, x) = v[i];
                }
    return t;
}

double relL2(const T4& got, const T4& want) {
    double num = 0, den = 0;
    for (size_t i = 0; i < want.v.size(); ++i) {
        const double d = got.v[i] - want.v[i];
        num += d * d;
        den += want.v[i] * want.v[i];
    }
    if (!std::isfinite(num)) return std::numeric_limits<double>::infinity();
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

uint64_t rng = 12345;
double urand() {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return double(rng >> 11) * (1.0 / 9007199254740992.0);
}

std::vector<T4> randomInputs(const NetSpec& net) {
    std::vector<T4> in;
    for (const NetLayer& l : net.layers)
        if (l.kind == Kind::Input) {
            T4 t = make(l.n, l.c, l.h, l.w);
            for (double& v : t.v) v = float(urand() * 4 - 2);  // representable in fp32: both sides read the same data
            in.push_back(t);
        }
    return in;
}

struct RunResult {
    std::vector<T4> outputs;
    size_t steps = 0;
    std::string text;
};

// Builds the net as a chain, finalizes, checks the plan, runs it with poisoned buffers and
// returns its outputs in NCHW.
RunResult runChain(const NetSpec& net, const std::vector<T4>& inputs, bool nhwc, bool fuse, int threads = -1) {
    testutil::Handle h(threads);
    Chain ch(h.h, nhwc ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW);
    REQUIRE(nets::addToChain(net, ch.c) == CONVX_STATUS_SUCCESS);
    REQUIRE(convxChainFinalize(ch.c, fuse) == CONVX_STATUS_SUCCESS);
    ch.impl().checkPlan();
    ch.impl().setPoison(true);
    size_t ws = 0;
    REQUIRE(convxChainGetWorkspaceSize(ch.c, &ws) == CONVX_STATUS_SUCCESS);
    std::vector<float> wsBuf(ws / sizeof(float) + 1, std::numeric_limits<float>::quiet_NaN());
    std::vector<std::vector<float>> in, out;
    for (const T4& t : inputs) in.push_back(toLayout(t, nhwc));
    for (int o : net.outputs) out.emplace_back(net.layers[o].n * size_t(net.layers[o].c) * net.layers[o].h * net.layers[o].w,
                                               std::numeric_limits<float>::quiet_NaN());
    std::vector<const void*> ip;
    std::vector<void*> op;
    for (auto& v : in) ip.push_back(v.data());
    for (auto& v : out) op.push_back(v.data());
    const convxStatus_t st = convxChainExecute(ch.c, ip.data(), op.data(), wsBuf.data(), ws);
    INFO(testutil::lastError());
    REQUIRE(st == CONVX_STATUS_SUCCESS);
    RunResult r;
    for (size_t i = 0; i < net.outputs.size(); ++i) {
        const NetLayer& l = net.layers[net.outputs[i]];
        r.outputs.push_back(fromLayout(out[i], l.n, l.c, l.h, l.w, nhwc));
    }
    r.steps = ch.impl().steps().size();
    size_t need = 0;
    REQUIRE(convxChainDescribe(ch.c, nullptr, 0, &need) == CONVX_STATUS_SUCCESS);
    std::string text(need, '\0');
    REQUIRE(convxChainDescribe(ch.c, &text[0], need, nullptr) == CONVX_STATUS_SUCCESS);
    text.resize(need - 1);
    r.text = text;
    return r;
}

void checkNet(const NetSpec& net, double tol, bool nhwc, bool fuse) {
    const std::vector<T4> inputs = randomInputs(net);
    const std::vector<T4> want = evalNet(net, inputs);
    const RunResult got = runChain(net, inputs, nhwc, fuse);
    for (size_t i = 0; i < want.size(); ++i) {
        INFO(net.name << " output " << i << (nhwc ? " nhwc" : " nchw") << (fuse ? " fused" : " unfused") << "\n" << got.text);
        CHECK(relL2(got.outputs[i], want[i]) < tol);
    }
}

// One small net per layer kind (the layer under test reads a conv output and an input).
NetSpec single(const std::string& what, uint64_t seed) {
    NetBuilder b(what, seed);
    const int x = b.input(2, 6, 7, 9);
    int y = -1;
    if (what == "conv") y = b.conv(x, 4, 3, 2, 2, 1, 1, true);
    else if (what == "conv-groups-dilation") y = b.conv(x, 9, 3, 3, 1, 2, 3, true, 2);
    else if (what == "conv-pad-larger-than-kernel") y = b.conv(x, 3, 2, 2, 3, 3, 1, false);
    else if (what == "depthwise") y = b.conv(x, 6, 3, 3, 2, 1, 6, true);
    else if (what == "bn") y = b.bn(x);
    else if (what == "relu") y = b.act(x, CONVX_CHAIN_RELU);
    else if (what == "relu6") y = b.act(b.conv(x, 5, 1, 1, 1, 0, 1, true), CONVX_CHAIN_RELU6);
    else if (what == "sigmoid") y = b.act(x, CONVX_CHAIN_SIGMOID);
    else if (what == "tanh") y = b.act(x, CONVX_CHAIN_TANH);
    else if (what == "leaky") y = b.act(x, CONVX_CHAIN_LEAKY_RELU, 0.1f);
    else if (what == "maxpool-padded") y = b.pool(x, CONVX_CHAIN_POOL_MAX, 3, 2, 1);
    else if (what == "avgpool-valid-taps") y = b.pool(x, CONVX_CHAIN_POOL_AVG, 3, 2, 2);
    else if (what == "global-avg") y = b.pool(x, CONVX_CHAIN_POOL_GLOBAL_AVG);
    else if (what == "global-max") y = b.pool(x, CONVX_CHAIN_POOL_GLOBAL_MAX);
    else if (what == "fc") y = b.fc(x, 11);
    else if (what == "add") y = b.add(b.conv(x, 6, 3, 3, 1, 1), x);
    else if (what == "concat") y = b.concat({b.conv(x, 3, 1, 1, 1, 0), x, b.conv(x, 2, 3, 3, 1, 1)});
    else if (what == "upsample") y = b.upsample(x, 2, 3);
    else if (what == "lrn") y = b.lrn(x, 5, 0.1f, 0.75f, 2.f);
    else if (what == "lrn-even") y = b.lrn(b.conv(x, 8, 1, 1, 1, 0), 4, 0.2f, 0.5f, 1.f);
    else if (what == "softmax") y = b.softmax(b.conv(x, 10, 1, 1, 1, 0, 1, true));
    REQUIRE(y >= 0);
    b.output(y);
    return b.take();
}

const char* kKinds[] = {"conv",   "conv-groups-dilation", "conv-pad-larger-than-kernel", "depthwise", "bn", "relu", "relu6",
                        "sigmoid", "tanh", "leaky", "maxpool-padded", "avgpool-valid-taps", "global-avg", "global-max", "fc", "add",
                        "concat", "upsample", "lrn", "lrn-even", "softmax"};

}  // namespace

TEST_CASE("chain: every layer kind equals its float64 definition, both layouts, fused and not", "[chain]") {
    for (const char* k : kKinds)
        for (bool nhwc : {false, true})
            for (bool fuse : {false, true}) checkNet(single(k, 7), 1e-5, nhwc, fuse);
}

TEST_CASE("chain: lowering counts and operators", "[chain]") {
    testutil::Handle h;
    auto lower = [&](const NetSpec& net, bool fuse) {
        auto ch = std::make_unique<Chain>(h.h, CONVX_TENSOR_NCHW);
        REQUIRE(nets::addToChain(net, ch->c) == CONVX_STATUS_SUCCESS);
        REQUIRE(convxChainFinalize(ch->c, fuse) == CONVX_STATUS_SUCCESS);
        return ch;
    };
    using convx::GMap;
    using convx::GReduce;
    {
        auto ch = lower(single("maxpool-padded", 1), true);
        REQUIRE(ch->impl().steps().size() == 1);
        const convx::GconvProblem& gp = ch->impl().steps()[0].gp;
        CHECK(gp.ops.map == GMap::Pass);
        CHECK(gp.ops.reduce == GReduce::Max);
        CHECK(gp.conv.G == 6);
        CHECK(gp.conv.pad[0] == 1);
    }
    {
        auto ch = lower(single("fc", 1), true);
        REQUIRE(ch->impl().steps().size() == 1);
        const convx::Problem& p = ch->impl().steps()[0].gp.conv;
        CHECK(p.ker[0] == 7);  // the window is the whole map
        CHECK(p.ker[1] == 9);
        CHECK(p.out[0] == 1);
    }
    CHECK(lower(single("softmax", 1), false)->impl().steps().size() == 5);  // conv + max, exp, sum, multiply
    CHECK(lower(single("lrn", 1), false)->impl().steps().size() == 2);
    CHECK(lower(single("upsample", 1), false)->impl().steps().size() == 6);  // one per phase
    {
        // Concat: the two conv members write into their slices; the input member is copied.
        auto ch = lower(single("concat", 1), true);
        CHECK(ch->impl().steps().size() == 3);
        int aliased = 0;
        for (const convx::Value& v : ch->impl().values()) aliased += v.alias >= 0;
        CHECK(aliased == 3);
    }
}

TEST_CASE("chain: fusion merges conv + bn + activation + residual, and equals the unfused chain", "[chain]") {
    NetBuilder b("fusion", 3);
    const int x = b.input(2, 8, 10, 10);
    const int c1 = b.conv(x, 8, 3, 3, 1, 1);
    const int r1 = b.act(b.bn(c1), CONVX_CHAIN_RELU);
    const int c2 = b.bn(b.conv(r1, 8, 3, 3, 1, 1, 1, true));
    const int sum = b.act(b.add(c2, x), CONVX_CHAIN_RELU);       // fuses into c2's conv
    const int shared = b.conv(sum, 8, 1, 1, 1, 0);                // two consumers: not fused away
    const int left = b.act(shared, CONVX_CHAIN_TANH);
    const int right = b.bn(shared);
    const int out = b.add(left, right);                           // fuses into right's bn step (tanh is a post op already)
    b.output(out);
    const NetSpec net = b.take();
    const std::vector<T4> in = randomInputs(net);
    const std::vector<T4> want = evalNet(net, in);
    for (bool nhwc : {false, true}) {
        const RunResult fused = runChain(net, in, nhwc, true), plain = runChain(net, in, nhwc, false);
        INFO(fused.text);
        CHECK(fused.steps == 5);   // conv+bn+relu, conv+bn+add+relu, conv, tanh, bn+add
        CHECK(plain.steps == 11);
        CHECK(relL2(fused.outputs[0], plain.outputs[0]) < 1e-5);
        CHECK(relL2(fused.outputs[0], want[0]) < 1e-5);
        CHECK(fused.text.find("conv1+bn2+act3") != std::string::npos);
        CHECK(fused.text.find("conv4+bn5+add6+act7") != std::string::npos);
    }
}

TEST_CASE("chain: an output or a multi-consumer tensor is never fused away", "[chain]") {
    NetBuilder b("outputs", 5);
    const int x = b.input(1, 4, 6, 6);
    const int c = b.conv(x, 4, 3, 3, 1, 1);
    const int bn = b.bn(c);
    const int r = b.act(bn, CONVX_CHAIN_RELU);
    b.output(bn);  // an intermediate the user wants: relu must not be fused into its producer
    b.output(r);
    const NetSpec net = b.take();
    const std::vector<T4> in = randomInputs(net);
    const std::vector<T4> want = evalNet(net, in);
    const RunResult got = runChain(net, in, false, true);
    CHECK(got.steps == 2);  // conv+bn, relu
    CHECK(relL2(got.outputs[0], want[0]) < 1e-5);
    CHECK(relL2(got.outputs[1], want[1]) < 1e-5);
}

TEST_CASE("chain: the buffer plan reuses memory and never aliases live tensors", "[chain]") {
    testutil::Handle h;
    const NetSpec net = nets::resnet50(1, 32, 11);
    Chain ch(h.h, CONVX_TENSOR_NCHW);
    REQUIRE(nets::addToChain(net, ch.c) == CONVX_STATUS_SUCCESS);
    REQUIRE(convxChainFinalize(ch.c, 1) == CONVX_STATUS_SUCCESS);
    ch.impl().checkPlan();
    size_t sum = 0;
    for (const convx::Value& v : ch.impl().values()) sum += v.bytes;
    CHECK(ch.impl().intermediateBytes() < sum / 4);  // liveness reuse, not one buffer per tensor
    // Independently: every pair of storages that share bytes has disjoint live intervals.
    const auto& vals = ch.impl().values();
    for (size_t i = 0; i < vals.size(); ++i)
        for (size_t j = i + 1; j < vals.size(); ++j) {
            const convx::Value &a = vals[i], &c = vals[j];
            if (a.slot < 0 || c.slot < 0) continue;
            const bool share = a.offset < c.offset + c.bytes && c.offset < a.offset + a.bytes;
            if (share) CHECK((a.last < c.first || c.last < a.first));
        }
}

TEST_CASE("chain: nested concat, concat of an output, upsample into concat", "[chain]") {
    NetBuilder b("concat-nest", 9);
    const int x = b.input(1, 3, 4, 6);
    const int a = b.conv(x, 2, 3, 3, 1, 1);
    const int c = b.act(b.conv(x, 3, 1, 1, 1, 0), CONVX_CHAIN_RELU);
    const int inner = b.concat({a, c});
    const int up = b.upsample(b.pool(x, CONVX_CHAIN_POOL_MAX, 2, 2, 0), 2, 2);  // 2x3 -> 4x6, written by phases into the slice
    const int d = b.conv(x, 4, 1, 1, 1, 0);
    const int outer = b.concat({inner, d, up, a});  // a is already placed in inner: copied
    const int y = b.conv(outer, 3, 3, 3, 1, 1);
    b.output(d);  // an output member: copied into the concat
    b.output(y);
    b.output(outer);
    const NetSpec net = b.take();
    for (bool nhwc : {false, true})
        for (bool fuse : {false, true}) checkNet(net, 1e-5, nhwc, fuse);
}

TEST_CASE("chain: ResNet-50 end to end at 32x32 equals the float64 layer-by-layer reference", "[chain][net]") {
    checkNet(nets::resnet50(2, 32, 1), 1e-4, false, true);
}

TEST_CASE("chain: MobileNetV2 end to end at 32x32, NHWC, fused and unfused", "[chain][net]") {
    const NetSpec net = nets::mobilenetv2(1, 32, 2);
    checkNet(net, 1e-4, true, true);
    checkNet(net, 1e-4, false, false);
}

TEST_CASE("chain: ResNet-50 and MobileNetV2 shapes and step counts", "[chain][net]") {
    testutil::Handle h;
    Chain r(h.h, CONVX_TENSOR_NCHW);
    REQUIRE(nets::addToChain(nets::resnet50(1, 224, 1), r.c) == CONVX_STATUS_SUCCESS);
    REQUIRE(convxChainFinalize(r.c, 1) == CONVX_STATUS_SUCCESS);
    // 53 convolutions (49 + 4 downsample), the max pool, the global pool, the fc; every bn,
    // relu and residual add fused.
    CHECK(r.impl().steps().size() == 53 + 3);
    int n, c, hh, w;
    const auto& L = r.impl().layers();
    REQUIRE(convxChainGetTensorShape(r.c, int(L.size()) - 1, &n, &c, &hh, &w) == CONVX_STATUS_SUCCESS);
    CHECK((n == 1 && c == 1000 && hh == 1 && w == 1));
    REQUIRE(convxChainGetTensorShape(r.c, 4, &n, &c, &hh, &w) == CONVX_STATUS_SUCCESS);  // after the max pool
    CHECK((c == 64 && hh == 56 && w == 56));
    Chain m(h.h, CONVX_TENSOR_NHWC);
    REQUIRE(nets::addToChain(nets::mobilenetv2(1, 224, 1), m.c) == CONVX_STATUS_SUCCESS);
    REQUIRE(convxChainFinalize(m.c, 1) == CONVX_STATUS_SUCCESS);
    CHECK(m.impl().steps().size() == 52 + 2);  // 52 convolutions, the global pool, the fc
}

TEST_CASE("chain: bad input is a status and a message naming the argument", "[chain]") {
    testutil::Handle h;
    auto expect = [](convxStatus_t got, convxStatus_t want, const char* words) {
        const std::string msg = testutil::lastError();
        INFO(msg);
        CHECK(got == want);
        CHECK(msg.find(words) != std::string::npos);
    };
    convxChain_t c = nullptr;
    expect(convxChainCreate(h.h, nullptr, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "chain");
    expect(convxChainCreate(nullptr, &c, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "handle");
    expect(convxChainCreate(h.h, &c, CONVX_TENSOR_NCHW, CONVX_DATA_HALF), CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE, "fp32");
    expect(convxChainCreate(h.h, &c, (convxTensorFormat_t)7, CONVX_DATA_FLOAT), CONVX_STATUS_BAD_PARAM, "format");
    Chain ch(h.h, CONVX_TENSOR_NCHW);
    int x = -1, y = -1, id = -1;
    REQUIRE(convxChainAddInput(ch.c, 1, 4, 8, 8, &x) == CONVX_STATUS_SUCCESS);
    expect(convxChainAddInput(ch.c, 1, 0, 8, 8, &id), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "c = 0");
    expect(convxChainAddInput(ch.c, 1, 4, 8, 8, nullptr), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "id");
    std::vector<float> w(4 * 4 * 9, 0.1f), v(4, 1.f);
    expect(convxChainAddConvolution(ch.c, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, w.data(), nullptr, &id), CONVX_STATUS_BAD_PARAM, "input = 9");
    expect(convxChainAddConvolution(ch.c, x, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, nullptr, nullptr, &id), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "w");
    expect(convxChainAddConvolution(ch.c, x, 4, 3, 3, 1, 1, 1, 1, 1, 1, 3, w.data(), nullptr, &id), CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH,
           "groups");
    expect(convxChainAddConvolution(ch.c, x, 4, 11, 3, 1, 1, 1, 1, 1, 1, 1, w.data(), nullptr, &id), CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH,
           "larger than");
    expect(convxChainAddConvolution(ch.c, x, 4, 3, 3, 0, 1, 1, 1, 1, 1, 1, w.data(), nullptr, &id), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND,
           "stride_h");
    REQUIRE(convxChainAddConvolution(ch.c, x, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, w.data(), nullptr, &y) == CONVX_STATUS_SUCCESS);
    // A residual from a layer of another shape.
    expect(convxChainAddAdd(ch.c, y, x, &id), CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "b (layer 0) has shape 1x4x8x8");
    expect(convxChainAddAdd(ch.c, y, 42, &id), CONVX_STATUS_BAD_PARAM, "b = 42");
    const int two[2] = {x, y};
    expect(convxChainAddConcat(ch.c, two, 2, &id), CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "inputs[1]");
    expect(convxChainAddConcat(ch.c, nullptr, 2, &id), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "inputs");
    expect(convxChainAddBatchNorm(ch.c, y, v.data(), nullptr, v.data(), v.data(), 1e-5f, &id), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "var");
    expect(convxChainAddActivation(ch.c, y, (convxChainActivation_t)99, 0.f, &id), CONVX_STATUS_BAD_PARAM, "mode");
    expect(convxChainAddPooling(ch.c, y, CONVX_CHAIN_POOL_MAX, 2, 2, 1, 1, 2, 0, &id), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "pad_h");
    expect(convxChainAddFullyConnected(ch.c, y, 0, w.data(), nullptr, &id), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "out_features");
    expect(convxChainAddUpsample(ch.c, y, 0, 2, &id), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "scale_h");
    expect(convxChainAddLRN(ch.c, y, 5, 1e-4f, 0.75f, 0.f, &id), CONVX_STATUS_BAD_PARAM, "k = 0");
    expect(convxChainMarkOutput(ch.c, x), CONVX_STATUS_BAD_PARAM, "chain input");
    expect(convxChainMarkOutput(ch.c, 77), CONVX_STATUS_BAD_PARAM, "id = 77");
    // Not finalized.
    size_t ws = 0;
    expect(convxChainGetWorkspaceSize(ch.c, &ws), CONVX_STATUS_BAD_PARAM, "not finalized");
    float buf[1024];
    const void* ins[1] = {buf};
    void* outs[1] = {buf};
    expect(convxChainExecute(ch.c, ins, outs, nullptr, 0), CONVX_STATUS_BAD_PARAM, "not finalized");
    expect(convxChainFinalize(ch.c, 1), CONVX_STATUS_BAD_PARAM, "no output");
    REQUIRE(convxChainMarkOutput(ch.c, y) == CONVX_STATUS_SUCCESS);
    expect(convxChainMarkOutput(ch.c, y), CONVX_STATUS_BAD_PARAM, "already an output");
    REQUIRE(convxChainFinalize(ch.c, 1) == CONVX_STATUS_SUCCESS);
    // After finalize.
    expect(convxChainAddSoftmax(ch.c, y, &id), CONVX_STATUS_BAD_PARAM, "finalized");
    expect(convxChainMarkOutput(ch.c, x), CONVX_STATUS_BAD_PARAM, "finalized");
    expect(convxChainFinalize(ch.c, 1), CONVX_STATUS_BAD_PARAM, "finalized");
    REQUIRE(convxChainGetWorkspaceSize(ch.c, &ws) == CONVX_STATUS_SUCCESS);
    expect(convxChainExecute(ch.c, nullptr, outs, buf, sizeof buf), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "inputs");
    const void* nullIn[1] = {nullptr};
    expect(convxChainExecute(ch.c, nullIn, outs, buf, sizeof buf), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "inputs[0]");
    expect(convxChainExecute(ch.c, ins, nullptr, buf, sizeof buf), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "outputs");
    if (ws > 0) {
        expect(convxChainExecute(ch.c, ins, outs, buf, ws - 1), CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "workspace_bytes");
        expect(convxChainExecute(ch.c, ins, outs, nullptr, ws), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "workspace");
    }
    int n, cc, hh, ww;
    expect(convxChainGetTensorShape(ch.c, 5, &n, &cc, &hh, &ww), CONVX_STATUS_BAD_PARAM, "id = 5");
    expect(convxChainGetTensorShape(ch.c, y, &n, nullptr, &hh, &ww), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "c");
    char small[8];
    size_t need = 0;
    REQUIRE(convxChainDescribe(ch.c, small, sizeof small, &need) == CONVX_STATUS_SUCCESS);
    CHECK(std::strlen(small) == 7);
    CHECK(need > sizeof small);
    expect(convxChainDescribe(ch.c, nullptr, 8, &need), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "text");
    expect(convxChainDescribe(nullptr, small, 8, &need), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "chain");
    CHECK(convxChainDestroy(nullptr) == CONVX_STATUS_SUCCESS);

    // A destroyed chain, or another object passed as a chain, is refused without being read.
    convxChain_t gone = nullptr;
    REQUIRE(convxChainCreate(h.h, &gone, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT) == CONVX_STATUS_SUCCESS);
    REQUIRE(convxChainDestroy(gone) == CONVX_STATUS_SUCCESS);
    expect(convxChainFinalize(gone, 1), CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "chain");
    expect(convxChainDestroy(gone), CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "chain");
    expect(convxChainFinalize(reinterpret_cast<convxChain_t>(h.h), 1), CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "chain");
}
