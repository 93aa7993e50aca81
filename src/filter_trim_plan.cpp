#include "filter_trim_plan.h"

#include "geometry.h"

namespace convx {

int64_t TrimAxis::interior() const {
    int64_t n = 0;
    for (const TrimSegment& sg : segments)
        if (sg.tBegin == 0 && sg.tEnd == R) n += sg.oEnd - sg.oBegin;
    return n;
}

TrimAxis makeTrimAxis(int64_t I, int64_t O, int64_t R, int64_t s, int64_t p, int64_t d) {
    TrimAxis a;
    a.I = I, a.O = O, a.R = R, a.s = s, a.p = p, a.d = d;
    a.tBegin.resize(static_cast<size_t>(O));
    a.tEnd.resize(static_cast<size_t>(O));
    for (int64_t o = 0; o < O; ++o) {
        int64_t b = trimBegin(o, I, R, s, p, d), e = trimEnd(o, I, R, s, p, d);
        if (b >= e) b = e = 0;  // one spelling of "no tap", so such outputs form one class
        a.tBegin[o] = b, a.tEnd[o] = e;
        a.tapsExecuted += e - b;
        if (!a.segments.empty() && a.segments.back().tBegin == b && a.segments.back().tEnd == e)
            a.segments.back().oEnd = o + 1;
        else
            a.segments.push_back({o, o + 1, b, e});
    }
    return a;
}

ForwardView forwardViewOf(const Problem& p) {
    const Conv3d f = conv3dOf(p);
    if (p.dir != Direction::BackwardData) return {f, f.Kg * f.ws[0]};
    Conv3d g = f;
    g.C = f.K, g.K = f.C, g.Cg = f.Kg, g.Kg = f.Cg;
    for (int j = 0; j < 3; ++j) {
        g.I[j] = f.O[j], g.O[j] = f.I[j];
        g.S[j] = 1;
        g.P[j] = (f.R[j] - 1) * f.D[j] - f.P[j];  // may be negative: the windows still hold
    }
    for (int j = 0; j < 5; ++j) g.xs[j] = f.ys[j], g.ys[j] = f.xs[j];
    g.ws[0] = f.ws[1], g.ws[1] = f.ws[0];  // output channel = the problem's c, input = its k
    g.inPix = f.outPix, g.outPix = f.inPix;
    g.flip = !f.flip;  // the rotation
    return {g, f.Kg * f.ws[0]};
}

FilterTrimPlan makeFilterTrimPlan(const Problem& p) {
    const Conv3d g = forwardViewOf(p).g;
    FilterTrimPlan plan;
    double executed = 1.0;
    for (int j = 0; j < 3; ++j) {
        plan.axis[j] = makeTrimAxis(g.I[j], g.O[j], g.R[j], g.S[j], g.P[j], g.D[j]);
        plan.classes *= static_cast<int64_t>(plan.axis[j].segments.size());
        executed *= double(plan.axis[j].tapsExecuted);  // windows are products over the axes
    }
    const double perOutputChannel = double(g.N) * double(g.K) * double(g.Cg);
    plan.macsExecuted = perOutputChannel * executed;
    plan.macsUntrimmed = perOutputChannel * double(g.outPix) * double(g.taps);
    return plan;
}

}  // namespace convx
