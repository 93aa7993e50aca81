// CONVX_ALGO_DIRECT_COALESCED on the CPU: the vectorized twin of the coalesced direct forward
// convolution. Register tiles of KT output channels x V output columns (channels-first x) or
// PT output pixels x V output channels (channels-last x), accumulated over (tap, input channel)
// with the weights of a tile in one contiguous load from a per-call repacked filter. Interior
// tiles run without any bounds test; border tiles clip each tap's column range once. Every
// output is summed by one task in a fixed order, so the bits do not depend on the thread count.
#include <algorithm>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "algorithm.h"
#include "isa.h"
#include "threads.h"
#include "direct_coalesced_plan.h"

namespace convx {

namespace {

// Offset of kernel-order tap t in the user's filter; CONVOLUTION mode mirrors the window.
inline int64_t userTapOffset(const Conv3d& g, int64_t t) {
    int64_t e = t % g.R[2], b = (t / g.R[2]) % g.R[1], a = t / (g.R[2] * g.R[1]);
    if (g.flip) a = g.R[0] - 1 - a, b = g.R[1] - 1 - b, e = g.R[2] - 1 - e;
    return a * g.ws[2] + b * g.ws[3] + e * g.ws[4];
}

// Blocked per tile: wp[grp][kb][tap][c][kTile] (tapMajor, the channels-last loop order) or
// wp[grp][kb][c][tap][kTile] (the channels-first order), kb over KgPad / kTile blocks, zeros
// past Kg: a tile's weights for one (tap, c) are kTile consecutive elements and its slice
// streams through the cache in the order the tile's loops read it.
template <class T>
void repackFilter(const DcCpuPlan& pl, int64_t kTile, bool tapMajor, const T* w, T* wp, int nt) {
    const Conv3d& g = pl.g;
    const int64_t kbPad = pl.KgPad / kTile;
    const int64_t jobs = g.G * kbPad * g.taps;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t t = job % g.taps, kb = (job / g.taps) % kbPad, grp = job / (g.taps * kbPad);
        const int64_t tapOff = userTapOffset(g, t);
        T* block = wp + (job / g.taps) * g.taps * g.Cg * kTile;
        for (int64_t c = 0; c < g.Cg; ++c) {
            T* dst = block + (tapMajor ? t * g.Cg + c : c * g.taps + t) * kTile;
            for (int64_t kk = 0; kk < kTile; ++kk) {
                const int64_t k = kb * kTile + kk;
                dst[kk] = k < g.Kg ? w[(grp * g.Kg + k) * g.ws[0] + c * g.ws[1] + tapOff] : T(0);
            }
        }
    }
}

// What a tile needs: the geometry, x at (n, first channel of the group), and the repacked
// filter at the group plus the tile's first output channel.
template <class T>
struct TileCtx {
    const Conv3d* g;
    const T* xg;
    const T* wg;
    int64_t kTile;      // weights per (tap, c) in the blocked filter
    int64_t planeSpan;  // offsets [0, planeSpan) lie inside one input channel's plane
};

// Input coordinates of tap (0, 0, 0) for the L flattened output pixels p0 .. p0 + L - 1; lanes
// past n repeat the last pixel and are marked dead (computed, never stored).
template <int L>
struct TileOrigin {
    int64_t b[3][L];
    bool live[L];
    TileOrigin(const Conv3d& g, int64_t p0, int64_t n) {
        for (int v = 0; v < L; ++v) {
            const int64_t p = p0 + std::min<int64_t>(v, n - 1);
            const int64_t o2 = p % g.O[2], o1 = (p / g.O[2]) % g.O[1], o0 = p / (g.O[2] * g.O[1]);
            b[0][v] = o0 * g.S[0] - g.P[0];
            b[1][v] = o1 * g.S[1] - g.P[1];
            b[2][v] = o2 * g.S[2] - g.P[2];
            live[v] = v < n;
        }
    }
};

// Offsets into x (relative to the group's first channel) of tap (a, b, e) for each lane, 0 for
// lanes outside the input (so a load through them is safe), and which lanes are inside.
// Answers 0: no lane inside; 1: some (gather); 2: all inside and consecutive (contiguous load);
// 3: some inside, and the lanes' unclipped offsets consecutive and within one channel's span,
// so a contiguous load is safe and the outside lanes are selected away (a row end inside the
// tile, a padded column). *start is the contiguous load's first offset for 2 and 3.
template <int L>
int tapOffsets(const Conv3d& g, const TileOrigin<L>& o, int64_t a, int64_t b, int64_t e, int64_t planeSpan, int64_t* off,
               bool* ok, int64_t* start) {
    int any = 0;
    bool all = true, consecutive = true;
    int64_t first = 0;
    for (int v = 0; v < L; ++v) {
        const int64_t i0 = o.b[0][v] + a * g.D[0], i1 = o.b[1][v] + b * g.D[1], i2 = o.b[2][v] + e * g.D[2];
        const int64_t raw = i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4];
        if (v == 0) first = raw;
        consecutive = consecutive && o.live[v] && raw == first + v;
        ok[v] = o.live[v] && i0 >= 0 && i0 < g.I[0] && i1 >= 0 && i1 < g.I[1] && i2 >= 0 && i2 < g.I[2];
        off[v] = ok[v] ? raw : 0;
        any |= ok[v];
        all = all && ok[v];
    }
    *start = first;
    if (!any) return 0;
    if (all && consecutive) return 2;
    if (consecutive && first >= 0 && first + L <= planeSpan) return 3;
    return 1;
}

// One tap's view of a tile of L pixels (see tapOffsets).
template <int L>
struct TapView {
    int kind;
    int64_t start;
    int64_t off[L];
    bool ok[L];
};

// The taps' views of the tile of pixels [p0, p0 + n): they depend on the pixels only, so a
// thread works them out once per chunk and reuses them for every image, group and channel block.
template <int L>
void tileViews(const Conv3d& g, int64_t planeSpan, int64_t p0, int64_t n, TapView<L>* views) {
    const TileOrigin<L> o(g, p0, n);
    int64_t t = 0;
    for (int64_t a = 0; a < g.R[0]; ++a)
        for (int64_t b = 0; b < g.R[1]; ++b)
            for (int64_t e = 0; e < g.R[2]; ++e, ++t) {
                TapView<L>& tv = views[t];
                tv.kind = tapOffsets<L>(g, o, a, b, e, planeSpan, tv.off, tv.ok, &tv.start);
            }
}

// Channels-first tile: KT output channels x V flattened output pixels. Channel by channel (one
// input plane at a time, so the taps' loads hit the same few cache lines), each tap adds
// KT x V multiply-adds with the accumulators in registers, from a contiguous load (interior),
// a contiguous load with the outside lanes selected to zero (row ends, padded columns) or a
// zero-selected gather.
template <class T, int KT, int V>
CONVX_CPU_INLINE void cfTileBody(const TileCtx<T>& r, const TapView<V>* views, T* out) {
    const Conv3d& g = *r.g;
    T acc[KT][V] = {};
    const int64_t cs = g.xs[1];
    for (int64_t c = 0; c < g.Cg; ++c) {
        const T* xc = r.xg + c * cs;
        const T* wc = r.wg + c * g.taps * r.kTile;
        for (int64_t tt = 0; tt < g.taps; ++tt) {
            const TapView<V>& tv = views[tt];
            const T* wv = wc + tt * r.kTile;
            T xv[V];
            if (tv.kind == 2) {
                const T* xr = xc + tv.start;
                for (int v = 0; v < V; ++v) xv[v] = xr[v];
            } else if (tv.kind == 3) {
                const T* xr = xc + tv.start;
                for (int v = 0; v < V; ++v) {
                    const T l = xr[v];
                    xv[v] = tv.ok[v] ? l : T(0);
                }
            } else if (tv.kind == 1) {
                for (int v = 0; v < V; ++v) {
                    const T l = xc[tv.off[v]];
                    xv[v] = tv.ok[v] ? l : T(0);
                }
            } else {
                continue;
            }
            for (int kk = 0; kk < KT; ++kk)
                for (int v = 0; v < V; ++v) acc[kk][v] += wv[kk] * xv[v];
        }
    }
    for (int kk = 0; kk < KT; ++kk)
        for (int v = 0; v < V; ++v) out[kk * V + v] = acc[kk][v];
}

// Channels-last tile: PT flattened output pixels x V output channels; x's channel stride is 1,
// so each pixel's input is a contiguous run over c, broadcast against V weights.
// The baseline path's tile: out of line, as GCC compiles it best for SSE2; the AVX2 path inlines
// cfTileBody into its task function instead.
template <class T, int KT, int V>
void cfTile(const TileCtx<T>& r, const TapView<V>* views, T* out) {
    cfTileBody<T, KT, V>(r, views, out);
}

template <class T, int PT, int V>
void clTile(const TileCtx<T>& r, const TapView<PT>* views, T* out) {
    const Conv3d& g = *r.g;
    T acc[PT][V] = {};
    const int64_t wTap = g.Cg * r.kTile;
    for (int64_t t = 0; t < g.taps; ++t) {
        const TapView<PT>& tv = views[t];
        if (tv.kind == 0) continue;
        const T* wt = r.wg + t * wTap;
        bool all = true;
        for (int j = 0; j < PT; ++j) all = all && tv.ok[j];
        if (all) {
            for (int64_t c = 0; c < g.Cg; ++c) {
                const T* wv = wt + c * r.kTile;
                for (int j = 0; j < PT; ++j) {
                    const T xv = r.xg[tv.off[j] + c];
                    for (int v = 0; v < V; ++v) acc[j][v] += xv * wv[v];
                }
            }
        } else {
            for (int64_t c = 0; c < g.Cg; ++c) {
                const T* wv = wt + c * r.kTile;
                for (int j = 0; j < PT; ++j) {
                    const T l = r.xg[tv.off[j] + c];
                    const T xv = tv.ok[j] ? l : T(0);
                    for (int v = 0; v < V; ++v) acc[j][v] += xv * wv[v];
                }
            }
        }
    }
    for (int j = 0; j < PT; ++j)
        for (int v = 0; v < V; ++v) out[j * V + v] = acc[j][v];
}

template <class T>
inline void storeOut(T* y, int64_t i, T v, const Scale& s) {
    double o = s.alpha * double(v);
    if (s.beta != 0.0) o += s.beta * double(y[i]);
    y[i] = static_cast<T>(o);
}

// What a thread keeps about the chunk of output pixels it is on: each tile's tap views and
// each pixel's output offset (without the image and channel terms).
template <int L>
struct ChunkCache {
    int64_t chunk = -1;
    std::vector<TapView<L>> views;  // [tile][tap]
    int64_t yPix[kDcCpuChunk];
    bool yRun[kDcCpuChunk / L];  // the tile's L outputs are consecutive in y (a vector store)
    void load(const Conv3d& g, int64_t planeSpan, int64_t c) {
        chunk = c;
        const int64_t pBeg = c * kDcCpuChunk, pEnd = std::min(g.outPix, pBeg + kDcCpuChunk);
        views.resize(static_cast<size_t>((kDcCpuChunk / L) * g.taps));
        for (int64_t p0 = pBeg, tile = 0; p0 < pEnd; p0 += L, ++tile)
            tileViews<L>(g, planeSpan, p0, std::min<int64_t>(L, pEnd - p0), views.data() + tile * g.taps);
        for (int64_t p = pBeg; p < pEnd; ++p) {
            const int64_t o2 = p % g.O[2], o1 = (p / g.O[2]) % g.O[1], o0 = p / (g.O[2] * g.O[1]);
            yPix[p - pBeg] = o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4];
        }
        for (int64_t p0 = pBeg, tile = 0; p0 < pEnd; p0 += L, ++tile) {
            bool run = p0 + L <= pEnd;
            for (int64_t j = 1; run && j < L; ++j) run = yPix[p0 - pBeg + j] == yPix[p0 - pBeg] + j;
            yRun[tile] = run;
        }
    }
};

// One task (chunk, n, group, channel block): the hot loop.
template <class T, int L, class Tile>
CONVX_CPU_INLINE void runTask(const DcCpuPlan& pl, const T* x, const T* wp, T* y, const Scale& s, int64_t planeSpan,
                              bool channelsFirst, int V, Tile tile, int64_t task, ChunkCache<L>& cache, T* out) {
    const Conv3d& g = pl.g;
    const int64_t kTile = pl.kTile;
    int64_t q = task;
    const int64_t kb = q % pl.kBlocks;
    q /= pl.kBlocks;
    const int64_t grp = q % g.G;
    q /= g.G;
    const int64_t n = q % g.N, chunk = q / g.N;
    if (cache.chunk != chunk) cache.load(g, planeSpan, chunk);
    const int64_t k0 = kb * kTile;
    const int64_t kn = std::min(kTile, g.Kg - k0);
    const TileCtx<T> r{&g, x + n * g.xs[0] + grp * g.Cg * g.xs[1], wp + (grp * pl.KgPad + k0) * g.taps * g.Cg, kTile, planeSpan};
    T* yBase = y + n * g.ys[0] + (grp * g.Kg + k0) * g.ys[1];
    const int64_t pBeg = chunk * kDcCpuChunk, pEnd = std::min(g.outPix, pBeg + kDcCpuChunk);
    for (int64_t p0 = pBeg, t = 0; p0 < pEnd; p0 += L, ++t) {
        const int64_t pn = std::min<int64_t>(L, pEnd - p0);
        tile(r, cache.views.data() + t * g.taps, out);
        if (channelsFirst && cache.yRun[t]) {
            // L consecutive outputs per channel: the scaling in T, vectorized.
            const T alpha = T(s.alpha), beta = T(s.beta);
            for (int64_t kk = 0; kk < kn; ++kk) {
                T* yk = yBase + cache.yPix[p0 - pBeg] + kk * g.ys[1];
                const T* o = out + kk * L;
                if (beta == T(0))
                    for (int j = 0; j < L; ++j) yk[j] = alpha * o[j];
                else
                    for (int j = 0; j < L; ++j) yk[j] = alpha * o[j] + beta * yk[j];
            }
            continue;
        }
        for (int64_t j = 0; j < pn; ++j) {
            T* yp = yBase + cache.yPix[p0 - pBeg + j];
            for (int64_t kk = 0; kk < kn; ++kk) storeOut(yp, kk * g.ys[1], channelsFirst ? out[kk * V + j] : out[j * V + kk], s);
        }
    }
}

#if CONVX_CPU_DISPATCH
// A channels-first task compiled for AVX2 + FMA (isa.h), with the whole tile inlined, taken when
// the CPU has them. Called from inside the parallel loop, so the target is not lost to the
// outlined OpenMP body. The channels-last path has none: its AVX2 build measured slower.
template <class T, int L, int KT>
CONVX_CPU_AVX2 void runTaskAvx2(const DcCpuPlan& pl, const T* x, const T* wp, T* y, const Scale& s, int64_t planeSpan, int V,
                                int64_t task, ChunkCache<L>& cache, T* out) {
    runTask<T, L>(pl, x, wp, y, s, planeSpan, true, V,
                  [](const TileCtx<T>& r, const TapView<L>* v, T* o) { cfTileBody<T, KT, L>(r, v, o); }, task, cache, out);
}
#endif

// One layout's loop: tasks are (chunk, n, group, channel block) with the chunk outermost, so a
// thread's consecutive tasks share the chunk's cached views.
template <class T, int L, int KT, class Tile>
void runTasks(const DcCpuPlan& pl, const T* x, const T* wp, T* y, const Scale& s, int64_t planeSpan, bool channelsFirst, int V,
              int nt, Tile tile) {
#if CONVX_CPU_DISPATCH
    const bool avx2 = channelsFirst && cpuHasAvx2Fma();
#endif
#pragma omp parallel num_threads(nt)
    {
        ChunkCache<L> cache;
        T out[kDcCpuKPad * 8];
#pragma omp for schedule(static)
        for (int64_t task = 0; task < pl.tasks; ++task) {
#if CONVX_CPU_DISPATCH
            if constexpr (KT > 0) {
                if (avx2) {
                    runTaskAvx2<T, L, KT>(pl, x, wp, y, s, planeSpan, V, task, cache, out);
                    continue;
                }
            }
#endif
            runTask<T, L>(pl, x, wp, y, s, planeSpan, channelsFirst, V, tile, task, cache, out);
        }
    }
}

template <class T>
void runTyped(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) {
    constexpr int V = sizeof(T) == 8 ? 4 : 8;
    constexpr int KT = kDcCpuKT, PT = kDcCpuPT;
    static_assert(kDcCpuKPad % KT == 0 && kDcCpuKPad % V == 0, "the padded filter must hold whole tiles");
    static_assert(kDcCpuChunk % V == 0 && kDcCpuChunk % PT == 0, "a chunk holds whole tiles");
    const DcCpuPlan pl = planDcCpu(p);
    const Conv3d& g = pl.g;
    const int nt = cpuThreadCount(ctx.handle ? ctx.handle->numThreads : 0);
    const T* x = static_cast<const T*>(b.x);
    T* y = static_cast<T*>(b.y);
    // The packed filter: the executor's own buffer, so the call needs no workspace. Kept per
    // calling thread and only ever grown: a fresh multi-MiB allocation per call costs its page
    // faults and zeroing every time (measured: up to half the run time of a 4 MiB filter).
    // It holds the largest packed filter this thread has run until the thread exits.
    thread_local std::vector<T> packed;
    if (packed.size() < pl.packedBytes / sizeof(T)) packed.resize(pl.packedBytes / sizeof(T));
    T* wp = packed.data();
    const bool channelsFirst = pl.path == DcCpuPath::ChannelsFirst;
    // Offsets [0, planeSpan) from a channel's first element stay inside that channel's plane.
    const int64_t planeSpan = (g.I[0] - 1) * g.xs[2] + (g.I[1] - 1) * g.xs[3] + (g.I[2] - 1) * g.xs[4] + 1;
    repackFilter(pl, pl.kTile, !channelsFirst, static_cast<const T*>(b.w), wp, nt);
    if (!channelsFirst)
        runTasks<T, PT, 0>(pl, x, wp, y, s, planeSpan, false, V, nt,
                        [](const TileCtx<T>& r, const TapView<PT>* v, T* out) { clTile<T, PT, V>(r, v, out); });
    else if (pl.kTile == KT)
        runTasks<T, V, KT>(pl, x, wp, y, s, planeSpan, true, V, nt,
                       [](const TileCtx<T>& r, const TapView<V>* v, T* out) { cfTile<T, KT, V>(r, v, out); });
    else
        runTasks<T, V, 1>(pl, x, wp, y, s, planeSpan, true, V, nt,
                       [](const TileCtx<T>& r, const TapView<V>* v, T* out) { cfTile<T, 1, V>(r, v, out); });
}

class CpuDirectCoalesced final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_DIRECT_COALESCED; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CPU; }
    unsigned directions() const override { return dirBit(Direction::Forward); }
    Applicability isApplicable(const Problem& p) const override {
        std::string why;
        if (!dcCpuFits(p, &why)) return Applicability::no(why);
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        if (p.dtype == DType::F64) runTyped<double>(ctx, p, b, s);
        else runTyped<float>(ctx, p, b, s);
    }
};

}  // namespace

const Algorithm* cpuDirectCoalescedAlgorithm() {
    static const CpuDirectCoalesced a;
    return &a;
}

}  // namespace convx
