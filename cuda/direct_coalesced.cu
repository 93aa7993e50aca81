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
// the single-stage path with no tap loop and no test.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

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

__device__ inline float widen(float v) { return v; }
__device__ inline double widen(double v) { return v; }
__device__ inline float widen(__half v) { return __half2float(v); }
__device__ inline float widen(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ inline void narrow(float* p, float v) { *p = v; }
__device__ inline void narrow(double* p, double v) { *p = v; }
__device__ inline void narrow(__half* p, float v) { *p = __float2half_rn(v); }
__device__ inline void narrow(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

template <class T, int PT, int KT, bool Pointwise>
__global__ void directCoalescedForward(Conv3d g, DcGpuPlan pl, const T* __restrict__ x, const T* __restrict__ w,
                                       T* __restrict__ y, typename AccOf<T>::type alpha, typename AccOf<T>::type beta) {
    using A = typename AccOf<T>::type;
    extern __shared__ double sharedRaw[];  // double: aligned for every accumulator type
    A* sw = reinterpret_cast<A*>(sharedRaw);

    const int tid = threadIdx.x;
    const int nthreads = blockDim.x;
    int pixIdx = 0, kIdx = 0;
    dcThreadIndex(pl, tid, &pixIdx, &kIdx);
    const int64_t taps = g.taps;
    const int64_t stride = pl.sharedStride;

    for (int64_t blk = blockIdx.x; blk < pl.blocks; blk += gridDim.x) {
        const DcBlockTile bt = dcBlockTile(pl, blk);
        const int64_t cFirst = bt.grp * g.Cg;

        // This thread's output pixels: input coordinates of tap (0,0,0) and output offsets.
        bool live[PT];
        int64_t xn[PT], yo[PT], b0[PT], b1[PT], b2[PT];
#pragma unroll
        for (int j = 0; j < PT; ++j) {
            const int64_t m = bt.m0 + int64_t(pixIdx) * PT + j;
            live[j] = m < pl.M;
            const int64_t mm = live[j] ? m : 0;
            const int64_t n = mm / g.outPix, pix = mm % g.outPix;
            const int64_t o2 = pix % g.O[2], o1 = (pix / g.O[2]) % g.O[1], o0 = pix / (g.O[2] * g.O[1]);
            b0[j] = o0 * g.S[0] - g.P[0];
            b1[j] = o1 * g.S[1] - g.P[1];
            b2[j] = o2 * g.S[2] - g.P[2];
            xn[j] = n * g.xs[0] + cFirst * g.xs[1];
            yo[j] = n * g.ys[0] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4];
        }
        // Pointwise: the one tap's offset never leaves the input (no padding, one tap).
        int64_t pwOff[PT];
#pragma unroll
        for (int j = 0; j < PT; ++j) pwOff[j] = live[j] ? xn[j] + b0[j] * g.xs[2] + b1[j] * g.xs[3] + b2[j] * g.xs[4] : -1;

        A acc[PT][KT];
#pragma unroll
        for (int j = 0; j < PT; ++j)
#pragma unroll
            for (int i = 0; i < KT; ++i) acc[j][i] = A(0);

        for (int64_t c0 = 0; c0 < g.Cg; c0 += pl.CS) {
            const int64_t cs = pl.CS < g.Cg - c0 ? pl.CS : g.Cg - c0;
            __syncthreads();  // the previous stage's readers are done
            // Stage w[k0 .. k0+BK) x [c0 .. c0+cs) x taps as sw[(cc*taps + t) * stride + kk].
            // Consecutive threads take consecutive (cc, t) of one k: consecutive filter
            // addresses for a packed K x C x R x S filter; stride is odd, so their shared
            // stores land in distinct banks.
            // 32-bit index math: a stage holds at most kDcSharedMax bytes.
            const int tapsI = int(taps), r2 = int(g.R[2]), r12 = int(g.R[1] * g.R[2]);
            const int perK = int(cs) * tapsI;
            const int total = perK * int(pl.BK);
            const T* wBlock = w + (bt.grp * g.Kg + bt.k0) * g.ws[0] + c0 * g.ws[1];
            for (int e = tid; e < total; e += nthreads) {
                const int kk = e / perK, jt = e - kk * perK;
                const int cc = jt / tapsI, t = jt - cc * tapsI;
                int ta = t / r12, tb = (t / r2) % int(g.R[1]), te = t % r2;
                if (g.flip) ta = int(g.R[0]) - 1 - ta, tb = int(g.R[1]) - 1 - tb, te = r2 - 1 - te;
                A v = A(0);
                if (bt.k0 + kk < g.Kg)
                    v = widen(wBlock[kk * g.ws[0] + cc * g.ws[1] + ta * g.ws[2] + tb * g.ws[3] + te * g.ws[4]]);
                sw[int64_t(jt) * stride + kk] = v;
            }
            __syncthreads();
            const A* swk = sw + int64_t(kIdx) * KT;
            const int64_t cStep = g.xs[1];
            const int64_t sStep = taps * stride;  // shared words from one channel to the next
            if (Pointwise) {
                const T* xp[PT];
#pragma unroll
                for (int j = 0; j < PT; ++j) xp[j] = x + (pwOff[j] >= 0 ? pwOff[j] + c0 * cStep : 0);
                const A* sp = swk;
                for (int64_t cc = 0; cc < cs; ++cc, sp += sStep) {
                    A xv[PT], wv[KT];
#pragma unroll
                    for (int j = 0; j < PT; ++j) xv[j] = pwOff[j] >= 0 ? widen(xp[j][cc * cStep]) : A(0);
#pragma unroll
                    for (int i = 0; i < KT; ++i) wv[i] = sp[i];
#pragma unroll
                    for (int j = 0; j < PT; ++j)
#pragma unroll
                        for (int i = 0; i < KT; ++i) acc[j][i] += xv[j] * wv[i];
                }
            } else {
                int64_t t = 0;
                for (int64_t a = 0; a < g.R[0]; ++a)
                    for (int64_t b = 0; b < g.R[1]; ++b)
                        for (int64_t e = 0; e < g.R[2]; ++e, ++t) {
                            // The tap's bounds test, once for the whole stage of channels.
                            const T* xp[PT];
                            bool in[PT];
                            bool any = false;
#pragma unroll
                            for (int j = 0; j < PT; ++j) {
                                const int64_t i0 = b0[j] + a * g.D[0], i1 = b1[j] + b * g.D[1], i2 = b2[j] + e * g.D[2];
                                in[j] = live[j] && i0 >= 0 && i0 < g.I[0] && i1 >= 0 && i1 < g.I[1] && i2 >= 0 && i2 < g.I[2];
                                xp[j] = x + (in[j] ? xn[j] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4] + c0 * cStep : 0);
                                any = any || in[j];
                            }
                            if (!any) continue;  // no barrier inside: this divergence is safe
                            const A* sp = swk + t * stride;
                            for (int64_t cc = 0; cc < cs; ++cc, sp += sStep) {
                                A xv[PT], wv[KT];
#pragma unroll
                                for (int j = 0; j < PT; ++j) xv[j] = in[j] ? widen(xp[j][cc * cStep]) : A(0);
#pragma unroll
                                for (int i = 0; i < KT; ++i) wv[i] = sp[i];
#pragma unroll
                                for (int j = 0; j < PT; ++j)
#pragma unroll
                                    for (int i = 0; i < KT; ++i) acc[j][i] += xv[j] * wv[i];
                            }
                        }
            }
        }

        // y = alpha * acc + beta * y; beta == 0 never reads y. Lanes over pixels write
        // consecutive W addresses (channels-first y); lanes over channels consecutive C ones.
#pragma unroll
        for (int j = 0; j < PT; ++j) {
            if (!live[j]) continue;
#pragma unroll
            for (int i = 0; i < KT; ++i) {
                const int64_t k = bt.k0 + int64_t(kIdx) * KT + i;
                if (k >= g.Kg) continue;
                T* dst = y + yo[j] + (bt.grp * g.Kg + k) * g.ys[1];
                A v = alpha * acc[j][i];
                if (beta != A(0)) v += beta * widen(*dst);
                narrow(dst, v);
            }
        }
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

int smCount(const ExecContext& ctx) {
    int dev = ctx.handle ? ctx.handle->device : -1;
    if (dev < 0) cudaCheck(cudaGetDevice(&dev), "cudaGetDevice");
    int sms = 0;
    cudaCheck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute(MultiProcessorCount)");
    return sms > 0 ? sms : kDcDefaultSMs;
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
