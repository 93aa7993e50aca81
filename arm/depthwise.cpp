// CONVX_ALGO_DEPTHWISE on the CPU: direct depthwise convolution (groups == C, any channel
// multiplier), all three directions, written once with Google Highway and compiled for every
// target Highway attains (SSE4/AVX2/AVX-512 on x86, NEON on aarch64), the best picked at run
// time. Implicit padding everywhere: no padded copy of any tensor; interior tiles run unchecked
// and the border is clipped per row and per tap. Each output element is summed by one job in a
// fixed order, so the bits do not depend on the thread count. See docs/algorithms/depthwise.md.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "arm/depthwise.cpp"
// Scalable SVE vectors cannot live in the register-tile arrays below; NEON serves aarch64.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
#include <hwy/foreach_target.h>  // re-includes this file once per target
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "algorithm.h"
#include "threads.h"
#include "depthwise_plan.h"

#ifndef CONVX_DEPTHWISE_SHARED
#define CONVX_DEPTHWISE_SHARED
namespace convx {
namespace dw {

// What every kernel needs; the filter arrives repacked (wt), the rest are the user's buffers by
// role (dx is x, dy is y, dw is w).
struct Args {
    DwPlan pl;
    const float* x = nullptr;
    const float* wt = nullptr;  // NCHW kernels: [k][r][s]; NHWC kernels: [r][s][k]; CONVOLUTION mode mirrored in
    float* xo = nullptr;        // dx (backward-data)
    float* y = nullptr;         // y (forward) or dy (read by the backward directions)
    float* wo = nullptr;        // dw (weight gradient)
    float alpha = 1.f, beta = 0.f;
    int threads = 1;
};

inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }
inline int64_t clampI(int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); }
inline bool inside(int64_t i, int64_t n) { return i >= 0 && i < n; }

// Channels per weight-gradient job of the channels-last kernel: a multiple of every target's
// lane count, so the jobs (and the bits) are the same on every machine of one target.
constexpr int64_t kChanBlock = 16;
constexpr int kRowTile = 4;  // output rows per register tile of the channels-first forward kernels

// Channels-first forward on maps up to 128x128 at W stride 1 or 2: each plane is first copied into
// a zero-margined scratch tile so every output column is a plain vector (no scalar border
// columns, no row tests), and one job takes several planes (at least kJobOutputs outputs) so the
// per-job cost and the margin zeroing are amortised. A function of the Problem only.
constexpr int64_t kJobOutputs = 1024;
constexpr int kPadRows = 8;  // output rows per register tile of the padded form
inline bool fwdPadded(const Conv3d& g) {
    return g.O[1] * g.O[2] <= 128 * 128 && (g.S[2] == 1 || g.S[2] == 2);
}
inline int64_t planesPerJob(const Conv3d& g) {
    return fwdPadded(g) ? std::max<int64_t>(1, kJobOutputs / std::max<int64_t>(1, g.O[1] * g.O[2])) : 1;
}

}  // namespace dw
}  // namespace convx
#endif

HWY_BEFORE_NAMESPACE();
namespace convx {
namespace dw {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using D = hn::ScalableTag<float>;
using V = hn::Vec<D>;

// Channels-first rows: at most 8 lanes (256 bits), so 14- and 28-wide maps still get whole
// vectors on AVX-512; W4 takes the rows too short for 8.
using W8 = hn::CappedTag<float, 8>;
using W4 = hn::CappedTag<float, 4>;

// out = alpha * v + beta * out, beta == 0 never reading out.
template <class DT>
HWY_INLINE void storeScaled(DT d, float* out, hn::Vec<DT> v, const Args& a) {
    auto o = hn::Mul(hn::Set(d, a.alpha), v);
    if (a.beta != 0.f) o = hn::MulAdd(hn::Set(d, a.beta), hn::LoadU(d, out), o);
    hn::StoreU(o, d, out);
}
// The same for the lanes of m only (the others stay as they are).
template <class DT>
HWY_INLINE void storeScaledMasked(DT d, float* out, hn::Vec<DT> v, hn::Mask<DT> m, const Args& a) {
    auto o = hn::Mul(hn::Set(d, a.alpha), v);
    if (a.beta != 0.f) o = hn::MulAdd(hn::Set(d, a.beta), hn::LoadU(d, out), o);
    hn::BlendedStore(o, m, d, out);
}
HWY_INLINE void storeScaled1(float* out, float v, const Args& a) {
    float o = a.alpha * v;
    if (a.beta != 0.f) o += a.beta * *out;
    *out = o;
}

// The input vector for L consecutive outputs at stride SW (1: contiguous, 2: the even lanes of
// a de-interleaving load of 2L elements).
template <int SW, class DT>
HWY_INLINE hn::Vec<DT> loadStrided(DT d, const float* p) {
    if constexpr (SW == 1) {
        return hn::LoadU(d, p);
    } else {
        hn::Vec<DT> even, odd;
        hn::LoadInterleaved2(d, p, even, odd);
        (void)odd;
        return even;
    }
}

// ------------------------------------------------------------------ NCHW forward
// One output plane (n, k): register tiles of kRowTile output rows x one vector along Q. Rows
// outside the input skip their taps (a scalar test per tile row and filter row); the columns
// whose window leaves the row are done one by one with clipping. KR/KS fix the window (0: any),
// SW the stride along W (0: any, then no vector columns).
template <class DT, int KR, int KS, int SW>
void fwdPlane(const Args& a, const float* in, const float* f, float* out) {
    using V = hn::Vec<DT>;
    const DT d;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2];
    const int64_t R = KR ? KR : g.R[1], S = KS ? KS : g.R[2];
    const int64_t sh = g.S[1], sw = SW ? SW : g.S[2], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    const int64_t xr = g.xs[3], yr = g.ys[3];
    // Interior columns: every tap's input inside the row (the de-interleaving load reads one past).
    const int64_t extra = SW == 2 ? 1 : 0;
    const int64_t qLo = clampI(ceilDiv(pw, sw), 0, Q);
    const int64_t qHi = SW ? clampI(floorDiv(W - 1 - extra - (S - 1) * dl + pw, sw) + 1, qLo, Q) : qLo;
    constexpr int FT = KR && KS ? KR * KS : 1;
    V fv[FT];
    if constexpr (KR && KS)
        for (int t = 0; t < FT; ++t) fv[t] = hn::Set(d, f[t]);
    for (int64_t p0 = 0; p0 < P; p0 += kRowTile) {
        const int64_t nr = std::min<int64_t>(kRowTile, P - p0);
        // One register tile at column q; lanes below q + skip were stored already (the last,
        // overlapping tile of a row whose interior is not a whole number of vectors).
        auto tile = [&](int64_t q, int64_t skip) HWY_ATTR {
            V acc[kRowTile];
            for (int i = 0; i < kRowTile; ++i) acc[i] = hn::Zero(d);
            for (int64_t r = 0; r < R; ++r) {
                for (int i = 0; i < kRowTile; ++i) {
                    const int64_t ih = (p0 + i) * sh - ph + r * dh;
                    if (i >= nr || !inside(ih, H)) continue;
                    const float* src = in + ih * xr + q * sw - pw;
                    for (int64_t s = 0; s < S; ++s) {
                        V fs;
                        if constexpr (KR && KS) fs = fv[r * S + s];
                        else fs = hn::Set(d, f[r * S + s]);
                        acc[i] = hn::MulAdd(loadStrided<SW ? SW : 1>(d, src + s * dl), fs, acc[i]);
                    }
                }
            }
            if (skip == 0)
                for (int i = 0; i < nr; ++i) storeScaled(d, out + (p0 + i) * yr + q, acc[i], a);
            else
                for (int i = 0; i < nr; ++i)
                    storeScaledMasked(d, out + (p0 + i) * yr + q, acc[i], hn::Not(hn::FirstN(d, static_cast<size_t>(skip))), a);
        };
        int64_t qVecEnd = qLo;
        for (; qVecEnd + L <= qHi; qVecEnd += L) tile(qVecEnd, 0);
        if (qVecEnd < qHi && qHi - qLo >= L) {
            tile(qHi - L, qVecEnd - (qHi - L));
            qVecEnd = qHi;
        }
        // Border and leftover columns, clipped per tap.
        for (int64_t i = 0; i < nr; ++i) {
            const int64_t p = p0 + i;
            auto column = [&](int64_t q) {
                float sum = 0.f;
                for (int64_t r = 0; r < R; ++r) {
                    const int64_t ih = p * sh - ph + r * dh;
                    if (!inside(ih, H)) continue;
                    for (int64_t s = 0; s < S; ++s) {
                        const int64_t iw = q * sw - pw + s * dl;
                        if (inside(iw, W)) sum += in[ih * xr + iw] * f[r * S + s];
                    }
                }
                storeScaled1(out + p * yr + q, sum, a);
            };
            for (int64_t q = 0; q < qLo; ++q) column(q);
            for (int64_t q = qVecEnd; q < Q; ++q) column(q);
        }
    }
}

template <class DT>
void fwdPlaneOf(const Args& a, const float* in, const float* f, float* out) {
    switch (a.pl.kernel) {  // the forward part of the microkernel table
        case DwKernel::FwdRows3x3S1: return fwdPlane<DT, 3, 3, 1>(a, in, f, out);
        case DwKernel::FwdRows3x3S2: return fwdPlane<DT, 3, 3, 2>(a, in, f, out);
        case DwKernel::FwdRows5x5S1: return fwdPlane<DT, 5, 5, 1>(a, in, f, out);
        case DwKernel::FwdRows5x5S2: return fwdPlane<DT, 5, 5, 2>(a, in, f, out);
        case DwKernel::FwdRowsS1: return fwdPlane<DT, 0, 0, 1>(a, in, f, out);
        case DwKernel::FwdRowsS2: return fwdPlane<DT, 0, 0, 2>(a, in, f, out);
        default: return fwdPlane<DT, 0, 0, 0>(a, in, f, out);
    }
}

// The padded form: buf holds input row i - ph, column b - pw at [i][b] (zeros outside the
// input), Wb floats a row; all of a job's planes share the geometry, so the margins are zeroed
// once per job and each plane only overwrites the interior. Output rows in register tiles of
// kRowTile rows x one vector; the last vector of a row stores only its first Q mod L lanes.
template <class DT, int KR, int KS, int SW>
void fwdPlanesPadded(const Args& a, int64_t plane0, int64_t planes, std::vector<float>& scratch) {
    using V = hn::Vec<DT>;
    const DT d;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2];
    const int64_t R = KR ? KR : g.R[1], S = KS ? KS : g.R[2];
    const int64_t sh = g.S[1], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    const int64_t nv = ceilDiv(Q, L);
    const int64_t Pt = ceilDiv(P, kPadRows) * kPadRows;  // whole register tiles of rows
    const int64_t Hb = (Pt - 1) * sh + (R - 1) * dh + 1;
    // Widest read: the last vector's de-interleaving load; plus a vector of slack for the copy.
    const int64_t Wb = (nv * L - 1) * SW + (S - 1) * dl + 2 + 2 * L + std::max<int64_t>(pw, 0);
    scratch.assign(static_cast<size_t>(Hb * Wb + L), 0.f);
    float* buf = scratch.data();
    // Input rows and columns that land in the buffer.
    const int64_t i0 = std::max<int64_t>(0, ph), i1 = std::min(Hb, H + ph);
    const int64_t c0 = std::max<int64_t>(0, -pw), c1 = std::min(W, Wb - L - pw);
    const int64_t tail = Q - (nv - 1) * L;  // lanes of the last vector of a row
    for (int64_t pl = plane0; pl < plane0 + planes; ++pl) {
        const int64_t n = pl / g.K, k = pl % g.K, c = k / a.pl.M;
        const float* in = a.x + n * g.xs[0] + c * g.xs[1];
        const float* f = a.wt + k * R * S;
        float* out = a.y + n * g.ys[0] + k * g.ys[1];
        for (int64_t i = i0; i < i1; ++i) {
            const float* src = in + (i - ph) * g.xs[3];
            float* dst = buf + i * Wb + pw;
            int64_t j = c0;
            for (; j + L <= c1; j += L) hn::StoreU(hn::LoadU(d, src + j), d, dst + j);
            if (j < c1) {
#if !HWY_MEM_OPS_MIGHT_FAULT
                hn::StoreU(hn::MaskedLoad(hn::FirstN(d, static_cast<size_t>(c1 - j)), d, src + j), d, dst + j);
#else
                for (; j < c1; ++j) dst[j] = src[j];
#endif
            }
        }
        for (int64_t p0 = 0; p0 < P; p0 += kPadRows) {
            const int64_t nr = std::min<int64_t>(kPadRows, P - p0);
            for (int64_t v = 0; v < nv; ++v) {
                const int64_t q = v * L;
                // kPadRows independent accumulators, taps outermost: consecutive FMAs never
                // wait on each other (rows past P read the buffer's spare rows, not stored).
                V acc[kPadRows];
                for (int i = 0; i < kPadRows; ++i) acc[i] = hn::Zero(d);
                const float* base = buf + p0 * sh * Wb + q * SW;
                for (int64_t r = 0; r < R; ++r) {
                    for (int64_t s = 0; s < S; ++s) {
                        const V fs = hn::Set(d, f[r * S + s]);
                        const float* src = base + r * dh * Wb + s * dl;
                        for (int i = 0; i < kPadRows; ++i) acc[i] = hn::MulAdd(loadStrided<SW>(d, src + i * sh * Wb), fs, acc[i]);
                    }
                }
                if (v + 1 < nv || tail == L) {
                    for (int i = 0; i < nr; ++i) storeScaled(d, out + (p0 + i) * g.ys[3] + q, acc[i], a);
                } else {
#if !HWY_MEM_OPS_MIGHT_FAULT
                    const auto m = hn::FirstN(d, static_cast<size_t>(tail));
                    for (int i = 0; i < nr; ++i) {
                        float* o = out + (p0 + i) * g.ys[3] + q;
                        auto res = hn::Mul(hn::Set(d, a.alpha), acc[i]);
                        if (a.beta != 0.f) res = hn::MulAdd(hn::Set(d, a.beta), hn::MaskedLoad(m, d, o), res);
                        hn::BlendedStore(res, m, d, o);
                    }
#else
                    HWY_ALIGN float lanes[hn::MaxLanes(d)];
                    for (int i = 0; i < nr; ++i) {
                        hn::Store(acc[i], d, lanes);
                        float* o = out + (p0 + i) * g.ys[3] + q;
                        for (int64_t t = 0; t < tail; ++t) storeScaled1(o + t, lanes[t], a);
                    }
#endif
                }
            }
        }
    }
}

template <class DT>
void fwdPlanesPaddedOf(const Args& a, int64_t plane0, int64_t planes, std::vector<float>& scratch) {
    const bool s1 = a.pl.g.S[2] == 1;
    switch (a.pl.kernel) {
        case DwKernel::FwdRows3x3S1: return fwdPlanesPadded<DT, 3, 3, 1>(a, plane0, planes, scratch);
        case DwKernel::FwdRows3x3S2: return fwdPlanesPadded<DT, 3, 3, 2>(a, plane0, planes, scratch);
        case DwKernel::FwdRows5x5S1: return fwdPlanesPadded<DT, 5, 5, 1>(a, plane0, planes, scratch);
        case DwKernel::FwdRows5x5S2: return fwdPlanesPadded<DT, 5, 5, 2>(a, plane0, planes, scratch);
        default:
            return s1 ? fwdPlanesPadded<DT, 0, 0, 1>(a, plane0, planes, scratch)
                      : fwdPlanesPadded<DT, 0, 0, 2>(a, plane0, planes, scratch);
    }
}

void fwdNchw(const Args& a, int64_t job, std::vector<float>& scratch) {
    const Conv3d& g = a.pl.g;
    if (fwdPadded(g)) {
        const int64_t per = planesPerJob(g), plane0 = job * per;
        const int64_t planes = std::min(per, g.N * g.K - plane0);
        // Vectors as wide as the row allows (up to 16 lanes): 7 -> 8, 14 -> 16, 28 -> 2 x 16.
        if (g.O[2] >= 12) return fwdPlanesPaddedOf<hn::CappedTag<float, 16>>(a, plane0, planes, scratch);
        if (g.O[2] >= 5) return fwdPlanesPaddedOf<W8>(a, plane0, planes, scratch);
        return fwdPlanesPaddedOf<W4>(a, plane0, planes, scratch);
    }
    const int64_t n = job / g.K, k = job % g.K, c = k / a.pl.M;
    const float* in = a.x + n * g.xs[0] + c * g.xs[1];
    const float* f = a.wt + k * g.R[1] * g.R[2];
    float* out = a.y + n * g.ys[0] + k * g.ys[1];
    // Rows with fewer than 8 interior outputs take 4-lane vectors.
    if (g.O[2] >= 10) fwdPlaneOf<W8>(a, in, f, out);
    else fwdPlaneOf<W4>(a, in, f, out);
}

// ------------------------------------------------------------------ NCHW backward-data
// dx[h][w] = sum over taps (r, s) and multiplier m of w[r][s] * dy[p][q] where h = p sh - ph + r dh
// and w = q sw - pw + s dw: the rotated filter run over dy. A dx row splits by column phase
// phi = w mod sw into sw de-interleaved rows; for one tap every dx column of phase phi reads
// consecutive dy columns, so each (tap, phase) is a contiguous vector loop with its range
// clipped once (the phase rule; stride 1 is one phase). Rows: only the taps whose row
// (h + ph - r dh) is a multiple of sh contribute. tmp holds the phases side by side.
void bwdDataNchw(const Args& a, int64_t job, std::vector<float>& scratch) {
    using V = hn::Vec<W8>;
    const W8 d;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2], R = g.R[1], S = g.R[2];
    const int64_t sh = g.S[1], sw = g.S[2], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    const int64_t n = job / g.C, c = job % g.C, M = a.pl.M;
    // Phase rows of Jp columns, whole vectors. Tap s reads dy column j + cs(s), cs = ceil((pw -
    // s dw) / sw), from a copy of the dy row with zero margins: every (tap, phase) loop then runs
    // whole vectors without a bound (the margins add zeros; columns past W are never stored).
    const int64_t J = ceilDiv(W, sw), Jp = ceilDiv(J, L) * L;
    const int64_t csMin = ceilDiv(pw - (S - 1) * dl, sw), csMax = ceilDiv(pw, sw);
    const int64_t lead = std::max<int64_t>(0, -csMin);
    const int64_t padLen = lead + std::max(Q, Jp + csMax) + 1;
    scratch.assign(static_cast<size_t>(sw * Jp + padLen), 0.f);
    float* tmp = scratch.data();
    float* pad = tmp + sw * Jp;
    float* outPlane = a.xo + n * g.xs[0] + c * g.xs[1];
    for (int64_t h = 0; h < H; ++h) {
        std::fill(tmp, tmp + sw * Jp, 0.f);
        for (int64_t m = 0; m < M; ++m) {
            const int64_t k = c * M + m;
            const float* dyPlane = a.y + n * g.ys[0] + k * g.ys[1];
            const float* f = a.wt + k * R * S;
            for (int64_t r = 0; r < R; ++r) {
                const int64_t t = h + ph - r * dh;
                if (floorDiv(t, sh) * sh != t) continue;
                const int64_t p = t / sh;
                if (!inside(p, P)) continue;
                std::copy(dyPlane + p * g.ys[3], dyPlane + p * g.ys[3] + Q, pad + lead);
                for (int64_t s = 0; s < S; ++s) {
                    const int64_t u = pw - s * dl;  // dx column w reads dy column (w + u) / sw
                    const int64_t cs = ceilDiv(u, sw);
                    const int64_t phi = cs * sw - u;  // the phase of the dx columns this tap feeds
                    if (phi >= W) continue;
                    float* row = tmp + phi * Jp;
                    const float* src = pad + lead + cs;
                    const V fv = hn::Set(d, f[r * S + s]);
                    for (int64_t j = 0; j < Jp; j += L)
                        hn::StoreU(hn::MulAdd(hn::LoadU(d, src + j), fv, hn::LoadU(d, row + j)), d, row + j);
                }
            }
        }
        float* out = outPlane + h * g.xs[3];
        if (sw == 1) {
            int64_t w = 0;
            for (; w + L <= W; w += L) storeScaled(d, out + w, hn::LoadU(d, tmp + w), a);
            for (; w < W; ++w) storeScaled1(out + w, tmp[w], a);
        } else {
            int64_t j0 = 0;  // stride 2: whole vectors of column pairs by one interleaving store
            if (sw == 2) {
                const V va = hn::Set(d, a.alpha), vb = hn::Set(d, a.beta);
                for (; 2 * (j0 + L) <= W; j0 += L) {
                    V e = hn::Mul(va, hn::LoadU(d, tmp + j0)), o = hn::Mul(va, hn::LoadU(d, tmp + Jp + j0));
                    if (a.beta != 0.f) {
                        V e0, o0;
                        hn::LoadInterleaved2(d, out + 2 * j0, e0, o0);
                        e = hn::MulAdd(vb, e0, e), o = hn::MulAdd(vb, o0, o);
                    }
                    hn::StoreInterleaved2(e, o, d, out + 2 * j0);
                }
            }
            for (int64_t phi = 0; phi < sw && phi < W; ++phi) {
                const float* row = tmp + phi * Jp;
                for (int64_t j = j0, w = phi + j0 * sw; w < W; ++j, w += sw) storeScaled1(out + w, row[j], a);
            }
        }
    }
}

// ------------------------------------------------------------------ NCHW weight gradient
// dw[k][r][s] = sum over n, p, q of dy[n][k][p][q] * x[n][c][p sh - ph + r dh][q sw - pw + s dw].
// One job per output channel k; per tap two vector accumulators streamed over the rows of dy
// and x (the q range clipped once per row and tap), one lane reduction at the end, and the
// clipped-off columns in a scalar sum: a fixed order.
template <int SW>
void bwdFilterNchwT(const Args& a, int64_t k) {
    using V = hn::Vec<W8>;
    const W8 d;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2], R = g.R[1], S = g.R[2];
    const int64_t sh = g.S[1], sw = SW ? SW : g.S[2], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    const int64_t c = k / a.pl.M;
    for (int64_t r = 0; r < R; ++r) {
        for (int64_t s = 0; s < S; ++s) {
            V acc0 = hn::Zero(d), acc1 = hn::Zero(d);
            float tail = 0.f;
            const int64_t off = s * dl - pw;  // input column of output q: q sw + off
            const int64_t qLo = clampI(ceilDiv(-off, sw), 0, Q);
            const int64_t qHi = clampI(floorDiv(W - 1 - off, sw) + 1, qLo, Q);
            const int64_t qVecHi = SW == 0 ? qLo : SW == 2 ? clampI(floorDiv(W - 2 - off, sw) + 1, qLo, qHi) : qHi;
            for (int64_t n = 0; n < g.N; ++n) {
                const float* xPlane = a.x + n * g.xs[0] + c * g.xs[1];
                const float* dyPlane = a.y + n * g.ys[0] + k * g.ys[1];
                for (int64_t p = 0; p < P; ++p) {
                    const int64_t ih = p * sh - ph + r * dh;
                    if (!inside(ih, H)) continue;
                    const float* xRow = xPlane + ih * g.xs[3] + off;
                    const float* dyRow = dyPlane + p * g.ys[3];
                    int64_t q = qLo;
                    if constexpr (SW != 0) {
                        for (; q + 2 * L <= qVecHi; q += 2 * L) {
                            acc0 = hn::MulAdd(hn::LoadU(d, dyRow + q), loadStrided<SW>(d, xRow + q * sw), acc0);
                            acc1 = hn::MulAdd(hn::LoadU(d, dyRow + q + L), loadStrided<SW>(d, xRow + (q + L) * sw), acc1);
                        }
                        for (; q + L <= qVecHi; q += L)
                            acc0 = hn::MulAdd(hn::LoadU(d, dyRow + q), loadStrided<SW>(d, xRow + q * sw), acc0);
                    }
                    for (; q < qHi; ++q) tail += dyRow[q] * xRow[q * sw];
                }
            }
            const float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(acc0, acc1))) + tail;
            // The user's tap: CONVOLUTION mode stores the window mirrored.
            const int64_t ur = g.flip ? R - 1 - r : r, us = g.flip ? S - 1 - s : s;
            storeScaled1(a.wo + k * g.ws[0] + ur * g.ws[3] + us * g.ws[4], sum, a);
        }
    }
}

// The same for stride 1 and 2 along W, row by row: the dy row (zero tail to whole vectors) and
// each x row it meets (zero margins) are copied once, then every tap of that filter row is a
// bound-free vector loop into a register and added to the tap's accumulator in scratch. Short
// rows (7x7, 14x14 maps) thus stay vectorized. Fixed order: (n, p) rows, then lanes.
template <int SW>
void bwdFilterNchwRows(const Args& a, int64_t k, std::vector<float>& scratch) {
    using V = hn::Vec<W8>;
    const W8 d;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2], R = g.R[1], S = g.R[2], T = R * S;
    const int64_t sh = g.S[1], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    const int64_t c = k / a.pl.M;
    const int64_t Qp = ceilDiv(Q, L) * L;
    const int64_t lead = std::max<int64_t>(0, pw);
    // Highest x column read: (Qp - 1) SW + (S - 1) dl - pw, plus one for the de-interleaving load.
    const int64_t xLen = lead + std::max(W, (Qp - 1) * SW + (S - 1) * dl - pw + 2) + 1;
    scratch.assign(static_cast<size_t>(T * L + Qp + xLen), 0.f);
    float* acc = scratch.data();
    float* dyPad = acc + T * L;
    float* xPad = dyPad + Qp;
    for (int64_t n = 0; n < g.N; ++n) {
        const float* xPlane = a.x + n * g.xs[0] + c * g.xs[1];
        const float* dyPlane = a.y + n * g.ys[0] + k * g.ys[1];
        for (int64_t p = 0; p < P; ++p) {
            std::copy(dyPlane + p * g.ys[3], dyPlane + p * g.ys[3] + Q, dyPad);
            for (int64_t r = 0; r < R; ++r) {
                const int64_t ih = p * sh - ph + r * dh;
                if (!inside(ih, H)) continue;
                std::copy(xPlane + ih * g.xs[3], xPlane + ih * g.xs[3] + W, xPad + lead);
                for (int64_t s = 0; s < S; ++s) {
                    const float* src = xPad + lead + s * dl - pw;
                    V v = hn::Zero(d);
                    for (int64_t q = 0; q < Qp; q += L) v = hn::MulAdd(hn::LoadU(d, dyPad + q), loadStrided<SW>(d, src + q * SW), v);
                    float* at = acc + (r * S + s) * L;
                    hn::StoreU(hn::Add(hn::LoadU(d, at), v), d, at);
                }
            }
        }
    }
    for (int64_t r = 0; r < R; ++r)
        for (int64_t s = 0; s < S; ++s) {
            const float sum = hn::GetLane(hn::SumOfLanes(d, hn::LoadU(d, acc + (r * S + s) * L)));
            const int64_t ur = g.flip ? R - 1 - r : r, us = g.flip ? S - 1 - s : s;
            storeScaled1(a.wo + k * g.ws[0] + ur * g.ws[3] + us * g.ws[4], sum, a);
        }
}

void bwdFilterNchw(const Args& a, int64_t k, std::vector<float>& scratch) {
    const int64_t sw = a.pl.g.S[2];
    if (sw == 1) bwdFilterNchwRows<1>(a, k, scratch);
    else if (sw == 2) bwdFilterNchwRows<2>(a, k, scratch);
    else bwdFilterNchwT<0>(a, k);
}

// ------------------------------------------------------------------ NHWC (vectors over C)
// Multiplier 1 (K == C; M > 1 below): every tap is an elementwise product of a contiguous channel run of x
// (or dy) and of the tap-major filter, so small maps (7x7) still fill whole vectors.

// Forward, one job per output row (n, p).
void fwdNhwc(const Args& a, int64_t job, std::pair<int64_t, int64_t>* taps) {
    const D d;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2], R = g.R[1], S = g.R[2], C = g.C;
    const int64_t sh = g.S[1], sw = g.S[2], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    // Depth (3-D; size 1 with zero strides otherwise): one job per output row (n, od, p).
    const int64_t ID = g.I[0], OD = g.O[0], KD = g.R[0], sd = g.S[0], pd = g.P[0], dd = g.D[0];
    const int64_t n = job / (OD * P), od = job / P % OD, p = job % P;
    const float* xImg = a.x + n * g.xs[0];
    // Interior pixels (every tap inside along W) go in blocks of kPix along the row: each weight
    // vector is loaded once for kPix pixels (1.25 loads per FMA instead of 2) and the 2 x kPix
    // accumulators are independent. Their taps, relative to the pixel, are the same for the row.
    constexpr int64_t kPix = 4;
    std::pair<int64_t, int64_t>* itaps = taps + g.taps;
    int64_t nit = 0;
    for (int64_t kd = 0; kd < KD; ++kd) {
        const int64_t id = od * sd - pd + kd * dd;
        if (!inside(id, ID)) continue;
        for (int64_t r = 0; r < R; ++r) {
            const int64_t ih = p * sh - ph + r * dh;
            if (!inside(ih, H)) continue;
            for (int64_t s = 0; s < S; ++s)
                itaps[nit++] = {id * g.xs[2] + ih * g.xs[3] + (s * dl - pw) * g.xs[4], ((kd * R + r) * S + s) * C};
        }
    }
    const int64_t qLo = clampI(ceilDiv(pw, sw), 0, Q);
    const int64_t qHi = clampI(floorDiv(W - 1 - (S - 1) * dl + pw, sw) + 1, qLo, Q);
    const int64_t ps = sw * g.xs[4];  // x step from one output pixel to the next
    for (int64_t q = 0; q < Q; ++q) {
        float* out = a.y + n * g.ys[0] + od * g.ys[2] + p * g.ys[3] + q * g.ys[4];
        if (q >= qLo && q + kPix <= qHi) {
            const float* x0 = xImg + q * ps;
            const int64_t ys = g.ys[4];
            int64_t c0 = 0;
            for (; c0 + 2 * L <= C; c0 += 2 * L) {
                V acc[2 * kPix];
                for (int j = 0; j < 2 * kPix; ++j) acc[j] = hn::Zero(d);
                for (int64_t t = 0; t < nit; ++t) {
                    const float* f = a.wt + itaps[t].second + c0;
                    const V w0 = hn::LoadU(d, f), w1 = hn::LoadU(d, f + L);
                    const float* src = x0 + itaps[t].first + c0;
                    for (int j = 0; j < kPix; ++j) {
                        acc[j] = hn::MulAdd(hn::LoadU(d, src + j * ps), w0, acc[j]);
                        acc[kPix + j] = hn::MulAdd(hn::LoadU(d, src + j * ps + L), w1, acc[kPix + j]);
                    }
                }
                for (int j = 0; j < kPix; ++j) {
                    storeScaled(d, out + j * ys + c0, acc[j], a);
                    storeScaled(d, out + j * ys + c0 + L, acc[kPix + j], a);
                }
            }
            for (; c0 + L <= C; c0 += L) {
                V acc[kPix];
                for (int j = 0; j < kPix; ++j) acc[j] = hn::Zero(d);
                for (int64_t t = 0; t < nit; ++t) {
                    const V w0 = hn::LoadU(d, a.wt + itaps[t].second + c0);
                    const float* src = x0 + itaps[t].first + c0;
                    for (int j = 0; j < kPix; ++j) acc[j] = hn::MulAdd(hn::LoadU(d, src + j * ps), w0, acc[j]);
                }
                for (int j = 0; j < kPix; ++j) storeScaled(d, out + j * ys + c0, acc[j], a);
            }
            for (; c0 < C; ++c0)
                for (int j = 0; j < kPix; ++j) {
                    float sum = 0.f;
                    for (int64_t t = 0; t < nit; ++t) sum += x0[j * ps + itaps[t].first + c0] * a.wt[itaps[t].second + c0];
                    storeScaled1(out + j * ys + c0, sum, a);
                }
            q += kPix - 1;
            continue;
        }
        // The taps inside the input, once per pixel: (x offset, filter offset) pairs.
        int64_t nt = 0;
        for (int64_t kd = 0; kd < KD; ++kd) {
            const int64_t id = od * sd - pd + kd * dd;
            if (!inside(id, ID)) continue;
            for (int64_t r = 0; r < R; ++r) {
                const int64_t ih = p * sh - ph + r * dh;
                if (!inside(ih, H)) continue;
                for (int64_t s = 0; s < S; ++s) {
                    const int64_t iw = q * sw - pw + s * dl;
                    if (!inside(iw, W)) continue;
                    taps[nt++] = {id * g.xs[2] + ih * g.xs[3] + iw * g.xs[4], ((kd * R + r) * S + s) * C};
                }
            }
        }
        int64_t c0 = 0;
        for (; c0 + 2 * L <= C; c0 += 2 * L) {
            V acc0 = hn::Zero(d), acc1 = hn::Zero(d);
            for (int64_t t = 0; t < nt; ++t) {
                const float* src = xImg + taps[t].first + c0;
                const float* f = a.wt + taps[t].second + c0;
                acc0 = hn::MulAdd(hn::LoadU(d, src), hn::LoadU(d, f), acc0);
                acc1 = hn::MulAdd(hn::LoadU(d, src + L), hn::LoadU(d, f + L), acc1);
            }
            storeScaled(d, out + c0, acc0, a);
            storeScaled(d, out + c0 + L, acc1, a);
        }
        for (; c0 + L <= C; c0 += L) {
            V acc = hn::Zero(d);
            for (int64_t t = 0; t < nt; ++t)
                acc = hn::MulAdd(hn::LoadU(d, xImg + taps[t].first + c0), hn::LoadU(d, a.wt + taps[t].second + c0), acc);
            storeScaled(d, out + c0, acc, a);
        }
        for (; c0 < C; ++c0) {
            float sum = 0.f;
            for (int64_t t = 0; t < nt; ++t) sum += xImg[taps[t].first + c0] * a.wt[taps[t].second + c0];
            storeScaled1(out + c0, sum, a);
        }
    }
}

// Backward-data, one job per dx row (n, h): each dx pixel gathers the taps whose dy pixel
// exists (the phase rule per pixel).
void bwdDataNhwc(const Args& a, int64_t job, std::pair<int64_t, int64_t>* taps) {
    const D d;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2], R = g.R[1], S = g.R[2], C = g.C;
    const int64_t sh = g.S[1], sw = g.S[2], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    const int64_t ID = g.I[0], OD = g.O[0], KD = g.R[0], sd = g.S[0], pd = g.P[0], dd = g.D[0];
    const int64_t n = job / (ID * H), id = job / H % ID, h = job % H;
    const float* dyImg = a.y + n * g.ys[0];
    for (int64_t w = 0; w < W; ++w) {
        float* out = a.xo + n * g.xs[0] + id * g.xs[2] + h * g.xs[3] + w * g.xs[4];
        // The taps whose dy pixel exists, once per dx pixel: (dy offset, filter offset) pairs.
        int64_t nt = 0;
        for (int64_t kd = 0; kd < KD; ++kd) {
            const int64_t td = id + pd - kd * dd;
            if (floorDiv(td, sd) * sd != td || !inside(td / sd, OD)) continue;
            for (int64_t r = 0; r < R; ++r) {
                const int64_t tp = h + ph - r * dh;
                if (floorDiv(tp, sh) * sh != tp || !inside(tp / sh, P)) continue;
                for (int64_t s = 0; s < S; ++s) {
                    const int64_t tq = w + pw - s * dl;
                    if (floorDiv(tq, sw) * sw != tq || !inside(tq / sw, Q)) continue;
                    taps[nt++] = {(td / sd) * g.ys[2] + (tp / sh) * g.ys[3] + (tq / sw) * g.ys[4], ((kd * R + r) * S + s) * C};
                }
            }
        }
        int64_t c0 = 0;
        for (; c0 + 2 * L <= C; c0 += 2 * L) {
            V acc0 = hn::Zero(d), acc1 = hn::Zero(d);
            for (int64_t t = 0; t < nt; ++t) {
                const float* src = dyImg + taps[t].first + c0;
                const float* f = a.wt + taps[t].second + c0;
                acc0 = hn::MulAdd(hn::LoadU(d, src), hn::LoadU(d, f), acc0);
                acc1 = hn::MulAdd(hn::LoadU(d, src + L), hn::LoadU(d, f + L), acc1);
            }
            storeScaled(d, out + c0, acc0, a);
            storeScaled(d, out + c0 + L, acc1, a);
        }
        for (; c0 + L <= C; c0 += L) {
            V acc = hn::Zero(d);
            for (int64_t t = 0; t < nt; ++t)
                acc = hn::MulAdd(hn::LoadU(d, dyImg + taps[t].first + c0), hn::LoadU(d, a.wt + taps[t].second + c0), acc);
            storeScaled(d, out + c0, acc, a);
        }
        for (; c0 < C; ++c0) {
            float sum = 0.f;
            for (int64_t t = 0; t < nt; ++t) sum += dyImg[taps[t].first + c0] * a.wt[taps[t].second + c0];
            storeScaled1(out + c0, sum, a);
        }
    }
}

// Weight gradient, one job per (block of kChanBlock channels, tap): vector accumulators over the
// block, streamed over every (n, p, q), stored once.
void bwdFilterNhwc(const Args& a, int64_t job) {
    const D d;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2], R = g.R[1], S = g.R[2], C = g.C;
    const int64_t sh = g.S[1], sw = g.S[2], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    const int64_t ID = g.I[0], OD = g.O[0], KD = g.R[0], sd = g.S[0], pd = g.P[0], dd = g.D[0];
    const int64_t T = KD * R * S, t = job % T, cb = job / T, kd = t / (R * S), r = t / S % R, s = t % S;
    const int64_t cBeg = cb * kChanBlock, cEnd = std::min(C, cBeg + kChanBlock);
    const int64_t nv = (cEnd - cBeg) / L;  // whole vectors in this block
    constexpr int kMaxVec = kChanBlock;    // at least one lane per vector
    V acc[kMaxVec];
    for (int64_t v = 0; v < nv; ++v) acc[v] = hn::Zero(d);
    float tail[kChanBlock] = {};
    const int64_t cTail = cBeg + nv * L;
    const int64_t off = s * dl - pw;
    const int64_t qLo = clampI(ceilDiv(-off, sw), 0, Q), qHi = clampI(floorDiv(W - 1 - off, sw) + 1, qLo, Q);
    for (int64_t n = 0; n < g.N; ++n) {
        for (int64_t odp = 0; odp < OD * P; ++odp) {  // (od, p) rows
            const int64_t od = odp / P, p = odp % P;
            const int64_t id = od * sd - pd + kd * dd, ih = p * sh - ph + r * dh;
            if (!inside(id, ID) || !inside(ih, H)) continue;
            for (int64_t q = qLo; q < qHi; ++q) {
                const float* xp = a.x + n * g.xs[0] + id * g.xs[2] + ih * g.xs[3] + (q * sw + off) * g.xs[4];
                const float* dyp = a.y + n * g.ys[0] + od * g.ys[2] + p * g.ys[3] + q * g.ys[4];
                for (int64_t v = 0; v < nv; ++v)
                    acc[v] = hn::MulAdd(hn::LoadU(d, dyp + cBeg + v * L), hn::LoadU(d, xp + cBeg + v * L), acc[v]);
                for (int64_t c = cTail; c < cEnd; ++c) tail[c - cBeg] += dyp[c] * xp[c];
            }
        }
    }
    HWY_ALIGN float lanes[kChanBlock + 64];
    for (int64_t v = 0; v < nv; ++v) hn::StoreU(acc[v], d, lanes + v * L);
    const int64_t ud = g.flip ? KD - 1 - kd : kd, ur = g.flip ? R - 1 - r : r, us = g.flip ? S - 1 - s : s;
    for (int64_t c = cBeg; c < cEnd; ++c)
        storeScaled1(a.wo + c * g.ws[0] + ud * g.ws[2] + ur * g.ws[3] + us * g.ws[4], c < cTail ? lanes[c - cBeg] : tail[c - cBeg], a);
}

// ------------------------------------------------------------------ NHWC, channel multiplier M > 1
// Output channel k = c M + m reads input channel c. The kernels vectorize over c: the filter is
// repacked tap-major and m-major ([r][s][m][c]), so each (tap, m) is a contiguous run over c,
// and the outputs (forward: y; weight gradient: dw) or inputs (backward-data: dy) of one vector
// of c sit at stride M in memory: for M = 2, 3, 4 (MM) Highway's (de-)interleaving loads and
// stores move them in whole vectors; any other M (MM = 0) gathers/scatters with indices i M.

// Lane i of the result = p[i M] (a strided vector; the interleaving loads cover MM = 2..4).
template <class DT>
HWY_INLINE hn::Vec<DT> gatherM(DT d, const float* p, const hn::Vec<hn::RebindToSigned<DT>>& idx) {
    return hn::GatherIndex(d, p, idx);
}

// v[0..MM) = the MM de-interleaved vectors at p (lane i of v[j] = p[i MM + j]).
template <int MM, class DT>
HWY_INLINE void loadInterleavedM(DT d, const float* p, hn::Vec<DT>* v) {
    if constexpr (MM == 2) hn::LoadInterleaved2(d, p, v[0], v[1]);
    else if constexpr (MM == 3) hn::LoadInterleaved3(d, p, v[0], v[1], v[2]);
    else if constexpr (MM == 4) hn::LoadInterleaved4(d, p, v[0], v[1], v[2], v[3]);
}
template <int MM, class DT>
HWY_INLINE void storeInterleavedM(DT d, const hn::Vec<DT>* v, float* p) {
    if constexpr (MM == 2) hn::StoreInterleaved2(v[0], v[1], d, p);
    else if constexpr (MM == 3) hn::StoreInterleaved3(v[0], v[1], v[2], d, p);
    else if constexpr (MM == 4) hn::StoreInterleaved4(v[0], v[1], v[2], v[3], d, p);
}

// Forward, one job per output row (n, p), like fwdNhwc: per pixel the taps inside the input
// once, then per vector of c the M accumulators share each x load (one load, M FMAs).
template <int MM>
void fwdNhwcMultT(const Args& a, int64_t job, std::pair<int64_t, int64_t>* taps) {
    const D d;
    const hn::RebindToSigned<D> di;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2], R = g.R[1], S = g.R[2], C = g.C, K = g.K;
    const int64_t M = MM ? MM : a.pl.M;
    const int64_t sh = g.S[1], sw = g.S[2], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    // Depth (3-D; size 1 with zero strides otherwise): one job per output row (n, od, p).
    const int64_t ID = g.I[0], OD = g.O[0], KD = g.R[0], sd = g.S[0], pd = g.P[0], dd = g.D[0];
    const int64_t n = job / (OD * P), od = job / P % OD, p = job % P;
    const float* xImg = a.x + n * g.xs[0];
    const auto idx = hn::Mul(hn::Iota(di, 0), hn::Set(di, static_cast<int32_t>(M)));  // lane i -> i M
    constexpr int kMB = MM ? MM : 4;  // accumulators per pass over the taps
    for (int64_t q = 0; q < Q; ++q) {
        float* out = a.y + n * g.ys[0] + od * g.ys[2] + p * g.ys[3] + q * g.ys[4];
        int64_t nt = 0;
        for (int64_t kd = 0; kd < KD; ++kd) {
            const int64_t id = od * sd - pd + kd * dd;
            if (!inside(id, ID)) continue;
            for (int64_t r = 0; r < R; ++r) {
                const int64_t ih = p * sh - ph + r * dh;
                if (!inside(ih, H)) continue;
                for (int64_t s = 0; s < S; ++s) {
                    const int64_t iw = q * sw - pw + s * dl;
                    if (!inside(iw, W)) continue;
                    taps[nt++] = {id * g.xs[2] + ih * g.xs[3] + iw * g.xs[4], ((kd * R + r) * S + s) * K};
                }
            }
        }
        int64_t c0 = 0;
        for (; c0 + L <= C; c0 += L) {
            for (int64_t m0 = 0; m0 < M; m0 += kMB) {
                const int mb = static_cast<int>(std::min<int64_t>(kMB, M - m0));
                V acc[kMB];
                for (int j = 0; j < kMB; ++j) acc[j] = hn::Zero(d);
                for (int64_t t = 0; t < nt; ++t) {
                    const V xv = hn::LoadU(d, xImg + taps[t].first + c0);
                    const float* f = a.wt + taps[t].second + m0 * C + c0;
                    for (int j = 0; j < mb; ++j) acc[j] = hn::MulAdd(xv, hn::LoadU(d, f + j * C), acc[j]);
                }
                const V al = hn::Set(d, a.alpha);
                if constexpr (MM != 0) {
                    // All M outputs of the vector at once: out[(c0 + i) M + j] = acc[j][i].
                    float* o = out + c0 * M;
                    V old[kMB];
                    if (a.beta != 0.f) loadInterleavedM<MM>(d, o, old);
                    for (int j = 0; j < kMB; ++j) {
                        acc[j] = hn::Mul(al, acc[j]);
                        if (a.beta != 0.f) acc[j] = hn::MulAdd(hn::Set(d, a.beta), old[j], acc[j]);
                    }
                    storeInterleavedM<MM>(d, acc, o);
                } else {
                    for (int j = 0; j < mb; ++j) {
                        float* o = out + c0 * M + m0 + j;
                        V v = hn::Mul(al, acc[j]);
                        if (a.beta != 0.f) v = hn::MulAdd(hn::Set(d, a.beta), gatherM(d, o, idx), v);
                        hn::ScatterIndex(v, d, o, idx);
                    }
                }
            }
        }
        for (; c0 < C; ++c0)
            for (int64_t m = 0; m < M; ++m) {
                float sum = 0.f;
                for (int64_t t = 0; t < nt; ++t) sum += xImg[taps[t].first + c0] * a.wt[taps[t].second + m * C + c0];
                storeScaled1(out + c0 * M + m, sum, a);
            }
    }
}

// Backward-data, one job per dx row (n, h), like bwdDataNhwc: per dx pixel the taps whose dy
// pixel exists, then per vector of c one accumulator over (tap, m), dy de-interleaved (its M
// channels of one c are adjacent).
template <int MM>
void bwdDataNhwcMultT(const Args& a, int64_t job, std::pair<int64_t, int64_t>* taps) {
    const D d;
    const hn::RebindToSigned<D> di;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2], R = g.R[1], S = g.R[2], C = g.C, K = g.K;
    const int64_t M = MM ? MM : a.pl.M;
    const int64_t sh = g.S[1], sw = g.S[2], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    const int64_t ID = g.I[0], OD = g.O[0], KD = g.R[0], sd = g.S[0], pd = g.P[0], dd = g.D[0];
    const int64_t n = job / (ID * H), id = job / H % ID, h = job % H;
    const float* dyImg = a.y + n * g.ys[0];
    const auto idx = hn::Mul(hn::Iota(di, 0), hn::Set(di, static_cast<int32_t>(M)));
    for (int64_t w = 0; w < W; ++w) {
        float* out = a.xo + n * g.xs[0] + id * g.xs[2] + h * g.xs[3] + w * g.xs[4];
        int64_t nt = 0;
        for (int64_t kd = 0; kd < KD; ++kd) {
            const int64_t td = id + pd - kd * dd;
            if (floorDiv(td, sd) * sd != td || !inside(td / sd, OD)) continue;
            for (int64_t r = 0; r < R; ++r) {
                const int64_t tp = h + ph - r * dh;
                if (floorDiv(tp, sh) * sh != tp || !inside(tp / sh, P)) continue;
                for (int64_t s = 0; s < S; ++s) {
                    const int64_t tq = w + pw - s * dl;
                    if (floorDiv(tq, sw) * sw != tq || !inside(tq / sw, Q)) continue;
                    taps[nt++] = {(td / sd) * g.ys[2] + (tp / sh) * g.ys[3] + (tq / sw) * g.ys[4], ((kd * R + r) * S + s) * K};
                }
            }
        }
        int64_t c0 = 0;
        for (; c0 + L <= C; c0 += L) {
            V acc = hn::Zero(d);
            for (int64_t t = 0; t < nt; ++t) {
                const float* src = dyImg + taps[t].first + c0 * M;
                const float* f = a.wt + taps[t].second + c0;
                if constexpr (MM != 0) {
                    V dy[MM];
                    loadInterleavedM<MM>(d, src, dy);
                    for (int j = 0; j < MM; ++j) acc = hn::MulAdd(dy[j], hn::LoadU(d, f + j * C), acc);
                } else {
                    for (int64_t m = 0; m < M; ++m) acc = hn::MulAdd(gatherM(d, src + m, idx), hn::LoadU(d, f + m * C), acc);
                }
            }
            storeScaled(d, out + c0, acc, a);
        }
        for (; c0 < C; ++c0) {
            float sum = 0.f;
            for (int64_t t = 0; t < nt; ++t)
                for (int64_t m = 0; m < M; ++m) sum += dyImg[taps[t].first + c0 * M + m] * a.wt[taps[t].second + m * C + c0];
            storeScaled1(out + c0, sum, a);
        }
    }
}

// Weight gradient, one job per (block of kChanBlock input channels, tap) for MM = 2..4 (the M
// outputs of each c from one de-interleaving load of dy), per (block, tap, m) for any other M
// (dy gathered at stride M). Vector accumulators over the block, streamed over every (n, p, q)
// in a fixed order, stored once.
template <int MM>
void bwdFilterNhwcMultT(const Args& a, int64_t job) {
    const D d;
    const hn::RebindToSigned<D> di;
    const Conv3d& g = a.pl.g;
    const int64_t L = static_cast<int64_t>(hn::Lanes(d));
    const int64_t H = g.I[1], W = g.I[2], P = g.O[1], Q = g.O[2], R = g.R[1], S = g.R[2], C = g.C;
    const int64_t M = MM ? MM : a.pl.M;
    const int64_t sh = g.S[1], sw = g.S[2], ph = g.P[1], pw = g.P[2], dh = g.D[1], dl = g.D[2];
    const int64_t ID = g.I[0], OD = g.O[0], KD = g.R[0], sd = g.S[0], pd = g.P[0], dd = g.D[0];
    const int64_t T = KD * R * S;
    // MM = 0: job = (block, tap) * M + m; the outputs m0 .. m0 + nm of each c.
    const int64_t m0 = MM ? 0 : job % M, bt = MM ? job : job / M;
    constexpr int kNM = MM ? MM : 1;
    const int64_t t = bt % T, cb = bt / T, kd = t / (R * S), r = t / S % R, s = t % S;
    const int64_t cBeg = cb * kChanBlock, cEnd = std::min(C, cBeg + kChanBlock);
    const int64_t nv = (cEnd - cBeg) / L;
    constexpr int kMaxVec = kChanBlock;
    V acc[kNM][kMaxVec];
    for (int j = 0; j < kNM; ++j)
        for (int64_t v = 0; v < nv; ++v) acc[j][v] = hn::Zero(d);
    float tail[kNM][kChanBlock] = {};
    const int64_t cTail = cBeg + nv * L;
    const auto idx = hn::Mul(hn::Iota(di, 0), hn::Set(di, static_cast<int32_t>(M)));
    const int64_t off = s * dl - pw;
    const int64_t qLo = clampI(ceilDiv(-off, sw), 0, Q), qHi = clampI(floorDiv(W - 1 - off, sw) + 1, qLo, Q);
    for (int64_t n = 0; n < g.N; ++n) {
        for (int64_t odp = 0; odp < OD * P; ++odp) {  // (od, p) rows
            const int64_t od = odp / P, p = odp % P;
            const int64_t id = od * sd - pd + kd * dd, ih = p * sh - ph + r * dh;
            if (!inside(id, ID) || !inside(ih, H)) continue;
            for (int64_t q = qLo; q < qHi; ++q) {
                const float* xp = a.x + n * g.xs[0] + id * g.xs[2] + ih * g.xs[3] + (q * sw + off) * g.xs[4];
                const float* dyp = a.y + n * g.ys[0] + od * g.ys[2] + p * g.ys[3] + q * g.ys[4];
                for (int64_t v = 0; v < nv; ++v) {
                    const V xv = hn::LoadU(d, xp + cBeg + v * L);
                    const float* dv = dyp + (cBeg + v * L) * M + m0;
                    if constexpr (MM != 0) {
                        V dy[MM];
                        loadInterleavedM<MM>(d, dv, dy);
                        for (int j = 0; j < MM; ++j) acc[j][v] = hn::MulAdd(dy[j], xv, acc[j][v]);
                    } else {
                        acc[0][v] = hn::MulAdd(gatherM(d, dv, idx), xv, acc[0][v]);
                    }
                }
                for (int64_t c = cTail; c < cEnd; ++c)
                    for (int j = 0; j < kNM; ++j) tail[j][c - cBeg] += dyp[c * M + m0 + j] * xp[c];
            }
        }
    }
    HWY_ALIGN float lanes[kChanBlock + 64];
    const int64_t ud = g.flip ? KD - 1 - kd : kd, ur = g.flip ? R - 1 - r : r, us = g.flip ? S - 1 - s : s;
    for (int j = 0; j < kNM; ++j) {
        for (int64_t v = 0; v < nv; ++v) hn::StoreU(acc[j][v], d, lanes + v * L);
        for (int64_t c = cBeg; c < cEnd; ++c) {
            const int64_t k = c * M + m0 + j;
            storeScaled1(a.wo + k * g.ws[0] + ud * g.ws[2] + ur * g.ws[3] + us * g.ws[4], c < cTail ? lanes[c - cBeg] : tail[j][c - cBeg], a);
        }
    }
}

void fwdNhwcMult(const Args& a, int64_t job, std::pair<int64_t, int64_t>* taps) {
    switch (a.pl.M) {
        case 2: return fwdNhwcMultT<2>(a, job, taps);
        case 3: return fwdNhwcMultT<3>(a, job, taps);
        case 4: return fwdNhwcMultT<4>(a, job, taps);
        default: return fwdNhwcMultT<0>(a, job, taps);
    }
}
void bwdDataNhwcMult(const Args& a, int64_t job, std::pair<int64_t, int64_t>* taps) {
    switch (a.pl.M) {
        case 2: return bwdDataNhwcMultT<2>(a, job, taps);
        case 3: return bwdDataNhwcMultT<3>(a, job, taps);
        case 4: return bwdDataNhwcMultT<4>(a, job, taps);
        default: return bwdDataNhwcMultT<0>(a, job, taps);
    }
}
void bwdFilterNhwcMult(const Args& a, int64_t job) {
    switch (a.pl.M) {
        case 2: return bwdFilterNhwcMultT<2>(a, job);
        case 3: return bwdFilterNhwcMultT<3>(a, job);
        case 4: return bwdFilterNhwcMultT<4>(a, job);
        default: return bwdFilterNhwcMultT<0>(a, job);
    }
}

// ------------------------------------------------------------------ one job
// One job on this target. The OpenMP loop around it lives outside the per-target code (below):
// an OpenMP region inside Highway's target region hung under qemu-aarch64 with more than one
// thread, so the parallel driver stays plain C++ and dispatches per job.
void RunJob(const Args& a, int64_t job, std::vector<float>& tmp, std::vector<std::pair<int64_t, int64_t>>& taps) {
    switch (a.pl.kernel) {
        case DwKernel::BwdDataPhases: bwdDataNchw(a, job, tmp); break;
        case DwKernel::BwdFilterTaps: bwdFilterNchw(a, job, tmp); break;
        case DwKernel::FwdChannels: fwdNhwc(a, job, taps.data()); break;
        case DwKernel::BwdDataChannels: bwdDataNhwc(a, job, taps.data()); break;
        case DwKernel::BwdFilterChannels: bwdFilterNhwc(a, job); break;
        case DwKernel::FwdChannelsMult: fwdNhwcMult(a, job, taps.data()); break;
        case DwKernel::BwdDataChannelsMult: bwdDataNhwcMult(a, job, taps.data()); break;
        case DwKernel::BwdFilterChannelsMult: bwdFilterNhwcMult(a, job); break;
        default: fwdNchw(a, job, tmp); break;
    }
}

}  // namespace HWY_NAMESPACE
}  // namespace dw
}  // namespace convx
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace convx {
namespace dw {
HWY_EXPORT(RunJob);

int64_t jobCount(const Args& a) {
    const Conv3d& g = a.pl.g;
    switch (a.pl.kernel) {
        case DwKernel::BwdDataPhases: return g.N * g.C;
        case DwKernel::BwdFilterTaps: return g.K;
        case DwKernel::FwdChannels: return g.N * g.O[0] * g.O[1];
        case DwKernel::BwdDataChannels: return g.N * g.I[0] * g.I[1];
        case DwKernel::BwdFilterChannels: return ceilDiv(g.C, kChanBlock) * g.taps;
        case DwKernel::FwdChannelsMult: return g.N * g.O[0] * g.O[1];
        case DwKernel::BwdDataChannelsMult: return g.N * g.I[0] * g.I[1];
        case DwKernel::BwdFilterChannelsMult:  // per (block, tap), and per m unless M is 2..4
            return ceilDiv(g.C, kChanBlock) * g.taps * (a.pl.M >= 2 && a.pl.M <= 4 ? 1 : a.pl.M);
        default: return ceilDiv(g.N * g.K, planesPerJob(g));
    }
}

// Every job once, on the best target this machine runs (Highway's dispatch by name: with a
// single target it is a static call).
void runDepthwise(const Args& a) {
    const int64_t jobs = jobCount(a);
    const Conv3d& g = a.pl.g;
#pragma omp parallel num_threads(a.threads)
    {
        std::vector<float> tmp;
        std::vector<std::pair<int64_t, int64_t>> taps(a.pl.channelsLast ? 2 * g.taps : 0);  // fwdNhwc: pixel + interior lists
#pragma omp for schedule(dynamic, 1)
        for (int64_t job = 0; job < jobs; ++job) HWY_DYNAMIC_DISPATCH(RunJob)(a, job, tmp, taps);
    }
}
}

namespace {

class CpuDepthwise final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_DEPTHWISE; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CPU; }
    unsigned directions() const override { return kAllDirections; }
    Applicability isApplicable(const Problem& p) const override {
        std::string why;
        if (!dwFits(p, &why)) return Applicability::no(why);
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        dw::Args a;
        a.pl = planDepthwise(p);
        const Conv3d& g = a.pl.g;
        a.alpha = static_cast<float>(s.alpha);
        a.beta = static_cast<float>(s.beta);
        a.threads = cpuThreadCount(ctx.handle ? ctx.handle->numThreads : 0);
        const int64_t KD = g.R[0], R = g.R[1], S = g.R[2], T = KD * R * S;  // KD > 1 only channels-last (3-D)
        // The filter in the kernels' order, cross-correlation orientation (small: K x taps).
        thread_local std::vector<float> wt;
        if (p.dir != Direction::BackwardFilter) {
            wt.resize(static_cast<size_t>(g.K * T));
            const float* w = static_cast<const float*>(b.w);
            const bool mirror = g.flip != a.pl.rotated;  // CONVOLUTION mode, or the rotated filter
            for (int64_t k = 0; k < g.K; ++k)
                for (int64_t kd = 0; kd < KD; ++kd)
                    for (int64_t r = 0; r < R; ++r)
                        for (int64_t s2 = 0; s2 < S; ++s2) {
                            const int64_t ud = mirror ? KD - 1 - kd : kd, ur = mirror ? R - 1 - r : r, us = mirror ? S - 1 - s2 : s2;
                            const float v = w[k * g.ws[0] + ud * g.ws[2] + ur * g.ws[3] + us * g.ws[4]];
                            const int64_t t = (kd * R + r) * S + s2;
                            // Channels-last: [tap][m][c] for k = c M + m (with M = 1 simply [tap][k]).
                            wt[a.pl.channelsLast ? t * g.K + (k % a.pl.M) * g.C + k / a.pl.M : k * T + t] = v;
                        }
            a.wt = wt.data();
        }
        switch (p.dir) {
            case Direction::Forward:
                a.x = static_cast<const float*>(b.x), a.y = static_cast<float*>(b.y);
                break;
            case Direction::BackwardData:
                if (a.pl.rotated)  // the forward kernels, reading dy and writing dx
                    a.x = static_cast<const float*>(b.y), a.y = static_cast<float*>(b.x);
                else
                    a.xo = static_cast<float*>(b.x), a.y = static_cast<float*>(b.y);
                break;
            case Direction::BackwardFilter:
                a.x = static_cast<const float*>(b.x), a.y = static_cast<float*>(b.y), a.wo = static_cast<float*>(b.w);
                break;
        }
        dw::runDepthwise(a);
    }
};

}  // namespace

const Algorithm* cpuDepthwiseAlgorithm() {
    static const CpuDepthwise a;
    return &a;
}

}  // namespace convx
#endif  // HWY_ONCE
