#include "kernel_split_plan.h"

#include <algorithm>

#include "geometry.h"

namespace convx {

namespace {

inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

}  // namespace

KsAxis kernelSplitAxis(int64_t I, int64_t O, int64_t R, int64_t s, int64_t p, int64_t d, bool flip) {
    KsAxis ax{I, O, R, s, p, d, {}};
    // Phases whose first index is past dx hold nothing: list min(s, I) of them, so that a huge
    // stride costs nothing.
    const int64_t listed = std::min(s, I);
    ax.phases.resize(static_cast<size_t>(listed));
    for (int64_t f = 0; f < listed; ++f) {
        KsAxisPhase& ph = ax.phases[static_cast<size_t>(f)];
        ph.first = f;
        ph.residue = (f + p) % s;
        ph.count = ceilDiv(I - f, s);
        for (int64_t k = 0; k < R; ++k) {
            // Tap k reaches dx index i through o = (i + p - k*d) / s when that division is exact,
            // which for i = f + j*s depends on the residue only.
            const int64_t num = f + p - k * d;
            if (floorDiv(num, s) * s != num) continue;
            KsTap t;
            t.k = k;
            t.wTap = flip ? R - 1 - k : k;
            t.dyOff = num / s;
            t.jLo = std::max<int64_t>(0, -t.dyOff);
            t.jHi = std::min<int64_t>(ph.count, O - t.dyOff);
            if (t.jHi < t.jLo) t.jHi = t.jLo;
            ph.taps.push_back(t);
        }
    }
    return ax;
}

KernelSplitPlan kernelSplitPlan(const Problem& p) {
    const Conv3d g = conv3dOf(p);
    KernelSplitPlan plan;
    plan.macsPerChannelPair = 1;
    for (int a = 0; a < 3; ++a) {
        plan.axis[a] = kernelSplitAxis(g.I[a], g.O[a], g.R[a], g.S[a], g.P[a], g.D[a], g.flip);
        int64_t valid = 0;
        for (const KsAxisPhase& ph : plan.axis[a].phases)
            for (const KsTap& t : ph.taps) valid += t.jHi - t.jLo;
        plan.macsPerChannelPair *= valid;
    }
    const KsAxis* ax = plan.axis;
    const int64_t n0 = int64_t(ax[0].phases.size()), n1 = int64_t(ax[1].phases.size()), n2 = int64_t(ax[2].phases.size());
    for (int64_t a0 = 0; a0 < n0; ++a0)
        for (int64_t a1 = 0; a1 < n1; ++a1)
            for (int64_t a2 = 0; a2 < n2; ++a2) {
                const KsAxisPhase* ph[3] = {&ax[0].phases[size_t(a0)], &ax[1].phases[size_t(a1)], &ax[2].phases[size_t(a2)]};
                KsPhase q;
                q.a[0] = a0, q.a[1] = a1, q.a[2] = a2;
                q.elems = 1;
                q.taps = 1;
                for (int i = 0; i < 3; ++i) {
                    q.count[i] = ph[i]->count;
                    q.elems *= ph[i]->count;
                    q.taps *= static_cast<int64_t>(ph[i]->taps.size());
                }
                if (q.elems == 0) continue;
                q.begin = plan.totalElems;
                plan.totalElems += q.elems;
                plan.phases.push_back(q);
            }
    return plan;
}

int64_t KernelSplitPlan::phaseOf(int64_t e) const {
    // Last phase whose begin <= e.
    auto it = std::upper_bound(phases.begin(), phases.end(), e, [](int64_t v, const KsPhase& q) { return v < q.begin; });
    return static_cast<int64_t>(it - phases.begin()) - 1;
}

}  // namespace convx
