// Element types: sizes, names, and exact conversions for the 16-bit formats
// (round to nearest even, NaN kept quiet), done in software so every backend agrees.
#pragma once

#include <cstdint>
#include <cstring>

#include "convx/convx.h"

namespace convx {

enum class DType { F32 = CONVX_DATA_FLOAT, F64 = CONVX_DATA_DOUBLE, F16 = CONVX_DATA_HALF, BF16 = CONVX_DATA_BFLOAT16 };

bool isKnownDType(int v);
size_t dtypeSize(DType t);
const char* dtypeName(DType t);          // "f32", "f64", "f16", "bf16" (benchdnn's spelling)
bool parseDType(const char* s, DType* t);

inline float bitsToFloat(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline uint32_t floatToBits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

inline float bf16ToFloat(uint16_t h) { return bitsToFloat(static_cast<uint32_t>(h) << 16); }

inline uint16_t floatToBf16(float f) {
    uint32_t u = floatToBits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<uint16_t>(u >> 16);
}

float halfToFloat(uint16_t h);
uint16_t floatToHalf(float f);
// Directly from double, so that a double accumulator is rounded once, not twice.
uint16_t doubleToHalf(double d);
uint16_t doubleToBf16(double d);

// Element i of a buffer of type t, widened to double; and the reverse (rounded once).
inline double loadAsDouble(const void* p, DType t, int64_t i) {
    switch (t) {
        case DType::F32: return static_cast<const float*>(p)[i];
        case DType::F64: return static_cast<const double*>(p)[i];
        case DType::F16: return halfToFloat(static_cast<const uint16_t*>(p)[i]);
        case DType::BF16: return bf16ToFloat(static_cast<const uint16_t*>(p)[i]);
    }
    return 0.0;
}

inline void storeFromDouble(void* p, DType t, int64_t i, double v) {
    switch (t) {
        case DType::F32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
        case DType::F64: static_cast<double*>(p)[i] = v; break;
        case DType::F16: static_cast<uint16_t*>(p)[i] = doubleToHalf(v); break;
        case DType::BF16: static_cast<uint16_t*>(p)[i] = doubleToBf16(v); break;
    }
}

}  // namespace convx
