// CONVX_ALGO_DIRECT_COALESCED on the GPU: a direct forward convolution with no data
// transformation and no workspace (cuConv, SEEDS.md section 1), with register tiling over
// output channels and the filter slice staged in shared memory.
//
// Block tile: BP outputs (batch and pixels flattened) x BK output channels of one group
// (src/direct_coalesced_plan.h). Channels-first x: consecutive lanes own consecutive output
// pixels, so for a fixed (c, tap) they read consecutive input addresses along W, and every
// lane of a warp reads the same staged filter value (a shared-memory broadcast); each thread
// keeps KT output channels in registers, so one input load feeds KT FMAs (the paper re-reads
// the input once per output channel). Channels-last x: lanes own consecutive output channels
// (consecutive y addresses, the input value a broadcast) and each thread PT pixels.
// Per shared-memory stage of CS input channels, the loop runs tap by tap (the paper's per-(r,s)
// first stage, with the partial sums kept in registers instead of a second pass): the bounds
// test of a tap is worked out once and serves CS channels. A 1x1 window without padding takes
// the single-stage path with no tap loop and no test. The per-thread code lives in
// src/direct_coalesced_tile.h, host-and-device, so the unit tests run it on the host.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <atomic>
#include <climits>

#include "algorithm.h"
#include "cuda_check.h"
#include "direct_coalesced_plan.h"

namespace convx {

namespace {

template <class T>
struct AccOf {
    using type = float;  // f32, f16 and bf16 accumulate in fp32
};
template <>
struct AccOf<double> {
    using type = double;
};

// The 16-bit types widen to fp32 and round once from it; declared before the tile header so
// its templates find them.
CONVX_DC_HD inline float dcWiden(__half v) { return __half2float(v); }
CONVX_DC_HD inline float dcWiden(__nv_bfloat16 v) { return __bfloat162float(v); }
CONVX_DC_HD inline void dcNarrow(__half* p, float v) { *p = __float2half_rn(v); }
CONVX_DC_HD inline void dcNarrow(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

}  // namespace

}  // namespace convx

#include "direct_coalesced_tile.h"

namespace convx {

namespace {

template <class T, int PT, int KT, bool Pointwise>
__global__ void directCoalescedForward(Conv3d g, DcGpuPlan pl, const T* __restrict__ x, const T* __restrict__ w,
                                       T* __restrict__ y, typename AccOf<T>::type alpha, typename AccOf<T>::type beta) {
    using A = typename AccOf<T>::type;
    extern __shared__ double sharedRaw[];  // double: aligned for every accumulator type
    A* sw = reinterpret_cast<A*>(sharedRaw);
    for (int64_t blk = blockIdx.x; blk < pl.blocks; blk += gridDim.x) {
        const DcBlockTile bt = dcBlockTile(pl, blk);
        DcThread<A, T, PT, KT> th;
        th.begin(g, pl, bt, threadIdx.x);
        for (int64_t c0 = 0; c0 < g.Cg; c0 += pl.CS) {
            const int64_t cs = pl.CS < g.Cg - c0 ? pl.CS : g.Cg - c0;
            __syncthreads();  // the previous stage's (or block's) readers are done
            dcStageFilter(g, pl, bt, w, sw, c0, cs, threadIdx.x, blockDim.x);
            __syncthreads();
            th.template stage<Pointwise>(g, pl, x, sw, c0, cs);
        }
        th.store(g, bt, y, alpha, beta);
    }
}

template <class T, int PT, int KT>
void launchTile(const Conv3d& g, const DcGpuPlan& pl, const Buffers& b, Scale s, cudaStream_t stream) {
    using A = typename AccOf<T>::type;
    const unsigned grid = static_cast<unsigned>(pl.blocks < int64_t(INT_MAX) ? pl.blocks : int64_t(INT_MAX));
    const T* x = static_cast<const T*>(b.x);
    const T* w = static_cast<const T*>(b.w);
    T* y = static_cast<T*>(b.y);
    if (pl.variant == DcVariant::Pointwise)
        directCoalescedForward<T, PT, KT, true><<<grid, pl.threads(), pl.sharedBytes, stream>>>(g, pl, x, w, y, A(s.alpha), A(s.beta));
    else
        directCoalescedForward<T, PT, KT, false><<<grid, pl.threads(), pl.sharedBytes, stream>>>(g, pl, x, w, y, A(s.alpha), A(s.beta));
    cudaCheckLaunch("direct_coalesced forward kernel launch");
}

template <class T>
void launchTyped(const Conv3d& g, const DcGpuPlan& pl, const Buffers& b, Scale s, cudaStream_t stream) {
    if (pl.PT == 1) {
        switch (pl.KT) {
            case 8: return launchTile<T, 1, 8>(g, pl, b, s, stream);
            case 4: return launchTile<T, 1, 4>(g, pl, b, s, stream);
            case 2: return launchTile<T, 1, 2>(g, pl, b, s, stream);
            default: return launchTile<T, 1, 1>(g, pl, b, s, stream);
        }
    }
    if (pl.PT == 4) return launchTile<T, 4, 1>(g, pl, b, s, stream);
    return launchTile<T, 2, 1>(g, pl, b, s, stream);
}

// The device's SM count sizes the plan; cached per device, since a batch-1 call is a few
// microseconds of GPU time and the query would be a visible share of its host time.
int smCount(const ExecContext& ctx) {
    int dev = ctx.handle ? ctx.handle->device : -1;
    if (dev < 0) cudaCheck(cudaGetDevice(&dev), "cudaGetDevice");
    static std::atomic<int> cached[64];  // zero until queried
    if (dev >= 0 && dev < 64) {
        const int v = cached[dev].load(std::memory_order_relaxed);
        if (v > 0) return v;
    }
    int sms = 0;
    cudaCheck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute(MultiProcessorCount)");
    if (sms <= 0) sms = kDcDefaultSMs;
    if (dev >= 0 && dev < 64) cached[dev].store(sms, std::memory_order_relaxed);
    return sms;
}

class CudaDirectCoalesced final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_DIRECT_COALESCED; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    unsigned directions() const override { return dirBit(Direction::Forward); }
    Applicability isApplicable(const Problem& p) const override {
        std::string why;
        if (!dcGpuFits(p, &why)) return Applicability::no(why);
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        cudaStream_t stream = static_cast<cudaStream_t>(ctx.handle ? ctx.handle->stream : nullptr);
        DcGpuPlan pl = planDcGpu(p, smCount(ctx));
        if (pl.sharedBytes > kDcSharedMax) pl = planDcGpu(p);  // the plan isApplicable checked
        const Conv3d g = conv3dOf(p);
        switch (p.dtype) {
            case DType::F32: launchTyped<float>(g, pl, b, s, stream); break;
            case DType::F64: launchTyped<double>(g, pl, b, s, stream); break;
            case DType::F16: launchTyped<__half>(g, pl, b, s, stream); break;
            case DType::BF16: launchTyped<__nv_bfloat16>(g, pl, b, s, stream); break;
        }
    }
};

}  // namespace

const Algorithm* cudaDirectCoalescedAlgorithm() {
    static const CudaDirectCoalesced a;
    return &a;
}

}  // namespace convx
