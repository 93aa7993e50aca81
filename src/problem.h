// Problem: one immutable, normalized description of a convolution call — the only thing an
// algorithm sees. Built from descriptors (validated, every failure naming its argument) or
// parsed from its canonical problem string, which is the benchdnn descriptor grammar plus
// direction, data type and layout:
//
//   --dir=fwd --dt=f32 --tag=nchw g1mb2ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0
//
// Dilation is counted from 0 in the string (benchdnn) and from 1 in the struct (cuDNN).
// The string is also the argument list of convx-bench, so a log line reproduces a call.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "convx/convx.h"
#include "dtype.h"

namespace convx {

enum class Direction { Forward = 0, BackwardData = 1, BackwardFilter = 2 };
constexpr unsigned dirBit(Direction d) { return 1u << static_cast<unsigned>(d); }
constexpr unsigned kAllDirections = 7u;
const char* directionName(Direction d);  // "fwd", "bwd_d", "bwd_w"
bool parseDirection(const char* s, Direction* d);

enum class Layout { NCHW = CONVX_TENSOR_NCHW, NHWC = CONVX_TENSOR_NHWC };  // channels first / last, any rank
const char* layoutName(Layout l);

using Dims = std::array<int64_t, CONVX_SPATIAL_DIM_MAX>;       // spatial, outermost first
using Strides = std::array<int64_t, CONVX_DIM_MAX>;            // N, C, spatial..., in elements

struct Problem {
    Direction dir = Direction::Forward;
    DType dtype = DType::F32;
    DType accType = DType::F32;  // the descriptor's compute type
    convxConvolutionMode_t mode = CONVX_CROSS_CORRELATION;
    convxMathType_t math = CONVX_DEFAULT_MATH;

    int nsp = 2;                   // spatial rank: 1, 2 or 3
    int64_t N = 1, C = 1, K = 1, G = 1;
    Dims in{1, 1, 1}, out{1, 1, 1}, ker{1, 1, 1};   // entries past nsp are 1
    Dims stride{1, 1, 1}, pad{0, 0, 0}, dil{1, 1, 1};  // dil 1 = none; entries past nsp: 1, 0, 1

    Layout xLayout = Layout::NCHW, wLayout = Layout::NCHW, yLayout = Layout::NCHW;
    Strides xStrides{}, yStrides{};   // element strides of x (or dx) and y (or dy)

    int64_t Cg() const { return C / G; }
    int64_t Kg() const { return K / G; }
    int64_t inPixels() const { return in[0] * in[1] * in[2]; }
    int64_t outPixels() const { return out[0] * out[1] * out[2]; }
    int64_t taps() const { return ker[0] * ker[1] * ker[2]; }
    int64_t xElems() const { return N * C * inPixels(); }
    int64_t yElems() const { return N * K * outPixels(); }
    int64_t wElems() const { return K * Cg() * taps(); }
    // Multiply-adds x2 of the direct definition; the same for all three directions.
    double flops() const { return 2.0 * double(N) * double(K) * double(outPixels()) * double(Cg()) * double(taps()); }
    // Filter element strides (K, C/G, spatial...) implied by wLayout; filters are always packed.
    Strides wStrides() const;
    bool xPacked() const;
    bool yPacked() const;
    bool isDepthwise() const { return G == C && G > 1; }

    std::string str() const;  // canonical problem string
    bool operator==(const Problem& o) const;
    bool operator!=(const Problem& o) const { return !(*this == o); }
};

// 1 + (in + 2 pad - ((k - 1) dil + 1)) / stride; <= 0 when the dilated filter exceeds the padded input.
int64_t convOutputSize(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil);

// Packed element strides of a tensor with dims (N, C, spatial[0..nsp)) in a layout.
Strides packedStrides(Layout l, int nsp, int64_t n, int64_t c, const Dims& sp);

// Parses a canonical problem string (or any benchdnn-style spelling of one: flags in any order,
// omitted sizes defaulted as benchdnn does, an optional trailing name). Throws Error
// (CONVX_STATUS_BAD_PARAM...) with the reason. parse(p.str()) == p for every valid p.
Problem parseProblem(const std::string& text);

// Checks every invariant of a Problem (sizes positive, divisibility, output size, overflow of
// element counts and byte sizes). Throws Error naming the field.
void validateProblem(const Problem& p);

}  // namespace convx
