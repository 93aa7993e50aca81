// The CPU GCONV engine (gconv.h) and CONVX_ALGO_GCONV on the CPU backend.
//
// One tiled direct engine for every GCONV: the inner loops are templates over the map and reduce
// functors (gconv_ops.h) and over how padded taps are treated, so (MUL, SUM) compiles to exactly
// a convolution's multiply-add tile; pre-ops, the epilogue's affine, z and post-op run outside
// the inner loops. Four paths, chosen from the problem:
//   cl_dw   x channels-last, one input and one output channel per group (pooling, depthwise):
//           PT output pixels x V consecutive groups, the x loads contiguous over channels.
//   cl      x channels-last, >= 4 output channels per group: PT output pixels x V output
//           channels, each pixel's input a contiguous run over c broadcast against V weights.
//   cf      >= 4 output channels per group otherwise: KT output channels x V flattened output
//           pixels (contiguous loads in the interior, zero/pad-selected loads at borders).
//   row     the rest (channels-first pooling and depthwise, channel multipliers < 4): one output
//           channel x a segment of an output row, each tap a contiguous (or strided) row update
//           over the outputs it reaches — padded taps simply fall outside the range.
// Before the tiles: a pre-pass materializes pre(scale * x + shift) when there is a pre-op or the
// data is 16-bit (converted to fp32 once), and the filter is repacked per path into the tiles'
// order, flipped for CONVOLUTION mode. Both live in buffers of the calling thread (no workspace).
// Every output is produced by one task in a fixed order: bits do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "algorithm.h"
#include "error.h"
#include "gconv_engine.h"
#include "gconv_ops.h"
#include "geometry.h"
#include "isa.h"
#include "threads.h"

namespace convx {

namespace {

// ------------------------------------------------------------------ storage types

struct Half {
    uint16_t bits;
};
struct Bf16 {
    uint16_t bits;
};
template <class T, class A>
inline A ld(const T* p, int64_t i) {
    return A(p[i]);
}
template <>
inline float ld<Half, float>(const Half* p, int64_t i) {
    return halfToFloat(p[i].bits);
}
template <>
inline float ld<Bf16, float>(const Bf16* p, int64_t i) {
    return bf16ToFloat(p[i].bits);
}
template <class T, class A>
inline void st(T* p, int64_t i, A v) {
    p[i] = T(v);
}
template <>
inline void st<Half, float>(Half* p, int64_t i, float v) {
    p[i].bits = floatToHalf(v);
}
template <>
inline void st<Bf16, float>(Bf16* p, int64_t i, float v) {
    p[i].bits = floatToBf16(v);
}

// ------------------------------------------------------------------ plan

enum class Path { ClDw, Cl, Cf, Row };
enum class PadMode { Zero, Value, Skip };  // padded taps: add nothing / map(padValue) / leave acc

constexpr int64_t kChunk = 64;    // output pixels per task of the tiled paths
constexpr int64_t kRowSeg = 256;  // outputs per task of the row path
constexpr int kKT = 4;            // cf: output channels per tile
constexpr int kPT = 4;            // cl, cl_dw: output pixels per tile

template <class A>
constexpr int vecOf() {
    return sizeof(A) == 8 ? 4 : 8;  // two 16-byte registers of A
}

PadMode padModeOf(const GconvOps& op) {
    if (op.reduce != GReduce::Sum) return PadMode::Skip;
    return (op.padValue == 0.f && op.map != GMap::Add) ? PadMode::Zero : PadMode::Value;
}

// The path for a geometry whose x is what the tiles read (after the pre-pass).
Path pathOf(const Conv3d& g) {
    if (g.xs[1] == 1 && g.C > 1 && g.Cg == 1 && g.Kg == 1) return Path::ClDw;
    if (g.xs[1] == 1 && g.C > 1 && g.Kg >= kKT) return Path::Cl;
    if (g.Kg >= kKT) return Path::Cf;
    return Path::Row;
}

// A window that is the whole unpadded input with one output per image (a fully connected layer
// as a GCONV, global pooling's convolution cousin), with x's (channel, position) order per image
// the filter's (channel, tap) order: then it is one reduction over J = C x positions contiguous
// elements, i.e. a 1x1 problem with J channels on 1x1 maps, which the channels-last tile runs as
// a small GEMM (images x output channels) instead of gathering each image's pixel per tap.
bool flattenWholeWindow(Conv3d& g) {
    if (g.G != 1 || g.outPix != 1 || g.flip) return false;
    for (int d = 0; d < 3; ++d)
        if (g.R[d] != g.I[d] || g.P[d] != 0) return false;
    if (g.C > 1 && g.xs[1] != g.ws[1]) return false;
    for (int d = 0; d < 3; ++d)
        if (g.I[d] > 1 && g.xs[2 + d] != g.ws[2 + d]) return false;
    const int64_t J = g.C * g.inPix;
    g.C = g.Cg = J;
    for (int d = 0; d < 3; ++d) g.I[d] = g.O[d] = g.R[d] = g.S[d] = g.D[d] = 1, g.P[d] = 0;
    g.xs[1] = g.ws[1] = 1;
    for (int d = 2; d < 5; ++d) g.xs[d] = g.ws[d] = g.ys[d] = 0;
    g.inPix = g.outPix = g.taps = 1;
    return true;
}

const char* pathName(Path p) {
    switch (p) {
        case Path::ClDw: return "cl_dw";
        case Path::Cl: return "cl";
        case Path::Cf: return "cf";
        case Path::Row: return "row";
    }
    return "?";
}

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Offset of kernel-order tap t in the user's filter; CONVOLUTION mode mirrors the window.
inline int64_t userTapOffset(const Conv3d& g, int64_t t) {
    int64_t e = t % g.R[2], b = (t / g.R[2]) % g.R[1], a = t / (g.R[2] * g.R[1]);
    if (g.flip) a = g.R[0] - 1 - a, b = g.R[1] - 1 - b, e = g.R[2] - 1 - e;
    return a * g.ws[2] + b * g.ws[3] + e * g.ws[4];
}

// ------------------------------------------------------------------ tap views (tiled paths)

// Input offsets (relative to a channel's first element) of one tap for the L output pixels of
// a tile. kind 0: no lane inside the input; 1: some (load through off, 0 for outside lanes);
// 2: all inside and consecutive (one contiguous load); 3: consecutive and within one channel's
// plane but some outside (contiguous load, outside lanes selected away).
template <int L>
struct TapView {
    int kind;
    bool all;  // every live lane inside
    int64_t start;
    int64_t off[L];
    bool ok[L];
};

// Output index m = image * outPix + pixel: the batch and the pixels flattened, so that small maps
// at batch > 1 (7x7, a fully connected layer's 1x1) still fill whole tiles.
template <int L>
void tileViews(const Conv3d& g, int64_t planeSpan, int64_t p0, int64_t n, TapView<L>* views) {
    int64_t b[3][L], img[L];
    bool live[L];
    for (int v = 0; v < L; ++v) {
        const int64_t m = p0 + std::min<int64_t>(v, n - 1);
        const int64_t p = m % g.outPix;
        img[v] = m / g.outPix;
        const int64_t o2 = p % g.O[2], o1 = (p / g.O[2]) % g.O[1], o0 = p / (g.O[2] * g.O[1]);
        b[0][v] = o0 * g.S[0] - g.P[0];
        b[1][v] = o1 * g.S[1] - g.P[1];
        b[2][v] = o2 * g.S[2] - g.P[2];
        live[v] = v < n;
    }
    int64_t t = 0;
    for (int64_t a0 = 0; a0 < g.R[0]; ++a0)
        for (int64_t a1 = 0; a1 < g.R[1]; ++a1)
            for (int64_t a2 = 0; a2 < g.R[2]; ++a2, ++t) {
                TapView<L>& tv = views[t];
                bool any = false, all = true, consecutive = true, oneImage = true;
                int64_t first = 0;
                for (int v = 0; v < L; ++v) {
                    const int64_t i0 = b[0][v] + a0 * g.D[0], i1 = b[1][v] + a1 * g.D[1], i2 = b[2][v] + a2 * g.D[2];
                    const int64_t raw = img[v] * g.xs[0] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4];
                    if (v == 0) first = raw;
                    consecutive = consecutive && live[v] && raw == first + v;
                    oneImage = oneImage && img[v] == img[0];
                    const bool in = i0 >= 0 && i0 < g.I[0] && i1 >= 0 && i1 < g.I[1] && i2 >= 0 && i2 < g.I[2];
                    tv.ok[v] = live[v] && in;
                    tv.off[v] = tv.ok[v] ? raw : 0;
                    any = any || tv.ok[v];
                    all = all && (tv.ok[v] || !live[v]);
                }
                tv.start = first;
                tv.all = all;
                if (!any) tv.kind = 0;
                else if (all && consecutive) tv.kind = 2;
                else if (consecutive && oneImage && first - img[0] * g.xs[0] >= 0 && first - img[0] * g.xs[0] + L <= planeSpan)
                    tv.kind = 3;  // the contiguous load stays inside the image's channel plane
                else tv.kind = 1;
            }
}

// ------------------------------------------------------------------ tiles

// The tiles inline into their task loop: compiled on their own, GCC 12 keeps their
// accumulators in scalar registers (measured 2.5x slower than inlined on conv 3x3 64->64).
#if defined(__GNUC__)
#define CONVX_GC_INLINE inline __attribute__((always_inline))
#else
#define CONVX_GC_INLINE inline
#endif

template <class A>
struct TileCtx {
    const Conv3d* g;
    const A* xg;     // x at (n, the tile's first input channel)
    const A* wg;     // the packed filter at the tile's block
    int64_t kTile;   // cf: weights per (c, tap); cl: per (tap, c); cl_dw: the per-tap stride
    A padValue;
};

template <class M, class R, PadMode PM, class A>
inline A step(A acc, A x, A w) {
    return R::apply(acc, M::apply(x, w));
}

// cf: KT output channels x V flattened pixels, x of any strides. Written as the plain
// multiply-add tile (loads, then one update of the KT x V accumulators) so that the vectorizer
// keeps the accumulators in registers; Skip adds a masked update for border taps only.
template <class A, class M, class R, PadMode PM, int KT, int V>
CONVX_GC_INLINE void cfTile(const TileCtx<A>& r, const TapView<V>* views, A* out) {
    constexpr bool pass = std::is_same<M, MapPass>::value;
    const Conv3d& g = *r.g;
    // Aggregate-initialized (a loop here gets vectorized into memory and the accumulators
    // then stay on the stack: measured 2.5x slower); MAX/MIN set their start value after.
    A acc[KT][V] = {};
    if (!std::is_same<R, RedSum>::value)
#pragma GCC unroll 64
        for (int kk = 0; kk < KT; ++kk)
#pragma GCC unroll 16
            for (int v = 0; v < V; ++v) acc[kk][v] = R::template init<A>();
    const A fill = PM == PadMode::Value ? r.padValue : A(0);
    const A zeros[KT] = {};
    const int64_t cs = g.xs[1];
    for (int64_t c = 0; c < g.Cg; ++c) {
        const A* xc = r.xg + c * cs;
        const A* wc = pass ? zeros : r.wg + c * g.taps * r.kTile;
        for (int64_t tt = 0; tt < g.taps; ++tt) {
            const TapView<V>& tv = views[tt];
            const A* wv = pass ? zeros : wc + tt * r.kTile;
            A xv[V];
            if (tv.kind == 2) {
                const A* xr = xc + tv.start;
                for (int v = 0; v < V; ++v) xv[v] = xr[v];
            } else if (tv.kind == 3) {
                const A* xr = xc + tv.start;
                for (int v = 0; v < V; ++v) {
                    const A l = xr[v];
                    xv[v] = tv.ok[v] ? l : fill;
                }
            } else if (tv.kind == 1) {
                for (int v = 0; v < V; ++v) {
                    const A l = xc[tv.off[v]];
                    xv[v] = tv.ok[v] ? l : fill;
                }
            } else {
                if (PM != PadMode::Value) continue;
                for (int v = 0; v < V; ++v) xv[v] = fill;
            }
            if (PM == PadMode::Skip && tv.kind != 2) {
                for (int kk = 0; kk < KT; ++kk)
                    for (int v = 0; v < V; ++v) {
                        const A u = R::apply(acc[kk][v], M::apply(xv[v], wv[kk]));
                        acc[kk][v] = tv.ok[v] ? u : acc[kk][v];
                    }
                continue;
            }
            for (int kk = 0; kk < KT; ++kk)
                for (int v = 0; v < V; ++v) acc[kk][v] = R::apply(acc[kk][v], M::apply(xv[v], wv[kk]));
        }
    }
    for (int kk = 0; kk < KT; ++kk)
        for (int v = 0; v < V; ++v) out[kk * V + v] = acc[kk][v];
}

// cl: PT pixels x V output channels of one group; x's channel stride is 1. The loop nest is
// the cf tile's (channels outside, taps inside, a branch per tap), turned around: V weights are
// the vector, the PT inputs broadcast. With the channel loop innermost GCC 12 vectorized it across
// channels with transposes and ran at the reference's speed.
template <class A, class M, class R, PadMode PM, int PT, int V>
CONVX_GC_INLINE void clTile(const TileCtx<A>& r, const TapView<PT>* views, A* out) {
    constexpr bool pass = std::is_same<M, MapPass>::value;
    const Conv3d& g = *r.g;
    // Aggregate-initialized (a loop here gets vectorized into memory and the accumulators
    // then stay on the stack: measured 2.5x slower); MAX/MIN set their start value after.
    A acc[PT][V] = {};
    if (!std::is_same<R, RedSum>::value)
#pragma GCC unroll 64
        for (int j = 0; j < PT; ++j)
#pragma GCC unroll 16
            for (int v = 0; v < V; ++v) acc[j][v] = R::template init<A>();
    const A zeros[V] = {};
    const A fill = PM == PadMode::Value ? r.padValue : A(0);
    for (int64_t c = 0; c < g.Cg; ++c) {
        const A* xc = r.xg + c;
        const A* wc = pass ? zeros : r.wg + c * g.taps * r.kTile;
        for (int64_t t = 0; t < g.taps; ++t) {
            const TapView<PT>& tv = views[t];
            if (tv.kind == 0 && PM != PadMode::Value) continue;
            const A* wv = pass ? zeros : wc + t * r.kTile;
            A xv[PT];
            for (int j = 0; j < PT; ++j) {
                const A l = xc[tv.off[j]];
                xv[j] = tv.ok[j] ? l : fill;
            }
            if (PM == PadMode::Skip && !tv.all) {
                for (int j = 0; j < PT; ++j)
                    for (int v = 0; v < V; ++v) {
                        const A u = R::apply(acc[j][v], M::apply(xv[j], wv[v]));
                        acc[j][v] = tv.ok[j] ? u : acc[j][v];
                    }
                continue;
            }
            for (int j = 0; j < PT; ++j)
                for (int v = 0; v < V; ++v) acc[j][v] = R::apply(acc[j][v], M::apply(xv[j], wv[v]));
        }
    }
    for (int j = 0; j < PT; ++j)
        for (int v = 0; v < V; ++v) out[j * V + v] = acc[j][v];
}

// cl_dw: PT pixels x V consecutive groups with one channel each; x's channel stride is 1, so a
// pixel's V channels are one contiguous load; the packed filter holds V groups per tap.
template <class A, class M, class R, PadMode PM, int PT, int V>
CONVX_GC_INLINE void clDwTile(const TileCtx<A>& r, const TapView<PT>* views, A* out) {
    constexpr bool pass = std::is_same<M, MapPass>::value;
    const Conv3d& g = *r.g;
    // Aggregate-initialized (a loop here gets vectorized into memory and the accumulators
    // then stay on the stack: measured 2.5x slower); MAX/MIN set their start value after.
    A acc[PT][V] = {};
    if (!std::is_same<R, RedSum>::value)
#pragma GCC unroll 64
        for (int j = 0; j < PT; ++j)
#pragma GCC unroll 16
            for (int v = 0; v < V; ++v) acc[j][v] = R::template init<A>();
    const A fill = PM == PadMode::Value ? r.padValue : A(0);
    for (int64_t t = 0; t < g.taps; ++t) {
        const TapView<PT>& tv = views[t];
        if (tv.kind == 0 && PM != PadMode::Value) continue;
        A wv[V];
        for (int v = 0; v < V; ++v) wv[v] = pass ? A(0) : r.wg[t * r.kTile + v];
        for (int j = 0; j < PT; ++j) {
            if (tv.ok[j]) {
                const A* xr = r.xg + tv.off[j];
                for (int v = 0; v < V; ++v) acc[j][v] = step<M, R, PM>(acc[j][v], xr[v], wv[v]);
            } else if (PM == PadMode::Value) {
                for (int v = 0; v < V; ++v) acc[j][v] = step<M, R, PM>(acc[j][v], fill, wv[v]);
            }
        }
    }
    for (int j = 0; j < PT; ++j)
        for (int v = 0; v < V; ++v) out[j * V + v] = acc[j][v];
}

// ------------------------------------------------------------------ epilogue

template <class A>
struct Epi {
    GReduce reduce;
    bool postAffine;
    const float* postScale;
    const float* postShift;
    GCombine combine;
    const void* z;
    int64_t zs0, zs1;
    GUnary post;
    A postParam;
    void* y;
    int64_t ys0, ys1;
    A alpha, beta;
};

template <class A>
void applyUnary(GUnary op, A param, A* t, int n) {
    switch (op) {
        case GUnary::Identity: return;
        case GUnary::Square:
            for (int j = 0; j < n; ++j) t[j] = t[j] * t[j];
            return;
        case GUnary::Relu:
            for (int j = 0; j < n; ++j) t[j] = t[j] > A(0) ? t[j] : A(0);
            return;
        case GUnary::Relu6:
            for (int j = 0; j < n; ++j) t[j] = std::min(std::max(t[j], A(0)), A(6));
            return;
        case GUnary::LeakyRelu:
            for (int j = 0; j < n; ++j) t[j] = t[j] < A(0) ? param * t[j] : t[j];
            return;
        default:
            for (int j = 0; j < n; ++j) t[j] = gconvUnary<A>(op, t[j], param);
            return;
    }
}

// The epilogue, on one line of results at a time, vectorized along the line: m pixels of one
// channel k (cf tiles, the row path: y offsets ypix[j], z offsets zpix[j], count factors cnt[j];
// yRun: the m outputs are consecutive in y), or m channels k0.. of one pixel (cl tiles: the
// pixel's y and z offsets and count factor are scalars; channels step by the tensors' C stride).
// The count factor is 1/valid (channel, tap) pairs for MEAN, 1 for MAX/MIN, 0 for a window
// without a valid tap.
template <class A, class T>
void finishPixels(const Epi<A>& e, const A* v, int m, int64_t n, int64_t k, const int64_t* ypix, const int64_t* zpix, const A* cnt,
                  bool yRun) {
    A t[kRowSeg];
    for (int j = 0; j < m; ++j) t[j] = v[j];
    if (e.reduce != GReduce::Sum)
        for (int j = 0; j < m; ++j) t[j] = cnt[j] == A(0) ? A(0) : t[j] * cnt[j];
    if (e.postAffine) {
        const A sc = e.postScale ? A(e.postScale[k]) : A(1), sh = e.postShift ? A(e.postShift[k]) : A(0);
        for (int j = 0; j < m; ++j) t[j] = sc * t[j] + sh;
    }
    if (e.combine != GCombine::None) {
        const T* zk = static_cast<const T*>(e.z) + n * e.zs0 + k * e.zs1;
        if (e.combine == GCombine::Add)
            for (int j = 0; j < m; ++j) t[j] += ld<T, A>(zk, zpix[j]);
        else
            for (int j = 0; j < m; ++j) t[j] *= ld<T, A>(zk, zpix[j]);
    }
    applyUnary<A>(e.post, e.postParam, t, m);
    T* yk = static_cast<T*>(e.y) + n * e.ys0 + k * e.ys1;
    if (yRun) {
        T* yr = yk + ypix[0];
        if (e.beta == A(0))
            for (int j = 0; j < m; ++j) st<T, A>(yr, j, e.alpha * t[j]);
        else
            for (int j = 0; j < m; ++j) st<T, A>(yr, j, e.alpha * t[j] + e.beta * ld<T, A>(yr, j));
    } else {
        if (e.beta == A(0))
            for (int j = 0; j < m; ++j) st<T, A>(yk, ypix[j], e.alpha * t[j]);
        else
            for (int j = 0; j < m; ++j) st<T, A>(yk, ypix[j], e.alpha * t[j] + e.beta * ld<T, A>(yk, ypix[j]));
    }
}

template <class A, class T>
void finishChannels(const Epi<A>& e, const A* v, int m, int64_t n, int64_t k0, int64_t yPix, int64_t zPix, A cnt) {
    A t[kRowSeg];
    for (int i = 0; i < m; ++i) t[i] = v[i];
    if (e.reduce != GReduce::Sum)
        for (int i = 0; i < m; ++i) t[i] = cnt == A(0) ? A(0) : t[i] * cnt;
    if (e.postAffine) {
        if (e.postScale)
            for (int i = 0; i < m; ++i) t[i] *= A(e.postScale[k0 + i]);
        if (e.postShift)
            for (int i = 0; i < m; ++i) t[i] += A(e.postShift[k0 + i]);
    }
    if (e.combine != GCombine::None) {
        const T* zr = static_cast<const T*>(e.z) + n * e.zs0 + zPix + k0 * e.zs1;
        const int64_t zc = e.zs1;
        if (e.combine == GCombine::Add)
            for (int i = 0; i < m; ++i) t[i] += ld<T, A>(zr, i * zc);
        else
            for (int i = 0; i < m; ++i) t[i] *= ld<T, A>(zr, i * zc);
    }
    applyUnary<A>(e.post, e.postParam, t, m);
    T* yr = static_cast<T*>(e.y) + n * e.ys0 + yPix + k0 * e.ys1;
    if (e.ys1 == 1) {
        if (e.beta == A(0))
            for (int i = 0; i < m; ++i) st<T, A>(yr, i, e.alpha * t[i]);
        else
            for (int i = 0; i < m; ++i) st<T, A>(yr, i, e.alpha * t[i] + e.beta * ld<T, A>(yr, i));
    } else {
        const int64_t yc = e.ys1;
        if (e.beta == A(0))
            for (int i = 0; i < m; ++i) st<T, A>(yr, i * yc, e.alpha * t[i]);
        else
            for (int i = 0; i < m; ++i) st<T, A>(yr, i * yc, e.alpha * t[i] + e.beta * ld<T, A>(yr, i * yc));
    }
}

template <class A>
using FinishPixelsFn = void (*)(const Epi<A>&, const A*, int, int64_t, int64_t, const int64_t*, const int64_t*, const A*, bool);
template <class A>
using FinishChannelsFn = void (*)(const Epi<A>&, const A*, int, int64_t, int64_t, int64_t, int64_t, A);

// ------------------------------------------------------------------ the call

template <class A>
struct Run {
    Conv3d g;          // geometry with x as the tiles read it
    const A* x;        // user x or the pre-pass buffer
    const A* w;        // packed filter (null for PASS)
    Path path;
    int64_t planeSpan;
    A padValue;
    int64_t zs[5];     // z strides, 3-D form
    bool needZ, needCnt;
    std::vector<A> cnt[3];  // per dim: valid taps of each output index (MEAN: times Cg later)
    Epi<A> epi;
    FinishPixelsFn<A> finishPixels;
    FinishChannelsFn<A> finishChannels;
    int nt;
};

// Per-pixel data of a chunk of flattened output pixels, kept by a thread across its tasks.
template <class A, int L>
struct ChunkCache {
    int64_t chunk = -1;
    std::vector<TapView<L>> views;
    int64_t ypix[kChunk], zpix[kChunk];
    A cnt[kChunk];
    bool yRun[kChunk / L];
    void load(const Run<A>& r, int64_t c) {
        const Conv3d& g = r.g;
        chunk = c;
        const int64_t pBeg = c * kChunk, pEnd = std::min(g.N * g.outPix, pBeg + kChunk);
        views.resize(static_cast<size_t>((kChunk / L) * g.taps));
        for (int64_t p0 = pBeg, tile = 0; p0 < pEnd; p0 += L, ++tile)
            tileViews<L>(g, r.planeSpan, p0, std::min<int64_t>(L, pEnd - p0), views.data() + tile * g.taps);
        for (int64_t m = pBeg; m < pEnd; ++m) {
            const int64_t n = m / g.outPix, p = m % g.outPix;
            const int64_t o2 = p % g.O[2], o1 = (p / g.O[2]) % g.O[1], o0 = p / (g.O[2] * g.O[1]);
            ypix[m - pBeg] = n * g.ys[0] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4];
            zpix[m - pBeg] = n * r.zs[0] + o0 * r.zs[2] + o1 * r.zs[3] + o2 * r.zs[4];
            if (r.needCnt) {
                const A v = r.cnt[0][o0] * r.cnt[1][o1] * r.cnt[2][o2];
                cnt[m - pBeg] = v;
            }
        }
        for (int64_t p0 = pBeg, tile = 0; p0 < pEnd; p0 += L, ++tile) {
            bool run = true;
            for (int64_t j = p0 + 1; run && j < std::min(pEnd, p0 + L); ++j) run = ypix[j - pBeg] == ypix[j - 1 - pBeg] + 1;
            yRun[tile] = run;
        }
    }
};

// The tiled paths. Columns: cf/cl: (group, block of kTile channels); cl_dw: blocks of V groups,
// then the groups past the last whole block one by one (the V = 1 tile).
// One task of the tiled paths: the hot loop, cloned per ISA (isa.h) with the tiles inlined into
// each clone; called from inside the parallel loop, so the clone is not lost to the outlined
// OpenMP body.
template <class A, int L, class TileFn, class TailFn>
CONVX_CPU_CLONES void tiledTask(const Run<A>& r, int64_t colBlocks, int64_t kTile, int64_t wBlock, TileFn tile, TailFn tail, int64_t task,
                                ChunkCache<A, L>& cache, A* out) {
    const Conv3d& g = r.g;
    const int64_t M = g.N * g.outPix;
    const bool channelsFirst = r.path == Path::Cf;
    constexpr int V = vecOf<A>();
    const int64_t dwBlocks = g.G / V;
    const int64_t col = task % colBlocks, chunk = task / colBlocks;
    const int64_t n = 0;  // the image's offsets are in the views and the chunk's y and z offsets
    if (cache.chunk != chunk) cache.load(r, chunk);
    int64_t kBase, nk;
    TileCtx<A> tc{&g, nullptr, nullptr, kTile, r.padValue};
    bool single = false;
    if (r.path == Path::ClDw) {
        const int64_t g0 = col < dwBlocks ? col * V : dwBlocks * V + (col - dwBlocks);
        single = col >= dwBlocks;
        kBase = g0;
        nk = single ? 1 : V;
        tc.xg = r.x + n * g.xs[0] + g0 * g.xs[1];
        tc.wg = r.w ? r.w + g0 : nullptr;
    } else {
        const int64_t kbN = colBlocks / g.G, grp = col / kbN, kb = col % kbN;
        kBase = grp * g.Kg + kb * kTile;
        nk = std::min(kTile, g.Kg - kb * kTile);
        tc.xg = r.x + n * g.xs[0] + grp * g.Cg * g.xs[1];
        tc.wg = r.w ? r.w + col * wBlock : nullptr;
    }
    const int64_t pBeg = chunk * kChunk, pEnd = std::min(M, pBeg + kChunk);
    for (int64_t p0 = pBeg, t = 0; p0 < pEnd; p0 += L, ++t) {
        const int np = int(std::min<int64_t>(L, pEnd - p0));
        const TapView<L>* views = cache.views.data() + t * g.taps;
        const int64_t j0 = p0 - pBeg;
        if (single) tail(tc, views, out);
        else tile(tc, views, out);
        // cf: out[kk * L + j], a line per channel; cl, cl_dw: out[j * width + kk] (width V, or
        // 1 for the tail), a line per pixel.
        if (channelsFirst) {
            for (int64_t kk = 0; kk < nk; ++kk)
                r.finishPixels(r.epi, out + kk * L, np, n, kBase + kk, cache.ypix + j0, cache.zpix + j0, cache.cnt + j0,
                               cache.yRun[t]);
        } else {
            const int64_t width = single ? 1 : V;
            for (int j = 0; j < np; ++j)
                r.finishChannels(r.epi, out + j * width, int(nk), n, kBase, cache.ypix[j0 + j], cache.zpix[j0 + j],
                                 cache.cnt[j0 + j]);
        }
    }
}

template <class A, int L, class TileFn, class TailFn>
void runTiled(const Run<A>& r, int64_t colBlocks, int64_t kTile, int64_t wBlock, TileFn tile, TailFn tail) {
    const Conv3d& g = r.g;
    const int64_t M = g.N * g.outPix;  // flattened outputs: the image is part of the pixel index
    const int64_t chunks = ceilDiv(M, kChunk);
    const int64_t tasks = chunks * colBlocks;
#pragma omp parallel num_threads(r.nt)
    {
        ChunkCache<A, L> cache;
        A out[kKT * 16 > kPT * 16 ? kKT * 16 : kPT * 16];
#pragma omp for schedule(static)
        for (int64_t task = 0; task < tasks; ++task) tiledTask<A, L>(r, colBlocks, kTile, wBlock, tile, tail, task, cache, out);
    }
}

// The row path: one output channel x a segment of one output row per task.
// One task of the row path, cloned per ISA (isa.h); called from inside the parallel loop.
template <class A, class M, class R, PadMode PM>
CONVX_CPU_CLONES void rowTask(const Run<A>& r, int64_t task, int64_t segs, int64_t rows, A fill, int64_t sx, const int64_t* loW,
                              const int64_t* hiW) {
    constexpr bool pass = std::is_same<M, MapPass>::value;
    const Conv3d& g = r.g;
    const int64_t seg = task % segs, row = (task / segs) % rows, k = (task / (segs * rows)) % g.K, n = task / (segs * rows * g.K);
    const int64_t o0 = row / g.O[1], o1 = row % g.O[1];
    const int64_t w0 = seg * kRowSeg, len = std::min(kRowSeg, g.O[2] - w0);
    const int64_t grp = k / g.Kg;
    A acc[kRowSeg];
    for (int64_t j = 0; j < len; ++j) acc[j] = R::template init<A>();
    for (int64_t c = 0; c < g.Cg; ++c) {
        const A* xc = r.x + n * g.xs[0] + (grp * g.Cg + c) * g.xs[1];
        const A* wc = pass ? nullptr : r.w + (k * g.Cg + c) * g.taps;
        int64_t t = 0;
        for (int64_t a0 = 0; a0 < g.R[0]; ++a0)
            for (int64_t a1 = 0; a1 < g.R[1]; ++a1) {
                const int64_t i0 = o0 * g.S[0] - g.P[0] + a0 * g.D[0], i1 = o1 * g.S[1] - g.P[1] + a1 * g.D[1];
                const bool rowIn = i0 >= 0 && i0 < g.I[0] && i1 >= 0 && i1 < g.I[1];
                for (int64_t a2 = 0; a2 < g.R[2]; ++a2, ++t) {
                    const A wv = pass ? A(0) : wc[t];
                    // Outputs ow of the segment whose input column ow*S - P + a2*D lies in [0, I).
                    const int64_t off = a2 * g.D[2] - g.P[2];
                    int64_t lo = w0, hi = w0 + len - 1;
                    if (rowIn) {
                        lo = std::max(lo, loW[a2]);
                        hi = std::min(hi, hiW[a2]);
                    } else {
                        lo = w0 + len, hi = w0 + len - 1;  // empty
                    }
                    if (PM == PadMode::Value) {
                        const int64_t a = std::min(std::max(lo, w0), w0 + len), b = std::max(hi + 1, a);
                        for (int64_t ow = w0; ow < a; ++ow) acc[ow - w0] = step<M, R, PM>(acc[ow - w0], fill, wv);
                        for (int64_t ow = b; ow < w0 + len; ++ow) acc[ow - w0] = step<M, R, PM>(acc[ow - w0], fill, wv);
                    }
                    if (lo > hi) continue;
                    // Input of output lo, then every sx elements (inside x for lo..hi).
                    const A* xr = xc + (i0 * g.xs[2] + i1 * g.xs[3] + (lo * g.S[2] + off) * g.xs[4]);
                    A* ar = acc + (lo - w0);
                    const int64_t m = hi - lo + 1;
                    if (sx == 1) {
                        for (int64_t j = 0; j < m; ++j) ar[j] = step<M, R, PM>(ar[j], xr[j], wv);
                    } else {
                        for (int64_t j = 0; j < m; ++j) ar[j] = step<M, R, PM>(ar[j], xr[j * sx], wv);
                    }
                }
            }
    }
    int64_t ypix[kRowSeg], zpix[kRowSeg];
    A cnt[kRowSeg];
    bool yRun = g.ys[4] == 1;
    for (int64_t j = 0; j < len; ++j) {
        ypix[j] = o0 * g.ys[2] + o1 * g.ys[3] + (w0 + j) * g.ys[4];
        zpix[j] = o0 * r.zs[2] + o1 * r.zs[3] + (w0 + j) * r.zs[4];
    }
    if (r.needCnt) {
        const A rc = r.cnt[0][o0] * r.cnt[1][o1];
        for (int64_t j = 0; j < len; ++j) cnt[j] = rc * r.cnt[2][w0 + j];
    }
    r.finishPixels(r.epi, acc, int(len), n, k, ypix, zpix, cnt, yRun);
}

template <class A, class M, class R, PadMode PM>
void runRows(const Run<A>& r) {
    const Conv3d& g = r.g;
    const int64_t segs = ceilDiv(g.O[2], kRowSeg);
    const int64_t rows = g.O[0] * g.O[1];
    const int64_t tasks = g.N * g.K * rows * segs;
    const A fill = PM == PadMode::Value ? r.padValue : A(0);
    const int64_t sx = g.S[2] * g.xs[4];
    // Outputs ow whose input column ow*S - P + a2*D lies in [0, I), per tap column: worked out
    // once (divisions), not per row and tap.
    std::vector<int64_t> loW(size_t(g.R[2])), hiW(size_t(g.R[2]));
    for (int64_t a2 = 0; a2 < g.R[2]; ++a2) {
        const int64_t off = a2 * g.D[2] - g.P[2];
        loW[size_t(a2)] = floorDiv(-off + g.S[2] - 1, g.S[2]);
        hiW[size_t(a2)] = floorDiv(g.I[2] - 1 - off, g.S[2]);
    }
#pragma omp parallel for num_threads(r.nt) schedule(static)
    for (int64_t task = 0; task < tasks; ++task) rowTask<A, M, R, PM>(r, task, segs, rows, fill, sx, loW.data(), hiW.data());
}

// Tiles are passed as lambdas so that they inline into the task loop: the vectorizer then
// keeps the accumulators in registers (a tile called through a pointer compiled to scalar code).
#define CONVX_GC_TILE(fn, L) [](const TileCtx<A>& c, const TapView<L>* v, A* o) { fn(c, v, o); }

template <class A, class M, class R, PadMode PM>
void dispatchPath(const Run<A>& r, int64_t colBlocks, int64_t kTile, int64_t wBlock) {
    constexpr int V = vecOf<A>();
    switch (r.path) {
        case Path::Row: runRows<A, M, R, PM>(r); break;
        case Path::Cf: {
            auto t = CONVX_GC_TILE((cfTile<A, M, R, PM, kKT, V>), V);
            runTiled<A, V>(r, colBlocks, kTile, wBlock, t, t);
            break;
        }
        case Path::Cl: {
            auto t = CONVX_GC_TILE((clTile<A, M, R, PM, kPT, V>), kPT);
            runTiled<A, kPT>(r, colBlocks, kTile, wBlock, t, t);
            break;
        }
        case Path::ClDw:
            runTiled<A, kPT>(r, colBlocks, kTile, wBlock, CONVX_GC_TILE((clDwTile<A, M, R, PM, kPT, V>), kPT),
                             CONVX_GC_TILE((clDwTile<A, M, R, PM, kPT, 1>), kPT));
            break;
    }
}
#undef CONVX_GC_TILE

template <class A, class M>
void dispatchReduce(const Run<A>& r, GReduce red, PadMode pm, int64_t colBlocks, int64_t kTile, int64_t wBlock) {
    if (red == GReduce::Max) return dispatchPath<A, M, RedMax, PadMode::Skip>(r, colBlocks, kTile, wBlock);
    if (red == GReduce::Min) return dispatchPath<A, M, RedMin, PadMode::Skip>(r, colBlocks, kTile, wBlock);
    if (red == GReduce::Mean) return dispatchPath<A, M, RedSum, PadMode::Skip>(r, colBlocks, kTile, wBlock);
    if (pm == PadMode::Zero && !std::is_same<M, MapAdd>::value) return dispatchPath<A, M, RedSum, PadMode::Zero>(r, colBlocks, kTile, wBlock);
    return dispatchPath<A, M, RedSum, PadMode::Value>(r, colBlocks, kTile, wBlock);
}

template <class A>
using Buf = std::vector<A>;

// The pre-pass: pre(scale * x + shift) (and the conversion to A) into a packed copy of x in
// its layout. Returns the copy's strides through xs.
template <class T, class A>
void prePass(const GconvProblem& gp, const GconvArgs& a, const Conv3d& g, A* dst, int64_t* xs, int nt) {
    const GconvOps& op = gp.ops;
    const bool cl = gp.conv.xLayout == Layout::NHWC;
    const int64_t pix = g.inPix;
    int64_t ds[5];
    if (cl) ds[1] = 1, ds[4] = g.C, ds[3] = g.C * g.I[2], ds[2] = g.C * g.I[2] * g.I[1], ds[0] = g.C * pix;
    else ds[4] = 1, ds[3] = g.I[2], ds[2] = g.I[2] * g.I[1], ds[1] = pix, ds[0] = g.C * pix;
    const T* x = static_cast<const T*>(a.x);
    const A pp = A(op.preParam);
    const int64_t rows = g.N * g.I[0] * g.I[1];
    // One (n, d, h) row of W x C per task, the inner loop along the destination's unit stride.
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
        const int64_t i1 = row % g.I[1], i0 = (row / g.I[1]) % g.I[0], n = row / (g.I[1] * g.I[0]);
        const int64_t sBase = n * g.xs[0] + i0 * g.xs[2] + i1 * g.xs[3], dBase = n * ds[0] + i0 * ds[2] + i1 * ds[3];
        A tmp[64];
        const int64_t inner = cl ? g.C : g.I[2], outer = cl ? g.I[2] : g.C;
        const int64_t sIn = cl ? g.xs[1] : g.xs[4], sOut = cl ? g.xs[4] : g.xs[1];
        const int64_t dOut = cl ? ds[4] : ds[1];
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t i = 0; i < inner; i += 64) {
                const int m = int(std::min<int64_t>(64, inner - i));
                const T* src = x + sBase + o * sOut + i * sIn;
                A* d = dst + dBase + o * dOut + i;
                for (int j = 0; j < m; ++j) tmp[j] = ld<T, A>(src, j * sIn);
                if (op.preAffine) {
                    for (int j = 0; j < m; ++j) {
                        const int64_t c = cl ? i + j : o;
                        const A sc = a.preScale ? A(a.preScale[c]) : A(1), sh = a.preShift ? A(a.preShift[c]) : A(0);
                        tmp[j] = sc * tmp[j] + sh;
                    }
                }
                applyUnary<A>(op.pre, pp, tmp, m);
                for (int j = 0; j < m; ++j) d[j] = tmp[j];
            }
    }
    for (int i = 0; i < 5; ++i) xs[i] = ds[i];
}

// Repacks w (user layout, type T) into the path's order in A, flipped for CONVOLUTION mode.
template <class T, class A>
void repack(const Conv3d& g, Path path, const T* w, int64_t kTile, int64_t Gpad, A* wp, int nt) {
    if (path == Path::Row) {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t kc = 0; kc < g.K * g.Cg; ++kc)
            for (int64_t t = 0; t < g.taps; ++t)
                wp[kc * g.taps + t] = ld<T, A>(w, (kc / g.Cg) * g.ws[0] + (kc % g.Cg) * g.ws[1] + userTapOffset(g, t));
        return;
    }
    if (path == Path::ClDw) {  // wp[tap][Gpad]
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t t = 0; t < g.taps; ++t) {
            const int64_t to = userTapOffset(g, t);
            for (int64_t k = 0; k < Gpad; ++k) wp[t * Gpad + k] = k < g.K ? ld<T, A>(w, k * g.ws[0] + to) : A(0);
        }
        return;
    }
    // cf and cl: [grp][kb][c][tap][kTile]; zeros past Kg.
    const int64_t kbN = ceilDiv(g.Kg, kTile);
    const bool tapMajor = false;  // cf and cl both walk channels outside, taps inside
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t blk = 0; blk < g.G * kbN; ++blk) {
        const int64_t grp = blk / kbN, kb = blk % kbN;
        A* block = wp + blk * g.taps * g.Cg * kTile;
        for (int64_t t = 0; t < g.taps; ++t) {
            const int64_t to = userTapOffset(g, t);
            for (int64_t c = 0; c < g.Cg; ++c) {
                A* d = block + (tapMajor ? t * g.Cg + c : c * g.taps + t) * kTile;
                for (int64_t kk = 0; kk < kTile; ++kk) {
                    const int64_t k = kb * kTile + kk;
                    d[kk] = k < g.Kg ? ld<T, A>(w, (grp * g.Kg + k) * g.ws[0] + c * g.ws[1] + to) : A(0);
                }
            }
        }
    }
}

template <class T, class A>
void forwardTyped(const ExecContext& ctx, const GconvProblem& gp, const GconvArgs& a, Scale s) {
    const GconvOps& op = gp.ops;
    const int nt = cpuThreadCount(ctx.handle ? ctx.handle->numThreads : 0);
    Run<A> r;
    r.g = conv3dOf(gp.conv);
    r.nt = nt;
    Conv3d& g = r.g;
    // The pre-pass runs when the tiles cannot read x as it is.
    const bool needPre = !std::is_same<T, A>::value || op.preAffine || op.pre != GUnary::Identity;
    thread_local Buf<A> xBuf, wBuf;
    if (needPre) {
        if (xBuf.size() < size_t(g.N * g.C * g.inPix)) xBuf.resize(size_t(g.N * g.C * g.inPix));
        prePass<T, A>(gp, a, g, xBuf.data(), g.xs, nt);
        r.x = xBuf.data();
    } else {
        r.x = reinterpret_cast<const A*>(a.x);
    }
    flattenWholeWindow(g);
    r.path = pathOf(g);
    r.planeSpan = (g.I[0] - 1) * g.xs[2] + (g.I[1] - 1) * g.xs[3] + (g.I[2] - 1) * g.xs[4] + 1;
    r.padValue = A(op.padValue);
    constexpr int V = vecOf<A>();
    int64_t kTile = 1, colBlocks = 0, wBlock = 0, Gpad = 0;
    switch (r.path) {
        case Path::Cf: kTile = kKT; break;
        case Path::Cl: kTile = V; break;
        case Path::ClDw: Gpad = ceilDiv(g.G, V) * V, kTile = Gpad; break;
        case Path::Row: break;
    }
    if (r.path == Path::Cf || r.path == Path::Cl) {
        colBlocks = g.G * ceilDiv(g.Kg, kTile);
        wBlock = g.taps * g.Cg * kTile;
    } else if (r.path == Path::ClDw) {
        colBlocks = g.G / V + g.G % V;
    }
    if (op.map != GMap::Pass) {
        size_t wn = 0;
        if (r.path == Path::Row) wn = size_t(g.K * g.Cg * g.taps);
        else if (r.path == Path::ClDw) wn = size_t(g.taps * Gpad);
        else wn = size_t(colBlocks * wBlock);
        if (wBuf.size() < wn) wBuf.resize(wn);
        repack<T, A>(g, r.path, static_cast<const T*>(a.w), kTile, Gpad, wBuf.data(), nt);
        r.w = wBuf.data();
    } else {
        r.w = nullptr;
    }
    // z strides in 3-D form.
    const int lead = 3 - gp.conv.nsp;
    for (int i = 0; i < 5; ++i) r.zs[i] = 0;
    r.needZ = op.combine != GCombine::None;
    if (r.needZ) {
        r.zs[0] = gp.zStrides[0], r.zs[1] = gp.zStrides[1];
        for (int i = 0; i < gp.conv.nsp; ++i) r.zs[2 + lead + i] = gp.zStrides[2 + i];
    }
    // Counts: MEAN divides by Cg x valid taps; MAX/MIN only need to know a window is not empty.
    r.needCnt = op.reduce != GReduce::Sum;
    if (r.needCnt) {
        for (int d = 0; d < 3; ++d) {
            r.cnt[d].resize(size_t(g.O[d]));
            for (int64_t o = 0; o < g.O[d]; ++o) {
                const int64_t v = gconvValidTaps1d(o, g.I[d], g.R[d], g.S[d], g.P[d], g.D[d]);
                r.cnt[d][size_t(o)] = op.reduce == GReduce::Mean ? A(v) : A(v > 0 ? 1 : 0);
            }
        }
        if (op.reduce == GReduce::Mean) {
            // 1 / (Cg * valid taps) per output, folded into the last dim's factor after the product
            // of the first two: done per pixel as cnt0 * cnt1 * cnt2, so store reciprocals of the
            // counts here and multiply by 1/Cg once.
            for (int d = 0; d < 3; ++d)
                for (auto& v : r.cnt[d]) v = v == A(0) ? A(0) : A(1) / v;
            for (auto& v : r.cnt[2]) v /= A(g.Cg);
        }
    }
    r.epi = Epi<A>{op.reduce, op.postAffine, a.postScale, a.postShift, op.combine, a.z, r.zs[0], r.zs[1], op.post, A(op.postParam),
                   a.y, g.ys[0], g.ys[1], A(s.alpha), A(s.beta)};
    r.finishPixels = finishPixels<A, T>;
    r.finishChannels = finishChannels<A, T>;
    switch (op.map) {
        case GMap::Mul: dispatchReduce<A, MapMul>(r, op.reduce, padModeOf(op), colBlocks, kTile, wBlock); break;
        case GMap::Add: dispatchReduce<A, MapAdd>(r, op.reduce, padModeOf(op), colBlocks, kTile, wBlock); break;
        case GMap::Pass: dispatchReduce<A, MapPass>(r, op.reduce, padModeOf(op), colBlocks, kTile, wBlock); break;
    }
}

}  // namespace

size_t cpuGconvWorkspaceSize(const GconvProblem&) { return 0; }

// The path the engine takes (tests and logs): "cf", "cl", "cl_dw" or "row".
const char* cpuGconvPath(const GconvProblem& gp) {
    Conv3d g = conv3dOf(gp.conv);
    const bool needPre = gp.conv.dtype == DType::F16 || gp.conv.dtype == DType::BF16 || gp.ops.preAffine || gp.ops.pre != GUnary::Identity;
    if (needPre && gp.conv.xLayout == Layout::NHWC) g.xs[1] = 1;
    if (needPre && gp.conv.xLayout == Layout::NCHW) g.xs[1] = g.inPix;
    flattenWholeWindow(g);
    return pathName(pathOf(g));
}

void cpuGconvForward(const ExecContext& ctx, const GconvProblem& gp, const GconvArgs& a, Scale s) {
    switch (gp.conv.dtype) {
        case DType::F32: return forwardTyped<float, float>(ctx, gp, a, s);
        case DType::F64: return forwardTyped<double, double>(ctx, gp, a, s);
        case DType::F16: return forwardTyped<Half, float>(ctx, gp, a, s);
        case DType::BF16: return forwardTyped<Bf16, float>(ctx, gp, a, s);
    }
}

const Algorithm* cpuGconvAlgorithm() {
    static const GconvAlgorithm a(CONVX_BACKEND_CPU, cpuGconvForward);
    return &a;
}

}  // namespace convx
