// CONVX_ALGO_DILATION_SPLIT: the plan (output residues, sub-grids, prefix sums, MAC counts) and
// targeted conformance families on the CPU executor (DeepLab-like 2-D, WaveNet-like 1-D, ...).
#include <random>

#include "algo_check.h"
#include "dilation_split_plan.h"
#include "filter_trim_plan.h"
#include "problem.h"
#include "registry.h"
#include "test_util.h"

using namespace harness;
using convx::DilationSplitPlan;

namespace {

// Checks one axis of a plan against the definition: output o = j + d*m and tap t read input
// i = o*s - p + t*d, which is sub-grid position v = q + m*s + t of input residue r (i = r + d*v),
// valid exactly when 0 <= i < I, i.e. when t is inside the residue's trimmed window.
void checkAxis(const convx::SplitAxis& a) {
    int64_t outputs = 0;
    for (const convx::SplitResidue& r : a.residues) {
        CHECK(r.count == (a.O - r.j + a.d - 1) / a.d);
        CHECK(r.start == r.j * a.s - a.p);
        CHECK((r.inResidue >= 0 && r.inResidue < a.d));
        CHECK(r.start == r.inResidue + a.d * r.inOffset);
        CHECK(r.trim.O == r.count);
        outputs += r.count;
        for (int64_t m = 0; m < r.count; ++m)
            for (int64_t t = 0; t < a.R; ++t) {
                const int64_t o = r.j + a.d * m;
                const int64_t i = o * a.s - a.p + t * a.d;
                const int64_t v = r.inOffset + m * a.s + t;
                INFO("j " << r.j << " m " << m << " t " << t);
                CHECK(i == r.inResidue + a.d * v);
                const bool valid = i >= 0 && i < a.I;
                CHECK(valid == (v >= 0 && v < r.inCount));
                CHECK(valid == (t >= r.trim.tBegin[m] && t < r.trim.tEnd[m]));
                const int64_t u = m * a.s + t;  // position in the sub-grid as the residue sees it
                CHECK(valid == (u >= r.firstValid && u < r.extent));
            }
    }
    CHECK(outputs == a.O);
}

}  // namespace

TEST_CASE("dilation_split plan: hand-checked 1-D axis", "[dilation_split][unit]") {
    // I 7, kernel 3, dilation 2, pad 2, stride 1: O = 7; residues j = 0 (o = 0, 2, 4, 6) and 1 (o = 1, 3, 5)
    const convx::Problem p = convx::parseProblem("--dir=fwd g1mb1ic1iw7oc1ow7kw3sw1pw2dw1");
    const DilationSplitPlan plan = convx::makeDilationSplitPlan(p);
    const convx::SplitAxis& a = plan.axis[2];
    REQUIRE(a.residues.size() == 2);
    const convx::SplitResidue& r0 = a.residues[0];
    CHECK((r0.count == 4 && r0.start == -2 && r0.inResidue == 0 && r0.inOffset == -1 && r0.inCount == 4));
    CHECK((r0.extent == 5 && r0.firstValid == 1));
    const convx::SplitResidue& r1 = a.residues[1];
    CHECK((r1.count == 3 && r1.start == -1 && r1.inResidue == 1 && r1.inOffset == -1 && r1.inCount == 3));
    CHECK((r1.extent == 4 && r1.firstValid == 1));
    REQUIRE(plan.subs.size() == 2);
    CHECK(plan.outPrefix == std::vector<int64_t>{0, 4, 7});
    CHECK(plan.inBlock == std::vector<int64_t>{0, 4, 7});
    // residue 0, m = 0 (o = 0) reads inputs -2, 0, 2: taps 1 and 2; m = 3 (o = 6) reads 4, 6, 8: taps 0, 1
    CHECK((r0.trim.tBegin[0] == 1 && r0.trim.tEnd[0] == 3));
    CHECK((r0.trim.tBegin[3] == 0 && r0.trim.tEnd[3] == 2));
    checkAxis(a);
}

TEST_CASE("dilation_split plan: random problems match the definition", "[dilation_split][unit]") {
    std::mt19937_64 rng(41);
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int n = 0; n < testutil::scaled(200); ++n) {
        std::string desc = "g1mb1ic1oc1";
        int64_t expectSubs = 1, O[2];
        bool ok = true;
        for (int ax = 0; ax < 2; ++ax) {
            const int I = uni(1, 24), R = uni(1, 4), s = uni(1, 3), d = uni(1, 7), p = uni(0, 14);
            O[ax] = convx::convOutputSize(I, R, s, p, d);
            ok = ok && O[ax] >= 1;
            const char* h = ax ? "w" : "h";
            desc += std::string("i") + h + std::to_string(I) + "k" + h + std::to_string(R) + "s" + h + std::to_string(s) + "p" + h +
                    std::to_string(p) + "d" + h + std::to_string(d - 1);
            expectSubs *= std::min<int64_t>(d, O[ax] > 0 ? O[ax] : 1);
        }
        if (!ok) continue;
        INFO(desc);
        const convx::Problem p = convx::parseProblem("--dir=fwd " + desc);
        const DilationSplitPlan plan = convx::makeDilationSplitPlan(p);
        checkAxis(plan.axis[1]);
        checkAxis(plan.axis[2]);
        CHECK(int64_t(plan.subs.size()) == expectSubs);
        CHECK(plan.outPrefix.back() == O[0] * O[1]);
        CHECK(plan.inBlock.back() == p.inPixels());
        for (size_t i = 0; i < plan.subs.size(); ++i) CHECK(plan.subs[i].outBegin == plan.outPrefix[i]);
        // the split executes exactly the taps filter trimming keeps: no hole, no padded zero
        CHECK(plan.macsExecuted == convx::makeFilterTrimPlan(p).macsExecuted);
        const std::vector<int64_t> tiles = plan.tilePrefix(2, 4);
        int64_t want = 0;
        for (const convx::SubProblem& sp : plan.subs) want += ((sp.count[1] + 1) / 2) * ((sp.count[2] + 3) / 4);
        CHECK(tiles.back() == want);
    }
}

TEST_CASE("dilation_split: applicability", "[dilation_split][unit]") {
    const convx::Algorithm* a = nullptr;
    for (const convx::Algorithm* x : convx::algorithmsFor(CONVX_BACKEND_CPU, convx::Direction::Forward))
        if (x->id() == CONVX_ALGO_DILATION_SPLIT) a = x;
    REQUIRE(a != nullptr);
    const convx::Applicability no = a->check(convx::parseProblem("--dir=fwd g1mb1ic4ih8iw8oc4oh8ow8kh3kw3ph1pw1dh0dw0"));
    CHECK_FALSE(no.ok);
    CHECK_THAT(no.reason, Catch::Contains("nothing to split"));
    CHECK(a->check(convx::parseProblem("--dir=fwd g1mb1ic4ih8iw8oc4oh8ow8kh3kw3ph1pw2dh0dw1")).ok);
    CHECK_FALSE(a->check(convx::parseProblem("--dir=fwd --dt=f16 g1mb1ic4ih8iw8oc4oh8ow8kh3kw3ph1pw2dh0dw1")).ok);
}

namespace {
// Random problem with some dilation > 1.
bool dilated(std::mt19937_64& rng, Spec& s) {
    bool any = false;
    for (int i = 0; i < s.nsp; ++i) any = any || s.dil[i] > 1;
    if (!any) s.dil[rng() % s.nsp] = 2 + int(rng() % 3);
    return true;
}
}  // namespace

TEST_CASE("dilation_split: random dilated problems, f32 and f64", "[dilation_split][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_DILATION_SPLIT;
    c.count = 50;
    c.seed = 401;
    c.shape = dilated;
    CHECK(checkAlgorithm(c) > 0);
    c.dt = CONVX_DATA_DOUBLE;
    c.count = 25;
    c.seed = 402;
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("dilation_split: DeepLab-like 2-D (3x3, pad = dilation, odd maps), both layouts", "[dilation_split][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_DILATION_SPLIT;
    c.count = 25;
    c.seed = 411;
    c.gen.nsp = 2;
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        const int d = 2 + int(rng() % 6), map = 5 + int(rng() % 17);
        const bool nhwc = rng() % 2;
        for (int i = 0; i < 2; ++i) s.ker[i] = 3, s.in[i] = map, s.dil[i] = d, s.pad[i] = d, s.stride[i] = 1;
        if (rng() % 4 == 0) s.stride[0] = s.stride[1] = 2;  // any stride splits too
        s.xFmt = s.yFmt = s.wFmt = nhwc ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
        s.K = s.G * (1 + int(rng() % 6));
        return true;
    };
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("dilation_split: WaveNet-like 1-D (kernel 2, large dilations)", "[dilation_split][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_DILATION_SPLIT;
    c.count = 20;
    c.seed = 421;
    c.gen.nsp = 1;
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        const int d = 1 << (1 + rng() % 6);  // 2 .. 64
        s.ker[0] = 2, s.dil[0] = d, s.in[0] = 40 + int(rng() % 160), s.stride[0] = 1;
        s.pad[0] = rng() % 2 ? d : d / 2;
        return true;
    };
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("dilation_split: dilation larger than the map, pad >= kernel, small maps, 3-D", "[dilation_split][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_DILATION_SPLIT;
    c.count = 20;
    c.seed = 431;
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        for (int i = 0; i < s.nsp; ++i) {
            s.dil[i] = s.in[i] + 1 + int(rng() % 3);
            s.pad[i] = (s.ker[i] - 1) * s.dil[i] / 2 + int(rng() % 3);
        }
        return dilated(rng, s);
    };
    CHECK(checkAlgorithm(c) > 0);
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        for (int i = 0; i < s.nsp; ++i) s.pad[i] = s.ker[i] + int(rng() % 3);
        return dilated(rng, s);
    };
    c.seed = 432;
    CHECK(checkAlgorithm(c) > 0);
    c.gen.smallMaps = true;
    c.shape = dilated;
    c.seed = 433;
    CHECK(checkAlgorithm(c) > 0);
    c.gen.smallMaps = false;
    c.gen.nsp = 3;
    c.seed = 434;
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("dilation_split: groups, depthwise, alpha/beta, strided tensors", "[dilation_split][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_DILATION_SPLIT;
    c.count = 20;
    c.seed = 441;
    c.shape = dilated;
    c.gen.depthwise = true;
    CHECK(checkAlgorithm(c) > 0);
    c.gen.depthwise = false;
    c.gen.betaKind = 2;
    c.gen.gapped = true;
    c.seed = 442;
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("dilation_split: hand-picked edge cases", "[dilation_split][conformance]") {
    Spec s;
    s.nsp = 2, s.C = 6, s.K = 5, s.in[0] = 13, s.in[1] = 13, s.ker[0] = s.ker[1] = 3;
    s.dil[0] = s.dil[1] = 6, s.pad[0] = s.pad[1] = 6;  // DeepLab OS-16, narrowed
    checkAlgorithmOn(CONVX_ALGO_DILATION_SPLIT, s);
    s.xFmt = s.yFmt = s.wFmt = CONVX_TENSOR_NHWC, s.alpha = 0.75, s.beta = -0.5, s.mode = CONVX_CONVOLUTION;
    checkAlgorithmOn(CONVX_ALGO_DILATION_SPLIT, s);
    s = Spec();
    s.nsp = 1, s.C = 4, s.K = 3, s.in[0] = 300, s.ker[0] = 2, s.dil[0] = 128, s.pad[0] = 128;  // WaveNet, short
    checkAlgorithmOn(CONVX_ALGO_DILATION_SPLIT, s);
    s = Spec();
    s.nsp = 2, s.C = 2, s.K = 2, s.in[0] = 9, s.in[1] = 11, s.ker[0] = 2, s.ker[1] = 3;
    s.dil[0] = 1, s.dil[1] = 4, s.stride[0] = 2, s.stride[1] = 3, s.pad[0] = 0, s.pad[1] = 5;  // one axis split, odd counts
    checkAlgorithmOn(CONVX_ALGO_DILATION_SPLIT, s);
}

TEST_CASE("dilation_split: bitwise identical for any thread count", "[dilation_split][conformance]") {
    Spec s;
    s.N = 2, s.C = 5, s.K = 7, s.nsp = 2;
    s.in[0] = 11, s.in[1] = 14, s.ker[0] = s.ker[1] = 3, s.pad[0] = s.pad[1] = 3, s.dil[0] = s.dil[1] = 3;
    Case c(s);
    testutil::Handle h;
    c.fill();
    const Buffer prior = c.output();
    c.setThreads(1);
    REQUIRE_CONVX_OK(c.run(h.h, CONVX_ALGO_DILATION_SPLIT));
    const Buffer one = c.output();
    for (int t : {2, 3, 0}) {
        c.output() = prior;
        c.setThreads(t);
        REQUIRE_CONVX_OK(c.run(h.h, CONVX_ALGO_DILATION_SPLIT));
        std::string detail;
        INFO("threads " << t);
        CHECK(c.compareWith(one, prior, 0.0, &detail));
    }
}

TEST_CASE("dilation_split plan: DeepLab taps executed per axis (docs table)", "[dilation_split][unit]") {
    struct Row {
        int map, d, taps;  // 3x3, pad = dilation: taps executed per axis out of 3 * map
    };
    const Row rows[] = {{65, 2, 191}, {65, 4, 187}, {65, 12, 171}, {65, 24, 147}, {65, 36, 123}, {33, 6, 87}, {33, 12, 75}, {33, 18, 63}};
    for (const Row& r : rows) {
        const std::string m = std::to_string(r.map), d = std::to_string(r.d);
        const convx::Problem p = convx::parseProblem("--dir=fwd g1mb1ic1iw" + m + "oc1ow" + m + "kw3sw1pw" + d + "dw" + std::to_string(r.d - 1));
        const DilationSplitPlan plan = convx::makeDilationSplitPlan(p);
        int64_t taps = 0;
        for (const convx::SplitResidue& res : plan.axis[2].residues) taps += res.trim.tapsExecuted;
        INFO(r.map << " d " << r.d);
        CHECK(taps == r.taps);
        CHECK(int64_t(plan.subs.size()) == std::min(r.d, r.map));
    }
}
