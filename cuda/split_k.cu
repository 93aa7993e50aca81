// CONVX_ALGO_SPLIT_K on CUDA: backward-filter as a split-reduction GEMM (src/split_k_plan.h).
//
// Kernel 1 (splitKGemm): one block per (chunk, group, M-tile, N-tile) work item of the plan,
// 256 threads, a 64 x 64 tile of dw (rows k, columns (c, tap)) accumulated over the block's chunk
// of the reduction l = (n, output pixel) in steps of 16. Each step stages dy[16 x 64] and an
// im2col slice of x [16 x 64] (read at strided positions, zero where the tap falls in the
// padding) in shared memory, double-buffered through registers; each thread owns a 4 x 4
// register tile. The global loads are mapped so that consecutive threads read consecutive
// addresses: along l when the tensor is channels-first (consecutive output pixels), along the
// channels when it is channels-last (the x columns are then ordered tap-major, so consecutive
// columns are consecutive channels). With one chunk the kernel applies alpha/beta and writes
// dw itself; otherwise it writes its partial tile to the workspace and kernel 2
// (splitKReduce) sums the chunks in chunk order, applies alpha/beta and writes dw in the
// filter's layout. No atomics: the bits do not depend on scheduling.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>

#include "algorithm.h"
#include "cuda_check.h"
#include "geometry.h"
#include "split_k_plan.h"

namespace convx {

namespace {

constexpr int kBM = int(SplitKPlan::kTileM);
constexpr int kBN = int(SplitKPlan::kTileN);
constexpr int kBK = int(SplitKPlan::kStepL);
constexpr int kThreads = 256;
static_assert(kBM == 64 && kBN == 64 && kBK == 16, "the thread mappings below assume 64 x 64 x 16 tiles");

template <class Acc>
__device__ inline Acc ld(const float* p, int64_t i) { return Acc(p[i]); }
template <class Acc>
__device__ inline Acc ld(const double* p, int64_t i) { return Acc(p[i]); }
template <class Acc>
__device__ inline Acc ld(const __half* p, int64_t i) { return Acc(__half2float(p[i])); }
template <class Acc>
__device__ inline Acc ld(const __nv_bfloat16* p, int64_t i) { return Acc(__bfloat162float(p[i])); }
__device__ inline double ldd(const float* p, int64_t i) { return p[i]; }
__device__ inline double ldd(const double* p, int64_t i) { return p[i]; }
__device__ inline double ldd(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ inline double ldd(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ inline void st(float* p, int64_t i, double v) { p[i] = static_cast<float>(v); }
__device__ inline void st(double* p, int64_t i, double v) { p[i] = v; }
__device__ inline void st(__half* p, int64_t i, double v) { p[i] = __double2half(v); }
__device__ inline void st(__nv_bfloat16* p, int64_t i, double v) { p[i] = __double2bfloat16(v); }

// Four consecutive shared-memory values (16-byte aligned for float).
__device__ inline void load4(const float* p, float (&v)[4]) {
    const float4 q = *reinterpret_cast<const float4*>(p);
    v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
}
__device__ inline void load4(const double* p, double (&v)[4]) {
    const double2 q0 = *reinterpret_cast<const double2*>(p);
    const double2 q1 = *reinterpret_cast<const double2*>(p + 2);
    v[0] = q0.x, v[1] = q0.y, v[2] = q1.x, v[3] = q1.y;
}

struct Args {
    Conv3d g;
    int64_t M, Ncols, L, chunkLen, wElems;
    int mTiles, nTiles, G;
    int Cg, taps;
    bool tapMajor;
    FastDiv divOutPix, divO12, divO2;
    FastDiv divRowsPerImage, divO1;  // output rows (n, o0, o1): O0*O1 per image
};

__device__ inline int64_t floorDivD(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Output position of reduction index l: image n and output coordinates.
struct Pos {
    int64_t n;
    int o0, o1, o2;
};
__device__ inline Pos decode(const Args& a, uint32_t l) {
    const uint32_t n = a.divOutPix.div(l);
    const uint32_t r = l - n * a.divOutPix.d;
    const uint32_t o0 = a.divO12.div(r);
    const uint32_t r2 = r - o0 * a.divO12.d;
    const uint32_t o1 = a.divO2.div(r2);
    return {int64_t(n), int(o0), int(o1), int(r2 - o1 * a.divO2.d)};
}

// One column (c, tap) of the tile: x channel offset and the tap's offsets t*d - p per dim.
struct ColInfo {
    int64_t xoff;
    int off0, off1, off2;
    bool valid;
};
__device__ inline ColInfo colInfo(const Args& a, int grp, int64_t col) {
    ColInfo ci{0, 0, 0, 0, col < a.Ncols};
    if (!ci.valid) return ci;
    const int64_t c = a.tapMajor ? col % a.Cg : col / a.taps;
    const int64_t tap = a.tapMajor ? col / a.Cg : col % a.taps;
    const Conv3d& g = a.g;
    const int64_t t2 = tap % g.R[2], t1 = (tap / g.R[2]) % g.R[1], t0 = tap / (g.R[2] * g.R[1]);
    ci.xoff = (int64_t(grp) * g.Cg + c) * g.xs[1];
    ci.off0 = int(t0 * g.D[0] - g.P[0]);
    ci.off1 = int(t1 * g.D[1] - g.P[1]);
    ci.off2 = int(t2 * g.D[2] - g.P[2]);
    return ci;
}

template <class T, class Acc>
__device__ inline Acc loadX(const Args& a, const T* x, const Pos& p, const ColInfo& ci, bool lValid) {
    const Conv3d& g = a.g;
    const int64_t i0 = int64_t(p.o0) * g.S[0] + ci.off0;
    const int64_t i1 = int64_t(p.o1) * g.S[1] + ci.off1;
    const int64_t i2 = int64_t(p.o2) * g.S[2] + ci.off2;
    if (!lValid || !ci.valid || i0 < 0 || i0 >= g.I[0] || i1 < 0 || i1 >= g.I[1] || i2 < 0 || i2 >= g.I[2]) return Acc(0);
    return ld<Acc>(x, p.n * g.xs[0] + ci.xoff + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4]);
}

template <class T, class Acc>
__device__ inline Acc loadDy(const Args& a, const T* dy, const Pos& p, int64_t kOff, bool valid) {
    const Conv3d& g = a.g;
    if (!valid) return Acc(0);
    return ld<Acc>(dy, p.n * g.ys[0] + kOff + p.o0 * g.ys[2] + p.o1 * g.ys[3] + p.o2 * g.ys[4]);
}

// dw offset of row k and column col, taps mirrored in CONVOLUTION mode.
__device__ inline int64_t dwOffset(const Args& a, int64_t k, int64_t col) {
    const Conv3d& g = a.g;
    const int64_t c = a.tapMajor ? col % a.Cg : col / a.taps;
    const int64_t tap = a.tapMajor ? col / a.Cg : col % a.taps;
    int64_t t2 = tap % g.R[2], t1 = (tap / g.R[2]) % g.R[1], t0 = tap / (g.R[2] * g.R[1]);
    if (g.flip) t0 = g.R[0] - 1 - t0, t1 = g.R[1] - 1 - t1, t2 = g.R[2] - 1 - t2;
    return k * g.ws[0] + c * g.ws[1] + t0 * g.ws[2] + t1 * g.ws[3] + t2 * g.ws[4];
}

// A_LFAST: dy is channels-first, so threads run along l for its loads; otherwise along k.
// B_LFAST: x likewise (columns are then channel-major; else tap-major, threads along c).
template <class T, class Acc, bool A_LFAST, bool B_LFAST>
__global__ void __launch_bounds__(kThreads) splitKGemm(Args a, const T* __restrict__ x, const T* __restrict__ dy, T* dw,
                                                       Acc* __restrict__ partial, double alpha, double beta) {
    // Rows padded by 4: the l-fast stores (threads along l) spread over banks, and rows stay
    // 16-byte aligned for the vector reads.
    __shared__ __align__(16) Acc As[2][kBK][kBM + 4];
    __shared__ __align__(16) Acc Bs[2][kBK][kBN + 4];

    // Work item: chunk outermost, then group, M-tile, N-tile (neighbouring blocks share data).
    int64_t r = blockIdx.x;
    const int nt = int(r % a.nTiles);
    r /= a.nTiles;
    const int mt = int(r % a.mTiles);
    r /= a.mTiles;
    const int grp = int(r % a.G);
    const int64_t chunk = r / a.G;
    const int64_t m0 = int64_t(mt) * kBM, n0 = int64_t(nt) * kBN;
    const int64_t lBegin = chunk * a.chunkLen;
    const int64_t lEnd = lBegin + a.chunkLen < a.L ? lBegin + a.chunkLen : a.L;
    const int tid = threadIdx.x;
    const Conv3d& g = a.g;

    // Load mappings. Fast-l: l = tid % 16, four rows/columns tid / 16 + 16 j. Otherwise:
    // row/column tid % 64, four l = tid / 64 + 4 j.
    const int lFast = tid % kBK, idxFast = tid / kBK;
    const int idxSlow = tid % 64, lSlow = tid / 64;

    int64_t aKOff[4];
    bool aMValid[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        const int64_t m = m0 + (A_LFAST ? idxFast + 16 * j : idxSlow);
        aMValid[j] = m < a.M;
        aKOff[j] = (int64_t(grp) * a.M + m) * g.ys[1];
    }
    ColInfo bCol[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) bCol[j] = colInfo(a, grp, n0 + (B_LFAST ? idxFast + 16 * j : idxSlow));

    Acc ra[4], rb[4];
    auto fetch = [&](int64_t l0) {
        if (A_LFAST || B_LFAST) {
            const int64_t l = l0 + lFast;
            const bool lv = l < lEnd;
            const Pos p = decode(a, uint32_t(lv ? l : lBegin));
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                if (A_LFAST) ra[j] = loadDy<T, Acc>(a, dy, p, aKOff[j], lv && aMValid[j]);
                if (B_LFAST) rb[j] = loadX<T, Acc>(a, x, p, bCol[j], lv);
            }
        }
        if (!A_LFAST || !B_LFAST) {
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int64_t l = l0 + lSlow + 4 * j;
                const bool lv = l < lEnd;
                const Pos p = decode(a, uint32_t(lv ? l : lBegin));
                if (!A_LFAST) ra[j] = loadDy<T, Acc>(a, dy, p, aKOff[0], lv && aMValid[0]);
                if (!B_LFAST) rb[j] = loadX<T, Acc>(a, x, p, bCol[0], lv);
            }
        }
    };
    auto stash = [&](int buf) {
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            if (A_LFAST) As[buf][lFast][idxFast + 16 * j] = ra[j];
            else As[buf][lSlow + 4 * j][idxSlow] = ra[j];
            if (B_LFAST) Bs[buf][lFast][idxFast + 16 * j] = rb[j];
            else Bs[buf][lSlow + 4 * j][idxSlow] = rb[j];
        }
    };

    // Compute mapping: rows ty*4 .. +3, columns tx*4 .. +3.
    const int tx = tid % 16, ty = tid / 16;
    Acc acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = Acc(0);

    const int64_t steps = (lEnd - lBegin + kBK - 1) / kBK;
    fetch(lBegin);
    stash(0);
    __syncthreads();
    for (int64_t step = 0; step < steps; ++step) {
        const int buf = int(step & 1);
        const bool more = step + 1 < steps;
        if (more) fetch(lBegin + (step + 1) * kBK);  // global loads in flight during the FMAs
#pragma unroll
        for (int kk = 0; kk < kBK; ++kk) {
            Acc av[4], bv[4];
            load4(&As[buf][kk][ty * 4], av);
            load4(&Bs[buf][kk][tx * 4], bv);
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
        }
        if (more) stash(buf ^ 1);
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int64_t m = m0 + ty * 4 + i;
        if (m >= a.M) continue;
        const int64_t k = int64_t(grp) * a.M + m;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int64_t col = n0 + tx * 4 + j;
            if (col >= a.Ncols) continue;
            if (partial) {
                partial[chunk * a.wElems + k * a.Ncols + col] = acc[i][j];
            } else {
                const int64_t o = dwOffset(a, k, col);
                double v = alpha * double(acc[i][j]);
                if (beta != 0.0) v += beta * ldd(dw, o);
                st(dw, o, v);
            }
        }
    }
}

// The thin kernel, for groups whose dw block (M x Ncols) has at most kThinMaxOutputs elements
// (depthwise and tiny groups), where a 64 x 64 tile would be almost all padding. One block per
// (chunk, group) work item; thread (j, lane) owns dw element j of the group and walks the
// output rows lane, lane + lanes, ... of the chunk; along a row the tap's valid output range is
// computed once, so the inner loop has no bounds test. The lanes' sums are added in lane order.
template <class T, class Acc>
__global__ void __launch_bounds__(kThreads) splitKThin(Args a, const T* __restrict__ x, const T* __restrict__ dy, T* dw,
                                                       Acc* __restrict__ partial, double alpha, double beta) {
    __shared__ Acc red[kThreads];
    const int grp = int(blockIdx.x % a.G);
    const int64_t chunk = blockIdx.x / a.G;
    const int64_t lBegin = chunk * a.chunkLen;
    const int64_t lEnd = lBegin + a.chunkLen < a.L ? lBegin + a.chunkLen : a.L;
    const int W = int(a.M * a.Ncols), lanes = kThreads / W;
    const int tid = threadIdx.x, j = tid % W, lane = tid / W;
    const Conv3d& g = a.g;
    Acc acc = Acc(0);
    if (lane < lanes) {
        const int64_t m = j / a.Ncols, col = j % a.Ncols;
        const ColInfo ci = colInfo(a, grp, col);
        const int64_t kOff = (int64_t(grp) * a.M + m) * g.ys[1];
        const int64_t O2 = g.O[2];
        // Outputs o2 in [lo2, hi2) read an input column inside the map.
        int64_t lo2 = -floorDivD(ci.off2, g.S[2]);  // ceil(-off2 / S2)
        if (lo2 < 0) lo2 = 0;
        int64_t hi2 = floorDivD(g.I[2] - 1 - ci.off2, g.S[2]) + 1;
        if (hi2 > O2) hi2 = O2;
        const int64_t xStep = g.S[2] * g.xs[4];
        const int64_t rowFirst = lBegin / O2, rowLast = (lEnd - 1) / O2;
        for (int64_t row = rowFirst + lane; row <= rowLast; row += lanes) {
            const uint32_t n = a.divRowsPerImage.div(uint32_t(row));
            const uint32_t r = uint32_t(row) - n * a.divRowsPerImage.d;
            const uint32_t o0 = a.divO1.div(r), o1 = r - o0 * a.divO1.d;
            const int64_t i0 = int64_t(o0) * g.S[0] + ci.off0, i1 = int64_t(o1) * g.S[1] + ci.off1;
            if (i0 < 0 || i0 >= g.I[0] || i1 < 0 || i1 >= g.I[1]) continue;
            const int64_t lRow = row * O2;
            const int64_t b = lo2 > lBegin - lRow ? lo2 : lBegin - lRow;
            const int64_t e = hi2 < lEnd - lRow ? hi2 : lEnd - lRow;
            if (b >= e) continue;
            // Offsets of the first valid output of the row (never a pointer before the tensor).
            const T* dyp = dy + (int64_t(n) * g.ys[0] + kOff + int64_t(o0) * g.ys[2] + int64_t(o1) * g.ys[3] + b * g.ys[4]);
            const T* xp = x + (int64_t(n) * g.xs[0] + ci.xoff + i0 * g.xs[2] + i1 * g.xs[3] + (b * g.S[2] + ci.off2) * g.xs[4]);
            for (int64_t q = 0; q < e - b; ++q) acc += ld<Acc>(dyp, q * g.ys[4]) * ld<Acc>(xp, q * xStep);
        }
    }
    red[tid] = acc;
    __syncthreads();
    if (tid < W) {
        Acc sum = Acc(0);
        for (int r = 0; r < lanes; ++r) sum += red[tid + r * W];
        const int64_t k = int64_t(grp) * a.M + tid / a.Ncols, col = tid % a.Ncols;
        if (partial) {
            partial[chunk * a.wElems + k * a.Ncols + col] = sum;
        } else {
            const int64_t o = dwOffset(a, k, col);
            double v = alpha * double(sum);
            if (beta != 0.0) v += beta * ldd(dw, o);
            st(dw, o, v);
        }
    }
}

// dw = alpha * (sum of the chunks' partials, in chunk order) + beta * dw.
template <class T, class Acc>
__global__ void splitKReduce(Args a, int64_t splits, const Acc* __restrict__ partial, T* dw, double alpha, double beta) {
    for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < a.wElems; e += int64_t(gridDim.x) * blockDim.x) {
        double sum = 0.0;
        for (int64_t s = 0; s < splits; ++s) sum += double(partial[s * a.wElems + e]);
        const int64_t o = dwOffset(a, e / a.Ncols, e % a.Ncols);
        double v = alpha * sum;
        if (beta != 0.0) v += beta * ldd(dw, o);
        st(dw, o, v);
    }
}

template <class T, class Acc>
void launch(const Problem& p, const Buffers& b, Scale s, void* workspace, cudaStream_t stream) {
    const SplitKPlan plan = makeSplitKPlan(p);
    Args a{};
    a.g = conv3dOf(p);
    a.M = plan.M, a.Ncols = plan.Ncols, a.L = plan.L, a.chunkLen = plan.chunkLen, a.wElems = plan.wElems();
    a.mTiles = int(plan.mTiles), a.nTiles = int(plan.nTiles), a.G = int(plan.G);
    a.Cg = int(plan.Cg), a.taps = int(plan.taps);
    a.tapMajor = plan.tapMajor;
    a.divOutPix = FastDiv(uint32_t(a.g.outPix));
    a.divO12 = FastDiv(uint32_t(a.g.O[1] * a.g.O[2]));
    a.divO2 = FastDiv(uint32_t(a.g.O[2]));
    a.divRowsPerImage = FastDiv(uint32_t(a.g.O[0] * a.g.O[1]));
    a.divO1 = FastDiv(uint32_t(a.g.O[1]));
    const T* x = static_cast<const T*>(b.x);
    const T* dy = static_cast<const T*>(b.y);
    T* dw = static_cast<T*>(b.w);
    Acc* partial = plan.splits > 1 ? static_cast<Acc*>(workspace) : nullptr;
    const bool aL = p.yLayout == Layout::NCHW, bL = !plan.tapMajor;
    const unsigned grid = unsigned(plan.items());
    if (plan.thin()) splitKThin<T, Acc><<<grid, kThreads, 0, stream>>>(a, x, dy, dw, partial, s.alpha, s.beta);
    else if (aL && bL) splitKGemm<T, Acc, true, true><<<grid, kThreads, 0, stream>>>(a, x, dy, dw, partial, s.alpha, s.beta);
    else if (aL) splitKGemm<T, Acc, true, false><<<grid, kThreads, 0, stream>>>(a, x, dy, dw, partial, s.alpha, s.beta);
    else if (bL) splitKGemm<T, Acc, false, true><<<grid, kThreads, 0, stream>>>(a, x, dy, dw, partial, s.alpha, s.beta);
    else splitKGemm<T, Acc, false, false><<<grid, kThreads, 0, stream>>>(a, x, dy, dw, partial, s.alpha, s.beta);
    cudaCheckLaunch("split_k gemm kernel launch");
    if (!partial) return;
    constexpr int block = 256;
    const int64_t blocks = (a.wElems + block - 1) / block;
    splitKReduce<T, Acc><<<unsigned(blocks < 65536 ? blocks : 65536), block, 0, stream>>>(a, plan.splits, partial, dw, s.alpha, s.beta);
    cudaCheckLaunch("split_k reduce kernel launch");
}

class CudaSplitK final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_SPLIT_K; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    unsigned directions() const override { return dirBit(Direction::BackwardFilter); }
    bool deterministic() const override { return true; }

    Applicability isApplicable(const Problem& p) const override {
        const SplitKPlan plan = makeSplitKPlan(p);
        // Reduction indices are decoded in 32 bits; tile and column counts are ints.
        if (plan.L >= INT_MAX) return Applicability::no("N * output pixels must be below 2^31");
        if (plan.items() >= INT_MAX || plan.Ncols >= INT_MAX) return Applicability::no("filter too large for the tile grid");
        for (int i = 0; i < p.nsp; ++i)
            if (p.in[i] + p.pad[i] + p.ker[i] * p.dil[i] >= INT_MAX) return Applicability::no("spatial extent too large");
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem& p) const override { return makeSplitKPlan(p).workspaceBytes(); }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        cudaStream_t stream = static_cast<cudaStream_t>(ctx.handle ? ctx.handle->stream : nullptr);
        switch (p.dtype) {
            case DType::F32: launch<float, float>(p, b, s, ctx.workspace, stream); break;
            case DType::F64: launch<double, double>(p, b, s, ctx.workspace, stream); break;
            case DType::F16: launch<__half, float>(p, b, s, ctx.workspace, stream); break;
            case DType::BF16: launch<__nv_bfloat16, float>(p, b, s, ctx.workspace, stream); break;
        }
    }
};

}  // namespace

const Algorithm* cudaSplitKAlgorithm() {
    static const CudaSplitK a;
    return &a;
}

}  // namespace convx
