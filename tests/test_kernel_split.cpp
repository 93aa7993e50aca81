// CONVX_ALGO_KERNEL_SPLIT: the phase plan (hand-checked sets, and random problems whose
// contributions must equal the definition's (i, o, k) triples exactly), and the CPU executor on
// the families the technique treats specially, against the reference.
#include <algorithm>
#include <set>
#include <tuple>
#include <vector>

#include "algo_check.h"
#include "kernel_split_plan.h"
#include "problem.h"

using convx::KernelSplitPlan;
using convx::KsAxis;
using convx::KsTap;
using harness::AlgoCheck;
using harness::Dir;
using harness::Spec;

namespace {

struct TapWant {
    int64_t k, dyOff, jLo, jHi;
};

void checkPhase(const KsAxis& ax, int64_t f, int64_t residue, int64_t count, std::vector<TapWant> taps) {
    INFO("phase first " << f);
    const auto& ph = ax.phases.at(size_t(f));
    CHECK(ph.first == f);
    CHECK(ph.residue == residue);
    CHECK(ph.count == count);
    REQUIRE(ph.taps.size() == taps.size());
    for (size_t i = 0; i < taps.size(); ++i) {
        INFO("tap " << i);
        CHECK(ph.taps[i].k == taps[i].k);
        CHECK(ph.taps[i].wTap == taps[i].k);
        CHECK(ph.taps[i].dyOff == taps[i].dyOff);
        CHECK(ph.taps[i].jLo == taps[i].jLo);
        CHECK(ph.taps[i].jHi == taps[i].jHi);
    }
}

using Triple = std::tuple<int64_t, int64_t, int64_t>;  // (i, o, k)

// The definition: every (i, o, k) with o*s - p + k*d == i inside the tensors.
std::multiset<Triple> definitionTriples(int64_t I, int64_t O, int64_t R, int64_t s, int64_t p, int64_t d) {
    std::multiset<Triple> t;
    for (int64_t o = 0; o < O; ++o)
        for (int64_t k = 0; k < R; ++k) {
            const int64_t i = o * s - p + k * d;
            if (i >= 0 && i < I) t.insert({i, o, k});
        }
    return t;
}

std::multiset<Triple> planTriples(const KsAxis& ax) {
    std::multiset<Triple> t;
    for (const auto& ph : ax.phases)
        for (const KsTap& tap : ph.taps)
            for (int64_t j = tap.jLo; j < tap.jHi; ++j) t.insert({ph.first + j * ax.s, j + tap.dyOff, tap.k});
    return t;
}

int uni(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// Redraws the geometry of every axis of s with the given stride, dilation, kernel and dx ranges
// (padding up to the kernel extent + 2, so pad >= kernel happens).
void redrawAxes(std::mt19937_64& rng, Spec& s, int sLo, int sHi, int dLo, int dHi, int kLo, int kHi, int inLo, int inHi) {
    for (int i = 0; i < s.nsp; ++i) {
        s.stride[i] = uni(rng, sLo, sHi);
        s.dil[i] = uni(rng, dLo, dHi);
        s.ker[i] = uni(rng, kLo, kHi);
        s.in[i] = uni(rng, inLo, inHi);
        s.pad[i] = uni(rng, 0, s.ker[i] + 2);
    }
}

int maxIn(const Spec& s) { return s.nsp == 3 ? 7 : s.nsp == 2 ? 13 : 24; }

}  // namespace

TEST_CASE("kernel_split plan: stride 2, k4 p1 (DCGAN's ConvTranspose)", "[kernel_split][plan]") {
    // dx 8, dy 4: dx[i] = sum over o*2 - 1 + k == i.
    const KsAxis ax = convx::kernelSplitAxis(8, 4, 4, 2, 1, 1, false);
    REQUIRE(ax.phases.size() == 2);
    // Even dx (first 0): residue 1, taps 1 and 3; dx[2j] = w1*dy[j] + w3*dy[j-1].
    checkPhase(ax, 0, 1, 4, {{1, 0, 0, 4}, {3, -1, 1, 4}});
    // Odd dx (first 1): residue 0, taps 0 and 2; dx[2j+1] = w0*dy[j+1] + w2*dy[j].
    checkPhase(ax, 1, 0, 4, {{0, 1, 0, 3}, {2, 0, 0, 4}});
}

TEST_CASE("kernel_split plan: stride 3 with uncovered last dx (output padding)", "[kernel_split][plan]") {
    // dx 7, k3 s3 p0: dy 2 covers dx 0..5; dx 6 gets nothing.
    const KsAxis ax = convx::kernelSplitAxis(7, 2, 3, 3, 0, 1, false);
    REQUIRE(ax.phases.size() == 3);
    checkPhase(ax, 0, 0, 3, {{0, 0, 0, 2}});  // dx 0, 3, 6; dx 6 (j 2) reads no dy
    checkPhase(ax, 1, 1, 2, {{1, 0, 0, 2}});  // dx 1, 4
    checkPhase(ax, 2, 2, 2, {{2, 0, 0, 2}});  // dx 2, 5
}

TEST_CASE("kernel_split plan: stride 3, k5 p2, odd counts", "[kernel_split][plan]") {
    // dx 10, dy (10 + 4 - 5) / 3 + 1 = 4. Phase of dx i: (i + 2) mod 3; tap k joins when k mod 3 == it.
    const KsAxis ax = convx::kernelSplitAxis(10, 4, 5, 3, 2, 1, false);
    checkPhase(ax, 0, 2, 4, {{2, 0, 0, 4}});                 // dx 0,3,6,9: o = (i + 2 - 2) / 3 = j
    checkPhase(ax, 1, 0, 3, {{0, 1, 0, 3}, {3, 0, 0, 3}});   // dx 1,4,7: o = j + 1 (tap 0), j (tap 3)
    checkPhase(ax, 2, 1, 3, {{1, 1, 0, 3}, {4, 0, 0, 3}});   // dx 2,5,8
}

TEST_CASE("kernel_split plan: dilation leaves a phase without taps", "[kernel_split][plan]") {
    // s2 d2 k3: k*d is even for every tap, so odd-residue phases get nothing. dx 9, dy 3.
    const KsAxis ax = convx::kernelSplitAxis(9, 3, 3, 2, 0, 2, false);
    checkPhase(ax, 0, 0, 5, {{0, 0, 0, 3}, {1, -1, 1, 4}, {2, -2, 2, 5}});
    checkPhase(ax, 1, 1, 4, {});
    // Stride larger than the dx: only the phases that hold dx are listed.
    const KsAxis small = convx::kernelSplitAxis(2, 1, 1, 4, 0, 1, false);
    REQUIRE(small.phases.size() == 2);
    checkPhase(small, 0, 0, 1, {{0, 0, 0, 1}});
    checkPhase(small, 1, 1, 1, {});
    // A huge stride costs nothing.
    const KsAxis huge = convx::kernelSplitAxis(3, 1, 2, int64_t(1) << 40, 1, 1, true);
    // dx 0 has residue 1: tap 1 (mirrored: filter index 0) reads dy 0; dx 1 and 2 get nothing.
    REQUIRE(huge.phases.size() == 3);
    REQUIRE(huge.phases[0].taps.size() == 1);
    CHECK(huge.phases[0].taps[0].k == 1);
    CHECK(huge.phases[0].taps[0].wTap == 0);
    CHECK(huge.phases[0].taps[0].dyOff == 0);
    CHECK(huge.phases[1].taps.empty());
    CHECK(huge.phases[2].taps.empty());
}

TEST_CASE("kernel_split plan: CONVOLUTION mode mirrors the filter index only", "[kernel_split][plan]") {
    const KsAxis a = convx::kernelSplitAxis(8, 4, 4, 2, 1, 1, false), b = convx::kernelSplitAxis(8, 4, 4, 2, 1, 1, true);
    for (size_t f = 0; f < 2; ++f)
        for (size_t t = 0; t < a.phases[f].taps.size(); ++t) {
            CHECK(b.phases[f].taps[t].k == a.phases[f].taps[t].k);
            CHECK(b.phases[f].taps[t].dyOff == a.phases[f].taps[t].dyOff);
            CHECK(b.phases[f].taps[t].wTap == 3 - a.phases[f].taps[t].k);
        }
}

TEST_CASE("kernel_split plan: random 1-D problems give exactly the definition's contributions", "[kernel_split][plan]") {
    std::mt19937_64 rng(20261201);
    const int count = testutil::scaled(3000);
    for (int c = 0; c < count; ++c) {
        const int64_t s = uni(rng, 1, 6), d = uni(rng, 1, 4), R = uni(rng, 1, 7), I = uni(rng, 1, 30);
        const int64_t p = uni(rng, 0, int((R - 1) * d + 3));
        const int64_t O = convx::convOutputSize(I, R, s, p, d);
        if (O < 1) continue;
        INFO("I " << I << " O " << O << " R " << R << " s " << s << " p " << p << " d " << d);
        const KsAxis ax = convx::kernelSplitAxis(I, O, R, s, p, d, c % 2 == 1);
        REQUIRE(int64_t(ax.phases.size()) == std::min(s, I));
        int64_t covered = 0;
        for (const auto& ph : ax.phases) {
            covered += ph.count;
            for (const KsTap& t : ph.taps) {
                CHECK((t.k * d) % s == ph.residue);
                CHECK(t.wTap == (c % 2 == 1 ? R - 1 - t.k : t.k));
            }
            for (size_t t = 1; t < ph.taps.size(); ++t) CHECK(ph.taps[t - 1].k < ph.taps[t].k);
        }
        CHECK(covered == I);  // the phases partition dx
        CHECK(planTriples(ax) == definitionTriples(I, O, R, s, p, d));
    }
}

TEST_CASE("kernel_split plan: N-D phases, prefix sums and MAC count", "[kernel_split][plan]") {
    std::mt19937_64 rng(77);
    for (int c = 0; c < testutil::scaled(200); ++c) {
        convx::Problem p;
        p.dir = convx::Direction::BackwardData;
        p.nsp = uni(rng, 1, 3);
        for (int i = 0; i < p.nsp; ++i) {
            p.stride[i] = uni(rng, 1, 4);
            p.dil[i] = uni(rng, 1, 3);
            p.ker[i] = uni(rng, 1, 4);
            p.in[i] = uni(rng, 1, 9);
            p.pad[i] = uni(rng, 0, int(p.ker[i]) + 1);
            p.out[i] = convx::convOutputSize(p.in[i], p.ker[i], p.stride[i], p.pad[i], p.dil[i]);
        }
        bool ok = true;
        for (int i = 0; i < p.nsp; ++i) ok = ok && p.out[i] >= 1;
        if (!ok) continue;
        INFO(p.str());
        const KernelSplitPlan plan = convx::kernelSplitPlan(p);
        CHECK(plan.totalElems == p.inPixels());
        int64_t expectBegin = 0, macs = 0;
        size_t phases = 0;
        for (const auto& q : plan.phases) {
            CHECK(q.begin == expectBegin);
            CHECK(q.elems > 0);
            CHECK(q.elems == q.count[0] * q.count[1] * q.count[2]);
            expectBegin += q.elems;
            ++phases;
        }
        // The N-D MACs by brute force over the phases' tap products.
        for (const auto& q : plan.phases) {
            int64_t m = 1;
            for (int a = 0; a < 3; ++a) {
                int64_t v = 0;
                for (const KsTap& t : plan.axis[a].phases[size_t(q.a[a])].taps) v += t.jHi - t.jLo;
                m *= v;
            }
            macs += m;
        }
        int64_t want = 1;
        for (int i = 0; i < p.nsp; ++i) want *= int64_t(definitionTriples(p.in[i], p.out[i], p.ker[i], p.stride[i], p.pad[i], p.dil[i]).size());
        CHECK(plan.macsPerChannelPair == want);
        CHECK(macs == want);
        CHECK(phases <= size_t(p.stride[0] * p.stride[1] * p.stride[2]));
        for (int64_t e = 0; e < plan.totalElems; ++e) {
            const int64_t ph = plan.phaseOf(e);
            REQUIRE(ph >= 0);
            REQUIRE(ph < int64_t(plan.phases.size()));
            CHECK(e >= plan.phases[size_t(ph)].begin);
            CHECK(e < plan.phases[size_t(ph)].begin + plan.phases[size_t(ph)].elems);
        }
    }
}

// ---------------------------------------------------------------- conformance families

namespace {

AlgoCheck family(uint64_t seed, int count, convxDataType_t dt = CONVX_DATA_FLOAT) {
    AlgoCheck c;
    c.algo = CONVX_ALGO_KERNEL_SPLIT;
    c.dir = Dir::BwdData;
    c.dt = dt;
    c.seed = seed;
    c.count = count;
    return c;
}

// Makes a group hold at least 8 channels (the channel-inner kernel), with a ragged tail.
void wideChannels(std::mt19937_64& rng, Spec& s, int lo = 8, int hi = 21) {
    s.G = uni(rng, 1, 2);
    s.C = s.G * uni(rng, lo, hi);
    s.K = s.G * uni(rng, 1, 12);
}

}  // namespace

TEST_CASE("kernel_split cpu: strides 2..4", "[kernel_split][conformance]") {
    AlgoCheck c = family(1, 60);
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        redrawAxes(rng, s, 2, 4, 1, 1, 1, 5, 1, maxIn(s));
        return true;
    };
    CHECK(harness::checkAlgorithm(c) == testutil::scaled(60));
}

TEST_CASE("kernel_split cpu: stride larger than the kernel", "[kernel_split][conformance]") {
    AlgoCheck c = family(2, 40);
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        redrawAxes(rng, s, 1, 1, 1, 1, 1, 3, 1, maxIn(s));
        for (int i = 0; i < s.nsp; ++i) s.stride[i] = s.ker[i] + uni(rng, 1, 3);
        return true;
    };
    harness::checkAlgorithm(c);
}

TEST_CASE("kernel_split cpu: dilation with phases that get no taps", "[kernel_split][conformance]") {
    AlgoCheck c = family(3, 40);
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        redrawAxes(rng, s, 2, 2, 1, 1, 1, 4, 1, maxIn(s));
        for (int i = 0; i < s.nsp; ++i) s.dil[i] = 2 * uni(rng, 1, 2);  // even: odd residues are empty
        return true;
    };
    harness::checkAlgorithm(c);
}

TEST_CASE("kernel_split cpu: odd dx sizes and dx past the last dy (output padding)", "[kernel_split][conformance]") {
    AlgoCheck c = family(4, 50);
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        redrawAxes(rng, s, 2, 4, 1, 2, 1, 5, 1, maxIn(s));
        for (int i = 0; i < s.nsp; ++i) {
            s.in[i] |= 1;
            // A forward size whose last window leaves dx rows no dy reaches.
            const int ext = (s.ker[i] - 1) * s.dil[i] + 1;
            if ((s.in[i] + 2 * s.pad[i] - ext) % s.stride[i] == 0) s.in[i] += 1 + 2 * uni(rng, 0, (s.stride[i] - 2) / 2);
        }
        return true;
    };
    harness::checkAlgorithm(c);
}

TEST_CASE("kernel_split cpu: groups and depthwise", "[kernel_split][conformance]") {
    AlgoCheck c = family(5, 40);
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        redrawAxes(rng, s, 1, 3, 1, 2, 1, 4, 1, maxIn(s));
        s.G = uni(rng, 2, 4);
        s.C = s.G * uni(rng, 1, 3);
        s.K = s.G * uni(rng, 1, 3);
        return true;
    };
    harness::checkAlgorithm(c);
    AlgoCheck dw = family(6, 30);
    dw.gen.depthwise = true;
    dw.shape = [](std::mt19937_64& rng, Spec& s) {
        redrawAxes(rng, s, 2, 3, 1, 2, 2, 5, 1, maxIn(s));
        return true;
    };
    harness::checkAlgorithm(dw);
}

TEST_CASE("kernel_split cpu: alpha and beta (beta 1 and random)", "[kernel_split][conformance]") {
    for (int betaKind : {1, 2}) {
        AlgoCheck c = family(7 + uint64_t(betaKind), 25);
        c.gen.betaKind = betaKind;
        c.shape = [](std::mt19937_64& rng, Spec& s) {
            redrawAxes(rng, s, 2, 3, 1, 2, 1, 4, 1, maxIn(s));
            if (uni(rng, 0, 1)) wideChannels(rng, s);
            return true;
        };
        harness::checkAlgorithm(c);
    }
}

TEST_CASE("kernel_split cpu: both layouts, 1-D, 2-D and 3-D, both kernels", "[kernel_split][conformance]") {
    for (int nsp = 1; nsp <= 3; ++nsp)
        for (int fmt = 0; fmt < 2; ++fmt)
            for (int wide = 0; wide < 2; ++wide) {
                const auto f = fmt ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
                AlgoCheck c = family(100 + uint64_t(nsp * 4 + fmt * 2 + wide), nsp == 3 ? 6 : 10);
                c.gen.nsp = nsp;
                c.shape = [f, wide](std::mt19937_64& rng, Spec& s) {
                    redrawAxes(rng, s, 1, 4, 1, 2, 1, s.nsp == 3 ? 3 : 5, 1, maxIn(s));
                    s.xFmt = s.yFmt = s.wFmt = f;
                    if (wide) wideChannels(rng, s);
                    return true;
                };
                INFO("nsp " << nsp << " layout " << fmt << " wide " << wide);
                harness::checkAlgorithm(c);
            }
}

TEST_CASE("kernel_split cpu: narrow dx channels over many channels-last dy channels", "[kernel_split][conformance]") {
    // The reduction-inner kernel: C/G < 8 (f32) or < 4 (f64), K/G >= 16 (8), dy NHWC; K/G not a
    // multiple of the vector, so the scalar tail runs too.
    for (const convxDataType_t dt : {CONVX_DATA_FLOAT, CONVX_DATA_DOUBLE}) {
        AlgoCheck c = family(dt == CONVX_DATA_FLOAT ? 14 : 15, 30, dt);
        c.shape = [dt](std::mt19937_64& rng, Spec& s) {
            redrawAxes(rng, s, 1, 3, 1, 2, 1, 4, 1, maxIn(s));
            s.G = uni(rng, 1, 2);
            s.C = s.G * uni(rng, 1, dt == CONVX_DATA_FLOAT ? 7 : 3);
            s.K = s.G * uni(rng, dt == CONVX_DATA_FLOAT ? 16 : 8, 41);
            s.yFmt = CONVX_TENSOR_NHWC;  // gaps allowed: pixel strides grow, channels stay contiguous
            return true;
        };
        harness::checkAlgorithm(c);
    }
}

TEST_CASE("kernel_split cpu: f64, and random problems of every kind", "[kernel_split][conformance]") {
    AlgoCheck c = family(11, 40, CONVX_DATA_DOUBLE);
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        if (uni(rng, 0, 1)) wideChannels(rng, s, 4, 11);
        return true;
    };
    harness::checkAlgorithm(c);
    harness::checkAlgorithm(family(12, 80));  // the generator's own mix: gaps, mixed layouts, modes
    AlgoCheck gapped = family(16, 30);
    gapped.gen.gapped = true;  // non-packed dx and dy for every kernel
    gapped.shape = [](std::mt19937_64& rng, Spec& s) {
        redrawAxes(rng, s, 1, 3, 1, 2, 1, 4, 1, maxIn(s));
        const int kind = uni(rng, 0, 2);
        if (kind == 1) wideChannels(rng, s);
        if (kind == 2) s.G = 1, s.C = uni(rng, 1, 5), s.K = uni(rng, 16, 30), s.yFmt = CONVX_TENSOR_NHWC;
        return true;
    };
    harness::checkAlgorithm(gapped);
    AlgoCheck small = family(13, 30);
    small.gen.smallMaps = true;  // maps smaller than the kernel, padding past it
    harness::checkAlgorithm(small);
}

TEST_CASE("kernel_split cpu: hand-picked edges", "[kernel_split][conformance]") {
    Spec s;
    s.dir = Dir::BwdData;
    // DCGAN-like ConvTranspose k4 s2 p1 (bwd_d of the 8x8 -> 4x4 conv), channel-inner kernel, NHWC.
    s.N = 2, s.C = 16, s.K = 24, s.nsp = 2;
    s.in[0] = s.in[1] = 8, s.ker[0] = s.ker[1] = 4, s.stride[0] = s.stride[1] = 2, s.pad[0] = s.pad[1] = 1;
    s.xFmt = s.yFmt = s.wFmt = CONVX_TENSOR_NHWC;
    harness::checkAlgorithmOn(CONVX_ALGO_KERNEL_SPLIT, s);
    // The same in NCHW with CONVOLUTION mode and beta 1.
    s.xFmt = s.yFmt = s.wFmt = CONVX_TENSOR_NCHW;
    s.mode = CONVX_CONVOLUTION;
    s.beta = 1.0, s.alpha = 0.5;
    harness::checkAlgorithmOn(CONVX_ALGO_KERNEL_SPLIT, s);
    // Stride 1: one phase, still the plain backward-data.
    s.stride[0] = s.stride[1] = 1;
    harness::checkAlgorithmOn(CONVX_ALGO_KERNEL_SPLIT, s);
    // ConvTranspose k3 s2 p1 output_padding 1: dx 2*I, a long phase row (vector chunks and tail).
    Spec t;
    t.dir = Dir::BwdData;
    t.N = 1, t.C = 3, t.K = 5, t.nsp = 2;
    t.in[0] = 10, t.in[1] = 38, t.ker[0] = t.ker[1] = 3, t.stride[0] = t.stride[1] = 2, t.pad[0] = t.pad[1] = 1;
    harness::checkAlgorithmOn(CONVX_ALGO_KERNEL_SPLIT, t);
    // Stride much larger than dy's reach: most phases have no taps, pad >= kernel.
    t.stride[0] = 5, t.stride[1] = 7, t.pad[0] = 3, t.pad[1] = 4, t.ker[0] = 2, t.ker[1] = 3;
    harness::checkAlgorithmOn(CONVX_ALGO_KERNEL_SPLIT, t);
}

TEST_CASE("kernel_split cpu: bitwise identical for any thread count", "[kernel_split][threads]") {
    testutil::Handle h;
    std::mt19937_64 rng(99);
    for (int i = 0; i < testutil::scaled(12); ++i) {
        Spec s;
        do {
            s = harness::randomSpec(rng, Dir::BwdData, i % 3 == 2 ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT);
            redrawAxes(rng, s, 2, 3, 1, 2, 2, 4, 4, maxIn(s));
            s.N = uni(rng, 1, 3);
            if (i % 2) wideChannels(rng, s);
            s.beta = 0.0;
        } while (!s.valid());
        harness::Case c(s);
        INFO(c.describe());
        c.fill();
        const harness::Buffer prior = c.output();
        c.setThreads(1);
        REQUIRE(c.run(h.h, CONVX_ALGO_KERNEL_SPLIT) == CONVX_STATUS_SUCCESS);
        const harness::Buffer one = c.output();
        for (int threads : {2, 3, 5}) {
            c.output() = prior;
            c.setThreads(threads);
            REQUIRE(c.run(h.h, CONVX_ALGO_KERNEL_SPLIT) == CONVX_STATUS_SUCCESS);
            std::string detail;
            INFO("threads " << threads);
            CHECK(c.compareWith(one, prior, 0.0, &detail));
        }
    }
}

// ---------------------------------------------------------------- the CUDA kernel, emulated

#include "../cuda/kernel_split_tile.h"
#include "execute.h"

namespace {

template <class T, class Acc, int BM, int BN, int TM, int TN>
void emulateTile(harness::Case& c, const convx::Problem& p) {
    const convx::ks::Launch l = convx::ks::launchOf(p, BM, BN);
    const Spec& s = c.spec();
    // The C API hands alpha/beta as float for float tensors.
    const Acc alpha = s.dt == CONVX_DATA_DOUBLE ? Acc(s.alpha) : Acc(float(s.alpha));
    const Acc beta = s.dt == CONVX_DATA_DOUBLE ? Acc(s.beta) : Acc(float(s.beta));
    convx::ks::emulate<T, Acc, BM, BN, TM, TN>(l.plan, static_cast<T*>(c.x.data()), static_cast<const T*>(c.w.data()),
                                               static_cast<const T*>(c.y.data()), alpha, beta, l.cTiles, l.chanFast, l.dyChanFast,
                                               l.gridX, l.gridY);
}

}  // namespace

TEST_CASE("kernel_split cuda kernel, emulated on the host, matches the reference", "[kernel_split][cuda-emulation]") {
    // The kernel's steps (cuda/kernel_split_tile.h) run block by block, thread by thread, on the
    // CPU: every tile shape on every problem (also shapes the dispatch would not pick).
    testutil::Handle h;
    std::mt19937_64 rng(4242);
    const int count = testutil::scaled(40);
    for (int i = 0; i < count; ++i) {
        const convxDataType_t dt = i % 4 == 3 ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
        Spec s;
        for (;;) {
            s = harness::randomSpec(rng, Dir::BwdData, dt);
            redrawAxes(rng, s, 1, 4, 1, 2, 1, 4, 1, maxIn(s));
            switch (i % 4) {
                case 0: break;                       // narrow, grouped or depthwise as drawn
                case 1: wideChannels(rng, s); break;  // 8..21 channels per group
                case 2: s.G = 1, s.C = uni(rng, 30, 70), s.K = uni(rng, 1, 20); break;  // several 64-wide tiles
                default: if (uni(rng, 0, 1)) wideChannels(rng, s, 4, 11); break;
            }
            if (s.valid()) break;
        }
        harness::Case c(s);
        const convx::Problem p = convx::problemOf(convx::Direction::BackwardData, {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()});
        INFO("case " << i << " " << c.describe());
        REQUIRE(convx::ks::devPlanLimit(p).empty());
        c.fill();
        const harness::Buffer prior = c.output();
        REQUIRE(c.run(h.h, CONVX_ALGO_REFERENCE) == CONVX_STATUS_SUCCESS);
        const harness::Buffer reference = c.output();
        for (int shape = 0; shape < 4; ++shape) {
            c.output() = prior;
            if (dt == CONVX_DATA_DOUBLE) {
                switch (shape) {
                    case 0: emulateTile<double, double, 64, 64, 4, 4>(c, p); break;
                    case 1: emulateTile<double, double, 128, 16, 4, 2>(c, p); break;
                    case 2: emulateTile<double, double, 256, 4, 4, 1>(c, p); break;
                    default: emulateTile<double, double, 256, 1, 1, 1>(c, p); break;
                }
            } else {
                switch (shape) {
                    case 0: emulateTile<float, float, 64, 64, 4, 4>(c, p); break;
                    case 1: emulateTile<float, float, 128, 16, 4, 2>(c, p); break;
                    case 2: emulateTile<float, float, 256, 4, 4, 1>(c, p); break;
                    default: emulateTile<float, float, 256, 1, 1, 1>(c, p); break;
                }
            }
            std::string detail;
            const bool ok = c.compareWith(reference, prior, harness::algoTolerance(dt), &detail);
            INFO("tile shape " << shape << ": " << detail);
            CHECK(ok);
        }
    }
}
