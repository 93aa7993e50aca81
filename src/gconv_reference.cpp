// The float64 oracle of GCONV (gconv.h), in host memory: every output element is evaluated
// straight from the definition — pre on each valid tap, padded taps skipped or replaced by the
// pad value, the reduction, the epilogue — in double, rounded once into y's type. Slow and
// obvious on purpose; tests and the chain's reference compare against it.
#include <cmath>
#include <vector>

#include "error.h"
#include "gconv.h"
#include "gconv_engine.h"
#include "gconv_ops.h"
#include "geometry.h"

namespace convx {

void gconvReference(const GconvProblem& gp, const GconvArgs& a, Scale s) {
    validateGconv(gp);
    checkGconvArgs(gp, a);
    const Problem& p = gp.conv;
    const GconvOps& op = gp.ops;
    const Conv3d g = conv3dOf(p);
    const DType t = p.dtype;
    const int lead = 3 - p.nsp;
    int64_t zs[5] = {gp.zStrides[0], gp.zStrides[1], 0, 0, 0};
    for (int i = 0; i < p.nsp; ++i) zs[2 + lead + i] = gp.zStrides[2 + i];
    const double preParam = op.preParam, postParam = op.postParam;

    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t k = 0; k < g.K; ++k) {
            const int64_t grp = k / g.Kg;
            for (int64_t o0 = 0; o0 < g.O[0]; ++o0)
                for (int64_t o1 = 0; o1 < g.O[1]; ++o1)
                    for (int64_t o2 = 0; o2 < g.O[2]; ++o2) {
                        double acc = 0.0;
                        int64_t counted = 0;  // taps that took part (MEAN's divisor, and "any" for MAX/MIN)
                        for (int64_t c = 0; c < g.Cg; ++c) {
                            const int64_t cAbs = grp * g.Cg + c;
                            for (int64_t r0 = 0; r0 < g.R[0]; ++r0)
                                for (int64_t r1 = 0; r1 < g.R[1]; ++r1)
                                    for (int64_t r2 = 0; r2 < g.R[2]; ++r2) {
                                        const int64_t i0 = o0 * g.S[0] - g.P[0] + r0 * g.D[0];
                                        const int64_t i1 = o1 * g.S[1] - g.P[1] + r1 * g.D[1];
                                        const int64_t i2 = o2 * g.S[2] - g.P[2] + r2 * g.D[2];
                                        const bool valid = i0 >= 0 && i0 < g.I[0] && i1 >= 0 && i1 < g.I[1] && i2 >= 0 && i2 < g.I[2];
                                        double v;
                                        if (valid) {
                                            v = loadAsDouble(a.x, t, n * g.xs[0] + cAbs * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4]);
                                            if (op.preAffine) {
                                                const double sc = a.preScale ? double(a.preScale[cAbs]) : 1.0;
                                                const double sh = a.preShift ? double(a.preShift[cAbs]) : 0.0;
                                                v = sc * v + sh;
                                            }
                                            v = gconvUnary<double>(op.pre, v, preParam);
                                        } else if (op.reduce == GReduce::Sum) {
                                            v = op.padValue;
                                        } else {
                                            continue;  // MAX, MIN and MEAN skip padded taps
                                        }
                                        double wv = 0.0;
                                        if (op.map != GMap::Pass) {
                                            int64_t a0 = r0, a1 = r1, a2 = r2;
                                            if (g.flip) a0 = g.R[0] - 1 - r0, a1 = g.R[1] - 1 - r1, a2 = g.R[2] - 1 - r2;
                                            wv = loadAsDouble(a.w, t, k * g.ws[0] + c * g.ws[1] + a0 * g.ws[2] + a1 * g.ws[3] + a2 * g.ws[4]);
                                        }
                                        const double m = op.map == GMap::Mul ? v * wv : op.map == GMap::Add ? v + wv : v;
                                        if (op.reduce == GReduce::Max) acc = counted == 0 || m > acc ? m : acc;
                                        else if (op.reduce == GReduce::Min) acc = counted == 0 || m < acc ? m : acc;
                                        else acc += m;
                                        ++counted;
                                    }
                        }
                        // A window without any valid tap (padding >= window under MAX/MIN/MEAN) reduces to 0.
                        if (op.reduce == GReduce::Mean) acc = counted ? acc / double(counted) : 0.0;
                        double v = acc;
                        if (op.postAffine) {
                            const double sc = a.postScale ? double(a.postScale[k]) : 1.0;
                            const double sh = a.postShift ? double(a.postShift[k]) : 0.0;
                            v = sc * v + sh;
                        }
                        if (op.combine != GCombine::None) {
                            const double z = loadAsDouble(a.z, t, n * zs[0] + k * zs[1] + o0 * zs[2] + o1 * zs[3] + o2 * zs[4]);
                            v = op.combine == GCombine::Add ? v + z : v * z;
                        }
                        v = gconvUnary<double>(op.post, v, postParam);
                        const int64_t yi = n * g.ys[0] + k * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4];
                        double out = s.alpha * v;
                        if (s.beta != 0.0) out += s.beta * loadAsDouble(a.y, t, yi);
                        storeFromDouble(a.y, t, yi, out);
                    }
        }
}

}  // namespace convx
