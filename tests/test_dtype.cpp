// Unit tests of the 16-bit float conversions of src/dtype.h: exact expectations written out by
// hand, then exhaustive checks against the test's own codecs (test_util.h), which decode by
// formula and round by nearest-neighbour search.
#include <cfloat>
#include <limits>
#include <random>

#include "dtype.h"
#include "test_util.h"

using testutil::decode16;
using testutil::encode16;
using testutil::kBf16;
using testutil::kHalf;

namespace {
float f32(uint32_t bits) { return convx::bitsToFloat(bits); }
double p2(int e) { return std::ldexp(1.0, e); }
}  // namespace

TEST_CASE("dtype: names, sizes and enum values", "[unit][dtype]") {
    CHECK(convx::dtypeSize(convx::DType::F32) == 4);
    CHECK(convx::dtypeSize(convx::DType::F64) == 8);
    CHECK(convx::dtypeSize(convx::DType::F16) == 2);
    CHECK(convx::dtypeSize(convx::DType::BF16) == 2);
    const convx::DType all[] = {convx::DType::F32, convx::DType::F64, convx::DType::F16, convx::DType::BF16};
    for (convx::DType t : all) {
        convx::DType back;
        REQUIRE(convx::parseDType(convx::dtypeName(t), &back));
        CHECK(back == t);
    }
    convx::DType t;
    CHECK(convx::parseDType("half", &t));
    CHECK(t == convx::DType::F16);
    CHECK(convx::parseDType("bfloat16", &t));
    CHECK(t == convx::DType::BF16);
    CHECK_FALSE(convx::parseDType("int8", &t));
    CHECK_FALSE(convx::parseDType("", &t));
    CHECK(convx::isKnownDType(CONVX_DATA_FLOAT));
    CHECK(convx::isKnownDType(CONVX_DATA_DOUBLE));
    CHECK(convx::isKnownDType(CONVX_DATA_HALF));
    CHECK(convx::isKnownDType(CONVX_DATA_BFLOAT16));
    CHECK_FALSE(convx::isKnownDType(3));  // INT8 in cuDNN
    CHECK_FALSE(convx::isKnownDType(-1));
    CHECK_FALSE(convx::isKnownDType(10));
}

TEST_CASE("dtype: half conversions, exact expectations", "[unit][dtype]") {
    using convx::doubleToHalf;
    using convx::floatToHalf;
    using convx::halfToFloat;
    // normal values
    CHECK(floatToHalf(1.0f) == 0x3C00);
    CHECK(floatToHalf(-2.0f) == 0xC000);
    CHECK(floatToHalf(0.5f) == 0x3800);
    CHECK(floatToHalf(65504.0f) == 0x7BFF);         // largest finite
    CHECK(floatToHalf(0.333333333f) == 0x3555);
    CHECK(floatToHalf(p2(-14)) == 0x0400);          // smallest normal
    // zeros keep their sign
    CHECK(floatToHalf(0.0f) == 0x0000);
    CHECK(floatToHalf(-0.0f) == 0x8000);
    // round to nearest even at a tie, nearest otherwise
    CHECK(floatToHalf(float(1 + p2(-11))) == 0x3C00);       // tie between 0x3C00 and 0x3C01 -> even
    CHECK(floatToHalf(float(1 + 3 * p2(-11))) == 0x3C02);   // tie between 0x3C01 and 0x3C02 -> even
    CHECK(floatToHalf(float(1 + p2(-11) + p2(-20))) == 0x3C01);  // just above the tie
    CHECK(floatToHalf(float(1 + p2(-11) - p2(-20))) == 0x3C00);  // just below the tie
    CHECK(floatToHalf(-float(1 + 3 * p2(-11))) == 0xBC02);
    // subnormals
    CHECK(floatToHalf(float(p2(-24))) == 0x0001);           // smallest subnormal
    CHECK(floatToHalf(float(1023 * p2(-24))) == 0x03FF);    // largest subnormal
    CHECK(floatToHalf(float(p2(-25))) == 0x0000);           // tie between 0 and 2^-24 -> 0
    CHECK(floatToHalf(-float(p2(-25))) == 0x8000);
    CHECK(floatToHalf(float(p2(-25) * 1.0001)) == 0x0001);
    CHECK(floatToHalf(float(3 * p2(-25))) == 0x0002);       // tie between 1 and 2 units -> 2
    CHECK(floatToHalf(float(5 * p2(-25))) == 0x0002);       // tie between 2 and 3 units -> 2
    CHECK(floatToHalf(float(1023.5 * p2(-24))) == 0x0400);  // rounds up into the smallest normal
    CHECK(floatToHalf(float(p2(-30))) == 0x0000);
    CHECK(floatToHalf(f32(0x00000001)) == 0x0000);          // float subnormal underflows
    // overflow to infinity
    CHECK(floatToHalf(65519.0f) == 0x7BFF);
    CHECK(floatToHalf(65520.0f) == 0x7C00);  // tie between 65504 and 65536 -> even -> inf
    CHECK(floatToHalf(-65520.0f) == 0xFC00);
    CHECK(floatToHalf(1e6f) == 0x7C00);
    CHECK(floatToHalf(FLT_MAX) == 0x7C00);
    CHECK(floatToHalf(std::numeric_limits<float>::infinity()) == 0x7C00);
    CHECK(floatToHalf(-std::numeric_limits<float>::infinity()) == 0xFC00);
    // NaN stays NaN
    CHECK(testutil::isNan16(floatToHalf(std::numeric_limits<float>::quiet_NaN()), kHalf));
    CHECK(testutil::isNan16(floatToHalf(f32(0x7F800001)), kHalf));  // signalling NaN, low payload
    CHECK(testutil::isNan16(floatToHalf(f32(0xFFC00000)), kHalf));
    CHECK(testutil::isNan16(doubleToHalf(std::nan("")), kHalf));
    // decoding
    CHECK(halfToFloat(0x3C00) == 1.0f);
    CHECK(halfToFloat(0xC000) == -2.0f);
    CHECK(halfToFloat(0x7BFF) == 65504.0f);
    CHECK(halfToFloat(0x0001) == float(p2(-24)));
    CHECK(halfToFloat(0x03FF) == float(1023 * p2(-24)));
    CHECK(halfToFloat(0x0400) == float(p2(-14)));
    CHECK(halfToFloat(0x7C00) == std::numeric_limits<float>::infinity());
    CHECK(halfToFloat(0xFC00) == -std::numeric_limits<float>::infinity());
    CHECK(std::isnan(halfToFloat(0x7E00)));
    CHECK(std::isnan(halfToFloat(0x7C01)));
    CHECK(std::signbit(halfToFloat(0x8000)));
    CHECK(halfToFloat(0x8000) == 0.0f);
    // doubleToHalf rounds once: a double just above a tie whose float rounding lands on the
    // tie must still round up (double rounding through float would give the even neighbour).
    CHECK(doubleToHalf(1 + p2(-11) + p2(-40)) == 0x3C01);
    CHECK(floatToHalf(float(1 + p2(-11) + p2(-40))) == 0x3C00);  // the float is exactly the tie
    CHECK(doubleToHalf(65520.0 - p2(-30)) == 0x7BFF);
    CHECK(doubleToHalf(1e300) == 0x7C00);
    CHECK(doubleToHalf(-1e-300) == 0x8000);
    CHECK(doubleToHalf(p2(-25) + p2(-60)) == 0x0001);
}

TEST_CASE("dtype: bfloat16 conversions, exact expectations", "[unit][dtype]") {
    using convx::bf16ToFloat;
    using convx::doubleToBf16;
    using convx::floatToBf16;
    CHECK(floatToBf16(1.0f) == 0x3F80);
    CHECK(floatToBf16(-2.0f) == 0xC000);
    CHECK(floatToBf16(0.0f) == 0x0000);
    CHECK(floatToBf16(-0.0f) == 0x8000);
    CHECK(floatToBf16(float(1 + p2(-8))) == 0x3F80);      // tie -> even
    CHECK(floatToBf16(float(1 + 3 * p2(-8))) == 0x3F82);  // tie -> even
    CHECK(floatToBf16(float(1 + p2(-8) + p2(-20))) == 0x3F81);
    CHECK(floatToBf16(3.14159265f) == 0x4049);
    // largest finite (2 - 2^-7) * 2^127 and overflow at the tie above it
    CHECK(floatToBf16(float(255 * p2(120))) == 0x7F7F);
    CHECK(floatToBf16(float(255.5 * p2(120))) == 0x7F80);
    CHECK(floatToBf16(FLT_MAX) == 0x7F80);
    CHECK(floatToBf16(-FLT_MAX) == 0xFF80);
    CHECK(floatToBf16(std::numeric_limits<float>::infinity()) == 0x7F80);
    // subnormals (bfloat16 has float's exponent range)
    CHECK(floatToBf16(float(p2(-133))) == 0x0001);
    CHECK(floatToBf16(float(p2(-134))) == 0x0000);  // tie -> even (0)
    CHECK(floatToBf16(float(3 * p2(-134))) == 0x0002);
    CHECK(floatToBf16(f32(0x00000001)) == 0x0000);
    CHECK(floatToBf16(float(p2(-126))) == 0x0080);  // smallest normal
    // NaN stays NaN, also a signalling NaN whose payload sits in the low bits only
    CHECK(testutil::isNan16(floatToBf16(std::numeric_limits<float>::quiet_NaN()), kBf16));
    CHECK(testutil::isNan16(floatToBf16(f32(0x7F800001)), kBf16));
    CHECK(testutil::isNan16(floatToBf16(f32(0xFF800001)), kBf16));
    CHECK(testutil::isNan16(doubleToBf16(std::nan("")), kBf16));
    // decoding
    CHECK(bf16ToFloat(0x3F80) == 1.0f);
    CHECK(bf16ToFloat(0x7F7F) == float(255 * p2(120)));
    CHECK(bf16ToFloat(0x0001) == float(p2(-133)));
    CHECK(bf16ToFloat(0xFF80) == -std::numeric_limits<float>::infinity());
    CHECK(std::isnan(bf16ToFloat(0x7FC0)));
    // doubleToBf16 rounds once, and handles values outside float's range
    CHECK(doubleToBf16(1 + p2(-8) + p2(-40)) == 0x3F81);
    CHECK(doubleToBf16(1e300) == 0x7F80);
    CHECK(doubleToBf16(-1e300) == 0xFF80);
    CHECK(doubleToBf16(1e-300) == 0x0000);
    CHECK(doubleToBf16(p2(-134) + p2(-170)) == 0x0001);  // just above the tie
    CHECK(doubleToBf16(255.5 * p2(120)) == 0x7F80);
    CHECK(doubleToBf16(255.5 * p2(120) - p2(100)) == 0x7F7F);
}

TEST_CASE("dtype: the test's own codecs agree with the hand-written facts", "[unit][dtype]") {
    // The oracle of the conformance tests must itself be right.
    CHECK(encode16(1.0, kHalf) == 0x3C00);
    CHECK(encode16(65520.0, kHalf) == 0x7C00);
    CHECK(encode16(65519.0, kHalf) == 0x7BFF);
    CHECK(encode16(p2(-25), kHalf) == 0x0000);
    CHECK(encode16(3 * p2(-25), kHalf) == 0x0002);
    CHECK(encode16(-0.0, kHalf) == 0x8000);
    CHECK(encode16(1 + 3 * p2(-8), kBf16) == 0x3F82);
    CHECK(encode16(255.5 * p2(120), kBf16) == 0x7F80);
    CHECK(decode16(0x7BFF, kHalf) == 65504.0);
    CHECK(decode16(0x0001, kHalf) == p2(-24));
    CHECK(decode16(0x0001, kBf16) == p2(-133));
    CHECK(decode16(0x3F80, kBf16) == 1.0);
    CHECK(testutil::ulpDistance16(0x0001, 0x8001, kHalf) == 2);
    CHECK(testutil::ulpDistance16(0x0000, 0x8000, kHalf) == 0);
    CHECK(testutil::ulpDistance16(0x3C00, 0x3C01, kHalf) == 1);
}

TEST_CASE("dtype: every half value decodes and re-encodes exactly", "[unit][dtype]") {
    for (uint32_t h = 0; h <= 0xFFFF; ++h) {
        const uint16_t v = static_cast<uint16_t>(h);
        const double want = decode16(v, kHalf);
        const float got = convx::halfToFloat(v);
        INFO("half 0x" << std::hex << h);
        if (testutil::isNan16(v, kHalf)) {
            REQUIRE(std::isnan(got));
            REQUIRE(testutil::isNan16(convx::floatToHalf(got), kHalf));
            continue;
        }
        REQUIRE(static_cast<double>(got) == want);
        REQUIRE(std::signbit(got) == std::signbit(want));
        REQUIRE(convx::floatToHalf(got) == v);
        REQUIRE(convx::doubleToHalf(want) == v);
    }
}

TEST_CASE("dtype: every bfloat16 value decodes and re-encodes exactly", "[unit][dtype]") {
    for (uint32_t h = 0; h <= 0xFFFF; ++h) {
        const uint16_t v = static_cast<uint16_t>(h);
        const double want = decode16(v, kBf16);
        const float got = convx::bf16ToFloat(v);
        INFO("bf16 0x" << std::hex << h);
        if (testutil::isNan16(v, kBf16)) {
            REQUIRE(std::isnan(got));
            REQUIRE(testutil::isNan16(convx::floatToBf16(got), kBf16));
            continue;
        }
        REQUIRE(static_cast<double>(got) == want);
        REQUIRE(std::signbit(got) == std::signbit(want));
        REQUIRE(convx::floatToBf16(got) == v);
        REQUIRE(convx::doubleToBf16(want) == v);
    }
}

TEST_CASE("dtype: midpoints between neighbours round to even, off-midpoints to nearest", "[unit][dtype]") {
    const testutil::Format16 formats[] = {kHalf, kBf16};
    for (testutil::Format16 f : formats) {
        const bool half = f.expBits == 5;
        const uint16_t maxF = testutil::maxFinite16(f);
        for (uint32_t lo = 0; lo < maxF; ++lo) {
            for (uint16_t sign : {uint16_t(0), testutil::signBit16(f)}) {
                const uint16_t a = static_cast<uint16_t>(lo | sign), b = static_cast<uint16_t>((lo + 1) | sign);
                const double va = decode16(a, f), vb = decode16(b, f);
                const double mid = (va + vb) / 2;  // exact in double
                const double eps = std::fabs(vb - va) / 1024;
                const uint16_t even = (lo & 1u) ? b : a;
                INFO((half ? "half" : "bf16") << " between 0x" << std::hex << a << " and 0x" << b);
                const uint16_t dm = half ? convx::doubleToHalf(mid) : convx::doubleToBf16(mid);
                const uint16_t dl = half ? convx::doubleToHalf(mid - (sign ? -eps : eps)) : convx::doubleToBf16(mid - (sign ? -eps : eps));
                const uint16_t du = half ? convx::doubleToHalf(mid + (sign ? -eps : eps)) : convx::doubleToBf16(mid + (sign ? -eps : eps));
                REQUIRE(dm == even);
                REQUIRE(dl == a);
                REQUIRE(du == b);
                // float inputs: the midpoint of two halves or two bf16s is exact in float too
                const float fm = static_cast<float>(mid);
                REQUIRE(static_cast<double>(fm) == mid);
                REQUIRE((half ? convx::floatToHalf(fm) : convx::floatToBf16(fm)) == even);
            }
        }
        // the tie above the largest finite value overflows to infinity
        const double top = decode16(maxF, f);
        const double over = top + (top - decode16(static_cast<uint16_t>(maxF - 1), f)) / 2;
        CHECK((half ? convx::doubleToHalf(over) : convx::doubleToBf16(over)) == testutil::inf16(f));
        CHECK((half ? convx::doubleToHalf(-over) : convx::doubleToBf16(-over)) == (testutil::inf16(f) | testutil::signBit16(f)));
    }
}

TEST_CASE("dtype: random doubles and floats round like the independent codec", "[unit][dtype]") {
    std::mt19937_64 rng(99);
    const int count = testutil::scaled(200000, 1000);
    for (int i = 0; i < count; ++i) {
        // random sign, exponent across the whole half/bf16 range and beyond, random mantissa
        const int e = std::uniform_int_distribution<int>(-150, 140)(rng);
        const double m = std::uniform_real_distribution<double>(1.0, 2.0)(rng);
        const double d = (rng() & 1 ? -1 : 1) * std::ldexp(m, e);
        const float f = static_cast<float>(d);
        INFO("d = " << d << " f = " << f);
        REQUIRE(convx::doubleToHalf(d) == encode16(d, kHalf));
        REQUIRE(convx::doubleToBf16(d) == encode16(d, kBf16));
        REQUIRE(convx::floatToHalf(f) == encode16(f, kHalf));
        if (std::isfinite(f)) REQUIRE(convx::floatToBf16(f) == encode16(f, kBf16));
    }
}

TEST_CASE("dtype: loadAsDouble and storeFromDouble round once per type", "[unit][dtype]") {
    const double v = 1 + p2(-11) + p2(-40);  // just above a half tie, not representable in float
    float f = 0;
    double d = 0;
    uint16_t h = 0, b = 0;
    convx::storeFromDouble(&f, convx::DType::F32, 0, v);
    convx::storeFromDouble(&d, convx::DType::F64, 0, v);
    convx::storeFromDouble(&h, convx::DType::F16, 0, v);
    convx::storeFromDouble(&b, convx::DType::BF16, 0, 1 + p2(-8) + p2(-40));
    CHECK(f == static_cast<float>(v));
    CHECK(d == v);
    CHECK(h == 0x3C01);
    CHECK(b == 0x3F81);
    CHECK(convx::loadAsDouble(&f, convx::DType::F32, 0) == static_cast<double>(f));
    CHECK(convx::loadAsDouble(&d, convx::DType::F64, 0) == v);
    CHECK(convx::loadAsDouble(&h, convx::DType::F16, 0) == 1 + p2(-10));
    CHECK(convx::loadAsDouble(&b, convx::DType::BF16, 0) == 1 + p2(-7));
}
