// The CUDA GCONV engine (gconv.h) and CONVX_ALGO_GCONV on the CUDA backend.
//
// Two kernels, both templates over the storage type, the map and reduce functors
// (src/gconv_ops.h) and the treatment of padded taps, so (MUL, SUM) is a plain multiply-add:
//
//   tiled   convolutions with >= 32 output channels per group. A block owns 64 flattened
//           outputs (batch x pixels) x 64 output channels of one group, 16 x 16 threads with a
//           4 x 4 register tile each. Per stage of CS input channels the block stages the input
//           window of its 64 outputs (im2col of the stage, pre-op applied once per staged
//           element, padded taps as the pad value or marked invalid) and the 64-channel filter
//           slice in shared memory, then every thread does CS x taps x 16 FMAs from shared
//           memory. Lanes run over pixels for channels-first y (coalesced stores, the filter
//           read a broadcast) and over channels for channels-last y. Staging reads x along
//           its unit stride (pixels or channels) so the global loads coalesce.
//   direct  everything else (pooling, depthwise, small channel multipliers, huge windows): one
//           thread per output, lanes over channels when y is channels-last (coalesced, the
//           NHWC pooling case) and over pixels otherwise; x and w read through L1/L2.
//
// Both finish in the same epilogue: MEAN's count of valid taps, the affine, z, the post-op,
// alpha/beta (beta == 0 never reads y). No workspace, no atomics: every output is summed by
// one thread in a fixed order. Runs on the handle's stream and does not synchronise.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>

#include "algorithm.h"
#include "cuda_check.h"
#include "error.h"
#include "gconv_engine.h"
#include "gconv_ops.h"
#include "geometry.h"

namespace convx {

namespace {

enum class PadMode { Zero, Value, Skip };  // padded taps: add nothing / map(padValue) / leave acc

template <class T>
struct AccOf {
    using type = float;  // f32, f16 and bf16 accumulate in fp32
};
template <>
struct AccOf<double> {
    using type = double;
};

__device__ inline float ld(const float* p, int64_t i) { return p[i]; }
__device__ inline double ld(const double* p, int64_t i) { return p[i]; }
__device__ inline float ld(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ inline float ld(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ inline void st(float* p, int64_t i, float v) { p[i] = v; }
__device__ inline void st(double* p, int64_t i, double v) { p[i] = v; }
__device__ inline void st(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }
__device__ inline void st(__nv_bfloat16* p, int64_t i, float v) { p[i] = __float2bfloat16_rn(v); }

// Everything a kernel needs, by value (trivially copyable).
template <class T, class A>
struct Params {
    Conv3d g;
    const T* x;
    const T* w;
    const T* z;
    T* y;
    const float* preScale;
    const float* preShift;
    const float* postScale;
    const float* postShift;
    int64_t zs[5];  // z strides, 3-D form
    GReduce reduce;
    bool preAffine, postAffine;
    GUnary pre, post;
    GCombine combine;
    A preParam, postParam, padValue, alpha, beta;
    bool kFastest;  // direct: consecutive threads take consecutive output channels
};

// pre(scale * x + shift) of input channel c.
template <class T, class A>
__device__ inline A preOp(const Params<T, A>& p, A v, int64_t c) {
    if (p.preAffine) {
        const A sc = p.preScale ? A(p.preScale[c]) : A(1), sh = p.preShift ? A(p.preShift[c]) : A(0);
        v = sc * v + sh;
    }
    if (p.pre != GUnary::Identity) v = gconvUnary<A>(p.pre, v, p.preParam);
    return v;
}

// Number of valid taps of output (o0, o1, o2) (MEAN's divisor per input channel).
__device__ inline int64_t validTaps(const Conv3d& g, int64_t o0, int64_t o1, int64_t o2) {
    return gconvValidTaps1d(o0, g.I[0], g.R[0], g.S[0], g.P[0], g.D[0]) * gconvValidTaps1d(o1, g.I[1], g.R[1], g.S[1], g.P[1], g.D[1]) *
           gconvValidTaps1d(o2, g.I[2], g.R[2], g.S[2], g.P[2], g.D[2]);
}

// The epilogue of output (n, k, o0, o1, o2); `counted` = (channel, tap) pairs that took part.
template <class T, class A>
__device__ inline void finish(const Params<T, A>& p, A acc, int64_t counted, int64_t n, int64_t k, int64_t o0, int64_t o1, int64_t o2) {
    const Conv3d& g = p.g;
    A v = acc;
    if (p.reduce == GReduce::Mean) v = counted ? v / A(counted) : A(0);
    else if (p.reduce != GReduce::Sum) v = counted ? v : A(0);  // a window without a valid tap
    if (p.postAffine) {
        const A sc = p.postScale ? A(p.postScale[k]) : A(1), sh = p.postShift ? A(p.postShift[k]) : A(0);
        v = sc * v + sh;
    }
    if (p.combine != GCombine::None) {
        const A zv = ld(p.z, n * p.zs[0] + k * p.zs[1] + o0 * p.zs[2] + o1 * p.zs[3] + o2 * p.zs[4]);
        v = p.combine == GCombine::Add ? v + zv : v * zv;
    }
    if (p.post != GUnary::Identity) v = gconvUnary<A>(p.post, v, p.postParam);
    const int64_t yi = n * g.ys[0] + k * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4];
    A out = p.alpha * v;
    if (p.beta != A(0)) out += p.beta * ld(p.y, yi);
    st(p.y, yi, out);
}

// ------------------------------------------------------------------ direct kernel

template <class T, class A, class M, class R, PadMode PM>
__global__ void __launch_bounds__(256) gconvDirect(const Params<T, A> p) {
    const Conv3d& g = p.g;
    constexpr bool pass = std::is_same<M, MapPass>::value;
    const int64_t total = g.N * g.K * g.outPix;
    for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
        int64_t k, pix, n;
        if (p.kFastest) {
            k = idx % g.K;
            const int64_t r = idx / g.K;
            pix = r % g.outPix, n = r / g.outPix;
        } else {
            pix = idx % g.outPix;
            const int64_t r = idx / g.outPix;
            k = r % g.K, n = r / g.K;
        }
        const int64_t o2 = pix % g.O[2], o1 = (pix / g.O[2]) % g.O[1], o0 = pix / (g.O[2] * g.O[1]);
        const int64_t grp = k / g.Kg;
        A acc = R::template init<A>();
        int64_t counted = 0;
        for (int64_t c = 0; c < g.Cg; ++c) {
            const int64_t cAbs = grp * g.Cg + c;
            const T* xc = p.x + n * g.xs[0] + cAbs * g.xs[1];
            int64_t t = 0;
            for (int64_t a0 = 0; a0 < g.R[0]; ++a0) {
                const int64_t i0 = o0 * g.S[0] - g.P[0] + a0 * g.D[0];
                const bool in0 = i0 >= 0 && i0 < g.I[0];
                for (int64_t a1 = 0; a1 < g.R[1]; ++a1) {
                    const int64_t i1 = o1 * g.S[1] - g.P[1] + a1 * g.D[1];
                    const bool in1 = in0 && i1 >= 0 && i1 < g.I[1];
                    for (int64_t a2 = 0; a2 < g.R[2]; ++a2, ++t) {
                        const int64_t i2 = o2 * g.S[2] - g.P[2] + a2 * g.D[2];
                        const bool valid = in1 && i2 >= 0 && i2 < g.I[2];
                        A v;
                        if (valid) {
                            v = preOp(p, ld(xc, i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4]), cAbs);
                            ++counted;
                        } else if (PM == PadMode::Value) {
                            v = p.padValue;
                        } else {
                            continue;
                        }
                        A wv = A(0);
                        if (!pass) {
                            int64_t b0 = a0, b1 = a1, b2 = a2;
                            if (g.flip) b0 = g.R[0] - 1 - a0, b1 = g.R[1] - 1 - a1, b2 = g.R[2] - 1 - a2;
                            wv = ld(p.w, k * g.ws[0] + c * g.ws[1] + b0 * g.ws[2] + b1 * g.ws[3] + b2 * g.ws[4]);
                        }
                        acc = R::apply(acc, M::apply(v, wv));
                    }
                }
            }
        }
        finish(p, acc, counted, n, k, o0, o1, o2);
    }
}

// ------------------------------------------------------------------ tiled kernel

constexpr int kBM = 64, kBK = 64, kBKP = kBK + 1;  // block tile; the filter rows padded: distinct banks
constexpr int kTPT = 4, kTKT = 4;                 // per thread: pixels x channels
constexpr int kThreads = 256;                      // 16 x 16
constexpr size_t kSharedBudget = 32 * 1024;        // per block, leaves room for several per SM

template <class T, class A, class M, class R, PadMode PM>
__global__ void __launch_bounds__(kThreads) gconvTiled(const Params<T, A> p, int64_t CS, int64_t mBlocks, int64_t kBlocks, bool lanesOverK) {
    extern __shared__ unsigned char smem[];
    const Conv3d& g = p.g;
    const int64_t taps = g.taps;
    const int64_t rowsMax = CS * taps;
    A* xSh = reinterpret_cast<A*>(smem);                          // [rowsMax][kBM]
    A* wSh = xSh + rowsMax * kBM;                                  // [rowsMax][kBKP]
    unsigned char* vSh = reinterpret_cast<unsigned char*>(wSh + rowsMax * kBKP);  // [rowsMax][kBM], Skip only
    __shared__ int64_t pixX[kBM], pixB0[kBM], pixB1[kBM], pixB2[kBM];  // x offset of (n), origin of the window
    __shared__ bool pixLive[kBM];

    const int tid = threadIdx.x;
    const int lane16 = tid % 16, row16 = tid / 16;
    const int pxT = lanesOverK ? row16 : lane16, kT = lanesOverK ? lane16 : row16;
    const int64_t M_ = g.N * g.outPix;
    const int64_t blocks = mBlocks * g.G * kBlocks;
    const bool xChannelsLast = g.xs[1] == 1 && g.C > 1;

    for (int64_t blk = blockIdx.x; blk < blocks; blk += gridDim.x) {
        const int64_t mb = blk % mBlocks, q = blk / mBlocks;
        const int64_t kb = q % kBlocks, grp = q / kBlocks;
        const int64_t m0 = mb * kBM, k0 = kb * kBK;
        __syncthreads();  // the previous tile's readers are done with the shared arrays
        if (tid < kBM) {
            const int64_t m = m0 + tid;
            const bool live = m < M_;
            const int64_t mm = live ? m : M_ - 1;
            const int64_t n = mm / g.outPix, pix = mm % g.outPix;
            const int64_t o2 = pix % g.O[2], o1 = (pix / g.O[2]) % g.O[1], o0 = pix / (g.O[2] * g.O[1]);
            pixX[tid] = n * g.xs[0];
            pixB0[tid] = o0 * g.S[0] - g.P[0];
            pixB1[tid] = o1 * g.S[1] - g.P[1];
            pixB2[tid] = o2 * g.S[2] - g.P[2];
            pixLive[tid] = live;
        }
        A acc[kTPT][kTKT];
#pragma unroll
        for (int i = 0; i < kTPT; ++i)
#pragma unroll
            for (int j = 0; j < kTKT; ++j) acc[i][j] = R::template init<A>();

        for (int64_t c0 = 0; c0 < g.Cg; c0 += CS) {
            const int64_t cs = min(CS, g.Cg - c0);
            const int64_t rows = cs * taps;
            __syncthreads();  // pix* written; the previous stage's readers are done
            // Stage x: element (cc, t, lm); the index runs fastest along x's unit stride.
            const int64_t xTotal = rows * kBM;
            for (int64_t e = tid; e < xTotal; e += kThreads) {
                int64_t cc, t, lm;
                if (xChannelsLast) cc = e % cs, t = (e / cs) % taps, lm = e / (cs * taps);
                else lm = e % kBM, t = (e / kBM) % taps, cc = e / (kBM * taps);
                const int64_t a2 = t % g.R[2], a1 = (t / g.R[2]) % g.R[1], a0 = t / (g.R[2] * g.R[1]);
                const int64_t i0 = pixB0[lm] + a0 * g.D[0], i1 = pixB1[lm] + a1 * g.D[1], i2 = pixB2[lm] + a2 * g.D[2];
                const bool valid = pixLive[lm] && i0 >= 0 && i0 < g.I[0] && i1 >= 0 && i1 < g.I[1] && i2 >= 0 && i2 < g.I[2];
                const int64_t cAbs = grp * g.Cg + c0 + cc;
                A v = PM == PadMode::Value ? p.padValue : A(0);
                if (valid) v = preOp(p, ld(p.x, pixX[lm] + cAbs * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4]), cAbs);
                const int64_t row = cc * taps + t;
                xSh[row * kBM + lm] = v;
                if (PM == PadMode::Skip) vSh[row * kBM + lm] = valid ? 1 : 0;
            }
            // Stage w: element (kl, cc, t), (cc, t) fastest: consecutive addresses of a K x C x taps filter.
            const int64_t wTotal = rows * kBK;
            for (int64_t e = tid; e < wTotal; e += kThreads) {
                const int64_t ct = e % rows, kl = e / rows;
                const int64_t cc = ct / taps, t = ct % taps;
                A v = A(0);
                if (k0 + kl < g.Kg) {
                    int64_t a2 = t % g.R[2], a1 = (t / g.R[2]) % g.R[1], a0 = t / (g.R[2] * g.R[1]);
                    if (g.flip) a0 = g.R[0] - 1 - a0, a1 = g.R[1] - 1 - a1, a2 = g.R[2] - 1 - a2;
                    const int64_t k = grp * g.Kg + k0 + kl;
                    v = ld(p.w, k * g.ws[0] + (c0 + cc) * g.ws[1] + a0 * g.ws[2] + a1 * g.ws[3] + a2 * g.ws[4]);
                }
                wSh[ct * kBKP + kl] = v;
            }
            __syncthreads();
            for (int64_t row = 0; row < rows; ++row) {
                A xv[kTPT], wv[kTKT];
#pragma unroll
                for (int i = 0; i < kTPT; ++i) xv[i] = xSh[row * kBM + pxT + 16 * i];
#pragma unroll
                for (int j = 0; j < kTKT; ++j) wv[j] = wSh[row * kBKP + kT + 16 * j];
                if (PM == PadMode::Skip) {
#pragma unroll
                    for (int i = 0; i < kTPT; ++i) {
                        const bool ok = vSh[row * kBM + pxT + 16 * i] != 0;
#pragma unroll
                        for (int j = 0; j < kTKT; ++j) {
                            const A u = R::apply(acc[i][j], M::apply(xv[i], wv[j]));
                            acc[i][j] = ok ? u : acc[i][j];
                        }
                    }
                } else {
#pragma unroll
                    for (int i = 0; i < kTPT; ++i)
#pragma unroll
                        for (int j = 0; j < kTKT; ++j) acc[i][j] = R::apply(acc[i][j], M::apply(xv[i], wv[j]));
                }
            }
        }
#pragma unroll
        for (int i = 0; i < kTPT; ++i) {
            const int64_t m = m0 + pxT + 16 * i;
            if (m >= M_) continue;
            const int64_t n = m / g.outPix, pix = m % g.outPix;
            const int64_t o2 = pix % g.O[2], o1 = (pix / g.O[2]) % g.O[1], o0 = pix / (g.O[2] * g.O[1]);
            const int64_t counted = p.reduce == GReduce::Sum ? 0 : g.Cg * validTaps(g, o0, o1, o2);
#pragma unroll
            for (int j = 0; j < kTKT; ++j) {
                const int64_t kl = k0 + kT + 16 * j;
                if (kl < g.Kg) finish(p, acc[i][j], counted, n, grp * g.Kg + kl, o0, o1, o2);
            }
        }
    }
}

// ------------------------------------------------------------------ launch

unsigned gridFor(int64_t items, int64_t perBlock) {
    const int64_t blocks = (items + perBlock - 1) / perBlock;
    return static_cast<unsigned>(std::min<int64_t>(blocks, INT_MAX));  // grid-stride loops cover the rest
}

PadMode padModeOf(const GconvOps& op) {
    if (op.reduce != GReduce::Sum) return PadMode::Skip;
    return (op.padValue == 0.f && op.map != GMap::Add) ? PadMode::Zero : PadMode::Value;
}

// Stage channels of the tiled kernel (0: it does not fit, take the direct kernel).
int64_t tiledStage(const Conv3d& g, size_t accBytes, bool skip) {
    const size_t perRow = (kBM + kBKP) * accBytes + (skip ? kBM : 0);
    const int64_t rows = int64_t(kSharedBudget / perRow);
    if (rows < g.taps) return 0;
    return std::max<int64_t>(1, std::min<int64_t>(g.Cg, rows / g.taps));
}

bool useTiled(const GconvProblem& gp) { return gp.ops.map != GMap::Pass && gp.conv.Kg() >= 32; }

template <class T, class M, class R, PadMode PM>
void launchKernel(const Params<T, typename AccOf<T>::type>& p, const GconvProblem& gp, cudaStream_t stream) {
    using A = typename AccOf<T>::type;
    const Conv3d& g = p.g;
    const int64_t CS = useTiled(gp) && !std::is_same<M, MapPass>::value ? tiledStage(g, sizeof(A), PM == PadMode::Skip) : 0;
    if (CS > 0) {
        const int64_t mBlocks = (g.N * g.outPix + kBM - 1) / kBM, kBlocks = (g.Kg + kBK - 1) / kBK;
        const size_t shared = size_t(CS * g.taps) * ((kBM + kBKP) * sizeof(A) + (PM == PadMode::Skip ? kBM : 0));
        const bool lanesOverK = g.ys[1] == 1 && g.K > 1;
        gconvTiled<T, A, M, R, PM><<<gridFor(mBlocks * g.G * kBlocks, 1), kThreads, shared, stream>>>(p, CS, mBlocks, kBlocks, lanesOverK);
        cudaCheckLaunch("gconv tiled kernel launch");
    } else {
        gconvDirect<T, A, M, R, PM><<<gridFor(g.N * g.K * g.outPix, 256), 256, 0, stream>>>(p);
        cudaCheckLaunch("gconv direct kernel launch");
    }
}

template <class T, class M>
void launchReduce(const Params<T, typename AccOf<T>::type>& p, const GconvProblem& gp, cudaStream_t stream) {
    const PadMode pm = padModeOf(gp.ops);
    switch (gp.ops.reduce) {
        case GReduce::Max: return launchKernel<T, M, RedMax, PadMode::Skip>(p, gp, stream);
        case GReduce::Min: return launchKernel<T, M, RedMin, PadMode::Skip>(p, gp, stream);
        case GReduce::Mean: return launchKernel<T, M, RedSum, PadMode::Skip>(p, gp, stream);
        case GReduce::Sum:
            if (pm == PadMode::Zero && !std::is_same<M, MapAdd>::value) return launchKernel<T, M, RedSum, PadMode::Zero>(p, gp, stream);
            return launchKernel<T, M, RedSum, PadMode::Value>(p, gp, stream);
    }
}

template <class T>
void forwardTyped(const ExecContext& ctx, const GconvProblem& gp, const GconvArgs& a, Scale s) {
    using A = typename AccOf<T>::type;
    const GconvOps& op = gp.ops;
    Params<T, A> p{};
    p.g = conv3dOf(gp.conv);
    p.x = static_cast<const T*>(a.x);
    p.w = static_cast<const T*>(a.w);
    p.z = static_cast<const T*>(a.z);
    p.y = static_cast<T*>(a.y);
    p.preScale = a.preScale, p.preShift = a.preShift, p.postScale = a.postScale, p.postShift = a.postShift;
    const int lead = 3 - gp.conv.nsp;
    for (int i = 0; i < 5; ++i) p.zs[i] = 0;
    if (op.combine != GCombine::None) {
        p.zs[0] = gp.zStrides[0], p.zs[1] = gp.zStrides[1];
        for (int i = 0; i < gp.conv.nsp; ++i) p.zs[2 + lead + i] = gp.zStrides[2 + i];
    }
    p.reduce = op.reduce;
    p.preAffine = op.preAffine, p.postAffine = op.postAffine;
    p.pre = op.pre, p.post = op.post, p.combine = op.combine;
    p.preParam = A(op.preParam), p.postParam = A(op.postParam), p.padValue = A(op.padValue);
    p.alpha = A(s.alpha), p.beta = A(s.beta);
    p.kFastest = p.g.ys[1] == 1 && p.g.K > 1;
    cudaStream_t stream = static_cast<cudaStream_t>(ctx.handle ? ctx.handle->stream : nullptr);
    switch (op.map) {
        case GMap::Mul: return launchReduce<T, MapMul>(p, gp, stream);
        case GMap::Add: return launchReduce<T, MapAdd>(p, gp, stream);
        case GMap::Pass: return launchReduce<T, MapPass>(p, gp, stream);
    }
}

}  // namespace

size_t cudaGconvWorkspaceSize(const GconvProblem&) { return 0; }

void cudaGconvForward(const ExecContext& ctx, const GconvProblem& gp, const GconvArgs& a, Scale s) {
    switch (gp.conv.dtype) {
        case DType::F32: return forwardTyped<float>(ctx, gp, a, s);
        case DType::F64: return forwardTyped<double>(ctx, gp, a, s);
        case DType::F16: return forwardTyped<__half>(ctx, gp, a, s);
        case DType::BF16: return forwardTyped<__nv_bfloat16>(ctx, gp, a, s);
    }
}

const Algorithm* cudaGconvAlgorithm() {
    static const GconvAlgorithm a(CONVX_BACKEND_CUDA, cudaGconvForward);
    return &a;
}

}  // namespace convx
