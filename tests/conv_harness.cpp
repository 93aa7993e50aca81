#include "conv_harness.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "error.h"
#include "execute.h"

namespace harness {

const char* dirName(Dir d) {
    switch (d) {
        case Dir::Fwd: return "fwd";
        case Dir::BwdData: return "bwd_d";
        case Dir::BwdFilter: return "bwd_w";
    }
    return "?";
}

const char* dtName(convxDataType_t t) {
    switch (t) {
        case CONVX_DATA_FLOAT: return "f32";
        case CONVX_DATA_DOUBLE: return "f64";
        case CONVX_DATA_HALF: return "f16";
        case CONVX_DATA_BFLOAT16: return "bf16";
    }
    return "?";
}

size_t dtSize(convxDataType_t t) {
    switch (t) {
        case CONVX_DATA_FLOAT: return 4;
        case CONVX_DATA_DOUBLE: return 8;
        case CONVX_DATA_HALF:
        case CONVX_DATA_BFLOAT16: return 2;
    }
    return 0;
}

int Spec::out(int i) const {
    const int extent = (ker[i] - 1) * dil[i] + 1;
    const int span = in[i] + 2 * pad[i] - extent;
    return span < 0 ? 0 : 1 + span / stride[i];
}

bool Spec::valid() const {
    for (int i = 0; i < nsp; ++i)
        if (out(i) < 1) return false;
    return true;
}

// ---------------------------------------------------------------- generator

Spec randomSpec(std::mt19937_64& rng, Dir dir, convxDataType_t dt, const GenOptions& o) {
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    Spec s;
    s.dir = dir;
    s.dt = dt;
    s.compute = dt == CONVX_DATA_DOUBLE ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
    if (dt == CONVX_DATA_HALF && o.allowHalfAcc && uni(0, 3) == 0) s.compute = CONVX_DATA_HALF;
    s.mode = uni(0, 1) ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
    s.math = static_cast<convxMathType_t>(uni(0, 3));
    if (o.nsp) s.nsp = o.nsp;
    else {
        const int r = uni(0, 19);
        s.nsp = r < 6 ? 1 : r < 15 ? 2 : 3;
    }
    const bool threeD = s.nsp == 3;
    const int kind = o.depthwise ? 9 : uni(0, 9);
    if (kind <= 4) {  // plain
        s.G = 1;
        s.C = uni(1, threeD ? 3 : 5);
        s.K = uni(1, threeD ? 3 : 5);
    } else if (kind <= 6) {  // grouped
        s.G = uni(2, 3);
        s.C = s.G * uni(1, threeD ? 2 : 3);
        s.K = s.G * uni(1, threeD ? 2 : 3);
    } else {  // depthwise, channel multiplier 1 or 2
        s.G = s.C = uni(o.depthwise ? 2 : 1, threeD ? 4 : 6);
        s.K = s.C * uni(1, 2);
    }
    s.N = uni(1, 3);
    for (int i = 0; i < s.nsp; ++i) {
        const int maxK = threeD ? 3 : s.nsp == 2 ? 4 : 5;
        const int maxIn = threeD ? 5 : s.nsp == 2 ? 9 : 16;
        for (int attempt = 0;; ++attempt) {
            s.ker[i] = uni(1, maxK);
            s.stride[i] = uni(1, 3);
            s.dil[i] = uni(1, 3);
            s.pad[i] = uni(0, s.ker[i] + 2);
            if (o.smallMaps) {
                if (s.ker[i] == 1) s.ker[i] = uni(2, maxK);
                s.in[i] = uni(1, s.ker[i] - 1);
            } else {
                s.in[i] = uni(1, maxIn);
            }
            if (s.out(i) >= 1) break;
            if (attempt > 20) {  // pad just enough
                const int extent = (s.ker[i] - 1) * s.dil[i] + 1;
                s.pad[i] = (extent - s.in[i] + 1) / 2;
                break;
            }
        }
    }
    const convxTensorFormat_t fmts[2] = {CONVX_TENSOR_NCHW, CONVX_TENSOR_NHWC};
    s.xFmt = fmts[uni(0, 1)];
    s.yFmt = fmts[uni(0, 1)];
    s.wFmt = fmts[uni(0, 1)];
    if (uni(0, 2) == 0) s.yFmt = s.wFmt = s.xFmt;
    s.xGapped = o.gapped || uni(0, 4) == 0;
    s.yGapped = o.gapped || uni(0, 4) == 0;
    switch (uni(0, 2)) {
        case 0: s.alpha = 1.0; break;
        case 1: s.alpha = uni(32, 128) / 64.0; break;
        default: s.alpha = -1.25; break;
    }
    int betaKind = o.betaKind;
    if (betaKind < 0) {
        const int r = uni(0, 19);
        betaKind = r < 9 ? 0 : r < 14 ? 1 : 2;
    }
    if (betaKind == 0) s.beta = 0.0;
    else if (betaKind == 1) s.beta = 1.0;
    else {
        int b = 0;
        while (b == 0) b = uni(-96, 96);
        s.beta = b / 64.0;
    }
    s.threads = uni(0, 4) == 0 ? uni(0, o.maxThreads) : 1;
    s.api = rng();
    s.seed = rng();
    return s;
}

// ---------------------------------------------------------------- buffers

Buffer::Buffer(convxDataType_t t, int64_t n) : dt(t), elems(n), store(static_cast<size_t>((n * dtSize(t) + 7) / 8 + 1), 0) {}

double Buffer::get(int64_t i) const {
    switch (dt) {
        case CONVX_DATA_FLOAT: return static_cast<const float*>(data())[i];
        case CONVX_DATA_DOUBLE: return static_cast<const double*>(data())[i];
        case CONVX_DATA_HALF: return testutil::decode16(raw16(i), testutil::kHalf);
        case CONVX_DATA_BFLOAT16: return testutil::decode16(raw16(i), testutil::kBf16);
    }
    return 0;
}

void Buffer::set(int64_t i, double v) {
    switch (dt) {
        case CONVX_DATA_FLOAT: static_cast<float*>(data())[i] = static_cast<float>(v); break;
        case CONVX_DATA_DOUBLE: static_cast<double*>(data())[i] = v; break;
        case CONVX_DATA_HALF: static_cast<uint16_t*>(data())[i] = testutil::encode16(v, testutil::kHalf); break;
        case CONVX_DATA_BFLOAT16: static_cast<uint16_t*>(data())[i] = testutil::encode16(v, testutil::kBf16); break;
    }
}

void Buffer::setNaN(int64_t i) { set(i, std::nan("")); }

uint16_t Buffer::raw16(int64_t i) const { return static_cast<const uint16_t*>(data())[i]; }

bool Buffer::sameBytes(const Buffer& o, int64_t i) const {
    const size_t es = dtSize(dt);
    return std::memcmp(static_cast<const char*>(data()) + i * es, static_cast<const char*>(o.data()) + i * es, es) == 0;
}

// ---------------------------------------------------------------- geometry

namespace {

// Iterates over every logical index of a geometry.
template <class F>
void forEachIndex(const Geometry& g, F&& f) {
    int64_t idx[5] = {0, 0, 0, 0, 0};
    int64_t total = 1;
    for (int i = 0; i < g.rank; ++i) total *= g.dims[i];
    for (int64_t t = 0; t < total; ++t) {
        int64_t r = t;
        for (int i = g.rank - 1; i >= 0; --i) {
            idx[i] = r % g.dims[i];
            r /= g.dims[i];
        }
        f(idx, g.offset(idx));
    }
}

void finishGeometry(Geometry& g) {
    g.span = 1;
    for (int i = 0; i < g.rank; ++i) g.span += (g.dims[i] - 1) * g.strides[i];
    g.covered.assign(static_cast<size_t>(g.span), 0);
    forEachIndex(g, [&](const int64_t*, int64_t off) { g.covered[static_cast<size_t>(off)] = 1; });
}

// An activation tensor (N, ch, spatial...) in a format; with gaps, every level of the layout
// skips a few elements (padded rows / pixels / images) and the innermost stride may be 2.
Geometry activation(int nsp, int64_t n, int64_t ch, const int* sp, convxTensorFormat_t fmt, bool gapped, std::mt19937_64& rng) {
    Geometry g;
    g.rank = 2 + nsp;
    g.dims[0] = n;
    g.dims[1] = ch;
    for (int i = 0; i < nsp; ++i) g.dims[2 + i] = sp[i];
    std::vector<int> order;  // innermost first
    if (fmt == CONVX_TENSOR_NHWC) order.push_back(1);
    for (int i = nsp - 1; i >= 0; --i) order.push_back(2 + i);
    if (fmt == CONVX_TENSOR_NCHW) order.push_back(1);
    order.push_back(0);
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    int64_t acc = gapped ? uni(1, 2) : 1;
    for (int d : order) {
        g.strides[d] = acc;
        acc = acc * g.dims[d] + (gapped ? uni(0, 2) : 0);
    }
    finishGeometry(g);
    return g;
}

// The filter (K, C/G, spatial...), always packed: K C/G spatial (NCHW) or K spatial C/G (NHWC).
Geometry filter(const Spec& s) {
    Geometry g;
    g.rank = 2 + s.nsp;
    g.dims[0] = s.K;
    g.dims[1] = s.C / s.G;
    for (int i = 0; i < s.nsp; ++i) g.dims[2 + i] = s.ker[i];
    int64_t acc = 1;
    if (s.wFmt == CONVX_TENSOR_NHWC) {
        g.strides[1] = 1;
        acc = g.dims[1];
        for (int i = s.nsp - 1; i >= 0; --i) {
            g.strides[2 + i] = acc;
            acc *= g.dims[2 + i];
        }
    } else {
        for (int i = s.nsp - 1; i >= 0; --i) {
            g.strides[2 + i] = acc;
            acc *= g.dims[2 + i];
        }
        g.strides[1] = acc;
        acc *= g.dims[1];
    }
    g.strides[0] = acc;
    finishGeometry(g);
    return g;
}

bool isPacked(const Geometry& g, convxTensorFormat_t fmt) {
    int64_t acc = 1;
    std::vector<int> order;
    if (fmt == CONVX_TENSOR_NHWC) order.push_back(1);
    for (int i = g.rank - 1; i >= 2; --i) order.push_back(i);
    if (fmt == CONVX_TENSOR_NCHW) order.push_back(1);
    order.push_back(0);
    for (int d : order) {
        if (g.strides[d] != acc) return false;
        acc *= g.dims[d];
    }
    return true;
}

void setTensor(convxTensorDescriptor_t d, const Geometry& g, convxTensorFormat_t fmt, convxDataType_t dt, unsigned choice) {
    int dims[5], strides[5];
    for (int i = 0; i < g.rank; ++i) {
        dims[i] = static_cast<int>(g.dims[i]);
        strides[i] = static_cast<int>(g.strides[i]);
    }
    const bool packed = isPacked(g, fmt);
    if (packed && choice % 3 == 1) {
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(d, fmt, dt, g.rank, dims));
    } else if (packed && choice % 3 == 2 && g.rank == 4) {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(d, fmt, dt, dims[0], dims[1], dims[2], dims[3]));
    } else if (g.rank == 4 && choice % 2 == 0) {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptorEx(d, dt, dims[0], dims[1], dims[2], dims[3], strides[0], strides[1], strides[2],
                                                      strides[3]));
    } else {
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptor(d, dt, g.rank, dims, strides));
    }
}

template <class F>
void forEachSpatial(const int64_t* extent, F&& f) {
    int64_t p[3];
    for (p[0] = 0; p[0] < extent[0]; ++p[0])
        for (p[1] = 0; p[1] < extent[1]; ++p[1])
            for (p[2] = 0; p[2] < extent[2]; ++p[2]) f(p);
}

double fillValue(std::mt19937_64& rng) {
    // uniform in [-1, 1], never exactly zero
    double v = 0;
    while (v == 0) v = std::uniform_real_distribution<double>(-1.0, 1.0)(rng);
    return v;
}

}  // namespace

// ---------------------------------------------------------------- the case

Case::Case(const Spec& s) : s_(s) {
    std::mt19937_64 rng(s.seed ^ 0x9e3779b97f4a7c15ull);
    int outSp[3];
    for (int i = 0; i < s.nsp; ++i) outSp[i] = s.out(i);
    xg = activation(s.nsp, s.N, s.C, s.in, s.xFmt, s.xGapped, rng);
    yg = activation(s.nsp, s.N, s.K, outSp, s.yFmt, s.yGapped, rng);
    wg = filter(s);
    x = Buffer(s.dt, xg.span);
    y = Buffer(s.dt, yg.span);
    w = Buffer(s.dt, wg.span);

    uint64_t bits = s.api;
    auto take = [&](unsigned n) {
        unsigned v = static_cast<unsigned>(bits % n);
        bits /= n;
        return v;
    };
    setTensor(xd_, xg, s.xFmt, s.dt, take(6));
    setTensor(yd_, yg, s.yFmt, s.dt, take(6));
    if (s.nsp == 2 && take(2)) {
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(wd_, s.dt, s.wFmt, s.K, s.C / s.G, s.ker[0], s.ker[1]));
    } else {
        int dims[5] = {s.K, s.C / s.G, s.ker[0], s.ker[1], s.ker[2]};
        REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(wd_, s.dt, s.wFmt, 2 + s.nsp, dims));
    }
    if (s.nsp == 2 && take(2)) {
        REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(cd_, s.pad[0], s.pad[1], s.stride[0], s.stride[1], s.dil[0], s.dil[1], s.mode,
                                                         s.compute));
    } else {
        REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(cd_, s.nsp, s.pad, s.stride, s.dil, s.mode, s.compute));
    }
    if (s.G > 1 || take(2)) REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(cd_, s.G));
    if (s.math != CONVX_DEFAULT_MATH || take(2)) REQUIRE_CONVX_OK(convxSetConvolutionMathType(cd_, s.math));

    // The library's own output-size query must agree with the formula.
    int od[5] = {0, 0, 0, 0, 0};
    REQUIRE_CONVX_OK(convxGetConvolutionNdForwardOutputDim(cd_, xd_, wd_, 2 + s.nsp, od));
    REQUIRE(od[0] == s.N);
    REQUIRE(od[1] == s.K);
    for (int i = 0; i < s.nsp; ++i) REQUIRE(od[2 + i] == s.out(i));
}

Buffer& Case::output() { return s_.dir == Dir::Fwd ? y : s_.dir == Dir::BwdData ? x : w; }
const Buffer& Case::output() const { return s_.dir == Dir::Fwd ? y : s_.dir == Dir::BwdData ? x : w; }
const Geometry& Case::outputGeometry() const { return s_.dir == Dir::Fwd ? yg : s_.dir == Dir::BwdData ? xg : wg; }

void Case::fill() {
    std::mt19937_64 rng(s_.seed);
    struct Role {
        Buffer* b;
        const Geometry* g;
        bool isOutput;
    };
    const Role roles[3] = {{&x, &xg, s_.dir == Dir::BwdData}, {&w, &wg, s_.dir == Dir::BwdFilter}, {&y, &yg, s_.dir == Dir::Fwd}};
    for (const Role& r : roles) {
        for (int64_t i = 0; i < r.g->span; ++i) {
            if (!r.g->covered[static_cast<size_t>(i)] || (r.isOutput && s_.beta == 0.0)) r.b->setNaN(i);
            else r.b->set(i, fillValue(rng));
        }
    }
}

convxStatus_t Case::run(convxHandle_t h, convxConvAlgo_t algo, void* ws, size_t wsBytes) {
    REQUIRE_CONVX_OK(convxSetNumThreads(h, s_.threads));
    const float af = static_cast<float>(s_.alpha), bf = static_cast<float>(s_.beta);
    const double ad = s_.alpha, bd = s_.beta;
    const bool dbl = s_.dt == CONVX_DATA_DOUBLE;
    const void* pa = dbl ? static_cast<const void*>(&ad) : static_cast<const void*>(&af);
    const void* pb = dbl ? static_cast<const void*>(&bd) : static_cast<const void*>(&bf);
    switch (s_.dir) {
        case Dir::Fwd:
            return convxConvolutionForward(h, pa, xd_, x.data(), wd_, w.data(), cd_, algo, ws, wsBytes, pb, yd_, y.data());
        case Dir::BwdData:
            return convxConvolutionBackwardData(h, pa, wd_, w.data(), yd_, y.data(), cd_, algo, ws, wsBytes, pb, xd_, x.data());
        case Dir::BwdFilter:
            return convxConvolutionBackwardFilter(h, pa, xd_, x.data(), yd_, y.data(), cd_, algo, ws, wsBytes, pb, wd_, w.data());
    }
    return CONVX_STATUS_INTERNAL_ERROR;
}

// ---------------------------------------------------------------- the oracle
//
// Straight from the definitions, one output element at a time, with explicit bounds tests:
//   fwd:   y[n,k,o]   = sum_{c in group(k), t} w[k,c,t'] * x[n,c, o*s - p + t*d]
//   bwd_d: dx[n,c,i]  = sum_{k in group(c), t, o : o*s - p + t*d == i} w[k,c,t'] * dy[n,k,o]
//   bwd_w: dw[k,c,t'] = sum_{n, o} dy[n,k,o] * x[n,c, o*s - p + t*d]
// where t' = t for cross-correlation and the flipped tap R-1-t for CONVOLUTION mode; then
//   out = alpha * sum + beta * prior (the prior is not read when beta == 0).

std::vector<double> Case::oracle(const Buffer& prior) const {
    const Spec& s = s_;
    const int64_t Cg = s.C / s.G, Kg = s.K / s.G;
    int64_t I[3] = {1, 1, 1}, O[3] = {1, 1, 1}, R[3] = {1, 1, 1}, S[3] = {1, 1, 1}, P[3] = {0, 0, 0}, D[3] = {1, 1, 1};
    for (int j = 0; j < s.nsp; ++j) {
        I[j] = s.in[j];
        O[j] = s.out(j);
        R[j] = s.ker[j];
        S[j] = s.stride[j];
        P[j] = s.pad[j];
        D[j] = s.dil[j];
    }
    const bool flip = s.mode == CONVX_CONVOLUTION;
    auto xAt = [&](int64_t n, int64_t c, const int64_t* i) {
        int64_t idx[5] = {n, c, i[0], i[1], i[2]};
        return x.get(xg.offset(idx));
    };
    auto yAt = [&](int64_t n, int64_t k, const int64_t* o) {
        int64_t idx[5] = {n, k, o[0], o[1], o[2]};
        return y.get(yg.offset(idx));
    };
    auto wOffset = [&](int64_t k, int64_t c, const int64_t* t) {
        int64_t idx[5] = {k, c, 0, 0, 0};
        for (int j = 0; j < 3; ++j) idx[2 + j] = flip ? R[j] - 1 - t[j] : t[j];
        return wg.offset(idx);
    };
    // For the output element at logical index `idx`, the scaled result.
    auto finish = [&](Acc sum, int64_t off) {
        Acc v = static_cast<Acc>(s.alpha) * sum;
        if (s.beta != 0.0) v += static_cast<Acc>(s.beta) * static_cast<Acc>(prior.get(off));
        return static_cast<double>(v);
    };

    const Geometry& og = outputGeometry();
    std::vector<double> want(static_cast<size_t>(og.span), 0.0);
    switch (s.dir) {
        case Dir::Fwd:
            for (int64_t n = 0; n < s.N; ++n)
                for (int64_t k = 0; k < s.K; ++k) {
                    const int64_t g = k / Kg;
                    forEachSpatial(O, [&](const int64_t* o) {
                        Acc sum = 0;
                        for (int64_t cl = 0; cl < Cg; ++cl)
                            forEachSpatial(R, [&](const int64_t* t) {
                                int64_t i[3];
                                for (int j = 0; j < 3; ++j) {
                                    i[j] = o[j] * S[j] - P[j] + t[j] * D[j];
                                    if (i[j] < 0 || i[j] >= I[j]) return;
                                }
                                sum += static_cast<Acc>(w.get(wOffset(k, cl, t))) * static_cast<Acc>(xAt(n, g * Cg + cl, i));
                            });
                        int64_t idx[5] = {n, k, o[0], o[1], o[2]};
                        const int64_t off = yg.offset(idx);
                        want[static_cast<size_t>(off)] = finish(sum, off);
                    });
                }
            break;
        case Dir::BwdData:
            for (int64_t n = 0; n < s.N; ++n)
                for (int64_t c = 0; c < s.C; ++c) {
                    const int64_t g = c / Cg, cl = c % Cg;
                    forEachSpatial(I, [&](const int64_t* i) {
                        Acc sum = 0;
                        for (int64_t kl = 0; kl < Kg; ++kl) {
                            const int64_t k = g * Kg + kl;
                            forEachSpatial(R, [&](const int64_t* t) {
                                int64_t o[3];
                                for (int j = 0; j < 3; ++j) {
                                    const int64_t num = i[j] + P[j] - t[j] * D[j];  // = o * s
                                    if (num < 0 || num % S[j] != 0) return;
                                    o[j] = num / S[j];
                                    if (o[j] >= O[j]) return;
                                }
                                sum += static_cast<Acc>(w.get(wOffset(k, cl, t))) * static_cast<Acc>(yAt(n, k, o));
                            });
                        }
                        int64_t idx[5] = {n, c, i[0], i[1], i[2]};
                        const int64_t off = xg.offset(idx);
                        want[static_cast<size_t>(off)] = finish(sum, off);
                    });
                }
            break;
        case Dir::BwdFilter:
            for (int64_t k = 0; k < s.K; ++k)
                for (int64_t cl = 0; cl < Cg; ++cl) {
                    const int64_t c = (k / Kg) * Cg + cl;
                    forEachSpatial(R, [&](const int64_t* t) {
                        Acc sum = 0;
                        for (int64_t n = 0; n < s.N; ++n)
                            forEachSpatial(O, [&](const int64_t* o) {
                                int64_t i[3];
                                for (int j = 0; j < 3; ++j) {
                                    i[j] = o[j] * S[j] - P[j] + t[j] * D[j];
                                    if (i[j] < 0 || i[j] >= I[j]) return;
                                }
                                sum += static_cast<Acc>(yAt(n, k, o)) * static_cast<Acc>(xAt(n, c, i));
                            });
                        const int64_t off = wOffset(k, cl, t);
                        want[static_cast<size_t>(off)] = finish(sum, off);
                    });
                }
            break;
    }
    return want;
}

namespace {
std::string indexText(const Geometry& g, int64_t off) {
    std::string r = "?";
    forEachIndex(g, [&](const int64_t* idx, int64_t o) {
        if (o != off) return;
        r = "[";
        for (int i = 0; i < g.rank; ++i) r += (i ? "," : "") + std::to_string(idx[i]);
        r += "]";
    });
    return r;
}
}  // namespace

bool Case::verify(const std::vector<double>& want, const Buffer& prior, std::string* detail) const {
    const Geometry& og = outputGeometry();
    const Buffer& got = output();
    std::ostringstream msg;
    msg.precision(10);
    for (int64_t i = 0; i < og.span; ++i)
        if (!og.covered[static_cast<size_t>(i)] && !got.sameBytes(prior, i)) {
            msg << "the gap element at offset " << i << " of the output was written";
            *detail = msg.str();
            return false;
        }
    const bool narrow = s_.dt == CONVX_DATA_HALF || s_.dt == CONVX_DATA_BFLOAT16;
    const testutil::Format16 f16 = s_.dt == CONVX_DATA_HALF ? testutil::kHalf : testutil::kBf16;
    long double diff2 = 0, ref2 = 0;
    double worst = -1;
    int64_t worstOff = -1;
    for (int64_t i = 0; i < og.span; ++i) {
        if (!og.covered[static_cast<size_t>(i)]) continue;
        const double g = got.get(i), wv = want[static_cast<size_t>(i)];
        if (!std::isfinite(g)) {
            msg << "non-finite output " << g << " at " << indexText(og, i) << " (expected " << wv << ")";
            *detail = msg.str();
            return false;
        }
        if (narrow) {
            const uint16_t expect = testutil::encode16(wv, f16);
            const int ulps = testutil::ulpDistance16(got.raw16(i), expect, f16);
            if (ulps > worst) worst = ulps, worstOff = i;
        } else {
            const long double d = static_cast<long double>(g) - wv;
            diff2 += d * d;
            ref2 += static_cast<long double>(wv) * wv;
            if (std::fabs(static_cast<double>(d)) > worst) worst = std::fabs(static_cast<double>(d)), worstOff = i;
        }
    }
    if (narrow) {
        if (worst > 1) {
            msg << "worst error " << worst << " ulps at " << indexText(og, worstOff) << ": got " << got.get(worstOff) << ", expected "
                << want[static_cast<size_t>(worstOff)] << " (rounded: " << testutil::decode16(testutil::encode16(want[static_cast<size_t>(worstOff)], f16), f16)
                << ")";
            *detail = msg.str();
            return false;
        }
        return true;
    }
    const double rel = static_cast<double>(std::sqrt(diff2) / std::max(std::sqrt(ref2), static_cast<long double>(1e-300)));
    const double tol = s_.dt == CONVX_DATA_DOUBLE ? 1e-12 : 1e-6;
    if (!(rel < tol)) {
        msg << "relative L2 error " << rel << " >= " << tol << "; worst element " << indexText(og, worstOff) << ": got "
            << got.get(worstOff) << ", expected " << want[static_cast<size_t>(worstOff)];
        *detail = msg.str();
        return false;
    }
    return true;
}

bool Case::compareWith(const Buffer& other, const Buffer& prior, double tol, std::string* detail) const {
    const Geometry& og = outputGeometry();
    const Buffer& got = output();
    std::ostringstream msg;
    msg.precision(10);
    long double diff2 = 0, ref2 = 0;
    for (int64_t i = 0; i < og.span; ++i) {
        if (!og.covered[static_cast<size_t>(i)]) {
            if (!got.sameBytes(prior, i)) {
                msg << "the gap element at offset " << i << " of the output was written";
                *detail = msg.str();
                return false;
            }
            continue;
        }
        const double g = got.get(i), r = other.get(i);
        if (!std::isfinite(g)) {
            msg << "non-finite output " << g << " at " << indexText(og, i) << " (reference: " << r << ")";
            *detail = msg.str();
            return false;
        }
        if (tol == 0 && !got.sameBytes(other, i)) {
            msg << "not bitwise identical at " << indexText(og, i) << ": " << g << " vs " << r;
            *detail = msg.str();
            return false;
        }
        diff2 += (static_cast<long double>(g) - r) * (static_cast<long double>(g) - r);
        ref2 += static_cast<long double>(r) * r;
    }
    const double rel = static_cast<double>(std::sqrt(diff2) / std::max(std::sqrt(ref2), static_cast<long double>(1e-300)));
    if (tol > 0 && !(rel < tol)) {
        msg << "relative L2 error " << rel << " vs the reference >= " << tol;
        *detail = msg.str();
        return false;
    }
    return true;
}

std::string Case::describe() const {
    std::ostringstream o;
    try {
        o << convx::problemOf(static_cast<convx::Direction>(s_.dir), {xd_, wd_, cd_, yd_}).str();
    } catch (const convx::Error& e) {
        o << "(no problem: " << e.what() << ")";
    }
    o << "\n  alpha " << s_.alpha << " beta " << s_.beta << " threads " << s_.threads << " compute " << dtName(s_.compute)
      << " seed " << s_.seed << " api " << s_.api << " x " << (s_.xGapped ? "gapped" : "packed") << " y "
      << (s_.yGapped ? "gapped" : "packed");
    return o.str();
}

double algoTolerance(convxDataType_t dt) {
    switch (dt) {
        case CONVX_DATA_DOUBLE: return 1e-12;
        case CONVX_DATA_FLOAT: return 1e-5;
        case CONVX_DATA_HALF: return 4e-3;
        case CONVX_DATA_BFLOAT16: return 2e-2;
    }
    return 0;
}

convxStatus_t getAlgos(convxHandle_t h, Case& c, int requested, int* returned, convxAlgoPerf_t* r) {
    switch (c.spec().dir) {
        case Dir::Fwd: return convxGetConvolutionForwardAlgorithm(h, c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc(), requested, returned, r);
        case Dir::BwdData:
            return convxGetConvolutionBackwardDataAlgorithm(h, c.wDesc(), c.yDesc(), c.convDesc(), c.xDesc(), requested, returned, r);
        case Dir::BwdFilter:
            return convxGetConvolutionBackwardFilterAlgorithm(h, c.xDesc(), c.yDesc(), c.convDesc(), c.wDesc(), requested, returned, r);
    }
    return CONVX_STATUS_INTERNAL_ERROR;
}

convxStatus_t findAlgos(convxHandle_t h, Case& c, int requested, int* returned, convxAlgoPerf_t* r, void* ws, size_t bytes) {
    switch (c.spec().dir) {
        case Dir::Fwd:
            return convxFindConvolutionForwardAlgorithm(h, c.xDesc(), c.x.data(), c.wDesc(), c.w.data(), c.convDesc(), c.yDesc(),
                                                         c.y.data(), requested, returned, r, ws, bytes);
        case Dir::BwdData:
            return convxFindConvolutionBackwardDataAlgorithm(h, c.wDesc(), c.w.data(), c.yDesc(), c.y.data(), c.convDesc(), c.xDesc(),
                                                              c.x.data(), requested, returned, r, ws, bytes);
        case Dir::BwdFilter:
            return convxFindConvolutionBackwardFilterAlgorithm(h, c.xDesc(), c.x.data(), c.yDesc(), c.y.data(), c.convDesc(), c.wDesc(),
                                                                c.w.data(), requested, returned, r, ws, bytes);
    }
    return CONVX_STATUS_INTERNAL_ERROR;
}

convxStatus_t workspaceOf(convxHandle_t h, Case& c, convxConvAlgo_t algo, size_t* size) {
    switch (c.spec().dir) {
        case Dir::Fwd: return convxGetConvolutionForwardWorkspaceSize(h, c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc(), algo, size);
        case Dir::BwdData: return convxGetConvolutionBackwardDataWorkspaceSize(h, c.wDesc(), c.yDesc(), c.convDesc(), c.xDesc(), algo, size);
        case Dir::BwdFilter:
            return convxGetConvolutionBackwardFilterWorkspaceSize(h, c.xDesc(), c.yDesc(), c.convDesc(), c.wDesc(), algo, size);
    }
    return CONVX_STATUS_INTERNAL_ERROR;
}

convx::Problem problemOf(const Case& c) {
    return convx::problemOf(static_cast<convx::Direction>(c.spec().dir), {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()});
}

}  // namespace harness
