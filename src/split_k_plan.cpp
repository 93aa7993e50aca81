#include "split_k_plan.h"

#include <algorithm>

namespace convx {

namespace {
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

int64_t splitKSplits(int64_t tiles, int64_t L) {
    // Enough chunks that tiles * splits reaches the target; none shorter than kMinChunk.
    int64_t s = ceilDiv(SplitKPlan::kTargetItems, std::max<int64_t>(tiles, 1));
    s = std::min(s, std::max<int64_t>(1, L / SplitKPlan::kMinChunk));
    return std::max<int64_t>(1, std::min(s, SplitKPlan::kMaxSplits));
}

SplitKPlan makeSplitKPlan(const Problem& p) {
    SplitKPlan plan;
    plan.G = p.G;
    plan.M = p.Kg();
    plan.Cg = p.Cg();
    plan.taps = p.taps();
    plan.Ncols = plan.Cg * plan.taps;
    plan.L = p.N * p.outPixels();
    plan.tapMajor = p.xLayout == Layout::NHWC;
    plan.mTiles = ceilDiv(plan.M, SplitKPlan::kTileM);
    plan.nTiles = ceilDiv(plan.Ncols, SplitKPlan::kTileN);
    plan.tiles = plan.G * plan.mTiles * plan.nTiles;
    plan.accBytes = p.dtype == DType::F64 ? 8 : 4;
    const int64_t want = splitKSplits(plan.tiles, plan.L);
    // Chunks are whole reduction steps; recount so that no chunk is empty.
    plan.chunkLen = ceilDiv(ceilDiv(plan.L, want), SplitKPlan::kStepL) * SplitKPlan::kStepL;
    plan.splits = ceilDiv(plan.L, plan.chunkLen);
    return plan;
}

int64_t splitKFilterOffset(const Conv3d& g, const SplitKPlan& plan, int64_t k, int64_t col) {
    const int64_t c = plan.colChannel(col), tap = plan.colTap(col);
    int64_t t2 = tap % g.R[2], t1 = (tap / g.R[2]) % g.R[1], t0 = tap / (g.R[2] * g.R[1]);
    if (g.flip) t0 = g.R[0] - 1 - t0, t1 = g.R[1] - 1 - t1, t2 = g.R[2] - 1 - t2;
    return k * g.ws[0] + c * g.ws[1] + t0 * g.ws[2] + t1 * g.ws[3] + t2 * g.ws[4];
}

}  // namespace convx
