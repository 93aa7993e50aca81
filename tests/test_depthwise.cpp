// CONVX_ALGO_DEPTHWISE: the plan (what it takes, with reasons, and which microkernel of the
// table runs), and the Highway kernels against the reference on the families they treat
// specially: the 3x3/5x5 stride 1/2 forward kernels on maps wide enough for their vector
// interior, any window 1..7 with strides 1..3, dilation, padding up to the window, multiplier
// 1 and 2, maps down to 1x1, alpha/beta, both layouts, 1-D and 2-D, all three directions; and
// bitwise-identical results for any thread count. Built only with Highway.
#include <string>
#include <vector>

#include "algo_check.h"
#include "depthwise_checks.h"
#include "depthwise_plan.h"
#include "problem.h"

#ifdef CONVX_HAVE_HWY
#include <hwy/targets.h>
#endif

using harness::AlgoCheck;
using harness::Dir;
using harness::Spec;

namespace {

constexpr convxConvAlgo_t kAlgo = CONVX_ALGO_DEPTHWISE;

convx::Problem prob(const std::string& s) { return convx::parseProblem(s); }

using dwtest::uni;

}  // namespace

TEST_CASE("depthwise plan: what it takes and the microkernel table", "[depthwise][plan]") {
    std::string why;
    SECTION("MobileNetV2 layers pick the specialised kernels") {
        const convx::Problem s1 = prob("--dir=fwd --dt=f32 --tag=nchw g32mb1ic32ih112iw112oc32oh112ow112kh3kw3sh1sw1ph1pw1dh0dw0");
        REQUIRE(convx::dwFits(s1, &why));
        CHECK(convx::planDepthwise(s1).kernel == convx::DwKernel::FwdRows3x3S1);
        CHECK(std::string(convx::dwKernelName(convx::planDepthwise(s1).kernel)) == "f32_fwd_k3x3_s1_flat_w");
        const convx::Problem s2 = prob("--dir=fwd --dt=f32 --tag=nchw g96mb1ic96ih112iw112oc96oh56ow56kh3kw3sh2sw2ph1pw1dh0dw0");
        CHECK(convx::planDepthwise(s2).kernel == convx::DwKernel::FwdRows3x3S2);
        const convx::Problem k5 = prob("--dir=fwd --dt=f32 --tag=nchw g240mb1ic240ih28iw28oc240oh14ow14kh5kw5sh2sw2ph2pw2dh0dw0");
        CHECK(convx::planDepthwise(k5).kernel == convx::DwKernel::FwdRows5x5S2);
        const convx::Problem s3 = prob("--dir=fwd --dt=f32 --tag=nchw g8mb1ic8ih20iw20oc8oh7ow7kh3kw3sh3sw3ph1pw1dh0dw0");
        CHECK(convx::planDepthwise(s3).kernel == convx::DwKernel::FwdRowsGeneral);
        const convx::Problem k7 = prob("--dir=fwd --dt=f32 --tag=nchw g8mb1ic8ih20iw20oc8oh20ow20kh7kw7sh1sw1ph3pw3dh0dw0");
        CHECK(convx::planDepthwise(k7).kernel == convx::DwKernel::FwdRowsS1);
    }
    SECTION("the backward directions and channels-last") {
        CHECK(convx::planDepthwise(prob("--dir=bwd_d --dt=f32 --tag=nchw g8mb2ic8ih9iw9oc16oh5ow5kh3kw3sh2sw2ph1pw1dh0dw0")).kernel ==
              convx::DwKernel::BwdDataPhases);
        // Stride 1: the forward kernels over dy with the rotated filter, padding dil - pad.
        const convx::DwPlan r = convx::planDepthwise(prob("--dir=bwd_d --dt=f32 --tag=nchw g8mb2ic8ih9iw11oc8oh5ow11kh5kw3sh1sw1ph0pw2dh0dw1"));
        CHECK(r.rotated);
        CHECK(r.kernel == convx::DwKernel::FwdRowsS1);
        CHECK(r.g.I[1] == 5);
        CHECK(r.g.I[2] == 11);
        CHECK(r.g.O[1] == 9);
        CHECK(r.g.O[2] == 11);
        CHECK(r.g.P[1] == 4);
        CHECK(r.g.P[2] == 2);  // (3 - 1) * 2 - 2
        CHECK(r.g.xs[3] == 11);  // dy's row stride
        CHECK(r.g.ys[3] == 11);  // dx's
        CHECK(convx::planDepthwise(prob("--dir=bwd_d --dt=f32 --tag=nchw g8mb1ic8ih9iw9oc8oh9ow9kh3kw3sh1sw1ph1pw1dh0dw0")).kernel ==
              convx::DwKernel::FwdRows3x3S1);
        CHECK(convx::planDepthwise(prob("--dir=bwd_w --dt=f32 --tag=nchw g8mb2ic8ih9iw9oc8oh9ow9kh3kw3sh1sw1ph1pw1dh0dw0")).kernel ==
              convx::DwKernel::BwdFilterTaps);
        const convx::Problem n7 = prob("--dir=fwd --dt=f32 --tag=nhwc g960mb1ic960ih7iw7oc960oh7ow7kh3kw3sh1sw1ph1pw1dh0dw0");
        REQUIRE(convx::dwFits(n7, &why));
        const convx::DwPlan pl = convx::planDepthwise(n7);
        CHECK(pl.channelsLast);
        CHECK(pl.kernel == convx::DwKernel::FwdChannels);
        CHECK(convx::planDepthwise(prob("--dir=bwd_w --dt=f32 --tag=nhwc g64mb1ic64ih7iw7oc64oh7ow7kh3kw3sh1sw1ph1pw1dh0dw0")).kernel ==
              convx::DwKernel::BwdFilterChannels);
        // Channels-last with a channel multiplier: the multiplier kernels, in all three directions.
        for (const char* dir : {"fwd", "bwd_d", "bwd_w"}) {
            const convx::Problem m2 =
                prob(std::string("--dir=") + dir + " --dt=f32 --tag=nhwc g32mb1ic32ih14iw14oc64oh14ow14kh3kw3sh1sw1ph1pw1dh0dw0");
            REQUIRE(convx::dwFits(m2, &why));
            const convx::DwPlan pm = convx::planDepthwise(m2);
            CHECK(pm.channelsLast);
            CHECK(pm.M == 2);
            CHECK(pm.kernel == (dir[0] == 'f'   ? convx::DwKernel::FwdChannelsMult
                                : dir[4] == 'd' ? convx::DwKernel::BwdDataChannelsMult
                                                : convx::DwKernel::BwdFilterChannelsMult));
        }
        CHECK(std::string(convx::dwKernelName(convx::DwKernel::FwdChannelsMult)) == "f32_fwd_kany_sany_mult_vm_c");
    }
    SECTION("rejections carry a reason") {
        CHECK_FALSE(convx::dwFits(prob("--dir=fwd --dt=f32 --tag=nchw g1mb1ic8ih9iw9oc8oh9ow9kh3kw3sh1sw1ph1pw1dh0dw0"), &why));
        CHECK(why.find("depthwise") != std::string::npos);
        CHECK_FALSE(convx::dwFits(prob("--dir=fwd --dt=f64 --tag=nchw g8mb1ic8ih9iw9oc8oh9ow9kh3kw3sh1sw1ph1pw1dh0dw0"), &why));
        CHECK(why.find("f32") != std::string::npos);
        CHECK_FALSE(convx::dwFits(prob("--dir=fwd --dt=f32 --tag=ncdhw g8mb1ic8id3ih9iw9oc8od3oh9ow9kd3kh3kw3sd1sh1sw1pd1ph1pw1dd0dh0dw0"), &why));
        CHECK(why.find("3-D") != std::string::npos);
        // 3-D channels-last runs the channel kernels (they have a depth loop).
        const convx::Problem d3 = prob("--dir=bwd_w --dt=f32 --tag=ndhwc g8mb1ic8id3ih9iw9oc16od3oh9ow9kd3kh3kw3sd1sh1sw1pd1ph1pw1dd0dh0dw0");
        REQUIRE(convx::dwFits(d3, &why));
        CHECK(convx::planDepthwise(d3).kernel == convx::DwKernel::BwdFilterChannelsMult);
        CHECK_FALSE(convx::dwFits(prob("--dir=fwd --dt=f32 --xstrides=1:8:576:64 --ystrides=1:8:576:64 --tag=nchw "
                                       "g8mb1ic8ih9iw9oc8oh9ow9kh3kw3sh1sw1ph1pw1dh0dw0"),
                                  &why));
        CHECK(why.find("unit element stride") != std::string::npos);
    }
}

#ifdef CONVX_HAVE_HWY

namespace {

// A depthwise 1-D/2-D f32 problem with x and y in one packed layout; nhwc forces channels-last
// (multiplier 1 there), else either layout.
bool depthwiseShape(std::mt19937_64& rng, Spec& s, int layout /* 0 NCHW, 1 NHWC, -1 any */) {
    if (s.nsp == 3) return false;
    const bool nhwc = layout == 1 || (layout < 0 && uni(rng, 0, 1));
    s.xFmt = s.yFmt = nhwc ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW;
    s.xGapped = s.yGapped = false;
    if (nhwc) {
        // Enough channels for whole vectors (AVX-512 holds 16) and a scalar tail.
        s.G = s.C = uni(rng, 2, 40);
        s.K = s.C;
    }
    return true;
}

// Window, stride, dilation and padding of one spatial dim drawn from the depthwise family.
void drawDim(std::mt19937_64& rng, Spec& s, int i, int kLo, int kHi, int sHi, int dHi, int inLo, int inHi) {
    s.ker[i] = uni(rng, kLo, kHi);
    s.stride[i] = uni(rng, 1, sHi);
    s.dil[i] = uni(rng, 1, dHi);
    s.pad[i] = uni(rng, 0, s.ker[i]);
    s.in[i] = uni(rng, inLo, inHi);
}

AlgoCheck family(Dir dir, uint64_t seed, int count) {
    AlgoCheck c;
    c.algo = kAlgo;
    c.dir = dir;
    c.seed = seed;
    c.count = count;
    c.gen.depthwise = true;
    c.gen.nsp = 2;
    return c;
}

}  // namespace

TEST_CASE("depthwise cpu: 3x3 and 5x5, stride 1 and 2, wide maps (the specialised kernels)", "[depthwise][conformance]") {
    for (const Dir dir : {Dir::Fwd, Dir::BwdData, Dir::BwdFilter}) {
        AlgoCheck c = family(dir, 11 + int(dir), 16);
        c.shape = [](std::mt19937_64& rng, Spec& s) {
            depthwiseShape(rng, s, 0);
            const int k = uni(rng, 0, 1) ? 3 : 5, st = uni(rng, 1, 2);
            for (int i = 0; i < 2; ++i) {
                s.ker[i] = k, s.stride[i] = st, s.dil[i] = 1, s.pad[i] = k / 2;
                s.in[i] = uni(rng, 8, 45);
            }
            if (uni(rng, 0, 3) == 0) s.pad[0] = s.pad[1] = 0;
            return true;
        };
        INFO(harness::dirName(dir));
        CHECK(harness::checkAlgorithm(c) == testutil::scaled(16));
    }
}

TEST_CASE("depthwise cpu: windows 1..7, strides 1..3, dilation, padding 0..k, both layouts", "[depthwise][conformance]") {
    for (const Dir dir : {Dir::Fwd, Dir::BwdData, Dir::BwdFilter}) {
        AlgoCheck c = family(dir, 21 + int(dir), 40);
        c.gen.nsp = 0;
        c.shape = [](std::mt19937_64& rng, Spec& s) {
            if (!depthwiseShape(rng, s, -1)) return false;
            for (int i = 0; i < s.nsp; ++i) drawDim(rng, s, i, 1, 7, 3, 2, 1, 30);
            return s.valid();
        };
        INFO(harness::dirName(dir));
        CHECK(harness::checkAlgorithm(c) == testutil::scaled(40));
    }
}

TEST_CASE("depthwise cpu: maps down to 1x1 and smaller than the window", "[depthwise][conformance]") {
    for (const Dir dir : {Dir::Fwd, Dir::BwdData, Dir::BwdFilter}) {
        AlgoCheck c = family(dir, 31 + int(dir), 20);
        c.shape = [](std::mt19937_64& rng, Spec& s) {
            depthwiseShape(rng, s, -1);
            for (int i = 0; i < 2; ++i) drawDim(rng, s, i, 1, 5, 2, 2, 1, 4);
            return s.valid();
        };
        harness::checkAlgorithm(c);
    }
}

TEST_CASE("depthwise cpu: NCHW padded-tile forward, several planes per job (small maps)", "[depthwise][conformance]") {
    // The padded form: maps up to 20x20 with 20-70 channels so one job holds several planes
    // and the last job fewer; row lengths that leave a masked last vector; padding beyond the
    // window (backward-data at stride 1 runs it with negative padding); alpha/beta.
    for (const Dir dir : {Dir::Fwd, Dir::BwdData}) {
        AlgoCheck c = family(dir, 91 + int(dir), 16);
        c.shape = [](std::mt19937_64& rng, Spec& s) {
            depthwiseShape(rng, s, 0);
            s.G = s.C = uni(rng, 20, 70);
            s.K = s.C * uni(rng, 1, 2);
            s.N = uni(rng, 1, 3);
            for (int i = 0; i < 2; ++i) drawDim(rng, s, i, 1, 5, 2, 2, 1, 20);
            s.alpha = uni(rng, 0, 1) ? 1.0 : 0.75;
            s.beta = uni(rng, 0, 1) ? 0.0 : 0.5;
            return s.valid();
        };
        INFO(harness::dirName(dir));
        CHECK(harness::checkAlgorithm(c) > 0);
    }
}

TEST_CASE("depthwise cpu: channels-last, vectors over channels (7x7 maps)", "[depthwise][conformance]") {
    for (const Dir dir : {Dir::Fwd, Dir::BwdData, Dir::BwdFilter}) {
        AlgoCheck c = family(dir, 41 + int(dir), 12);
        c.shape = [](std::mt19937_64& rng, Spec& s) {
            depthwiseShape(rng, s, 1);
            for (int i = 0; i < 2; ++i) drawDim(rng, s, i, 3, 5, 2, 1, 5, 9);
            return s.valid();
        };
        harness::checkAlgorithm(c);
    }
}

TEST_CASE("depthwise cpu: channels-last with channel multiplier 2, 3 (interleaved) and 5 (gathered)", "[depthwise][conformance][mult]") {
    // Every Highway target the machine runs: the (de-)interleaving loads and stores and the
    // gathers/scatters differ per ISA. Channels 2..40: whole vectors, a scalar channel tail.
    dwtest::ResetTargets reset;
    const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
    REQUIRE(!targets.empty());
    for (const int64_t t : targets) {
        hwy::SetSupportedTargetsForTest(t);
        INFO("target " << hwy::TargetName(t));
        for (const Dir dir : {Dir::Fwd, Dir::BwdData, Dir::BwdFilter}) {
            for (const int mult : {2, 3, 5}) {
                AlgoCheck c = family(dir, 91 + 7 * int(dir) + mult, mult == 5 ? 3 : 5);
                c.gen.nsp = 0;
                c.gen.betaKind = -1;
                c.shape = [mult](std::mt19937_64& rng, Spec& s) {
                    if (!depthwiseShape(rng, s, 1)) return false;
                    s.K = mult * s.C;
                    s.beta = uni(rng, 0, 2) == 0 ? 0.0 : uni(rng, 0, 1) ? 1.0 : -0.75;
                    s.alpha = uni(rng, 0, 1) ? 1.0 : 0.5;
                    s.mode = uni(rng, 0, 1) ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
                    for (int i = 0; i < s.nsp; ++i) drawDim(rng, s, i, 1, 5, 2, 2, 1, 12);
                    return s.valid();
                };
                INFO(harness::dirName(dir) << " multiplier " << mult);
                CHECK(harness::checkAlgorithm(c) == testutil::scaled(mult == 5 ? 3 : 5));
            }
        }
    }
}

TEST_CASE("depthwise cpu: 3-D channels-last (NDHWC), multiplier 1 and 2", "[depthwise][conformance][3d]") {
    for (const Dir dir : {Dir::Fwd, Dir::BwdData, Dir::BwdFilter}) {
        AlgoCheck c = family(dir, 111 + int(dir), 12);
        c.gen.nsp = 3;
        c.shape = [](std::mt19937_64& rng, Spec& s) {
            s.xFmt = s.yFmt = CONVX_TENSOR_NHWC;
            s.xGapped = s.yGapped = false;
            s.G = s.C = uni(rng, 2, 24);
            s.K = s.C * uni(rng, 1, 2);
            for (int i = 0; i < 3; ++i) drawDim(rng, s, i, 1, 3, 2, 2, 1, 7);
            return s.valid();
        };
        INFO(harness::dirName(dir));
        CHECK(harness::checkAlgorithm(c) == testutil::scaled(12));
    }
}

TEST_CASE("depthwise cpu: alpha and beta, multiplier 2, mode", "[depthwise][conformance]") {
    for (const Dir dir : {Dir::Fwd, Dir::BwdData, Dir::BwdFilter}) {
        for (int betaKind = 1; betaKind <= 2; ++betaKind) {
            AlgoCheck c = family(dir, 51 + 3 * int(dir) + betaKind, 8);
            c.gen.betaKind = betaKind;
            c.shape = [](std::mt19937_64& rng, Spec& s) {
                depthwiseShape(rng, s, 0);
                s.K = 2 * s.C;
                for (int i = 0; i < 2; ++i) drawDim(rng, s, i, 1, 5, 2, 2, 3, 24);
                return s.valid();
            };
            harness::checkAlgorithm(c);
        }
    }
}

TEST_CASE("depthwise cpu: other layouts are rejected or handled, never wrong", "[depthwise][conformance]") {
    // The harness's own random depthwise draws: mixed layouts, gapped tensors, 3-D. What the
    // kernels take must match the reference; the rest must be refused with a reason.
    for (const Dir dir : {Dir::Fwd, Dir::BwdData, Dir::BwdFilter}) {
        AlgoCheck c = family(dir, 61 + int(dir), 20);
        c.gen.nsp = 0;
        c.mustApply = false;
        harness::checkAlgorithm(c);
    }
}

TEST_CASE("depthwise cpu: every Highway target this machine runs", "[depthwise][conformance][targets]") {
    // The other families run the best target only; here each one the machine supports in turn
    // (e.g. SSE4, AVX2 and AVX-512 on one x86), through Highway's own test hook.
    dwtest::ResetTargets reset;
    const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
    REQUIRE(!targets.empty());
    for (const int64_t t : targets) {
        hwy::SetSupportedTargetsForTest(t);
        INFO("target " << hwy::TargetName(t));
        for (const Dir dir : {Dir::Fwd, Dir::BwdData, Dir::BwdFilter}) {
            AlgoCheck c = family(dir, 81 + int(dir), 6);
            c.shape = [](std::mt19937_64& rng, Spec& s) {
                depthwiseShape(rng, s, -1);
                for (int i = 0; i < 2; ++i) drawDim(rng, s, i, 3, 5, 2, 1, 5, 30);
                return s.valid();
            };
            CHECK(harness::checkAlgorithm(c) == testutil::scaled(6));
        }
    }
}

TEST_CASE("depthwise cpu: bitwise identical for 1, 2 and 3 threads", "[depthwise][determinism]") {
    std::mt19937_64 rng(71);
    testutil::Handle h;
    for (int i = 0; i < testutil::scaled(6); ++i) {
        const Dir dir = static_cast<Dir>(i % 3);
        Spec s;
        s.dir = dir;
        s.G = s.C = uni(rng, 3, 20);
        s.K = s.C * uni(rng, 1, 2);
        s.N = uni(rng, 1, 3);
        for (int d = 0; d < 2; ++d) drawDim(rng, s, d, 3, 5, 2, 1, 10, 30);
        s.beta = i % 2 ? 1.0 : 0.0;
        // Channels-last: multiplier 1, then 2 (the interleaving kernels; bwd_w jobs per (block, tap)).
        if (i >= 3) s.xFmt = s.yFmt = s.wFmt = CONVX_TENSOR_NHWC, s.K = s.C * (i >= 4 ? 2 : 1);
        if (!s.valid()) continue;
        harness::Case c(s);
        INFO(c.describe());
        c.fill();
        dwtest::checkThreadCounts(h.h, c, kAlgo);
    }
}

#endif  // CONVX_HAVE_HWY
