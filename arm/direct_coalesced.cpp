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
#include "direct_coalesced_plan.h"

namespace convx {

namespace {

int threadCount(int threads) {
#ifdef _OPENMP
    // The same cap as the reference: an absurd request must not crash the OpenMP runtime.
    const int cap = std::max(64, 4 * omp_get_num_procs());
    return threads > 0 ? std::min(threads, cap) : omp_get_max_threads();
#else
    (void)threads;
    return 1;
#endif
}

// Offset of kernel-order tap t in the user's filter; CONVOLUTION mode mirrors the window.
inline int64_t userTapOffset(const Conv3d& g, int64_t t) {
    int64_t e = t % g.R[2], b = (t / g.R[2]) % g.R[1], a = t / (g.R[2] * g.R[1]);
    if (g.flip) a = g.R[0] - 1 - a, b = g.R[1] - 1 - b, e = g.R[2] - 1 - e;
    return a * g.ws[2] + b * g.ws[3] + e * g.ws[4];
}

// wp[grp][tap][c][KgPad], output channel fastest, zeros past Kg.
template <class T>
void repackFilter(const DcCpuPlan& pl, const T* w, T* wp, int nt) {
    const Conv3d& g = pl.g;
    const int64_t jobs = g.G * g.taps;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t job = 0; job < jobs; ++job) {
        const int64_t grp = job / g.taps, t = job % g.taps;
        const int64_t tapOff = userTapOffset(g, t);
        T* dst = wp + job * g.Cg * pl.KgPad;
        for (int64_t c = 0; c < g.Cg; ++c, dst += pl.KgPad) {
            for (int64_t k = 0; k < g.Kg; ++k) dst[k] = w[(grp * g.Kg + k) * g.ws[0] + c * g.ws[1] + tapOff];
            for (int64_t k = g.Kg; k < pl.KgPad; ++k) dst[k] = T(0);
        }
    }
}

// What one row task needs to know about its output row.
template <class T>
struct RowCtx {
    const Conv3d* g;
    const T* xg;      // x at (n, first channel of the group)
    const T* wg;      // repacked filter at the group, plus the tile's first output channel
    int64_t KgPad;
    int64_t tapRows;  // R[0] * R[1]
    const int64_t* rowOff;  // per (a, b): x offset of the input row, or -1 when outside
};

// Channels-first interior tile: KT channels x V columns starting at column ow0, every tap in
// bounds. `unit` is a unit step between consecutive columns' inputs.
template <class T, int KT, int V, bool unit>
void cfInterior(const RowCtx<T>& r, int64_t ow0, T* out) {
    const Conv3d& g = *r.g;
    T acc[KT][V] = {};
    const int64_t step = g.S[2] * g.xs[4];
    const int64_t cs = g.xs[1];
    const int64_t wTap = g.Cg * r.KgPad;
    for (int64_t ab = 0; ab < r.tapRows; ++ab) {
        if (r.rowOff[ab] < 0) continue;
        for (int64_t e = 0; e < g.R[2]; ++e) {
            const int64_t t = ab * g.R[2] + e;
            const T* wt = r.wg + t * wTap;
            const T* xt = r.xg + r.rowOff[ab] + (ow0 * g.S[2] - g.P[2] + e * g.D[2]) * g.xs[4];
            for (int64_t c = 0; c < g.Cg; ++c) {
                const T* xr = xt + c * cs;
                const T* wv = wt + c * r.KgPad;
                T xv[V];
                for (int v = 0; v < V; ++v) xv[v] = unit ? xr[v] : xr[v * step];
                for (int kk = 0; kk < KT; ++kk)
                    for (int v = 0; v < V; ++v) acc[kk][v] += wv[kk] * xv[v];
            }
        }
    }
    for (int kk = 0; kk < KT; ++kk)
        for (int v = 0; v < V; ++v) out[kk * V + v] = acc[kk][v];
}

// Channels-first border tile: vn <= V columns; each tap's valid columns clipped once.
template <class T, int KT, int V>
void cfBorder(const RowCtx<T>& r, int64_t ow0, int64_t vn, T* out) {
    const Conv3d& g = *r.g;
    T acc[KT * V];
    std::fill(acc, acc + KT * V, T(0));
    const int64_t step = g.S[2] * g.xs[4];
    const int64_t wTap = g.Cg * r.KgPad;
    for (int64_t ab = 0; ab < r.tapRows; ++ab) {
        if (r.rowOff[ab] < 0) continue;
        for (int64_t e = 0; e < g.R[2]; ++e) {
            const int64_t iw0 = ow0 * g.S[2] - g.P[2] + e * g.D[2];
            // columns v with 0 <= iw0 + v*S < I
            int64_t lo = iw0 >= 0 ? 0 : (-iw0 + g.S[2] - 1) / g.S[2];
            int64_t hi = iw0 > g.I[2] - 1 ? 0 : (g.I[2] - 1 - iw0) / g.S[2] + 1;
            hi = std::min(hi, vn);
            if (lo >= hi) continue;
            const int64_t t = ab * g.R[2] + e;
            const T* wt = r.wg + t * wTap;
            const T* xt = r.xg + r.rowOff[ab] + iw0 * g.xs[4];
            for (int64_t c = 0; c < g.Cg; ++c) {
                const T* xr = xt + c * g.xs[1];
                const T* wv = wt + c * r.KgPad;
                for (int kk = 0; kk < KT; ++kk)
                    for (int64_t v = lo; v < hi; ++v) acc[kk * V + v] += wv[kk] * xr[v * step];
            }
        }
    }
    std::copy(acc, acc + KT * V, out);
}

// Channels-last interior tile: PT consecutive output pixels x V channels, every tap in bounds.
template <class T, int PT, int V>
void clInterior(const RowCtx<T>& r, int64_t ow0, T* out) {
    const Conv3d& g = *r.g;
    T acc[PT][V] = {};
    const int64_t wTap = g.Cg * r.KgPad;
    const int64_t pixStep = g.S[2] * g.xs[4];
    for (int64_t ab = 0; ab < r.tapRows; ++ab) {
        if (r.rowOff[ab] < 0) continue;
        for (int64_t e = 0; e < g.R[2]; ++e) {
            const int64_t t = ab * g.R[2] + e;
            const T* wt = r.wg + t * wTap;
            const T* xt = r.xg + r.rowOff[ab] + (ow0 * g.S[2] - g.P[2] + e * g.D[2]) * g.xs[4];
            for (int64_t c = 0; c < g.Cg; ++c) {
                const T* wv = wt + c * r.KgPad;
                T wr[V];
                for (int v = 0; v < V; ++v) wr[v] = wv[v];
                for (int j = 0; j < PT; ++j) {
                    const T xv = xt[j * pixStep + c];  // channel stride is 1 on this path
                    for (int v = 0; v < V; ++v) acc[j][v] += xv * wr[v];
                }
            }
        }
    }
    for (int j = 0; j < PT; ++j)
        for (int v = 0; v < V; ++v) out[j * V + v] = acc[j][v];
}

// Channels-last border tile: pn <= PT pixels, each tap tested once per pixel.
template <class T, int PT, int V>
void clBorder(const RowCtx<T>& r, int64_t ow0, int64_t pn, T* out) {
    const Conv3d& g = *r.g;
    T acc[PT * V];
    std::fill(acc, acc + PT * V, T(0));
    const int64_t wTap = g.Cg * r.KgPad;
    for (int64_t ab = 0; ab < r.tapRows; ++ab) {
        if (r.rowOff[ab] < 0) continue;
        for (int64_t e = 0; e < g.R[2]; ++e) {
            const T* wt = r.wg + (ab * g.R[2] + e) * wTap;
            for (int64_t j = 0; j < pn; ++j) {
                const int64_t iw = (ow0 + j) * g.S[2] - g.P[2] + e * g.D[2];
                if (iw < 0 || iw >= g.I[2]) continue;
                const T* xr = r.xg + r.rowOff[ab] + iw * g.xs[4];
                T* a = acc + j * V;
                for (int64_t c = 0; c < g.Cg; ++c) {
                    const T xv = xr[c];
                    const T* wv = wt + c * r.KgPad;
                    for (int v = 0; v < V; ++v) a[v] += xv * wv[v];
                }
            }
        }
    }
    std::copy(acc, acc + PT * V, out);
}

template <class T>
inline void storeOut(T* y, int64_t i, T v, const Scale& s) {
    double o = s.alpha * double(v);
    if (s.beta != 0.0) o += s.beta * double(y[i]);
    y[i] = static_cast<T>(o);
}

template <class T>
void runTyped(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) {
    constexpr int V = sizeof(T) == 8 ? 4 : 8;
    constexpr int KT = kDcCpuKT, PT = kDcCpuPT;
    static_assert(kDcCpuKPad % KT == 0 && kDcCpuKPad % V == 0, "the padded filter must hold whole tiles");
    const DcCpuPlan pl = planDcCpu(p);
    const Conv3d& g = pl.g;
    const int nt = threadCount(ctx.handle ? ctx.handle->numThreads : 0);
    const T* x = static_cast<const T*>(b.x);
    T* y = static_cast<T*>(b.y);
    T* wp = static_cast<T*>(ctx.workspace);
    repackFilter(pl, static_cast<const T*>(b.w), wp, nt);

    const int64_t tapRows = g.R[0] * g.R[1];
    const bool channelsFirst = pl.path == DcCpuPath::ChannelsFirst;
    const int64_t kTile = channelsFirst ? KT : V;
    const int64_t colTile = channelsFirst ? V : PT;
    const bool unit = g.S[2] * g.xs[4] == 1;
    // Columns [owLo, owHi) have every tap of the row inside the input: interior tiles.
    const int64_t owLo = std::min(g.O[2], (g.P[2] + g.S[2] - 1) / g.S[2]);
    const int64_t lastTap = (g.R[2] - 1) * g.D[2];
    const int64_t owHi = g.I[2] - 1 - lastTap + g.P[2] < 0 ? 0 : std::min(g.O[2], (g.I[2] - 1 - lastTap + g.P[2]) / g.S[2] + 1);

#pragma omp parallel num_threads(nt)
    {
        std::vector<int64_t> rowOff(static_cast<size_t>(tapRows));
        T out[kDcCpuKPad * 8];
#pragma omp for schedule(static)
        for (int64_t task = 0; task < pl.tasks; ++task) {
            int64_t q = task;
            const int64_t row = q % pl.rows; q /= pl.rows;
            const int64_t kb = q % pl.kBlocks; q /= pl.kBlocks;
            const int64_t grp = q % g.G;
            const int64_t n = q / g.G;
            const int64_t od = row / g.O[1], oh = row % g.O[1];
            for (int64_t a = 0; a < g.R[0]; ++a)
                for (int64_t bb = 0; bb < g.R[1]; ++bb) {
                    const int64_t id = od * g.S[0] - g.P[0] + a * g.D[0];
                    const int64_t ih = oh * g.S[1] - g.P[1] + bb * g.D[1];
                    const bool in = id >= 0 && id < g.I[0] && ih >= 0 && ih < g.I[1];
                    rowOff[a * g.R[1] + bb] = in ? id * g.xs[2] + ih * g.xs[3] : -1;
                }
            const int64_t k0 = kb * kTile;
            const int64_t kn = std::min(kTile, g.Kg - k0);
            RowCtx<T> r{&g, x + n * g.xs[0] + grp * g.Cg * g.xs[1], wp + grp * g.taps * g.Cg * pl.KgPad + k0, pl.KgPad, tapRows,
                        rowOff.data()};
            const int64_t yRow = n * g.ys[0] + (grp * g.Kg + k0) * g.ys[1] + od * g.ys[2] + oh * g.ys[3];
            for (int64_t ow0 = 0; ow0 < g.O[2]; ow0 += colTile) {
                const int64_t cn = std::min(colTile, g.O[2] - ow0);
                const bool interior = cn == colTile && ow0 >= owLo && ow0 + colTile <= owHi;
                if (channelsFirst) {
                    if (interior && unit) cfInterior<T, KT, V, true>(r, ow0, out);
                    else if (interior) cfInterior<T, KT, V, false>(r, ow0, out);
                    else cfBorder<T, KT, V>(r, ow0, cn, out);
                    for (int64_t kk = 0; kk < kn; ++kk)
                        for (int64_t v = 0; v < cn; ++v) storeOut(y, yRow + kk * g.ys[1] + (ow0 + v) * g.ys[4], out[kk * V + v], s);
                } else {
                    if (interior) clInterior<T, PT, V>(r, ow0, out);
                    else clBorder<T, PT, V>(r, ow0, cn, out);
                    for (int64_t j = 0; j < cn; ++j)
                        for (int64_t v = 0; v < kn; ++v) storeOut(y, yRow + v * g.ys[1] + (ow0 + j) * g.ys[4], out[j * V + v], s);
                }
            }
        }
    }
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
    size_t workspaceSize(const Problem& p) const override { return dcCpuWorkspace(p); }
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
