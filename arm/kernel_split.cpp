// CONVX_ALGO_KERNEL_SPLIT on the CPU: backward-data (= transposed convolution) by stride phases.
// Each phase of the plan (src/kernel_split_plan.h) is a dense stride-1 correlation of dy with a
// sub-filter, so the s_h*s_w(*s_d) zeros per dy sample that zero insertion would multiply are
// never touched. Two register-tiled kernels, both walking one phase row (fixed j0, j1) at a time:
//
//  - pixels inner ("A"): a tile of CB channels x V consecutive phase columns; the vector loop
//    runs over contiguous dy (the phase's dy indices are consecutive even though its dx indices
//    are s apart), the CB weights are broadcasts. Chosen when a group has few channels
//    (depthwise, small C), where vectorizing over channels would waste lanes.
//  - channels inner ("B"): a tile of PT phase columns x CV channels; the vector loop runs over
//    the packed filter's channel axis, dy values are broadcasts. Chosen when a group has at least
//    CV channels: the usual NHWC kernel, and the right one for small maps with many channels.
//
// The filter is repacked once per call (a few KB to MB, next to the N-fold larger activations).
// Every dx element is summed by one thread in a fixed order (dy channel, then taps), so results
// are bitwise identical for any thread count. Any element strides are honoured; the vector loops
// are contiguous for packed NCHW (A) and for the repacked filter (B).
#include <algorithm>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "algorithm.h"
#include "isa.h"
#include "threads.h"
#include "geometry.h"
#include "kernel_split_plan.h"

namespace convx {

namespace {

// A (t0, t1) pair of taps valid for one phase row: its flattened tap base and dy row offset.
struct RowTap {
    int64_t tap;   // (k0 * R1 + k1) * R2: add the axis-2 tap's k
    int64_t dyOff; // o0 * ys2 + o1 * ys3
};

template <class T>
struct Job {
    Conv3d g;
    const KernelSplitPlan* plan;
    const T* dy;
    const T* wp;  // repacked filter (layout depends on the kernel)
    T* dx;
    T alpha, beta;
    int64_t cgp;  // channel extent of the repacked filter (B pads to a multiple of CV)
};

// Phase rows as flat indices: row r of the call is (phase, j0, j1) through prefix sums.
struct RowIndex {
    std::vector<int64_t> begin;  // per phase, prefix sum of count0 * count1
    int64_t total = 0;
    explicit RowIndex(const KernelSplitPlan& plan) {
        for (const KsPhase& q : plan.phases) {
            begin.push_back(total);
            total += q.count[0] * q.count[1];
        }
    }
    void locate(int64_t r, int64_t* ph, int64_t* j0, int64_t* j1, const KernelSplitPlan& plan) const {
        const int64_t i = static_cast<int64_t>(std::upper_bound(begin.begin(), begin.end(), r) - begin.begin()) - 1;
        const int64_t local = r - begin[size_t(i)];
        *ph = i;
        *j0 = local / plan.phases[size_t(i)].count[1];
        *j1 = local % plan.phases[size_t(i)].count[1];
    }
};

inline void rowTaps(const Conv3d& g, const KernelSplitPlan& plan, const KsPhase& q, int64_t j0, int64_t j1, std::vector<RowTap>& out) {
    out.clear();
    for (const KsTap& t0 : plan.axis[0].phases[size_t(q.a[0])].taps) {
        if (j0 < t0.jLo || j0 >= t0.jHi) continue;
        for (const KsTap& t1 : plan.axis[1].phases[size_t(q.a[1])].taps) {
            if (j1 < t1.jLo || j1 >= t1.jHi) continue;
            out.push_back({(t0.k * g.R[1] + t1.k) * g.R[2], (j0 + t0.dyOff) * g.ys[2] + (j1 + t1.dyOff) * g.ys[3]});
        }
    }
}

template <class T>
inline void storeOne(T* p, T v, T alpha, T beta) {
    *p = beta == T(0) ? alpha * v : alpha * v + beta * *p;  // beta 0 never reads dx
}

// ---------------------------------------------------------------- kernel A: pixels inner
// Filter packed as wp[grp][tap][kl][cl] (tap = geometric k0,k1,k2 flattened), cl contiguous.
// Per (row tap, axis-2 tap) the dy channel loop is innermost, so the CB x V tile stays in
// registers for the whole reduction and the tap bounds are tested once per chunk, not per MAC.
template <class T, int CB, int V, bool UnitDy>
CONVX_CPU_CLONES void rowPixels(const Job<T>& J, int64_t n, int64_t grp, int64_t cl0, const KsPhase& q, int64_t j0, int64_t j1, std::vector<RowTap>& rows) {
    const Conv3d& g = J.g;
    const KernelSplitPlan& plan = *J.plan;
    const KsAxisPhase& p2 = plan.axis[2].phases[size_t(q.a[2])];
    rowTaps(g, plan, q, j0, j1, rows);
    const int64_t cnt2 = q.count[2], ys1 = g.ys[1], ys4 = UnitDy ? 1 : g.ys[4], cg = J.cgp;
    const int64_t i0 = plan.axis[0].phases[size_t(q.a[0])].first + j0 * g.S[0];
    const int64_t i1 = plan.axis[1].phases[size_t(q.a[1])].first + j1 * g.S[1];
    T* dxRow = J.dx + n * g.xs[0] + (grp * g.Cg + cl0) * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3];
    const T* dyn = J.dy + n * g.ys[0] + grp * g.Kg * ys1;
    const T* wg = J.wp + grp * g.taps * g.Kg * cg + cl0;
    for (int64_t jb = 0; jb < cnt2; jb += V) {
        T acc[CB][V] = {};
        for (const RowTap& rt : rows) {
            for (const KsTap& t2 : p2.taps) {
                if (jb + V <= t2.jLo || jb >= t2.jHi) continue;
                const T* w = wg + (rt.tap + t2.k) * g.Kg * cg;
                const T* d = dyn + rt.dyOff + (jb + t2.dyOff) * ys4;
                if (jb >= t2.jLo && jb + V <= t2.jHi) {
                    for (int64_t kl = 0; kl < g.Kg; ++kl) {
                        const T* dk = d + kl * ys1;
                        const T* wk = w + kl * cg;
                        for (int c = 0; c < CB; ++c)
#pragma omp simd
                            for (int v = 0; v < V; ++v) acc[c][v] += wk[c] * dk[v * ys4];
                    }
                } else {
                    // Border or tail chunk: lanes outside the tap's valid range read nothing.
                    const int64_t lo = std::max<int64_t>(t2.jLo - jb, 0), hi = std::min<int64_t>(t2.jHi - jb, V);
                    for (int64_t kl = 0; kl < g.Kg; ++kl) {
                        const T* dk = d + kl * ys1;
                        const T* wk = w + kl * cg;
                        T tmp[V] = {};
                        for (int64_t v = lo; v < hi; ++v) tmp[v] = dk[v * ys4];
                        for (int c = 0; c < CB; ++c)
#pragma omp simd
                            for (int v = 0; v < V; ++v) acc[c][v] += wk[c] * tmp[v];
                    }
                }
            }
        }
        const int vn = static_cast<int>(std::min<int64_t>(V, cnt2 - jb));
        const int64_t step = g.S[2] * g.xs[4];
        for (int c = 0; c < CB; ++c) {
            T* out = dxRow + c * g.xs[1] + (p2.first + jb * g.S[2]) * g.xs[4];
            for (int v = 0; v < vn; ++v) storeOne(out + v * step, acc[c][v], J.alpha, J.beta);
        }
    }
}

template <class T, bool UnitDy>
void runPixels(const Job<T>& J, int nt) {
    const Conv3d& g = J.g;
    const KernelSplitPlan& plan = *J.plan;
    const RowIndex rows(plan);
    // Tiles of CB channels x V columns: 4 x 8 floats, or 2 x 16 for narrow groups, fill about
    // half of a 16-register file with accumulators.
    constexpr int V = 32 / int(sizeof(T));
    constexpr int CB = 4;
    const int64_t ncb = (g.Cg + CB - 1) / CB;
    const int64_t items = g.N * g.G * ncb * rows.total;
#pragma omp parallel num_threads(nt)
    {
        std::vector<RowTap> scratch;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; ++it) {
            // Order (n, grp, row, cblock): neighbouring items share dy rows.
            int64_t r = it;
            const int64_t cb = r % ncb; r /= ncb;
            const int64_t row = r % rows.total; r /= rows.total;
            const int64_t grp = r % g.G, n = r / g.G;
            int64_t ph, j0, j1;
            rows.locate(row, &ph, &j0, &j1, plan);
            const KsPhase& q = plan.phases[size_t(ph)];
            const int64_t cl0 = cb * CB, left = g.Cg - cl0;
            switch (left >= CB ? CB : left) {
                case 4: rowPixels<T, 4, V, UnitDy>(J, n, grp, cl0, q, j0, j1, scratch); break;
                case 3: rowPixels<T, 3, V, UnitDy>(J, n, grp, cl0, q, j0, j1, scratch); break;
                case 2: rowPixels<T, 2, 2 * V, UnitDy>(J, n, grp, cl0, q, j0, j1, scratch); break;
                default: rowPixels<T, 1, 2 * V, UnitDy>(J, n, grp, cl0, q, j0, j1, scratch); break;
            }
        }
    }
}

// ---------------------------------------------------------------- kernel B: channels inner
// Filter packed as wp[grp][tap][chunk][kl][CV]: channels padded to cgp (a multiple of CV) by
// zeros so the vector loop never needs a tail (padded lanes are computed, not stored), and one
// chunk's weights contiguous along kl so the reduction streams them in order.
// For each tile of PT phase columns the dy values it needs (per tap: Kg x PT) are first gathered
// into a small contiguous panel, which then serves every CV-channel chunk of the item: dy is
// read from memory once per item instead of once per chunk, and the panel and the filter rows
// stream through L1 in order.
template <class T, int PT, int CV>
CONVX_CPU_CLONES void rowChannels(const Job<T>& J, int64_t n, int64_t grp, int64_t cBegin, int64_t cEnd, const KsPhase& q, int64_t j0, int64_t j1,
                 std::vector<RowTap>& rows, std::vector<T>& panel, std::vector<const T*>& wTaps) {
    const Conv3d& g = J.g;
    const KernelSplitPlan& plan = *J.plan;
    const KsAxisPhase& p2 = plan.axis[2].phases[size_t(q.a[2])];
    rowTaps(g, plan, q, j0, j1, rows);
    const int64_t cnt2 = q.count[2], ys1 = g.ys[1], ys4 = g.ys[4], cg = J.cgp, Kg = g.Kg;
    const int64_t i0 = plan.axis[0].phases[size_t(q.a[0])].first + j0 * g.S[0];
    const int64_t i1 = plan.axis[1].phases[size_t(q.a[1])].first + j1 * g.S[1];
    const T* dyn = J.dy + n * g.ys[0] + grp * Kg * ys1;
    const T* wg = J.wp + grp * g.taps * Kg * cg;
    const size_t need = rows.size() * p2.taps.size();
    if (panel.size() < need * size_t(Kg * PT)) panel.resize(need * size_t(Kg * PT));
    if (wTaps.size() < need) wTaps.resize(need);
    for (int64_t jb = 0; jb < cnt2; jb += PT) {
        // Gather: one Kg x PT panel per tap that reaches the tile; pixels outside a tap's valid
        // range get 0 (a tap past dy's border, not an inserted zero).
        size_t nTaps = 0;
        for (const RowTap& rt : rows) {
            for (const KsTap& t2 : p2.taps) {
                if (jb + PT <= t2.jLo || jb >= t2.jHi) continue;
                wTaps[nTaps] = wg + (rt.tap + t2.k) * Kg * cg;
                T* pp = panel.data() + nTaps * size_t(Kg * PT);
                const T* d = dyn + rt.dyOff + (jb + t2.dyOff) * ys4;
                bool ok[PT];
                for (int p = 0; p < PT; ++p) ok[p] = jb + p >= t2.jLo && jb + p < t2.jHi;
                for (int64_t kl = 0; kl < Kg; ++kl)
                    for (int p = 0; p < PT; ++p) pp[kl * PT + p] = ok[p] ? d[p * ys4 + kl * ys1] : T(0);
                ++nTaps;
            }
        }
        const int pn = static_cast<int>(std::min<int64_t>(PT, cnt2 - jb));
        for (int64_t c0 = cBegin; c0 < cEnd; c0 += CV) {
            T acc[PT][CV] = {};
            for (size_t e = 0; e < nTaps; ++e) {
                const T* pp = panel.data() + e * size_t(Kg * PT);
                const T* w = wTaps[e] + c0 * Kg;  // chunk c0 / CV starts at c0 * Kg
                for (int64_t kl = 0; kl < Kg; ++kl) {
                    const T* wr = w + kl * CV;
                    for (int p = 0; p < PT; ++p) {
                        const T dv = pp[kl * PT + p];
#pragma omp simd
                        for (int v = 0; v < CV; ++v) acc[p][v] += dv * wr[v];
                    }
                }
            }
            const int vn = static_cast<int>(std::min<int64_t>(CV, g.Cg - c0));
            for (int p = 0; p < pn; ++p) {
                T* out = J.dx + n * g.xs[0] + (grp * g.Cg + c0) * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] +
                         (p2.first + (jb + p) * g.S[2]) * g.xs[4];
                for (int v = 0; v < vn; ++v) storeOne(out + v * g.xs[1], acc[p][v], J.alpha, J.beta);
            }
        }
    }
}

template <class T, int PT, int CV>
void runChannels(const Job<T>& J, int nt) {
    const Conv3d& g = J.g;
    const KernelSplitPlan& plan = *J.plan;
    const RowIndex rows(plan);
    // Items of up to CS channels: enough parallel work, and each item's filter slice
    // (taps x Kg x CS) is reused by the consecutive items of the same slice.
    constexpr int64_t CS = 8 * CV;
    const int64_t ncs = (J.cgp + CS - 1) / CS;
    const int64_t items = g.N * g.G * ncs * rows.total;
#pragma omp parallel num_threads(nt)
    {
        std::vector<RowTap> scratch;
        std::vector<T> panel;
        std::vector<const T*> wTaps;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; ++it) {
            int64_t r = it;
            const int64_t row = r % rows.total; r /= rows.total;
            const int64_t cs = r % ncs; r /= ncs;
            const int64_t grp = r % g.G, n = r / g.G;
            int64_t ph, j0, j1;
            rows.locate(row, &ph, &j0, &j1, plan);
            rowChannels<T, PT, CV>(J, n, grp, cs * CS, std::min(J.cgp, (cs + 1) * CS), plan.phases[size_t(ph)], j0, j1, scratch, panel, wTaps);
        }
    }
}

// ---------------------------------------------------------------- kernel C: reduction inner
// For narrow groups over channels-last dy (dy channels contiguous): each dx value is a dot
// product over the group's dy channels, vectorized along them, for CB channels at once; the
// lanes are summed in a fixed order at the end. Filter packed as wp[grp][tap][cl][kl].
template <class T, int CB, int V>
CONVX_CPU_CLONES void rowReduce(const Job<T>& J, int64_t n, int64_t grp, int64_t cl0, const KsPhase& q, int64_t j0, int64_t j1, std::vector<RowTap>& rows) {
    const Conv3d& g = J.g;
    const KernelSplitPlan& plan = *J.plan;
    const KsAxisPhase& p2 = plan.axis[2].phases[size_t(q.a[2])];
    rowTaps(g, plan, q, j0, j1, rows);
    const int64_t cnt2 = q.count[2], ys4 = g.ys[4], Kg = g.Kg, Cg = g.Cg;
    const int64_t i0 = plan.axis[0].phases[size_t(q.a[0])].first + j0 * g.S[0];
    const int64_t i1 = plan.axis[1].phases[size_t(q.a[1])].first + j1 * g.S[1];
    const T* dyn = J.dy + n * g.ys[0] + grp * Kg;  // ys[1] == 1
    const T* wg = J.wp + (grp * g.taps * Cg + cl0) * Kg;
    for (int64_t j2 = 0; j2 < cnt2; ++j2) {
        T acc[CB][V] = {};
        T tail[CB] = {};
        for (const RowTap& rt : rows) {
            for (const KsTap& t2 : p2.taps) {
                if (j2 < t2.jLo || j2 >= t2.jHi) continue;
                const T* d = dyn + rt.dyOff + (j2 + t2.dyOff) * ys4;
                const T* w = wg + (rt.tap + t2.k) * Cg * Kg;
                int64_t kl = 0;
                for (; kl + V <= Kg; kl += V)
                    for (int c = 0; c < CB; ++c)
#pragma omp simd
                        for (int v = 0; v < V; ++v) acc[c][v] += w[c * Kg + kl + v] * d[kl + v];
                for (; kl < Kg; ++kl)
                    for (int c = 0; c < CB; ++c) tail[c] += w[c * Kg + kl] * d[kl];
            }
        }
        T* out = J.dx + n * g.xs[0] + (grp * Cg + cl0) * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] + (p2.first + j2 * g.S[2]) * g.xs[4];
        for (int c = 0; c < CB; ++c) {
            T sum = tail[c];
            for (int v = 0; v < V; ++v) sum += acc[c][v];  // fixed order: deterministic
            storeOne(out + c * g.xs[1], sum, J.alpha, J.beta);
        }
    }
}

template <class T>
void runReduce(const Job<T>& J, int nt) {
    const Conv3d& g = J.g;
    const KernelSplitPlan& plan = *J.plan;
    const RowIndex rows(plan);
    constexpr int V = 32 / int(sizeof(T));
    constexpr int CB = 4;
    const int64_t ncb = (g.Cg + CB - 1) / CB;
    const int64_t items = g.N * g.G * ncb * rows.total;
#pragma omp parallel num_threads(nt)
    {
        std::vector<RowTap> scratch;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < items; ++it) {
            int64_t r = it;
            const int64_t cb = r % ncb; r /= ncb;
            const int64_t row = r % rows.total; r /= rows.total;
            const int64_t grp = r % g.G, n = r / g.G;
            int64_t ph, j0, j1;
            rows.locate(row, &ph, &j0, &j1, plan);
            const KsPhase& q = plan.phases[size_t(ph)];
            const int64_t cl0 = cb * CB, left = g.Cg - cl0;
            switch (left >= CB ? CB : left) {
                case 4: rowReduce<T, 4, V>(J, n, grp, cl0, q, j0, j1, scratch); break;
                case 3: rowReduce<T, 3, V>(J, n, grp, cl0, q, j0, j1, scratch); break;
                case 2: rowReduce<T, 2, V>(J, n, grp, cl0, q, j0, j1, scratch); break;
                default: rowReduce<T, 1, V>(J, n, grp, cl0, q, j0, j1, scratch); break;
            }
        }
    }
}

// ---------------------------------------------------------------- dispatch

// Vector width in elements of the channel-inner tile: 8 floats / 4 doubles fill the common
// 256-bit registers (two 128-bit ones on a baseline build).
template <class T>
constexpr int kChannelVec = 32 / int(sizeof(T));

template <class T>
bool useChannelsInner(const Problem& p) {
    return p.Cg() >= kChannelVec<T>;
}

template <class T>
void runTyped(const Problem& p, const Buffers& b, Scale s, int nt) {
    const Conv3d g = conv3dOf(p);
    const KernelSplitPlan plan = kernelSplitPlan(p);
    const T* w = static_cast<const T*>(b.w);
    Job<T> J{g, &plan, static_cast<const T*>(b.y), nullptr, static_cast<T*>(b.x), T(s.alpha), T(s.beta), g.Cg};
    std::vector<T> packed;
    // Tap t (geometric, flattened) of (k, cl) in the user's filter: the plan's wTap per axis.
    std::vector<int64_t> userTap(static_cast<size_t>(g.taps));
    {
        std::vector<int64_t> wt[3];
        for (int a = 0; a < 3; ++a) {
            // Every tap has one residue; taps whose phase holds no dx (stride > dx) are listed
            // nowhere and never read, but get their mirrored index all the same.
            wt[a].resize(size_t(g.R[a]));
            for (int64_t k = 0; k < g.R[a]; ++k) wt[a][size_t(k)] = g.flip ? g.R[a] - 1 - k : k;
            for (const KsAxisPhase& ph : plan.axis[a].phases)
                for (const KsTap& t : ph.taps) wt[a][size_t(t.k)] = t.wTap;
        }
        for (int64_t a = 0; a < g.R[0]; ++a)
            for (int64_t bb = 0; bb < g.R[1]; ++bb)
                for (int64_t e = 0; e < g.R[2]; ++e)
                    userTap[size_t((a * g.R[1] + bb) * g.R[2] + e)] = wt[0][size_t(a)] * g.ws[2] + wt[1][size_t(bb)] * g.ws[3] + wt[2][size_t(e)] * g.ws[4];
    }
    // Pixels inner reads the filter as wp[grp][tap][kl][cl]; channels inner as
    // wp[grp][tap][cl / CV][kl][cl % CV] with cl padded to a multiple of CV; reduction inner as
    // wp[grp][tap][cl][kl].
    const bool channelsInner = useChannelsInner<T>(p);
    constexpr int CV = kChannelVec<T>;
    // Narrow groups over channels-last dy with enough dy channels: dot products along them.
    const bool reduceInner = !channelsInner && g.ys[1] == 1 && g.Kg >= 2 * CV;
    J.cgp = channelsInner ? (g.Cg + CV - 1) / CV * CV : g.Cg;
    packed.assign(size_t(g.K * g.taps * J.cgp), T(0));
    for (int64_t k = 0; k < g.K; ++k) {
        const int64_t grp = k / g.Kg, kl = k % g.Kg;
        for (int64_t t = 0; t < g.taps; ++t) {
            T* dst = packed.data() + (grp * g.taps + t) * g.Kg * J.cgp;
            for (int64_t cl = 0; cl < g.Cg; ++cl) {
                const size_t at = channelsInner ? size_t(((cl / CV) * g.Kg + kl) * CV + cl % CV)
                                  : reduceInner ? size_t(cl * g.Kg + kl)
                                                : size_t(kl * J.cgp + cl);
                dst[at] = w[k * g.ws[0] + cl * g.ws[1] + userTap[size_t(t)]];
            }
        }
    }
    J.wp = packed.data();
    if (channelsInner) runChannels<T, 4, CV>(J, nt);
    else if (reduceInner) runReduce<T>(J, nt);
    else if (g.ys[4] == 1) runPixels<T, true>(J, nt);
    else runPixels<T, false>(J, nt);
}

class CpuKernelSplit final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_KERNEL_SPLIT; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CPU; }
    unsigned directions() const override { return dirBit(Direction::BackwardData); }
    bool deterministic() const override { return true; }

    Applicability isApplicable(const Problem& p) const override {
        if (p.dtype != DType::F32 && p.dtype != DType::F64) return Applicability::no("f32 and f64 only");
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        const int nt = cpuThreadCount(ctx.handle ? ctx.handle->numThreads : 0);
        if (p.dtype == DType::F32) runTyped<float>(p, b, s, nt);
        else runTyped<double>(p, b, s, nt);
    }
};

}  // namespace

const Algorithm* cpuKernelSplitAlgorithm() {
    static const CpuKernelSplit a;
    return &a;
}

}  // namespace convx
