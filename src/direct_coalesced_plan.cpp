#include "direct_coalesced_plan.h"

#include <algorithm>

#include "dtype.h"
#include "error.h"

namespace convx {

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

size_t gpuAccSize(DType t) { return t == DType::F64 ? 8 : 4; }

bool pointwise(const Problem& p) {
    if (p.taps() != 1) return false;
    for (int i = 0; i < p.nsp; ++i)
        if (p.pad[i] != 0) return false;
    return true;
}

// Largest power of two <= v among {1, 2, 4, ..., cap}.
int pow2Floor(int64_t v, int cap) {
    int r = 1;
    while (r * 2 <= cap && r * 2 <= v) r *= 2;
    return r;
}

// Bytes of one input channel's filter slice in shared memory for a block of BK channels.
size_t sharedPerChannel(const Problem& p, int64_t BK) { return size_t(p.taps()) * size_t(BK + 1) * gpuAccSize(p.dtype); }

}  // namespace

DcGpuPlan planDcGpu(const Problem& p, int smCount) {
    DcGpuPlan pl;
    if (smCount < 1) smCount = 1;
    const int64_t Kg = p.Kg();
    pl.variant = pointwise(p) ? DcVariant::Pointwise : DcVariant::General;
    pl.M = p.N * p.outPixels();
    const int64_t outputs = pl.M * p.K;
    // Enough threads to keep every SM busy with a few warps; beyond that, each thread takes
    // more channels (or pixels) so that one input load feeds several FMAs.
    const int64_t target = int64_t(smCount) * 192;
    auto tileFor = [&](int64_t along, int cap) {
        int t = pow2Floor(along, cap);
        while (t > 1 && ceilDiv(outputs, t) < target) t /= 2;
        return t;
    };
    // Channels-last x with enough output channels per group: lanes over k; otherwise over pixels.
    pl.lanesOverK = p.xLayout == Layout::NHWC && p.C > 1 && Kg >= 16;
    if (pl.lanesOverK) {
        pl.kThreads = Kg >= 32 ? 32 : 16;
        pl.KT = 1;
        pl.PT = tileFor(pl.M, 4);
        pl.pixThreads = 128 / pl.kThreads;
        while (pl.pixThreads > 1 && int64_t(pl.pixThreads / 2) * pl.PT >= pl.M) pl.pixThreads /= 2;
    } else {
        pl.pixThreads = pl.M >= 32 ? 32 : (pl.M >= 16 ? 16 : 8);
        pl.PT = 1;
        pl.KT = tileFor(Kg, 8);
        pl.kThreads = 128 / pl.pixThreads;
        while (pl.kThreads > 1 && int64_t(pl.kThreads / 2) * pl.KT >= Kg) pl.kThreads /= 2;
    }
    pl.BP = int64_t(pl.pixThreads) * pl.PT;
    pl.BK = int64_t(pl.kThreads) * pl.KT;
    pl.mBlocks = ceilDiv(pl.M, pl.BP);
    pl.kBlocksPerGroup = ceilDiv(Kg, pl.BK);
    // A grid too small for the device: halve the block along k (lanes stay whole) while that
    // adds blocks.
    auto blocks = [&] { return pl.mBlocks * p.G * pl.kBlocksPerGroup; };
    while (blocks() < 2 * int64_t(smCount) && !pl.lanesOverK && pl.kThreads > 1 && pl.pixThreads * pl.kThreads > 32) {
        pl.kThreads /= 2;
        pl.BK = int64_t(pl.kThreads) * pl.KT;
        pl.kBlocksPerGroup = ceilDiv(Kg, pl.BK);
    }
    // A wide window (hundreds of taps) with a wide block: narrow the block until one channel's
    // slice fits a stage.
    while (sharedPerChannel(p, pl.BK) > kDcSharedMax && !pl.lanesOverK && (pl.KT > 1 || pl.kThreads > 1)) {
        if (pl.KT > 1) pl.KT /= 2;
        else pl.kThreads /= 2;
        pl.BK = int64_t(pl.kThreads) * pl.KT;
        pl.kBlocksPerGroup = ceilDiv(Kg, pl.BK);
    }
    pl.blocks = blocks();
    pl.sharedStride = pl.BK + 1;
    const size_t perChannel = sharedPerChannel(p, pl.BK);
    pl.CS = std::max<int64_t>(1, std::min<int64_t>(p.Cg(), int64_t(kDcSharedBudget / perChannel)));
    pl.CS = std::min<int64_t>(pl.CS, 64);
    pl.sharedBytes = size_t(pl.CS) * perChannel;
    return pl;
}

bool dcGpuFits(const Problem& p, std::string* why) {
    const DcGpuPlan pl = planDcGpu(p);
    if (pl.sharedBytes > kDcSharedMax) {
        if (why)
            *why = format("filter window of %lld taps too large for one shared-memory stage (%zu bytes > %zu)",
                          static_cast<long long>(p.taps()), pl.sharedBytes, kDcSharedMax);
        return false;
    }
    return true;
}

bool dcCpuFits(const Problem& p, std::string* why) {
    if (p.dtype != DType::F32 && p.dtype != DType::F64) {
        if (why) *why = "f32 and f64 only on the CPU";
        return false;
    }
    // One input channel and fewer than KT output channels per group: a tile does a few
    // multiply-adds per tap, and the per-tap setup makes it slower than the reference's row
    // loop (measured 0.3-0.7x on MobileNetV2's depthwise layers).
    if (p.Cg() == 1 && p.Kg() < kDcCpuKT) {
        if (why) *why = "depthwise with a channel multiplier below 4 (one input channel per group): the reference's row loop is faster on the CPU";
        return false;
    }
    return true;
}

size_t dcCpuPackedFilterBytes(const Problem& p) {
    const int64_t KgPad = ceilDiv(p.Kg(), kDcCpuKPad) * kDcCpuKPad;
    return size_t(p.G) * size_t(p.taps()) * size_t(p.Cg()) * size_t(KgPad) * dtypeSize(p.dtype);
}

DcCpuPlan planDcCpu(const Problem& p) {
    DcCpuPlan pl;
    pl.g = conv3dOf(p);
    Conv3d& g = pl.g;
    pl.variant = pointwise(p) ? DcVariant::Pointwise : DcVariant::General;
    // Channels-last tiles vectorize over output channels: with fewer than 4 per group
    // (depthwise) they would mostly multiply padding, so those take the channels-first tile,
    // whose loads then go through the offsets.
    pl.path = (g.xs[1] == 1 && g.C > 1 && g.Kg >= 4) ? DcCpuPath::ChannelsLast : DcCpuPath::ChannelsFirst;
    // 1x1, stride 1, pad 0 with packed planes (channels first): one row of outPix columns, so the
    // vector runs across row ends and small maps (7x7) fill whole tiles.
    bool unitStride = true;
    for (int j = 0; j < 3; ++j) unitStride = unitStride && g.S[j] == 1;
    // A spatial dim of size 1 may carry any stride (an unused leading dim carries 0).
    auto packedPlane = [](const int64_t* st, const int64_t* sz) {
        return st[4] == 1 && (sz[1] == 1 || st[3] == sz[2]) && (sz[0] == 1 || st[2] == sz[1] * sz[2]);
    };
    const bool xPlane = packedPlane(g.xs, g.I);
    const bool yPlane = packedPlane(g.ys, g.O);
    pl.flat = pl.variant == DcVariant::Pointwise && unitStride && pl.path == DcCpuPath::ChannelsFirst && xPlane && yPlane;
    if (pl.flat) {
        for (int j = 0; j < 2; ++j) g.I[j] = g.O[j] = 1, g.xs[2 + j] = g.ys[2 + j] = 0;
        g.I[2] = g.inPix, g.O[2] = g.outPix;
    }
    pl.KgPad = ceilDiv(p.Kg(), kDcCpuKPad) * kDcCpuKPad;
    // Channels-first: KT channels per tile, or one when the group has fewer (depthwise).
    pl.kTile = pl.path == DcCpuPath::ChannelsLast ? dcCpuVector(p.dtype) : (p.Kg() >= kDcCpuKT ? kDcCpuKT : 1);
    pl.kBlocks = ceilDiv(p.Kg(), pl.kTile);
    pl.chunks = ceilDiv(g.outPix, kDcCpuChunk);
    pl.tasks = pl.chunks * p.N * p.G * pl.kBlocks;
    pl.packedBytes = dcCpuPackedFilterBytes(p);
    return pl;
}

}  // namespace convx
