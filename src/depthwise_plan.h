// CONVX_ALGO_DEPTHWISE: which problems the direct depthwise kernels take (groups == C, any
// channel multiplier, 1-D/2-D) and which microkernel runs them, picked from one table. Pure host
// code; see docs/algorithms/depthwise.md for the design.
#pragma once

#include <cstdint>
#include <string>

#include "geometry.h"
#include "problem.h"

namespace convx {

// The microkernels, named by what they are: data type, direction, window, stride, tile form
// (flat: a plane's stride phases as one 1-D range; rNvM: N rows x M vectors; pNvM: N pixels x M
// vectors) and where they vectorize (_w along W, _c over channels). The ISA is picked at run
// time by Highway; the executor picks the tile form the geometry allows (arm/depthwise_*.inc).
enum class DwKernel {
    FwdRows3x3S1 = 0,   // NCHW forward, 3x3, stride 1: flat plane tiles (row tiles when the output is gapped)
    FwdRows3x3S2,       // NCHW forward, 3x3, stride 2: column phases split by the tile copy
    FwdRows5x5S1,
    FwdRows5x5S2,
    FwdRowsS1,          // NCHW forward, any window, stride 1 along W
    FwdRowsS2,          // ... stride 2 along W
    FwdRowsGeneral,     // ... any stride along W: 4 rows x 1 vector, scalar border columns
    BwdDataPhases,      // NCHW backward-data, stride > 1 or M > 1: per stride phase only its taps over a dy tile
    BwdFilterTaps,      // NCHW weight gradient: flattened pitched planes, every tap's accumulator in registers
    FwdChannels,        // NHWC forward (and stride-1 backward-data, rotated): 4 pixels x 2 vectors over C
    BwdDataChannels,    // NHWC backward-data at stride > 1: the phase taps per pixel, 2 vectors over C
    BwdFilterChannels,  // NHWC weight gradient: every tap's accumulator in registers, jobs per (64 channels, row chunk)
    FwdChannelsMult,        // NHWC forward, multiplier M > 1: vectors over c, M accumulators, interleaving stores
    BwdDataChannelsMult,    // NHWC backward-data, M > 1: de-interleaving loads of dy
    BwdFilterChannelsMult,  // NHWC weight gradient, M > 1: de-interleaving loads of dy
    Count
};
const char* dwKernelName(DwKernel k);  // "f32_fwd_k3x3_s1_flat_w", ...

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
