// The CUDA kernels of CONVX_ALGO_DEPTHWISE (cuda/depthwise.cu), written as the per-thread steps
// of one block between barriers, so that the same code runs in the kernels and in a host
// emulation of every block (dw::emulate* below), which the CPU tests check against the
// reference (tests/test_depthwise_cuda_plan.cpp). Nothing here needs a CUDA header; the kernel
// file supplies toAcc/fromAcc overloads for f16/bf16 before including it.
//
// Four kernels, all memory-bound by design (each input element comes from DRAM once; halos
// between neighbouring tiles come from L2):
//  - Rows (channels-first, unit stride along W): a block owns PB (n, c) planes x a TH x TW output
//    tile; it stages the source tile + halo in shared memory (16-byte global loads where
//    aligned), de-interleaved by the W stride into sw phase rows so that a thread's taps read
//    consecutive words; each thread computes V = 4 consecutive outputs along W from a register
//    window (float4 shared loads when specialised). Forward, and backward-data at stride 1
//    through the rotated filter (pad dil - pad, taps mirrored, M dy planes summed).
//  - Phases (channels-first backward-data at stride > 1): the same staging of the dy tile; each
//    dx pixel gathers only the taps of its stride phase (no zero insertion).
//  - Channels (channels-last, unit stride along C): threads along C, CV channels each (16-byte
//    vectors), one output pixel per thread, a block covers a run of pixels of a row; halo reuse
//    through L1. Forward (all taps) and backward-data (phase taps).
//  - Filter (weight gradient, both layouts): block partial sums per (k, tap) over a contiguous
//    chunk of (n, output pixel), written to the workspace, then a reduction kernel that sums the
//    chunks in chunk order. No atomics: the bits do not depend on scheduling.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "geometry.h"
#include "problem.h"

#ifdef __CUDACC__
#define DW_HD __host__ __device__
#else
#define DW_HD
#endif

namespace convx {
namespace dw {

constexpr int kV = 4;                      // outputs per thread along W (rows, phases)
constexpr int kBlockThreads = 256;
constexpr int64_t kSharedMax = 48 * 1024;  // static limit, no opt-in needed

DW_HD inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
DW_HD inline int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }
DW_HD inline int64_t dmin(int64_t a, int64_t b) { return a < b ? a : b; }
DW_HD inline int64_t dmax(int64_t a, int64_t b) { return a > b ? a : b; }
inline int64_t roundUp(int64_t a, int64_t m) { return (a + m - 1) / m * m; }
inline int pow2AtLeast(int64_t v, int cap) {
    int p = 1;
    while (p < v && p < cap) p *= 2;
    return p;
}

DW_HD inline float toAcc(float v) { return v; }
DW_HD inline double toAcc(double v) { return v; }
template <class Acc>
DW_HD inline void fromAcc(float* p, Acc v) { *p = float(v); }
template <class Acc>
DW_HD inline void fromAcc(double* p, Acc v) { *p = double(v); }

// 16 bytes of global memory (the caller guarantees alignment and bounds).
template <class T>
DW_HD inline void load16(const T* p, T (&v)[16 / sizeof(T)]) {
#ifdef __CUDA_ARCH__
    const uint4 q = __ldg(reinterpret_cast<const uint4*>(p));
    memcpy(&v[0], &q, 16);
#else
    memcpy(&v[0], p, 16);
#endif
}

// Four consecutive accumulator values from shared memory (16-byte aligned when Acc is float).
template <class Acc>
DW_HD inline void lds4(const Acc* p, Acc (&v)[4]) {
#ifdef __CUDA_ARCH__
    if constexpr (sizeof(Acc) == 4) {
        const float4 q = *reinterpret_cast<const float4*>(p);
        v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
        return;
    }
#endif
    v[0] = p[0], v[1] = p[1], v[2] = p[2], v[3] = p[3];
}

// (n, o0, o1, o2) of a flat pixel index over dims (.., d0, d1, d2); 32-bit divisions when the
// whole range fits (the common case), 64-bit otherwise.
DW_HD inline void decodePixel(int64_t l, bool small, const int64_t* d, int64_t* n, int64_t* o0, int64_t* o1, int64_t* o2) {
    if (small) {
        uint32_t r = uint32_t(l);
        const uint32_t a2 = r % uint32_t(d[2]);
        r /= uint32_t(d[2]);
        const uint32_t a1 = r % uint32_t(d[1]);
        r /= uint32_t(d[1]);
        const uint32_t a0 = r % uint32_t(d[0]);
        *n = r / uint32_t(d[0]), *o0 = a0, *o1 = a1, *o2 = a2;
        return;
    }
    int64_t r = l;
    *o2 = r % d[2];
    r /= d[2];
    *o1 = r % d[1];
    r /= d[1];
    *o0 = r % d[0];
    *n = r / d[0];
}

// Taps j in [0, K) that reach a destination at distance a (a - j d divisible by s): the first
// and the step. first >= K when none. a >= 0 is not required.
struct TapSet {
    int first, step;
};
DW_HD inline TapSet tapSet(int64_t a, int64_t d, int64_t s, int64_t K) {
    int64_t g = d, h = s;
    while (h) {
        const int64_t t = g % h;
        g = h, h = t;
    }
    const int64_t step = s / g;
    for (int64_t j = 0; j < step && j < K; ++j)
        if (floorDiv(a - j * d, s) * s == a - j * d) return {int(j), int(step)};
    return {int(K), int(step)};
}

// ================================================================ rows and phases (channels-first)

// Per-plane geometry of the "source plane -> destination plane" form both channels-first kernels
// run, plus the tile. Forward: source x (one plane per (n, c)), destinations y planes c*M + m.
// Backward-data: destination dx plane (n, c), sources dy planes c*M + m (summed).
struct PlaneGeom {
    int64_t Hs, Ws, Hd, Wd;           // source and destination plane sizes
    int64_t R, S, sh, sw, ph, pw, dh, dw;
    bool flip;                        // taps read w mirrored
    bool bwd;                         // M sources per destination (backward-data)
    bool phases;                      // phase gather (backward-data, stride > 1)
    int64_t M, C, planes;             // multiplier, channels, N * C
    int64_t sN, sC, sH, dN, dC, dH;   // element strides (unit along W)
    int64_t wK, wR, wS;               // filter strides (k, tap row, tap column)
    // tile
    int TX, TY, PB, threads;          // threads along W, rows, planes per block, block size
    int64_t TW, TH;                   // destination tile (TX * V columns, TY rows)
    int64_t TIH, TIW;                 // staged source rows and columns
    int64_t Q;                        // source column phases in shared memory (sw for rows, 1 for phases)
    int64_t NB, PW;                   // register window per phase, phase-row pitch (multiples of 4)
    int64_t tilesW, tilesH, blocks;
    int64_t smemElems;
    bool vec;                         // 16-byte global loads allowed (pointer and row alignment known)
};

// The staged source origin (row, column) of a destination tile.
struct TileOrigin {
    int64_t plane0, oh0, ow0, ih0, iw0;
};
DW_HD inline TileOrigin tileOrigin(const PlaneGeom& G, int64_t b) {
    TileOrigin t;
    const int64_t tw = b % G.tilesW;
    b /= G.tilesW;
    const int64_t th = b % G.tilesH;
    t.plane0 = b / G.tilesH * G.PB;
    t.oh0 = th * G.TH;
    t.ow0 = tw * G.TW;
    if (G.phases) {  // the lowest dy row/column any destination of the tile gathers
        t.ih0 = floorDiv(t.oh0 + G.ph - (G.R - 1) * G.dh, G.sh);
        t.iw0 = floorDiv(t.ow0 + G.pw - (G.S - 1) * G.dw, G.sw);
    } else {
        t.ih0 = t.oh0 * G.sh - G.ph;
        t.iw0 = t.ow0 * G.sw - G.pw;
    }
    return t;
}

// Shared-memory index of staged source (row, column), both relative to the tile origin.
DW_HD inline int64_t smemIndex(const PlaneGeom& G, int64_t pb, int64_t row, int64_t col) {
    return ((pb * G.TIH + row) * G.Q + col % G.Q) * G.PW + col / G.Q;
}

// The tile for a plane geometry whose sizes are set; false (with why) when it cannot fit.
inline bool planTile(PlaneGeom& G, int accBytes, std::string* why) {
    G.TX = pow2AtLeast((G.Wd + kV - 1) / kV, 32);
    G.TY = int(std::min<int64_t>(pow2AtLeast(G.Hd, 16), kBlockThreads / G.TX));
    G.PB = int(std::max<int64_t>(1, std::min<int64_t>(kBlockThreads / (G.TX * G.TY), G.planes)));
    for (;;) {
        G.TW = int64_t(G.TX) * kV;
        G.TH = G.TY;
        if (G.phases) {
            G.Q = 1;
            G.TIH = (G.TH - 1 + (G.R - 1) * G.dh) / G.sh + 2;
            G.TIW = (G.TW - 1 + (G.S - 1) * G.dw) / G.sw + 2;
            G.NB = 0;
            G.PW = roundUp(G.TIW, 4);
        } else {
            G.Q = G.sw;
            G.TIH = (G.TH - 1) * G.sh + (G.R - 1) * G.dh + 1;
            G.TIW = (G.TW - 1) * G.sw + (G.S - 1) * G.dw + 1;
            G.NB = roundUp(kV + (G.S - 1) * G.dw / G.sw, 4);
            G.PW = roundUp(std::max<int64_t>((G.TX - 1) * kV + G.NB, (G.TIW + G.Q - 1) / G.Q), 4);
        }
        G.smemElems = G.PB * G.TIH * G.Q * G.PW;
        if (G.smemElems * accBytes <= kSharedMax) break;
        if (G.PB > 1) G.PB /= 2;
        else if (G.TY > 1) G.TY /= 2;
        else if (G.TX > 1) G.TX /= 2;
        else {
            if (why) *why = "the staged tile of one output row exceeds 48 KB of shared memory (dilation x kernel too large)";
            return false;
        }
    }
    G.threads = int(roundUp(int64_t(G.TX) * G.TY * G.PB, 32));
    G.tilesW = (G.Wd + G.TW - 1) / G.TW;
    G.tilesH = (G.Hd + G.TH - 1) / G.TH;
    G.blocks = (G.planes + G.PB - 1) / G.PB * G.tilesH * G.tilesW;
    return true;
}

// The channels-first geometry of a Problem (forward or backward-data); Conv3d's last two axes.
inline PlaneGeom planeGeom(const Problem& p) {
    const Conv3d g = conv3dOf(p);
    PlaneGeom G{};
    G.R = g.R[1], G.S = g.R[2], G.dh = g.D[1], G.dw = g.D[2];
    G.sh = g.S[1], G.sw = g.S[2];
    G.M = g.Kg, G.C = g.C, G.planes = g.N * g.C;
    G.wK = g.ws[0], G.wR = g.ws[3], G.wS = g.ws[4];
    G.flip = g.flip;
    if (p.dir == Direction::Forward) {
        G.Hs = g.I[1], G.Ws = g.I[2], G.Hd = g.O[1], G.Wd = g.O[2];
        G.ph = g.P[1], G.pw = g.P[2];
        G.sN = g.xs[0], G.sC = g.xs[1], G.sH = g.xs[3];
        G.dN = g.ys[0], G.dC = g.ys[1], G.dH = g.ys[3];
    } else {
        G.bwd = true;
        G.Hs = g.O[1], G.Ws = g.O[2], G.Hd = g.I[1], G.Wd = g.I[2];
        G.sN = g.ys[0], G.sC = g.ys[1], G.sH = g.ys[3];
        G.dN = g.xs[0], G.dC = g.xs[1], G.dH = g.xs[3];
        if (G.sh == 1 && G.sw == 1) {  // the forward form over dy with the rotated filter
            G.ph = (G.R - 1) * G.dh - g.P[1];
            G.pw = (G.S - 1) * G.dw - g.P[2];
            G.flip = !G.flip;
        } else {
            G.phases = true;
            G.ph = g.P[1], G.pw = g.P[2];
        }
    }
    return G;
}

// The channels-first path: 1-D/2-D, unit stride along W in both tensors, not channels-last, and
// a tile that fits shared memory. Otherwise the channels kernel runs.
inline bool planesFit(const Problem& p, int accBytes, PlaneGeom* out) {
    const Conv3d g = conv3dOf(p);
    const bool unitW = g.xs[4] == 1 && g.ys[4] == 1;
    const bool unitC = g.xs[1] == 1 && g.ys[1] == 1 && g.C > 1;
    if (p.nsp == 3 || !unitW || unitC) return false;
    PlaneGeom G = planeGeom(p);
    if (!planTile(G, accBytes, nullptr)) return false;
    if (out) *out = G;
    return true;
}

// One staged source row: the tile columns [cLo, cHi) the image covers, the global element of
// column 0 and the 16-byte chunks [q0, q1] that hold the covered part.
struct StageRow {
    bool on;  // the row exists and the image covers part of it
    int cLo, cHi;
    int64_t base, gLo, gHi, q0, q1;
};

template <int VE>
DW_HD inline StageRow stageRow(const PlaneGeom& G, const TileOrigin& o, int64_t m, int u, int slots) {
    StageRow r{};
    const int TIH = int(G.TIH);
    if (u >= int(G.PB) * TIH) return r;
    const int pb = u / TIH, row = u - pb * TIH;
    const int64_t plane = o.plane0 + pb, ih = o.ih0 + row;
    if (plane >= G.planes || ih < 0 || ih >= G.Hs) return r;
    r.cLo = int(dmin(slots, dmax(0, -o.iw0)));
    r.cHi = int(dmax(r.cLo, dmin(slots, G.Ws - o.iw0)));
    r.on = r.cHi > r.cLo;
    const int64_t n = plane / G.C, c = plane % G.C;
    const int64_t chan = G.bwd ? c * G.M + m : c;
    r.base = n * G.sN + chan * G.sC + ih * G.sH + o.iw0;
    r.gLo = r.base + r.cLo, r.gHi = r.base + r.cHi;
    r.q0 = floorDiv(r.gLo, VE), r.q1 = floorDiv(r.gHi - 1, VE);
    return r;
}

template <class Acc>
DW_HD inline void stageStore(Acc* srow, int Q, int PW, int col, Acc v) {
    srow[Q == 1 ? col : (col % Q) * PW + col / Q] = v;
}

// Chunk q of a row: 16 bytes at once when whole and allowed, else element by element.
template <class T, class Acc, int VE>
DW_HD inline void stageChunk(const PlaneGeom& G, const StageRow& r, const T* src, int64_t q, Acc* srow, int Q, int PW) {
    const int64_t e0 = q * VE;
    if (G.vec && e0 >= r.gLo && e0 + VE <= r.gHi) {
        T v[VE];
        load16(src + e0, v);
        for (int i = 0; i < VE; ++i) stageStore(srow, Q, PW, int(e0 + i - r.base), toAcc(v[i]));
    } else {
        const int64_t eEnd = dmin(e0 + VE, r.gHi);
        for (int64_t e = dmax(e0, r.gLo); e < eEnd; ++e) stageStore(srow, Q, PW, int(e - r.base), toAcc(src[e]));
    }
}

// Stages the source planes of one block: warps take rows, two at a time, lanes take 16-byte
// chunks of a row (scalars at unaligned ends), and every slot of the tile the image does not
// cover gets zero. The first chunk of both rows is loaded before anything is stored, so each
// lane has two 16-byte loads in flight (a 128-column tile row is 33 chunks: one per lane).
template <class T, class Acc>
DW_HD inline void stage(const PlaneGeom& G, const TileOrigin& o, const T* src, int64_t m, int tid, int nthreads, Acc* sm) {
    constexpr int VE = 16 / sizeof(T);
    const int warp = tid / 32, lane = tid % 32, nwarps = nthreads / 32;
    const int Q = int(G.Q), PW = int(G.PW), slots = Q * PW, rows = int(G.PB * G.TIH);
    for (int u0 = warp; u0 < rows; u0 += 2 * nwarps) {
        StageRow r[2];
        T v[2][VE];
        bool whole[2];
        for (int h = 0; h < 2; ++h) {
            r[h] = stageRow<VE>(G, o, m, u0 + h * nwarps, slots);
            const int64_t e0 = (r[h].q0 + lane) * VE;
            whole[h] = r[h].on && G.vec && e0 >= r[h].gLo && e0 + VE <= r[h].gHi;
            if (whole[h]) load16(src + e0, v[h]);
        }
        for (int h = 0; h < 2; ++h) {
            const int u = u0 + h * nwarps;
            if (u >= rows) break;
            Acc* srow = sm + int64_t(u) * slots;
            const int cLo = r[h].on ? r[h].cLo : 0, cHi = r[h].on ? r[h].cHi : 0;
            for (int k = lane; k < slots; k += 32) {
                const int col = Q == 1 ? k : (k % PW) * Q + k / PW;  // slot k = (phase, index)
                if (col < cLo || col >= cHi) srow[k] = Acc(0);
            }
            if (!r[h].on) continue;
            if (whole[h]) {
                const int col0 = int((r[h].q0 + lane) * VE - r[h].base);
                for (int i = 0; i < VE; ++i) stageStore(srow, Q, PW, col0 + i, toAcc(v[h][i]));
            } else if (r[h].q0 + lane <= r[h].q1) {
                stageChunk<T, Acc, VE>(G, r[h], src, r[h].q0 + lane, srow, Q, PW);
            }
            for (int64_t q = r[h].q0 + lane + 32; q <= r[h].q1; q += 32) stageChunk<T, Acc, VE>(G, r[h], src, q, srow, Q, PW);
        }
    }
}

// The thread's place in the block: plane pb, row ty, first column tx * V; false for the
// padding threads of the last warp.
struct ThreadPos {
    int pb, ty, tx;
    bool on;
};
DW_HD inline ThreadPos threadPos(const PlaneGeom& G, int tid) {
    const int per = G.TX * G.TY;
    ThreadPos t{tid / per, (tid % per) / G.TX, (tid % per) % G.TX, tid < per * G.PB};
    return t;
}

DW_HD inline int64_t tapOffset(const PlaneGeom& G, int64_t k, int64_t r, int64_t j) {
    if (G.flip) r = G.R - 1 - r, j = G.S - 1 - j;
    return k * G.wK + r * G.wR + j * G.wS;
}

// Rows kernel, one thread: acc[v] += sum over taps of the staged source, for filter channel k.
// KS, KSTR > 0: the window width and W stride are compile-time (dilation along W is 1), so the
// window sits in registers, loaded with 16-byte shared reads.
template <class T, class Acc, int KS, int KSTR>
DW_HD inline void rowsCompute(const PlaneGeom& G, const ThreadPos& t, const T* w, int64_t k, const Acc* sm, Acc (&acc)[kV]) {
    if constexpr (KS > 0) {
        constexpr int NB = (kV + (KS - 1) / KSTR + 3) / 4 * 4;
        const int64_t wk = k * G.wK;
        for (int r = 0; r < int(G.R); ++r) {
            const int row = t.ty * int(G.sh) + r * int(G.dh);
            const int wr = int(G.flip ? G.R - 1 - r : r) * int(G.wR);
            Acc buf[KSTR][NB];
#ifdef __CUDACC__
#pragma unroll
#endif
            for (int q = 0; q < KSTR; ++q) {
                const Acc* s = sm + ((t.pb * int(G.TIH) + row) * KSTR + q) * int(G.PW) + t.tx * kV;
#ifdef __CUDACC__
#pragma unroll
#endif
                for (int i = 0; i < NB; i += 4) lds4(s + i, *reinterpret_cast<Acc(*)[4]>(&buf[q][i]));
            }
#ifdef __CUDACC__
#pragma unroll
#endif
            for (int j = 0; j < KS; ++j) {
                const Acc wv = toAcc(w[wk + wr + int(G.flip ? KS - 1 - j : j) * int(G.wS)]);
#ifdef __CUDACC__
#pragma unroll
#endif
                for (int v = 0; v < kV; ++v) acc[v] += wv * buf[j % KSTR][v + j / KSTR];
            }
        }
    } else {
        const int Q = int(G.Q);
        for (int r = 0; r < int(G.R); ++r) {
            const int row = t.ty * int(G.sh) + r * int(G.dh);
            for (int j = 0; j < int(G.S); ++j) {
                const Acc wv = toAcc(w[tapOffset(G, k, r, j)]);
                const int jd = j * int(G.dw);
                const Acc* s = sm + ((t.pb * int(G.TIH) + row) * Q + jd % Q) * int(G.PW) + t.tx * kV + jd / Q;
                for (int v = 0; v < kV; ++v) acc[v] += wv * s[v];
            }
        }
    }
}

// Phases kernel, one thread: each destination gathers the taps of its stride phase from the
// staged dy tile (zero outside dy), for filter channel k.
template <class T, class Acc>
DW_HD inline void phasesCompute(const PlaneGeom& G, const TileOrigin& o, const ThreadPos& t, const T* w, int64_t k, const Acc* sm,
                                Acc (&acc)[kV]) {
    const int64_t ih = o.oh0 + t.ty;
    const TapSet rs = tapSet(ih + G.ph, G.dh, G.sh, G.R);
    for (int v = 0; v < kV; ++v) {
        const int64_t iw = o.ow0 + t.tx * kV + v;
        const TapSet js = tapSet(iw + G.pw, G.dw, G.sw, G.S);
        Acc a = Acc(0);
        for (int64_t r = rs.first; r < G.R; r += rs.step) {
            const int64_t row = (ih + G.ph - r * G.dh) / G.sh - o.ih0;  // exact division
            const Acc* s = sm + (t.pb * G.TIH + row) * G.PW;
            for (int64_t j = js.first; j < G.S; j += js.step)
                a += toAcc(w[tapOffset(G, k, r, j)]) * s[(iw + G.pw - j * G.dw) / G.sw - o.iw0];
        }
        acc[v] += a;
    }
}

// Destination stores of one thread: out = alpha * acc + beta * out; beta 0 never reads out.
template <class T, class Acc>
DW_HD inline void storeRow(const PlaneGeom& G, const TileOrigin& o, const ThreadPos& t, T* dst, int64_t m, const Acc (&acc)[kV],
                           Acc alpha, Acc beta) {
    const int64_t plane = o.plane0 + t.pb, oh = o.oh0 + t.ty;
    if (!t.on || plane >= G.planes || oh >= G.Hd) return;
    const int64_t n = plane / G.C, c = plane % G.C;
    const int64_t chan = G.bwd ? c : c * G.M + m;
    T* row = dst + n * G.dN + chan * G.dC + oh * G.dH;
    for (int v = 0; v < kV; ++v) {
        const int64_t ow = o.ow0 + t.tx * kV + v;
        if (ow >= G.Wd) break;
        Acc r = alpha * acc[v];
        if (beta != Acc(0)) r += beta * toAcc(row[ow]);
        fromAcc<Acc>(row + ow, r);
    }
}

// ================================================================ channels (channels-last)

struct ChanGeom {
    Conv3d g;
    bool bwd;
    int CV;                 // channels per thread (16-byte vectors when > 1)
    int CTX, PY;            // threads along channel vectors, pixels per block
    int64_t cVecs;          // channel vectors (of the destination)
    int64_t pixels;         // destination pixels N * spatial
    int64_t gridX, gridY;
    // The block's filter slice in shared memory, [m][tap][channel of the block], taps already
    // mirrored in convolution mode, so that lanes read consecutive channels (in global memory
    // consecutive channels are R*S apart: one cache line per lane). 0: read from global.
    int PX;                 // forward outputs per thread along W (register window), 1: one pixel
    int64_t groupsW;        // output column groups of PX
    int64_t wChans;         // channels per block, CTX * CV
    int64_t wElems;         // M' * taps * wChans (M' = M for backward-data, 1 forward)
};

// Forward: one thread owns destination channels [c0, c0 + CV) of y (k = c*M + m when M > 1:
// then CV = 1 and the thread owns one output channel); backward-data the same for dx.
inline ChanGeom chanGeom(const Problem& p, int CV, int accBytes, int PX = 1) {
    ChanGeom G{};
    G.g = conv3dOf(p);
    G.bwd = p.dir == Direction::BackwardData;
    G.CV = CV;
    const int64_t dstC = G.bwd ? G.g.C : G.g.K;
    G.cVecs = (dstC + CV - 1) / CV;
    G.CTX = pow2AtLeast(G.cVecs, 32);
    const Conv3d& g = G.g;
    const int64_t nM = G.bwd ? g.Kg : 1;
    // Fewer channel lanes per block while the filter slice exceeds shared memory.
    while (G.CTX > 1 && nM * g.taps * G.CTX * CV * accBytes > kSharedMax) G.CTX /= 2;
    G.wChans = int64_t(G.CTX) * CV;
    G.wElems = nM * g.taps * G.wChans * accBytes <= kSharedMax ? nM * g.taps * G.wChans : 0;
    G.PY = kBlockThreads / G.CTX;
    G.PX = PX;
    G.groupsW = (g.O[2] + PX - 1) / PX;
    G.pixels = PX > 1 ? g.N * g.O[0] * g.O[1] * G.groupsW : g.N * (G.bwd ? g.inPix : g.outPix);
    G.gridX = (G.pixels + G.PY - 1) / G.PY;
    G.gridY = (G.cVecs + G.CTX - 1) / G.CTX;
    return G;
}

// Stages the filter slice of channel block by (destination channels [by * wChans, ...)).
template <class T, class Acc>
DW_HD inline void chanStageFilter(const ChanGeom& G, const T* w, int64_t by, int tid, int nthreads, Acc* wsm) {
    const Conv3d& g = G.g;
    const int64_t dstC = G.bwd ? g.C : g.K;
    for (int64_t e = tid; e < G.wElems; e += nthreads) {
        const int64_t ch = e % G.wChans, t = (e / G.wChans) % g.taps, m = e / (G.wChans * g.taps);
        const int64_t dc = by * G.wChans + ch;
        Acc v = Acc(0);
        if (dc < dstC) {
            int64_t a = t / (g.R[1] * g.R[2]), b = (t / g.R[2]) % g.R[1], c = t % g.R[2];
            if (g.flip) a = g.R[0] - 1 - a, b = g.R[1] - 1 - b, c = g.R[2] - 1 - c;
            const int64_t k = G.bwd ? dc * g.Kg + m : dc;
            v = toAcc(w[k * g.ws[0] + a * g.ws[2] + b * g.ws[3] + c * g.ws[4]]);
        }
        wsm[e] = v;
    }
}

// Channel vectors of VE elements: multiplier 1, whole vectors of channels, every pixel stride
// of the source a multiple of the vector (the kernel file also checks the pointer).
inline bool chanVectors(const Conv3d& g, bool bwd, int64_t VE) {
    const int64_t* ss = bwd ? g.ys : g.xs;
    if (g.Kg != 1 || g.C % VE != 0 || ss[1] != 1) return false;
    return ss[0] % VE == 0 && ss[2] % VE == 0 && ss[3] % VE == 0 && ss[4] % VE == 0;
}

// One thread of the channels kernel: destination pixel l, channel vector cv.
template <class T, class Acc, int CV>
DW_HD inline void chanThread(const ChanGeom& G, const T* src, const T* w, const Acc* wsm, T* dst, int64_t l, int64_t cv, Acc alpha,
                             Acc beta) {
    const Conv3d& g = G.g;
    if (l >= G.pixels || cv >= G.cVecs) return;
    const int64_t* dI = G.bwd ? g.I : g.O;  // destination dims
    const int64_t* sI = G.bwd ? g.O : g.I;
    const int64_t* ds = G.bwd ? g.xs : g.ys;
    const int64_t* ss = G.bwd ? g.ys : g.xs;
    int64_t n, o0, o1, o2;
    decodePixel(l, G.pixels < (int64_t(1) << 31), dI, &n, &o0, &o1, &o2);
    const int64_t d0 = cv * CV;                    // first destination channel
    const int64_t dstC = G.bwd ? g.C : g.K;
    const int nc = int(dmin(CV, dstC - d0));
    Acc acc[CV];
    for (int i = 0; i < CV; ++i) acc[i] = Acc(0);
    const int64_t sBase = n * ss[0];
    const int64_t nSrc = G.bwd ? g.Kg : 1;          // dy channels summed per dx channel
    for (int64_t m = 0; m < nSrc; ++m) {
        // Source channel and filter channel of destination channel d0 + i.
        auto srcChan = [&](int64_t dc) { return G.bwd ? dc * g.Kg + m : dc / g.Kg; };
        auto filtChan = [&](int64_t dc) { return G.bwd ? dc * g.Kg + m : dc; };
        TapSet t0{0, 1}, t1{0, 1}, t2{0, 1};
        if (G.bwd) {
            t0 = tapSet(o0 + g.P[0], g.D[0], g.S[0], g.R[0]);
            t1 = tapSet(o1 + g.P[1], g.D[1], g.S[1], g.R[1]);
            t2 = tapSet(o2 + g.P[2], g.D[2], g.S[2], g.R[2]);
        }
        for (int64_t a = t0.first; a < g.R[0]; a += t0.step) {
            const int64_t i0 = G.bwd ? (o0 + g.P[0] - a * g.D[0]) / g.S[0] : o0 * g.S[0] - g.P[0] + a * g.D[0];
            if (i0 < 0 || i0 >= sI[0]) continue;
            for (int64_t b = t1.first; b < g.R[1]; b += t1.step) {
                const int64_t i1 = G.bwd ? (o1 + g.P[1] - b * g.D[1]) / g.S[1] : o1 * g.S[1] - g.P[1] + b * g.D[1];
                if (i1 < 0 || i1 >= sI[1]) continue;
                for (int64_t c = t2.first; c < g.R[2]; c += t2.step) {
                    const int64_t i2 = G.bwd ? (o2 + g.P[2] - c * g.D[2]) / g.S[2] : o2 * g.S[2] - g.P[2] + c * g.D[2];
                    if (i2 < 0 || i2 >= sI[2]) continue;
                    const int64_t px = sBase + i0 * ss[2] + i1 * ss[3] + i2 * ss[4];
                    int64_t ta = a, tb = b, tc = c;
                    if (g.flip) ta = g.R[0] - 1 - a, tb = g.R[1] - 1 - b, tc = g.R[2] - 1 - c;
                    const int64_t tapOff = ta * g.ws[2] + tb * g.ws[3] + tc * g.ws[4];
                    // Staged slice: consecutive lanes read consecutive words.
                    const Acc* ws = G.wElems ? wsm + ((m * g.R[0] + a) * g.R[1] * g.R[2] + b * g.R[2] + c) * G.wChans + (d0 - cv / G.CTX * G.wChans)
                                             : nullptr;
                    Acc wv[CV] = {};
                    if (ws) {
                        if constexpr (CV % 4 == 0) {
                            for (int i = 0; i < CV; i += 4) lds4(ws + i, *reinterpret_cast<Acc(*)[4]>(&wv[i]));
                        } else {
                            for (int i = 0; i < CV; ++i) wv[i] = ws[i];
                        }
                    } else {
                        for (int i = 0; i < nc; ++i) wv[i] = toAcc(w[filtChan(d0 + i) * g.ws[0] + tapOff]);
                    }
                    if constexpr (CV > 1) {  // M == 1: source channels are the destination's
                        T v[CV];
                        load16(src + px + d0 * ss[1], v);
                        for (int i = 0; i < CV; ++i) acc[i] += toAcc(v[i]) * wv[i];
                    } else {
                        for (int i = 0; i < nc; ++i)
                            acc[i] += toAcc(src[px + srcChan(d0 + i) * ss[1]]) * wv[i];
                    }
                }
            }
        }
    }
    T* out = dst + n * ds[0] + o0 * ds[2] + o1 * ds[3] + o2 * ds[4];
    for (int i = 0; i < nc; ++i) {
        Acc r = alpha * acc[i];
        if (beta != Acc(0)) r += beta * toAcc(out[(d0 + i) * ds[1]]);
        fromAcc<Acc>(out + (d0 + i) * ds[1], r);
    }
}

// The register-window form of the forward channels kernel: KS-wide windows at W stride and
// dilation 1, vectors of CV channels, the filter slice staged (wElems > 0). A thread owns
// kPX consecutive output pixels of a row: per filter row it loads the KS + kPX - 1 input
// vectors once and each staged weight vector once (3x3: 9 loads per 4 pixels instead of 24).
constexpr int kPX = 4;

inline bool chanRowFits(const Problem& p, const ChanGeom& G, int KS) {
    const Conv3d& g = G.g;
    return p.dir == Direction::Forward && G.CV > 1 && G.wElems > 0 && g.ys[1] == 1 && g.R[2] == KS && g.S[2] == 1 && g.D[2] == 1;
}

template <class T, class Acc, int CV, int KS>
DW_HD inline void chanRowThread(const ChanGeom& G, const T* x, const Acc* wsm, T* y, int64_t l, int64_t cv, Acc alpha, Acc beta) {
    const Conv3d& g = G.g;
    if (l >= G.pixels || cv >= G.cVecs) return;
    const int64_t dims[3] = {g.O[0], g.O[1], G.groupsW};
    int64_t n, o0, o1, gw;
    decodePixel(l, G.pixels < (int64_t(1) << 31), dims, &n, &o0, &o1, &gw);
    const int64_t ow0 = gw * kPX, d0 = cv * CV;
    const Acc* wch = wsm + (d0 - cv / G.CTX * G.wChans);
    Acc acc[kPX][CV];
    for (int p = 0; p < kPX; ++p)
        for (int i = 0; i < CV; ++i) acc[p][i] = Acc(0);
    const T* xn = x + n * g.xs[0] + d0;
    for (int64_t a = 0; a < g.R[0]; ++a) {
        const int64_t i0 = o0 * g.S[0] - g.P[0] + a * g.D[0];
        if (i0 < 0 || i0 >= g.I[0]) continue;
        for (int64_t b = 0; b < g.R[1]; ++b) {
            const int64_t i1 = o1 * g.S[1] - g.P[1] + b * g.D[1];
            if (i1 < 0 || i1 >= g.I[1]) continue;
            Acc xin[KS + kPX - 1][CV];
#ifdef __CUDACC__
#pragma unroll
#endif
            for (int c = 0; c < KS + kPX - 1; ++c) {
                const int64_t iw = ow0 - g.P[2] + c;
                if (iw >= 0 && iw < g.I[2]) {
                    T v[CV];
                    load16(xn + i0 * g.xs[2] + i1 * g.xs[3] + iw * g.xs[4], v);
                    for (int i = 0; i < CV; ++i) xin[c][i] = toAcc(v[i]);
                } else {
                    for (int i = 0; i < CV; ++i) xin[c][i] = Acc(0);
                }
            }
            const Acc* wrow = wch + (a * g.R[1] + b) * KS * G.wChans;
#ifdef __CUDACC__
#pragma unroll
#endif
            for (int j = 0; j < KS; ++j) {
                Acc wv[CV];
                for (int i = 0; i < CV; i += 4) lds4(wrow + j * G.wChans + i, *reinterpret_cast<Acc(*)[4]>(&wv[i]));
#ifdef __CUDACC__
#pragma unroll
#endif
                for (int p = 0; p < kPX; ++p)
                    for (int i = 0; i < CV; ++i) acc[p][i] += xin[p + j][i] * wv[i];
            }
        }
    }
    T* out = y + n * g.ys[0] + o0 * g.ys[2] + o1 * g.ys[3] + d0;
    for (int p = 0; p < kPX; ++p) {
        const int64_t ow = ow0 + p;
        if (ow >= g.O[2]) break;
        for (int i = 0; i < CV; ++i) {
            T* o = out + ow * g.ys[4] + i;
            Acc r = alpha * acc[p][i];
            if (beta != Acc(0)) r += beta * toAcc(*o);
            fromAcc<Acc>(o, r);
        }
    }
}

// ================================================================ filter (weight gradient)

constexpr int kFilterAcc = 9;   // tap accumulators per thread and pass (3x3 in one pass)

struct FilterGeom {
    Conv3d g;
    bool chanFast;          // threads along K (channels-last dy) or along pixels
    int CT, PT;             // block: CT channels x PT pixel slots
    int64_t L;              // reduction length N * outPix
    int64_t chunks, chunkLen;
    int64_t kTiles;
    int64_t taps;
};

// Depends only on the Problem: the workspace size follows from it.
inline FilterGeom filterGeom(const Problem& p) {
    FilterGeom G{};
    G.g = conv3dOf(p);
    const Conv3d& g = G.g;
    G.chanFast = g.ys[1] == 1 && g.K > 1;
    G.CT = G.chanFast ? 32 : 1;
    G.PT = kBlockThreads / G.CT;
    G.L = g.N * g.outPix;
    G.taps = g.taps;
    G.kTiles = (g.K + G.CT - 1) / G.CT;
    // About 2048 blocks, each at least 1024 pixels of reduction.
    const int64_t want = std::max<int64_t>(1, 2048 / G.kTiles);
    const int64_t most = std::max<int64_t>(1, G.L / 1024);
    G.chunks = std::min(want, most);
    G.chunkLen = (G.L + G.chunks - 1) / G.chunks;
    G.chunks = (G.L + G.chunkLen - 1) / G.chunkLen;  // no empty chunk
    return G;
}

inline int64_t filterWorkspaceElems(const FilterGeom& G) { return G.chunks * G.g.K * G.taps; }

// Reduction indices [l0, l1) of a chunk.
DW_HD inline void chunkRange(const FilterGeom& G, int64_t chunk, int64_t* l0, int64_t* l1) {
    *l0 = chunk * G.chunkLen;
    *l1 = dmin(G.L, *l0 + G.chunkLen);
}

// One thread's sums over its pixel slots of the chunk, for taps [t0, t0 + kFilterAcc).
template <class T, class Acc>
DW_HD inline void filterThread(const FilterGeom& G, const T* x, const T* dy, int64_t k, int64_t chunk, int tp, int64_t t0,
                               Acc (&acc)[kFilterAcc]) {
    const Conv3d& g = G.g;
    for (int i = 0; i < kFilterAcc; ++i) acc[i] = Acc(0);
    if (k >= g.K) return;
    const int64_t c = k / g.Kg;
    int64_t l0, l1;
    chunkRange(G, chunk, &l0, &l1);
    // Per tap of the pass: its spatial offsets (r d - p) per axis.
    int off[kFilterAcc][3];  // |offset| <= pad + dilated extent: int range for any valid problem
    for (int i = 0; i < kFilterAcc; ++i) {
        const int64_t t = dmin(t0 + i, G.taps - 1);
        off[i][0] = int(t / (g.R[1] * g.R[2]) * g.D[0] - g.P[0]);
        off[i][1] = int((t / g.R[2]) % g.R[1] * g.D[1] - g.P[1]);
        off[i][2] = int(t % g.R[2] * g.D[2] - g.P[2]);
    }
    const bool small = G.L < (int64_t(1) << 31);
    const int nt = int(dmin(kFilterAcc, G.taps - t0));
    for (int64_t l = l0 + tp; l < l1; l += G.PT) {
        int64_t n, o0, o1, o2;
        decodePixel(l, small, g.O, &n, &o0, &o1, &o2);
        const Acc d = toAcc(dy[n * g.ys[0] + k * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4]]);
        const T* xc = x + n * g.xs[0] + c * g.xs[1];
        for (int i = 0; i < kFilterAcc; ++i) {
            if (i >= nt) break;
            const int64_t i0 = o0 * g.S[0] + off[i][0], i1 = o1 * g.S[1] + off[i][1], i2 = o2 * g.S[2] + off[i][2];
            if (i0 >= 0 && i0 < g.I[0] && i1 >= 0 && i1 < g.I[1] && i2 >= 0 && i2 < g.I[2])
                acc[i] += d * toAcc(xc[i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4]]);
        }
    }
}

// The fixed-order tree over the PT pixel slots of a channel: red[(slot * CT + tc)], in place;
// the result is in slot 0. Each level is one barrier step in the kernel (level = stride).
template <class Acc>
DW_HD inline void filterTreeStep(const FilterGeom& G, Acc* red, int tc, int tp, int stride) {
    if (tp < stride && tp + stride < G.PT) red[tp * G.CT + tc] += red[(tp + stride) * G.CT + tc];
}

// dw offset of channel k, tap t (mirrored in CONVOLUTION mode).
DW_HD inline int64_t filterOffset(const Conv3d& g, int64_t k, int64_t t) {
    int64_t a = t / (g.R[1] * g.R[2]), b = (t / g.R[2]) % g.R[1], c = t % g.R[2];
    if (g.flip) a = g.R[0] - 1 - a, b = g.R[1] - 1 - b, c = g.R[2] - 1 - c;
    return k * g.ws[0] + a * g.ws[2] + b * g.ws[3] + c * g.ws[4];
}

// The reduction of (k, tap) e: chunks summed in chunk order.
template <class T, class Acc>
DW_HD inline void filterReduce(const FilterGeom& G, const Acc* partial, T* dw, int64_t e, Acc alpha, Acc beta) {
    const int64_t KT = G.g.K * G.taps;
    if (e >= KT) return;
    Acc s = Acc(0);
    for (int64_t ch = 0; ch < G.chunks; ++ch) s += partial[ch * KT + e];
    T* out = dw + filterOffset(G.g, e / G.taps, e % G.taps);
    Acc r = alpha * s;
    if (beta != Acc(0)) r += beta * toAcc(*out);
    fromAcc<Acc>(out, r);
}

// ================================================================ host emulation (tests)

// Every block, every thread, the same steps in the same order between the kernels' barriers.
template <class T, class Acc, int KS, int KSTR>
void emulatePlanes(const PlaneGeom& G, const T* src, const T* w, T* dst, Acc alpha, Acc beta) {
    std::vector<Acc> sm(size_t(G.smemElems));
    std::vector<Acc> accs(size_t(G.threads) * kV);
    const int64_t nSrc = G.bwd ? G.M : 1, nDst = G.bwd ? 1 : G.M;
    for (int64_t b = 0; b < G.blocks; ++b) {
        const TileOrigin o = tileOrigin(G, b);
        for (int64_t d = 0; d < nDst; ++d) {
            std::fill(accs.begin(), accs.end(), Acc(0));
            for (int64_t s = 0; s < nSrc; ++s) {
                const int64_t m = G.bwd ? s : d;
                if (G.bwd || d == 0)
                    for (int tid = 0; tid < G.threads; ++tid) stage<T, Acc>(G, o, src, m, tid, G.threads, sm.data());
                for (int tid = 0; tid < G.threads; ++tid) {
                    const ThreadPos t = threadPos(G, tid);
                    if (!t.on) continue;
                    const int64_t plane = std::min(o.plane0 + t.pb, G.planes - 1);
                    const int64_t k = plane % G.C * G.M + m;
                    Acc(&acc)[kV] = *reinterpret_cast<Acc(*)[kV]>(&accs[size_t(tid) * kV]);
                    if (G.phases) phasesCompute<T, Acc>(G, o, t, w, k, sm.data(), acc);
                    else rowsCompute<T, Acc, KS, KSTR>(G, t, w, k, sm.data(), acc);
                }
            }
            for (int tid = 0; tid < G.threads; ++tid) {
                const ThreadPos t = threadPos(G, tid);
                storeRow<T, Acc>(G, o, t, dst, d, *reinterpret_cast<const Acc(*)[kV]>(&accs[size_t(tid) * kV]), alpha, beta);
            }
        }
    }
}

template <class T, class Acc, int CV, int KS = 0>
void emulateChannels(const ChanGeom& G, const T* src, const T* w, T* dst, Acc alpha, Acc beta) {
    std::vector<Acc> wsm(size_t(std::max<int64_t>(1, G.wElems)));
    for (int64_t by = 0; by < G.gridY; ++by) {
        for (int tid = 0; tid < kBlockThreads; ++tid) chanStageFilter<T, Acc>(G, w, by, tid, kBlockThreads, wsm.data());
        for (int64_t bx = 0; bx < G.gridX; ++bx)
            for (int ty = 0; ty < G.PY; ++ty)
                for (int tx = 0; tx < G.CTX; ++tx)
                    if constexpr (KS > 0) chanRowThread<T, Acc, CV, KS>(G, src, wsm.data(), dst, bx * G.PY + ty, by * G.CTX + tx, alpha, beta);
                    else chanThread<T, Acc, CV>(G, src, w, wsm.data(), dst, bx * G.PY + ty, by * G.CTX + tx, alpha, beta);
    }
}

template <class T, class Acc>
void emulateFilter(const FilterGeom& G, const T* x, const T* dy, T* dw, Acc alpha, Acc beta) {
    const int64_t KT = G.g.K * G.taps;
    std::vector<Acc> partial(size_t(filterWorkspaceElems(G)));
    std::vector<Acc> red(size_t(G.CT) * G.PT);
    for (int64_t kt = 0; kt < G.kTiles; ++kt)
        for (int64_t ch = 0; ch < G.chunks; ++ch)
            for (int64_t t0 = 0; t0 < G.taps; t0 += kFilterAcc) {
                std::vector<Acc> accs(size_t(kBlockThreads) * kFilterAcc);
                for (int tid = 0; tid < kBlockThreads; ++tid) {
                    const int tc = tid % G.CT, tp = tid / G.CT;
                    filterThread<T, Acc>(G, x, dy, kt * G.CT + tc, ch, tp, t0,
                                         *reinterpret_cast<Acc(*)[kFilterAcc]>(&accs[size_t(tid) * kFilterAcc]));
                }
                for (int i = 0; i < kFilterAcc && t0 + i < G.taps; ++i) {
                    for (int tid = 0; tid < kBlockThreads; ++tid) red[tid] = accs[size_t(tid) * kFilterAcc + i];
                    for (int stride = pow2AtLeast(G.PT, 1 << 30) / 2; stride > 0; stride /= 2)
                        for (int tid = 0; tid < kBlockThreads; ++tid) filterTreeStep(G, red.data(), tid % G.CT, tid / G.CT, stride);
                    for (int tc = 0; tc < G.CT; ++tc) {
                        const int64_t k = kt * G.CT + tc;
                        if (k < G.g.K) partial[size_t(ch * KT + k * G.taps + t0 + i)] = red[tc];
                    }
                }
            }
    for (int64_t e = 0; e < KT; ++e) filterReduce<T, Acc>(G, partial.data(), dw, e, alpha, beta);
}

}  // namespace dw
}  // namespace convx
