// CONVX_ALGO_DEPTHWISE backward-data, the paths of its stride-phase and rotated plans:
// channels-last stride 1 / multiplier 1 as the rotated forward over dy (padding dil - pad,
// negative when pad > (R-1) dil), and the channels-first phase-tile kernel (stride 2 and 3,
// multiplier 1 and 2): odd and even dx sizes, dx rows and columns that no tap reaches (written
// alpha 0 + beta dx), padding 0..k and beyond, dilation, alpha/beta with dx poisoned, CONVOLUTION
// mode, every Highway target, several planes per job, bits independent of the thread count.
#include <string>
#include <vector>

#include "algo_check.h"
#include "depthwise_checks.h"
#include "depthwise_plan.h"
#include "problem.h"

#ifdef CONVX_HAVE_HWY
#include <hwy/targets.h>

using harness::AlgoCheck;
using harness::Dir;
using harness::Spec;

namespace {

constexpr convxConvAlgo_t kAlgo = CONVX_ALGO_DEPTHWISE;

using dwtest::uni;

AlgoCheck bwdFamily(uint64_t seed, int count) {
    AlgoCheck c;
    c.algo = kAlgo;
    c.dir = Dir::BwdData;
    c.seed = seed;
    c.count = count;
    c.gen.depthwise = true;
    c.gen.nsp = 2;
    c.gen.betaKind = -1;
    return c;
}

void scaleAndMode(std::mt19937_64& rng, Spec& s) {
    s.alpha = uni(rng, 0, 1) ? 1.0 : 0.5;
    s.beta = uni(rng, 0, 2) == 0 ? 0.0 : uni(rng, 0, 1) ? 1.0 : -0.75;
    s.mode = uni(rng, 0, 1) ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
}

// NHWC, stride 1, multiplier 1: windows 1..7, padding 0..k+2 (beyond the window: negative
// rotated padding), dilation 1..2, channels 1..40 (vector tails), maps 1..30.
bool nhwcStride1(std::mt19937_64& rng, Spec& s) {
    s.xFmt = s.yFmt = CONVX_TENSOR_NHWC;
    s.xGapped = s.yGapped = false;
    s.G = s.C = s.K = uni(rng, 1, 40);
    s.N = uni(rng, 1, 2);
    for (int i = 0; i < 2; ++i) {
        s.ker[i] = uni(rng, 1, 7);
        s.stride[i] = 1;
        s.dil[i] = uni(rng, 1, 2);
        s.pad[i] = uni(rng, 0, s.ker[i] + 2);
        s.in[i] = uni(rng, 1, 30);
    }
    scaleAndMode(rng, s);
    return s.valid();
}

// NCHW, stride 2 or 3 in either dim: odd/even dx sizes that are not (P-1) s + R (rows and
// columns no tap reaches), padding 0..k+1, dilation, multiplier 1 or 2.
bool nchwStrided(std::mt19937_64& rng, Spec& s, int inHi) {
    s.xFmt = s.yFmt = CONVX_TENSOR_NCHW;
    s.xGapped = s.yGapped = false;
    s.G = s.C = uni(rng, 1, 24);
    s.K = s.C * uni(rng, 1, 2);
    s.N = uni(rng, 1, 2);
    for (int i = 0; i < 2; ++i) {
        s.ker[i] = uni(rng, 1, 7);
        s.stride[i] = uni(rng, 2, 3);
        s.dil[i] = uni(rng, 0, 3) == 0 ? 2 : 1;
        s.pad[i] = uni(rng, 0, s.ker[i] + 1);
        s.in[i] = uni(rng, 1, inHi);
    }
    if (uni(rng, 0, 3) == 0) s.stride[uni(rng, 0, 1)] = 1;  // one dim at stride 1 (SW = 1 or sh = 1)
    scaleAndMode(rng, s);
    return s.valid();
}

}  // namespace

TEST_CASE("depthwise bwd_d plan: channels-last stride 1 is the rotated forward", "[depthwise][dwbwdd][plan]") {
    const convx::DwPlan r = convx::planDepthwise(
        convx::parseProblem("--dir=bwd_d --dt=f32 --tag=nhwc g24mb2ic24ih9iw11oc24oh5ow11kh5kw3sh1sw1ph0pw2dh0dw1"));
    CHECK(r.rotated);
    CHECK(r.channelsLast);
    CHECK(r.kernel == convx::DwKernel::FwdChannels);
    CHECK(r.g.I[1] == 5);  // dy is the input of the rotated forward
    CHECK(r.g.O[1] == 9);
    CHECK(r.g.P[1] == 4);
    CHECK(r.g.P[2] == 2);  // (3 - 1) * 2 - 2
    CHECK(r.g.xs[4] == 24);
    // Padding beyond the window: negative rotated padding.
    CHECK(convx::planDepthwise(convx::parseProblem("--dir=bwd_d --dt=f32 --tag=nhwc g8mb1ic8ih9iw9oc8oh13ow15kh3kw3sh1sw1ph3pw4dh0dw0"))
              .g.P[2] == -2);
    // Stride 2 and multiplier 2 keep the channel gathering kernels; NCHW stride 2 the phase kernel.
    CHECK(convx::planDepthwise(convx::parseProblem("--dir=bwd_d --dt=f32 --tag=nhwc g8mb1ic8ih9iw9oc8oh5ow5kh3kw3sh2sw2ph1pw1dh0dw0"))
              .kernel == convx::DwKernel::BwdDataChannels);
    CHECK(convx::planDepthwise(convx::parseProblem("--dir=bwd_d --dt=f32 --tag=nhwc g8mb1ic8ih9iw9oc16oh9ow9kh3kw3sh1sw1ph1pw1dh0dw0"))
              .kernel == convx::DwKernel::BwdDataChannelsMult);
    const convx::DwPlan p = convx::planDepthwise(
        convx::parseProblem("--dir=bwd_d --dt=f32 --tag=nchw g576mb1ic576ih14iw14oc576oh7ow7kh3kw3sh2sw2ph1pw1dh0dw0"));
    CHECK_FALSE(p.rotated);
    CHECK(p.kernel == convx::DwKernel::BwdDataPhases);
}

TEST_CASE("depthwise bwd_d: channels-last stride 1 as the rotated forward", "[depthwise][dwbwdd][conformance]") {
    AlgoCheck c = bwdFamily(501, 40);
    c.shape = nhwcStride1;
    CHECK(harness::checkAlgorithm(c) == testutil::scaled(40));
}

TEST_CASE("depthwise bwd_d: channels-first stride 2/3 phase tiles", "[depthwise][dwbwdd][conformance]") {
    AlgoCheck c = bwdFamily(502, 60);
    c.shape = [](std::mt19937_64& rng, Spec& s) { return nchwStrided(rng, s, 40); };
    CHECK(harness::checkAlgorithm(c) == testutil::scaled(60));
}

TEST_CASE("depthwise bwd_d: phase tiles on small maps, many planes per job", "[depthwise][dwbwdd][conformance]") {
    // dx 1..16 with 20-70 channels: several planes per job and a shorter last job; the phase
    // rows end inside one vector (the exact interleaved tail).
    AlgoCheck c = bwdFamily(503, 24);
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        if (!nchwStrided(rng, s, 16)) return false;
        s.G = s.C = uni(rng, 20, 70);
        s.K = s.C * uni(rng, 1, 2);
        s.N = uni(rng, 1, 3);
        return s.valid();
    };
    CHECK(harness::checkAlgorithm(c) == testutil::scaled(24));
}

TEST_CASE("depthwise bwd_d: hand-picked edges", "[depthwise][dwbwdd][conformance]") {
    for (const char* d : {
             // The MobileNet stride-2 shapes: dx 14 = two 7-column phases (tail every row), 28, 56.
             "g5mb1ic5ih14iw14oc5oh7ow7kh3kw3sh2sw2ph1pw1dh0dw0",
             "g3mb2ic3ih28iw28oc3oh14ow14kh5kw5sh2sw2ph2pw2dh0dw0",
             "g2mb1ic2ih56iw56oc2oh28ow28kh3kw3sh2sw2ph1pw1dh0dw0",
             // dx wider than (Q - 1) s + R: the last columns and rows take no tap.
             "g4mb1ic4ih12iw13oc4oh4ow4kh2kw2sh3sw3ph0pw0dh0dw0",
             "g4mb1ic4ih9iw9oc4oh5ow5kh1kw1sh2sw2ph0pw0dh0dw0",
             // Stride larger than the window, padding beyond the window, 1x1 maps.
             "g3mb1ic3ih1iw1oc3oh1ow1kh3kw3sh2sw2ph1pw1dh0dw0",
             "g3mb1ic3ih2iw1oc3oh3ow3kh3kw3sh2sw2ph3pw3dh0dw0",
             "g3mb1ic3ih7iw7oc6oh6ow6kh3kw3sh2sw2ph4pw4dh1dw1",
             // Stride 1 along W only (SW = 1 phase kernel), multiplier 2.
             "g4mb1ic4ih10iw17oc8oh5ow17kh3kw3sh2sw1ph1pw1dh0dw0",
             "g4mb1ic4ih17iw10oc8oh17ow5kh3kw3sh1sw2ph1pw1dh0dw0",
         }) {
        for (const double beta : {0.0, 0.5}) {
            Spec s;
            const convx::Problem p = convx::parseProblem(std::string("--dir=bwd_d --dt=f32 --tag=nchw ") + d);
            s.dir = Dir::BwdData;
            s.N = static_cast<int>(p.N), s.C = static_cast<int>(p.C), s.K = static_cast<int>(p.K), s.G = static_cast<int>(p.G);
            for (int i = 0; i < 2; ++i) {
                s.in[i] = static_cast<int>(p.in[i]), s.ker[i] = static_cast<int>(p.ker[i]);
                s.stride[i] = static_cast<int>(p.stride[i]), s.pad[i] = static_cast<int>(p.pad[i]);
                s.dil[i] = static_cast<int>(p.dil[i]);
            }
            s.beta = beta;
            s.alpha = beta == 0.0 ? 1.0 : 0.5;
            REQUIRE(s.valid());
            INFO(d << " beta " << beta);
            harness::checkAlgorithmOn(kAlgo, s);
            s.xFmt = s.yFmt = CONVX_TENSOR_NHWC;  // the same shape channels-last
            harness::checkAlgorithmOn(kAlgo, s);
        }
    }
}

TEST_CASE("depthwise bwd_d: every Highway target (phase tiles and rotated channels-last)", "[depthwise][dwbwdd][targets]") {
    dwtest::ResetTargets reset;
    const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
    REQUIRE(!targets.empty());
    for (const int64_t t : targets) {
        hwy::SetSupportedTargetsForTest(t);
        INFO("target " << hwy::TargetName(t));
        AlgoCheck a = bwdFamily(600 + static_cast<uint64_t>(t % 97), 8);
        a.shape = nhwcStride1;
        CHECK(harness::checkAlgorithm(a) == testutil::scaled(8));
        AlgoCheck b = bwdFamily(700 + static_cast<uint64_t>(t % 97), 12);
        b.shape = [](std::mt19937_64& rng, Spec& s) { return nchwStrided(rng, s, 36); };
        CHECK(harness::checkAlgorithm(b) == testutil::scaled(12));
    }
}

TEST_CASE("depthwise bwd_d: bitwise identical for 1, 2 and 3 threads", "[depthwise][dwbwdd][determinism]") {
    std::mt19937_64 rng(707);
    testutil::Handle h;
    int ran = 0;
    for (int i = 0; i < 40 && ran < testutil::scaled(8); ++i) {
        Spec s;
        s.dir = Dir::BwdData;
        if (!(i % 2 ? nhwcStride1(rng, s) : nchwStrided(rng, s, 30))) continue;
        s.C = s.G = s.C + 20;  // several jobs
        s.K = s.C * (s.xFmt == CONVX_TENSOR_NHWC ? 1 : uni(rng, 1, 2));
        if (!s.valid()) continue;
        ++ran;
        harness::Case c(s);
        INFO(c.describe());
        c.fill();
        dwtest::checkThreadCounts(h.h, c, kAlgo);
    }
    CHECK(ran == testutil::scaled(8));
}

#endif  // CONVX_HAVE_HWY
