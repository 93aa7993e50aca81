// CONVX_ALGO_DIRECT_COALESCED: the CUDA kernel's arithmetic, one thread and one block phase at
// a time, written host-and-device so that the kernel (cuda/direct_coalesced.cu) and the unit
// tests run the same code: the tests emulate a block on the host, thread by thread between the
// barriers, and compare with the reference. No CUDA header here; the kernel adds the widen /
// narrow overloads of the 16-bit types before including it.
#pragma once

#include <cstdint>

#include "direct_coalesced_plan.h"
#include "geometry.h"

#ifdef __CUDACC__
#define CONVX_DC_UNROLL _Pragma("unroll")
#else
#define CONVX_DC_UNROLL
#endif

namespace convx {

CONVX_DC_HD inline float dcWiden(float v) { return v; }
CONVX_DC_HD inline double dcWiden(double v) { return v; }
CONVX_DC_HD inline void dcNarrow(float* p, float v) { *p = v; }
CONVX_DC_HD inline void dcNarrow(double* p, double v) { *p = v; }

// Stage w[k0 .. k0+BK) x [c0 .. c0+cs) x taps of the block's group into
// sw[(cc*taps + t) * sharedStride + kk], zeros past K/G; thread tid of nthreads takes every
// nthreads-th element. Consecutive threads take consecutive (cc, t) of one k: consecutive
// filter addresses for a packed K x C x R x S filter; the stride is odd, so their stores land in
// distinct banks. 32-bit index math: a stage holds at most kDcSharedMax bytes.
template <class A, class T>
CONVX_DC_HD inline void dcStageFilter(const Conv3d& g, const DcGpuPlan& pl, const DcBlockTile& bt, const T* w, A* sw, int64_t c0,
                                      int64_t cs, int tid, int nthreads) {
    const int tapsI = int(g.taps), r2 = int(g.R[2]), r1 = int(g.R[1]), r12 = int(g.R[1] * g.R[2]);
    const int perK = int(cs) * tapsI;
    const int total = perK * int(pl.BK);
    const T* wBlock = w + (bt.grp * g.Kg + bt.k0) * g.ws[0] + c0 * g.ws[1];
    for (int e = tid; e < total; e += nthreads) {
        const int kk = e / perK, jt = e - kk * perK;
        const int cc = jt / tapsI, t = jt - cc * tapsI;
        int ta = t / r12, tb = (t / r2) % r1, te = t % r2;
        if (g.flip) ta = int(g.R[0]) - 1 - ta, tb = r1 - 1 - tb, te = r2 - 1 - te;  // CONVOLUTION mirrors the taps
        A v = A(0);
        if (bt.k0 + kk < g.Kg) v = dcWiden(wBlock[kk * g.ws[0] + cc * g.ws[1] + ta * g.ws[2] + tb * g.ws[3] + te * g.ws[4]]);
        sw[int64_t(jt) * pl.sharedStride + kk] = v;
    }
}

// One thread's PT outputs x KT channels of a block tile, in registers.
template <class A, class T, int PT, int KT>
struct DcThread {
    int pixIdx, kIdx;
    bool live[PT];
    int64_t xn[PT], yo[PT], b0[PT], b1[PT], b2[PT], pwOff[PT];
    A acc[PT][KT];

    // The thread's pixels: input coordinates of tap (0,0,0), x offsets (image, group), y offsets.
    CONVX_DC_HD void begin(const Conv3d& g, const DcGpuPlan& pl, const DcBlockTile& bt, int tid) {
        dcThreadIndex(pl, tid, &pixIdx, &kIdx);
        const int64_t cFirst = bt.grp * g.Cg;
CONVX_DC_UNROLL
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
            // Pointwise: the one tap's offset never leaves the input (no padding, one tap).
            pwOff[j] = live[j] ? xn[j] + b0[j] * g.xs[2] + b1[j] * g.xs[3] + b2[j] * g.xs[4] : -1;
CONVX_DC_UNROLL
            for (int i = 0; i < KT; ++i) acc[j][i] = A(0);
        }
    }

    // The stage's cs channels from c0, against the staged filter slice sw: per tap, the bounds
    // test once for the whole stage, then per channel PT input loads (coalesced along W, or a
    // broadcast), KT shared loads (a broadcast, or consecutive words), PT x KT FMAs.
    template <bool Pointwise>
    CONVX_DC_HD void stage(const Conv3d& g, const DcGpuPlan& pl, const T* x, const A* sw, int64_t c0, int64_t cs) {
        const A* swk = sw + int64_t(kIdx) * KT;
        const int64_t cStep = g.xs[1];
        const int64_t sStep = g.taps * pl.sharedStride;  // shared words from one channel to the next
        if (Pointwise) {
            const T* xp[PT];
            bool in[PT];
CONVX_DC_UNROLL
            for (int j = 0; j < PT; ++j) {
                in[j] = pwOff[j] >= 0;
                xp[j] = x + (in[j] ? pwOff[j] + c0 * cStep : 0);
            }
            const A* sp = swk;
            for (int64_t cc = 0; cc < cs; ++cc, sp += sStep) madd(xp, in, cc * cStep, sp);
            return;
        }
        int64_t t = 0;
        for (int64_t a = 0; a < g.R[0]; ++a)
            for (int64_t b = 0; b < g.R[1]; ++b)
                for (int64_t e = 0; e < g.R[2]; ++e, ++t) {
                    const T* xp[PT];
                    bool in[PT];
                    bool any = false;
CONVX_DC_UNROLL
                    for (int j = 0; j < PT; ++j) {
                        const int64_t i0 = b0[j] + a * g.D[0], i1 = b1[j] + b * g.D[1], i2 = b2[j] + e * g.D[2];
                        const bool inside = live[j] && i0 >= 0 && i0 < g.I[0] && i1 >= 0 && i1 < g.I[1] && i2 >= 0 && i2 < g.I[2];
                        in[j] = inside;
                        xp[j] = x + (inside ? xn[j] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4] + c0 * cStep : 0);
                        any = any || inside;
                    }
                    if (!any) continue;  // no barrier inside: this divergence is safe
                    const A* sp = swk + t * pl.sharedStride;
                    for (int64_t cc = 0; cc < cs; ++cc, sp += sStep) madd(xp, in, cc * cStep, sp);
                }
    }

    // y = alpha * acc + beta * y; beta == 0 never reads y. Lanes over pixels write consecutive
    // W addresses (channels-first y); lanes over channels consecutive C ones.
    CONVX_DC_HD void store(const Conv3d& g, const DcBlockTile& bt, T* y, A alpha, A beta) const {
CONVX_DC_UNROLL
        for (int j = 0; j < PT; ++j) {
            if (!live[j]) continue;
CONVX_DC_UNROLL
            for (int i = 0; i < KT; ++i) {
                const int64_t k = bt.k0 + int64_t(kIdx) * KT + i;
                if (k >= g.Kg) continue;
                T* dst = y + yo[j] + (bt.grp * g.Kg + k) * g.ys[1];
                A v = alpha * acc[j][i];
                if (beta != A(0)) v += beta * dcWiden(*dst);
                dcNarrow(dst, v);
            }
        }
    }

private:
    // One channel: inputs xp[j][off] where in[j] (else 0), weights sp[0 .. KT).
    CONVX_DC_HD void madd(const T* const* xp, const bool* in, int64_t off, const A* sp) {
        A xv[PT], wv[KT];
CONVX_DC_UNROLL
        for (int j = 0; j < PT; ++j) xv[j] = in[j] ? A(dcWiden(xp[j][off])) : A(0);
CONVX_DC_UNROLL
        for (int i = 0; i < KT; ++i) wv[i] = sp[i];
CONVX_DC_UNROLL
        for (int j = 0; j < PT; ++j)
CONVX_DC_UNROLL
            for (int i = 0; i < KT; ++i) acc[j][i] += xv[j] * wv[i];
    }
};

}  // namespace convx
