// GCONV test cases shared by the CPU tests (tests/test_gconv.cpp) and the GPU tests
// (tests/gpu/test_gpu_gconv.cpp): a GCONV call with its data in host memory, random calls over
// every operator slot, geometry and layout, the float64 oracle's answer and the comparison.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "context.h"
#include "gconv.h"
#include "gconv_engine.h"
#include "problem.h"
#include "test_util.h"

namespace gconvtest {

using convx::GCombine;
using convx::GconvArgs;
using convx::GconvOps;
using convx::GconvProblem;
using convx::GMap;
using convx::GReduce;
using convx::GUnary;

inline const double kNaN = std::numeric_limits<double>::quiet_NaN();

inline GconvProblem gprob(const std::string& s, GconvOps ops = {}) {
    GconvProblem gp;
    gp.conv = convx::parseProblem(s);
    gp.ops = ops;
    return gp;
}

inline std::vector<float> randomVec(size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& e : v) e = d(rng);
    return v;
}

// ---------------------------------------------------------------- a GCONV call with its data

inline size_t elemSize(convx::DType t) { return convx::dtypeSize(t); }

// Largest offset + 1 of a strided tensor.
inline int64_t spanOf(const convx::Strides& s, const int64_t* dims, int rank) {
    int64_t sp = 1;
    for (int i = 0; i < rank; ++i) sp += (dims[i] - 1) * s[i];
    return sp;
}

struct Call {
    GconvProblem gp;
    std::vector<unsigned char> x, w, z, y0;  // y0: y before the call (NaN when beta == 0)
    std::vector<float> preS, preB, postS, postB;
    bool nullPreS = false, nullPreB = false, nullPostS = false, nullPostB = false;
    convx::Scale s;
    int threads = 1;

    GconvArgs args(void* y) const {
        GconvArgs a;
        a.x = x.data();
        a.w = w.empty() ? nullptr : w.data();
        a.z = z.empty() ? nullptr : z.data();
        a.y = y;
        if (gp.ops.preAffine) a.preScale = nullPreS ? nullptr : preS.data(), a.preShift = nullPreB ? nullptr : preB.data();
        if (gp.ops.postAffine) a.postScale = nullPostS ? nullptr : postS.data(), a.postShift = nullPostB ? nullptr : postB.data();
        return a;
    }
    double yAt(const std::vector<unsigned char>& y, int64_t i) const { return convx::loadAsDouble(y.data(), gp.conv.dtype, i); }
};

inline void fill(std::vector<unsigned char>& buf, convx::DType t, int64_t n, std::mt19937_64& rng, double lo, double hi) {
    buf.assign(size_t(n) * elemSize(t), 0);
    std::uniform_real_distribution<double> d(lo, hi);
    for (int64_t i = 0; i < n; ++i) convx::storeFromDouble(buf.data(), t, i, d(rng));
}

// Allocates and fills the buffers of c.gp (x, w, z, per-channel vectors, y0).
inline void makeData(Call& c, std::mt19937_64& rng, bool positive) {
    const convx::Problem& p = c.gp.conv;
    const double lo = positive ? 0.5 : -1.0, hi = positive ? 1.5 : 1.0;
    const int rank = 2 + p.nsp;
    const int64_t xd[5] = {p.N, p.C, p.in[0], p.in[1], p.in[2]}, yd[5] = {p.N, p.K, p.out[0], p.out[1], p.out[2]};
    fill(c.x, p.dtype, spanOf(p.xStrides, xd, rank), rng, lo, hi);
    if (c.gp.ops.map != GMap::Pass) fill(c.w, p.dtype, p.wElems(), rng, positive ? 0.5 : -0.5, positive ? 1.0 : 0.5);
    else c.w.clear();
    if (c.gp.ops.combine != GCombine::None) fill(c.z, p.dtype, spanOf(c.gp.zStrides, yd, rank), rng, positive ? 0.5 : -1.0, 1.5);
    else c.z.clear();
    std::uniform_real_distribution<float> ds(0.5f, 1.5f), db(positive ? 0.0f : -0.5f, 0.5f);
    c.preS.resize(size_t(p.C)), c.preB.resize(size_t(p.C)), c.postS.resize(size_t(p.K)), c.postB.resize(size_t(p.K));
    for (auto& v : c.preS) v = ds(rng);
    for (auto& v : c.preB) v = db(rng);
    for (auto& v : c.postS) v = ds(rng);
    for (auto& v : c.postB) v = db(rng);
    const int64_t ySpan = spanOf(p.yStrides, yd, rank);
    if (c.s.beta == 0.0) {
        c.y0.assign(size_t(ySpan) * elemSize(p.dtype), 0);
        for (int64_t i = 0; i < ySpan; ++i) convx::storeFromDouble(c.y0.data(), p.dtype, i, kNaN);
    } else {
        fill(c.y0, p.dtype, ySpan, rng, -1.0, 1.0);
    }
}

inline std::vector<unsigned char> runOracle(const Call& c) {
    std::vector<unsigned char> y = c.y0;
    convx::gconvReference(c.gp, c.args(y.data()), c.s);
    return y;
}

inline std::vector<unsigned char> runEngine(const Call& c, int threads) {
    std::vector<unsigned char> y = c.y0;
    testutil::Handle h(threads);
    convx::ExecContext ctx{h.h, nullptr, 0};
    convx::gconvForward(ctx, c.gp, c.args(y.data()), c.s);
    return y;
}

inline double tolOf(convx::DType t) {
    switch (t) {
        case convx::DType::F64: return 1e-10;
        case convx::DType::F32: return 2e-5;
        case convx::DType::F16: return 2e-3;
        case convx::DType::BF16: return 1.6e-2;
    }
    return 0;
}

// Every element of y (inside the strided span: gaps must keep y0) against the oracle.
inline void compareWithOracle(const Call& c, const std::vector<unsigned char>& got, const std::vector<unsigned char>& want,
                              double tolScale = 1.0) {
    REQUIRE(got.size() == want.size());
    const double tol = tolOf(c.gp.conv.dtype) * tolScale;
    const int64_t n = int64_t(got.size() / elemSize(c.gp.conv.dtype));
    int64_t bad = 0, firstBad = -1;
    for (int64_t i = 0; i < n; ++i) {
        const double a = c.yAt(got, i), b = c.yAt(want, i);
        bool ok;
        if (std::isnan(b)) ok = std::isnan(a);
        else if (std::isinf(b)) ok = a == b || std::fabs(a) > 1e30;
        else ok = std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b)) || (std::isinf(a) && std::fabs(b) > 1e30);
        if (!ok && bad++ == 0) firstBad = i;
    }
    if (bad) {
        INFO(c.gp.str() << " alpha " << c.s.alpha << " beta " << c.s.beta << " path " << convx::cpuGconvPath(c.gp));
        INFO("first bad element " << firstBad << ": got " << c.yAt(got, firstBad) << " want " << c.yAt(want, firstBad));
        CHECK(bad == 0);
    }
}

// A random GCONV: geometry in 1-3 spatial dims and both layouts (channel slices of wider x
// and y sometimes), random operator slots, z broadcast in random dims.
inline Call randomCall(std::mt19937_64& rng, convx::DType dt) {
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (;;) {
        Call c;
        GconvOps& op = c.gp.ops;
        op.map = GMap(uni(0, 9) < 5 ? 0 : uni(0, 9) < 5 ? 2 : 1);
        op.reduce = GReduce(uni(0, 9) < 4 ? 0 : uni(1, 3));
        op.preAffine = uni(0, 3) == 0;
        op.pre = uni(0, 2) == 0 ? GUnary(uni(0, 10)) : GUnary::Identity;
        op.preParam = op.pre == GUnary::Pow ? -0.75f : 0.2f;
        op.padValue = uni(0, 3) == 0 ? 0.25f : 0.f;
        op.postAffine = uni(0, 2) == 0;
        op.combine = uni(0, 2) == 0 ? GCombine(uni(1, 2)) : GCombine::None;
        op.post = uni(0, 1) == 0 ? GUnary(uni(0, 10)) : GUnary::Identity;
        op.postParam = op.post == GUnary::Pow ? 0.5f : 0.1f;
        convx::Problem& p = c.gp.conv;
        p.dtype = dt;
        p.accType = dt == convx::DType::F64 ? convx::DType::F64 : convx::DType::F32;
        p.mode = uni(0, 3) == 0 ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
        p.nsp = uni(0, 5) == 0 ? 1 : uni(0, 5) == 0 ? 3 : 2;
        p.N = uni(1, 3);
        const bool pool = op.map == GMap::Pass;
        if (pool) {
            p.G = p.C = uni(1, 13);
            p.K = p.C * (uni(0, 5) == 0 ? 2 : 1);
        } else {
            p.G = uni(0, 2) == 0 ? uni(1, 4) : 1;
            p.C = p.G * uni(1, 6);
            p.K = p.G * (uni(0, 1) ? uni(1, 3) : uni(4, 12));
        }
        for (int i = 0; i < p.nsp; ++i) {
            const int lim = p.nsp == 3 ? 5 : 11;
            p.in[i] = uni(1, lim);
            p.ker[i] = uni(1, 4);
            p.stride[i] = uni(1, 3);
            p.dil[i] = uni(0, 4) == 0 ? 2 : 1;
            p.pad[i] = uni(0, 5) == 0 ? uni(0, p.ker[i] + 2) : uni(0, p.ker[i] / 2);
            p.out[i] = convx::convOutputSize(p.in[i], p.ker[i], p.stride[i], p.pad[i], p.dil[i]);
        }
        bool ok = true;
        for (int i = 0; i < p.nsp; ++i) ok = ok && p.out[i] >= 1;
        if (!ok) continue;
        p.xLayout = p.yLayout = uni(0, 1) ? convx::Layout::NHWC : convx::Layout::NCHW;
        p.wLayout = uni(0, 1) ? convx::Layout::NHWC : convx::Layout::NCHW;
        // x and y: sometimes a channel slice of a wider tensor (concat addressing).
        const int64_t xc = p.C + (uni(0, 3) == 0 ? uni(1, 3) : 0), yc = p.K + (uni(0, 3) == 0 ? uni(1, 3) : 0);
        p.xStrides = convx::packedStrides(p.xLayout, p.nsp, p.N, xc, p.in);
        p.yStrides = convx::packedStrides(p.yLayout, p.nsp, p.N, yc, p.out);
        // z: packed like y, or broadcast (stride 0) over the batch, the channels or the spatial dims.
        c.gp.zStrides = convx::packedStrides(p.yLayout, p.nsp, p.N, p.K, p.out);
        switch (uni(0, 3)) {
            case 1: c.gp.zStrides[0] = 0; break;
            case 2: c.gp.zStrides[1] = 0; break;
            case 3:
                for (int i = 0; i < p.nsp; ++i) c.gp.zStrides[2 + i] = 0;
                break;
            default: break;
        }
        if (op.combine == GCombine::None) c.gp.zStrides = convx::Strides{};
        if (p.Cg() * p.taps() > 64 && (op.post == GUnary::Exp || op.post == GUnary::Sigmoid)) continue;
        c.nullPreS = uni(0, 4) == 0, c.nullPreB = uni(0, 4) == 0, c.nullPostS = uni(0, 4) == 0, c.nullPostB = uni(0, 4) == 0;
        const double alphas[] = {1.0, 0.5, -2.0}, betas[] = {0.0, 0.0, 1.0, 0.25};
        c.s.alpha = alphas[uni(0, 2)];
        c.s.beta = betas[uni(0, 3)];
        c.threads = uni(1, 3);
        convx::validateGconv(c.gp);
        // Operators defined only for positive arguments get positive data (and pads).
        auto needsPositive = [](GUnary u) { return u == GUnary::Pow || u == GUnary::Sqrt || u == GUnary::Reciprocal; };
        const bool positive = needsPositive(op.pre) || needsPositive(op.post);
        if (positive && op.combine == GCombine::Mul && op.post != GUnary::Identity) op.combine = GCombine::Add;
        makeData(c, rng, positive);
        return c;
    }
}


// Convolutions with >= 32 output channels per group (the CUDA engine's tiled kernel; the CPU's
// cf/cl tiles with long channel loops), each run under every entry of wideOps().
inline const char* const kWideGeometries[] = {
    "--tag=nchw g1mb2ic40ih9iw9oc70oh9ow9kh3kw3sh1sw1ph1pw1dh0dw0",     // a channel tail, rows of 9
    "--tag=nhwc g1mb2ic40ih9iw9oc70oh9ow9kh3kw3sh1sw1ph1pw1dh0dw0",     // lanes over channels
    "--tag=nchw g2mb1ic300ih6iw7oc96oh2ow4kh3kw3sh2sw2ph1pw1dh1dw0",    // groups, several stages, stride, dilation
    "--tag=nhwc g1mb1ic8ih12iw12oc33oh12ow12kh7kw7sh1sw1ph3pw3dh0dw0",  // 49 taps: one channel per stage
    "--tag=nchw g1mb3ic16iw50oc64ow27kw5sw2pw4dw0",                     // 1-D, padding larger than half the window
    "--tag=nhwc g1mb1ic8id4ih5iw5oc32od4oh5ow5kd3kh3kw3sd1sh1sw1pd1ph1pw1dd0dh0dw0",  // 3-D
    "--tag=nchw g1mb1ic64ih2iw2oc128oh5ow5kh2kw2sh1sw1ph2pw2dh0dw0",    // windows entirely in the padding
};

inline std::vector<GconvOps> wideOps() {
    std::vector<GconvOps> v(7);
    v[1].postAffine = true, v[1].combine = GCombine::Add, v[1].post = GUnary::Relu;
    v[2].map = GMap::Add, v[2].reduce = GReduce::Max;
    v[3].reduce = GReduce::Mean, v[3].preAffine = true, v[3].pre = GUnary::Tanh;
    v[4].padValue = 0.5f, v[4].combine = GCombine::Mul;
    v[5].reduce = GReduce::Min, v[5].post = GUnary::Sigmoid;
    v[6].map = GMap::Add, v[6].padValue = -0.25f;
    return v;
}

// One wide call in data type dt (a spelling of --dt); `salt` varies alpha/beta.
inline Call wideCall(const char* geo, const GconvOps& ops, const char* dt, int salt, std::mt19937_64& rng) {
    Call c;
    c.gp = gprob(std::string("--dir=fwd --dt=") + dt + " " + geo, ops);
    if (ops.combine != GCombine::None)
        c.gp.zStrides = convx::packedStrides(c.gp.conv.yLayout, c.gp.conv.nsp, c.gp.conv.N, c.gp.conv.K, c.gp.conv.out);
    c.s.alpha = 0.5, c.s.beta = (salt % 2) ? 0.0 : 1.0;
    makeData(c, rng, false);
    return c;
}

}  // namespace gconvtest
