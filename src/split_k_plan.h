// CONVX_ALGO_SPLIT_K: backward-filter as a split-reduction GEMM (C-K-S "Sk-dilated").
//
// Per group g the weight gradient is a GEMM
//   dw[g*M + m, col] = sum over l in [0, L) of dy[n, g*M + m, o] * x[n, g*Cg + c, o*s - p + t*d]
// with M = K/G rows, Ncols = Cg*taps columns (col = one (c, tap) pair) and a reduction over
// l = (n, o), L = N * output pixels. x is read at strided positions: the zero-stuffed ("dilated")
// dy of the dilated-convolution view of this gradient is never built, and input positions that
// fall in the padding contribute nothing.
//
// The reduction is long (N*P*Q) when the GEMM is small (M*Ncols): it is cut into `splits`
// chunks of [0, L); every (tile, chunk) pair is an independent work item that writes its own
// partial result, and the partials are summed afterwards in chunk order. The split depends on
// the Problem only, so the workspace is exact and the result is bitwise reproducible.
#pragma once

#include <cstddef>
#include <cstdint>

#include "geometry.h"
#include "problem.h"

#if defined(__CUDACC__)
#define CONVX_HD __host__ __device__
#else
#define CONVX_HD
#endif

namespace convx {

// Unsigned division by a run-time constant with a multiply and a shift (valid for n, d < 2^31):
// q = (mulhi(n, magic) + n) >> shift, with shift = ceil(log2 d) and
// magic = floor(2^32 (2^shift - d) / d) + 1. Kernels decode reduction indices with it.
struct FastDiv {
    uint32_t d = 1, magic = 1, shift = 0;
    FastDiv() = default;
    explicit FastDiv(uint32_t divisor) : d(divisor) {
        shift = 0;
        while ((uint64_t(1) << shift) < divisor) ++shift;
        magic = static_cast<uint32_t>(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - divisor)) / divisor + 1);
    }
    CONVX_HD uint32_t div(uint32_t n) const {
#if defined(__CUDA_ARCH__)
        const uint32_t hi = __umulhi(n, magic);
#else
        const uint32_t hi = static_cast<uint32_t>((uint64_t(n) * magic) >> 32);
#endif
        return (hi + n) >> shift;
    }
    CONVX_HD uint32_t mod(uint32_t n) const { return n - div(n) * d; }
};

struct SplitKPlan {
    // Tiling of the per-group GEMM (shared by both executors): M x Ncols tiles, and the
    // reduction step of the CUDA kernel, to which chunk lengths are rounded.
    static constexpr int64_t kTileM = 64;
    static constexpr int64_t kTileN = 64;
    static constexpr int64_t kStepL = 16;
    // Split rule: aim for 2 waves of 132 SMs of (tile, chunk) work items; a chunk keeps at least
    // kMinChunk reduction steps so a work item amortises writing its partial tile; at most
    // kMaxSplits chunks (bounds the workspace).
    static constexpr int64_t kTargetItems = 2 * 132;
    static constexpr int64_t kMinChunk = 256;
    static constexpr int64_t kMaxSplits = 64;
    // A group whose whole dw block has at most this many elements (depthwise: multiplier x taps)
    // wastes a 64 x 64 tile; both executors run such problems with a thin path instead (dot
    // products over output rows, no tile). Same work items, same workspace.
    static constexpr int64_t kThinMaxOutputs = 256;

    int64_t G = 1, M = 1, Ncols = 1, L = 1;  // per-group GEMM: M x Ncols, reduction length L
    int64_t Cg = 1, taps = 1;
    bool tapMajor = false;                   // col = tap*Cg + c (x channels innermost), else c*taps + tap
    int64_t mTiles = 1, nTiles = 1, tiles = 1;  // tiles = G * mTiles * nTiles
    int64_t splits = 1, chunkLen = 1;
    size_t accBytes = 4;                     // partial element: fp32, fp64 for f64 data

    int64_t chunkBegin(int64_t s) const { return s * chunkLen; }
    int64_t chunkEnd(int64_t s) const { return (s + 1) * chunkLen < L ? (s + 1) * chunkLen : L; }
    int64_t items() const { return tiles * splits; }
    bool thin() const { return mTiles == 1 && nTiles == 1 && M * Ncols <= kThinMaxOutputs; }
    int64_t wElems() const { return G * M * Ncols; }
    // splits partial dw buffers laid out [chunk][g][m][col]; none when one chunk writes dw directly.
    size_t workspaceBytes() const { return splits > 1 ? size_t(splits) * size_t(wElems()) * accBytes : 0; }

    // Column -> channel in the group and flattened tap (cross-correlation order).
    CONVX_HD int64_t colChannel(int64_t col) const { return tapMajor ? col % Cg : col / taps; }
    CONVX_HD int64_t colTap(int64_t col) const { return tapMajor ? col / Cg : col % taps; }
};

// The number of chunks for a GEMM of `tiles` tiles and reduction length L (the documented rule).
int64_t splitKSplits(int64_t tiles, int64_t L);

SplitKPlan makeSplitKPlan(const Problem& p);

// Element offset in the user's filter of row k (global output channel) and plan column `col`,
// with the taps mirrored in CONVOLUTION mode.
int64_t splitKFilterOffset(const Conv3d& g, const SplitKPlan& plan, int64_t k, int64_t col);

}  // namespace convx
