// GCONV (src/gconv.h): the float64 oracle against independent direct definitions written here
// (pooling with -inf padding, averages over valid taps, FC, batch norm, residuals, every unary),
// the CPU engine against the oracle on every operator slot and both layouts, CONVX_ALGO_GCONV
// through the convolution API, and the C API's bad-input answers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "algo_check.h"
#include "gconv_cases.h"
#include "algorithm.h"
#include "context.h"
#include "error.h"
#include "gconv.h"
#include "gconv_engine.h"
#include "problem.h"
#include "reference.h"
#include "test_util.h"

using convx::GCombine;
using convx::GconvArgs;
using convx::GconvOps;
using convx::GconvProblem;
using convx::GMap;
using convx::GReduce;
using convx::GUnary;
using namespace gconvtest;

namespace {

// x of a packed 2-D NCHW problem at (n, c, h, w).
struct Nchw {
    const convx::Problem& p;
    const std::vector<float>& v;
    float at(int64_t n, int64_t c, int64_t h, int64_t w) const { return v[((n * p.C + c) * p.in[0] + h) * p.in[1] + w]; }
};


}  // namespace

TEST_CASE("gconv: oracle max-pool pads with -inf and avg-pool counts valid taps", "[gconv]") {
    for (GReduce red : {GReduce::Max, GReduce::Mean, GReduce::Min}) {
        GconvOps ops;
        ops.map = GMap::Pass;
        ops.reduce = red;
        const GconvProblem gp = gprob("--dir=fwd --dt=f32 --tag=nchw g3mb2ic3ih7iw6oc3oh4ow3kh3kw3sh2sw2ph1pw1dh0dw0", ops);
        const convx::Problem& p = gp.conv;
        const auto x = randomVec(size_t(p.xElems()), 7);
        std::vector<float> y(size_t(p.yElems()), float(kNaN));
        GconvArgs a;
        a.x = x.data();
        a.y = y.data();
        convx::gconvReference(gp, a, {});
        const Nchw X{p, x};
        for (int64_t n = 0; n < p.N; ++n)
            for (int64_t c = 0; c < p.C; ++c)
                for (int64_t oh = 0; oh < p.out[0]; ++oh)
                    for (int64_t ow = 0; ow < p.out[1]; ++ow) {
                        double mx = -INFINITY, mn = INFINITY, sum = 0;
                        int cnt = 0;
                        for (int r = 0; r < 3; ++r)
                            for (int q = 0; q < 3; ++q) {
                                const int64_t ih = oh * 2 - 1 + r, iw = ow * 2 - 1 + q;
                                if (ih < 0 || ih >= p.in[0] || iw < 0 || iw >= p.in[1]) continue;
                                const double v = X.at(n, c, ih, iw);
                                mx = std::max(mx, v), mn = std::min(mn, v), sum += v, ++cnt;
                            }
                        const double want = red == GReduce::Max ? mx : red == GReduce::Min ? mn : sum / cnt;
                        const float got = y[size_t(((n * p.K + c) * p.out[0] + oh) * p.out[1] + ow)];
                        REQUIRE(got == Approx(want).epsilon(1e-6));
                    }
    }
}

TEST_CASE("gconv: CPU engine matches the oracle on random operators, geometries and layouts", "[gconv]") {
    std::mt19937_64 rng(2026);
    const convx::DType types[] = {convx::DType::F32, convx::DType::F32, convx::DType::F64, convx::DType::F16, convx::DType::BF16};
    std::map<std::string, int> paths;
    for (int i = 0; i < testutil::scaled(300, 20); ++i) {
        const Call c = randomCall(rng, types[i % 5]);
        ++paths[convx::cpuGconvPath(c.gp)];
        compareWithOracle(c, runEngine(c, c.threads), runOracle(c));
    }
    for (const char* path : {"cf", "cl", "cl_dw", "row"}) {
        INFO("path " << path);
        CHECK(paths[path] > 0);
    }
}

TEST_CASE("gconv: CPU engine matches the oracle on wide convolutions under every operator", "[gconv]") {
    std::mt19937_64 rng(98);
    int n = 0;
    for (const char* geo : kWideGeometries)
        for (const GconvOps& ops : wideOps()) {
            ++n;
            const Call c = wideCall(geo, ops, (n % 4) ? "f32" : "f64", n, rng);
            compareWithOracle(c, runEngine(c, 2), runOracle(c), 4.0);
        }
}

// ---------------------------------------------------------------- independent definitions

namespace {

Call callFrom(const std::string& prob, GconvOps ops, uint64_t seed, bool positive = false, double beta = 0.0) {
    Call c;
    c.gp = gprob(prob, ops);
    if (ops.combine != GCombine::None)
        c.gp.zStrides = convx::packedStrides(c.gp.conv.yLayout, c.gp.conv.nsp, c.gp.conv.N, c.gp.conv.K, c.gp.conv.out);
    c.s.beta = beta;
    std::mt19937_64 rng(seed);
    makeData(c, rng, positive);
    return c;
}

// x of a 2-D problem (any strides) at (n, c, h, w), as stored.
double X(const Call& c, int64_t n, int64_t ch, int64_t h, int64_t w) {
    const convx::Problem& p = c.gp.conv;
    return convx::loadAsDouble(c.x.data(), p.dtype, n * p.xStrides[0] + ch * p.xStrides[1] + h * p.xStrides[2] + w * p.xStrides[3]);
}
double Wt(const Call& c, int64_t k, int64_t ch, int64_t r, int64_t s) {
    const convx::Problem& p = c.gp.conv;
    const convx::Strides ws = p.wStrides();
    return convx::loadAsDouble(c.w.data(), p.dtype, k * ws[0] + ch * ws[1] + r * ws[2] + s * ws[3]);
}
double Z(const Call& c, int64_t n, int64_t k, int64_t h, int64_t w) {
    const convx::Strides& zs = c.gp.zStrides;
    return convx::loadAsDouble(c.z.data(), c.gp.conv.dtype, n * zs[0] + k * zs[1] + h * zs[2] + w * zs[3]);
}

// Runs the oracle and the engine (1 and 3 threads) on a 2-D call and checks every output
// against want(n, k, oh, ow) (before alpha/beta, which the call leaves at 1 / 0 here).
template <class F>
void checkDefinition(const Call& c, F want, double tol = 1e-5) {
    const convx::Problem& p = c.gp.conv;
    REQUIRE(p.nsp == 2);
    const auto oracle = runOracle(c);
    const auto e1 = runEngine(c, 1), e3 = runEngine(c, 3);
    CHECK(e1 == e3);  // bitwise: the engine's result does not depend on the thread count
    int64_t bad = 0;
    std::string first;
    for (int64_t n = 0; n < p.N; ++n)
        for (int64_t k = 0; k < p.K; ++k)
            for (int64_t oh = 0; oh < p.out[0]; ++oh)
                for (int64_t ow = 0; ow < p.out[1]; ++ow) {
                    const double w = want(n, k, oh, ow);
                    const int64_t i = n * p.yStrides[0] + k * p.yStrides[1] + oh * p.yStrides[2] + ow * p.yStrides[3];
                    for (const auto* y : {&oracle, &e1}) {
                        const double g = c.yAt(*y, i);
                        const bool ok = std::isinf(w) ? g == w : std::fabs(g - w) <= tol * std::max(1.0, std::fabs(w));
                        if (!ok && bad++ == 0)
                            first = "(" + std::to_string(n) + "," + std::to_string(k) + "," + std::to_string(oh) + "," + std::to_string(ow) +
                                    ") " + (y == &oracle ? "oracle " : "engine ") + std::to_string(g) + " want " + std::to_string(w);
                    }
                }
    INFO(c.gp.str() << " path " << convx::cpuGconvPath(c.gp) << ": " << first);
    CHECK(bad == 0);
}

GconvOps opsOf(GMap m, GReduce r) {
    GconvOps o;
    o.map = m;
    o.reduce = r;
    return o;
}

}  // namespace

TEST_CASE("gconv: plain convolution equals the convolution reference in every layout and mode", "[gconv]") {
    std::mt19937_64 rng(5);
    for (int i = 0; i < testutil::scaled(40, 10); ++i) {
        Call c;
        for (;;) {
            c = randomCall(rng, i % 3 == 0 ? convx::DType::F64 : convx::DType::F32);
            if (c.gp.ops.map == GMap::Pass) continue;
            c.gp.ops = GconvOps{};
            c.gp.zStrides = convx::Strides{};
            c.z.clear();
            break;
        }
        REQUIRE(c.gp.ops.isPlainConvolution());
        std::vector<unsigned char> want = c.y0;
        convx::Buffers b;
        b.x = c.x.data(), b.w = c.w.data(), b.y = want.data();
        convx::referenceConvolution(c.gp.conv, b, c.s, 1);
        compareWithOracle(c, runOracle(c), want);
        compareWithOracle(c, runEngine(c, c.threads), want);
    }
}

TEST_CASE("gconv: pooling, global pooling and padding larger than the window, both layouts", "[gconv]") {
    for (const char* tag : {"nchw", "nhwc"})
        for (GReduce red : {GReduce::Max, GReduce::Mean, GReduce::Min}) {
            INFO(tag << " reduce " << int(red));
            // 3x3 stride 2 pad 1 on an odd map; 2x2 stride 1 pad 3 (windows entirely in the padding: 0)
            for (const char* geo : {"g5mb2ic5ih9iw7oc5oh5ow4kh3kw3sh2sw2ph1pw1dh0dw0", "g3mb1ic3ih3iw2oc3oh8ow7kh2kw2sh1sw1ph3pw3dh0dw0",
                                    "g17mb2ic17ih7iw7oc17oh1ow1kh7kw7sh1sw1ph0pw0dh0dw0"}) {
                const convx::Problem p0 = convx::parseProblem(std::string("--dir=fwd --dt=f32 --tag=") + tag + " " + geo);
                const Call c = callFrom(p0.str(), opsOf(GMap::Pass, red), 11);
                const convx::Problem& p = c.gp.conv;
                checkDefinition(c, [&](int64_t n, int64_t k, int64_t oh, int64_t ow) {
                    double mx = -INFINITY, mn = INFINITY, sum = 0;
                    int cnt = 0;
                    for (int64_t r = 0; r < p.ker[0]; ++r)
                        for (int64_t s = 0; s < p.ker[1]; ++s) {
                            const int64_t ih = oh * p.stride[0] - p.pad[0] + r, iw = ow * p.stride[1] - p.pad[1] + s;
                            if (ih < 0 || ih >= p.in[0] || iw < 0 || iw >= p.in[1]) continue;  // padding never wins: -inf
                            const double v = X(c, n, k, ih, iw);
                            mx = std::max(mx, v), mn = std::min(mn, v), sum += v, ++cnt;
                        }
                    if (cnt == 0) return 0.0;
                    return red == GReduce::Max ? mx : red == GReduce::Min ? mn : sum / cnt;  // mean over valid taps only
                });
            }
        }
}

TEST_CASE("gconv: average pooling that counts the padding (SUM with a pad value, then a scale)", "[gconv]") {
    for (const char* tag : {"nchw", "nhwc"}) {
        GconvOps ops = opsOf(GMap::Pass, GReduce::Sum);
        ops.padValue = 0.5f;
        ops.postAffine = true;
        Call c = callFrom(std::string("--dir=fwd --dt=f32 --tag=") + tag + " g6mb2ic6ih6iw5oc6oh6ow5kh3kw3sh1sw1ph1pw1dh0dw0", ops, 12);
        std::fill(c.postS.begin(), c.postS.end(), 1.f / 9.f);
        std::fill(c.postB.begin(), c.postB.end(), 0.f);
        const convx::Problem& p = c.gp.conv;
        checkDefinition(c, [&](int64_t n, int64_t k, int64_t oh, int64_t ow) {
            double sum = 0;
            for (int r = 0; r < 3; ++r)
                for (int s = 0; s < 3; ++s) {
                    const int64_t ih = oh - 1 + r, iw = ow - 1 + s;
                    sum += (ih < 0 || ih >= p.in[0] || iw < 0 || iw >= p.in[1]) ? 0.5 : X(c, n, k, ih, iw);
                }
            return sum * double(1.f / 9.f);
        });
    }
}

TEST_CASE("gconv: fully connected as a window of the whole map, with a bias", "[gconv]") {
    for (const char* tag : {"nchw", "nhwc"}) {
        GconvOps ops;
        ops.postAffine = true;
        Call c = callFrom(std::string("--dir=fwd --dt=f32 --tag=") + tag + " g1mb3ic13ih5iw3oc11oh1ow1kh5kw3sh1sw1ph0pw0dh0dw0", ops, 13);
        c.nullPostS = true;  // bias only
        const convx::Problem& p = c.gp.conv;
        checkDefinition(c, [&](int64_t n, int64_t k, int64_t, int64_t) {
            double sum = c.postB[size_t(k)];
            for (int64_t ch = 0; ch < p.C; ++ch)
                for (int64_t h = 0; h < p.in[0]; ++h)
                    for (int64_t w = 0; w < p.in[1]; ++w) sum += Wt(c, k, ch, h, w) * X(c, n, ch, h, w);
            return sum;
        });
    }
}

TEST_CASE("gconv: batch norm as a per-channel scale and shift, pre and post", "[gconv]") {
    for (const char* tag : {"nchw", "nhwc"})
        for (bool pre : {false, true}) {
            GconvOps ops = opsOf(GMap::Pass, GReduce::Sum);
            (pre ? ops.preAffine : ops.postAffine) = true;
            const Call c = callFrom(std::string("--dir=fwd --dt=f32 --tag=") + tag + " g9mb2ic9ih4iw7oc9oh4ow7kh1kw1sh1sw1ph0pw0dh0dw0", ops, 14);
            checkDefinition(c, [&](int64_t n, int64_t k, int64_t h, int64_t w) {
                const auto& sc = pre ? c.preS : c.postS;
                const auto& sh = pre ? c.preB : c.postB;
                return double(sc[size_t(k)]) * X(c, n, k, h, w) + double(sh[size_t(k)]);
            });
        }
}

TEST_CASE("gconv: residual add and multiply with z broadcast over the batch, channels or map", "[gconv]") {
    for (const char* tag : {"nchw", "nhwc"})
        for (GCombine comb : {GCombine::Add, GCombine::Mul})
            for (int bc = 0; bc < 4; ++bc) {
                GconvOps ops;  // a 3x3 convolution + bias, then z, then ReLU
                ops.postAffine = true;
                ops.combine = comb;
                ops.post = GUnary::Relu;
                Call c = callFrom(std::string("--dir=fwd --dt=f32 --tag=") + tag + " g1mb2ic3ih6iw5oc5oh6ow5kh3kw3sh1sw1ph1pw1dh0dw0", ops, 15);
                if (bc == 1) c.gp.zStrides[0] = 0;                              // one z for every image
                if (bc == 2) c.gp.zStrides[2] = c.gp.zStrides[3] = 0;           // one z value per (n, k)
                if (bc == 3) c.gp.zStrides[0] = c.gp.zStrides[2] = c.gp.zStrides[3] = 0;  // per channel
                const convx::Problem& p = c.gp.conv;
                INFO("combine " << int(comb) << " broadcast " << bc);
                checkDefinition(c, [&](int64_t n, int64_t k, int64_t oh, int64_t ow) {
                    double acc = 0;
                    for (int64_t ch = 0; ch < p.C; ++ch)
                        for (int r = 0; r < 3; ++r)
                            for (int s = 0; s < 3; ++s) {
                                const int64_t ih = oh - 1 + r, iw = ow - 1 + s;
                                if (ih >= 0 && ih < p.in[0] && iw >= 0 && iw < p.in[1]) acc += Wt(c, k, ch, r, s) * X(c, n, ch, ih, iw);
                            }
                    double t = double(c.postS[size_t(k)]) * acc + double(c.postB[size_t(k)]);
                    const double z = Z(c, n, k, oh, ow);
                    t = comb == GCombine::Add ? t + z : t * z;
                    return t > 0 ? t : 0.0;
                });
            }
}

TEST_CASE("gconv: every unary operator, in the pre and the post slot", "[gconv]") {
    for (int u = 0; u <= 10; ++u)
        for (bool pre : {false, true}) {
            const GUnary op = GUnary(u);
            GconvOps ops = opsOf(GMap::Pass, GReduce::Sum);
            const float param = op == GUnary::Pow ? -0.75f : 0.1f;
            if (pre) ops.pre = op, ops.preParam = param;
            else ops.post = op, ops.postParam = param;
            const bool positive = op == GUnary::Pow || op == GUnary::Sqrt || op == GUnary::Reciprocal;
            Call c = callFrom("--dir=fwd --dt=f32 --tag=nchw g4mb1ic4ih3iw9oc4oh3ow9kh1kw1sh1sw1ph0pw0dh0dw0", ops, 16 + u, positive);
            if (!positive) {  // values around the kinks of ReLU6 and leaky ReLU too
                for (int64_t i = 0; i < int64_t(c.x.size() / 4); ++i)
                    convx::storeFromDouble(c.x.data(), convx::DType::F32, i, -8.0 + 16.0 * double(i % 37) / 36.0);
            }
            INFO("op " << u << (pre ? " pre" : " post"));
            checkDefinition(
                c,
                [&](int64_t n, int64_t k, int64_t h, int64_t w) {
                    const double v = X(c, n, k, h, w), a = param;
                    switch (op) {
                        case GUnary::Identity: return v;
                        case GUnary::Square: return v * v;
                        case GUnary::Relu: return v > 0 ? v : 0.0;
                        case GUnary::Relu6: return std::min(std::max(v, 0.0), 6.0);
                        case GUnary::Sigmoid: return 1.0 / (1.0 + std::exp(-v));
                        case GUnary::Tanh: return std::tanh(v);
                        case GUnary::Exp: return std::exp(v);
                        case GUnary::Reciprocal: return 1.0 / v;
                        case GUnary::Pow: return std::pow(v, a);
                        case GUnary::LeakyRelu: return v < 0 ? a * v : v;
                        case GUnary::Sqrt: return std::sqrt(v);
                    }
                    return 0.0;
                },
                2e-6);
        }
}

TEST_CASE("gconv: map ADD with MAX (a grey-scale dilation) and MUL with MIN, both layouts", "[gconv]") {
    for (const char* tag : {"nchw", "nhwc"})
        for (int variant = 0; variant < 2; ++variant) {
            const GconvOps ops = variant == 0 ? opsOf(GMap::Add, GReduce::Max) : opsOf(GMap::Mul, GReduce::Min);
            const Call c = callFrom(std::string("--dir=fwd --dt=f32 --tag=") + tag + " g2mb2ic4ih7iw6oc6oh5ow6kh3kw2sh2sw1ph2pw1dh0dw1", ops, 17);
            const convx::Problem& p = c.gp.conv;
            checkDefinition(c, [&](int64_t n, int64_t k, int64_t oh, int64_t ow) {
                double best = variant == 0 ? -INFINITY : INFINITY;
                int cnt = 0;
                const int64_t grp = k / p.Kg();
                for (int64_t ch = 0; ch < p.Cg(); ++ch)
                    for (int64_t r = 0; r < p.ker[0]; ++r)
                        for (int64_t s = 0; s < p.ker[1]; ++s) {
                            const int64_t ih = oh * 2 - 2 + r, iw = ow - 1 + s * 2;
                            if (ih < 0 || ih >= p.in[0] || iw < 0 || iw >= p.in[1]) continue;
                            const double xv = X(c, n, grp * p.Cg() + ch, ih, iw), wv = Wt(c, k, ch, r, s);
                            best = variant == 0 ? std::max(best, xv + wv) : std::min(best, xv * wv);
                            ++cnt;
                        }
                return cnt ? best : 0.0;
            });
        }
}

TEST_CASE("gconv: alpha and beta, with beta == 0 never reading a NaN-poisoned y", "[gconv]") {
    for (const char* prob : {"g1mb2ic8ih6iw6oc8oh6ow6kh3kw3sh1sw1ph1pw1dh0dw0", "g8mb2ic8ih6iw6oc8oh3ow3kh3kw3sh2sw2ph1pw1dh0dw0"})
        for (double beta : {0.0, 0.5}) {
            const bool pool = std::string(prob).rfind("g8", 0) == 0;
            GconvOps ops = pool ? opsOf(GMap::Pass, GReduce::Max) : GconvOps{};
            ops.post = GUnary::Tanh;
            Call c = callFrom(std::string("--dir=fwd --dt=f32 --tag=nhwc ") + prob, ops, 18, false, beta);
            c.s.alpha = -1.5;
            Call unit = c;
            unit.s = convx::Scale{};
            const auto base = runOracle(unit);
            const auto got = runEngine(c, 2), oracle = runOracle(c);
            for (size_t i = 0; i < base.size() / 4; ++i) {
                const double want = -1.5 * c.yAt(base, int64_t(i)) + (beta != 0.0 ? beta * c.yAt(c.y0, int64_t(i)) : 0.0);
                REQUIRE_FALSE(std::isnan(c.yAt(got, int64_t(i))));
                CHECK(c.yAt(got, int64_t(i)) == Approx(want).epsilon(1e-5).margin(1e-6));
                CHECK(c.yAt(oracle, int64_t(i)) == Approx(want).epsilon(1e-6).margin(1e-7));
            }
        }
}

TEST_CASE("gconv: validateGconv names what is wrong", "[gconv]") {
    auto fails = [](const GconvProblem& gp, convxStatus_t st, const char* needle) {
        try {
            convx::validateGconv(gp);
            FAIL("accepted: " << gp.str());
        } catch (const convx::Error& e) {
            INFO(e.what());
            CHECK(e.status() == st);
            CHECK_THAT(std::string(e.what()), Catch::Contains(needle));
        }
    };
    const std::string conv = "--dir=fwd --dt=f32 g1mb1ic4ih5iw5oc4oh5ow5kh3kw3sh1sw1ph1pw1dh0dw0";
    GconvProblem gp = gprob(conv);
    gp.ops.map = GMap(7);
    fails(gp, CONVX_STATUS_BAD_PARAM, "map = 7");
    gp = gprob(conv), gp.ops.reduce = GReduce(-1);
    fails(gp, CONVX_STATUS_BAD_PARAM, "reduce = -1");
    gp = gprob(conv), gp.ops.pre = GUnary(11);
    fails(gp, CONVX_STATUS_BAD_PARAM, "pre-op = 11");
    gp = gprob(conv), gp.ops.post = GUnary(99);
    fails(gp, CONVX_STATUS_BAD_PARAM, "post-op = 99");
    gp = gprob(conv), gp.ops.combine = GCombine(3);
    fails(gp, CONVX_STATUS_BAD_PARAM, "combine = 3");
    gp = gprob(conv), gp.ops.map = GMap::Pass;
    fails(gp, CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "PASS");
    gp = gprob(conv), gp.ops.postParam = INFINITY;
    fails(gp, CONVX_STATUS_BAD_PARAM, "post-op parameter");
    gp = gprob(conv), gp.ops.padValue = NAN;
    fails(gp, CONVX_STATUS_BAD_PARAM, "pad value");
    gp = gprob(conv), gp.ops.combine = GCombine::Add, gp.zStrides = {1, -1, 1, 1, 0};
    fails(gp, CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "z stride 1");
    gp = gprob(conv), gp.conv.dir = convx::Direction::BackwardData;
    fails(gp, CONVX_STATUS_BAD_PARAM, "direction");
    // gconvForward: the pointers the operators need
    gp = gprob(conv), gp.ops.combine = GCombine::Add, gp.zStrides = {100, 25, 5, 1, 0};
    std::vector<float> buf(200);
    GconvArgs a;
    a.x = a.w = buf.data(), a.y = buf.data();
    testutil::Handle h(1);
    try {
        convx::gconvForward(convx::ExecContext{h.h, nullptr, 0}, gp, a, {});
        FAIL("z missing accepted");
    } catch (const convx::Error& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains("z"));
    }
    CHECK(gprob(conv).str() == convx::parseProblem(conv).str() + " map=mul,reduce=sum");
    GconvOps o;
    o.map = GMap::Pass, o.reduce = GReduce::Mean, o.preAffine = true, o.pre = GUnary::Pow, o.preParam = -0.75f, o.combine = GCombine::Add,
    o.post = GUnary::LeakyRelu, o.postParam = 0.125f;
    CHECK(o.str() == "map=pass,reduce=mean,pre_affine,pre=pow(-0.75),combine=add,post=leaky_relu(0.125)");
}

// ---------------------------------------------------------------- CONVX_ALGO_GCONV

TEST_CASE("gconv: CONVX_ALGO_GCONV through the convolution API, every family", "[gconv]") {
    using harness::AlgoCheck;
    auto family = [](uint64_t seed, int count, convxDataType_t dt) {
        AlgoCheck c;
        c.algo = CONVX_ALGO_GCONV;
        c.dir = harness::Dir::Fwd;
        c.dt = dt;
        c.count = count;
        c.seed = seed;
        return c;
    };
    CHECK(harness::checkAlgorithm(family(801, 25, CONVX_DATA_FLOAT)) > 0);
    CHECK(harness::checkAlgorithm(family(802, 8, CONVX_DATA_DOUBLE)) > 0);
    CHECK(harness::checkAlgorithm(family(803, 8, CONVX_DATA_HALF)) > 0);
    CHECK(harness::checkAlgorithm(family(804, 8, CONVX_DATA_BFLOAT16)) > 0);
    AlgoCheck dw = family(805, 10, CONVX_DATA_FLOAT);
    dw.gen.depthwise = true;
    CHECK(harness::checkAlgorithm(dw) > 0);
    AlgoCheck small = family(806, 10, CONVX_DATA_FLOAT);
    small.gen.smallMaps = true;
    CHECK(harness::checkAlgorithm(small) > 0);
    AlgoCheck gapped = family(807, 10, CONVX_DATA_FLOAT);
    gapped.gen.gapped = true;
    CHECK(harness::checkAlgorithm(gapped) > 0);
    for (convxTensorFormat_t f : {CONVX_TENSOR_NCHW, CONVX_TENSOR_NHWC}) {
        AlgoCheck wide = family(810 + int(f), 6, CONVX_DATA_FLOAT);
        wide.shape = [f](std::mt19937_64& r, harness::Spec& s) {  // >= 4 channels per group: the cf and cl tiles
            s.xFmt = s.yFmt = f;
            s.K = s.G * std::uniform_int_distribution<int>(4, 12)(r);
            return true;
        };
        CHECK(harness::checkAlgorithm(wide) > 0);
    }
}

// ---------------------------------------------------------------- the C API

namespace {

struct GconvDesc {
    convxGconvDescriptor_t d = nullptr;
    GconvDesc() { REQUIRE_CONVX_OK(convxCreateGconvDescriptor(&d)); }
    ~GconvDesc() {
        if (d) convxDestroyGconvDescriptor(d);
    }
    GconvDesc(const GconvDesc&) = delete;
    GconvDesc& operator=(const GconvDesc&) = delete;
    operator convxGconvDescriptor_t() const { return d; }
};

}  // namespace

TEST_CASE("gconv C API: conv + bias + residual + ReLU6, and max pooling without a filter, against the oracle", "[gconv][capi]") {
    testutil::Handle h(2);
    const float alpha = 1.f, beta = 0.f;
    SECTION("convolution with a broadcast z (per channel) and a per-channel affine") {
        // x 2x6x7x5 NHWC, w 8x3x3x3 (groups 2), stride 1, pad 1, y 2x8x7x5, z 1x8x1x1
        testutil::TensorDesc xd, yd, zd;
        testutil::FilterDesc wd;
        testutil::ConvDesc cd;
        GconvDesc gd;
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(xd, CONVX_TENSOR_NHWC, CONVX_DATA_FLOAT, 2, 6, 7, 5));
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(wd, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 8, 3, 3, 3));
        REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(cd, 1, 1, 1, 1, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(cd, 2));
        REQUIRE_CONVX_OK(convxSetGconvGeometryFromConvolution(gd, cd));
        REQUIRE_CONVX_OK(convxSetGconvPostOp(gd, CONVX_GCONV_OP_RELU6, 0.f, 1));
        REQUIRE_CONVX_OK(convxSetGconvCombine(gd, CONVX_GCONV_COMBINE_ADD));
        int od[4] = {};
        REQUIRE_CONVX_OK(convxGetGconvOutputDim(gd, xd, wd, 4, od));
        CHECK((od[0] == 2 && od[1] == 8 && od[2] == 7 && od[3] == 5));
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(yd, CONVX_TENSOR_NHWC, CONVX_DATA_FLOAT, 2, 8, 7, 5));
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(zd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 1, 8, 1, 1));
        size_t ws = 1;
        REQUIRE_CONVX_OK(convxGetGconvWorkspaceSize(h, gd, xd, wd, yd, &ws));
        CHECK(ws == 0);
        GconvOps ops;
        ops.postAffine = true, ops.combine = GCombine::Add, ops.post = GUnary::Relu6;
        Call c = callFrom("--dir=fwd --dt=f32 --tag=nhwc --wtag=nchw g2mb2ic6ih7iw5oc8oh7ow5kh3kw3sh1sw1ph1pw1dh0dw0", ops, 31);
        c.gp.conv.wLayout = convx::Layout::NCHW;
        c.gp.zStrides = {0, 1, 0, 0, 0};
        std::mt19937_64 rng(3);
        fill(c.z, convx::DType::F32, 8, rng, -1, 1);
        const auto want = runOracle(c);
        std::vector<unsigned char> y = c.y0;
        REQUIRE_CONVX_OK(convxGconvForward(h, gd, &alpha, xd, c.x.data(), wd, c.w.data(), zd, c.z.data(), nullptr, nullptr, c.postS.data(),
                                           c.postB.data(), nullptr, 0, &beta, yd, y.data()));
        compareWithOracle(c, y, want);
    }
    SECTION("max pooling 3x3/2 pad 1 without a filter (window from the descriptor), NCHW") {
        testutil::TensorDesc xd, yd;
        GconvDesc gd;
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(xd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 5, 9, 8));
        const int pads[2] = {1, 1}, strides[2] = {2, 2}, dils[2] = {1, 1}, win[2] = {3, 3};
        REQUIRE_CONVX_OK(convxSetGconvNdGeometry(gd, 2, pads, strides, dils, 5, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        REQUIRE_CONVX_OK(convxSetGconvMapReduce(gd, CONVX_GCONV_MAP_PASS, CONVX_GCONV_REDUCE_MAX));
        REQUIRE_CONVX_OK(convxSetGconvWindow(gd, 2, win));
        int od[4] = {};
        REQUIRE_CONVX_OK(convxGetGconvOutputDim(gd, xd, nullptr, 4, od));
        CHECK((od[0] == 2 && od[1] == 5 && od[2] == 5 && od[3] == 4));
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(yd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 5, 5, 4));
        const Call c = callFrom("--dir=fwd --dt=f32 --tag=nchw g5mb2ic5ih9iw8oc5oh5ow4kh3kw3sh2sw2ph1pw1dh0dw0", opsOf(GMap::Pass, GReduce::Max), 32);
        const auto want = runOracle(c);
        std::vector<unsigned char> y = c.y0;
        REQUIRE_CONVX_OK(convxGconvForward(h, gd, &alpha, xd, c.x.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                           nullptr, nullptr, 0, &beta, yd, y.data()));
        compareWithOracle(c, y, want);
    }
}

TEST_CASE("gconv C API: bad input answers a status and names the argument", "[gconv][capi][bad-input]") {
    testutil::Handle h(1);
    testutil::TensorDesc xd, yd, zd, bad;
    testutil::FilterDesc wd, wpool;
    GconvDesc gd, unset;
    const float alpha = 1.f, beta = 0.f;
    std::vector<float> x(2 * 4 * 6 * 6, 1.f), w(4 * 4 * 3 * 3, 1.f), y(2 * 4 * 6 * 6), z(2 * 4 * 6 * 6);
    REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(xd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 6, 6));
    REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(wd, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 4, 4, 3, 3));
    REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(yd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 6, 6));
    REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(zd, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 6, 6));
    const int pads[2] = {1, 1}, strides[2] = {1, 1}, dils[2] = {1, 1};
    REQUIRE_CONVX_OK(convxSetGconvNdGeometry(gd, 2, pads, strides, dils, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    auto fwd = [&](convxGconvDescriptor_t g, convxFilterDescriptor_t wdesc, const void* wp, convxTensorDescriptor_t zdesc, const void* zp,
                   convxTensorDescriptor_t ydesc) {
        return convxGconvForward(h, g, &alpha, xd, x.data(), wdesc, wp, zdesc, zp, nullptr, nullptr, nullptr, nullptr, nullptr, 0, &beta, ydesc,
                                 y.data());
    };
    REQUIRE_CONVX_OK(fwd(gd, wd, w.data(), nullptr, nullptr, yd));
    const auto NP = CONVX_STATUS_BAD_PARAM_NULL_POINTER, BP = CONVX_STATUS_BAD_PARAM, SM = CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH,
               INV = CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR;

    SECTION("NULL pointers and descriptors") {
        CHECK_CONVX_FAILS(convxCreateGconvDescriptor(nullptr), NP, "desc is NULL");
        CHECK_CONVX_FAILS(convxDestroyGconvDescriptor(nullptr), NP, "desc is NULL");
        CHECK_CONVX_FAILS(convxGconvForward(nullptr, gd, &alpha, xd, x.data(), wd, w.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                            nullptr, 0, &beta, yd, y.data()),
                          NP, "handle is NULL");
        CHECK_CONVX_FAILS(fwd(nullptr, wd, w.data(), nullptr, nullptr, yd), NP, "gconv_desc is NULL");
        CHECK_CONVX_FAILS(fwd(unset, wd, w.data(), nullptr, nullptr, yd), INV, "gconv_desc has no geometry");
        CHECK_CONVX_FAILS(fwd(gd, nullptr, w.data(), nullptr, nullptr, yd), NP, "w_desc is NULL but the map");
        CHECK_CONVX_FAILS(fwd(gd, wd, nullptr, nullptr, nullptr, yd), NP, "w is NULL");
        CHECK_CONVX_FAILS(fwd(gd, wd, w.data(), nullptr, nullptr, nullptr), NP, "y_desc is NULL");
        CHECK_CONVX_FAILS(convxGconvForward(h, gd, &alpha, nullptr, x.data(), wd, w.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                            nullptr, 0, &beta, yd, y.data()),
                          NP, "x_desc is NULL");
        CHECK_CONVX_FAILS(convxGconvForward(h, gd, &alpha, xd, nullptr, wd, w.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                            nullptr, 0, &beta, yd, y.data()),
                          NP, "x is NULL");
        CHECK_CONVX_FAILS(convxGconvForward(h, gd, &alpha, xd, x.data(), wd, w.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                            nullptr, 0, &beta, yd, nullptr),
                          NP, "y is NULL");
        CHECK_CONVX_FAILS(convxGconvForward(h, gd, nullptr, xd, x.data(), wd, w.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                            nullptr, 0, &beta, yd, y.data()),
                          NP, "alpha is NULL");
        CHECK_CONVX_FAILS(convxGconvForward(h, gd, &alpha, xd, x.data(), wd, w.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                            nullptr, 0, nullptr, yd, y.data()),
                          NP, "beta is NULL");
        CHECK_CONVX_FAILS(fwd(gd, wd, w.data(), nullptr, nullptr, bad), INV, "y_desc");
        size_t ws = 0;
        CHECK_CONVX_FAILS(convxGetGconvWorkspaceSize(h, gd, xd, wd, yd, nullptr), NP, "size is NULL");
        CHECK_CONVX_FAILS(convxGetGconvWorkspaceSize(nullptr, gd, xd, wd, yd, &ws), NP, "handle is NULL");
        int od[4];
        CHECK_CONVX_FAILS(convxGetGconvOutputDim(gd, xd, wd, 4, nullptr), NP, "output_dims is NULL");
        CHECK_CONVX_FAILS(convxGetGconvOutputDim(gd, xd, wd, 3, od), SM, "nb_dims = 3");
        CHECK_CONVX_FAILS(convxSetGconvWindow(gd, 2, nullptr), NP, "window is NULL");
        CHECK_CONVX_FAILS(convxSetGconvGeometryFromConvolution(gd, nullptr), NP, "conv is NULL");
    }
    SECTION("destroyed and foreign descriptors") {
        convxGconvDescriptor_t dead = nullptr;
        REQUIRE_CONVX_OK(convxCreateGconvDescriptor(&dead));
        REQUIRE_CONVX_OK(convxDestroyGconvDescriptor(dead));
        CHECK_CONVX_FAILS(convxSetGconvPadValue(dead, 1.f), INV, "desc is not a live GCONV descriptor");
        CHECK_CONVX_FAILS(convxSetGconvPadValue(reinterpret_cast<convxGconvDescriptor_t>(xd.d), 1.f), INV, "not a live GCONV descriptor");
    }
    SECTION("enum values out of range, read as int") {
        CHECK_CONVX_FAILS(convxSetGconvMapReduce(gd, convxGconvMap_t(3), CONVX_GCONV_REDUCE_SUM), BP, "map = 3");
        CHECK_CONVX_FAILS(convxSetGconvMapReduce(gd, CONVX_GCONV_MAP_MUL, convxGconvReduce_t(-2)), BP, "reduce = -2");
        CHECK_CONVX_FAILS(convxSetGconvPreOp(gd, convxGconvOp_t(11), 0.f, 0), BP, "op = 11");
        CHECK_CONVX_FAILS(convxSetGconvPostOp(gd, convxGconvOp_t(-1), 0.f, 0), BP, "op = -1");
        CHECK_CONVX_FAILS(convxSetGconvCombine(gd, convxGconvCombine_t(7)), BP, "combine = 7");
        CHECK_CONVX_FAILS(convxSetGconvPostOp(gd, CONVX_GCONV_OP_POW, NAN, 0), BP, "param");
        CHECK_CONVX_FAILS(convxSetGconvPadValue(gd, NAN), BP, "pad_value");
        CHECK_CONVX_FAILS(convxSetGconvNdGeometry(gd, 2, pads, strides, dils, 1, convxConvolutionMode_t(5), CONVX_DATA_FLOAT), BP, "mode");
        CHECK_CONVX_FAILS(convxSetGconvNdGeometry(gd, 2, pads, strides, dils, 0, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT),
                          CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "groups = 0");
        const int win[2] = {0, 3};
        CHECK_CONVX_FAILS(convxSetGconvWindow(gd, 2, win), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "window[0] = 0");
        CHECK_CONVX_FAILS(convxSetGconvWindow(gd, 4, win), CONVX_STATUS_NOT_SUPPORTED_SHAPE, "array_length = 4");
        REQUIRE_CONVX_OK(fwd(gd, wd, w.data(), nullptr, nullptr, yd));  // failed setters changed nothing
    }
    SECTION("shape mismatches: y, z, and PASS with the wrong filter or groups") {
        testutil::TensorDesc ybad;
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(ybad, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 5, 6));
        CHECK_CONVX_FAILS(fwd(gd, wd, w.data(), nullptr, nullptr, ybad), SM, "y_desc has dims");
        REQUIRE_CONVX_OK(convxSetGconvCombine(gd, CONVX_GCONV_COMBINE_ADD));
        CHECK_CONVX_FAILS(fwd(gd, wd, w.data(), nullptr, z.data(), yd), NP, "z_desc");
        CHECK_CONVX_FAILS(fwd(gd, wd, w.data(), zd, nullptr, yd), NP, "z (combine is not NONE) is NULL");
        testutil::TensorDesc zbad, zh;
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(zbad, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 3, 6, 6));
        CHECK_CONVX_FAILS(fwd(gd, wd, w.data(), zbad, z.data(), yd), SM, "z_desc dim 1 is 3");
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(zh, CONVX_TENSOR_NCHW, CONVX_DATA_HALF, 2, 4, 6, 6));
        CHECK_CONVX_FAILS(fwd(gd, wd, w.data(), zh, z.data(), yd), BP, "z_desc has data type f16");
        REQUIRE_CONVX_OK(fwd(gd, wd, w.data(), zd, z.data(), yd));
        REQUIRE_CONVX_OK(convxSetGconvCombine(gd, CONVX_GCONV_COMBINE_NONE));
        // PASS: groups must be C, and a filter must be C x 1 x window
        REQUIRE_CONVX_OK(convxSetGconvMapReduce(gd, CONVX_GCONV_MAP_PASS, CONVX_GCONV_REDUCE_MAX));
        CHECK_CONVX_FAILS(fwd(gd, nullptr, nullptr, nullptr, nullptr, yd), INV, "no window");
        const int win[2] = {3, 3};
        REQUIRE_CONVX_OK(convxSetGconvWindow(gd, 2, win));
        CHECK_CONVX_FAILS(fwd(gd, nullptr, nullptr, nullptr, nullptr, yd), SM, "groups of gconv_desc = 1 must equal");
        CHECK_CONVX_FAILS(fwd(gd, wd, w.data(), nullptr, nullptr, yd), SM, "C/groups = 4");
        REQUIRE_CONVX_OK(convxSetGconvNdGeometry(gd, 2, pads, strides, dils, 4, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        REQUIRE_CONVX_OK(fwd(gd, nullptr, nullptr, nullptr, nullptr, yd));
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(wpool, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 4, 1, 2, 3));
        CHECK_CONVX_FAILS(fwd(gd, wpool, nullptr, nullptr, nullptr, yd), SM, "w_desc spatial dim 0 is 2");
        const int win1[1] = {3};
        REQUIRE_CONVX_OK(convxSetGconvWindow(gd, 1, win1));
        CHECK_CONVX_FAILS(fwd(gd, nullptr, nullptr, nullptr, nullptr, yd), SM, "window of gconv_desc has 1 spatial dims");
    }
}
