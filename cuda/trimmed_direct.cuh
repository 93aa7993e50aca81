// The CUDA kernel shared by filter_trim and dilation_split: a tiled direct forward convolution
// whose tap loops run over trimmed windows (no padded zero multiplied, no bounds test in the
// inner loop). Per axis, outputs o = j + g*m of residue j in [0, g) read inputs
//     i = (j*s - p) + g*s*m + g*tv*t          (g*tv = the dilation),
// with g = 1, tv = d for filter_trim (one residue: the whole output) and g = d, tv = 1 for
// dilation_split (d residues, each a dense undilated sub-problem over a sub-grid of step d).
//
// Block: per axis H, W a tile of RJ residues x TM outputs of each (TH = RJ_H*TM_H thread rows,
// TW = RJ_W*TM_W columns, residue fastest), one output plane (n, jD, mD), KG*KPT output channels
// of one group; thread = one output pixel x KPT channels in registers. Per stage (CC channels,
// one D tap a) the block stages in shared memory one input sub-tile per residue (rows and
// columns of step g: dense for the split, so every staged element serves up to R taps) and the
// filter slice [CC][R_H][R_W][KG*KPT]; each thread then loops only over its own trimmed window.
// One launch covers every residue and tile (a grid-stride loop over a flat task index), so odd
// output sizes (residues with one output fewer) cost no extra launch. Grids too small for the
// GPU split the input channels; a second kernel adds the ranges in a fixed order.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>

#include "algorithm.h"
#include "cuda_check.h"
#include "filter_trim_plan.h"
#include "geometry.h"

namespace convx {
namespace trimmed_cuda {

constexpr int KPT = 8;                    // output channels per thread (registers)
constexpr size_t kSmemBytes = 48 * 1024;  // static limit: no opt-in needed on any architecture

struct Geo {
    Conv3d g;           // the convolution as a forward one (forwardViewOf: backward-data swaps roles)
    int64_t wsG;        // filter group stride
    int64_t split[3];   // g per axis: residues and sub-grid step (1: no split)
    int64_t tv[3];      // tap step in sub-grid units
    int64_t nres[3];    // residues with outputs: min(split, O)
    int64_t maxM[3];    // most outputs of one residue
    int64_t RJ[3], TM[3];  // a tile spans RJ residues x TM outputs per residue (H, W; D: 1 x 1)
    int64_t rgroupsH, rgroupsW;  // groups of RJ residues
    int64_t tilesH, tilesW, kTiles;  // TM-tiles of the largest residue; channel tiles
    int64_t cSplit, cPer;  // input channels split in cSplit ranges of cPer (small maps), see below
    int64_t tasks;      // blocks of work in all
    int TH, TW, KG, CC, TIH, TIW;  // TH = RJ[1]*TM[1] (thread rows), TIH/TIW: one residue's sub-tile
};

__device__ inline float toF(float v) { return v; }
__device__ inline double toF(double v) { return v; }
__device__ inline float toF(__half v) { return __half2float(v); }
__device__ inline float toF(__nv_bfloat16 v) { return __bfloat162float(v); }
template <class T> __device__ inline T fromA(float v);
template <class T> __device__ inline T fromA(double v);
template <> __device__ inline float fromA<float>(float v) { return v; }
template <> __device__ inline double fromA<double>(double v) { return v; }
template <> __device__ inline __half fromA<__half>(float v) { return __float2half_rn(v); }
template <> __device__ inline __nv_bfloat16 fromA<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// The KPT filter values of one tap for a thread: 16-byte shared-memory loads (2 for float, 4 for
// double) instead of KPT scalar ones; the slice is laid out so that they are aligned.
__device__ inline void loadTap(float (&v)[KPT], const float* p) {
    const float4 a = reinterpret_cast<const float4*>(p)[0], b = reinterpret_cast<const float4*>(p)[1];
    v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
__device__ inline void loadTap(double (&v)[KPT], const double* p) {
#pragma unroll
    for (int i = 0; i < KPT / 2; ++i) {
        const double2 a = reinterpret_cast<const double2*>(p)[i];
        v[2 * i] = a.x, v[2 * i + 1] = a.y;
    }
}
static_assert(KPT == 8, "loadTap reads 8 values");

// Elements of the staged input tiles, rounded up so that the filter slice after them is 16-byte
// aligned (its per-thread offsets are multiples of KPT).
__host__ __device__ inline int64_t xTileElems(int64_t cc, int64_t perChannel) { return (cc * perChannel + 3) / 4 * 4; }

__device__ inline int64_t ceilDivD(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
__device__ inline int64_t floorDivD(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Taps t in [*tb, *te) with 0 <= first + t*step < I.
__device__ inline void window(int64_t first, int64_t step, int64_t I, int64_t R, int64_t* tb, int64_t* te) {
    int64_t b = ceilDivD(-first, step), e = floorDivD(I - 1 - first, step) + 1;
    *tb = b < 0 ? 0 : (b > R ? R : b);
    *te = e < 0 ? 0 : (e > R ? R : e);
}

// With P.cSplit > 1 each block sums one range of input channels and writes its raw partial sums
// to `partial` ([cSplit][N][K][outPix]); reduceSplitKernel adds them in a fixed order.
template <class T, class A>
__global__ void __launch_bounds__(256) trimmedDirectKernel(Geo P, const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y,
                                                           A alpha, A beta, A* __restrict__ partial) {
    extern __shared__ __align__(16) unsigned char smemRaw[];
    const Conv3d& g = P.g;
    const int TP = P.TH * P.TW, KT = P.KG * KPT;
    const int tileElems = P.TIH * P.TIW * static_cast<int>(P.RJ[1] * P.RJ[2]);  // per channel
    A* xs = reinterpret_cast<A*>(smemRaw);
    A* wsm = xs + xTileElems(P.CC, tileElems);
    const int tid = threadIdx.x, nthr = blockDim.x;
    const int pix = tid % TP, kg = tid / TP;
    const int ty = pix / P.TW, tx = pix % P.TW;
    // residue fastest: neighbouring threads own neighbouring outputs j + g*m (coalesced stores)
    // and read neighbouring shared-memory words
    const int RJ1 = static_cast<int>(P.RJ[1]), RJ2 = static_cast<int>(P.RJ[2]);
    const int jjh = ty % RJ1, mh = ty / RJ1, jjw = tx % RJ2, mw = tx / RJ2;
    const int rowElems = P.TIW * RJ2;              // one smem row: TIW positions x RJ2 residues
    const int64_t R1 = g.R[1], R2 = g.R[2];

    for (int64_t task = blockIdx.x; task < P.tasks; task += gridDim.x) {
        int64_t r = task;
        const int64_t cs = r % P.cSplit; r /= P.cSplit;
        const int64_t kt = r % P.kTiles; r /= P.kTiles;
        const int64_t grp = r % g.G; r /= g.G;
        const int64_t tw = r % P.tilesW; r /= P.tilesW;
        const int64_t th = r % P.tilesH; r /= P.tilesH;
        const int64_t rgw = r % P.rgroupsW; r /= P.rgroupsW;
        const int64_t rgh = r % P.rgroupsH; r /= P.rgroupsH;
        const int64_t md = r % P.maxM[0]; r /= P.maxM[0];
        const int64_t jd = r % P.nres[0];
        const int64_t n = r / P.nres[0];
        // outputs per residue: residues differ by at most one (odd sizes); the block's first
        // residue (jh0, jw0) has the most
        const int64_t jh0 = rgh * P.RJ[1], jw0 = rgw * P.RJ[2];
        const int64_t M0 = (g.O[0] - jd + P.split[0] - 1) / P.split[0];
        const int64_t m1Tile = th * P.TM[1], m2Tile = tw * P.TM[2];
        if (md >= M0 || m1Tile >= (g.O[1] - jh0 + P.split[1] - 1) / P.split[1] || m2Tile >= (g.O[2] - jw0 + P.split[2] - 1) / P.split[2])
            continue;  // uniform over the block

        // this thread's output: residues (jh, jw), positions (m1, m2)
        const int64_t jh = jh0 + jjh, jw = jw0 + jjw;
        const int64_t m1 = m1Tile + mh, m2 = m2Tile + mw;
        const bool active = jh < P.nres[1] && jw < P.nres[2] && m1 < (g.O[1] - jh + P.split[1] - 1) / P.split[1] &&
                            m2 < (g.O[2] - jw + P.split[2] - 1) / P.split[2];
        // input index of output m, tap 0, per axis: (j*s - p) + g*s*m; the block's sub-tiles start
        // at org (residue jh0 + jj adds jj*s)
        const int64_t first0 = jd * g.S[0] - g.P[0] + P.split[0] * g.S[0] * md;
        const int64_t org1 = jh0 * g.S[1] - g.P[1] + P.split[1] * g.S[1] * m1Tile;
        const int64_t org2 = jw0 * g.S[2] - g.P[2] + P.split[2] * g.S[2] * m2Tile;
        int64_t ab, ae, bb, be, eb, ee;
        window(first0, P.split[0] * P.tv[0], g.I[0], g.R[0], &ab, &ae);
        window(org1 + jjh * g.S[1] + P.split[1] * g.S[1] * mh, P.split[1] * P.tv[1], g.I[1], R1, &bb, &be);
        window(org2 + jjw * g.S[2] + P.split[2] * g.S[2] * mw, P.split[2] * P.tv[2], g.I[2], R2, &eb, &ee);
        if (!active) bb = be = eb = ee = 0;
        const int hb = static_cast<int>(bb), he = static_cast<int>(be), wb = static_cast<int>(eb), we_ = static_cast<int>(ee);

        A acc[KPT];
#pragma unroll
        for (int k = 0; k < KPT; ++k) acc[k] = A(0);
        const int64_t kBase = kt * KT;
        const T* xn = x + n * g.xs[0] + grp * g.Cg * g.xs[1];
        const int64_t cBegin = cs * P.cPer, cEnd = cBegin + P.cPer < g.Cg ? cBegin + P.cPer : g.Cg;
        for (int64_t c0 = cBegin; c0 < cEnd; c0 += P.CC) {
            const int cc = static_cast<int>(cEnd - c0 < P.CC ? cEnd - c0 : int64_t(P.CC));
            for (int64_t a = ab; a < ae; ++a) {
                const int64_t i0 = first0 + P.split[0] * P.tv[0] * a;
                __syncthreads();  // the previous stage's readers are done
                // smem [c][vy][jjh][vx][jjw]: residue fastest, so at stride 1 consecutive threads
                // load consecutive inputs (org + jj + g*v)
                for (int idx = tid; idx < cc * tileElems; idx += nthr) {
                    const int c = idx / tileElems;
                    int rem = idx % tileElems;
                    const int ljw = rem % RJ2;
                    rem /= RJ2;
                    const int vx = rem % P.TIW;
                    rem /= P.TIW;
                    const int ljh = rem % RJ1, vy = rem / RJ1;
                    const int64_t ih = org1 + ljh * g.S[1] + P.split[1] * vy, iw = org2 + ljw * g.S[2] + P.split[2] * vx;
                    A v = A(0);
                    if (ih >= 0 && ih < g.I[1] && iw >= 0 && iw < g.I[2])
                        v = toF(xn[(c0 + c) * g.xs[1] + i0 * g.xs[2] + ih * g.xs[3] + iw * g.xs[4]]);
                    xs[idx] = v;
                }
                const int wElems = cc * static_cast<int>(R1 * R2) * KT;
                for (int idx = tid; idx < wElems; idx += nthr) {
                    const int kk = idx % KT;
                    int rest = idx / KT;
                    const int e = rest % static_cast<int>(R2);
                    rest /= static_cast<int>(R2);
                    const int b = rest % static_cast<int>(R1), c = rest / static_cast<int>(R1);
                    const int64_t kl = kBase + kk;
                    A v = A(0);
                    if (kl < g.Kg) {
                        const int64_t ua = g.flip ? g.R[0] - 1 - a : a, ub = g.flip ? R1 - 1 - b : b, ue = g.flip ? R2 - 1 - e : e;
                        v = toF(w[grp * P.wsG + kl * g.ws[0] + (c0 + c) * g.ws[1] + ua * g.ws[2] + ub * g.ws[3] + ue * g.ws[4]]);
                    }
                    wsm[idx] = v;
                }
                __syncthreads();
                // shared-memory offsets fit in int (<= 48 KB): 32-bit arithmetic in the hot loop
                const int tvH = static_cast<int>(P.tv[1]) * RJ1 * rowElems, tvW = static_cast<int>(P.tv[2]) * RJ2;
                const int wStrideC = static_cast<int>(R1 * R2) * KT, wStrideB = static_cast<int>(R2) * KT;
                const int xOff = ((mh * static_cast<int>(g.S[1])) * RJ1 + jjh) * rowElems + (mw * static_cast<int>(g.S[2])) * RJ2 + jjw;
                for (int c = 0; c < cc; ++c) {
                    const A* xc = xs + c * tileElems + xOff;
                    const A* wc = wsm + c * wStrideC + kg * KPT;
                    for (int b = hb; b < he; ++b) {
                        const A* xr = xc + b * tvH;
                        const A* wr = wc + b * wStrideB;
                        for (int e = wb; e < we_; ++e) {
                            const A xv = xr[e * tvW];
                            A wv[KPT];
                            loadTap(wv, wr + e * KT);
#pragma unroll
                            for (int k = 0; k < KPT; ++k) acc[k] += xv * wv[k];
                        }
                    }
                }
            }
        }
        if (active && P.cSplit > 1) {
            const int64_t o0 = jd + P.split[0] * md, o1 = jh + P.split[1] * m1, o2 = jw + P.split[2] * m2;
            A* pp = partial + (cs * g.N + n) * g.K * g.outPix + (o0 * g.O[1] + o1) * g.O[2] + o2;
#pragma unroll
            for (int k = 0; k < KPT; ++k) {
                const int64_t kl = kBase + kg * KPT + k;
                if (kl >= g.Kg) break;
                pp[(grp * g.Kg + kl) * g.outPix] = acc[k];
            }
        } else if (active) {
            const int64_t o0 = jd + P.split[0] * md, o1 = jh + P.split[1] * m1, o2 = jw + P.split[2] * m2;
            T* yp = y + n * g.ys[0] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4];
#pragma unroll
            for (int k = 0; k < KPT; ++k) {
                const int64_t kl = kBase + kg * KPT + k;
                if (kl >= g.Kg) break;
                T* yk = yp + (grp * g.Kg + kl) * g.ys[1];
                A v = alpha * acc[k];
                if (beta != A(0)) v += beta * toF(*yk);  // beta 0 never reads y
                *yk = fromA<T>(v);
            }
        }
    }
}

// Sums the cSplit partial results of every output in a fixed order, then alpha/beta.
template <class T, class A>
__global__ void reduceSplitKernel(Conv3d g, int64_t cSplit, const A* __restrict__ partial, T* __restrict__ y, A alpha, A beta) {
    const int64_t total = g.N * g.K * g.outPix;
    for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
        A sum = A(0);
        for (int64_t cs = 0; cs < cSplit; ++cs) sum += partial[cs * total + idx];
        int64_t r = idx;
        const int64_t o2 = r % g.O[2]; r /= g.O[2];
        const int64_t o1 = r % g.O[1]; r /= g.O[1];
        const int64_t o0 = r % g.O[0]; r /= g.O[0];
        const int64_t k = r % g.K, n = r / g.K;
        T* yp = y + n * g.ys[0] + k * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4];
        A v = alpha * sum;
        if (beta != A(0)) v += beta * toF(*yp);  // beta 0 never reads y
        *yp = fromA<T>(v);
    }
}

inline int pow2AtLeast(int64_t v, int cap) {
    int p = 1;
    while (p < v && p < cap) p *= 2;
    return p;
}

// Dynamic shared memory of a launch: CC channels of input tiles (aligned) + the filter slice.
inline size_t smemBytes(const Geo& P, size_t accBytes) {
    return size_t(xTileElems(P.CC, int64_t(P.TIH) * P.TIW * P.RJ[1] * P.RJ[2]) + int64_t(P.CC) * P.g.R[1] * P.g.R[2] * P.KG * KPT) * accBytes;
}

// Tile shapes for a problem; false (with the reason) when the shared tile cannot fit.
inline bool configure(const Problem& p, bool split, size_t accBytes, Geo* out, std::string* why) {
    Geo P{};
    const ForwardView view = forwardViewOf(p);
    P.g = view.g;
    P.wsG = view.wsG;
    const Conv3d& g = P.g;
    for (int a = 0; a < 3; ++a) {
        P.split[a] = split ? g.D[a] : 1;
        P.tv[a] = split ? 1 : g.D[a];
        P.nres[a] = std::min(P.split[a], g.O[a]);
        P.maxM[a] = (g.O[a] + P.split[a] - 1) / P.split[a];
    }
    // Tile per axis: RJ residues x TM outputs of each. Several residues per tile keep the tile
    // (and the filter slice each block stages) busy when d is large and residues have few
    // outputs (65x65 with d 36: 1-2 each), and make the loads of x contiguous at stride 1.
    auto pow2Floor = [](int64_t v, int64_t cap) {
        int64_t p = 1;
        while (p * 2 <= v && p * 2 <= cap) p *= 2;
        return p;
    };
    P.RJ[0] = P.TM[0] = 1;
    P.RJ[2] = pow2Floor(P.nres[2], 8);
    P.TM[2] = pow2AtLeast(P.maxM[2], static_cast<int>(32 / P.RJ[2]));
    P.RJ[2] = pow2Floor(P.nres[2], 32 / P.TM[2]);
    P.TW = static_cast<int>(P.RJ[2] * P.TM[2]);
    const int64_t capH = std::max(1, 128 / P.TW);
    P.RJ[1] = pow2Floor(P.nres[1], std::min<int64_t>(8, capH));
    P.TM[1] = pow2AtLeast(P.maxM[1], static_cast<int>(capH / P.RJ[1]));
    P.RJ[1] = pow2Floor(P.nres[1], capH / P.TM[1]);
    P.TH = static_cast<int>(P.RJ[1] * P.TM[1]);
    P.rgroupsH = (P.nres[1] + P.RJ[1] - 1) / P.RJ[1];
    P.rgroupsW = (P.nres[2] + P.RJ[2] - 1) / P.RJ[2];
    const int TP = P.TH * P.TW;
    const int64_t kgNeed = (g.Kg + KPT - 1) / KPT;
    P.KG = pow2AtLeast(kgNeed, std::max(1, 256 / TP));
    // Small maps give few spatial tiles: trade channel groups per block for blocks (down to two
    // warps a block) so that the grid still covers the GPU (~2 blocks per SM of an H200).
    {
        const int64_t spatial = g.N * P.nres[0] * P.maxM[0] * P.rgroupsH * P.rgroupsW * ((P.maxM[1] + P.TM[1] - 1) / P.TM[1]) *
                                ((P.maxM[2] + P.TM[2] - 1) / P.TM[2]) * g.G;
        while (P.KG > 1 && TP * P.KG / 2 >= 64 && spatial * ((g.Kg + int64_t(P.KG) * KPT - 1) / (int64_t(P.KG) * KPT)) < 264)
            P.KG /= 2;
    }
    P.TIH = static_cast<int>((P.TM[1] - 1) * g.S[1] + (g.R[1] - 1) * P.tv[1] + 1);
    P.TIW = static_cast<int>((P.TM[2] - 1) * g.S[2] + (g.R[2] - 1) * P.tv[2] + 1);
    P.CC = 0;
    for (int cc = 16; cc >= 1; cc /= 2) {
        Geo Q = P;
        Q.CC = cc;
        if (smemBytes(Q, accBytes) <= kSmemBytes) {
            P.CC = cc;
            break;
        }
    }
    if (P.CC == 0) {
        if (why) *why = "the shared-memory input tile does not fit (dilated window too wide" + std::string(split ? ")" : "; dilation_split stages dense sub-grids)");
        return false;
    }
    if (P.CC > g.Cg) P.CC = static_cast<int>(std::min<int64_t>(P.CC, pow2AtLeast(g.Cg, 16)));
    P.tilesH = (P.maxM[1] + P.TM[1] - 1) / P.TM[1];
    P.tilesW = (P.maxM[2] + P.TM[2] - 1) / P.TM[2];
    P.kTiles = (g.Kg + int64_t(P.KG) * KPT - 1) / (int64_t(P.KG) * KPT);
    P.tasks = g.N * P.nres[0] * P.maxM[0] * P.rgroupsH * P.rgroupsW * P.tilesH * P.tilesW * g.G * P.kTiles;
    // Still fewer blocks than ~2 per SM (small maps at batch 1, e.g. 4x4x192->384): split the
    // input channels into ranges of at least 16, each block summing one range; a second kernel
    // adds the ranges in a fixed order (deterministic, no atomics) through the workspace.
    P.cSplit = 1, P.cPer = g.Cg;
    if (P.tasks < 264 && g.Cg >= 32) {
        const int64_t want = std::min<int64_t>({16, (264 + P.tasks - 1) / P.tasks, g.Cg / 16});
        P.cPer = (g.Cg + want - 1) / want;
        P.cSplit = (g.Cg + P.cPer - 1) / P.cPer;
        P.tasks *= P.cSplit;
    }
    *out = P;
    return true;
}

inline size_t accBytesOf(DType t) { return t == DType::F64 ? sizeof(double) : sizeof(float); }

// Bytes of the partial sums of a channel-split launch (0 without a split).
inline size_t workspaceBytes(const Problem& p, bool split) {
    Geo P;
    if (!configure(p, split, accBytesOf(p.dtype), &P, nullptr) || P.cSplit == 1) return 0;
    return static_cast<size_t>(P.cSplit * P.g.N * P.g.K * P.g.outPix) * accBytesOf(p.dtype);
}


template <class T, class A>
void launchTyped(const Geo& P, bool bwd, const Buffers& b, Scale s, void* workspace, cudaStream_t stream, const char* name) {
    const int threads = P.TH * P.TW * P.KG;
    const int64_t grid = std::min<int64_t>(P.tasks, int64_t(1) << 30);  // grid-stride loop covers the rest
    A* partial = static_cast<A*>(workspace);
    // backward-data runs as a forward convolution from dy into dx (forwardViewOf)
    const T* in = static_cast<const T*>(bwd ? b.y : b.x);
    T* out = static_cast<T*>(bwd ? b.x : b.y);
    trimmedDirectKernel<T, A><<<static_cast<unsigned>(grid), threads, smemBytes(P, sizeof(A)), stream>>>(
        P, in, static_cast<const T*>(b.w), out, static_cast<A>(s.alpha), static_cast<A>(s.beta), partial);
    cudaCheckLaunch(name);
    if (P.cSplit > 1) {
        const int64_t total = P.g.N * P.g.K * P.g.outPix;
        const int64_t blocks = std::min<int64_t>((total + 255) / 256, int64_t(1) << 30);
        reduceSplitKernel<T, A><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(P.g, P.cSplit, partial, out, static_cast<A>(s.alpha),
                                                                                   static_cast<A>(s.beta));
        cudaCheckLaunch(name);
    }
}

inline void launch(const Problem& p, bool split, const Buffers& b, Scale s, void* workspace, cudaStream_t stream, const char* name) {
    Geo P;
    std::string why;
    if (!configure(p, split, accBytesOf(p.dtype), &P, &why)) fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE, "%s: %s", name, why.c_str());
    const bool bwd = p.dir == Direction::BackwardData;
    switch (p.dtype) {
        case DType::F32: launchTyped<float, float>(P, bwd, b, s, workspace, stream, name); break;
        case DType::F64: launchTyped<double, double>(P, bwd, b, s, workspace, stream, name); break;
        case DType::F16: launchTyped<__half, float>(P, bwd, b, s, workspace, stream, name); break;
        case DType::BF16: launchTyped<__nv_bfloat16, float>(P, bwd, b, s, workspace, stream, name); break;
    }
}

}  // namespace trimmed_cuda
}  // namespace convx
