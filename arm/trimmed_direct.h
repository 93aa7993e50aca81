// The CPU engine shared by filter_trim and dilation_split: a direct convolution over dense
// (sub-)problems whose filter windows are trimmed per output (src/filter_trim_plan.h), so the
// inner loops have no bounds tests and never multiply a padded zero.
//
// Work unit: one output row (n, group, block of KB output channels, m0, m1) of one sub-problem;
// the row's W outputs are walked segment by segment (outputs sharing one trimmed window), QB
// columns at a time. A tile keeps KB x QB accumulators in registers over the whole reduction
// (C/G channels x trimmed taps), loading QB inputs and KB weights per tap. Every output is
// computed by one thread in a fixed order: results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "filter_trim_plan.h"
#include "threads.h"
#include "geometry.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace convx {
namespace trimmed {

constexpr int KB = 4;  // output channels per register tile
constexpr int QB = 8;  // output columns per register tile

// Scratch of the calling thread (packed filter, repacked x), kept between calls: a fresh
// allocation per call costs more in page faults than the convolution of a small layer.
template <class T>
T* scratch(size_t elems, int slot) {
    thread_local std::vector<T> buf[2];
    if (buf[slot].size() < elems) buf[slot].resize(elems);
    return buf[slot].data();
}

inline int64_t kBlocks(int64_t Kg) { return (Kg + KB - 1) / KB; }

// Elements of the packed filter: [G][kBlocks][C/G][taps][KB], zero-padded past K/G.
inline size_t packedFilterElems(const Conv3d& g) { return static_cast<size_t>(g.G * kBlocks(g.Kg) * g.Cg * g.taps * KB); }
inline size_t packedFilterElems(const Problem& p) {
    return static_cast<size_t>(p.G * kBlocks(p.Kg()) * p.Cg() * p.taps() * KB);
}

// Packs the user's filter in cross-correlation order (g.flip mirrors the taps here); wsG is the
// filter's group stride (K/G * ws[0] forward; see ForwardView for backward-data).
template <class T>
void packFilter(const Conv3d& g, const T* w, T* wp, int nt, int64_t wsG) {
    const int64_t kb = kBlocks(g.Kg);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t gb = 0; gb < g.G * kb; ++gb) {
        const int64_t grp = gb / kb, blk = gb % kb;
        T* dst = wp + gb * g.Cg * g.taps * KB;
        for (int64_t c = 0; c < g.Cg; ++c)
            for (int64_t a = 0; a < g.R[0]; ++a)
                for (int64_t b = 0; b < g.R[1]; ++b)
                    for (int64_t e = 0; e < g.R[2]; ++e)
                        for (int kk = 0; kk < KB; ++kk, ++dst) {
                            const int64_t kl = blk * KB + kk;
                            if (kl >= g.Kg) {
                                *dst = T(0);
                                continue;
                            }
                            const int64_t ua = g.flip ? g.R[0] - 1 - a : a, ub = g.flip ? g.R[1] - 1 - b : b,
                                          ue = g.flip ? g.R[2] - 1 - e : e;
                            *dst = w[grp * wsG + kl * g.ws[0] + c * g.ws[1] + ua * g.ws[2] + ub * g.ws[3] + ue * g.ws[4]];
                        }
    }
}

// One axis of a dense sub-problem: its trimmed windows (input coordinate v = m*s - p + t*d of
// the sub-grid) and where its outputs go in y (o = oBase + oStep*m).
struct AxisView {
    const TrimAxis* trim = nullptr;
    int64_t oBase = 0, oStep = 1;
};

struct SubView {
    AxisView ax[3];
    int64_t xOff = 0;           // offset of the sub-grid in an (n, c) plane of x
    int64_t xv[2] = {0, 0};     // element strides of v along D and H; along W it is 1
};

template <class T>
struct Job {
    const T* x = nullptr;
    int64_t xn = 0, xc = 0;     // x strides of n and c
    const T* wp = nullptr;      // packed filter
    T* y = nullptr;
    int64_t ys[5] = {};         // y strides (N, K, D, H, W)
    int64_t N = 1, G = 1, Cg = 1, Kg = 1, R[3] = {1, 1, 1}, taps = 1;
    T alpha = T(1), beta = T(0);
    int threads = 1;
};

// One register tile: KB channels x QB columns; reduction over C/G, the (a, b) pairs of the row
// and the taps [eb, ee) of the column segment; then the alpha/beta store. Vectorized over the
// columns (unit stride when the stride along W is 1). Columns before jStart were stored by the
// previous tile of the segment (a segment's last tile is shifted back to stay full).
template <class T, bool Unit>
inline void tileFull(const Job<T>& J, const T* xg, const T* wkb, const int64_t* xoffs, const int64_t* tapIdx, int64_t npairs,
                     int64_t colOff, int64_t s2, int64_t d2, int64_t eb, int64_t ee, T* yrow, int64_t yColStep, int kCount,
                     int jStart) {
    T acc[KB][QB];
    for (int k = 0; k < KB; ++k)
        for (int j = 0; j < QB; ++j) acc[k][j] = T(0);
    const int64_t wcStride = J.taps * KB;
    for (int64_t c = 0; c < J.Cg; ++c) {
        const T* xcp = xg + c * J.xc + colOff;
        const T* wc = wkb + c * wcStride;
        for (int64_t pr = 0; pr < npairs; ++pr) {
            const T* xr = xcp + xoffs[pr];
            const T* wr = wc + tapIdx[pr] * KB;
            for (int64_t e = eb; e < ee; ++e) {
                const T* xe = xr + e * d2;
                const T* we = wr + e * KB;
                T xv[QB];
                for (int j = 0; j < QB; ++j) xv[j] = Unit ? xe[j] : xe[j * s2];
                for (int k = 0; k < KB; ++k) {
                    const T wk = we[k];
                    for (int j = 0; j < QB; ++j) acc[k][j] += wk * xv[j];
                }
            }
        }
    }
    for (int k = 0; k < kCount; ++k) {
        T* yk = yrow + k * J.ys[1];
        for (int j = jStart; j < QB; ++j) {
            T* yp = yk + j * yColStep;
            T v = J.alpha * acc[k][j];
            if (J.beta != T(0)) v += J.beta * *yp;  // beta 0 never reads y
            *yp = v;
        }
    }
}

// A narrow tile (a border class, or the tail of a segment): wd < QB columns, vectorized over
// the KB output channels instead (their packed weights are contiguous); the width is a template
// parameter so the accumulators stay in registers.
template <class T, int WD>
inline void tileNarrow(const Job<T>& J, const T* xg, const T* wkb, const int64_t* xoffs, const int64_t* tapIdx, int64_t npairs,
                       int64_t colOff, int64_t s2, int64_t d2, int64_t eb, int64_t ee, T* yrow, int64_t yColStep, int kCount) {
    constexpr int wd = WD;
#if defined(__GNUC__)
    // GCC's SLP vectorizer turned the plain loops below into scalar adds with shuffles; a
    // compiler vector of the KB channels (GCC/Clang built-in, any target: SSE, AVX, NEON) keeps
    // one register per column.
    typedef T V __attribute__((vector_size(KB * sizeof(T))));
    V acc[WD];
    for (int j = 0; j < WD; ++j) acc[j] = V{};
#else
    T acc[WD][KB];
    for (int j = 0; j < WD; ++j)
        for (int k = 0; k < KB; ++k) acc[j][k] = T(0);
#endif
    const int64_t wcStride = J.taps * KB;
    for (int64_t c = 0; c < J.Cg; ++c) {
        const T* xcp = xg + c * J.xc + colOff;
        const T* wc = wkb + c * wcStride;
        for (int64_t pr = 0; pr < npairs; ++pr) {
            const T* xr = xcp + xoffs[pr];
            const T* wr = wc + tapIdx[pr] * KB;
            for (int64_t e = eb; e < ee; ++e) {
                const T* xe = xr + e * d2;
                const T* we = wr + e * KB;
#if defined(__GNUC__)
                V wv;
                std::memcpy(&wv, we, sizeof(V));
                for (int j = 0; j < wd; ++j) acc[j] += xe[j * s2] * wv;
#else
                for (int j = 0; j < wd; ++j) {
                    const T xv = xe[j * s2];
                    for (int k = 0; k < KB; ++k) acc[j][k] += xv * we[k];
                }
#endif
            }
        }
    }
    for (int k = 0; k < kCount; ++k) {
        T* yk = yrow + k * J.ys[1];
        for (int j = 0; j < wd; ++j) {
            T* yp = yk + j * yColStep;
            T v = J.alpha * acc[j][k];
            if (J.beta != T(0)) v += J.beta * *yp;  // beta 0 never reads y
            *yp = v;
        }
    }
}

template <class T>
void runRows(const Job<T>& J, const std::vector<SubView>& subs) {
    const int64_t kb = kBlocks(J.Kg);
    std::vector<int64_t> prefix(subs.size() + 1, 0);
    for (size_t i = 0; i < subs.size(); ++i)
        prefix[i + 1] = prefix[i] + J.N * J.G * kb * subs[i].ax[0].trim->O * subs[i].ax[1].trim->O;
    const int64_t rows = prefix.back();
    const int nt = cpuThreadCount(J.threads);
#pragma omp parallel num_threads(nt)
    {
        std::vector<int64_t> xoffs(static_cast<size_t>(J.R[0] * J.R[1])), tapIdx(xoffs.size());
#pragma omp for schedule(dynamic, 1)
        for (int64_t row = 0; row < rows; ++row) {
            const size_t si = static_cast<size_t>(std::upper_bound(prefix.begin(), prefix.end(), row) - prefix.begin() - 1);
            const SubView& sv = subs[si];
            const TrimAxis& A0 = *sv.ax[0].trim;
            const TrimAxis& A1 = *sv.ax[1].trim;
            const TrimAxis& A2 = *sv.ax[2].trim;
            int64_t r = row - prefix[si];
            const int64_t m1 = r % A1.O;
            r /= A1.O;
            const int64_t m0 = r % A0.O;
            r /= A0.O;
            const int64_t blk = r % kb;
            r /= kb;
            const int64_t grp = r % J.G, n = r / J.G;

            int64_t npairs = 0;
            for (int64_t a = A0.tBegin[m0]; a < A0.tEnd[m0]; ++a)
                for (int64_t b = A1.tBegin[m1]; b < A1.tEnd[m1]; ++b, ++npairs) {
                    xoffs[npairs] = (m0 * A0.s - A0.p + a * A0.d) * sv.xv[0] + (m1 * A1.s - A1.p + b * A1.d) * sv.xv[1];
                    tapIdx[npairs] = (a * J.R[1] + b) * J.R[2];
                }
            const T* xg = J.x + n * J.xn + grp * J.Cg * J.xc + sv.xOff;
            const T* wkb = J.wp + (grp * kb + blk) * J.Cg * J.taps * KB;
            const int kCount = static_cast<int>(std::min<int64_t>(KB, J.Kg - blk * KB));
            const int64_t o0 = sv.ax[0].oBase + sv.ax[0].oStep * m0, o1 = sv.ax[1].oBase + sv.ax[1].oStep * m1;
            T* yrow = J.y + n * J.ys[0] + (grp * J.Kg + blk * KB) * J.ys[1] + o0 * J.ys[2] + o1 * J.ys[3];
            const int64_t yColStep = sv.ax[2].oStep * J.ys[4];
            const bool unit = A2.s == 1;
            for (const TrimSegment& sg : A2.segments) {
                for (int64_t next = sg.oBegin; next < sg.oEnd;) {
                    // a segment of QB columns or more runs full tiles only: its last tile is
                    // shifted back to end at the segment's end and stores just its new columns
                    const int64_t width = sg.oEnd - sg.oBegin;
                    const int64_t mc = width >= QB ? std::min<int64_t>(next, sg.oEnd - QB) : next;
                    const int wd = static_cast<int>(std::min<int64_t>(QB, sg.oEnd - mc));
                    const int jStart = static_cast<int>(next - mc);
                    next = mc + wd;
                    const int64_t colOff = mc * A2.s - A2.p;
                    T* yp = yrow + (sv.ax[2].oBase + sv.ax[2].oStep * mc) * J.ys[4];
                    const int64_t* xo = xoffs.data();
                    const int64_t* ti = tapIdx.data();
                    if (wd < QB) {
                        static_assert(QB == 8, "the narrow widths below are 1 .. QB - 1");
#define CONVX_TRIM_NARROW(W) \
    case W: tileNarrow<T, W>(J, xg, wkb, xo, ti, npairs, colOff, A2.s, A2.d, sg.tBegin, sg.tEnd, yp, yColStep, kCount); break;
                        switch (wd) {
                            CONVX_TRIM_NARROW(1)
                            CONVX_TRIM_NARROW(2)
                            CONVX_TRIM_NARROW(3)
                            CONVX_TRIM_NARROW(4)
                            CONVX_TRIM_NARROW(5)
                            CONVX_TRIM_NARROW(6)
                            default: tileNarrow<T, 7>(J, xg, wkb, xo, ti, npairs, colOff, A2.s, A2.d, sg.tBegin, sg.tEnd, yp, yColStep, kCount);
                        }
#undef CONVX_TRIM_NARROW
                    } else if (unit)
                        tileFull<T, true>(J, xg, wkb, xo, ti, npairs, colOff, A2.s, A2.d, sg.tBegin, sg.tEnd, yp, yColStep, kCount, jStart);
                    else
                        tileFull<T, false>(J, xg, wkb, xo, ti, npairs, colOff, A2.s, A2.d, sg.tBegin, sg.tEnd, yp, yColStep, kCount, jStart);
                }
            }
        }
    }
}

}  // namespace trimmed
}  // namespace convx
