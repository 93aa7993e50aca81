// Conformance: the CPU float64 reference (CONVX_ALGO_REFERENCE, through the C API) against the
// test's independent naive oracle, for all directions, geometries, layouts, strides, modes,
// scalings and data types; every registered CPU algorithm against the reference; and the
// algorithm queries (Get, Find, workspace size, max count).
#include <algorithm>
#include <map>
#include <numeric>

#include "conv_harness.h"
#include "execute.h"
#include "problem.h"
#include "registry.h"

using harness::Buffer;
using harness::Case;
using harness::Dir;
using harness::GenOptions;
using harness::Spec;
using harness::findAlgos;
using harness::getAlgos;
using harness::workspaceOf;

namespace {

struct Coverage {
    std::map<std::string, int> n;
    void count(const Spec& s) {
        n["nsp" + std::to_string(s.nsp)]++;
        if (s.G > 1 && s.G == s.C) n[s.K == s.C ? "depthwise x1" : "depthwise x2"]++;
        else if (s.G > 1) n["grouped"]++;
        if (s.xGapped || s.yGapped) n["gapped"]++;
        if (s.xFmt != s.yFmt || s.xFmt != s.wFmt) n["mixed layouts"]++;
        if (s.mode == CONVX_CONVOLUTION) n["convolution mode"]++;
        if (s.beta == 0) n["beta 0"]++;
        else if (s.beta == 1) n["beta 1"]++;
        else n["random beta"]++;
        for (int i = 0; i < s.nsp; ++i) {
            if (s.in[i] < s.ker[i]) n["map smaller than kernel"]++;
            if (s.pad[i] > s.ker[i]) n["pad larger than kernel"]++;
            if (s.stride[i] > 1) n["strided"]++;
            if (s.dil[i] > 1) n["dilated"]++;
        }
        if (s.compute == CONVX_DATA_HALF) n["half accumulation"]++;
    }
    std::string text() const {
        std::string t;
        for (const auto& kv : n) t += kv.first + ": " + std::to_string(kv.second) + "; ";
        return t;
    }
};

// Runs `count` random problems of one direction and data type through CONVX_ALGO_REFERENCE and
// checks each against the oracle. Stops after a few failures to keep the report readable.
void runAgainstOracle(Dir dir, convxDataType_t dt, int count, uint64_t seed, const GenOptions& opt, Coverage* cov = nullptr) {
    testutil::Handle h;
    std::mt19937_64 rng(seed);
    int failures = 0;
    for (int i = 0; i < count && failures < 5; ++i) {
        Spec s = harness::randomSpec(rng, dir, dt, opt);
        if (cov) cov->count(s);
        Case c(s);
        c.fill();
        const Buffer prior = c.output();
        const std::vector<double> want = c.oracle(prior);
        INFO("case " << i << ": " << c.describe());
        const convxStatus_t st = c.run(h, CONVX_ALGO_REFERENCE);
        INFO("status " << convxGetErrorString(st) << " " << (st ? testutil::lastError() : std::string()));
        REQUIRE(st == CONVX_STATUS_SUCCESS);
        std::string detail;
        const bool ok = c.verify(want, prior, &detail);
        INFO(detail);
        CHECK(ok);
        failures += !ok;
    }
}

const Dir kDirs[] = {Dir::Fwd, Dir::BwdData, Dir::BwdFilter};
const convxDataType_t kTypes[] = {CONVX_DATA_FLOAT, CONVX_DATA_DOUBLE, CONVX_DATA_HALF, CONVX_DATA_BFLOAT16};

void randomSuite(Dir dir, convxDataType_t dt, int base, uint64_t seed) {
    Coverage cov;
    const int count = testutil::scaled(base);
    runAgainstOracle(dir, dt, count, seed, GenOptions(), &cov);
    INFO(cov.text());
    if (count >= 60) {  // the generator covers every feature at full scale
        const char* needed[] = {"nsp1", "nsp2", "nsp3", "grouped", "gapped", "mixed layouts", "convolution mode", "beta 0",
                                "beta 1", "random beta", "map smaller than kernel", "pad larger than kernel", "strided",
                                "dilated"};
        for (const char* k : needed) {
            INFO("feature " << k);
            CHECK(cov.n[k] > 0);
        }
        CHECK(cov.n["depthwise x1"] + cov.n["depthwise x2"] > 0);
    }
}

}  // namespace

// ---------------------------------------------------------------- random problems, per direction and type

TEST_CASE("conformance: fwd f32 reference vs naive oracle", "[conformance]") { randomSuite(Dir::Fwd, CONVX_DATA_FLOAT, 160, 1001); }
TEST_CASE("conformance: fwd f64 reference vs naive oracle", "[conformance]") { randomSuite(Dir::Fwd, CONVX_DATA_DOUBLE, 100, 1002); }
TEST_CASE("conformance: fwd f16 reference vs naive oracle", "[conformance]") { randomSuite(Dir::Fwd, CONVX_DATA_HALF, 80, 1003); }
TEST_CASE("conformance: fwd bf16 reference vs naive oracle", "[conformance]") { randomSuite(Dir::Fwd, CONVX_DATA_BFLOAT16, 80, 1004); }

TEST_CASE("conformance: bwd_d f32 reference vs naive oracle", "[conformance]") { randomSuite(Dir::BwdData, CONVX_DATA_FLOAT, 160, 2001); }
TEST_CASE("conformance: bwd_d f64 reference vs naive oracle", "[conformance]") { randomSuite(Dir::BwdData, CONVX_DATA_DOUBLE, 100, 2002); }
TEST_CASE("conformance: bwd_d f16 reference vs naive oracle", "[conformance]") { randomSuite(Dir::BwdData, CONVX_DATA_HALF, 80, 2003); }
TEST_CASE("conformance: bwd_d bf16 reference vs naive oracle", "[conformance]") { randomSuite(Dir::BwdData, CONVX_DATA_BFLOAT16, 80, 2004); }

TEST_CASE("conformance: bwd_w f32 reference vs naive oracle", "[conformance]") { randomSuite(Dir::BwdFilter, CONVX_DATA_FLOAT, 160, 3001); }
TEST_CASE("conformance: bwd_w f64 reference vs naive oracle", "[conformance]") { randomSuite(Dir::BwdFilter, CONVX_DATA_DOUBLE, 100, 3002); }
TEST_CASE("conformance: bwd_w f16 reference vs naive oracle", "[conformance]") { randomSuite(Dir::BwdFilter, CONVX_DATA_HALF, 80, 3003); }
TEST_CASE("conformance: bwd_w bf16 reference vs naive oracle", "[conformance]") { randomSuite(Dir::BwdFilter, CONVX_DATA_BFLOAT16, 80, 3004); }

// ---------------------------------------------------------------- focused families

TEST_CASE("conformance: depthwise with channel multiplier 1 and 2", "[conformance]") {
    GenOptions o;
    o.depthwise = true;
    uint64_t seed = 4000;
    for (Dir d : kDirs)
        for (convxDataType_t t : {CONVX_DATA_FLOAT, CONVX_DATA_DOUBLE}) {
            INFO(harness::dirName(d) << " " << harness::dtName(t));
            runAgainstOracle(d, t, testutil::scaled(20), ++seed, o);
        }
}

TEST_CASE("conformance: maps smaller than the kernel with large padding", "[conformance]") {
    GenOptions o;
    o.smallMaps = true;
    uint64_t seed = 5000;
    for (Dir d : kDirs)
        for (convxDataType_t t : kTypes) {
            INFO(harness::dirName(d) << " " << harness::dtName(t));
            runAgainstOracle(d, t, testutil::scaled(10), ++seed, o);
        }
}

TEST_CASE("conformance: non-packed strided x and y, gaps left untouched", "[conformance]") {
    GenOptions o;
    o.gapped = true;
    uint64_t seed = 6000;
    for (Dir d : kDirs)
        for (convxDataType_t t : kTypes) {
            INFO(harness::dirName(d) << " " << harness::dtName(t));
            runAgainstOracle(d, t, testutil::scaled(10), ++seed, o);
        }
}

TEST_CASE("conformance: beta 0 never reads the NaN-poisoned output", "[conformance]") {
    GenOptions o;
    o.betaKind = 0;
    uint64_t seed = 7000;
    for (Dir d : kDirs)
        for (convxDataType_t t : kTypes) {
            INFO(harness::dirName(d) << " " << harness::dtName(t));
            runAgainstOracle(d, t, testutil::scaled(8), ++seed, o);
        }
}

TEST_CASE("conformance: beta 1 and random beta accumulate into the prior output", "[conformance]") {
    uint64_t seed = 8000;
    for (int kind : {1, 2}) {
        GenOptions o;
        o.betaKind = kind;
        for (Dir d : kDirs)
            for (convxDataType_t t : kTypes) {
                INFO(harness::dirName(d) << " " << harness::dtName(t) << " beta kind " << kind);
                runAgainstOracle(d, t, testutil::scaled(6), ++seed, o);
            }
    }
}

TEST_CASE("conformance: 1-D, 2-D and 3-D each in every direction", "[conformance]") {
    uint64_t seed = 9000;
    for (int nsp = 1; nsp <= 3; ++nsp) {
        GenOptions o;
        o.nsp = nsp;
        for (Dir d : kDirs) {
            INFO(nsp << "-D " << harness::dirName(d));
            runAgainstOracle(d, CONVX_DATA_FLOAT, testutil::scaled(12), ++seed, o);
        }
    }
}

// ---------------------------------------------------------------- known values, identities, determinism

TEST_CASE("conformance: hand-computed 2-D example in both modes", "[conformance]") {
    // x = 1..9 (3x3), w = [[1,2],[3,4]]: cross-correlation gives 37 47 / 67 77, convolution
    // (the filter flipped) gives 23 33 / 53 63; and the oracle agrees.
    testutil::Handle h;
    for (convxConvolutionMode_t mode : {CONVX_CROSS_CORRELATION, CONVX_CONVOLUTION}) {
        Spec s;
        s.dir = Dir::Fwd;
        s.dt = CONVX_DATA_DOUBLE;
        s.compute = CONVX_DATA_DOUBLE;
        s.mode = mode;
        s.nsp = 2;
        s.in[0] = s.in[1] = 3;
        s.ker[0] = s.ker[1] = 2;
        Case c(s);
        for (int i = 0; i < 9; ++i) c.x.set(i, i + 1);
        for (int i = 0; i < 4; ++i) c.w.set(i, i + 1);
        for (int i = 0; i < 4; ++i) c.y.setNaN(i);
        const Buffer prior = c.y;
        const std::vector<double> want = c.oracle(prior);
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE));
        const double xc[4] = {37, 47, 67, 77}, cv[4] = {23, 33, 53, 63};
        for (int i = 0; i < 4; ++i) {
            const double expect = mode == CONVX_CONVOLUTION ? cv[i] : xc[i];
            CHECK(c.y.get(i) == expect);
            CHECK(want[i] == expect);
        }
        // backward data of a one-hot dy picks out the (flipped) filter at the right place
        Spec b = s;
        b.dir = Dir::BwdData;
        Case d(b);
        for (int i = 0; i < 4; ++i) d.w.set(i, i + 1);
        for (int i = 0; i < 4; ++i) d.y.set(i, i == 3 ? 1.0 : 0.0);  // dy[1,1] = 1
        const Buffer dprior = d.x;
        REQUIRE_CONVX_OK(d.run(h, CONVX_ALGO_REFERENCE));
        // dx[i] = w[t] where 1 + t = i (stride 1, no pad): dx rows 1..2, cols 1..2 hold w
        const double dxc[9] = {0, 0, 0, 0, 1, 2, 0, 3, 4}, dcv[9] = {0, 0, 0, 0, 4, 3, 0, 2, 1};
        const std::vector<double> dwant = d.oracle(dprior);
        for (int i = 0; i < 9; ++i) {
            const double expect = mode == CONVX_CONVOLUTION ? dcv[i] : dxc[i];
            CHECK(d.x.get(i) == expect);
            CHECK(dwant[i] == expect);
        }
    }
}

TEST_CASE("conformance: the three directions are adjoint (f64)", "[conformance]") {
    // <dy, fwd(x, w)> == <bwd_d(dy, w), x> == <bwd_w(x, dy), w> for any x, w, dy: a check that
    // ties the library's three directions together without any oracle.
    testutil::Handle h;
    std::mt19937_64 rng(10000);
    const int count = testutil::scaled(60);
    for (int i = 0; i < count; ++i) {
        GenOptions o;
        o.betaKind = 0;
        Spec s = harness::randomSpec(rng, Dir::Fwd, CONVX_DATA_DOUBLE, o);
        s.alpha = 1.0;
        Spec sd = s, sw = s;
        sd.dir = Dir::BwdData;
        sw.dir = Dir::BwdFilter;
        Case f(s), d(sd), w(sw);
        f.fill();
        // same inputs in all three cases (same geometry and seed)
        d.w = f.w;
        d.y.store.assign(d.y.store.size(), 0);
        w.x = f.x;
        std::mt19937_64 r2(s.seed + 1);
        for (int64_t k = 0; k < f.yg.span; ++k) {
            const double v = f.yg.covered[static_cast<size_t>(k)] ? std::uniform_real_distribution<double>(-1, 1)(r2) : std::nan("");
            d.y.set(k, v);
        }
        w.y = d.y;
        for (int64_t k = 0; k < d.xg.span; ++k) d.x.setNaN(k);
        for (int64_t k = 0; k < w.wg.span; ++k) w.w.setNaN(k);
        INFO("case " << i << ": " << f.describe());
        REQUIRE_CONVX_OK(f.run(h, CONVX_ALGO_REFERENCE));
        REQUIRE_CONVX_OK(d.run(h, CONVX_ALGO_REFERENCE));
        REQUIRE_CONVX_OK(w.run(h, CONVX_ALGO_REFERENCE));
        long double a = 0, b = 0, c = 0, scale = 0;
        for (int64_t k = 0; k < f.yg.span; ++k)
            if (f.yg.covered[static_cast<size_t>(k)]) {
                a += static_cast<long double>(d.y.get(k)) * f.y.get(k);
                scale += std::fabs(d.y.get(k) * f.y.get(k));
            }
        for (int64_t k = 0; k < f.xg.span; ++k)
            if (f.xg.covered[static_cast<size_t>(k)]) {
                b += static_cast<long double>(d.x.get(k)) * f.x.get(k);
                scale += std::fabs(d.x.get(k) * f.x.get(k));
            }
        for (int64_t k = 0; k < f.wg.span; ++k) {
            c += static_cast<long double>(w.w.get(k)) * f.w.get(k);
            scale += std::fabs(w.w.get(k) * f.w.get(k));
        }
        const double tol = 1e-11 * static_cast<double>(scale) + 1e-300;
        CHECK(std::fabs(static_cast<double>(a - b)) <= tol);
        CHECK(std::fabs(static_cast<double>(a - c)) <= tol);
    }
}

TEST_CASE("conformance: results are bitwise identical for any thread count", "[conformance]") {
    testutil::Handle h;
    std::mt19937_64 rng(11000);
    const int count = testutil::scaled(30);
    for (int i = 0; i < count; ++i) {
        const Dir dir = kDirs[i % 3];
        const convxDataType_t dt = kTypes[(i / 3) % 4];
        Spec s = harness::randomSpec(rng, dir, dt);
        Case c(s);
        c.fill();
        const Buffer prior = c.output();
        INFO("case " << i << ": " << c.describe());
        Buffer first;
        for (int threads : {1, 2, 3, 0}) {
            c.output() = prior;
            c.setThreads(threads);
            REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE));
            if (threads == 1) {
                first = c.output();
                continue;
            }
            INFO("threads " << threads);
            std::string detail;
            const bool same = c.compareWith(first, prior, 0.0, &detail);
            INFO(detail);
            CHECK(same);
        }
    }
}

// ---------------------------------------------------------------- every registered CPU algorithm

namespace {

void everyAlgorithm(Dir dir, uint64_t seed) {
    const convx::Direction cdir = static_cast<convx::Direction>(dir);
    const auto algos = convx::algorithmsFor(CONVX_BACKEND_CPU, cdir);
    REQUIRE(!algos.empty());
    bool referenceListed = false;
    for (const convx::Algorithm* a : algos) referenceListed |= a->id() == CONVX_ALGO_REFERENCE;
    CHECK(referenceListed);

    testutil::Handle h;
    std::mt19937_64 rng(seed);
    const int count = testutil::scaled(60);
    std::map<std::string, int> ran, skipped;
    for (int i = 0; i < count; ++i) {
        const convxDataType_t dt = kTypes[i % 4];
        GenOptions o;
        o.allowHalfAcc = false;  // half accumulation is not held to the f16 tolerance below
        Spec s = harness::randomSpec(rng, dir, dt, o);
        Case c(s);
        const convx::Problem p = convx::problemOf(cdir, {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()});
        c.fill();
        const Buffer prior = c.output();
        INFO("case " << i << ": " << c.describe());
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE));
        const Buffer reference = c.output();
        for (const convx::Algorithm* a : algos) {
            INFO("algorithm " << a->name());
            const convx::Applicability ap = a->check(p);
            if (!ap.ok) {
                skipped[a->name()]++;
                continue;
            }
            ran[a->name()]++;
            size_t ws = 0;
            convxStatus_t st = CONVX_STATUS_INTERNAL_ERROR;
            switch (dir) {
                case Dir::Fwd:
                    st = convxGetConvolutionForwardWorkspaceSize(h, c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc(), a->id(), &ws);
                    break;
                case Dir::BwdData:
                    st = convxGetConvolutionBackwardDataWorkspaceSize(h, c.wDesc(), c.yDesc(), c.convDesc(), c.xDesc(), a->id(), &ws);
                    break;
                case Dir::BwdFilter:
                    st = convxGetConvolutionBackwardFilterWorkspaceSize(h, c.xDesc(), c.yDesc(), c.convDesc(), c.wDesc(), a->id(), &ws);
                    break;
            }
            REQUIRE(st == CONVX_STATUS_SUCCESS);
            CHECK(ws == a->workspaceSize(p));
            std::vector<uint64_t> workspace(ws / 8 + 1);
            c.output() = prior;
            st = c.run(h, a->id(), ws ? workspace.data() : nullptr, ws);
            INFO(convxGetErrorString(st) << " " << (st ? testutil::lastError() : std::string()));
            REQUIRE(st == CONVX_STATUS_SUCCESS);
            std::string detail;
            const double tol = a->id() == CONVX_ALGO_REFERENCE ? 0.0 : harness::algoTolerance(dt);
            const bool ok = c.compareWith(reference, prior, tol, &detail);
            INFO(detail);
            CHECK(ok);
        }
    }
    std::string summary;
    for (const auto& kv : ran) summary += kv.first + " ran " + std::to_string(kv.second) + "; ";
    for (const auto& kv : skipped) summary += kv.first + " not applicable " + std::to_string(kv.second) + "; ";
    INFO(summary);
    CHECK(ran["reference"] == count);
}

}  // namespace

TEST_CASE("conformance: every CPU algorithm matches the reference, fwd", "[conformance][algorithms]") { everyAlgorithm(Dir::Fwd, 12001); }
TEST_CASE("conformance: every CPU algorithm matches the reference, bwd_d", "[conformance][algorithms]") { everyAlgorithm(Dir::BwdData, 12002); }
TEST_CASE("conformance: every CPU algorithm matches the reference, bwd_w", "[conformance][algorithms]") { everyAlgorithm(Dir::BwdFilter, 12003); }

// ---------------------------------------------------------------- queries: Get, Find, workspace, max count

namespace {

convxStatus_t maxCount(convxHandle_t h, Dir d, int* n) {
    switch (d) {
        case Dir::Fwd: return convxGetConvolutionForwardAlgorithmMaxCount(h, n);
        case Dir::BwdData: return convxGetConvolutionBackwardDataAlgorithmMaxCount(h, n);
        case Dir::BwdFilter: return convxGetConvolutionBackwardFilterAlgorithmMaxCount(h, n);
    }
    return CONVX_STATUS_INTERNAL_ERROR;
}

}  // namespace

TEST_CASE("api: algorithm max count matches the CPU registry", "[c-api][algorithms]") {
    testutil::Handle h;
    for (Dir d : kDirs) {
        int n = -1;
        REQUIRE_CONVX_OK(maxCount(h, d, &n));
        CHECK(n >= 1);
        CHECK(n == static_cast<int>(convx::algorithmsFor(CONVX_BACKEND_CPU, static_cast<convx::Direction>(d)).size()));
    }
}

TEST_CASE("api: GetAlgorithm ranks applicable algorithms first, reference with SUCCESS", "[c-api][algorithms]") {
    testutil::Handle h;
    std::mt19937_64 rng(13000);
    for (int i = 0; i < testutil::scaled(12); ++i) {
        const Dir d = kDirs[i % 3];
        Case c(harness::randomSpec(rng, d, kTypes[i % 4]));
        INFO("case " << i << ": " << c.describe());
        int maxN = 0;
        REQUIRE_CONVX_OK(maxCount(h, d, &maxN));
        std::vector<convxAlgoPerf_t> r(static_cast<size_t>(maxN) + 4);
        for (auto& e : r) e.memory = 0xDEADBEEF;  // sentinel
        int returned = -1;
        REQUIRE_CONVX_OK(getAlgos(h, c, static_cast<int>(r.size()), &returned, r.data()));
        CHECK(returned >= 1);
        CHECK(returned <= maxN);
        CHECK(r[static_cast<size_t>(returned)].memory == 0xDEADBEEF);  // nothing written past returned
        bool seenFailure = false, seenReference = false;
        for (int k = 0; k < returned; ++k) {
            const convxAlgoPerf_t& e = r[static_cast<size_t>(k)];
            CHECK(convxGetAlgorithmName(e.algo) != nullptr);
            // Get runs nothing: time is the heuristic's estimate (> 0) or -1, always -1 when not applicable
            CHECK((e.time == -1.0f || (e.status == CONVX_STATUS_SUCCESS && e.time > 0.0f)));
            if (e.status != CONVX_STATUS_SUCCESS) seenFailure = true;
            else CHECK_FALSE(seenFailure);  // applicable ones first
            if (e.algo == CONVX_ALGO_REFERENCE) {
                seenReference = true;
                CHECK(e.status == CONVX_STATUS_SUCCESS);
                CHECK(e.memory == 0);
                CHECK(e.determinism == CONVX_DETERMINISTIC);
            }
            CHECK(e.mathType == c.spec().math);
        }
        CHECK(seenReference);
        // requested_count 1 returns the selector's first choice
        convxAlgoPerf_t one;
        REQUIRE_CONVX_OK(getAlgos(h, c, 1, &returned, &one));
        CHECK(returned == 1);
        CHECK(one.algo == r[0].algo);
        CHECK(one.status == CONVX_STATUS_SUCCESS);
    }
}

TEST_CASE("api: FindAlgorithm times the applicable algorithms and leaves a valid result", "[c-api][algorithms]") {
    testutil::Handle h;
    std::mt19937_64 rng(14000);
    for (int i = 0; i < testutil::scaled(9); ++i) {
        const Dir d = kDirs[i % 3];
        GenOptions o;
        o.betaKind = 0;
        Spec s = harness::randomSpec(rng, d, i % 2 ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT, o);
        s.alpha = 1.0;  // Find runs with alpha 1, beta 0
        Case c(s);
        c.fill();
        const Buffer prior = c.output();
        const std::vector<double> want = c.oracle(prior);
        INFO("case " << i << ": " << c.describe());
        int maxN = 0;
        REQUIRE_CONVX_OK(maxCount(h, d, &maxN));
        std::vector<convxAlgoPerf_t> r(static_cast<size_t>(maxN));
        int returned = -1;
        REQUIRE_CONVX_OK(findAlgos(h, c, maxN, &returned, r.data(), nullptr, 0));
        CHECK(returned >= 1);
        CHECK(returned <= maxN);
        bool seenReference = false, seenFailure = false;
        float last = 0;
        for (int k = 0; k < returned; ++k) {
            const convxAlgoPerf_t& e = r[static_cast<size_t>(k)];
            INFO("entry " << k << ": " << convxGetAlgorithmName(e.algo) << " " << convxGetErrorString(e.status) << " " << e.time << " ms");
            if (e.status == CONVX_STATUS_SUCCESS) {
                CHECK_FALSE(seenFailure);
                CHECK(e.time >= 0.0f);
                CHECK(e.time >= last);  // fastest first
                last = e.time;
            } else {
                seenFailure = true;
                CHECK(e.time == -1.0f);
            }
            if (e.algo == CONVX_ALGO_REFERENCE) {
                seenReference = true;
                CHECK(e.status == CONVX_STATUS_SUCCESS);
            }
        }
        CHECK(seenReference);
        // The output was overwritten by the timed runs (alpha 1, beta 0): it is a valid result.
        std::string detail;
        const bool ok = c.verify(want, prior, &detail);
        INFO(detail);
        CHECK(ok);
    }
}

TEST_CASE("api: workspace size queries", "[c-api][algorithms]") {
    testutil::Handle h;
    std::mt19937_64 rng(15000);
    for (int i = 0; i < testutil::scaled(12); ++i) {
        const Dir d = kDirs[i % 3];
        Case c(harness::randomSpec(rng, d, kTypes[i % 4]));
        INFO("case " << i << ": " << c.describe());
        const convx::Problem p = convx::problemOf(static_cast<convx::Direction>(d), {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()});
        size_t ws = 12345;
        REQUIRE_CONVX_OK(workspaceOf(h, c, CONVX_ALGO_REFERENCE, &ws));
        CHECK(ws == 0);
        // AUTO answers for the algorithm AUTO picks: the first applicable one in rank order.
        ws = 12345;
        REQUIRE_CONVX_OK(workspaceOf(h, c, CONVX_ALGO_AUTO, &ws));
        const convx::Algorithm* first = nullptr;
        for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir))
            if (!first && a->check(p).ok) first = a;
        REQUIRE(first != nullptr);
        CHECK(ws == first->workspaceSize(p));
        for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir)) {
            INFO(a->name());
            ws = 12345;
            const convxStatus_t st = workspaceOf(h, c, a->id(), &ws);
            if (a->check(p).ok) {
                CHECK(st == CONVX_STATUS_SUCCESS);
                CHECK(ws == a->workspaceSize(p));
            } else {
                CHECK(st == CONVX_STATUS_NOT_SUPPORTED_ALGORITHM);
            }
        }
        // The reference runs with no workspace at all (NULL, 0 bytes) — and with an unneeded one.
        c.fill();
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE, nullptr, 0));
        std::vector<uint64_t> spare(16);
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE, spare.data(), spare.size() * 8));
    }
}
