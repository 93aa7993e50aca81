// GCONV's operators as plain functions and as compile-time functors, written host-and-device so
// that the float64 oracle, the CPU engine and the CUDA engine evaluate one definition (gconv.h).
// No CUDA header here: nvcc marks them __host__ __device__ through CONVX_GC_HD.
#pragma once

#include <cmath>
#include <cstdint>

#include "gconv.h"

#ifdef __CUDACC__
#define CONVX_GC_HD __host__ __device__
#else
#define CONVX_GC_HD
#endif

namespace convx {

// The elementwise operators of the pre and post slots, in the accumulator type A.
template <class A>
CONVX_GC_HD inline A gconvUnary(GUnary op, A v, A param) {
#ifndef __CUDA_ARCH__
    using std::exp;  // the float overloads on the host; the device has them unqualified
    using std::pow;
    using std::sqrt;
    using std::tanh;
#endif
    switch (op) {
        case GUnary::Identity: return v;
        case GUnary::Square: return v * v;
        case GUnary::Relu: return v > A(0) ? v : A(0);
        case GUnary::Relu6: return v < A(0) ? A(0) : (v > A(6) ? A(6) : v);
        case GUnary::Sigmoid: return A(1) / (A(1) + exp(-v));
        case GUnary::Tanh: return tanh(v);
        case GUnary::Exp: return exp(v);
        case GUnary::Reciprocal: return A(1) / v;
        case GUnary::Pow: return pow(v, param);
        case GUnary::LeakyRelu: return v < A(0) ? param * v : v;
        case GUnary::Sqrt: return sqrt(v);
    }
    return v;
}

// map(v, w) and reduce(acc, m) as functors: the engines' inner loops are templates over them,
// so the (MUL, SUM) loop is exactly a convolution's multiply-add.
struct MapMul {
    template <class A>
    CONVX_GC_HD static A apply(A v, A w) { return v * w; }
};
struct MapAdd {
    template <class A>
    CONVX_GC_HD static A apply(A v, A w) { return v + w; }
};
struct MapPass {
    template <class A>
    CONVX_GC_HD static A apply(A v, A) { return v; }
};

// init(): the accumulator before the first tap; MEAN sums and divides in the epilogue.
struct RedSum {
    template <class A>
    CONVX_GC_HD static A init() { return A(0); }
    template <class A>
    CONVX_GC_HD static A apply(A acc, A m) { return acc + m; }
};
struct RedMax {
    template <class A>
    CONVX_GC_HD static A init() { return -INFINITY; }
    template <class A>
    CONVX_GC_HD static A apply(A acc, A m) { return m > acc ? m : acc; }
};
struct RedMin {
    template <class A>
    CONVX_GC_HD static A init() { return INFINITY; }
    template <class A>
    CONVX_GC_HD static A apply(A acc, A m) { return m < acc ? m : acc; }
};

// Whether a padded tap takes part in the reduction: only under SUM (and MEAN never counts it).
CONVX_GC_HD inline bool gconvPadCounts(GReduce r) { return r == GReduce::Sum; }

// Number of valid taps along one spatial dim for output index o (validity is separable, so a
// window's count of valid taps is the product over its dims).
CONVX_GC_HD inline int64_t gconvValidTaps1d(int64_t o, int64_t I, int64_t R, int64_t S, int64_t P, int64_t D) {
    int64_t n = 0;
    const int64_t base = o * S - P;
    for (int64_t r = 0; r < R; ++r) {
        const int64_t i = base + r * D;
        n += (i >= 0 && i < I) ? 1 : 0;
    }
    return n;
}

}  // namespace convx
