// CONVX_ALGO_SPLIT_K: unit tests of the plan (split rule, chunk bounds, workspace, column map,
// the kernels' fast division) and targeted conformance families of the CPU executor, plus a
// bitwise determinism check across runs and thread counts.
#include <algorithm>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "algo_check.h"
#include "execute.h"
#include "geometry.h"
#include "problem.h"
#include "registry.h"
#include "split_k_plan.h"
#include "test_util.h"

using convx::Problem;
using convx::SplitKPlan;
using harness::AlgoCheck;
using harness::Dir;
using harness::Spec;

namespace {

Problem bwdW(const std::string& desc, const char* dt = "f32", const char* tag = "nchw") {
    return convx::parseProblem(std::string("--dir=bwd_w --dt=") + dt + " --tag=" + tag + " " + desc);
}

// A random valid backward-filter problem string over a wide range of shapes.
Problem randomProblem(std::mt19937_64& rng) {
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (;;) {
        const int nsp = uni(1, 3);
        const int G = uni(0, 2) == 0 ? uni(2, 4) : 1;
        const int C = G * uni(1, 40), K = G * uni(1, 90), N = uni(1, 300);
        std::ostringstream s;
        s << "g" << G << "mb" << N << "ic" << C;
        const char* letters[3] = {"d", "h", "w"};
        int in[3], k[3], st[3], pd[3], dl[3];
        bool ok = true;
        for (int i = 0; i < nsp; ++i) {
            in[i] = uni(1, nsp == 3 ? 9 : 20), k[i] = uni(1, 4), st[i] = uni(1, 3), pd[i] = uni(0, 4), dl[i] = uni(1, 2);
            const int out = (in[i] + 2 * pd[i] - ((k[i] - 1) * dl[i] + 1));
            if (out < 0) ok = false;
        }
        if (!ok) continue;
        for (int i = 0; i < nsp; ++i) s << "i" << letters[3 - nsp + i] << in[i];
        s << "oc" << K;
        for (int i = 0; i < nsp; ++i) s << "k" << letters[3 - nsp + i] << k[i];
        for (int i = 0; i < nsp; ++i) s << "s" << letters[3 - nsp + i] << st[i];
        for (int i = 0; i < nsp; ++i) s << "p" << letters[3 - nsp + i] << pd[i];
        for (int i = 0; i < nsp; ++i) s << "d" << letters[3 - nsp + i] << dl[i] - 1;
        const char* dt = uni(0, 3) == 0 ? "f64" : "f32";
        const char* tag = uni(0, 1) ? "nhwc" : "nchw";
        Problem p = bwdW(s.str(), dt, tag);
        if (uni(0, 1)) p.mode = CONVX_CONVOLUTION;
        return p;
    }
}

const convx::Algorithm* cpuSplitK() {
    for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, convx::Direction::BackwardFilter))
        if (a->id() == CONVX_ALGO_SPLIT_K) return a;
    return nullptr;
}

}  // namespace

TEST_CASE("split_k plan: hand-checked problems", "[split_k][plan]") {
    SECTION("small map, batch 64: the reduction is split, chunks of 256") {
        // M = 64, Ncols = 64*9 = 576 (9 tiles), L = 64*16 = 1024: 30 wanted, 1024/256 = 4 allowed.
        const SplitKPlan pl = convx::makeSplitKPlan(bwdW("g1mb64ic64ih4iw4oc64oh4ow4kh3kw3sh1sw1ph1pw1dh0dw0"));
        CHECK(pl.M == 64);
        CHECK(pl.Ncols == 576);
        CHECK(pl.L == 1024);
        CHECK(pl.tiles == 9);
        CHECK(pl.splits == 4);
        CHECK(pl.chunkLen == 256);
        CHECK_FALSE(pl.tapMajor);
        CHECK(pl.workspaceBytes() == size_t(4) * 64 * 576 * 4);
    }
    SECTION("ResNet-50 3x3 s2 at batch 32: 8 chunks") {
        // 128->128 3x3 s2 @56: M = 128 (2 tiles) x Ncols 1152 (18 tiles) = 36 tiles, L = 32*28*28.
        const SplitKPlan pl = convx::makeSplitKPlan(bwdW("g1mb32ic128ih56iw56oc128oh28ow28kh3kw3sh2sw2ph1pw1dh0dw0", "f32", "nhwc"));
        CHECK(pl.tiles == 36);
        CHECK(pl.L == 25088);
        CHECK(pl.splits == 8);  // ceil(264 / 36) = 8
        CHECK(pl.chunkLen == 3136);
        CHECK(pl.tapMajor);
        CHECK(pl.workspaceBytes() == size_t(8) * 128 * 1152 * 4);
    }
    SECTION("a GEMM with enough tiles is not split and needs no workspace") {
        const SplitKPlan pl = convx::makeSplitKPlan(bwdW("g1mb32ic512ih14iw14oc512oh7ow7kh3kw3sh2sw2ph1pw1dh0dw0"));
        CHECK(pl.tiles == 8 * 72);
        CHECK(pl.splits == 1);
        CHECK(pl.chunkLen == 32 * 49);
        CHECK(pl.workspaceBytes() == 0);
    }
    SECTION("a tiny GEMM with a long reduction is capped at 64 chunks, f64 partials") {
        const SplitKPlan pl = convx::makeSplitKPlan(bwdW("g1mb256ic3ih32iw32oc4oh32ow32kh1kw1sh1sw1ph0pw0dh0dw0", "f64"));
        CHECK(pl.tiles == 1);
        CHECK(pl.splits == 64);
        CHECK(pl.chunkLen == 256 * 1024 / 64);
        CHECK(pl.accBytes == 8);
        CHECK(pl.workspaceBytes() == size_t(64) * 4 * 3 * 8);
    }
    SECTION("a short reduction is never split") {
        const SplitKPlan pl = convx::makeSplitKPlan(bwdW("g1mb1ic4ih8iw8oc4oh8ow8kh3kw3sh1sw1ph1pw1dh0dw0"));
        CHECK(pl.splits == 1);
        CHECK(pl.chunkLen == 64);
    }
    SECTION("depthwise: one row per group") {
        const SplitKPlan pl = convx::makeSplitKPlan(bwdW("g144mb8ic144ih56iw56oc144oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0"));
        CHECK(pl.M == 1);
        CHECK(pl.Ncols == 9);
        CHECK(pl.tiles == 144);
        CHECK(pl.splits == 2);
        CHECK(pl.thin());  // both executors' thin paths take it
    }
    SECTION("thin only for one small tile per group") {
        CHECK_FALSE(convx::makeSplitKPlan(bwdW("g1mb64ic64ih4iw4oc64oh4ow4kh3kw3sh1sw1ph1pw1dh0dw0")).thin());
        CHECK(convx::makeSplitKPlan(bwdW("g16mb4ic32ih8iw8oc64oh8ow8kh3kw3sh1sw1ph1pw1dh0dw0")).thin());      // 4 x 18
        CHECK_FALSE(convx::makeSplitKPlan(bwdW("g8mb4ic32ih8iw8oc64oh8ow8kh3kw3sh1sw1ph1pw1dh0dw0")).thin());  // 8 x 36 > 256
        CHECK_FALSE(convx::makeSplitKPlan(bwdW("g2mb4ic32ih8iw8oc64oh8ow8kh3kw3sh1sw1ph1pw1dh0dw0")).thin());  // 32 x 144
    }
    SECTION("the rule itself") {
        CHECK(convx::splitKSplits(264, 1 << 20) == 1);
        CHECK(convx::splitKSplits(1000, 1 << 20) == 1);
        CHECK(convx::splitKSplits(132, 1 << 20) == 2);
        CHECK(convx::splitKSplits(9, 1 << 20) == 30);
        CHECK(convx::splitKSplits(1, 1 << 20) == 64);
        CHECK(convx::splitKSplits(1, 255) == 1);
        CHECK(convx::splitKSplits(1, 768) == 3);
    }
}

TEST_CASE("split_k plan: random problems against the definition", "[split_k][plan]") {
    std::mt19937_64 rng(11);
    const int count = testutil::scaled(300);
    for (int t = 0; t < count; ++t) {
        const Problem p = randomProblem(rng);
        INFO(p.str());
        const SplitKPlan pl = convx::makeSplitKPlan(p);
        REQUIRE(pl.wElems() == p.wElems());
        REQUIRE(pl.L == p.N * p.outPixels());
        REQUIRE(pl.splits >= 1);
        REQUIRE(pl.splits <= SplitKPlan::kMaxSplits);
        CHECK(pl.chunkLen % SplitKPlan::kStepL == 0);
        CHECK((pl.splits == 1 || pl.chunkLen >= SplitKPlan::kMinChunk));
        // The chunks cover [0, L) exactly once, in order, none empty.
        int64_t next = 0;
        for (int64_t s = 0; s < pl.splits; ++s) {
            CHECK(pl.chunkBegin(s) == next);
            CHECK(pl.chunkEnd(s) > pl.chunkBegin(s));
            next = pl.chunkEnd(s);
        }
        CHECK(next == pl.L);
        CHECK(pl.workspaceBytes() == (pl.splits > 1 ? size_t(pl.splits) * size_t(p.wElems()) * (p.dtype == convx::DType::F64 ? 8 : 4) : 0));
        REQUIRE(cpuSplitK() != nullptr);
        CHECK(cpuSplitK()->workspaceSize(p) == pl.workspaceBytes());
        // The column map with the filter layout is a bijection onto the filter's elements.
        const convx::Conv3d g = convx::conv3dOf(p);
        std::vector<char> seen(size_t(p.wElems()), 0);
        bool inRange = true, once = true;
        for (int64_t k = 0; k < p.K; ++k)
            for (int64_t col = 0; col < pl.Ncols; ++col) {
                const int64_t o = convx::splitKFilterOffset(g, pl, k, col);
                if (o < 0 || o >= p.wElems()) {
                    inRange = false;
                    continue;
                }
                if (seen[size_t(o)]) once = false;
                seen[size_t(o)] = 1;
            }
        CHECK(inRange);
        CHECK(once);
    }
}

TEST_CASE("split_k plan: fast division by a run-time constant", "[split_k][plan]") {
    std::mt19937_64 rng(5);
    std::vector<uint32_t> divisors = {1, 2, 3, 5, 7, 9, 16, 49, 196, 3136, 12544, 65535, 65536, 1000003, (1u << 31) - 1, 1u << 31};
    for (int i = 0; i < 200; ++i) divisors.push_back(uint32_t(rng() % ((1u << 31) - 1)) + 1);
    const uint32_t edges[] = {0, 1, 2, 3, 4095, 65535, 65536, (1u << 31) - 2, (1u << 31) - 1};
    for (uint32_t d : divisors) {
        const convx::FastDiv f(d);
        for (uint32_t n : edges) {
            INFO(n << " / " << d);
            REQUIRE(f.div(n) == n / d);
            REQUIRE(f.mod(n) == n % d);
        }
        for (int i = 0; i < 200; ++i) {
            const uint32_t n = uint32_t(rng() & 0x7fffffffu);
            INFO(n << " / " << d);
            REQUIRE(f.div(n) == n / d);
        }
        // Around multiples of d, where a wrong magic number shows first.
        for (uint32_t q = 1; q < 50 && uint64_t(q) * d < (1u << 31); ++q) {
            const uint32_t m = q * d;
            REQUIRE(f.div(m) == q);
            REQUIRE(f.div(m - 1) == q - 1);
        }
    }
}

// ---------------------------------------------------------------- conformance families

namespace {

int checkFamily(convxDataType_t dt, uint64_t seed, int count, harness::GenOptions gen, harness::Shape shape) {
    AlgoCheck c;
    c.algo = CONVX_ALGO_SPLIT_K;
    c.dir = Dir::BwdFilter;
    c.dt = dt;
    c.count = count;
    c.seed = seed;
    c.gen = gen;
    c.shape = std::move(shape);
    return harness::checkAlgorithm(c);
}

int uni(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// Widens the channels of a shaped spec so that a group's dw block passes the thin limit
// (SplitKPlan::kThinMaxOutputs): the packed GEMM path instead of the thin one.
bool widen(std::mt19937_64& r, Spec& s) {
    int taps = 1;
    for (int i = 0; i < s.nsp; ++i) taps *= s.ker[i];
    const int cg = uni(r, 2, 6);
    const int kg = std::max(int(SplitKPlan::kThinMaxOutputs) / (cg * taps) + 1, uni(r, 8, 24));
    s.C = s.G * cg, s.K = s.G * kg;
    return true;
}

// The family as shaped (small channels: mostly the thin path) and widened (the GEMM path).
void checkBoth(convxDataType_t dt, uint64_t seed, int count, harness::GenOptions gen, harness::Shape shape) {
    checkFamily(dt, seed, count, gen, shape);
    checkFamily(dt, seed + 1000, count, gen, [shape](std::mt19937_64& r, Spec& s) { return (!shape || shape(r, s)) && widen(r, s); });
}

}  // namespace

TEST_CASE("split_k cpu: small maps with larger batches", "[split_k][cpu]") {
    harness::GenOptions gen;
    gen.nsp = 2;
    checkBoth(CONVX_DATA_FLOAT, 101, 16, gen, [](std::mt19937_64& r, Spec& s) {
        s.N = uni(r, 8, 32);
        s.C = s.G * uni(r, 1, 8), s.K = s.G * uni(r, 1, 12);
        for (int i = 0; i < 2; ++i) s.in[i] = uni(r, 1, 8);
        return true;
    });
}

TEST_CASE("split_k cpu: strides 2 and 3 with 1x1 and 3x3 filters", "[split_k][cpu]") {
    checkBoth(CONVX_DATA_FLOAT, 102, 16, {}, [](std::mt19937_64& r, Spec& s) {
        const int k = uni(r, 0, 1) ? 3 : 1;
        for (int i = 0; i < s.nsp; ++i) {
            s.ker[i] = k, s.stride[i] = uni(r, 2, 3), s.dil[i] = 1, s.pad[i] = k == 3 ? uni(r, 0, 1) : 0;
            s.in[i] = uni(r, 1, s.nsp == 3 ? 7 : 13);
        }
        s.N = uni(r, 1, 8);
        return true;
    });
}

TEST_CASE("split_k cpu: dilation, padding at least the filter, maps smaller than the filter", "[split_k][cpu]") {
    checkBoth(CONVX_DATA_FLOAT, 103, 12, {}, [](std::mt19937_64& r, Spec& s) {
        for (int i = 0; i < s.nsp; ++i) s.dil[i] = uni(r, 2, 3);
        return true;
    });
    checkBoth(CONVX_DATA_FLOAT, 104, 12, {}, [](std::mt19937_64& r, Spec& s) {
        for (int i = 0; i < s.nsp; ++i) s.pad[i] = s.ker[i] + uni(r, 0, 2);
        return true;
    });
    harness::GenOptions small;
    small.smallMaps = true;
    checkBoth(CONVX_DATA_DOUBLE, 105, 10, small, {});
}

TEST_CASE("split_k cpu: groups and depthwise", "[split_k][cpu]") {
    checkBoth(CONVX_DATA_FLOAT, 106, 12, {}, [](std::mt19937_64& r, Spec& s) {
        s.G = uni(r, 2, 4);
        s.C = s.G * uni(r, 1, 5), s.K = s.G * uni(r, 1, 5);
        return true;
    });
    harness::GenOptions dw;
    dw.depthwise = true;
    checkFamily(CONVX_DATA_FLOAT, 107, 12, dw, [](std::mt19937_64& r, Spec& s) {
        s.N = uni(r, 1, 12);
        return true;
    });
}

TEST_CASE("split_k cpu: alpha and beta, beta = 1 accumulation, both layouts", "[split_k][cpu]") {
    harness::GenOptions acc;
    acc.betaKind = 1;
    checkBoth(CONVX_DATA_FLOAT, 108, 10, acc, [](std::mt19937_64& r, Spec& s) {
        s.N = uni(r, 4, 16);
        return true;
    });
    harness::GenOptions any;
    any.betaKind = 2;
    checkBoth(CONVX_DATA_DOUBLE, 109, 10, any, {});
    checkBoth(CONVX_DATA_FLOAT, 110, 10, {}, [](std::mt19937_64& r, Spec& s) {
        s.xFmt = s.yFmt = s.wFmt = uni(r, 0, 1) ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
        return true;
    });
}

TEST_CASE("split_k cpu: 1-D and 3-D", "[split_k][cpu]") {
    harness::GenOptions one;
    one.nsp = 1;
    checkBoth(CONVX_DATA_FLOAT, 111, 10, one, [](std::mt19937_64& r, Spec& s) {
        s.N = uni(r, 1, 16);
        s.in[0] = uni(r, 1, 120);
        return true;
    });
    harness::GenOptions three;
    three.nsp = 3;
    checkBoth(CONVX_DATA_DOUBLE, 112, 8, three, {});
}

// Several M and N tiles (partial ones too) and several chunks, so that the split, the edge
// tiles and the fixed-order sum of partials all run.
TEST_CASE("split_k cpu: several tiles and several chunks", "[split_k][cpu]") {
    for (convxDataType_t dt : {CONVX_DATA_FLOAT, CONVX_DATA_DOUBLE}) {
        const int ran = checkFamily(dt, 113, 5, {}, [](std::mt19937_64& r, Spec& s) {
            s.nsp = 2;
            s.G = uni(r, 0, 2) ? 1 : 2;
            s.N = uni(r, 12, 16);
            s.C = s.G * uni(r, 6, 9), s.K = s.G * uni(r, 60, 72);
            for (int i = 0; i < 2; ++i) s.in[i] = uni(r, 7, 9), s.ker[i] = 3, s.stride[i] = 1, s.dil[i] = 1, s.pad[i] = 1;
            return true;
        });
        CHECK(ran >= 3);
    }
    // The plan really splits these.
    const SplitKPlan pl = convx::makeSplitKPlan(bwdW("g1mb12ic6ih7iw7oc60oh7ow7kh3kw3sh1sw1ph1pw1dh0dw0"));
    CHECK(pl.splits > 1);
}

TEST_CASE("split_k cpu: bitwise identical across runs and thread counts", "[split_k][cpu][determinism]") {
    const convx::Algorithm* a = cpuSplitK();
    REQUIRE(a != nullptr);
    // 0-2: the GEMM path (f32 NCHW, f32 NHWC stride 2, f64); 3-4: the thin path (depthwise).
    for (int variant = 0; variant < 5; ++variant) {
        Spec s;
        s.dir = Dir::BwdFilter;
        s.dt = variant == 2 ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
        s.compute = variant == 2 ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
        s.nsp = 2;
        s.N = 24, s.C = 20, s.K = 70;
        if (variant >= 3) s.C = s.G = 6, s.K = 12;
        s.in[0] = s.in[1] = variant == 1 ? 13 : 7;
        s.ker[0] = s.ker[1] = 3;
        s.pad[0] = s.pad[1] = 1;
        s.stride[0] = variant == 1 ? 2 : 1, s.stride[1] = variant == 1 ? 2 : 1;
        s.xFmt = s.yFmt = s.wFmt = variant == 1 || variant == 3 ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
        s.alpha = 0.75, s.beta = variant == 0 ? 0.0 : 1.0;
        s.seed = 77 + variant;
        harness::Case c(s);
        const convx::Problem p = convx::problemOf(convx::Direction::BackwardFilter, {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()});
        INFO(c.describe());
        const SplitKPlan pl = convx::makeSplitKPlan(p);
        CHECK(pl.splits > 1);
        CHECK(pl.thin() == (variant >= 3));
        const size_t ws = a->workspaceSize(p);
        std::vector<uint64_t> workspace(ws / 8 + 1);
        testutil::Handle h;
        c.fill();
        const harness::Buffer prior = c.output();
        c.setThreads(1);
        REQUIRE_CONVX_OK(c.run(h.h, CONVX_ALGO_SPLIT_K, workspace.data(), ws));
        const harness::Buffer first = c.output();
        for (int threads : {1, 2, 3}) {
            c.output() = prior;
            c.setThreads(threads);
            REQUIRE_CONVX_OK(c.run(h.h, CONVX_ALGO_SPLIT_K, workspace.data(), ws));
            std::string detail;
            INFO("threads " << threads);
            const bool same = c.compareWith(first, prior, 0.0, &detail);
            INFO(detail);
            CHECK(same);
        }
    }
}

TEST_CASE("split_k cpu: rejects 16-bit data with a reason", "[split_k][cpu]") {
    const convx::Algorithm* a = cpuSplitK();
    REQUIRE(a != nullptr);
    const convx::Applicability ap = a->check(bwdW("g1mb2ic4ih5iw5oc4oh5ow5kh3kw3sh1sw1ph1pw1dh0dw0", "f16"));
    CHECK_FALSE(ap.ok);
    CHECK_THAT(ap.reason, Catch::Contains("f32"));
}

TEST_CASE("split_k cpu: the workspace through the C API", "[split_k][cpu]") {
    Spec s;
    s.dir = Dir::BwdFilter;
    s.nsp = 2;
    s.N = 32, s.C = 8, s.K = 8;
    s.in[0] = s.in[1] = 6;
    s.ker[0] = s.ker[1] = 3;
    s.pad[0] = s.pad[1] = 1;
    harness::Case c(s);
    testutil::Handle h;
    size_t bytes = 0;
    REQUIRE_CONVX_OK(convxGetConvolutionBackwardFilterWorkspaceSize(h, c.xDesc(), c.yDesc(), c.convDesc(), c.wDesc(), CONVX_ALGO_SPLIT_K, &bytes));
    // L = 32 * 36 = 1152, two tiles (8 x 72): 4 chunks of 288 -> 4 partial copies of dw.
    CHECK(bytes == size_t(4) * 8 * 72 * 4);
    REQUIRE(bytes > 0);
    c.fill();
    std::vector<uint64_t> ws(bytes / 8 + 1);
    CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_SPLIT_K, ws.data(), bytes - 1), CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "workspace_bytes");
    CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_SPLIT_K, nullptr, bytes), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "workspace is NULL");
    const harness::Buffer prior = c.output();
    REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_SPLIT_K, ws.data(), bytes));
    const harness::Buffer got = c.output();
    c.output() = prior;
    REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE));
    const harness::Buffer ref = c.output();
    c.output() = got;
    std::string detail;
    const bool ok = c.compareWith(ref, prior, harness::algoTolerance(CONVX_DATA_FLOAT), &detail);
    INFO(detail);
    CHECK(ok);
}
