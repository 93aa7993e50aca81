// Plan of CONVX_ALGO_FILTER_TRIM (ConvV2 of the C-K-S paper, SEEDS.md §2): per output index and
// per spatial axis, the range of filter taps whose input lies inside the input, so no padded zero
// is multiplied and no inner loop tests bounds. Per axis the input index of output o and tap t is
// i = o*s - p + t*d; the valid taps form one contiguous range [tBegin(o), tEnd(o)) (also with
// dilation), and outputs with the same range form contiguous runs ("segments"): the interior run
// has the full window, each border run one distinct trimmed window. The classes of a problem are
// the products of one segment per axis. Pure host code, shared by the CPU and CUDA executors.
#pragma once

#include <cstdint>
#include <vector>

#include "geometry.h"
#include "problem.h"

namespace convx {

// The convolution an executor runs, as a forward one. Forward: the problem itself. Backward-data
// at stride 1: dx is the forward correlation of dy with the rotated filter at pad (R-1)*d - p, so
// channels (C <-> K), sizes (I <-> O) and the tensors' strides swap and the taps flip. Filter
// element (group, output channel kl, input channel c, tap) is at grp*wsG + kl*ws[0] + c*ws[1] +
// the tap's offsets (with `flip`: mirrored); in the data: in = x (forward) or dy, out = y or dx.
struct ForwardView {
    Conv3d g;
    int64_t wsG;
};
ForwardView forwardViewOf(const Problem& p);

// floor and ceiling of a / b for b > 0 and any sign of a.
inline int64_t floorDivI(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceilDivI(int64_t a, int64_t b) { return -floorDivI(-a, b); }

// First valid tap and one past the last for output o of an axis (input I, kernel R, stride s,
// pad p, dilation d); tBegin >= tEnd when no tap lands inside the input.
inline int64_t trimBegin(int64_t o, int64_t I, int64_t R, int64_t s, int64_t p, int64_t d) {
    (void)I;
    const int64_t b = ceilDivI(p - o * s, d);
    return b < 0 ? 0 : (b > R ? R : b);
}
inline int64_t trimEnd(int64_t o, int64_t I, int64_t R, int64_t s, int64_t p, int64_t d) {
    const int64_t e = floorDivI(I - 1 - o * s + p, d) + 1;
    return e < 0 ? 0 : (e > R ? R : e);
}

struct TrimSegment {
    int64_t oBegin, oEnd;  // outputs [oBegin, oEnd) of one axis
    int64_t tBegin, tEnd;  // share the taps [tBegin, tEnd) (empty when tBegin >= tEnd)
};

struct TrimAxis {
    int64_t I = 1, O = 1, R = 1, s = 1, p = 0, d = 1;
    std::vector<int64_t> tBegin, tEnd;  // per output index: O entries
    std::vector<TrimSegment> segments;  // maximal runs of outputs with the same window, in order
    int64_t tapsExecuted = 0;           // sum over outputs of the window width
    int64_t interior() const;           // outputs whose window is the full [0, R)
};

// One axis: input index i = o*s - p + t*d, valid when 0 <= i < I.
TrimAxis makeTrimAxis(int64_t I, int64_t O, int64_t R, int64_t s, int64_t p, int64_t d);

struct FilterTrimPlan {
    TrimAxis axis[3];      // Conv3d order: D, H, W (unused leading axes have size 1)
    int64_t classes = 1;   // product of the segment counts
    double macsExecuted = 0, macsUntrimmed = 0;  // over the whole problem (N, K, C/G included)
    double saving() const { return macsExecuted > 0 ? macsUntrimmed / macsExecuted : 1.0; }
};

// Forward, or backward-data at stride 1 through forwardViewOf (the windows of dx's outputs).
FilterTrimPlan makeFilterTrimPlan(const Problem& p);

}  // namespace convx
