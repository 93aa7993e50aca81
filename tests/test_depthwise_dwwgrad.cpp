// CONVX_ALGO_DEPTHWISE weight gradient: the register-tap kernels against the reference on the
// shapes that hit their edges. Channels-first (flattened planes): maps 1x1..9x9 and 13..30
// wide (pitch Q + (S-1)/sw, junk columns, the last partial vector of the flattened plane),
// stride 1/2 along W as column phases and 1..3 along H as row phases, dilation along H (along W
// the row fallback), stride 3 along W (the general fallback), padding 0..k and beyond the
// window, windows 1x1..7x7 (5x5/7x7 run in passes of filter rows on 16-register targets),
// several channels per job. Channels-last: 1..40 channels (vector and one-lane tails), checked
// border pixels and filter rows outside x, row chunks with partial sums (few channels on a
// large map), 3-D. alpha/beta with beta 0 poisoned, CONVOLUTION mode, every Highway target,
// bitwise identical for 1/2/3 threads. Built only with Highway.
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

using dwtest::uni;

AlgoCheck wgFamily(uint64_t seed, int count) {
    AlgoCheck c;
    c.algo = CONVX_ALGO_DEPTHWISE;
    c.dir = Dir::BwdFilter;
    c.seed = seed;
    c.count = count;
    c.gen.depthwise = true;
    c.gen.nsp = 2;
    return c;
}

// alpha/beta (beta 0 poisons dw in the harness) and the mode, drawn.
void drawScale(std::mt19937_64& rng, Spec& s) {
    s.alpha = uni(rng, 0, 1) ? 1.0 : 0.75;
    s.beta = uni(rng, 0, 2) == 0 ? 0.5 : 0.0;
    s.mode = uni(rng, 0, 1) ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
}

// Window (odd 1..7 or any 1..7), stride, dilation, padding (0..k, sometimes past the window).
void drawWin(std::mt19937_64& rng, Spec& s, int i, int sHi, int dHi) {
    static const int odd[] = {1, 3, 3, 5, 5, 7};
    s.ker[i] = uni(rng, 0, 3) ? odd[uni(rng, 0, 5)] : uni(rng, 1, 7);
    s.stride[i] = uni(rng, 1, sHi);
    s.dil[i] = uni(rng, 0, 3) ? 1 : uni(rng, 1, dHi);
    s.pad[i] = uni(rng, 0, 5) ? uni(rng, 0, s.ker[i] / 2 + 1) : uni(rng, 0, s.ker[i] + 2);
}

void channelsFirst(Spec& s) {
    s.xFmt = s.yFmt = CONVX_TENSOR_NCHW;
    s.xGapped = s.yGapped = false;
}
void channelsLast(Spec& s) {
    s.xFmt = s.yFmt = CONVX_TENSOR_NHWC;
    s.xGapped = s.yGapped = false;
}

// Channels-first: small and mid maps, stride 1/2 along W (the flattened kernel), the H stride
// and dilation free, W dilation / stride 3 sometimes (the fallbacks).
bool nchwShape(std::mt19937_64& rng, Spec& s) {
    channelsFirst(s);
    s.G = s.C = uni(rng, 1, 24);
    s.K = s.C * (uni(rng, 0, 3) ? 1 : 2);
    s.N = uni(rng, 1, 3);
    for (int i = 0; i < 2; ++i) drawWin(rng, s, i, i == 0 ? 3 : 2, 2);
    if (uni(rng, 0, 7) == 0) s.stride[1] = 3;
    s.in[0] = uni(rng, 1, 12);
    s.in[1] = uni(rng, 0, 1) ? uni(rng, 1, 9) : uni(rng, 13, 30);
    drawScale(rng, s);
    return s.valid();
}

// Channels-last: 1..40 channels (whole vectors plus a tail), maps 1..20.
bool nhwcShape(std::mt19937_64& rng, Spec& s) {
    channelsLast(s);
    s.G = s.C = s.K = uni(rng, 1, 40);
    s.N = uni(rng, 1, 2);
    for (int i = 0; i < 2; ++i) {
        drawWin(rng, s, i, 3, 2);
        s.in[i] = uni(rng, 0, 2) ? uni(rng, 1, 9) : uni(rng, 10, 20);
    }
    drawScale(rng, s);
    return s.valid();
}

}  // namespace

TEST_CASE("depthwise dwwgrad: channels-first flattened planes (pitch, junk columns, phases, passes)", "[depthwise][dwwgrad]") {
    AlgoCheck c = wgFamily(701, 60);
    c.shape = nchwShape;
    CHECK(harness::checkAlgorithm(c) == testutil::scaled(60));
}

TEST_CASE("depthwise dwwgrad: channels-first hand-picked edges", "[depthwise][dwwgrad]") {
    // (H, W, k, stride, pad, dil): 1x1 maps, 7x7 with the flattened plane ending in a partial
    // vector, a plane whose pitch is a lane multiple, 7x7 windows with padding past the window,
    // stride 2 with an odd padding (phase 1 first), H stride 3 with W stride 2.
    struct E {
        int h, w, kh, kw, sh, sw, ph, pw, dh, dw, c, n;
    };
    const E edges[] = {{1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 5, 2},   {1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 3, 1},
                       {7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 40, 1},  {7, 7, 3, 3, 2, 2, 1, 1, 1, 1, 9, 2},
                       {14, 14, 5, 5, 1, 1, 2, 2, 1, 1, 6, 1}, {14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 17, 2},
                       {9, 9, 7, 7, 1, 1, 9, 8, 1, 1, 3, 1},   {13, 29, 5, 5, 2, 2, 3, 1, 1, 1, 4, 1},
                       {20, 22, 3, 5, 3, 2, 0, 4, 2, 1, 2, 2}, {30, 30, 7, 7, 2, 2, 3, 3, 1, 1, 2, 1},
                       {5, 6, 1, 7, 1, 2, 0, 3, 1, 1, 3, 1},   {8, 8, 3, 3, 1, 1, 0, 0, 3, 2, 3, 1}};
    for (const E& e : edges) {
        for (const int layout : {0, 1}) {
            Spec s;
            s.dir = Dir::BwdFilter;
            s.nsp = 2;
            layout ? channelsLast(s) : channelsFirst(s);
            s.G = s.C = s.K = e.c;
            s.N = e.n;
            s.in[0] = e.h, s.in[1] = e.w, s.ker[0] = e.kh, s.ker[1] = e.kw, s.stride[0] = e.sh, s.stride[1] = e.sw;
            s.pad[0] = e.ph, s.pad[1] = e.pw, s.dil[0] = e.dh, s.dil[1] = e.dw;
            s.mode = e.c % 2 ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
            s.beta = e.n == 2 ? 1.0 : 0.0;
            INFO("edge " << (&e - edges) << (layout ? " nhwc" : " nchw"));
            harness::checkAlgorithmOn(CONVX_ALGO_DEPTHWISE, s);
        }
    }
}

TEST_CASE("depthwise dwwgrad: channels-last register taps (tails, borders, windows 1..7)", "[depthwise][dwwgrad]") {
    AlgoCheck c = wgFamily(711, 50);
    c.shape = nhwcShape;
    CHECK(harness::checkAlgorithm(c) == testutil::scaled(50));
}

TEST_CASE("depthwise dwwgrad: channels-last row chunks with partial sums, 1-D and 3-D", "[depthwise][dwwgrad]") {
    // Few channels on maps of 1000+ pixels: the rows split into chunks reduced in order.
    AlgoCheck c = wgFamily(721, 10);
    c.gen.nsp = 0;
    c.shape = [](std::mt19937_64& rng, Spec& s) {
        channelsLast(s);
        s.G = s.C = s.K = uni(rng, 1, 20);
        s.N = uni(rng, 1, 2);
        for (int i = 0; i < s.nsp; ++i) {
            drawWin(rng, s, i, 2, 2);
            if (s.nsp == 3) s.ker[i] = std::min(s.ker[i], 3), s.pad[i] = std::min(s.pad[i], 2);
        }
        const int big = s.nsp == 1 ? 3000 : s.nsp == 2 ? 56 : 14;
        for (int i = 0; i < s.nsp; ++i) s.in[i] = uni(rng, big / 2, big);
        drawScale(rng, s);
        return s.valid();
    };
    CHECK(harness::checkAlgorithm(c) == testutil::scaled(10));
}

TEST_CASE("depthwise dwwgrad: every Highway target", "[depthwise][dwwgrad][targets]") {
    dwtest::ResetTargets reset;
    const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
    REQUIRE(!targets.empty());
    for (const int64_t t : targets) {
        hwy::SetSupportedTargetsForTest(t);
        INFO("target " << hwy::TargetName(t));
        AlgoCheck f = wgFamily(731 + t % 97, 10);
        f.shape = nchwShape;
        CHECK(harness::checkAlgorithm(f) == testutil::scaled(10));
        AlgoCheck l = wgFamily(741 + t % 89, 10);
        l.shape = nhwcShape;
        CHECK(harness::checkAlgorithm(l) == testutil::scaled(10));
    }
}

TEST_CASE("depthwise dwwgrad: bitwise identical for 1, 2 and 3 threads", "[depthwise][dwwgrad][determinism]") {
    // Several channels per job (channels-first) and row chunks (channels-last).
    std::mt19937_64 rng(751);
    testutil::Handle h;
    for (int i = 0; i < testutil::scaled(8); ++i) {
        Spec s;
        s.dir = Dir::BwdFilter;
        s.nsp = 2;
        const bool last = i % 2;
        last ? channelsLast(s) : channelsFirst(s);
        s.G = s.C = s.K = last ? uni(rng, 3, 20) : uni(rng, 20, 60);
        s.N = uni(rng, 1, 3);
        for (int d = 0; d < 2; ++d) {
            drawWin(rng, s, d, 2, 1);
            s.in[d] = last ? uni(rng, 30, 60) : uni(rng, 5, 16);
        }
        s.beta = i % 4 >= 2 ? 1.0 : 0.0;
        if (!s.valid()) continue;
        harness::Case c(s);
        INFO(c.describe());
        c.fill();
        dwtest::checkThreadCounts(h.h, c, CONVX_ALGO_DEPTHWISE);
    }
}

#endif  // CONVX_HAVE_HWY
