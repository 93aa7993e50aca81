// CONVX_ALGO_DEPTHWISE, the flat form of the channels-first forward (fwdFlat in
// arm/depthwise_fwd.inc), which also runs backward-data at stride 1 (the forward over dy with
// the rotated filter, padding dil - pad, possibly negative): small maps where a whole job
// of planes is one 1-D range (shared margins between rows and between planes, junk columns and
// rows computed and dropped), stride-phase tiles (stride 2 de-interleaved by the copy, odd input
// widths), row pitches that grow past the output width (padding beyond the window, dilation),
// result rows with a masked last vector, several planes per job and a last partial job, on every
// Highway target; and bitwise-identical results for 1, 2 and 3 threads.
#include <string>
#include <vector>

#include "algo_check.h"
#include "depthwise_checks.h"
#include "problem.h"

#ifdef CONVX_HAVE_HWY
#include <hwy/targets.h>

using harness::AlgoCheck;
using harness::Dir;
using harness::Spec;

namespace {

constexpr convxConvAlgo_t kAlgo = CONVX_ALGO_DEPTHWISE;

using dwtest::uni;

// An NCHW depthwise problem for the flat form: square windows 1/3/5/7 (or any 1..7), W stride
// 1 or 2 (H stride 1..3), dilation 1..2, padding 0..k+2, maps 1..9 or 13..30 wide, enough
// channels for several planes per job, multiplier 1 or 2, alpha/beta, either mode.
bool flatShape(std::mt19937_64& rng, Spec& s, bool strideOne) {
    s.nsp = 2;
    s.xFmt = s.yFmt = CONVX_TENSOR_NCHW;
    s.xGapped = s.yGapped = false;
    s.G = s.C = uni(rng, 3, 90);
    s.K = s.C * (strideOne ? 1 : uni(rng, 1, 2));
    s.N = uni(rng, 1, 3);
    const int ks[] = {1, 3, 5, 7};
    const int k = ks[uni(rng, 0, 3)];
    const bool square = uni(rng, 0, 2) != 0;
    for (int i = 0; i < 2; ++i) {
        s.ker[i] = square ? k : uni(rng, 1, 7);
        s.stride[i] = strideOne ? 1 : i == 1 ? uni(rng, 1, 2) : uni(rng, 1, 3);
        s.dil[i] = uni(rng, 0, 3) == 0 ? 2 : 1;
        s.pad[i] = uni(rng, 0, 4) == 0 ? uni(rng, 0, s.ker[i] + 2) : (s.ker[i] - 1) * s.dil[i] / 2;
        s.in[i] = uni(rng, 0, 2) ? uni(rng, 1, 9) : uni(rng, 13, 30);
    }
    s.alpha = uni(rng, 0, 1) ? 1.0 : 0.75;
    s.beta = uni(rng, 0, 2) == 0 ? 0.0 : uni(rng, 0, 1) ? 1.0 : -0.5;
    s.mode = uni(rng, 0, 1) ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
    return s.valid();
}

AlgoCheck flatFamily(Dir dir, uint64_t seed, int count) {
    AlgoCheck c;
    c.algo = kAlgo;
    c.dir = dir;
    c.seed = seed;
    c.count = count;
    c.gen.depthwise = true;
    c.gen.nsp = 2;
    c.gen.betaKind = -1;
    const bool s1 = dir == Dir::BwdData;  // stride 1 only: the rotated plan
    c.shape = [s1](std::mt19937_64& rng, Spec& s) { return flatShape(rng, s, s1); };
    return c;
}

}  // namespace

TEST_CASE("depthwise flat forward: small and mid maps, strides, padding, every target", "[depthwise][dwfwd][targets]") {
    dwtest::ResetTargets reset;
    const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
    REQUIRE(!targets.empty());
    for (size_t ti = 0; ti < targets.size(); ++ti) {
        const int64_t t = targets[ti];
        hwy::SetSupportedTargetsForTest(t);
        INFO("target " << hwy::TargetName(t));
        for (const Dir dir : {Dir::Fwd, Dir::BwdData}) {
            // Seeds from the target's position: the target bits themselves overflow 13 * t.
            const AlgoCheck c = flatFamily(dir, 601 + 13 * static_cast<uint64_t>(ti) + int(dir), 14);
            INFO(harness::dirName(dir));
            CHECK(harness::checkAlgorithm(c) == testutil::scaled(14));
        }
    }
}

TEST_CASE("depthwise flat forward: hand-picked edges", "[depthwise][dwfwd]") {
    dwtest::ResetTargets reset;
    // Each on every target: the network shapes of the flat form (7x7 and 14x14 planes, stride 2
    // with odd and even input widths), 1x1 maps, a window larger than the map, padding beyond
    // the window, negative padding through backward-data, dilation that makes the row pitch grow.
    struct Edge {
        Dir dir;
        int C, mult, N, h, w, kh, kw, sh, sw, ph, pw, dh, dw;
    };
    const Edge cases[] = {
        {Dir::Fwd, 40, 1, 2, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1},      // MobileNet 7x7
        {Dir::Fwd, 24, 1, 1, 14, 14, 3, 3, 2, 2, 1, 1, 1, 1},    // stride 2, even width
        {Dir::Fwd, 24, 1, 1, 15, 15, 3, 3, 2, 2, 1, 1, 1, 1},    // stride 2, odd width
        {Dir::Fwd, 21, 1, 1, 14, 14, 5, 5, 2, 2, 2, 2, 1, 1},    // EfficientNet 5x5 s2
        {Dir::Fwd, 30, 1, 1, 7, 7, 5, 5, 1, 1, 2, 2, 1, 1},      // 5x5 on 7x7
        {Dir::Fwd, 17, 1, 1, 29, 29, 3, 3, 2, 2, 1, 1, 1, 1},    // 15-wide rows at stride 2
        {Dir::Fwd, 9, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1},       // 1x1 map
        {Dir::Fwd, 9, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},       // 1x1 map, 1x1 window
        {Dir::Fwd, 9, 1, 1, 2, 3, 7, 7, 1, 1, 5, 5, 1, 1},       // window past the map, padding > k/2
        {Dir::Fwd, 12, 2, 1, 9, 9, 3, 3, 1, 1, 2, 2, 2, 2},      // multiplier 2, dilation
        {Dir::Fwd, 12, 1, 1, 5, 13, 3, 5, 2, 2, 0, 0, 1, 2},     // no padding, dilated W at stride 2
        {Dir::Fwd, 12, 1, 1, 8, 11, 3, 3, 3, 2, 1, 1, 1, 1},     // H stride 3: three row phases
        {Dir::BwdData, 40, 1, 2, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1},  // rotated, padding 1
        {Dir::BwdData, 16, 1, 1, 9, 9, 5, 5, 1, 1, 0, 0, 1, 1},  // rotated, padding 4
        {Dir::BwdData, 16, 1, 1, 6, 8, 5, 5, 1, 1, 4, 4, 1, 1},  // rotated, padding 0
        {Dir::BwdData, 16, 1, 1, 12, 12, 3, 3, 1, 1, 5, 5, 2, 2},  // rotated, negative padding
    };
    for (const int64_t t : hwy::SupportedAndGeneratedTargets()) {
        hwy::SetSupportedTargetsForTest(t);
        INFO("target " << hwy::TargetName(t));
        for (const Edge& e : cases) {
            Spec s;
            s.dir = e.dir;
            s.nsp = 2;
            s.N = e.N;
            s.G = s.C = e.C;
            s.K = e.C * e.mult;
            const int dims[2][6] = {{e.h, e.kh, e.sh, e.ph, e.dh}, {e.w, e.kw, e.sw, e.pw, e.dw}};
            for (int i = 0; i < 2; ++i) {
                s.in[i] = dims[i][0];
                s.ker[i] = dims[i][1];
                s.stride[i] = dims[i][2];
                s.pad[i] = dims[i][3];
                s.dil[i] = dims[i][4];
            }
            INFO("C " << e.C << " in " << e.h << "x" << e.w << " k " << e.kh << "x" << e.kw << " s " << e.sh << "," << e.sw << " p "
                      << e.ph << "," << e.pw << " d " << e.dh << "," << e.dw);
            for (const double beta : {0.0, 0.5}) {
                s.beta = beta;
                s.alpha = beta == 0.0 ? 1.0 : -1.25;
                s.mode = beta == 0.0 ? CONVX_CROSS_CORRELATION : CONVX_CONVOLUTION;
                REQUIRE(s.valid());
                harness::checkAlgorithmOn(kAlgo, s);
            }
        }
    }
}

TEST_CASE("depthwise flat forward: bitwise identical for 1, 2 and 3 threads", "[depthwise][dwfwd][determinism]") {
    std::mt19937_64 rng(607);
    testutil::Handle h;
    int ran = 0;
    for (int i = 0; i < testutil::scaled(8); ++i) {
        Spec s;
        s.dir = i % 2 ? Dir::BwdData : Dir::Fwd;
        if (!flatShape(rng, s, s.dir == Dir::BwdData)) continue;
        harness::Case c(s);
        INFO(c.describe());
        c.fill();
        dwtest::checkThreadCounts(h.h, c, kAlgo);
        ++ran;
    }
    CHECK(ran > 0);
}

#endif  // CONVX_HAVE_HWY
