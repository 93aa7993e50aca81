#include "depthwise_plan.h"

#include <utility>

namespace convx {

const char* dwKernelName(DwKernel k) {
    static const char* const names[] = {
        "f32_fwd_k3x3_s1_flat_w", "f32_fwd_k3x3_s2_flat_w", "f32_fwd_k5x5_s1_flat_w", "f32_fwd_k5x5_s2_flat_w",
        "f32_fwd_kany_s1_flat_w", "f32_fwd_kany_s2_flat_w", "f32_fwd_kany_sany_r4v1_w", "f32_bwdd_kany_sany_phasetile_w",
        "f32_bwdw_kany_sany_flattaps_w", "f32_fwd_kany_sany_p4v2_c", "f32_bwdd_kany_sany_v2_c", "f32_bwdw_kany_sany_regtaps_c",
        "f32_fwd_kany_sany_mult_vm_c", "f32_bwdd_kany_sany_mult_vm_c", "f32_bwdw_kany_sany_mult_vm_c"};
    static_assert(sizeof(names) / sizeof(names[0]) == static_cast<int>(DwKernel::Count), "one name per kernel");
    const int i = static_cast<int>(k);
    return i >= 0 && i < static_cast<int>(DwKernel::Count) ? names[i] : "?";
}

bool dwFits(const Problem& p, std::string* why) {
    auto no = [&](const char* r) {
        if (why) *why = r;
        return false;
    };
    if (p.dtype != DType::F32) return no("f32 only (the Highway kernels have no f64/f16/bf16 variant)");
    if (p.G != p.C) return no("not depthwise (groups != input channels)");
    const Conv3d g = conv3dOf(p);
    const bool unitW = g.xs[4] == 1 && g.ys[4] == 1;
    const bool unitC = g.xs[1] == 1 && g.ys[1] == 1;
    if (p.nsp == 3 && !unitC) return no("3-D convolutions need channels-last x and y (unit C stride; the channels-first kernels are 2-D)");
    if (!unitW && !unitC) return no("x and y need unit element stride along W (both channels-first) or along C (both channels-last)");
    return true;
}

DwPlan planDepthwise(const Problem& p) {
    DwPlan pl;
    pl.g = conv3dOf(p);
    const Conv3d& g = pl.g;
    pl.M = p.Kg();
    // Channels-first whenever W is contiguous, except that the channel-vector kernels take the
    // small maps (under two vectors along W) where rows are too short for W vectors, and 3-D
    // (only the channel kernels have a depth loop).
    const bool unitW = g.xs[4] == 1 && g.ys[4] == 1;
    const bool unitC = g.xs[1] == 1 && g.ys[1] == 1;
    pl.channelsLast = p.nsp == 3 || !unitW || (unitC && pl.M == 1 && g.O[2] < 16 && g.C >= 8);
    // Backward-data at stride 1, multiplier 1: the forward correlation of dy with the filter
    // rotated by 180 degrees, so it runs the forward kernels (their register tiles) over dy;
    // g becomes that forward problem (input dy, output dx, padding dil - pad, possibly
    // negative). The Algorithm swaps the buffers and mirrors the filter.
    if (p.dir == Direction::BackwardData && pl.M == 1 && g.S[0] == 1 && g.S[1] == 1 && g.S[2] == 1) {
        pl.rotated = true;
        Conv3d& f = pl.g;
        for (int j = 0; j < 3; ++j) {
            std::swap(f.I[j], f.O[j]);
            f.P[j] = (f.R[j] - 1) * f.D[j] - f.P[j];
        }
        for (int j = 0; j < 5; ++j) std::swap(f.xs[j], f.ys[j]);
        std::swap(f.inPix, f.outPix);
    }
    if (pl.channelsLast) {
        if (pl.rotated) {
            pl.kernel = DwKernel::FwdChannels;
            return pl;
        }
        const bool mult = pl.M > 1;
        pl.kernel = p.dir == Direction::Forward        ? (mult ? DwKernel::FwdChannelsMult : DwKernel::FwdChannels)
                    : p.dir == Direction::BackwardData ? (mult ? DwKernel::BwdDataChannelsMult : DwKernel::BwdDataChannels)
                                                       : (mult ? DwKernel::BwdFilterChannelsMult : DwKernel::BwdFilterChannels);
        return pl;
    }
    if (p.dir == Direction::BackwardData && !pl.rotated) {
        pl.kernel = DwKernel::BwdDataPhases;
    } else if (p.dir == Direction::BackwardFilter) {
        pl.kernel = DwKernel::BwdFilterTaps;
    } else {
        // The table: (window, stride along W) -> forward microkernel.
        const int64_t R = g.R[1], S = g.R[2], sw = g.S[2];
        const bool sq3 = R == 3 && S == 3, sq5 = R == 5 && S == 5;
        if (sw == 1) pl.kernel = sq3 ? DwKernel::FwdRows3x3S1 : sq5 ? DwKernel::FwdRows5x5S1 : DwKernel::FwdRowsS1;
        else if (sw == 2) pl.kernel = sq3 ? DwKernel::FwdRows3x3S2 : sq5 ? DwKernel::FwdRows5x5S2 : DwKernel::FwdRowsS2;
        else pl.kernel = DwKernel::FwdRowsGeneral;
    }
    return pl;
}

}  // namespace convx
