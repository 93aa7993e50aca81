// CONVX_ALGO_KERNEL_SPLIT on the GPU: backward-data (= transposed convolution) by stride phases,
// every phase in ONE launch. Each phase of the plan (src/kernel_split_plan.h) is a dense
// stride-1 problem, run here as an implicit GEMM:
//   rows    M = N x (the phase's dx positions)          (batch folded in: one tail per phase)
//   columns   the dx channels of a group (C/G)
//   reduction the dy channels of the group x the phase's sub-filter taps
// so no inserted zero is ever loaded or multiplied. Blocks never straddle phases: the flat
// block index maps to (phase, row tile) through the plan's prefix sums of row tiles (a small
// table in the kernel's parameter space), so the reduction of a block is uniform.
//
// Block tile BM rows x BN channels, reduction chunks of KB staged in shared memory (dy gathered
// with the taps' offsets, bounds tested at the load; w read at the plan's user tap index, so
// CONVOLUTION mode costs nothing), each thread a TM x TN register tile. The tile shape follows
// the group width (depthwise: one channel, many rows). Threads run along channels when dx is
// channels-last and along rows otherwise, so the dx stores coalesce in both layouts; the dy
// loads run along dy channels when those are contiguous, else along rows (consecutive phase
// columns read consecutive dy). f32/f16/bf16 accumulate in float, f64 in double. Workspace 0.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>

#include "algorithm.h"
#include "cuda_check.h"
#include "geometry.h"
#include "kernel_split_plan.h"

// f16/bf16 loads and stores, declared before the tile steps that call them.
namespace convx {
namespace ks {
__device__ inline float ldf(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ inline float ldf(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ inline void stf(__half* p, int64_t i, float v) { p[i] = __float2half(v); }
__device__ inline void stf(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16(v); }
}  // namespace ks
}  // namespace convx

#include "kernel_split_tile.h"

namespace convx {

namespace {

using ks::DevPlan;

// One block: its phase and row table, then for each (group, channel tile) the reduction in
// chunks of KB (decode, stage dy and w, multiply), then the stores. Every step is a function of
// ks::Tile, shared with the host emulation the CPU tests run.
template <class T, class Acc, int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
kernelSplitBwdData(const DevPlan P, T* __restrict__ dx, const T* __restrict__ w, const T* __restrict__ dy, Acc alpha, Acc beta,
                   int64_t cTiles, bool chanFast, bool dyChanFast) {
    using K = ks::Tile<Acc, BM, BN, TM, TN>;
    constexpr int NT = K::NT, KB = K::KB;
    __shared__ typename K::Shared s;
    const int tid = threadIdx.x;
    int tx, ty;
    K::threadPos(tid, chanFast, &tx, &ty);
    const typename K::Block b = K::block(P, blockIdx.x);
    for (int m = tid; m < BM; m += NT) K::rowEntry(P, b, m, s);

    for (int64_t yb = blockIdx.y; yb < P.g.G * cTiles; yb += gridDim.y) {
        const int64_t grp = yb / cTiles, cBase = (yb % cTiles) * BN;
        Acc acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
            for (int j = 0; j < TN; ++j) acc[i][j] = Acc(0);
        for (int kc = 0; kc < b.red; kc += KB) {
            __syncthreads();  // previous chunk consumed (and, first time, the row table written)
            if (tid < KB) K::redEntry(P, b, grp, kc, tid, s);
            __syncthreads();
            for (int e = tid; e < KB * BM; e += NT) K::loadDy(P, dy, dyChanFast, e, s);
            for (int e = tid; e < KB * BN; e += NT) K::loadW(P, w, cBase, e, s);
            __syncthreads();
            K::multiply(tx, ty, s, acc);
        }
        __syncthreads();  // orders the row table before the stores when the phase has no taps
        K::store(P, dx, grp, cBase, tx, ty, s, acc, alpha, beta);
    }
}

template <class T, class Acc, int BM, int BN, int TM, int TN>
void launchTile(const Problem& p, const Buffers& b, Scale s, cudaStream_t stream) {
    const ks::Launch l = ks::launchOf(p, BM, BN);
    if (l.gridX >= (int64_t(1) << 31)) fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE, "kernel_split: too many row tiles for one launch");
    constexpr int NT = (BM / TM) * (BN / TN);
    kernelSplitBwdData<T, Acc, BM, BN, TM, TN><<<dim3(unsigned(l.gridX), unsigned(l.gridY)), NT, 0, stream>>>(
        l.plan, static_cast<T*>(b.x), static_cast<const T*>(b.w), static_cast<const T*>(b.y), Acc(s.alpha), Acc(s.beta), l.cTiles,
        l.chanFast, l.dyChanFast);
    cudaCheckLaunch("kernel_split backward-data launch");
}

template <class T, class Acc>
void launch(const Problem& p, const Buffers& b, Scale s, cudaStream_t stream) {
    // The tile follows the group width: wide groups get square tiles, narrow ones tall tiles
    // (256 threads each), so few columns are computed past C/G.
    const int64_t cg = p.Cg();
    if (cg >= 32) launchTile<T, Acc, 64, 64, 4, 4>(p, b, s, stream);
    else if (cg >= 8) launchTile<T, Acc, 128, 16, 4, 2>(p, b, s, stream);
    else if (cg >= 2) launchTile<T, Acc, 256, 4, 4, 1>(p, b, s, stream);
    else launchTile<T, Acc, 256, 1, 1, 1>(p, b, s, stream);
}

class CudaKernelSplit final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_KERNEL_SPLIT; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    unsigned directions() const override { return dirBit(Direction::BackwardData); }
    bool deterministic() const override { return true; }

    Applicability isApplicable(const Problem& p) const override {
        const std::string why = ks::devPlanLimit(p);
        if (!why.empty()) return Applicability::no(why);
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        cudaStream_t stream = static_cast<cudaStream_t>(ctx.handle ? ctx.handle->stream : nullptr);
        switch (p.dtype) {
            case DType::F32: launch<float, float>(p, b, s, stream); break;
            case DType::F64: launch<double, double>(p, b, s, stream); break;
            case DType::F16: launch<__half, float>(p, b, s, stream); break;
            case DType::BF16: launch<__nv_bfloat16, float>(p, b, s, stream); break;
        }
    }
};

}  // namespace

const Algorithm* cudaKernelSplitAlgorithm() {
    static const CudaKernelSplit a;
    return &a;
}

}  // namespace convx
