// The CUDA kernel shared by filter_trim and dilation_split: a tiled direct forward convolution
// whose tap loops run over trimmed windows (no padded zero multiplied, no bounds test in the
// inner loop). Per axis, outputs o = j + g*m of residue j in [0, g) read inputs
//     i = (j*s - p) + g*s*m + g*tv*t          (g*tv = the dilation),
// with g = 1, tv = d for filter_trim (one residue: the whole output) and g = d, tv = 1 for
// dilation_split (d residues, each a dense undilated sub-problem over a sub-grid of step d).
//
// Block: TH x TW outputs (H x W, in m units) of one residue pair (jH, jW), one output plane
// (n, jD, mD), KG*KPT output channels of one group; thread = one output pixel x KPT channels in
// registers. Per stage (CC channels, one D tap a) the block stages in shared memory the input
// tile (rows and columns of step g: dense for the split, so every staged element is reused by
// up to R taps) and the filter slice [CC][R_H][R_W][KG*KPT]; each thread then loops only over
// its own trimmed window. One launch covers every residue and tile (a grid-stride loop over a
// flat task index), so odd output sizes (residues with one output fewer) cost no extra launch.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>

#include "algorithm.h"
#include "cuda_check.h"
#include "geometry.h"

namespace convx {
namespace trimmed_cuda {

constexpr int KPT = 8;                    // output channels per thread (registers)
constexpr size_t kSmemBytes = 48 * 1024;  // static limit: no opt-in needed on any architecture

struct Geo {
    Conv3d g;
    int64_t split[3];   // g per axis: residues and sub-grid step (1: no split)
    int64_t tv[3];      // tap step in sub-grid units
    int64_t nres[3];    // residues with outputs: min(split, O)
    int64_t maxM[3];    // most outputs of one residue
    int64_t tilesH, tilesW, kTiles;
    int64_t tasks;      // blocks of work in all
    int TH, TW, KG, CC, TIH, TIW;
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

__device__ inline int64_t ceilDivD(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
__device__ inline int64_t floorDivD(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Taps t in [*tb, *te) with 0 <= first + t*step < I.
__device__ inline void window(int64_t first, int64_t step, int64_t I, int64_t R, int64_t* tb, int64_t* te) {
    int64_t b = ceilDivD(-first, step), e = floorDivD(I - 1 - first, step) + 1;
    *tb = b < 0 ? 0 : (b > R ? R : b);
    *te = e < 0 ? 0 : (e > R ? R : e);
}

template <class T, class A>
__global__ void __launch_bounds__(256) trimmedDirectKernel(Geo P, const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y,
                                                           A alpha, A beta) {
    extern __shared__ __align__(16) unsigned char smemRaw[];
    const Conv3d& g = P.g;
    const int TP = P.TH * P.TW, KT = P.KG * KPT;
    const int tileElems = P.TIH * P.TIW;
    A* xs = reinterpret_cast<A*>(smemRaw);
    A* wsm = xs + P.CC * tileElems;
    const int tid = threadIdx.x, nthr = blockDim.x;
    const int pix = tid % TP, kg = tid / TP;
    const int ty = pix / P.TW, tx = pix % P.TW;
    const int64_t R1 = g.R[1], R2 = g.R[2];

    for (int64_t task = blockIdx.x; task < P.tasks; task += gridDim.x) {
        int64_t r = task;
        const int64_t kt = r % P.kTiles; r /= P.kTiles;
        const int64_t grp = r % g.G; r /= g.G;
        const int64_t tw = r % P.tilesW; r /= P.tilesW;
        const int64_t th = r % P.tilesH; r /= P.tilesH;
        const int64_t jw = r % P.nres[2]; r /= P.nres[2];
        const int64_t jh = r % P.nres[1]; r /= P.nres[1];
        const int64_t md = r % P.maxM[0]; r /= P.maxM[0];
        const int64_t jd = r % P.nres[0];
        const int64_t n = r / P.nres[0];
        // outputs of each residue: residues differ by at most one (odd sizes)
        const int64_t M0 = (g.O[0] - jd + P.split[0] - 1) / P.split[0];
        const int64_t M1 = (g.O[1] - jh + P.split[1] - 1) / P.split[1];
        const int64_t M2 = (g.O[2] - jw + P.split[2] - 1) / P.split[2];
        const int64_t m1Tile = th * P.TH, m2Tile = tw * P.TW;
        if (md >= M0 || m1Tile >= M1 || m2Tile >= M2) continue;  // uniform over the block

        // input index of output m, tap 0, per axis: (j*s - p) + g*s*m
        const int64_t first0 = jd * g.S[0] - g.P[0] + P.split[0] * g.S[0] * md;
        const int64_t org1 = jh * g.S[1] - g.P[1] + P.split[1] * g.S[1] * m1Tile;  // tile origin
        const int64_t org2 = jw * g.S[2] - g.P[2] + P.split[2] * g.S[2] * m2Tile;
        const int64_t m1 = m1Tile + ty, m2 = m2Tile + tx;
        const bool active = m1 < M1 && m2 < M2;
        int64_t ab, ae, bb, be, eb, ee;
        window(first0, P.split[0] * P.tv[0], g.I[0], g.R[0], &ab, &ae);
        window(org1 + P.split[1] * g.S[1] * ty, P.split[1] * P.tv[1], g.I[1], R1, &bb, &be);
        window(org2 + P.split[2] * g.S[2] * tx, P.split[2] * P.tv[2], g.I[2], R2, &eb, &ee);
        if (!active) bb = be = eb = ee = 0;

        A acc[KPT];
#pragma unroll
        for (int k = 0; k < KPT; ++k) acc[k] = A(0);
        const int64_t kBase = kt * KT;
        const T* xn = x + n * g.xs[0] + grp * g.Cg * g.xs[1];
        for (int64_t c0 = 0; c0 < g.Cg; c0 += P.CC) {
            const int cc = static_cast<int>(g.Cg - c0 < P.CC ? g.Cg - c0 : int64_t(P.CC));
            for (int64_t a = ab; a < ae; ++a) {
                const int64_t i0 = first0 + P.split[0] * P.tv[0] * a;
                __syncthreads();  // the previous stage's readers are done
                for (int idx = tid; idx < cc * tileElems; idx += nthr) {
                    const int c = idx / tileElems, rem = idx % tileElems;
                    const int vy = rem / P.TIW, vx = rem % P.TIW;
                    const int64_t ih = org1 + P.split[1] * vy, iw = org2 + P.split[2] * vx;
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
                        v = toF(w[(grp * g.Kg + kl) * g.ws[0] + (c0 + c) * g.ws[1] + ua * g.ws[2] + ub * g.ws[3] + ue * g.ws[4]]);
                    }
                    wsm[idx] = v;
                }
                __syncthreads();
                for (int c = 0; c < cc; ++c) {
                    const A* xc = xs + c * tileElems + (ty * g.S[1]) * P.TIW + tx * g.S[2];
                    const A* wc = wsm + c * static_cast<int>(R1 * R2) * KT + kg * KPT;
                    for (int64_t b = bb; b < be; ++b) {
                        const A* xr = xc + b * P.tv[1] * P.TIW;
                        const A* wr = wc + b * R2 * KT;
                        for (int64_t e = eb; e < ee; ++e) {
                            const A xv = xr[e * P.tv[2]];
                            const A* we = wr + e * KT;
#pragma unroll
                            for (int k = 0; k < KPT; ++k) acc[k] += xv * we[k];
                        }
                    }
                }
            }
        }
        if (active) {
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

inline int pow2AtLeast(int64_t v, int cap) {
    int p = 1;
    while (p < v && p < cap) p *= 2;
    return p;
}

// Tile shapes for a problem; false (with the reason) when the shared tile cannot fit.
inline bool configure(const Problem& p, bool split, size_t accBytes, Geo* out, std::string* why) {
    Geo P{};
    P.g = conv3dOf(p);
    const Conv3d& g = P.g;
    for (int a = 0; a < 3; ++a) {
        P.split[a] = split ? g.D[a] : 1;
        P.tv[a] = split ? 1 : g.D[a];
        P.nres[a] = std::min(P.split[a], g.O[a]);
        P.maxM[a] = (g.O[a] + P.split[a] - 1) / P.split[a];
    }
    P.TW = pow2AtLeast(P.maxM[2], 32);
    P.TH = pow2AtLeast(P.maxM[1], std::max(1, 128 / P.TW));
    const int TP = P.TH * P.TW;
    const int64_t kgNeed = (g.Kg + KPT - 1) / KPT;
    P.KG = pow2AtLeast(kgNeed, std::max(1, 256 / TP));
    // Small maps give few spatial tiles: trade channel groups per block for blocks (down to two
    // warps a block) so that the grid still covers the GPU (~2 blocks per SM of an H200).
    {
        const int64_t spatial = g.N * P.nres[0] * P.maxM[0] * P.nres[1] * P.nres[2] * ((P.maxM[1] + P.TH - 1) / P.TH) *
                                ((P.maxM[2] + P.TW - 1) / P.TW) * g.G;
        while (P.KG > 1 && TP * P.KG / 2 >= 64 && spatial * ((g.Kg + int64_t(P.KG) * KPT - 1) / (int64_t(P.KG) * KPT)) < 264)
            P.KG /= 2;
    }
    P.TIH = static_cast<int>((P.TH - 1) * g.S[1] + (g.R[1] - 1) * P.tv[1] + 1);
    P.TIW = static_cast<int>((P.TW - 1) * g.S[2] + (g.R[2] - 1) * P.tv[2] + 1);
    const size_t perChannel = (size_t(P.TIH) * P.TIW + size_t(g.R[1] * g.R[2]) * P.KG * KPT) * accBytes;
    P.CC = 0;
    for (int cc = 16; cc >= 1; cc /= 2)
        if (cc * perChannel <= kSmemBytes) {
            P.CC = cc;
            break;
        }
    if (P.CC == 0) {
        if (why) *why = "the shared-memory input tile does not fit (dilated window too wide" + std::string(split ? ")" : "; dilation_split stages dense sub-grids)");
        return false;
    }
    if (P.CC > g.Cg) P.CC = static_cast<int>(std::min<int64_t>(P.CC, pow2AtLeast(g.Cg, 16)));
    P.tilesH = (P.maxM[1] + P.TH - 1) / P.TH;
    P.tilesW = (P.maxM[2] + P.TW - 1) / P.TW;
    P.kTiles = (g.Kg + int64_t(P.KG) * KPT - 1) / (int64_t(P.KG) * KPT);
    P.tasks = g.N * P.nres[0] * P.maxM[0] * P.nres[1] * P.nres[2] * P.tilesH * P.tilesW * g.G * P.kTiles;
    *out = P;
    return true;
}

inline size_t smemBytes(const Geo& P, size_t accBytes) {
    return (size_t(P.CC) * P.TIH * P.TIW + size_t(P.CC) * P.g.R[1] * P.g.R[2] * P.KG * KPT) * accBytes;
}

template <class T, class A>
void launchTyped(const Geo& P, const Buffers& b, Scale s, cudaStream_t stream) {
    const int threads = P.TH * P.TW * P.KG;
    const int64_t grid = std::min<int64_t>(P.tasks, int64_t(1) << 30);  // grid-stride loop covers the rest
    trimmedDirectKernel<T, A><<<static_cast<unsigned>(grid), threads, smemBytes(P, sizeof(A)), stream>>>(
        P, static_cast<const T*>(b.x), static_cast<const T*>(b.w), static_cast<T*>(b.y), static_cast<A>(s.alpha), static_cast<A>(s.beta));
}

inline size_t accBytesOf(DType t) { return t == DType::F64 ? sizeof(double) : sizeof(float); }

inline void launch(const Problem& p, bool split, const Buffers& b, Scale s, cudaStream_t stream, const char* name) {
    Geo P;
    std::string why;
    if (!configure(p, split, accBytesOf(p.dtype), &P, &why)) fail(CONVX_STATUS_NOT_SUPPORTED_SHAPE, "%s: %s", name, why.c_str());
    switch (p.dtype) {
        case DType::F32: launchTyped<float, float>(P, b, s, stream); break;
        case DType::F64: launchTyped<double, double>(P, b, s, stream); break;
        case DType::F16: launchTyped<__half, float>(P, b, s, stream); break;
        case DType::BF16: launchTyped<__nv_bfloat16, float>(P, b, s, stream); break;
    }
    cudaCheckLaunch(name);
}

}  // namespace trimmed_cuda
}  // namespace convx
