// Overflow-checked 64-bit size arithmetic: tensors are described with int but indexed with
// int64, and a product of sizes must never wrap silently.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "error.h"

namespace convx {

inline int64_t checkedMul(int64_t a, int64_t b, const char* what) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: size overflows 64 bits (%lld x %lld)", what, (long long)a, (long long)b);
    return r;
}

inline int64_t checkedAdd(int64_t a, int64_t b, const char* what) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "%s: size overflows 64 bits (%lld + %lld)", what, (long long)a, (long long)b);
    return r;
}

// Product of dims; fails when it overflows, or when the bytes it needs cannot be addressed.
inline int64_t checkedElementCount(std::initializer_list<int64_t> dims, const char* what) {
    int64_t n = 1;
    for (int64_t d : dims) n = checkedMul(n, d, what);
    checkedMul(n, 8, what);  // room for the widest element type
    return n;
}

}  // namespace convx
