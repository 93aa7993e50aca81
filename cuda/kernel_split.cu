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

namespace convx {

namespace {

constexpr int kMaxPhases = 64;      // non-empty N-D phases
constexpr int kMaxAxisPhases = 16;  // stride per axis
constexpr int kMaxAxisTaps = 32;    // filter extent per axis

struct DevAxis {
    int first[kMaxAxisPhases], count[kMaxAxisPhases], tapBegin[kMaxAxisPhases], tapCount[kMaxAxisPhases];
    int wTap[kMaxAxisTaps], dyOff[kMaxAxisTaps];
};

// The plan as a kernel argument (about 2.7 KB, under the 4 KB parameter limit).
struct DevPlan {
    Conv3d g;
    DevAxis ax[3];
    int nPhases;
    unsigned char phA[kMaxPhases][3];   // per-axis phase index of each N-D phase
    int64_t tileBegin[kMaxPhases + 1];  // prefix sums of BM-row tiles per phase
};

__device__ inline float ldf(const float* p, int64_t i) { return p[i]; }
__device__ inline double ldf(const double* p, int64_t i) { return p[i]; }
__device__ inline float ldf(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ inline float ldf(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ inline void stf(float* p, int64_t i, float v) { p[i] = v; }
__device__ inline void stf(double* p, int64_t i, double v) { p[i] = v; }
__device__ inline void stf(__half* p, int64_t i, float v) { p[i] = __float2half(v); }
__device__ inline void stf(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16(v); }

template <class T, class Acc, int BM, int BN, int TM, int TN, int KB>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
kernelSplitBwdData(const DevPlan P, T* __restrict__ dx, const T* __restrict__ w, const T* __restrict__ dy, Acc alpha, Acc beta,
                   int64_t cTiles, bool chanFast, bool dyChanFast) {
    constexpr int NT = (BM / TM) * (BN / TN);
    constexpr int NY = BM / TM, NX = BN / TN;
    __shared__ Acc As[KB][BM + 1];
    __shared__ Acc Bs[KB][BN];
    __shared__ int64_t pixDy[BM], pixDx[BM];  // n * stride + position offsets; -1: row past the phase
    __shared__ int pixJ[BM][3];
    __shared__ int64_t redK[KB], redW[KB];    // dy channel and user tap offset of a reduction index
    __shared__ int redOff[KB][3];
    __shared__ int redValid[KB];

    const Conv3d& g = P.g;
    const int tid = threadIdx.x;
    const int tx = chanFast ? tid % NX : tid / NY;
    const int ty = chanFast ? tid / NX : tid % NY;

    // The block's phase: the last whose first tile is <= blockIdx.x (uniform per block).
    const int64_t tile = blockIdx.x;
    int ph = 0;
    while (ph + 1 < P.nPhases && P.tileBegin[ph + 1] <= tile) ++ph;
    const int a0 = P.phA[ph][0], a1 = P.phA[ph][1], a2 = P.phA[ph][2];
    const int cnt0 = P.ax[0].count[a0], cnt1 = P.ax[1].count[a1], cnt2 = P.ax[2].count[a2];
    const int64_t elems = int64_t(cnt0) * cnt1 * cnt2;
    const int64_t rows = g.N * elems;
    const int64_t m0 = (tile - P.tileBegin[ph]) * BM;
    const int nt0 = P.ax[0].tapCount[a0], nt1 = P.ax[1].tapCount[a1], nt2 = P.ax[2].tapCount[a2];
    const int tb0 = P.ax[0].tapBegin[a0], tb1 = P.ax[1].tapBegin[a1], tb2 = P.ax[2].tapBegin[a2];
    const int kg = int(g.Kg);
    const int red = kg * nt0 * nt1 * nt2;

    // Row table: (n, j0, j1, j2) of each row of the tile, and its dx offset.
    for (int m = tid; m < BM; m += NT) {
        const int64_t row = m0 + m;
        if (row < rows) {
            int64_t r = row;
            const int j2 = int(r % cnt2); r /= cnt2;
            const int j1 = int(r % cnt1); r /= cnt1;
            const int j0 = int(r % cnt0);
            const int64_t n = r / cnt0;
            const int64_t i0 = P.ax[0].first[a0] + int64_t(j0) * g.S[0];
            const int64_t i1 = P.ax[1].first[a1] + int64_t(j1) * g.S[1];
            const int64_t i2 = P.ax[2].first[a2] + int64_t(j2) * g.S[2];
            pixDy[m] = n * g.ys[0];
            pixDx[m] = n * g.xs[0] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4];
            pixJ[m][0] = j0, pixJ[m][1] = j1, pixJ[m][2] = j2;
        } else {
            pixDy[m] = -1;
            pixDx[m] = -1;
        }
    }

    for (int64_t yb = blockIdx.y; yb < g.G * cTiles; yb += gridDim.y) {
        const int64_t grp = yb / cTiles;
        const int64_t cBase = (yb % cTiles) * BN;
        Acc acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
            for (int j = 0; j < TN; ++j) acc[i][j] = Acc(0);

        for (int kc = 0; kc < red; kc += KB) {
            __syncthreads();  // previous chunk consumed (and, first time, the row table written)
            if (tid < KB) {
                // 32-bit decode (isApplicable bounds K/G x taps below 2^31): 64-bit division is slow.
                const int r = kc + tid;
                redValid[tid] = r < red;
                if (r < red) {
                    const int kl = r % kg, t = r / kg;
                    const int t2 = tb2 + t % nt2, t1 = tb1 + (t / nt2) % nt1, t0 = tb0 + t / (nt1 * nt2);
                    redK[tid] = grp * g.Kg + kl;
                    redOff[tid][0] = P.ax[0].dyOff[t0];
                    redOff[tid][1] = P.ax[1].dyOff[t1];
                    redOff[tid][2] = P.ax[2].dyOff[t2];
                    redW[tid] = P.ax[0].wTap[t0] * g.ws[2] + P.ax[1].wTap[t1] * g.ws[3] + P.ax[2].wTap[t2] * g.ws[4];
                }
            }
            __syncthreads();
            // dy tile: KB reduction indices x BM rows, zero where the tap falls outside dy.
            for (int e = tid; e < KB * BM; e += NT) {
                const int kk = dyChanFast ? e % KB : e / BM;
                const int m = dyChanFast ? e / KB : e % BM;
                Acc v = Acc(0);
                if (redValid[kk] && pixDy[m] >= 0) {
                    const int o0 = pixJ[m][0] + redOff[kk][0], o1 = pixJ[m][1] + redOff[kk][1], o2 = pixJ[m][2] + redOff[kk][2];
                    if (o0 >= 0 && o0 < g.O[0] && o1 >= 0 && o1 < g.O[1] && o2 >= 0 && o2 < g.O[2])
                        v = ldf(dy, pixDy[m] + redK[kk] * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4]);
                }
                As[kk][m] = v;
            }
            // w tile: KB reduction indices x BN channels of the group.
            for (int e = tid; e < KB * BN; e += NT) {
                const int kk = e / BN, c = e % BN;
                Acc v = Acc(0);
                if (redValid[kk] && cBase + c < g.Cg) v = ldf(w, redK[kk] * g.ws[0] + (cBase + c) * g.ws[1] + redW[kk]);
                Bs[kk][c] = v;
            }
            __syncthreads();
#pragma unroll
            for (int kk = 0; kk < KB; ++kk) {
                Acc a[TM], b[TN];
#pragma unroll
                for (int i = 0; i < TM; ++i) a[i] = As[kk][ty + i * NY];
#pragma unroll
                for (int j = 0; j < TN; ++j) b[j] = Bs[kk][tx + j * NX];
#pragma unroll
                for (int i = 0; i < TM; ++i)
#pragma unroll
                    for (int j = 0; j < TN; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
            }
        }
        __syncthreads();  // orders the row table before the stores when the phase has no taps
#pragma unroll
        for (int i = 0; i < TM; ++i) {
            const int m = ty + i * NY;
            if (pixDx[m] < 0) continue;
#pragma unroll
            for (int j = 0; j < TN; ++j) {
                const int64_t c = cBase + tx + j * NX;
                if (c >= g.Cg) continue;
                const int64_t off = pixDx[m] + (grp * g.Cg + c) * g.xs[1];
                Acc v = alpha * acc[i][j];
                if (beta != Acc(0)) v += beta * Acc(ldf(dx, off));  // beta 0 never reads dx
                stf(dx, off, v);
            }
        }
    }
}

// Why the device plan cannot hold a problem, or empty.
std::string devPlanLimit(const Problem& p) {
    const Conv3d g = conv3dOf(p);
    int64_t phases = 1;
    for (int a = 0; a < 3; ++a) {
        if (g.S[a] > kMaxAxisPhases) return "stride above " + std::to_string(kMaxAxisPhases);
        if (g.R[a] > kMaxAxisTaps) return "filter extent above " + std::to_string(kMaxAxisTaps);
        if (g.I[a] >= (int64_t(1) << 30) || g.O[a] >= (int64_t(1) << 30)) return "spatial size of 2^30 or more";
        // dy offsets of the taps travel as 32-bit ints: |dyOff| <= pad + (R-1) * dilation.
        if (g.P[a] + (g.R[a] - 1) * g.D[a] >= (int64_t(1) << 30)) return "pad + dilated filter extent of 2^30 or more";
        phases *= std::min(g.S[a], g.I[a]);
    }
    if (phases > kMaxPhases) return "more than " + std::to_string(kMaxPhases) + " stride phases";
    if (p.Kg() * g.taps >= (int64_t(1) << 31) - 64) return "reduction (K/G x taps) of 2^31 or more";
    return {};
}

template <int BM>
DevPlan devPlan(const Problem& p, const KernelSplitPlan& plan) {
    DevPlan d{};
    d.g = conv3dOf(p);
    for (int a = 0; a < 3; ++a) {
        int tap = 0;
        for (size_t f = 0; f < plan.axis[a].phases.size(); ++f) {
            const KsAxisPhase& ph = plan.axis[a].phases[f];
            d.ax[a].first[f] = int(ph.first);
            d.ax[a].count[f] = int(ph.count);
            d.ax[a].tapBegin[f] = tap;
            d.ax[a].tapCount[f] = int(ph.taps.size());
            for (const KsTap& t : ph.taps) {
                d.ax[a].wTap[tap] = int(t.wTap);
                d.ax[a].dyOff[tap] = int(t.dyOff);
                ++tap;
            }
        }
    }
    d.nPhases = int(plan.phases.size());
    int64_t tiles = 0;
    for (size_t i = 0; i < plan.phases.size(); ++i) {
        for (int a = 0; a < 3; ++a) d.phA[i][a] = static_cast<unsigned char>(plan.phases[i].a[a]);
        d.tileBegin[i] = tiles;
        tiles += (d.g.N * plan.phases[i].elems + BM - 1) / BM;
    }
    d.tileBegin[plan.phases.size()] = tiles;
    return d;
}

template <class T, class Acc, int BM, int BN, int TM, int TN>
void launchTile(const Problem& p, const Buffers& b, Scale s, cudaStream_t stream) {
    constexpr int KB = 16;
    const KernelSplitPlan plan = kernelSplitPlan(p);
    const DevPlan d = devPlan<BM>(p, plan);
    const int64_t tiles = d.tileBegin[d.nPhases];
    const int64_t cTiles = (p.Cg() + BN - 1) / BN;
    const int64_t ys = std::min<int64_t>(p.G * cTiles, 65535);
    if (tiles >= (int64_t(1) << 31)) fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE, "kernel_split: too many row tiles for one launch");
    const bool chanFast = d.g.xs[1] == 1 && p.C > 1;   // dx channels-last: threads along channels
    const bool dyChanFast = d.g.ys[1] == 1 && p.K > 1;  // dy channels-last: loads along dy channels
    constexpr int NT = (BM / TM) * (BN / TN);
    kernelSplitBwdData<T, Acc, BM, BN, TM, TN, KB><<<dim3(unsigned(tiles), unsigned(ys)), NT, 0, stream>>>(
        d, static_cast<T*>(b.x), static_cast<const T*>(b.w), static_cast<const T*>(b.y), Acc(s.alpha), Acc(s.beta), cTiles, chanFast,
        dyChanFast);
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
        const std::string why = devPlanLimit(p);
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
