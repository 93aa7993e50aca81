// GCONV (src/gconv.h): the float64 oracle against independent direct definitions written here
// (pooling with -inf padding, averages over valid taps, FC, batch norm, residuals, every unary),
// the CPU engine against the oracle on every operator slot and both layouts, CONVX_ALGO_GCONV
// through the convolution API, and the C API's bad-input answers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "context.h"
#include "error.h"
#include "gconv.h"
#include "problem.h"
#include "test_util.h"

using convx::GCombine;
using convx::GconvArgs;
using convx::GconvOps;
using convx::GconvProblem;
using convx::GMap;
using convx::GReduce;
using convx::GUnary;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

GconvProblem gprob(const std::string& s, GconvOps ops = {}) {
    GconvProblem gp;
    gp.conv = convx::parseProblem(s);
    gp.ops = ops;
    return gp;
}

std::vector<float> randomVec(size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& e : v) e = d(rng);
    return v;
}

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
