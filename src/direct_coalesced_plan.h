// CONVX_ALGO_DIRECT_COALESCED: the tiling decisions of the coalesced direct forward convolution
// (cuConv, SEEDS.md section 1), taken from the Problem alone and shared by the CUDA and CPU
// executors. Pure host code; see docs/algorithms/direct_coalesced.md for the design.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "geometry.h"
#include "problem.h"

#ifdef __CUDACC__
#define CONVX_DC_HD __host__ __device__
#else
#define CONVX_DC_HD
#endif

namespace convx {

// 1x1 window without padding: one input pixel per output pixel, no tap loop, no bounds test
// (the paper's single-stage case). Otherwise the per-tap loop with hoisted bounds tests (the
// paper's two stages, with the per-tap partial sums kept in registers instead of memory).
enum class DcVariant { Pointwise = 0, General = 1 };

// ------------------------------------------------------------------ CUDA tiling
// Output index m = n * outPix + pixel (batch and pixels flattened, so a small map at batch 32
// still fills the lanes). A block owns BP consecutive m x BK consecutive output channels of one
// group, as pixThreads x kThreads threads, each owning PT pixels x KT channels in registers.
// lanesOverK: threadIdx.x runs over output channels (channels-last x: lanes then read the same
// input element, a broadcast, and write consecutive y); else over pixels (channels-first x:
// lanes read consecutive input addresses along W, and the filter value is a shared broadcast).
struct DcGpuPlan {
    DcVariant variant = DcVariant::General;
    bool lanesOverK = false;
    int pixThreads = 32, kThreads = 4;  // block = pixThreads * kThreads threads
    int PT = 1, KT = 1;                 // register tile per thread (kernel template arguments)
    int64_t BP = 32, BK = 4;            // block tile: pixThreads*PT outputs x kThreads*KT channels
    int64_t CS = 1;                     // input channels per shared-memory filter stage
    int64_t sharedStride = 5;           // BK + 1: odd, so staging writes hit distinct banks
    size_t sharedBytes = 0;             // CS * taps * sharedStride * sizeof(accumulator)
    int64_t M = 0;                      // N * outPix
    int64_t mBlocks = 0, kBlocksPerGroup = 0, blocks = 0;  // blocks = mBlocks * G * kBlocksPerGroup
    int threads() const { return pixThreads * kThreads; }
};

// The tile of block `blk` (grid-stride index): outputs [m0, m0 + BP) x channels [k0, k0 + BK)
// of group grp (k0 counted inside the group). Consecutive blocks walk m first, so the blocks
// that stage the same filter slice run together and find it in L2.
struct DcBlockTile {
    int64_t m0, k0, grp;
};
CONVX_DC_HD inline DcBlockTile dcBlockTile(const DcGpuPlan& pl, int64_t blk) {
    const int64_t mb = blk % pl.mBlocks, q = blk / pl.mBlocks;
    return {mb * pl.BP, (q % pl.kBlocksPerGroup) * pl.BK, q / pl.kBlocksPerGroup};
}
// Thread tid of a block owns outputs m0 + pixIdx*PT + j (j < PT) and channels k0 + kIdx*KT + i
// (i < KT). Lanes (consecutive tid) run over kIdx when lanesOverK, else over pixIdx.
CONVX_DC_HD inline void dcThreadIndex(const DcGpuPlan& pl, int tid, int* pixIdx, int* kIdx) {
    if (pl.lanesOverK) *kIdx = tid % pl.kThreads, *pixIdx = tid / pl.kThreads;
    else *pixIdx = tid % pl.pixThreads, *kIdx = tid / pl.pixThreads;
}

constexpr size_t kDcSharedBudget = 24 * 1024;       // per block: leaves room for several blocks per SM
constexpr size_t kDcSharedMax = 48 * 1024;          // static launch limit without opt-in
constexpr int kDcDefaultSMs = 132;                  // H200

// Applicability of the CUDA kernel (forward only is checked by directions()).
bool dcGpuFits(const Problem& p, std::string* why);
// The plan; smCount sizes the register tile and block so that the grid covers the device.
DcGpuPlan planDcGpu(const Problem& p, int smCount = kDcDefaultSMs);

// ------------------------------------------------------------------ CPU tiling
// Tiles of V (or PT) consecutive flattened output pixels. For each tap the tile's input offsets
// are computed once; when they are consecutive and all in bounds (the interior, and every 1x1
// stride-1 tap) the channel loop does contiguous loads with no test; otherwise it loads through
// the offsets with the out-of-bounds lanes selected to zero (the border), still without a branch.
// The filter is repacked per call into blocks of kTile output channels (zero padded to a
// multiple of kDcCpuKPad) so that a register tile's weights are one contiguous load. The packed
// copy lives in a buffer the executor allocates, not in the caller's workspace: CONVX_ALGO_AUTO
// with no workspace (the common call, and what the selector walk assumes) must still run.
constexpr int kDcCpuKPad = 8;
constexpr int kDcCpuKT = 4;  // channels-first: output channels per register tile
constexpr int kDcCpuPT = 4;  // channels-last: output pixels per register tile
// Output pixels per OpenMP task, flattened over (D, H, W): tiles run across row ends, so a 7x7
// map is 49 pixels in 7 vectors of 8 rather than 7 rows of 7 in a vector of 8 each.
constexpr int64_t kDcCpuChunk = 64;
// Vector width of a tile in elements: two 16-byte registers (SSE2 / NEON baseline), so that
// KT x V (or PT x V) accumulators take 8 of the 16 vector registers.
inline int dcCpuVector(DType t) { return t == DType::F64 ? 4 : 8; }

enum class DcCpuPath {
    ChannelsFirst,  // tile = KT (or 1) output channels x V flattened output pixels
    ChannelsLast    // x's channel stride is 1 and Kg >= 4: tile = PT output pixels x V output channels
};

struct DcCpuPlan {
    DcVariant variant = DcVariant::General;
    DcCpuPath path = DcCpuPath::ChannelsFirst;
    bool flat = false;      // 1x1, stride 1, pad 0, packed planes: the whole plane is one row
    Conv3d g{};             // geometry the kernel runs (flat: reshaped to one row of outPix)
    int64_t KgPad = 0;      // Kg rounded up to kDcCpuKPad
    int64_t kTile = 0;      // output channels per tile: KT or 1 (channels-first), V (channels-last)
    int64_t kBlocks = 0;    // per group: ceil(Kg / kTile)
    int64_t chunks = 0;     // per image: ceil(outPix / kDcCpuChunk) runs of flattened output pixels
    int64_t tasks = 0;      // chunks * N * G * kBlocks: the OpenMP work items, chunk outermost
    size_t packedBytes = 0; // the packed filter: G * taps * Cg * KgPad * sizeof(T)
};

bool dcCpuFits(const Problem& p, std::string* why);
DcCpuPlan planDcCpu(const Problem& p);
size_t dcCpuPackedFilterBytes(const Problem& p);

}  // namespace convx
