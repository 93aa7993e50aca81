// CONVX_ALGO_DEPTHWISE: which problems the direct depthwise kernels take (groups == C, any
// channel multiplier, 1-D/2-D) and which microkernel runs them, picked from one table. Pure host
// code; see docs/algorithms/depthwise.md for the design.
#pragma once

#include <cstdint>
#include <string>

#include "geometry.h"
#include "problem.h"

namespace convx {

// The microkernels, named by what they are: data type, direction, window, stride, register tile
// (rows x vectors) and where they vectorize. The ISA is picked at run time by Highway.
enum class DwKernel {
    FwdRows3x3S1 = 0,   // NCHW forward, 3x3, stride 1: 4 output rows x 1 vector along W
    FwdRows3x3S2,       // NCHW forward, 3x3, stride 2 (de-interleaving loads)
    FwdRows5x5S1,
    FwdRows5x5S2,
    FwdRowsS1,          // NCHW forward, any window, stride 1 along W
    FwdRowsS2,          // ... stride 2 along W
    FwdRowsGeneral,     // ... any stride along W (scalar columns)
    BwdDataPhases,      // NCHW backward-data: rotated filter, one de-interleaved row per phase
    BwdFilterTaps,      // NCHW weight gradient: one vector accumulator per (tap), one reduction
    FwdChannels,        // NHWC forward, vectors over channels
    BwdDataChannels,    // NHWC backward-data, vectors over channels
    BwdFilterChannels,  // NHWC weight gradient, vectors over channels, one job per (block, tap)
    FwdChannelsMult,        // NHWC forward, multiplier M > 1: vectors over c, M accumulators, interleaving stores
    BwdDataChannelsMult,    // NHWC backward-data, M > 1: de-interleaving loads of dy
    BwdFilterChannelsMult,  // NHWC weight gradient, M > 1: de-interleaving loads of dy
    Count
};
const char* dwKernelName(DwKernel k);  // "f32_fwd_k3x3_s1_r4v1_w", ...

struct DwPlan {
    Conv3d g;
    bool channelsLast = false;  // vectors over C (NHWC) instead of along W (NCHW)
    int64_t M = 1;              // channel multiplier K / C
    DwKernel kernel = DwKernel::FwdRowsGeneral;
    // Backward-data at stride 1, multiplier 1, channels-first: run as the forward kernels over
    // dy with the filter rotated by 180 degrees; g is then that forward problem (input dy,
    // output dx, padding dil - pad, possibly negative).
    bool rotated = false;
};

// Whether the kernels take p; *why says why not.
bool dwFits(const Problem& p, std::string* why);
// Only for a problem dwFits accepts.
DwPlan planDepthwise(const Problem& p);

}  // namespace convx
