#include "dtype.h"

#include <cmath>
#include <cstring>

namespace convx {

bool isKnownDType(int v) {
    return v == CONVX_DATA_FLOAT || v == CONVX_DATA_DOUBLE || v == CONVX_DATA_HALF || v == CONVX_DATA_BFLOAT16;
}

size_t dtypeSize(DType t) {
    switch (t) {
        case DType::F32: return 4;
        case DType::F64: return 8;
        case DType::F16:
        case DType::BF16: return 2;
    }
    return 0;
}

const char* dtypeName(DType t) {
    switch (t) {
        case DType::F32: return "f32";
        case DType::F64: return "f64";
        case DType::F16: return "f16";
        case DType::BF16: return "bf16";
    }
    return "?";
}

bool parseDType(const char* s, DType* t) {
    static const struct { const char* name; DType t; } names[] = {
        {"f32", DType::F32}, {"f64", DType::F64}, {"f16", DType::F16}, {"bf16", DType::BF16},
        {"float", DType::F32}, {"double", DType::F64}, {"half", DType::F16}, {"bfloat16", DType::BF16}};
    for (const auto& n : names)
        if (std::strcmp(s, n.name) == 0) {
            *t = n.t;
            return true;
        }
    return false;
}

float halfToFloat(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) return bitsToFloat(sign | 0x7f800000u | (mant << 13));  // inf / NaN
    if (exp == 0) {
        float v = std::ldexp(static_cast<float>(mant), -24);  // zero or subnormal: exact
        return sign ? -v : v;
    }
    return bitsToFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

// Rounds a double once, to nearest even, into a binary format with the given exponent and
// mantissa widths (IEEE half: 5/10, bfloat16: 8/7); subnormals, overflow to inf and NaN included.
static uint16_t roundToNarrow(double d, int expBits, int mantBits) {
    const uint32_t signBit = 1u << (expBits + mantBits);
    const uint32_t expMask = (1u << expBits) - 1u;
    const int bias = (1 << (expBits - 1)) - 1;
    const uint32_t sign = std::signbit(d) ? signBit : 0u;
    if (std::isnan(d)) return static_cast<uint16_t>(sign | (expMask << mantBits) | (1u << (mantBits - 1)));
    const double a = std::fabs(d);
    const uint32_t inf = sign | (expMask << mantBits);
    if (std::isinf(a)) return static_cast<uint16_t>(inf);
    if (a == 0.0) return static_cast<uint16_t>(sign);
    int ex = 0;
    std::frexp(a, &ex);
    int e = ex - 1;                 // a = 1.f * 2^e
    const int emin = 1 - bias;
    if (e < emin) {                 // subnormal: count units of 2^(emin - mantBits)
        double q = std::nearbyint(std::ldexp(a, mantBits - emin));
        return static_cast<uint16_t>(sign | static_cast<uint32_t>(q));  // q == 2^mantBits is the min normal
    }
    double q = std::nearbyint(std::ldexp(a, mantBits - e));
    if (q >= std::ldexp(1.0, mantBits + 1)) {
        q = std::ldexp(1.0, mantBits);
        ++e;
    }
    if (e > bias) return static_cast<uint16_t>(inf);
    uint32_t mant = static_cast<uint32_t>(q) - (1u << mantBits);
    return static_cast<uint16_t>(sign | (static_cast<uint32_t>(e + bias) << mantBits) | mant);
}

uint16_t floatToHalf(float f) { return roundToNarrow(f, 5, 10); }
uint16_t doubleToHalf(double d) { return roundToNarrow(d, 5, 10); }
uint16_t doubleToBf16(double d) { return roundToNarrow(d, 8, 7); }

}  // namespace convx
