// CONVX_ALGO_FILTER_TRIM: the plan (trimmed windows, classes, MAC counts, including the MAC
// savings quoted in SEEDS.md §2) and targeted conformance families on the CPU executor.
#include <random>

#include "algo_check.h"
#include "filter_trim_plan.h"
#include "problem.h"
#include "test_util.h"

using namespace harness;
using convx::makeTrimAxis;
using convx::TrimAxis;

namespace {

// The definition: tap t of output o is valid when its input index o*s - p + t*d is in [0, I).
void checkAxisAgainstDefinition(const TrimAxis& a) {
    REQUIRE(a.tBegin.size() == size_t(a.O));
    int64_t taps = 0, covered = 0;
    for (int64_t o = 0; o < a.O; ++o) {
        for (int64_t t = 0; t < a.R; ++t) {
            const int64_t i = o * a.s - a.p + t * a.d;
            const bool valid = i >= 0 && i < a.I;
            INFO("o " << o << " t " << t << " window [" << a.tBegin[o] << ", " << a.tEnd[o] << ")");
            CHECK(valid == (t >= a.tBegin[o] && t < a.tEnd[o]));
            taps += valid;
        }
    }
    CHECK(taps == a.tapsExecuted);
    for (size_t k = 0; k < a.segments.size(); ++k) {
        const auto& sg = a.segments[k];
        CHECK(sg.oBegin == covered);
        CHECK(sg.oEnd > sg.oBegin);
        covered = sg.oEnd;
        for (int64_t o = sg.oBegin; o < sg.oEnd; ++o) CHECK((a.tBegin[o] == sg.tBegin && a.tEnd[o] == sg.tEnd));
        if (k > 0) CHECK((a.segments[k - 1].tBegin != sg.tBegin || a.segments[k - 1].tEnd != sg.tEnd));  // maximal runs
    }
    CHECK(covered == a.O);
}

convx::Problem squareProblem(int map, int k, int pad) {
    const std::string s = "g1mb1ic1ih" + std::to_string(map) + "iw" + std::to_string(map) + "oc1kh" + std::to_string(k) + "kw" +
                          std::to_string(k) + "sh1sw1ph" + std::to_string(pad) + "pw" + std::to_string(pad) + "dh0dw0";
    return convx::parseProblem("--dir=fwd --dt=f32 " + s);
}

}  // namespace

TEST_CASE("filter_trim plan: hand-checked axes", "[filter_trim][unit]") {
    SECTION("3 taps, pad 1, map 4: borders lose one tap each") {
        const TrimAxis a = makeTrimAxis(4, 4, 3, 1, 1, 1);
        CHECK(a.tBegin == std::vector<int64_t>{1, 0, 0, 0});
        CHECK(a.tEnd == std::vector<int64_t>{3, 3, 3, 2});
        REQUIRE(a.segments.size() == 3);
        CHECK((a.segments[1].oBegin == 1 && a.segments[1].oEnd == 3 && a.segments[1].tBegin == 0 && a.segments[1].tEnd == 3));
        CHECK(a.tapsExecuted == 10);
        CHECK(a.interior() == 2);
    }
    SECTION("dilation 2, pad 2: the valid taps stay one contiguous range") {
        const TrimAxis a = makeTrimAxis(5, 5, 3, 1, 2, 2);
        CHECK(a.tBegin == std::vector<int64_t>{1, 1, 0, 0, 0});
        CHECK(a.tEnd == std::vector<int64_t>{3, 3, 3, 2, 2});
        CHECK(a.segments.size() == 3);
        CHECK(a.tapsExecuted == 11);
    }
    SECTION("pad larger than the kernel: outputs with no tap at all") {
        const TrimAxis a = makeTrimAxis(2, 7, 2, 1, 3, 1);  // O = 1 + (2 + 6 - 2) = 7
        CHECK(a.tBegin == std::vector<int64_t>{0, 0, 1, 0, 0, 0, 0});
        CHECK(a.tEnd == std::vector<int64_t>{0, 0, 2, 2, 1, 0, 0});
        CHECK(a.segments.size() == 5);
        CHECK(a.interior() == 1);
        checkAxisAgainstDefinition(a);
    }
}

TEST_CASE("filter_trim plan: random axes match the definition", "[filter_trim][unit]") {
    std::mt19937_64 rng(31);
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int n = 0; n < testutil::scaled(400); ++n) {
        const int64_t I = uni(1, 20), R = uni(1, 7), s = uni(1, 4), d = uni(1, 5), p = uni(0, 12);
        const int64_t O = convx::convOutputSize(I, R, s, p, d);
        if (O < 1) continue;
        INFO("I " << I << " R " << R << " s " << s << " p " << p << " d " << d);
        const TrimAxis a = makeTrimAxis(I, O, R, s, p, d);
        checkAxisAgainstDefinition(a);
        CHECK(a.segments.size() <= size_t(2 * R + 3));  // classes, not elements
    }
}

TEST_CASE("filter_trim plan: MAC savings of SEEDS.md (3x3 pad 1, 5x5 pad 2)", "[filter_trim][unit]") {
    struct Row {
        int map, k, pad;
        double saving;
    };
    const Row rows[] = {{4, 3, 1, 1.44}, {7, 3, 1, 1.22}, {16, 3, 1, 1.09}, {4, 5, 2, 2.04}, {7, 5, 2, 1.46}};
    for (const Row& r : rows) {
        const convx::FilterTrimPlan plan = convx::makeFilterTrimPlan(squareProblem(r.map, r.k, r.pad));
        INFO(r.map << "x" << r.map << " kernel " << r.k << " pad " << r.pad << ": saving " << plan.saving());
        CHECK(plan.saving() == Approx(r.saving).margin(0.005));
        CHECK(plan.macsUntrimmed == double(r.map * r.map * r.k * r.k));
    }
    // exact: 4x4 3x3 pad 1 executes 10 x 10 of 12 x 12 taps, in 3 x 3 classes
    const convx::FilterTrimPlan p4 = convx::makeFilterTrimPlan(squareProblem(4, 3, 1));
    CHECK(p4.macsExecuted == 100.0);
    CHECK(p4.classes == 9);
    // N, K and C/G scale both counts alike
    const convx::FilterTrimPlan big =
        convx::makeFilterTrimPlan(convx::parseProblem("--dir=fwd g2mb3ic8ih7iw7oc6oh7ow7kh5kw5sh1sw1ph2pw2dh0dw0"));
    CHECK(big.macsExecuted == 3.0 * 6 * 4 * 29 * 29);
    CHECK(big.macsUntrimmed == 3.0 * 6 * 4 * 49 * 25);
}

TEST_CASE("filter_trim: random forward problems, f32 and f64", "[filter_trim][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_FILTER_TRIM;
    c.count = 50;
    c.seed = 301;
    CHECK(checkAlgorithm(c) > 0);
    c.dt = CONVX_DATA_DOUBLE;
    c.count = 25;
    c.seed = 302;
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("filter_trim: maps smaller than the kernel, pad >= kernel", "[filter_trim][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_FILTER_TRIM;
    c.count = 30;
    c.seed = 311;
    c.gen.smallMaps = true;
    CHECK(checkAlgorithm(c) > 0);
    c.gen.smallMaps = false;
    c.seed = 312;
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        for (int i = 0; i < s.nsp; ++i) s.pad[i] = s.ker[i] + int(rng() % 3);
        return true;
    };
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("filter_trim: small square maps with 3x3 and 5x5 filters, wide rows, both layouts", "[filter_trim][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_FILTER_TRIM;
    c.count = 30;
    c.seed = 321;
    c.gen.nsp = 2;
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        const int k = rng() % 2 ? 3 : 5, map = 2 + int(rng() % 19);  // 2..20: border classes and full 8-column tiles
        const bool nhwc = rng() % 2;
        for (int i = 0; i < 2; ++i) s.ker[i] = k, s.in[i] = map, s.pad[i] = k / 2, s.stride[i] = 1 + int(rng() % 2), s.dil[i] = 1;
        s.xFmt = s.yFmt = s.wFmt = nhwc ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
        s.K = s.G * (1 + int(rng() % 6));  // crosses the 4-channel register block
        return true;
    };
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("filter_trim: dilation larger than the map, strides, 1-D and 3-D", "[filter_trim][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_FILTER_TRIM;
    c.count = 20;
    c.seed = 331;
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        for (int i = 0; i < s.nsp; ++i) {
            s.dil[i] = s.in[i] + 1 + int(rng() % 3);
            s.pad[i] = (s.ker[i] - 1) * s.dil[i] / 2 + int(rng() % 2);
        }
        return true;
    };
    CHECK(checkAlgorithm(c) > 0);
    c.shape = nullptr;
    for (int nsp : {1, 3}) {
        c.gen.nsp = nsp;
        c.seed = 340 + nsp;
        CHECK(checkAlgorithm(c) > 0);
    }
}

TEST_CASE("filter_trim: groups, depthwise, alpha/beta, strided tensors", "[filter_trim][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_FILTER_TRIM;
    c.count = 20;
    c.seed = 351;
    c.gen.depthwise = true;
    CHECK(checkAlgorithm(c) > 0);
    c.gen.depthwise = false;
    c.gen.betaKind = 2;
    c.gen.gapped = true;
    c.seed = 352;
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("filter_trim: hand-picked edge cases", "[filter_trim][conformance]") {
    Spec s;
    s.N = 1, s.C = 24, s.K = 20, s.nsp = 2;
    s.in[0] = s.in[1] = 4, s.ker[0] = s.ker[1] = 3, s.pad[0] = s.pad[1] = 1;  // cuConv's 4x4 3x3, narrowed
    checkAlgorithmOn(CONVX_ALGO_FILTER_TRIM, s);
    s.xFmt = s.yFmt = s.wFmt = CONVX_TENSOR_NHWC, s.beta = 0.5, s.alpha = -1.25;
    checkAlgorithmOn(CONVX_ALGO_FILTER_TRIM, s);
    s = Spec();
    s.nsp = 1, s.C = 3, s.K = 5, s.in[0] = 1, s.ker[0] = 4, s.pad[0] = 6, s.stride[0] = 2;  // one input, most outputs tap nothing
    checkAlgorithmOn(CONVX_ALGO_FILTER_TRIM, s);
    s = Spec();
    s.nsp = 2, s.C = 2, s.K = 9, s.in[0] = 3, s.in[1] = 37, s.ker[0] = 1, s.ker[1] = 7, s.pad[1] = 3;  // long row: many full tiles
    s.mode = CONVX_CONVOLUTION;
    checkAlgorithmOn(CONVX_ALGO_FILTER_TRIM, s);
}

TEST_CASE("filter_trim: bitwise identical for any thread count", "[filter_trim][conformance]") {
    Spec s;
    s.N = 2, s.C = 5, s.K = 7, s.nsp = 2;
    s.in[0] = 9, s.in[1] = 13, s.ker[0] = s.ker[1] = 3, s.pad[0] = s.pad[1] = 1;
    Case c(s);
    testutil::Handle h;
    c.fill();
    const Buffer prior = c.output();
    c.setThreads(1);
    REQUIRE_CONVX_OK(c.run(h.h, CONVX_ALGO_FILTER_TRIM));
    const Buffer one = c.output();
    for (int t : {2, 3, 0}) {
        c.output() = prior;
        c.setThreads(t);
        REQUIRE_CONVX_OK(c.run(h.h, CONVX_ALGO_FILTER_TRIM));
        std::string detail;
        INFO("threads " << t);
        CHECK(c.compareWith(one, prior, 0.0, &detail));
    }
}

TEST_CASE("filter_trim plan: backward-data as a forward correlation with the rotated filter", "[filter_trim][unit]") {
    // forward I 4, kernel 3, pad 0: O 2; dx[i] = sum_t w[t] dy[i - t]. As a forward problem over
    // dy (input 2) with pad 2: output i takes rotated taps t' = 2 - t with 0 <= i - t < 2.
    const convx::Problem p = convx::parseProblem("--dir=bwd_d g1mb1ic1iw4oc1ow2kw3sw1pw0dw0");
    const convx::FilterTrimPlan plan = convx::makeFilterTrimPlan(p);
    const TrimAxis& a = plan.axis[2];
    CHECK((a.I == 2 && a.O == 4 && a.p == 2 && a.s == 1));
    CHECK(a.tBegin == std::vector<int64_t>{2, 1, 0, 0});
    CHECK(a.tEnd == std::vector<int64_t>{3, 3, 2, 1});
    CHECK(plan.macsExecuted == 6.0);  // = the forward's taps: every (output, tap) pair once
    const convx::ForwardView v = convx::forwardViewOf(p);
    CHECK((v.g.C == 1 && v.g.K == 1 && v.g.I[2] == 2 && v.g.O[2] == 4 && v.g.flip));
    // a dilated, grouped one: the executed MACs equal the forward problem's
    const convx::Problem q = convx::parseProblem("--dir=bwd_d g2mb2ic6ih7iw5oc4kh3kw2sh1sw1ph3pw0dh1dw2");
    const convx::Problem qf = convx::parseProblem("--dir=fwd g2mb2ic6ih7iw5oc4kh3kw2sh1sw1ph3pw0dh1dw2");
    CHECK(convx::makeFilterTrimPlan(q).macsExecuted == convx::makeFilterTrimPlan(qf).macsExecuted);
}

TEST_CASE("filter_trim: backward-data at stride 1, f32 and f64", "[filter_trim][conformance]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_FILTER_TRIM;
    c.dir = Dir::BwdData;
    c.count = 40;
    c.seed = 361;
    c.shape = [](std::mt19937_64&, Spec& s) {
        for (int i = 0; i < s.nsp; ++i) s.stride[i] = 1;
        return true;
    };
    CHECK(checkAlgorithm(c) > 0);
    c.dt = CONVX_DATA_DOUBLE;
    c.count = 20;
    c.seed = 362;
    CHECK(checkAlgorithm(c) > 0);
    c.dt = CONVX_DATA_FLOAT;
    c.gen.smallMaps = true;
    c.seed = 363;
    CHECK(checkAlgorithm(c) > 0);
    c.gen.smallMaps = false;
    c.gen.depthwise = true;
    c.gen.betaKind = 2;
    c.seed = 364;
    CHECK(checkAlgorithm(c) > 0);
}

TEST_CASE("filter_trim: strided backward-data is rejected with a reason", "[filter_trim][unit]") {
    AlgoCheck c;
    c.algo = CONVX_ALGO_FILTER_TRIM;
    c.dir = Dir::BwdData;
    c.count = 10;
    c.seed = 371;
    c.mustApply = false;
    c.shape = [](std::mt19937_64&, Spec& s) {
        s.stride[0] = 2;
        return true;
    };
    CHECK(checkAlgorithm(c) == 0);
}
