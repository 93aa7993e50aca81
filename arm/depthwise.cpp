// CONVX_ALGO_DEPTHWISE on the CPU: direct depthwise convolution (groups == C, any channel
// multiplier), all three directions, written once with Google Highway and compiled for every
// target Highway attains (SSE4/AVX2/AVX-512 on x86, NEON on aarch64), the best picked at run
// time. Channels-first planes are copied into small zero-margined tiles split by stride phase,
// so a plane is one range of whole vectors with a contiguous load per tap; channels-last runs
// on the tensors themselves (interior pixels unchecked, borders clipped per tap). Each output
// element is summed by one job, or by row chunks added in a fixed order, so the bits do not
// depend on the thread count. See docs/algorithms/depthwise.md.
// The kernels live in arm/depthwise_{fwd,bwdd,wgrad,mult}.inc, included below once per target.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "arm/depthwise.cpp"
// Scalable SVE vectors cannot live in the register-tile arrays below; NEON serves aarch64.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128)
#endif
#include <hwy/foreach_target.h>  // re-includes this file once per target
#include <hwy/cache_control.h>
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>
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
    float* partial = nullptr;   // channels-last weight gradient in chunks: raw sums [chunk][tap][c]
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

// Channels-first backward-data at stride > 1 or multiplier > 1 (arm/depthwise_bwdd.inc): the
// phase-tile kernel whenever its zero-margined dy tiles stay small (every real layer), several
// dx planes per job as in the forward; otherwise the row-by-row kernel, one plane per job.
// A bound on one dx plane's tiles (floats, any target), and ~4096 dx elements per job with the
// job's tiles (all copied up front) under 1M floats.
inline int64_t bwdTileBound(const DwPlan& pl) {
    const Conv3d& g = pl.g;
    return pl.M * (g.O[1] + g.R[1] * g.D[1] + 16) * (g.O[2] + g.R[2] * g.D[2] + 32);
}
inline bool bwdPhaseTiled(const DwPlan& pl) { return bwdTileBound(pl) <= (int64_t(1) << 22); }
inline int64_t bwdPlanesPerJob(const DwPlan& pl) {
    if (!bwdPhaseTiled(pl)) return 1;
    const int64_t per = 4 * kJobOutputs / std::max<int64_t>(1, pl.g.I[1] * pl.g.I[2]);
    return std::max<int64_t>(1, std::min(per, (int64_t(1) << 20) / bwdTileBound(pl)));
}
// Weight gradient, channels-first: the flattened-plane kernel takes dilation 1 along W at W
// stride 1 or 2 (any stride and dilation along H), several channels per job on small maps.
inline bool wgFlat(const Conv3d& g) { return g.D[2] == 1 && (g.S[2] == 1 || g.S[2] == 2); }
inline int64_t wgPlanesPerJob(const Conv3d& g) {
    return wgFlat(g) ? std::max<int64_t>(1, 2 * kJobOutputs / std::max<int64_t>(1, g.N * g.O[1] * g.O[2])) : 1;
}
// Weight gradient, channels-last: the (n, od, p) output rows split into this many chunks per
// channel block when the blocks alone are too few jobs (a function of the Problem only; the
// chunks' sums are added in chunk order after the jobs).
constexpr int64_t kWgJobs = 32;
// Channels per job of that kernel: four 64-byte lines of each pixel, so the lines the hardware
// fetches in pairs and the prefetches ahead of the first vector serve the job's later vectors.
constexpr int64_t kWgChanBlock = 64;
inline int64_t wgChunks(const Conv3d& g) {
    const int64_t blocks = ceilDiv(g.C, kWgChanBlock), rows = g.N * g.O[0] * g.O[1];
    if (blocks >= kWgJobs) return 1;
    const int64_t byWork = std::max<int64_t>(1, rows * g.O[2] / kJobOutputs);  // at least ~1024 pixels a chunk
    return std::max<int64_t>(1, std::min({ceilDiv(kWgJobs, blocks), byWork, rows}));
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

#include "arm/depthwise_fwd.inc"
#include "arm/depthwise_bwdd.inc"
#include "arm/depthwise_wgrad.inc"
#include "arm/depthwise_mult.inc"

// ------------------------------------------------------------------ one job
// One job on this target. The OpenMP loop around it lives outside the per-target code (below):
// an OpenMP region inside Highway's target region hung under qemu-aarch64 with more than one
// thread, so the parallel driver stays plain C++ and dispatches per job.
void RunJob(const Args& a, int64_t job, std::vector<float>& tmp, std::vector<std::pair<int64_t, int64_t>>& taps) {
    switch (a.pl.kernel) {
        case DwKernel::BwdDataPhases: bwdDataNchwJob(a, job, tmp); break;
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
        case DwKernel::BwdDataPhases: return ceilDiv(g.N * g.C, bwdPlanesPerJob(a.pl));
        case DwKernel::BwdFilterTaps: return ceilDiv(g.K, wgPlanesPerJob(g));
        case DwKernel::FwdChannels: return g.N * g.O[0] * g.O[1];
        case DwKernel::BwdDataChannels: return g.N * g.I[0] * g.I[1];
        case DwKernel::BwdFilterChannels: return ceilDiv(g.C, kWgChanBlock) * wgChunks(g);
        case DwKernel::FwdChannelsMult: return g.N * g.O[0] * g.O[1];
        case DwKernel::BwdDataChannelsMult: return g.N * g.I[0] * g.I[1];
        case DwKernel::BwdFilterChannelsMult:  // per (block, tap), and per m unless M is 2..4
            return ceilDiv(g.C, kChanBlock) * g.taps * (a.pl.M >= 2 && a.pl.M <= 4 ? 1 : a.pl.M);
        default: return ceilDiv(g.N * g.K, planesPerJob(g));
    }
}

// Every job once, on the best target this machine runs (Highway's dispatch by name: with a
// single target it is a static call).
void runDepthwise(const Args& a0) {
    Args a = a0;
    const int64_t jobs = jobCount(a);
    const Conv3d& g = a.pl.g;
    // Channels-last weight gradient in several row chunks: raw sums per chunk, added below.
    const int64_t chunks = a.pl.kernel == DwKernel::BwdFilterChannels ? wgChunks(g) : 1;
    std::vector<float> partial;
    if (chunks > 1) {
        partial.resize(static_cast<size_t>(chunks * g.taps * g.C));
        a.partial = partial.data();
    }
#pragma omp parallel num_threads(a.threads)
    {
        std::vector<float> tmp;
        std::vector<std::pair<int64_t, int64_t>> taps(a.pl.channelsLast ? 2 * g.taps : 0);  // fwdNhwc: pixel + interior lists
#pragma omp for schedule(dynamic, 1)
        for (int64_t job = 0; job < jobs; ++job) HWY_DYNAMIC_DISPATCH(RunJob)(a, job, tmp, taps);
    }
    if (chunks > 1) {
        const int64_t T = g.taps, R = g.R[1], S = g.R[2], KD = g.R[0];
        for (int64_t t = 0; t < T; ++t) {
            const int64_t kd = t / (R * S), r = t / S % R, s = t % S;
            const int64_t ud = g.flip ? KD - 1 - kd : kd, ur = g.flip ? R - 1 - r : r, us = g.flip ? S - 1 - s : s;
            for (int64_t c = 0; c < g.C; ++c) {
                float sum = partial[static_cast<size_t>(t * g.C + c)];
                for (int64_t ch = 1; ch < chunks; ++ch) sum += partial[static_cast<size_t>((ch * T + t) * g.C + c)];
                float* out = a.wo + c * g.ws[0] + ud * g.ws[2] + ur * g.ws[3] + us * g.ws[4];
                *out = a.beta != 0.f ? a.alpha * sum + a.beta * *out : a.alpha * sum;
            }
        }
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
            const float* w = static_cast<const float*>(b.w);
            const bool mirror = g.flip != a.pl.rotated;  // CONVOLUTION mode, or the rotated filter
            if (!a.pl.channelsLast && !mirror && KD == 1 && g.ws[4] == 1 && g.ws[3] == S && g.ws[0] == T) {
                a.wt = w;  // already [k][r][s]: no copy (it cost about as much as a 7x7 layer's kernel)
            } else {
                wt.resize(static_cast<size_t>(g.K * T));
                for (int64_t k = 0; k < g.K; ++k) {
                    // Channels-last: [tap][m][c] for k = c M + m (with M = 1 simply [tap][k]).
                    float* dst = wt.data() + (a.pl.channelsLast ? (k % a.pl.M) * g.C + k / a.pl.M : k * T);
                    const int64_t step = a.pl.channelsLast ? g.K : 1;
                    const float* src = w + k * g.ws[0];
                    for (int64_t kd = 0; kd < KD; ++kd)
                        for (int64_t r = 0; r < R; ++r)
                            for (int64_t s2 = 0; s2 < S; ++s2) {
                                const int64_t ud = mirror ? KD - 1 - kd : kd, ur = mirror ? R - 1 - r : r, us = mirror ? S - 1 - s2 : s2;
                                dst[((kd * R + r) * S + s2) * step] = src[ud * g.ws[2] + ur * g.ws[3] + us * g.ws[4]];
                            }
                }
                a.wt = wt.data();
            }
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

