// CONVX_ALGO_DEPTHWISE on the GPU: direct depthwise convolution (groups == C, any channel
// multiplier M = K / C), all three directions, memory-bound by design (SEEDS.md section 4 on the
// CPU; the same algorithm here). The per-thread steps live in cuda/depthwise_tile.h, shared with
// the host emulation the CPU tests run; this file holds the kernels (barriers and loops around
// those steps), the dispatch and the Algorithm.
//
// Forward and backward-data:
//  - channels-first 1-D/2-D (unit stride along W): dwPlanes. A block owns PB (n, c) planes x a
//    TH x 4*TX output tile, stages the source tile + halo once in shared memory (16-byte loads,
//    de-interleaved by the W stride), each thread computes 4 consecutive outputs along W from a
//    register window. 3x3 and 5x5 at W stride 1 and 2 are compile-time (window in registers,
//    float4 shared reads), everything else the general loop. Backward-data at stride 1 is the
//    same kernel over dy with the rotated filter; at stride > 1 each dx pixel gathers the taps
//    of its phase from the staged dy tile. The multiplier: forward stages x once and writes M
//    y planes; backward-data sums M staged dy planes.
//  - anything else (channels-last, 3-D, other strides): dwChannels, threads along channels with
//    16-byte vectors when M == 1 and the strides allow, one pixel per thread, halo from L1.
// Backward-filter: dwFilterPartial (block sums per (k, tap) over a chunk of (n, pixels), fixed
// thread-to-data map and a fixed-order tree) into the workspace, then dwFilterReduce sums the
// chunks in chunk order and applies alpha/beta. Deterministic, no atomics.
// f32/f16/bf16 accumulate in fp32, f64 in fp64. Nothing here has run on a GPU yet.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <string>

#include "algorithm.h"
#include "cuda_check.h"
#include "geometry.h"

// f16/bf16 widen to fp32 and round once; declared before the tile steps that call them.
namespace convx {
namespace dw {
__device__ inline float toAcc(__half v) { return __half2float(v); }
__device__ inline float toAcc(__nv_bfloat16 v) { return __bfloat162float(v); }
template <class Acc>
__device__ inline void fromAcc(__half* p, Acc v) { *p = __float2half_rn(float(v)); }
template <class Acc>
__device__ inline void fromAcc(__nv_bfloat16* p, Acc v) { *p = __float2bfloat16_rn(float(v)); }
}  // namespace dw
}  // namespace convx

#include "depthwise_tile.h"

namespace convx {

namespace {

using namespace dw;

template <class T>
struct AccOf {
    using type = float;
};
template <>
struct AccOf<double> {
    using type = double;
};

template <class T, class Acc, int KS, int KSTR>
__global__ void __launch_bounds__(kBlockThreads, KS > 0 ? 3 : 2)  // specialised: 76-78 registers, no spill
dwPlanes(const PlaneGeom G, const T* __restrict__ src, const T* __restrict__ w, T* __restrict__ dst, Acc alpha, Acc beta) {
    extern __shared__ __align__(16) unsigned char smRaw[];
    Acc* sm = reinterpret_cast<Acc*>(smRaw);
    const int tid = threadIdx.x;
    const ThreadPos t = threadPos(G, tid);
    const int64_t nSrc = G.bwd ? G.M : 1, nDst = G.bwd ? 1 : G.M;
    for (int64_t b = blockIdx.x; b < G.blocks; b += gridDim.x) {
        const TileOrigin o = tileOrigin(G, b);
        const int64_t c = dmin(o.plane0 + t.pb, G.planes - 1) % G.C;
        for (int64_t d = 0; d < nDst; ++d) {
            Acc acc[kV];
#pragma unroll
            for (int v = 0; v < kV; ++v) acc[v] = Acc(0);
            for (int64_t s = 0; s < nSrc; ++s) {
                const int64_t m = G.bwd ? s : d;
                if (G.bwd || d == 0) {
                    __syncthreads();  // the previous tile's readers are done
                    stage<T, Acc>(G, o, src, m, tid, int(blockDim.x), sm);
                    __syncthreads();
                }
                if (t.on) {
                    const int64_t k = c * G.M + m;
                    if (KS == 0 && G.phases) phasesCompute<T, Acc>(G, o, t, w, k, sm, acc);
                    else rowsCompute<T, Acc, KS, KSTR>(G, t, w, k, sm, acc);
                }
            }
            storeRow<T, Acc>(G, o, t, dst, d, acc, alpha, beta);
        }
    }
}

template <class T, class Acc, int CV, int KS>
__global__ void __launch_bounds__(kBlockThreads, 2)
dwChannels(const ChanGeom G, const T* __restrict__ src, const T* __restrict__ w, T* __restrict__ dst, Acc alpha, Acc beta) {
    extern __shared__ __align__(16) unsigned char smRaw[];
    Acc* wsm = reinterpret_cast<Acc*>(smRaw);
    const int tid = threadIdx.y * blockDim.x + threadIdx.x;
    for (int64_t by = blockIdx.y; by < G.gridY; by += gridDim.y) {
        __syncthreads();  // the previous slice's readers are done
        chanStageFilter<T, Acc>(G, w, by, tid, kBlockThreads, wsm);
        __syncthreads();
        for (int64_t bx = blockIdx.x; bx < G.gridX; bx += gridDim.x)
            if constexpr (KS > 0) chanRowThread<T, Acc, CV, KS>(G, src, wsm, dst, bx * G.PY + threadIdx.y, by * G.CTX + threadIdx.x, alpha, beta);
            else chanThread<T, Acc, CV>(G, src, w, wsm, dst, bx * G.PY + threadIdx.y, by * G.CTX + threadIdx.x, alpha, beta);
    }
}

template <class T, class Acc>
__global__ void __launch_bounds__(kBlockThreads, 2)
dwFilterPartial(const FilterGeom G, const T* __restrict__ x, const T* __restrict__ dy, Acc* __restrict__ partial) {
    __shared__ Acc red[kBlockThreads];
    const int tid = threadIdx.x, tc = tid % G.CT, tp = tid / G.CT;
    const int64_t KT = G.g.K * G.taps;
    const int64_t chunk = blockIdx.y;
    for (int64_t kt = blockIdx.x; kt < G.kTiles; kt += gridDim.x) {
        const int64_t k = kt * G.CT + tc;
        for (int64_t t0 = 0; t0 < G.taps; t0 += kFilterAcc) {
            Acc acc[kFilterAcc];
            filterThread<T, Acc>(G, x, dy, k, chunk, tp, t0, acc);
#pragma unroll
            for (int i = 0; i < kFilterAcc; ++i) {
                if (t0 + i >= G.taps) break;  // uniform over the block
                __syncthreads();  // the previous tap's tree is read
                red[tid] = acc[i];
                __syncthreads();
                for (int stride = G.PT / 2; stride > 0; stride /= 2) {
                    filterTreeStep(G, red, tc, tp, stride);
                    __syncthreads();
                }
                if (tp == 0 && k < G.g.K) partial[chunk * KT + k * G.taps + t0 + i] = red[tc];
            }
        }
    }
}

template <class T, class Acc>
__global__ void __launch_bounds__(kBlockThreads)
dwFilterReduce(const FilterGeom G, const Acc* __restrict__ partial, T* __restrict__ dw, Acc alpha, Acc beta) {
    const int64_t KT = G.g.K * G.taps;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < KT; e += int64_t(gridDim.x) * blockDim.x)
        filterReduce<T, Acc>(G, partial, dw, e, alpha, beta);
}

unsigned gridOf(int64_t blocks, int64_t cap = INT_MAX) { return unsigned(blocks < cap ? blocks : cap); }

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <class T>
void launchPlanes(PlaneGeom G, const T* src, const T* w, T* dst, Scale s, cudaStream_t stream) {
    using Acc = typename AccOf<T>::type;
    G.vec = aligned16(src);
    const unsigned grid = gridOf(G.blocks);
    const size_t shared = size_t(G.smemElems) * sizeof(Acc);
    const Acc alpha = Acc(s.alpha), beta = Acc(s.beta);
    const bool spec = !G.phases && G.dw == 1 && (G.S == 3 || G.S == 5) && (G.sw == 1 || G.sw == 2) && sizeof(T) != 8;
    if (!spec) {
        dwPlanes<T, Acc, 0, 0><<<grid, G.threads, shared, stream>>>(G, src, w, dst, alpha, beta);
    } else if constexpr (sizeof(T) != 8) {
        if (G.S == 3 && G.sw == 1) dwPlanes<T, Acc, 3, 1><<<grid, G.threads, shared, stream>>>(G, src, w, dst, alpha, beta);
        else if (G.S == 3) dwPlanes<T, Acc, 3, 2><<<grid, G.threads, shared, stream>>>(G, src, w, dst, alpha, beta);
        else if (G.sw == 1) dwPlanes<T, Acc, 5, 1><<<grid, G.threads, shared, stream>>>(G, src, w, dst, alpha, beta);
        else dwPlanes<T, Acc, 5, 2><<<grid, G.threads, shared, stream>>>(G, src, w, dst, alpha, beta);
    }
    cudaCheckLaunch("depthwise planes kernel launch");
}

template <class T>
void launchChannels(const Problem& p, const T* src, const T* w, T* dst, Scale s, cudaStream_t stream) {
    using Acc = typename AccOf<T>::type;
    constexpr int VE = 16 / sizeof(T);
    const Conv3d g = conv3dOf(p);
    const bool vec = chanVectors(g, p.dir == Direction::BackwardData, VE) && aligned16(src);
    ChanGeom G = chanGeom(p, vec ? VE : 1, int(sizeof(Acc)));
    // Forward 3x3 / 5x5 at W stride 1: the register-window form, kPX pixels per thread.
    // (Not 5x5 for f16/bf16: 8 channels x 8 input vectors + 32 accumulators spill.)
    int KS = 0;
    if (sizeof(T) != 8)
        for (int ks : {3, 5})
            if (chanRowFits(p, G, ks) && (ks == 3 || sizeof(T) == 4)) KS = ks;
    if (KS) G = chanGeom(p, VE, int(sizeof(Acc)), kPX);
    const dim3 block(unsigned(G.CTX), unsigned(G.PY));
    const dim3 grid(gridOf(G.gridX), gridOf(G.gridY, 65535));
    const size_t shared = size_t(G.wElems) * sizeof(Acc);
    const Acc alpha = Acc(s.alpha), beta = Acc(s.beta);
    if constexpr (sizeof(T) != 8) {
        if (KS == 3) dwChannels<T, Acc, VE, 3><<<grid, block, shared, stream>>>(G, src, w, dst, alpha, beta);
    }
    if constexpr (sizeof(T) == 4)
        if (KS == 5) dwChannels<T, Acc, VE, 5><<<grid, block, shared, stream>>>(G, src, w, dst, alpha, beta);
    if (KS == 0) {
        if (vec) dwChannels<T, Acc, VE, 0><<<grid, block, shared, stream>>>(G, src, w, dst, alpha, beta);
        else dwChannels<T, Acc, 1, 0><<<grid, block, shared, stream>>>(G, src, w, dst, alpha, beta);
    }
    cudaCheckLaunch("depthwise channels kernel launch");
}

template <class T>
void launchFilter(const Problem& p, const ExecContext& ctx, const Buffers& b, Scale s, cudaStream_t stream) {
    using Acc = typename AccOf<T>::type;
    const FilterGeom G = filterGeom(p);
    Acc* partial = static_cast<Acc*>(ctx.workspace);
    dwFilterPartial<T, Acc><<<dim3(gridOf(G.kTiles), unsigned(G.chunks)), kBlockThreads, 0, stream>>>(
        G, static_cast<const T*>(b.x), static_cast<const T*>(b.y), partial);
    cudaCheckLaunch("depthwise filter partial-sum kernel launch");
    const int64_t KT = G.g.K * G.taps;
    dwFilterReduce<T, Acc><<<gridOf((KT + kBlockThreads - 1) / kBlockThreads), kBlockThreads, 0, stream>>>(
        G, partial, static_cast<T*>(b.w), Acc(s.alpha), Acc(s.beta));
    cudaCheckLaunch("depthwise filter reduction kernel launch");
}

template <class T>
void runTyped(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) {
    using Acc = typename AccOf<T>::type;
    cudaStream_t stream = static_cast<cudaStream_t>(ctx.handle ? ctx.handle->stream : nullptr);
    if (p.dir == Direction::BackwardFilter) return launchFilter<T>(p, ctx, b, s, stream);
    const bool fwd = p.dir == Direction::Forward;
    const T* src = static_cast<const T*>(fwd ? b.x : b.y);
    T* dst = static_cast<T*>(fwd ? b.y : b.x);
    const T* w = static_cast<const T*>(b.w);
    PlaneGeom G;
    if (planesFit(p, int(sizeof(Acc)), &G)) launchPlanes<T>(G, src, w, dst, s, stream);
    else launchChannels<T>(p, src, w, dst, s, stream);
}

class CudaDepthwise final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_DEPTHWISE; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    unsigned directions() const override { return kAllDirections; }
    bool deterministic() const override { return true; }

    Applicability isApplicable(const Problem& p) const override {
        if (p.G != p.C) return Applicability::no("not depthwise (groups != input channels)");
        if (p.dir == Direction::BackwardFilter && filterGeom(p).chunks > 65535)
            return Applicability::no("more than 65535 reduction chunks");  // cannot happen: at most 2048
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem& p) const override {
        if (p.dir != Direction::BackwardFilter) return 0;
        const size_t acc = p.dtype == DType::F64 ? sizeof(double) : sizeof(float);
        return size_t(filterWorkspaceElems(filterGeom(p))) * acc;
    }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        switch (p.dtype) {
            case DType::F32: runTyped<float>(ctx, p, b, s); break;
            case DType::F64: runTyped<double>(ctx, p, b, s); break;
            case DType::F16: runTyped<__half>(ctx, p, b, s); break;
            case DType::BF16: runTyped<__nv_bfloat16>(ctx, p, b, s); break;
        }
    }
};

}  // namespace

const Algorithm* cudaDepthwiseAlgorithm() {
    static const CudaDepthwise a;
    return &a;
}

}  // namespace convx
