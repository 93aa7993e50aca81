// Plan of CONVX_ALGO_DILATION_SPLIT (the zero-skipping idea of SEEDS.md §2 applied to atrous
// convolution): per spatial axis with dilation d and stride s, the outputs o = j + d*m of one
// residue j in [0, d) read the inputs
//     i = o*s - p + t*d = (j*s - p) + d*(m*s + t),
// i.e. a sub-grid of x with step d starting at start_j = j*s - p (negative: padding), convolved
// with the undilated filter at stride s. A dilated convolution is thus d_D*d_H*d_W independent
// dense convolutions, one per output residue class, for any stride. Pure host code, shared by the
// CPU and CUDA executors.
//
// Sub-grid coordinates: start_j = r + d*q with r = start_j mod d in [0, d); the sub-grid of input
// residue r holds the inputs r, r + d, ... (inCount of them), and output m of residue j reads its
// positions v = q + m*s + t, valid when 0 <= v < inCount. So each sub-problem is a dense
// convolution with input inCount, pad -q, stride s, dilation 1, and its own trimmed windows.
#pragma once

#include <cstdint>
#include <vector>

#include "filter_trim_plan.h"
#include "problem.h"

namespace convx {

struct SplitResidue {
    int64_t j = 0;          // output residue: outputs o = j + d*m
    int64_t count = 0;      // number of such outputs (residues differ by at most one)
    int64_t start = 0;      // input index of sub-grid position u = 0: j*s - p (may be negative)
    int64_t extent = 0;     // sub-grid positions u >= 0 with start + d*u < I (those below firstValid are padding)
    int64_t firstValid = 0; // first u with start + d*u >= 0
    int64_t inResidue = 0;  // r = start mod d
    int64_t inOffset = 0;   // q: start = r + d*q
    int64_t inCount = 0;    // inputs with index = r (mod d): the sub-grid's length
    TrimAxis trim;          // the dense sub-problem's windows along this axis (input inCount, pad -q, dilation 1)
};

struct SplitAxis {
    int64_t I = 1, O = 1, R = 1, s = 1, p = 0, d = 1;
    std::vector<SplitResidue> residues;  // j = 0 .. min(d, O) - 1: every residue has outputs
    int64_t maxCount() const;
};

struct SubProblem {
    int res[3] = {0, 0, 0};                  // residue index per axis (D, H, W)
    int64_t count[3] = {1, 1, 1};            // outputs per axis
    int64_t outPix = 1;                      // their product
    int64_t outBegin = 0;                    // prefix sum of outPix over the earlier sub-problems
};

struct DilationSplitPlan {
    SplitAxis axis[3];                // Conv3d order: D, H, W
    std::vector<SubProblem> subs;     // all residue combinations, D-major
    std::vector<int64_t> outPrefix;   // subs.size() + 1 entries: outPrefix.back() == output pixels
    std::vector<int64_t> inBlock;     // offsets of the input-residue blocks (rD, rH, rW) in a
                                      // de-interleaved input plane (D-major), last = input pixels
    double macsExecuted = 0;          // over the problem: taps inside the input only
    int64_t blockOffset(int64_t rD, int64_t rH, int64_t rW) const {
        return inBlock[static_cast<size_t>((rD * axis[1].d + rH) * axis[2].d + rW)];
    }
    // Prefix sums of the tiles of th x tw outputs (H x W) over the sub-problems, times the D
    // outputs: the flat block index space of one launch covering every sub-problem.
    std::vector<int64_t> tilePrefix(int64_t th, int64_t tw) const;
};

DilationSplitPlan makeDilationSplitPlan(const Problem& p);

// inputs i in [0, I) with i = r (mod d)
inline int64_t residueCount(int64_t I, int64_t r, int64_t d) { return r < I ? (I - r + d - 1) / d : 0; }

}  // namespace convx
