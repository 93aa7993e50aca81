// The plan of CONVX_ALGO_KERNEL_SPLIT: a strided backward-data (= transposed) convolution split
// into stride phases, each a dense stride-1 correlation of dy with a sub-filter, so that none of
// the zeros a zero-insertion implementation would put between the dy samples is ever multiplied.
//
// Per spatial axis (stride s, pad p, dilation d, filter R, dx size I, dy size O), the definition
//   dx[i] = sum over (o, k) with o*s - p + k*d == i of w[k] * dy[o]
// splits by the phase r = (i + p) mod s: only taps with (k*d) mod s == r reach i, through
// o = (i + p - k*d) / s. The dx indices of a phase are i = first + j*s (j = 0 .. count-1), and a
// tap's dy index is o = j + dyOff with dyOff = (first + p - k*d) / s exact, valid when 0 <= o < O.
// In N-D a phase is one residue per axis; its sub-filter is the product of the axes' tap lists.
//
// Flip: the plan accounts for CONVOLUTION mode. Each tap carries its geometric index k (the one of
// the cross-correlation definition above) and wTap, the index of that tap in the user's filter
// (R-1-k when the mode mirrors the window); executors read the filter at wTap and never flip.
#pragma once

#include <cstdint>
#include <vector>

#include "problem.h"

namespace convx {

struct KsTap {
    int64_t k;       // geometric tap index (cross-correlation order)
    int64_t wTap;    // index of this tap in the user's filter (mirrored in CONVOLUTION mode)
    int64_t dyOff;   // dy index = j + dyOff for the phase's local index j
    int64_t jLo, jHi;  // local indices j in [jLo, jHi) whose dy index lies in [0, O); may be empty
};

// One phase of one axis: dx indices first, first + s, ... (count of them) and the taps that reach them.
struct KsAxisPhase {
    int64_t residue;  // (first + pad) mod stride
    int64_t first;    // first dx index of the phase (== its position among the axis's phases)
    int64_t count;    // number of dx indices (>= 1)
    std::vector<KsTap> taps;  // in increasing k (filter index order); empty: dx gets alpha*0 + beta*dx
};

struct KsAxis {
    int64_t I, O, R, s, p, d;
    std::vector<KsAxisPhase> phases;  // min(s, I) of them (the others hold no dx), phases[f].first == f
};

// An N-D phase (axes in Conv3d order: unused leading axes have one phase of one index, one tap).
struct KsPhase {
    int64_t a[3];      // phase index per axis (into KsAxis::phases)
    int64_t count[3];  // dx indices per axis
    int64_t elems;     // count[0] * count[1] * count[2] (> 0)
    int64_t taps;      // product of the axes' tap counts (0: the phase only scales dx)
    int64_t begin;     // prefix sum of elems over the phases before this one
};

struct KernelSplitPlan {
    KsAxis axis[3];               // Conv3d order: axis 2 is the innermost (W)
    std::vector<KsPhase> phases;  // the non-empty phases, in (a0, a1, a2) order; prefix sums in begin
    int64_t totalElems = 0;       // == I0 * I1 * I2: the phases partition dx's spatial positions
    int64_t macsPerChannelPair = 0;  // sum over phases and taps of the valid (j, tap) pairs = MACs per (n, c, k)

    // The phase holding flat index e in [0, totalElems) (binary search over begin).
    int64_t phaseOf(int64_t e) const;
};

// One axis's phases from its geometry; flip mirrors wTap.
KsAxis kernelSplitAxis(int64_t I, int64_t O, int64_t R, int64_t s, int64_t p, int64_t d, bool flip);

// The plan of a problem (any direction's geometry; the executors use it for BackwardData).
KernelSplitPlan kernelSplitPlan(const Problem& p);

}  // namespace convx
