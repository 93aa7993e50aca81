// The CUDA kernel of CONVX_ALGO_KERNEL_SPLIT, written as the per-thread steps of one block
// between barriers, so that the same code runs in the kernel (cuda/kernel_split.cu) and in a
// host emulation of a block (ksEmulate below), which the CPU tests check against the reference.
// Nothing here needs a CUDA header; the kernel file supplies ldf/stf overloads for f16/bf16
// before including it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "geometry.h"
#include "kernel_split_plan.h"

#ifdef __CUDACC__
#define KS_HD __host__ __device__
#else
#define KS_HD
#endif

namespace convx {
namespace ks {

constexpr int kMaxPhases = 64;      // non-empty N-D phases
constexpr int kMaxAxisPhases = 16;  // stride per axis
constexpr int kMaxAxisTaps = 32;    // filter extent per axis
constexpr int kChunk = 16;          // reduction indices staged per step

struct DevAxis {
    int first[kMaxAxisPhases], count[kMaxAxisPhases], tapBegin[kMaxAxisPhases], tapCount[kMaxAxisPhases];
    int wTap[kMaxAxisTaps], dyOff[kMaxAxisTaps];
};

// The plan as a kernel argument (about 2.7 KB, under the 4 KB parameter limit).
struct DevPlan {
    Conv3d g;
    DevAxis ax[3];
    int nPhases;
    unsigned char phA[kMaxPhases][3];   // per-axis phase index of each N-D phase
    int64_t tileBegin[kMaxPhases + 1];  // prefix sums of BM-row tiles per phase
};

// Why the device plan cannot hold a problem, or empty.
inline std::string devPlanLimit(const Problem& p) {
    const Conv3d g = conv3dOf(p);
    int64_t phases = 1;
    for (int a = 0; a < 3; ++a) {
        if (g.S[a] > kMaxAxisPhases) return "stride above " + std::to_string(kMaxAxisPhases);
        if (g.R[a] > kMaxAxisTaps) return "filter extent above " + std::to_string(kMaxAxisTaps);
        if (g.I[a] >= (int64_t(1) << 30) || g.O[a] >= (int64_t(1) << 30)) return "spatial size of 2^30 or more";
        // dy offsets of the taps travel as 32-bit ints: |dyOff| <= pad + (R-1) * dilation.
        if (g.P[a] + (g.R[a] - 1) * g.D[a] >= (int64_t(1) << 30)) return "pad + dilated filter extent of 2^30 or more";
        phases *= std::min(g.S[a], g.I[a]);
    }
    if (phases > kMaxPhases) return "more than " + std::to_string(kMaxPhases) + " stride phases";
    if (p.Kg() * g.taps >= (int64_t(1) << 31) - 64) return "reduction (K/G x taps) of 2^31 or more";
    return {};
}

inline DevPlan devPlan(const Problem& p, const KernelSplitPlan& plan, int BM) {
    DevPlan d{};
    d.g = conv3dOf(p);
    for (int a = 0; a < 3; ++a) {
        int tap = 0;
        for (size_t f = 0; f < plan.axis[a].phases.size(); ++f) {
            const KsAxisPhase& ph = plan.axis[a].phases[f];
            d.ax[a].first[f] = int(ph.first);
            d.ax[a].count[f] = int(ph.count);
            d.ax[a].tapBegin[f] = tap;
            d.ax[a].tapCount[f] = int(ph.taps.size());
            for (const KsTap& t : ph.taps) {
                d.ax[a].wTap[tap] = int(t.wTap);
                d.ax[a].dyOff[tap] = int(t.dyOff);
                ++tap;
            }
        }
    }
    d.nPhases = int(plan.phases.size());
    int64_t tiles = 0;
    for (size_t i = 0; i < plan.phases.size(); ++i) {
        for (int a = 0; a < 3; ++a) d.phA[i][a] = static_cast<unsigned char>(plan.phases[i].a[a]);
        d.tileBegin[i] = tiles;
        tiles += (d.g.N * plan.phases[i].elems + BM - 1) / BM;
    }
    d.tileBegin[plan.phases.size()] = tiles;
    return d;
}

KS_HD inline float ldf(const float* p, int64_t i) { return p[i]; }
KS_HD inline double ldf(const double* p, int64_t i) { return p[i]; }
KS_HD inline void stf(float* p, int64_t i, float v) { p[i] = v; }
KS_HD inline void stf(double* p, int64_t i, double v) { p[i] = v; }
KS_HD inline float fmaAcc(float a, float b, float c) { return fmaf(a, b, c); }
KS_HD inline double fmaAcc(double a, double b, double c) { return fma(a, b, c); }

// Block tile BM rows x BN channels; each of the (BM/TM) x (BN/TN) threads owns TM x TN outputs.
template <class Acc, int BM, int BN, int TM, int TN>
struct Tile {
    static constexpr int NY = BM / TM, NX = BN / TN, NT = NY * NX, KB = kChunk;
    // Shared memory of one block.
    struct Shared {
        Acc As[KB][BM + 1];
        Acc Bs[KB][BN];
        int64_t pixDy[BM], pixDx[BM];  // n * stride + position offsets; -1: row past the phase
        int pixJ[BM][3];
        int64_t redK[KB], redW[KB];  // dy channel and user tap offset of a reduction index
        int redOff[KB][3];
        int redValid[KB];
    };
    // What every thread of a block knows about its phase (uniform per block).
    struct Block {
        int ph, a[3], cnt[3], nt[3], tb[3], kg, red;
        int64_t rows, m0;
    };

    KS_HD static void threadPos(int tid, bool chanFast, int* tx, int* ty) {
        *tx = chanFast ? tid % NX : tid / NY;
        *ty = chanFast ? tid / NX : tid % NY;
    }

    // The block's phase: the last whose first tile is <= the block's tile.
    KS_HD static Block block(const DevPlan& P, int64_t tile) {
        Block b;
        int ph = 0;
        while (ph + 1 < P.nPhases && P.tileBegin[ph + 1] <= tile) ++ph;
        b.ph = ph;
        for (int i = 0; i < 3; ++i) {
            b.a[i] = P.phA[ph][i];
            b.cnt[i] = P.ax[i].count[b.a[i]];
            b.nt[i] = P.ax[i].tapCount[b.a[i]];
            b.tb[i] = P.ax[i].tapBegin[b.a[i]];
        }
        b.rows = P.g.N * (int64_t(b.cnt[0]) * b.cnt[1] * b.cnt[2]);
        b.m0 = (tile - P.tileBegin[ph]) * BM;
        b.kg = int(P.g.Kg);
        b.red = b.kg * b.nt[0] * b.nt[1] * b.nt[2];
        return b;
    }

    // Row table entry m: (n, j0, j1, j2) of the tile's row and its dx offset.
    KS_HD static void rowEntry(const DevPlan& P, const Block& b, int m, Shared& s) {
        const Conv3d& g = P.g;
        const int64_t row = b.m0 + m;
        if (row >= b.rows) {
            s.pixDy[m] = -1;
            s.pixDx[m] = -1;
            return;
        }
        int64_t r = row;
        const int j2 = int(r % b.cnt[2]); r /= b.cnt[2];
        const int j1 = int(r % b.cnt[1]); r /= b.cnt[1];
        const int j0 = int(r % b.cnt[0]);
        const int64_t n = r / b.cnt[0];
        const int64_t i0 = P.ax[0].first[b.a[0]] + int64_t(j0) * g.S[0];
        const int64_t i1 = P.ax[1].first[b.a[1]] + int64_t(j1) * g.S[1];
        const int64_t i2 = P.ax[2].first[b.a[2]] + int64_t(j2) * g.S[2];
        s.pixDy[m] = n * g.ys[0];
        s.pixDx[m] = n * g.xs[0] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4];
        s.pixJ[m][0] = j0, s.pixJ[m][1] = j1, s.pixJ[m][2] = j2;
    }

    // Reduction index kc + kk of the chunk (dy channel fastest, then the phase's taps), decoded
    // in 32-bit arithmetic (devPlanLimit bounds K/G x taps below 2^31).
    KS_HD static void redEntry(const DevPlan& P, const Block& b, int64_t grp, int kc, int kk, Shared& s) {
        const Conv3d& g = P.g;
        const int r = kc + kk;
        s.redValid[kk] = r < b.red;
        if (r >= b.red) return;
        const int kl = r % b.kg, t = r / b.kg;
        const int t2 = b.tb[2] + t % b.nt[2], t1 = b.tb[1] + (t / b.nt[2]) % b.nt[1], t0 = b.tb[0] + t / (b.nt[1] * b.nt[2]);
        s.redK[kk] = grp * g.Kg + kl;
        s.redOff[kk][0] = P.ax[0].dyOff[t0];
        s.redOff[kk][1] = P.ax[1].dyOff[t1];
        s.redOff[kk][2] = P.ax[2].dyOff[t2];
        s.redW[kk] = P.ax[0].wTap[t0] * g.ws[2] + P.ax[1].wTap[t1] * g.ws[3] + P.ax[2].wTap[t2] * g.ws[4];
    }

    // dy tile element e of KB x BM: zero where the tap falls outside dy. Along dy channels when
    // those are contiguous, else along rows (consecutive phase columns read consecutive dy).
    template <class T>
    KS_HD static void loadDy(const DevPlan& P, const T* dy, bool dyChanFast, int e, Shared& s) {
        const Conv3d& g = P.g;
        const int kk = dyChanFast ? e % KB : e / BM;
        const int m = dyChanFast ? e / KB : e % BM;
        Acc v = Acc(0);
        if (s.redValid[kk] && s.pixDy[m] >= 0) {
            const int o0 = s.pixJ[m][0] + s.redOff[kk][0], o1 = s.pixJ[m][1] + s.redOff[kk][1], o2 = s.pixJ[m][2] + s.redOff[kk][2];
            if (o0 >= 0 && o0 < g.O[0] && o1 >= 0 && o1 < g.O[1] && o2 >= 0 && o2 < g.O[2])
                v = Acc(ldf(dy, s.pixDy[m] + s.redK[kk] * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4]));
        }
        s.As[kk][m] = v;
    }

    // w tile element e of KB x BN (the group's dx channels from cBase).
    template <class T>
    KS_HD static void loadW(const DevPlan& P, const T* w, int64_t cBase, int e, Shared& s) {
        const Conv3d& g = P.g;
        const int kk = e / BN, c = e % BN;
        Acc v = Acc(0);
        if (s.redValid[kk] && cBase + c < g.Cg) v = Acc(ldf(w, s.redK[kk] * g.ws[0] + (cBase + c) * g.ws[1] + s.redW[kk]));
        s.Bs[kk][c] = v;
    }

    KS_HD static void multiply(int tx, int ty, const Shared& s, Acc (&acc)[TM][TN]) {
#ifdef __CUDACC__
#pragma unroll
#endif
        for (int kk = 0; kk < KB; ++kk) {
            Acc a[TM], bv[TN];
            for (int i = 0; i < TM; ++i) a[i] = s.As[kk][ty + i * NY];
            for (int j = 0; j < TN; ++j) bv[j] = s.Bs[kk][tx + j * NX];
            for (int i = 0; i < TM; ++i)
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaAcc(a[i], bv[j], acc[i][j]);
        }
    }

    // dx = alpha * acc + beta * dx for the thread's outputs; beta 0 never reads dx.
    template <class T>
    KS_HD static void store(const DevPlan& P, T* dx, int64_t grp, int64_t cBase, int tx, int ty, const Shared& s,
                            const Acc (&acc)[TM][TN], Acc alpha, Acc beta) {
        const Conv3d& g = P.g;
        for (int i = 0; i < TM; ++i) {
            const int m = ty + i * NY;
            if (s.pixDx[m] < 0) continue;
            for (int j = 0; j < TN; ++j) {
                const int64_t c = cBase + tx + j * NX;
                if (c >= g.Cg) continue;
                const int64_t off = s.pixDx[m] + (grp * g.Cg + c) * g.xs[1];
                Acc v = alpha * acc[i][j];
                if (beta != Acc(0)) v += beta * Acc(ldf(dx, off));
                stf(dx, off, v);
            }
        }
    }
};

// Host emulation of the launch: every block, every thread, the same steps in the same order
// between the kernel's barriers. For tests only (slow).
template <class T, class Acc, int BM, int BN, int TM, int TN>
void emulate(const DevPlan& P, T* dx, const T* w, const T* dy, Acc alpha, Acc beta, int64_t cTiles, bool chanFast,
             bool dyChanFast, int64_t gridX, int64_t gridY) {
    using K = Tile<Acc, BM, BN, TM, TN>;
    constexpr int NT = K::NT, KB = K::KB;
    std::vector<typename K::Shared> shared(1);
    typename K::Shared& s = shared[0];
    std::vector<Acc> accs(size_t(NT) * TM * TN);
    for (int64_t bx = 0; bx < gridX; ++bx)
        for (int64_t by = 0; by < gridY; ++by) {
            const typename K::Block b = K::block(P, bx);
            for (int tid = 0; tid < NT; ++tid)
                for (int m = tid; m < BM; m += NT) K::rowEntry(P, b, m, s);
            for (int64_t yb = by; yb < P.g.G * cTiles; yb += gridY) {
                const int64_t grp = yb / cTiles, cBase = (yb % cTiles) * BN;
                std::fill(accs.begin(), accs.end(), Acc(0));
                for (int kc = 0; kc < b.red; kc += KB) {
                    for (int tid = 0; tid < KB; ++tid) K::redEntry(P, b, grp, kc, tid, s);
                    for (int tid = 0; tid < NT; ++tid) {
                        for (int e = tid; e < KB * BM; e += NT) K::loadDy(P, dy, dyChanFast, e, s);
                        for (int e = tid; e < KB * BN; e += NT) K::loadW(P, w, cBase, e, s);
                    }
                    for (int tid = 0; tid < NT; ++tid) {
                        int tx, ty;
                        K::threadPos(tid, chanFast, &tx, &ty);
                        K::multiply(tx, ty, s, *reinterpret_cast<Acc(*)[TM][TN]>(&accs[size_t(tid) * TM * TN]));
                    }
                }
                for (int tid = 0; tid < NT; ++tid) {
                    int tx, ty;
                    K::threadPos(tid, chanFast, &tx, &ty);
                    K::store(P, dx, grp, cBase, tx, ty, s, *reinterpret_cast<const Acc(*)[TM][TN]>(&accs[size_t(tid) * TM * TN]), alpha,
                             beta);
                }
            }
        }
}

// The launch geometry of a problem for one tile shape.
struct Launch {
    DevPlan plan;
    int64_t gridX, gridY, cTiles;
    bool chanFast, dyChanFast;
};

inline Launch launchOf(const Problem& p, int BM, int BN) {
    Launch l;
    l.plan = devPlan(p, kernelSplitPlan(p), BM);
    l.gridX = l.plan.tileBegin[l.plan.nPhases];
    l.cTiles = (p.Cg() + BN - 1) / BN;
    l.gridY = std::min<int64_t>(p.G * l.cTiles, 65535);
    l.chanFast = l.plan.g.xs[1] == 1 && p.C > 1;   // dx channels-last: threads along channels
    l.dyChanFast = l.plan.g.ys[1] == 1 && p.K > 1;  // dy channels-last: loads along dy channels
    return l;
}

}  // namespace ks
}  // namespace convx
