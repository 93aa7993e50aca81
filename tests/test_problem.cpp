// Unit tests of convx::Problem: the canonical problem string (print/parse round trip, benchdnn
// shorthand, parse errors) and the output-size formula.
#include <algorithm>
#include <climits>
#include <numeric>
#include <random>
#include <vector>

#include "error.h"
#include "problem.h"
#include "test_util.h"

using convx::Direction;
using convx::DType;
using convx::Layout;
using convx::Problem;

namespace {

// Strides of a tensor (N, C, spatial...) laid out in the dim order `order` (innermost first),
// each stride skipping `extra` unused elements after the inner block.
convx::Strides gappedStrides(const std::vector<int>& order, const int64_t* dims, std::mt19937& rng, bool gaps) {
    convx::Strides s{};
    int64_t acc = gaps ? std::uniform_int_distribution<int>(1, 2)(rng) : 1;
    for (int d : order) {
        s[d] = acc;
        acc = acc * dims[d] + (gaps ? std::uniform_int_distribution<int>(0, 3)(rng) : 0);
    }
    return s;
}

Problem randomProblem(std::mt19937& rng) {
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    Problem p;
    p.dir = static_cast<Direction>(uni(0, 2));
    const DType dts[] = {DType::F32, DType::F64, DType::F16, DType::BF16};
    p.dtype = dts[uni(0, 3)];
    p.accType = p.dtype == DType::F64 ? DType::F64 : DType::F32;
    if (p.dtype == DType::F16 && uni(0, 2) == 0) p.accType = DType::F16;
    p.mode = uni(0, 1) ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
    p.math = static_cast<convxMathType_t>(uni(0, 3));
    p.nsp = uni(1, 3);
    const bool small = uni(0, 2) == 0;  // small enough for explicit strides that fit an int
    p.G = uni(0, 3) == 0 ? uni(2, 8) : 1;
    p.C = p.G * (small ? uni(1, 4) : uni(1, 64));
    p.K = p.G * (small ? uni(1, 4) : uni(1, 64));
    if (uni(0, 5) == 0) {  // depthwise, multiplier 1..3
        p.G = p.C = uni(2, 32);
        p.K = p.C * uni(1, 3);
    }
    p.N = uni(1, small ? 4 : 64);
    for (int i = 0; i < p.nsp; ++i) {
        for (;;) {
            p.ker[i] = uni(1, 7);
            p.stride[i] = uni(1, 4);
            p.dil[i] = uni(1, 4);
            p.pad[i] = uni(0, static_cast<int>(p.ker[i]) + 3);
            p.in[i] = uni(1, small ? 12 : (p.nsp == 3 ? 40 : 300));
            p.out[i] = convx::convOutputSize(p.in[i], p.ker[i], p.stride[i], p.pad[i], p.dil[i]);
            if (p.out[i] >= 1) break;
        }
    }
    if (uni(0, 1)) {
        p.xLayout = p.wLayout = p.yLayout = uni(0, 1) ? Layout::NHWC : Layout::NCHW;
    } else {
        p.xLayout = uni(0, 1) ? Layout::NHWC : Layout::NCHW;
        p.wLayout = uni(0, 1) ? Layout::NHWC : Layout::NCHW;
        p.yLayout = uni(0, 1) ? Layout::NHWC : Layout::NCHW;
    }
    p.xStrides = convx::packedStrides(p.xLayout, p.nsp, p.N, p.C, p.in);
    p.yStrides = convx::packedStrides(p.yLayout, p.nsp, p.N, p.K, p.out);
    if (small) {
        // Non-packed strides: any dim order, with gaps (padded rows, padded channels...).
        for (int t = 0; t < 2; ++t) {
            if (uni(0, 1) == 0) continue;
            std::vector<int> order(2 + p.nsp);
            std::iota(order.begin(), order.end(), 0);
            std::shuffle(order.begin(), order.end(), rng);
            int64_t dims[5] = {p.N, t == 0 ? p.C : p.K, 1, 1, 1};
            for (int i = 0; i < p.nsp; ++i) dims[2 + i] = t == 0 ? p.in[i] : p.out[i];
            (t == 0 ? p.xStrides : p.yStrides) = gappedStrides(order, dims, rng, true);
        }
    }
    return p;
}

// Runs fn, which must throw convx::Error; returns it for inspection.
template <class F>
convx::Error thrownError(F&& fn) {
    try {
        fn();
    } catch (const convx::Error& e) {
        return e;
    } catch (const std::exception& e) {
        FAIL("threw a non-convx exception: " << e.what());
    }
    FAIL("did not throw");
    return convx::Error(CONVX_STATUS_SUCCESS, "");
}

}  // namespace

TEST_CASE("problem: string round trip of random valid problems", "[unit][problem]") {
    std::mt19937 rng(20240611);
    const int count = testutil::scaled(3000, 50);
    int nonPacked = 0, mixed = 0, acc16 = 0;
    int perRank[4] = {0, 0, 0, 0};
    for (int i = 0; i < count; ++i) {
        Problem p = randomProblem(rng);
        INFO("case " << i << ": " << p.str());
        REQUIRE_NOTHROW(convx::validateProblem(p));
        Problem q;
        REQUIRE_NOTHROW(q = convx::parseProblem(p.str()));
        INFO("parsed back as: " << q.str());
        REQUIRE(q == p);
        REQUIRE(q.str() == p.str());
        nonPacked += !p.xPacked() || !p.yPacked();
        mixed += !(p.xLayout == p.wLayout && p.wLayout == p.yLayout);
        acc16 += p.accType == DType::F16;
        ++perRank[p.nsp];
    }
    // The generator did cover what it should.
    CHECK(nonPacked > 0);
    CHECK(mixed > 0);
    CHECK(acc16 > 0);
    CHECK(perRank[1] > 0);
    CHECK(perRank[2] > 0);
    CHECK(perRank[3] > 0);
}

TEST_CASE("problem: round trip of hand-picked problems", "[unit][problem]") {
    const char* texts[] = {
        "--dir=fwd --dt=f32 --tag=nchw g1mb2ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0",
        "--dir=bwd_d --dt=f16 --acc=f16 --mode=conv --tag=nhwc g1mb1ic8iw100oc4ow50kw3sw2pw1dw0",
        "--dir=bwd_w --dt=bf16 --math=tensor_op --stag=nhwc --wtag=nchw --dtag=nhwc g4mb3ic8id5ih6iw7oc12od5oh6ow7kd3kh3kw3sd1sh1sw1pd1ph1pw1dd0dh0dw0",
        "--dir=fwd --dt=f64 --tag=nchw --xstrides=200:50:10:1 --ystrides=100:45:9:1 g1mb2ic4ih5iw9oc2oh5ow9kh1kw1sh1sw1ph0pw0dh0dw0",
        "--dir=fwd --dt=f32 --math=fma --tag=nchw g32mb1ic32ih7iw7oc64oh7ow7kh3kw3sh1sw1ph2pw2dh1dw1",
        "--dir=fwd --dt=f32 --tag=nchw g1mb2147483647ic1iw1oc1ow1kw1sw1pw0dw0",
    };
    for (const char* t : texts) {
        INFO(t);
        Problem p;
        REQUIRE_NOTHROW(p = convx::parseProblem(t));
        CHECK(p.str() == t);
        CHECK(convx::parseProblem(p.str()) == p);
    }
}

TEST_CASE("problem: benchdnn shorthand squares and defaults", "[unit][problem]") {
    SECTION("2-D square shorthand") {
        Problem p = convx::parseProblem("mb1ic64ih56oc64kh3ph1");
        CHECK(p.nsp == 2);
        CHECK(p.N == 1);
        CHECK(p.C == 64);
        CHECK(p.K == 64);
        CHECK(p.G == 1);
        CHECK(p.in[0] == 56);
        CHECK(p.in[1] == 56);  // iw56
        CHECK(p.ker[1] == 3);  // kw3
        CHECK(p.pad[1] == 1);  // pw1
        CHECK(p.stride[0] == 1);
        CHECK(p.stride[1] == 1);
        CHECK(p.dil[0] == 1);
        CHECK(p.dil[1] == 1);
        CHECK(p.out[0] == 56);
        CHECK(p.out[1] == 56);
        CHECK(p.dir == Direction::Forward);
        CHECK(p.dtype == DType::F32);
        CHECK(p.accType == DType::F32);
        CHECK(p.xLayout == Layout::NCHW);
        CHECK(p.xPacked());
        CHECK(p.yPacked());
        CHECK(p == convx::parseProblem("g1mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0"));
    }
    SECTION("given sizes win over squaring; output sizes may be given when they agree") {
        Problem p = convx::parseProblem("mb2ic3ih10iw7oc4kh3kw1sh2oh4ow4");
        CHECK(p.in[0] == 10);
        CHECK(p.in[1] == 7);
        CHECK(p.ker[0] == 3);
        CHECK(p.ker[1] == 1);
        CHECK(p.stride[0] == 2);
        CHECK(p.stride[1] == 2);  // sw squares from sh
        CHECK(p.out[0] == 4);
        CHECK(p.out[1] == 4);
    }
    SECTION("missing mb defaults to 2, as in benchdnn") {
        Problem p = convx::parseProblem("ic4iw9oc8kw3");
        CHECK(p.N == 2);
        CHECK(p.nsp == 1);
        CHECK(p.out[0] == 7);
    }
    SECTION("3-D and dilation counted from 0") {
        Problem p = convx::parseProblem("--dir=bwd_w g2ic4id5oc6kd3dd1pd2");
        CHECK(p.nsp == 3);
        CHECK(p.G == 2);
        for (int i = 0; i < 3; ++i) {
            CHECK(p.in[i] == 5);
            CHECK(p.ker[i] == 3);
            CHECK(p.dil[i] == 2);
            CHECK(p.pad[i] == 2);
            CHECK(p.out[i] == 5);  // 1 + (5 + 4 - 5) / 1
        }
        CHECK(p.dir == Direction::BackwardFilter);
    }
    SECTION("flags in any order, a trailing name") {
        Problem a = convx::parseProblem("ic4ih8oc4kh3_resnet_layer --dt=f16 --dir=bwd_d");
        Problem b = convx::parseProblem("--dir=bwd_d --dt=f16 ic4ih8oc4kh3n\"resnet\"");
        CHECK(a == b);
        CHECK(a.dtype == DType::F16);
        CHECK(a.dir == Direction::BackwardData);
    }
    SECTION("layout tags") {
        Problem p = convx::parseProblem("--tag=nhwc ic4ih8oc4kh3");
        CHECK(p.xLayout == Layout::NHWC);
        CHECK(p.wLayout == Layout::NHWC);
        CHECK(p.yLayout == Layout::NHWC);
        CHECK(p.xStrides[1] == 1);
        Problem q = convx::parseProblem("--stag=nhwc --wtag=nchw --dtag=nhwc ic4ih8oc4kh3");
        CHECK(q.xLayout == Layout::NHWC);
        CHECK(q.wLayout == Layout::NCHW);
        CHECK(q.yLayout == Layout::NHWC);
    }
    SECTION("output size that disagrees is an error") {
        convx::Error e = thrownError([] { convx::parseProblem("mb2ic3ih10oc4kh3oh9"); });
        CHECK(e.status() == CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH);
        CHECK_THAT(e.what(), Catch::Contains("oh9"));
        convx::Error e2 = thrownError([] { convx::parseProblem("mb1ic64ih56oc64kh3ph1ow55"); });
        CHECK(e2.status() == CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH);
    }
}

TEST_CASE("problem: parse errors throw convx::Error with a message", "[unit][problem]") {
    struct Bad {
        const char* text;
        convxStatus_t status;
        const char* needle;
    };
    const Bad bad[] = {
        {"", CONVX_STATUS_BAD_PARAM, "descriptor"},
        {"   ", CONVX_STATUS_BAD_PARAM, "descriptor"},
        {"hello", CONVX_STATUS_BAD_PARAM, "ello"},
        {"!@#$%", CONVX_STATUS_BAD_PARAM, "cannot read"},
        {"ic4ih8oc4kh3zz2", CONVX_STATUS_BAD_PARAM, "zz"},               // unknown key
        {"ic4ih8oc4kh3qw1", CONVX_STATUS_BAD_PARAM, "qw"},               // unknown key
        {"ic4ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "ic"},               // duplicate key
        {"mb1ic4ih8oc4kh3kh3", CONVX_STATUS_BAD_PARAM, "kh"},            // duplicate key
        {"mb1ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "ic"},                  // missing ic
        {"mb1ic4ih8kh3", CONVX_STATUS_BAD_PARAM, "oc"},                  // missing oc
        {"mb1ic4oc4kh3", CONVX_STATUS_BAD_PARAM, "'iw'"},                // missing input size
        {"mb1ic4ih8oc4", CONVX_STATUS_BAD_PARAM, "'kw'"},                // missing kernel size
        {"mb1ic2147483648ih8oc4kh3", CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "ic"},  // > INT_MAX
        {"mb1ic4ih4294967297oc4kh3", CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "ih"},
        {"mb1ic4ih99999999999oc4kh3", CONVX_STATUS_BAD_PARAM, "ih"},     // too many digits
        {"mb1ic4ih8oc4kh", CONVX_STATUS_BAD_PARAM, "kh"},                // key without a number
        {"mb1ic4ih8oc4kh3 ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "two descriptors"},
        {"--dir=sideways ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "sideways"},
        {"--dt=int8 ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "int8"},
        {"--acc=f99 ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "f99"},
        {"--mode=fft ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "fft"},
        {"--math=fast ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "fast"},
        {"--tag=chwn ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "chwn"},
        {"--wtag=xyz ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "xyz"},
        {"--frobnicate=1 ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "frobnicate"},
        {"--dir ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "--dir"},
        {"--xstrides=1:2 ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "--xstrides"},
        {"--xstrides=a:b:c:d ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "--xstrides"},
        {"--ystrides=1:1:1:1 mb2ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM, "overlap"},
        {"--dt=f32 --acc=f16 ic4ih8oc4kh3", CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE, "f16"},
        {"--dt=bf16 --acc=f64 ic4ih8oc4kh3", CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE, "bf16"},
        {"g3ic4ih8oc6kh3", CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "groups"},   // C % G
        {"g2ic4ih8oc5kh3", CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "groups"},   // K % G
        {"ic4ih5oc4kh7", CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "larger"},     // filter > input
        {"ic4ih5oc4kh3dh3", CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "larger"},  // dilated filter (7) > input
        {"g0ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "groups"},
        {"mb0ic4ih8oc4kh3", CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "batch"},
        {"ic0ih8oc4kh3", CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "C"},
        {"ic4ih8oc4kh3sh0", CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "stride"},
        {"mb2147483647ic2147483647ih2147483647oc1kh1", CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "overflow"},
    };
    for (const Bad& b : bad) {
        INFO("'" << b.text << "'");
        convx::Error e = thrownError([&] { convx::parseProblem(b.text); });
        INFO("-> " << convxGetErrorString(e.status()) << ": " << e.what());
        CHECK(std::string(e.what()).size() > 0);
        CHECK(e.status() == b.status);
        CHECK(CONVX_STATUS_CATEGORY(e.status()) != CONVX_STATUS_SUCCESS);
        CHECK_THAT(e.what(), Catch::Contains(b.needle));
    }
}

TEST_CASE("problem: garbage never escapes as anything but convx::Error", "[unit][problem]") {
    std::mt19937 rng(7);
    const std::string alphabet = "gmbicdhwoksp0123456789_-= :\"n";
    const int count = testutil::scaled(2000, 50);
    int parsed = 0;
    for (int i = 0; i < count; ++i) {
        std::string s;
        const int len = std::uniform_int_distribution<int>(0, 40)(rng);
        for (int j = 0; j < len; ++j) s += alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
        INFO("'" << s << "'");
        try {
            Problem p = convx::parseProblem(s);
            ++parsed;
            CHECK(convx::parseProblem(p.str()) == p);
        } catch (const convx::Error& e) {
            CHECK(std::string(e.what()).size() > 0);
            CHECK(e.status() != CONVX_STATUS_SUCCESS);
        }
    }
    SUCCEED("parsed " << parsed << " of " << count);
}

TEST_CASE("problem: convOutputSize formula", "[unit][problem]") {
    using convx::convOutputSize;
    // in, k, stride, pad, dil -> out
    CHECK(convOutputSize(5, 3, 1, 0, 1) == 3);
    CHECK(convOutputSize(5, 3, 1, 1, 1) == 5);
    CHECK(convOutputSize(5, 3, 2, 1, 1) == 3);
    CHECK(convOutputSize(224, 7, 2, 3, 1) == 112);
    CHECK(convOutputSize(56, 1, 2, 0, 1) == 28);
    CHECK(convOutputSize(7, 3, 1, 0, 2) == 3);    // dilated extent 5
    CHECK(convOutputSize(65, 3, 1, 12, 12) == 65);  // ASPP: pad = dilation
    CHECK(convOutputSize(10, 3, 3, 0, 3) == 2);   // extent 7, span 3
    CHECK(convOutputSize(1, 3, 1, 4, 1) == 7);    // pad > kernel
    CHECK(convOutputSize(1, 1, 1, 5, 1) == 11);
    CHECK(convOutputSize(2, 5, 1, 2, 1) == 2);    // map smaller than the kernel, padded enough
    CHECK(convOutputSize(2, 5, 3, 4, 1) == 2);
    CHECK(convOutputSize(4, 5, 1, 0, 1) == 0);    // filter exceeds the input
    CHECK(convOutputSize(5, 3, 1, 0, 3) == 0);    // dilated filter (7) exceeds the input
    CHECK(convOutputSize(5, 5, 1, 0, 1) == 1);
    CHECK(convOutputSize(5, 5, 7, 0, 1) == 1);
    // Brute force: count the window positions o*s (o >= 0) that fit in the padded input.
    for (int in = 1; in <= 12; ++in)
        for (int k = 1; k <= 6; ++k)
            for (int s = 1; s <= 4; ++s)
                for (int p = 0; p <= 8; ++p)
                    for (int d = 1; d <= 4; ++d) {
                        const int extent = (k - 1) * d + 1;
                        int count = 0;
                        for (int o = 0; o * s + extent <= in + 2 * p; ++o) ++count;
                        INFO("in " << in << " k " << k << " s " << s << " p " << p << " d " << d);
                        REQUIRE(convOutputSize(in, k, s, p, d) == count);
                    }
}

TEST_CASE("problem: packed strides per layout", "[unit][problem]") {
    const convx::Dims sp{3, 4, 5};
    convx::Strides nchw = convx::packedStrides(Layout::NCHW, 3, 2, 6, sp);
    CHECK(nchw[4] == 1);
    CHECK(nchw[3] == 5);
    CHECK(nchw[2] == 20);
    CHECK(nchw[1] == 60);
    CHECK(nchw[0] == 360);
    convx::Strides nhwc = convx::packedStrides(Layout::NHWC, 3, 2, 6, sp);
    CHECK(nhwc[1] == 1);
    CHECK(nhwc[4] == 6);
    CHECK(nhwc[3] == 30);
    CHECK(nhwc[2] == 120);
    CHECK(nhwc[0] == 360);
    convx::Strides nwc = convx::packedStrides(Layout::NHWC, 1, 2, 6, convx::Dims{7, 1, 1});
    CHECK(nwc[1] == 1);
    CHECK(nwc[2] == 6);
    CHECK(nwc[0] == 42);
}

TEST_CASE("problem: counts and flops", "[unit][problem]") {
    Problem p = convx::parseProblem("g2mb3ic4ih5iw6oc8kh3kw2");
    CHECK(p.Cg() == 2);
    CHECK(p.Kg() == 4);
    CHECK(p.xElems() == 3 * 4 * 5 * 6);
    CHECK(p.out[0] == 3);
    CHECK(p.out[1] == 5);
    CHECK(p.yElems() == 3 * 8 * 3 * 5);
    CHECK(p.wElems() == 8 * 2 * 3 * 2);
    CHECK(p.flops() == Approx(2.0 * 3 * 8 * 15 * 2 * 6));
    CHECK_FALSE(p.isDepthwise());
    CHECK(convx::parseProblem("g8ic8ih5oc16kh3").isDepthwise());
}
