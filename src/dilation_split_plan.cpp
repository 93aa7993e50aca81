#include "dilation_split_plan.h"

#include <algorithm>

#include "geometry.h"

namespace convx {

int64_t SplitAxis::maxCount() const {
    int64_t m = 0;
    for (const SplitResidue& r : residues) m = std::max(m, r.count);
    return m;
}

namespace {

SplitAxis makeSplitAxis(int64_t I, int64_t O, int64_t R, int64_t s, int64_t p, int64_t d) {
    SplitAxis a;
    a.I = I, a.O = O, a.R = R, a.s = s, a.p = p, a.d = d;
    for (int64_t j = 0; j < std::min(d, O); ++j) {
        SplitResidue r;
        r.j = j;
        r.count = (O - j + d - 1) / d;
        r.start = j * s - p;
        r.extent = std::max<int64_t>(0, ceilDivI(I - r.start, d));
        r.firstValid = std::max<int64_t>(0, ceilDivI(-r.start, d));
        r.inOffset = floorDivI(r.start, d);
        r.inResidue = r.start - d * r.inOffset;
        r.inCount = residueCount(I, r.inResidue, d);
        r.trim = makeTrimAxis(r.inCount, r.count, R, s, -r.inOffset, 1);
        a.residues.push_back(std::move(r));
    }
    return a;
}

}  // namespace

std::vector<int64_t> DilationSplitPlan::tilePrefix(int64_t th, int64_t tw) const {
    std::vector<int64_t> pre(subs.size() + 1, 0);
    for (size_t i = 0; i < subs.size(); ++i) {
        const SubProblem& sp = subs[i];
        pre[i + 1] = pre[i] + sp.count[0] * ((sp.count[1] + th - 1) / th) * ((sp.count[2] + tw - 1) / tw);
    }
    return pre;
}

DilationSplitPlan makeDilationSplitPlan(const Problem& p) {
    const Conv3d g = conv3dOf(p);
    DilationSplitPlan plan;
    for (int j = 0; j < 3; ++j) plan.axis[j] = makeSplitAxis(g.I[j], g.O[j], g.R[j], g.S[j], g.P[j], g.D[j]);

    const SplitAxis& A0 = plan.axis[0];
    const SplitAxis& A1 = plan.axis[1];
    const SplitAxis& A2 = plan.axis[2];
    plan.outPrefix.push_back(0);
    double taps = 0;
    for (size_t a = 0; a < A0.residues.size(); ++a)
        for (size_t b = 0; b < A1.residues.size(); ++b)
            for (size_t c = 0; c < A2.residues.size(); ++c) {
                SubProblem sp;
                sp.res[0] = int(a), sp.res[1] = int(b), sp.res[2] = int(c);
                sp.count[0] = A0.residues[a].count, sp.count[1] = A1.residues[b].count, sp.count[2] = A2.residues[c].count;
                sp.outPix = sp.count[0] * sp.count[1] * sp.count[2];
                sp.outBegin = plan.outPrefix.back();
                plan.outPrefix.push_back(sp.outBegin + sp.outPix);
                plan.subs.push_back(sp);
                taps += double(A0.residues[a].trim.tapsExecuted) * double(A1.residues[b].trim.tapsExecuted) *
                        double(A2.residues[c].trim.tapsExecuted);
            }
    plan.macsExecuted = taps * double(g.N) * double(g.K) * double(g.Cg);

    plan.inBlock.push_back(0);
    for (int64_t rD = 0; rD < A0.d; ++rD)
        for (int64_t rH = 0; rH < A1.d; ++rH)
            for (int64_t rW = 0; rW < A2.d; ++rW)
                plan.inBlock.push_back(plan.inBlock.back() + residueCount(A0.I, rD, A0.d) * residueCount(A1.I, rH, A1.d) *
                                                                 residueCount(A2.I, rW, A2.d));
    return plan;
}

}  // namespace convx
