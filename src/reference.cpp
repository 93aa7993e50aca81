#include "reference.h"
#include "threads.h"

#include "geometry.h"

#include <algorithm>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace convx {

namespace {

using Geometry = Conv3d;

inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

// Outputs o in [lo, hi] whose input index o*s + t*d - p lies in [0, I).
struct Range {
    int64_t lo, hi;
};
inline Range validOutputs(int64_t I, int64_t O, int64_t s, int64_t off) {
    // off = t*d - p: input index = o*s + off
    return {std::max<int64_t>(0, ceilDiv(-off, s)), std::min<int64_t>(O - 1, floorDiv(I - 1 - off, s))};
}

// Packed double copy of an activation tensor with `ch` channels and spatial dims `sp`.
std::vector<double> loadActivation(const void* ptr, DType t, const int64_t* st, int64_t N, int64_t ch, const int64_t* sp, int nt) {
    const int64_t pix = sp[0] * sp[1] * sp[2];
    std::vector<double> out(static_cast<size_t>(N * ch * pix));
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t nc = 0; nc < N * ch; ++nc) {
        const int64_t n = nc / ch, c = nc % ch;
        double* dst = out.data() + nc * pix;
        for (int64_t a = 0; a < sp[0]; ++a)
            for (int64_t b = 0; b < sp[1]; ++b) {
                const int64_t base = n * st[0] + c * st[1] + a * st[2] + b * st[3];
                for (int64_t e = 0; e < sp[2]; ++e) *dst++ = loadAsDouble(ptr, t, base + e * st[4]);
            }
    }
    return out;
}

// out = alpha * acc + beta * out, over an activation tensor; beta == 0 never reads out.
void storeActivation(void* ptr, DType t, const int64_t* st, int64_t N, int64_t ch, const int64_t* sp, const std::vector<double>& acc,
                     Scale s, int nt) {
    const int64_t pix = sp[0] * sp[1] * sp[2];
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t nc = 0; nc < N * ch; ++nc) {
        const int64_t n = nc / ch, c = nc % ch;
        const double* src = acc.data() + nc * pix;
        for (int64_t a = 0; a < sp[0]; ++a)
            for (int64_t b = 0; b < sp[1]; ++b) {
                const int64_t base = n * st[0] + c * st[1] + a * st[2] + b * st[3];
                for (int64_t e = 0; e < sp[2]; ++e, ++src) {
                    const int64_t i = base + e * st[4];
                    double v = s.alpha * *src;
                    if (s.beta != 0.0) v += s.beta * loadAsDouble(ptr, t, i);
                    storeFromDouble(ptr, t, i, v);
                }
            }
    }
}

// Index of filter tap (a, b, e) in the user's filter for the mode: CONVOLUTION flips the window.
inline int64_t userTap(const Geometry& g, int64_t a, int64_t b, int64_t e) {
    if (g.flip) a = g.R[0] - 1 - a, b = g.R[1] - 1 - b, e = g.R[2] - 1 - e;
    return a * g.ws[2] + b * g.ws[3] + e * g.ws[4];
}

std::vector<double> loadFilter(const Geometry& g, const void* ptr, DType t) {
    std::vector<double> out(static_cast<size_t>(g.K * g.Cg * g.taps));
    for (int64_t k = 0; k < g.K; ++k)
        for (int64_t c = 0; c < g.Cg; ++c) {
            double* dst = out.data() + (k * g.Cg + c) * g.taps;
            for (int64_t a = 0; a < g.R[0]; ++a)
                for (int64_t b = 0; b < g.R[1]; ++b)
                    for (int64_t e = 0; e < g.R[2]; ++e)
                        *dst++ = loadAsDouble(ptr, t, k * g.ws[0] + c * g.ws[1] + userTap(g, a, b, e));
        }
    return out;
}

void storeFilter(const Geometry& g, void* ptr, DType t, const std::vector<double>& acc, Scale s) {
    const double* src = acc.data();
    for (int64_t k = 0; k < g.K; ++k)
        for (int64_t c = 0; c < g.Cg; ++c)
            for (int64_t a = 0; a < g.R[0]; ++a)
                for (int64_t b = 0; b < g.R[1]; ++b)
                    for (int64_t e = 0; e < g.R[2]; ++e, ++src) {
                        const int64_t i = k * g.ws[0] + c * g.ws[1] + userTap(g, a, b, e);
                        double v = s.alpha * *src;
                        if (s.beta != 0.0) v += s.beta * loadAsDouble(ptr, t, i);
                        storeFromDouble(ptr, t, i, v);
                    }
}

// Calls f(tapIndex, yRowOffset, xRowOffset, range along W, xW stride) for every filter tap and
// every (od, oh) output row that the tap touches with at least one valid input; offsets index
// the packed planes. Shared by the three directions so they agree on the geometry.
template <class F>
void forEachTapRow(const Geometry& g, F&& f) {
    int64_t tap = 0;
    for (int64_t a = 0; a < g.R[0]; ++a)
        for (int64_t b = 0; b < g.R[1]; ++b)
            for (int64_t e = 0; e < g.R[2]; ++e, ++tap) {
                const int64_t offD = a * g.D[0] - g.P[0], offH = b * g.D[1] - g.P[1], offW = e * g.D[2] - g.P[2];
                const Range rd = validOutputs(g.I[0], g.O[0], g.S[0], offD);
                const Range rh = validOutputs(g.I[1], g.O[1], g.S[1], offH);
                const Range rw = validOutputs(g.I[2], g.O[2], g.S[2], offW);
                if (rw.lo > rw.hi) continue;
                for (int64_t od = rd.lo; od <= rd.hi; ++od)
                    for (int64_t oh = rh.lo; oh <= rh.hi; ++oh) {
                        const int64_t id = od * g.S[0] + offD, ih = oh * g.S[1] + offH;
                        f(tap, (od * g.O[1] + oh) * g.O[2], (id * g.I[1] + ih) * g.I[2] + offW, rw);
                    }
            }
}

void forward(const Geometry& g, const std::vector<double>& X, const std::vector<double>& W, std::vector<double>& Y, int nt) {
    const int64_t sw = g.S[2];
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (int64_t nk = 0; nk < g.N * g.K; ++nk) {
        const int64_t n = nk / g.K, k = nk % g.K, grp = k / g.Kg;
        double* y = Y.data() + nk * g.outPix;
        std::fill(y, y + g.outPix, 0.0);
        for (int64_t c = 0; c < g.Cg; ++c) {
            const double* x = X.data() + (n * g.C + grp * g.Cg + c) * g.inPix;
            const double* w = W.data() + (k * g.Cg + c) * g.taps;
            forEachTapRow(g, [&](int64_t tap, int64_t yo, int64_t xo, Range rw) {
                const double wv = w[tap];
                double* yr = y + yo;
                const double* xr = x + xo;
                for (int64_t ow = rw.lo; ow <= rw.hi; ++ow) yr[ow] += wv * xr[ow * sw];
            });
        }
    }
}

void backwardData(const Geometry& g, const std::vector<double>& DY, const std::vector<double>& W, std::vector<double>& DX, int nt) {
    const int64_t sw = g.S[2];
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
        const int64_t n = nc / g.C, c = nc % g.C, grp = c / g.Cg, cl = c % g.Cg;
        double* dx = DX.data() + nc * g.inPix;
        std::fill(dx, dx + g.inPix, 0.0);
        for (int64_t kl = 0; kl < g.Kg; ++kl) {
            const int64_t k = grp * g.Kg + kl;
            const double* dy = DY.data() + (n * g.K + k) * g.outPix;
            const double* w = W.data() + (k * g.Cg + cl) * g.taps;
            forEachTapRow(g, [&](int64_t tap, int64_t yo, int64_t xo, Range rw) {
                const double wv = w[tap];
                const double* dyr = dy + yo;
                double* dxr = dx + xo;
                for (int64_t ow = rw.lo; ow <= rw.hi; ++ow) dxr[ow * sw] += wv * dyr[ow];
            });
        }
    }
}

void backwardFilter(const Geometry& g, const std::vector<double>& X, const std::vector<double>& DY, std::vector<double>& DW, int nt) {
    const int64_t sw = g.S[2];
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (int64_t kc = 0; kc < g.K * g.Cg; ++kc) {
        const int64_t k = kc / g.Cg, cl = kc % g.Cg, c = (k / g.Kg) * g.Cg + cl;
        double* dw = DW.data() + kc * g.taps;
        std::fill(dw, dw + g.taps, 0.0);
        for (int64_t n = 0; n < g.N; ++n) {
            const double* x = X.data() + (n * g.C + c) * g.inPix;
            const double* dy = DY.data() + (n * g.K + k) * g.outPix;
            forEachTapRow(g, [&](int64_t tap, int64_t yo, int64_t xo, Range rw) {
                const double* dyr = dy + yo;
                const double* xr = x + xo;
                double sum = 0.0;
                for (int64_t ow = rw.lo; ow <= rw.hi; ++ow) sum += dyr[ow] * xr[ow * sw];
                dw[tap] += sum;
            });
        }
    }
}

}  // namespace

void referenceConvolution(const Problem& p, const Buffers& b, Scale s, int threads) {
    const Geometry g = conv3dOf(p);
    const int nt = cpuThreadCount(threads);
    switch (p.dir) {
        case Direction::Forward: {
            const auto X = loadActivation(b.x, p.dtype, g.xs, g.N, g.C, g.I, nt);
            const auto W = loadFilter(g, b.w, p.dtype);
            std::vector<double> Y(static_cast<size_t>(g.N * g.K * g.outPix));
            forward(g, X, W, Y, nt);
            storeActivation(b.y, p.dtype, g.ys, g.N, g.K, g.O, Y, s, nt);
            break;
        }
        case Direction::BackwardData: {
            const auto DY = loadActivation(b.y, p.dtype, g.ys, g.N, g.K, g.O, nt);
            const auto W = loadFilter(g, b.w, p.dtype);
            std::vector<double> DX(static_cast<size_t>(g.N * g.C * g.inPix));
            backwardData(g, DY, W, DX, nt);
            storeActivation(b.x, p.dtype, g.xs, g.N, g.C, g.I, DX, s, nt);
            break;
        }
        case Direction::BackwardFilter: {
            const auto X = loadActivation(b.x, p.dtype, g.xs, g.N, g.C, g.I, nt);
            const auto DY = loadActivation(b.y, p.dtype, g.ys, g.N, g.K, g.O, nt);
            std::vector<double> DW(static_cast<size_t>(g.K * g.Cg * g.taps));
            backwardFilter(g, X, DY, DW, nt);
            storeFilter(g, b.w, p.dtype, DW, s);
            break;
        }
    }
}

}  // namespace convx
