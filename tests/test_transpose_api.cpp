// The transposed-convolution entry points (convxConvolutionTransposeForward, its workspace and
// output-size queries): the output size against PyTorch's formula, the call against
// BackwardData (bit for bit: it is that call) and against a naive ConvTranspose written from its
// scatter definition, the log lines, and bad input named in ConvTranspose terms.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "conv_harness.h"
#include "execute.h"
#include "registry.h"

using testutil::ConvDesc;
using testutil::EnvGuard;
using testutil::FilterDesc;
using testutil::Handle;
using testutil::TensorDesc;

namespace {

// ---------------------------------------------------------------- a ConvTranspose in its own terms

// in_channels Cin, out_channels Cout, as PyTorch names them; x is N x Cin x in..., the weight
// Cin x Cout/G x ker..., y N x Cout x out...
struct TSpec {
    int nsp = 2;
    int N = 1, Cin = 1, Cout = 1, G = 1;
    int in[3] = {1, 1, 1}, ker[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1}, op[3] = {0, 0, 0};
    convxDataType_t dt = CONVX_DATA_FLOAT;
    convxTensorFormat_t xFmt = CONVX_TENSOR_NCHW, yFmt = CONVX_TENSOR_NCHW, wFmt = CONVX_TENSOR_NCHW;
    convxConvolutionMode_t mode = CONVX_CROSS_CORRELATION;
    double alpha = 1.0, beta = 0.0;

    // PyTorch's ConvTranspose output size (may be <= 0).
    int64_t base(int i) const { return int64_t(in[i] - 1) * stride[i] - 2 * int64_t(pad[i]) + int64_t(ker[i] - 1) * dil[i] + 1; }
    int64_t out(int i) const { return base(i) + op[i]; }
    std::string text() const {
        std::string t = "nsp " + std::to_string(nsp) + " N" + std::to_string(N) + " Cin" + std::to_string(Cin) + " Cout" +
                        std::to_string(Cout) + " G" + std::to_string(G);
        for (int i = 0; i < nsp; ++i)
            t += " | in" + std::to_string(in[i]) + " k" + std::to_string(ker[i]) + " s" + std::to_string(stride[i]) + " p" +
                 std::to_string(pad[i]) + " d" + std::to_string(dil[i]) + " op" + std::to_string(op[i]);
        t += std::string(" fmt x/w/y ") + (xFmt ? "nhwc" : "nchw") + "/" + (wFmt ? "nhwc" : "nchw") + "/" + (yFmt ? "nhwc" : "nchw");
        t += std::string(mode == CONVX_CONVOLUTION ? " conv" : " xcorr") + " alpha " + std::to_string(alpha) + " beta " +
             std::to_string(beta);
        return t;
    }
};

// Random small problems with output_padding in 0 .. stride - 1 and positive output sizes.
TSpec randomTSpec(std::mt19937_64& rng, convxDataType_t dt) {
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    TSpec s;
    s.dt = dt;
    s.nsp = uni(1, 3);
    s.G = uni(0, 2) ? 1 : uni(2, 3);
    s.Cin = s.G * uni(1, s.nsp == 3 ? 2 : 3);
    s.Cout = s.G * uni(1, s.nsp == 3 ? 2 : 3);
    s.N = uni(1, 2);
    for (int i = 0; i < s.nsp; ++i) {
        for (;;) {
            s.in[i] = uni(1, s.nsp == 3 ? 4 : s.nsp == 2 ? 6 : 9);
            s.ker[i] = uni(1, s.nsp == 3 ? 3 : 4);
            s.stride[i] = uni(1, 3);
            s.dil[i] = uni(1, 3);
            s.pad[i] = uni(0, 3);
            s.op[i] = uni(0, s.stride[i] - 1);
            if (s.out(i) >= 1) break;
        }
    }
    const convxTensorFormat_t f[2] = {CONVX_TENSOR_NCHW, CONVX_TENSOR_NHWC};
    s.xFmt = f[uni(0, 1)];
    s.yFmt = f[uni(0, 1)];
    s.wFmt = f[uni(0, 1)];
    s.mode = uni(0, 3) ? CONVX_CROSS_CORRELATION : CONVX_CONVOLUTION;
    const double alphas[3] = {1.0, 0.5, -1.25}, betas[3] = {0.0, 1.0, 0.75};
    s.alpha = alphas[uni(0, 2)];
    s.beta = betas[uni(0, 2)];
    return s;
}

// Descriptors of a TSpec, set through the public API.
struct TCall {
    TensorDesc x, y;
    FilterDesc w;
    ConvDesc conv;
    int xd[5] = {}, yd[5] = {}, wd[5] = {};
    int xs[5] = {}, ys[5] = {};

    explicit TCall(const TSpec& s) {
        const int rank = s.nsp + 2;
        xd[0] = s.N;
        xd[1] = s.Cin;
        wd[0] = s.Cin;
        wd[1] = s.Cout / s.G;
        for (int i = 0; i < s.nsp; ++i) {
            xd[2 + i] = s.in[i];
            wd[2 + i] = s.ker[i];
        }
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x, s.xFmt, s.dt, rank, xd));
        REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(w, s.dt, s.wFmt, rank, wd));
        const convxDataType_t ct = s.dt == CONVX_DATA_DOUBLE ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
        REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(conv, s.nsp, s.pad, s.stride, s.dil, s.mode, ct));
        REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(conv, s.G));
        REQUIRE_CONVX_OK(convxGetConvolutionTransposeNdOutputDim(conv, x, w, s.op, rank, yd));
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(y, s.yFmt, s.dt, rank, yd));
        int nb = 0;
        convxDataType_t t;
        REQUIRE_CONVX_OK(convxGetTensorNdDescriptor(x, 5, &t, &nb, xd, xs));
        REQUIRE_CONVX_OK(convxGetTensorNdDescriptor(y, 5, &t, &nb, yd, ys));
    }
};

int64_t product(const int* d, int n) {
    int64_t p = 1;
    for (int i = 0; i < n; ++i) p *= d[i];
    return p;
}

// The naive ConvTranspose, from its scatter definition: every input element x[n, ci, o] adds
// x * w[ci, co, t] to y[n, g*Cout/G + co, o*stride - pad + t*dilation] (t mirrored in
// CONVOLUTION mode), then y = alpha * sum + beta * prior. In double; packed tensors.
std::vector<double> naiveConvTranspose(const TSpec& s, const TCall& c, const std::vector<double>& x, const std::vector<double>& w,
                                       const std::vector<double>& prior) {
    const int rank = s.nsp + 2;
    std::vector<double> acc(static_cast<size_t>(product(c.yd, rank)), 0.0);
    const int cinG = s.Cin / s.G, coutG = s.Cout / s.G;
    int sp[3] = {1, 1, 1}, kk[3] = {1, 1, 1};
    for (int i = 0; i < s.nsp; ++i) {
        sp[i] = s.in[i];
        kk[i] = s.ker[i];
    }
    // Filter offset of (ci, co, taps) in its format: K x Cg x k... or K x k... x Cg.
    auto wOff = [&](int ci, int co, const int* t) {
        int64_t tap = 0;
        for (int i = 0; i < s.nsp; ++i) tap = tap * s.ker[i] + t[i];
        const int64_t taps = product(s.ker, s.nsp);
        return s.wFmt == CONVX_TENSOR_NCHW ? (int64_t(ci) * coutG + co) * taps + tap : (int64_t(ci) * taps + tap) * coutG + co;
    };
    for (int n = 0; n < s.N; ++n)
        for (int ci = 0; ci < s.Cin; ++ci)
            for (int o0 = 0; o0 < sp[0]; ++o0)
                for (int o1 = 0; o1 < sp[1]; ++o1)
                    for (int o2 = 0; o2 < sp[2]; ++o2) {
                        const int o[3] = {o0, o1, o2};
                        int64_t xo = int64_t(n) * c.xs[0] + int64_t(ci) * c.xs[1];
                        for (int i = 0; i < s.nsp; ++i) xo += int64_t(o[i]) * c.xs[2 + i];
                        const double xv = x[static_cast<size_t>(xo)];
                        const int g = ci / cinG;
                        for (int co = 0; co < coutG; ++co)
                            for (int t0 = 0; t0 < kk[0]; ++t0)
                                for (int t1 = 0; t1 < kk[1]; ++t1)
                                    for (int t2 = 0; t2 < kk[2]; ++t2) {
                                        const int t[3] = {t0, t1, t2};
                                        int stored[3] = {0, 0, 0};
                                        int64_t yo = int64_t(n) * c.ys[0] + int64_t(g * coutG + co) * c.ys[1];
                                        bool inside = true;
                                        for (int i = 0; i < s.nsp; ++i) {
                                            stored[i] = s.mode == CONVX_CONVOLUTION ? s.ker[i] - 1 - t[i] : t[i];
                                            const int pos = o[i] * s.stride[i] - s.pad[i] + t[i] * s.dil[i];
                                            if (pos < 0 || pos >= c.yd[2 + i]) inside = false;
                                            yo += int64_t(pos) * c.ys[2 + i];
                                        }
                                        if (!inside) continue;
                                        acc[static_cast<size_t>(yo)] += xv * w[static_cast<size_t>(wOff(ci, co, stored))];
                                    }
                    }
    for (size_t i = 0; i < acc.size(); ++i) acc[i] = s.alpha * acc[i] + (s.beta != 0.0 ? s.beta * prior[i] : 0.0);
    return acc;
}

// Log file for CONVX_LOG: a unique path, removed at the end.
class TempFile {
public:
    TempFile() {
        const char* dir = std::getenv("TMPDIR");
        std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/convx-transpose-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        const int fd = mkstemp(buf.data());
        REQUIRE(fd >= 0);
        close(fd);
        path_ = buf.data();
        std::remove(path_.c_str());
    }
    ~TempFile() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }
    std::vector<std::string> lines() const {
        std::vector<std::string> v;
        std::ifstream f(path_);
        for (std::string l; std::getline(f, l);) v.push_back(l);
        return v;
    }

private:
    std::string path_;
};

// Alpha and beta in the type the call reads.
struct Scaling {
    float af, bf;
    double ad, bd;
    bool dbl;
    Scaling(double a, double b, convxDataType_t dt) : af(float(a)), bf(float(b)), ad(a), bd(b), dbl(dt == CONVX_DATA_DOUBLE) {}
    const void* alpha() const { return dbl ? static_cast<const void*>(&ad) : &af; }
    const void* beta() const { return dbl ? static_cast<const void*>(&bd) : &bf; }
};

}  // namespace

// ---------------------------------------------------------------- output size

TEST_CASE("transpose api: the output-size queries follow PyTorch's formula and rule", "[transpose-api]") {
    std::mt19937_64 rng(20261201);
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const int cases = testutil::scaled(400, 50);
    int ok = 0, oob = 0, unsupported = 0, mismatch = 0;
    for (int it = 0; it < cases; ++it) {
        TSpec s;
        s.nsp = uni(1, 3);
        s.G = uni(1, 3);
        s.Cin = s.G * uni(1, 3);
        s.Cout = s.G * uni(1, 3);
        s.N = uni(1, 4);
        for (int i = 0; i < s.nsp; ++i) {
            s.in[i] = uni(1, 40);
            s.ker[i] = uni(1, 7);
            s.stride[i] = uni(1, 5);
            s.dil[i] = uni(1, 5);
            s.pad[i] = uni(0, 12);
            // mostly valid output paddings, also PyTorch-only ones and invalid ones
            const int r = uni(0, 9);
            const int limit = std::max(s.stride[i], s.dil[i]);
            s.op[i] = r < 7 ? uni(0, s.stride[i] - 1) : r < 8 ? uni(0, limit - 1) : r < 9 ? -uni(1, 3) : limit + uni(0, 2);
        }
        // What PyTorch's rule and the exact-BackwardData range say, dim by dim, first failure wins.
        convxStatus_t want = CONVX_STATUS_SUCCESS;
        std::string needle;
        for (int i = 0; i < s.nsp && want == CONVX_STATUS_SUCCESS; ++i) {
            const int limit = std::max(s.stride[i], s.dil[i]);
            if (s.op[i] < 0 || s.op[i] >= limit) {
                want = CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND;
                needle = "output_padding[" + std::to_string(i) + "] = " + std::to_string(s.op[i]);
            } else if (s.op[i] >= s.stride[i]) {
                want = CONVX_STATUS_NOT_SUPPORTED_SHAPE;
                needle = "output_padding[" + std::to_string(i) + "] = " + std::to_string(s.op[i]) + " is not below stride";
            } else if (s.out(i) < 1) {
                want = CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH;
                needle = "spatial dim " + std::to_string(i) + ": output size " + std::to_string(s.out(i)) + " < 1";
            }
        }
        INFO(s.text());
        TensorDesc x;
        FilterDesc w;
        ConvDesc conv;
        int xd[5] = {s.N, s.Cin}, wd[5] = {s.Cin, s.Cout / s.G};
        for (int i = 0; i < s.nsp; ++i) {
            xd[2 + i] = s.in[i];
            wd[2 + i] = s.ker[i];
        }
        const int rank = s.nsp + 2;
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x, uni(0, 1) ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, rank, xd));
        REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, rank, wd));
        REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(conv, s.nsp, s.pad, s.stride, s.dil, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(conv, s.G));
        int od[6] = {-7, -7, -7, -7, -7, -7};
        if (want != CONVX_STATUS_SUCCESS) {
            CHECK_CONVX_FAILS(convxGetConvolutionTransposeNdOutputDim(conv, x, w, s.op, rank, od), want, needle);
            if (s.nsp == 2) {
                int n, c, h, ww;
                CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(conv, x, w, s.op[0], s.op[1], &n, &c, &h, &ww), want, needle);
            }
            ++(want == CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND ? oob : want == CONVX_STATUS_NOT_SUPPORTED_SHAPE ? unsupported : mismatch);
            continue;
        }
        ++ok;
        REQUIRE_CONVX_OK(convxGetConvolutionTransposeNdOutputDim(conv, x, w, s.op, rank, od));
        CHECK(od[0] == s.N);
        CHECK(od[1] == s.Cout);
        for (int i = 0; i < s.nsp; ++i) CHECK(od[2 + i] == s.out(i));
        CHECK(od[rank] == -7);  // nothing past nb_dims
        if (s.nsp == 2) {
            int n = 0, c = 0, h = 0, ww = 0;
            REQUIRE_CONVX_OK(convxGetConvolutionTranspose2dOutputDim(conv, x, w, s.op[0], s.op[1], &n, &c, &h, &ww));
            CHECK((n == od[0] && c == od[1] && h == od[2] && ww == od[3]));
        }
        // The defining property: the convolution maps y back onto x (the forward query of y by
        // the same weight, as a K = Cin filter, gives x's dims).
        TensorDesc y;
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, rank, od));
        int back[5] = {};
        REQUIRE_CONVX_OK(convxGetConvolutionNdForwardOutputDim(conv, y, w, rank, back));
        for (int i = 0; i < rank; ++i) CHECK(back[i] == xd[i]);
        // NULL output_padding means zeros
        TSpec z = s;
        z.op[0] = z.op[1] = z.op[2] = 0;
        if (z.out(0) >= 1 && z.out(1) >= 1 && z.out(2) >= 1) {
            REQUIRE_CONVX_OK(convxGetConvolutionTransposeNdOutputDim(conv, x, w, nullptr, rank, od));
            for (int i = 0; i < s.nsp; ++i) CHECK(od[2 + i] == z.out(i));
        }
    }
    INFO("valid " << ok << ", out of bound " << oob << ", PyTorch-only " << unsupported << ", non-positive " << mismatch);
    CHECK(ok > cases / 4);
    CHECK(oob > 0);
    CHECK(unsupported > 0);
    CHECK(mismatch > 0);
}

// ---------------------------------------------------------------- exactly BackwardData

TEST_CASE("transpose api: ConvTransposeForward is BackwardData bit for bit", "[transpose-api]") {
    std::mt19937_64 rng(777);
    Handle h;
    const convxDataType_t types[4] = {CONVX_DATA_FLOAT, CONVX_DATA_DOUBLE, CONVX_DATA_HALF, CONVX_DATA_BFLOAT16};
    const int cases = testutil::scaled(60, 8);
    int compared = 0;
    for (int it = 0; it < cases; ++it) {
        const convxDataType_t dt = types[it % 4];
        harness::Case c(harness::randomSpec(rng, harness::Dir::BwdData, dt));
        const harness::Spec& s = c.spec();
        INFO(c.describe());
        REQUIRE_CONVX_OK(convxSetNumThreads(h, s.threads));
        c.fill();
        const harness::Buffer prior = c.x;
        const Scaling sc(s.alpha, s.beta, dt);
        // AUTO, then every CPU BackwardData algorithm by id (applicable or not: same status).
        std::vector<convxConvAlgo_t> algos = {CONVX_ALGO_AUTO};
        for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, convx::Direction::BackwardData)) algos.push_back(a->id());
        for (convxConvAlgo_t algo : algos) {
            INFO("algo " << convxGetAlgorithmName(algo));
            size_t wsBwd = 0, wsT = 0;
            const convxStatus_t s1 = convxGetConvolutionBackwardDataWorkspaceSize(h, c.wDesc(), c.yDesc(), c.convDesc(), c.xDesc(), algo, &wsBwd);
            const convxStatus_t s2 =
                convxGetConvolutionTransposeForwardWorkspaceSize(h, c.yDesc(), c.wDesc(), c.convDesc(), c.xDesc(), algo, &wsT);
            REQUIRE(s1 == s2);
            if (s1 != CONVX_STATUS_SUCCESS) continue;
            CHECK(wsBwd == wsT);
            std::vector<uint64_t> ws(wsBwd / 8 + 1);
            c.x = prior;
            const convxStatus_t r1 = convxConvolutionBackwardData(h, sc.alpha(), c.wDesc(), c.w.data(), c.yDesc(), c.y.data(), c.convDesc(),
                                                                  algo, ws.data(), wsBwd, sc.beta(), c.xDesc(), c.x.data());
            const harness::Buffer viaBwd = c.x;
            c.x = prior;
            const convxStatus_t r2 = convxConvolutionTransposeForward(h, sc.alpha(), c.yDesc(), c.y.data(), c.wDesc(), c.w.data(), c.convDesc(),
                                                                      algo, ws.data(), wsT, sc.beta(), c.xDesc(), c.x.data());
            REQUIRE(r1 == CONVX_STATUS_SUCCESS);
            REQUIRE(r2 == CONVX_STATUS_SUCCESS);
            // every byte of the span, gaps included
            CHECK(c.x.store == viaBwd.store);
            ++compared;
        }
    }
    CHECK(compared >= cases);
}

// ---------------------------------------------------------------- against the definition

TEST_CASE("transpose api: ConvTransposeForward equals a naive ConvTranspose from PyTorch's definition", "[transpose-api]") {
    std::mt19937_64 rng(4242);
    Handle h(1);
    const int cases = testutil::scaled(80, 10);
    std::uniform_int_distribution<int> val(-8, 8);
    for (int it = 0; it < cases; ++it) {
        const convxDataType_t dt = it % 3 == 2 ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
        const TSpec s = randomTSpec(rng, dt);
        INFO(s.text());
        TCall c(s);
        const int rank = s.nsp + 2;
        for (int i = 0; i < s.nsp; ++i) REQUIRE(c.yd[2 + i] == s.out(i));
        const int64_t nx = product(c.xd, rank), ny = product(c.yd, rank), nw = product(c.wd, rank);
        // values k/8: exact in float, so the only rounding is the final one
        std::vector<double> x(static_cast<size_t>(nx)), w(static_cast<size_t>(nw)), prior(static_cast<size_t>(ny));
        for (double& v : x) v = val(rng) / 8.0;
        for (double& v : w) v = val(rng) / 8.0;
        for (double& v : prior) v = val(rng) / 8.0;
        const std::vector<double> want = naiveConvTranspose(s, c, x, w, prior);
        const Scaling sc(s.alpha, s.beta, dt);
        std::vector<double> got(static_cast<size_t>(ny));
        if (dt == CONVX_DATA_DOUBLE) {
            std::vector<double> yb = prior;
            if (s.beta == 0.0) std::fill(yb.begin(), yb.end(), std::nan(""));
            REQUIRE_CONVX_OK(convxConvolutionTransposeForward(h, sc.alpha(), c.x, x.data(), c.w, w.data(), c.conv, CONVX_ALGO_AUTO, nullptr, 0,
                                                              sc.beta(), c.y, yb.data()));
            got = yb;
        } else {
            std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), yb(prior.begin(), prior.end());
            if (s.beta == 0.0) std::fill(yb.begin(), yb.end(), std::nanf(""));
            size_t need = 0;
            REQUIRE_CONVX_OK(convxGetConvolutionTransposeForwardWorkspaceSize(h, c.x, c.w, c.conv, c.y, CONVX_ALGO_AUTO, &need));
            std::vector<uint64_t> ws(need / 8 + 1);
            REQUIRE_CONVX_OK(convxConvolutionTransposeForward(h, sc.alpha(), c.x, xf.data(), c.w, wf.data(), c.conv, CONVX_ALGO_AUTO, ws.data(),
                                                              need, sc.beta(), c.y, yb.data()));
            got.assign(yb.begin(), yb.end());
        }
        double err = 0, ref = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            REQUIRE(std::isfinite(got[i]));
            err += (got[i] - want[i]) * (got[i] - want[i]);
            ref += want[i] * want[i];
        }
        const double tol = dt == CONVX_DATA_DOUBLE ? 1e-24 : 1e-12;  // squared relative L2: 1e-12 / 1e-6
        CHECK(err <= tol * std::max(ref, 1e-30));
    }
}

TEST_CASE("transpose api: a hand-checked 1-D ConvTranspose with output_padding", "[transpose-api]") {
    // x = [1, 2, 3] (N = 1, Cin = 1), w = [1, 10] (Cout = 1), stride 2, pad 0, output_padding 1:
    // out = (3 - 1)*2 + (2 - 1) + 1 + 1 = 7; scatter y[2o + t] += x[o] w[t]:
    // y = [1, 10, 2, 20, 3, 30, 0] (the last element is output_padding's, reached by no input).
    Handle h;
    TensorDesc x, y;
    FilterDesc w;
    ConvDesc conv;
    const int xd[3] = {1, 1, 3}, wd[3] = {1, 1, 2}, pad[1] = {0}, stride[1] = {2}, dil[1] = {1}, op[1] = {1};
    REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, xd));
    REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 3, wd));
    REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(conv, 1, pad, stride, dil, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    int yd[3] = {};
    REQUIRE_CONVX_OK(convxGetConvolutionTransposeNdOutputDim(conv, x, w, op, 3, yd));
    CHECK((yd[0] == 1 && yd[1] == 1 && yd[2] == 7));
    REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, yd));
    const float xv[3] = {1, 2, 3}, wv[2] = {1, 10}, alpha = 1, beta = 0;
    float yv[7];
    std::fill(yv, yv + 7, std::nanf(""));
    REQUIRE_CONVX_OK(convxConvolutionTransposeForward(h, &alpha, x, xv, w, wv, conv, CONVX_ALGO_AUTO, nullptr, 0, &beta, y, yv));
    const float want[7] = {1, 10, 2, 20, 3, 30, 0};
    for (int i = 0; i < 7; ++i) CHECK(yv[i] == want[i]);
}

TEST_CASE("transpose api: the docs/api.md example's sizes", "[transpose-api]") {
    // nn.ConvTranspose2d(64, 32, kernel_size=4, stride=2, padding=1) on 8 x 64 x 16 x 16
    TensorDesc x;
    FilterDesc w;
    ConvDesc conv;
    REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 8, 64, 16, 16));
    REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 64, 32, 4, 4));
    REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(conv, 1, 1, 2, 2, 1, 1, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    int n = 0, c = 0, oh = 0, ow = 0;
    REQUIRE_CONVX_OK(convxGetConvolutionTranspose2dOutputDim(conv, x, w, 0, 0, &n, &c, &oh, &ow));
    CHECK((n == 8 && c == 32 && oh == 32 && ow == 32));
    REQUIRE_CONVX_OK(convxGetConvolutionTranspose2dOutputDim(conv, x, w, 1, 1, &n, &c, &oh, &ow));
    CHECK((oh == 33 && ow == 33));
}

// ---------------------------------------------------------------- logging

TEST_CASE("transpose api: CONVX_LOG and CONVX_LOG_CMD log the BackwardData problem", "[transpose-api][log]") {
    std::mt19937_64 rng(99);
    Handle h;
    harness::Case c(harness::randomSpec(rng, harness::Dir::BwdData, CONVX_DATA_FLOAT));
    c.fill();
    const Scaling sc(c.spec().alpha, c.spec().beta, CONVX_DATA_FLOAT);
    const harness::Buffer prior = c.x;
    auto logOf = [&](bool transpose) {
        TempFile log;
        EnvGuard l("CONVX_LOG", log.path().c_str());
        EnvGuard cmd("CONVX_LOG_CMD", "1");
        EnvGuard algo("CONVX_ALGO", nullptr);
        c.x = prior;
        if (transpose)
            REQUIRE_CONVX_OK(convxConvolutionTransposeForward(h, sc.alpha(), c.yDesc(), c.y.data(), c.wDesc(), c.w.data(), c.convDesc(),
                                                              CONVX_ALGO_AUTO, nullptr, 0, sc.beta(), c.xDesc(), c.x.data()));
        else
            REQUIRE_CONVX_OK(convxConvolutionBackwardData(h, sc.alpha(), c.wDesc(), c.w.data(), c.yDesc(), c.y.data(), c.convDesc(),
                                                          CONVX_ALGO_AUTO, nullptr, 0, sc.beta(), c.xDesc(), c.x.data()));
        return log.lines();
    };
    const std::vector<std::string> bwd = logOf(false), tr = logOf(true);
    const std::string problem = convx::problemOf(convx::Direction::BackwardData, {c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc()}).str();
    INFO(problem);
    REQUIRE(!tr.empty());
    CHECK(tr == bwd);
    bool sawCommand = false;
    for (const std::string& line : tr) {
        if (line.find("rejected:") != std::string::npos) continue;  // the algorithms AUTO passed over, with reasons
        CHECK_THAT(line, Catch::Contains("--dir=bwd_d"));
        if (line.rfind("convx-bench ", 0) == 0) {
            sawCommand = true;
            CHECK_THAT(line, Catch::EndsWith(problem));
        }
    }
    CHECK(sawCommand);
}

// ---------------------------------------------------------------- bad input

namespace {

// A valid ConvTranspose: x 2x6x4x4 (in_channels 6), w 6x2x3x2 (out_channels 4, groups 2),
// pad (1,0), stride (2,1), dilation (1,2) -> y 2x4x{7,8}x6; y 2x4x7x6 here.
struct TSetup {
    Handle h;
    TensorDesc x, y;
    FilterDesc w;
    ConvDesc conv;
    std::vector<double> xb, wb, yb;
    float alpha = 1.0f, beta = 0.0f;

    TSetup() : xb(2 * 6 * 4 * 4 + 1, 0.0), wb(6 * 2 * 3 * 2 + 1, 0.0), yb(2 * 4 * 8 * 7 + 1, 0.0) {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 6, 4, 4));
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 6, 2, 3, 2));
        REQUIRE_CONVX_OK(convxSetConvolution2dDescriptor(conv, 1, 0, 2, 1, 1, 2, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(conv, 2));
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 7, 6));
        REQUIRE_CONVX_OK(run());
    }
    void* X() { return xb.data(); }
    void* W() { return wb.data(); }
    void* Y() { return yb.data(); }
    convxStatus_t run() { return convxConvolutionTransposeForward(h, &alpha, x, X(), w, W(), conv, CONVX_ALGO_AUTO, nullptr, 0, &beta, y, Y()); }
};

// The message of the last failure speaks of no BackwardData role.
void checkNoInternalNames() {
    const std::string m = testutil::lastError();
    INFO(m);
    CHECK_THAT(m, Catch::StartsWith("convx"));
    for (const char* internal : {"dx_desc", "dy_desc", "dx is", "dy is", "dx =", "dy ="}) CHECK_THAT(m, !Catch::Contains(internal));
}

}  // namespace

TEST_CASE("transpose api: NULL pointers are named as the caller passed them", "[transpose-api][bad-input]") {
    TSetup s;
    const auto NP = CONVX_STATUS_BAD_PARAM_NULL_POINTER;
    float* a = &s.alpha;
    float* b = &s.beta;
    const auto A = CONVX_ALGO_AUTO;
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(nullptr, a, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "handle is NULL");
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, a, nullptr, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "x_desc is NULL");
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, a, s.x, s.X(), nullptr, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "w_desc is NULL");
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, a, s.x, s.X(), s.w, s.W(), nullptr, A, nullptr, 0, b, s.y, s.Y()), NP, "conv_desc is NULL");
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, a, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, nullptr, s.Y()), NP, "y_desc is NULL");
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, a, s.x, nullptr, s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "x is NULL");
    checkNoInternalNames();
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, a, s.x, s.X(), s.w, nullptr, s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "w is NULL");
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, a, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, nullptr), NP, "y is NULL");
    checkNoInternalNames();
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, nullptr, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, b, s.y, s.Y()), NP, "alpha is NULL");
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, a, s.x, s.X(), s.w, s.W(), s.conv, A, nullptr, 0, nullptr, s.y, s.Y()), NP, "beta is NULL");
    // the workspace query
    size_t ws = 0;
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeForwardWorkspaceSize(s.h, s.x, s.w, s.conv, s.y, A, nullptr), NP, "size is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeForwardWorkspaceSize(nullptr, s.x, s.w, s.conv, s.y, A, &ws), NP, "handle is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeForwardWorkspaceSize(s.h, nullptr, s.w, s.conv, s.y, A, &ws), NP, "x_desc is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeForwardWorkspaceSize(s.h, s.x, nullptr, s.conv, s.y, A, &ws), NP, "w_desc is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeForwardWorkspaceSize(s.h, s.x, s.w, nullptr, s.y, A, &ws), NP, "conv_desc is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeForwardWorkspaceSize(s.h, s.x, s.w, s.conv, nullptr, A, &ws), NP, "y_desc is NULL");
    // the output-size queries
    int i1, i2, i3, i4, d[4];
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, 0, 0, nullptr, &i2, &i3, &i4), NP, "n is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, 0, 0, &i1, nullptr, &i3, &i4), NP, "c is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, 0, 0, &i1, &i2, nullptr, &i4), NP, "h is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, 0, 0, &i1, &i2, &i3, nullptr), NP, "w is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(nullptr, s.x, s.w, 0, 0, &i1, &i2, &i3, &i4), NP, "conv is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, nullptr, s.w, 0, 0, &i1, &i2, &i3, &i4), NP, "x_desc is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, nullptr, 0, 0, &i1, &i2, &i3, &i4), NP, "w_desc is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeNdOutputDim(s.conv, s.x, s.w, nullptr, 4, nullptr), NP, "output_dims is NULL");
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeNdOutputDim(s.conv, nullptr, s.w, nullptr, 4, d), NP, "x_desc is NULL");
    REQUIRE_CONVX_OK(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, 1, 0, &i1, &i2, &i3, &i4));
    CHECK((i1 == 2 && i2 == 4 && i3 == 8 && i4 == 6));
}

TEST_CASE("transpose api: output_padding outside the allowed range", "[transpose-api][bad-input]") {
    TSetup s;
    const auto OOB = CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND;
    int n, c, hh, ww, d[4];
    // dim 0: stride 2, dilation 1 -> 0..1; dim 1: stride 1, dilation 2 -> PyTorch allows 0..1, convx 0.
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, -1, 0, &n, &c, &hh, &ww), OOB, "output_padding[0] = -1");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, 2, 0, &n, &c, &hh, &ww), OOB,
                      "output_padding[0] = 2 must be >= 0 and < max(stride, dilation) = 2");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, 0, 2, &n, &c, &hh, &ww), OOB, "output_padding[1] = 2");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, 0, INT_MIN, &n, &c, &hh, &ww), OOB, "output_padding[1]");
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(s.conv, s.x, s.w, 0, 1, &n, &c, &hh, &ww), CONVX_STATUS_NOT_SUPPORTED_SHAPE,
                      "output_padding[1] = 1 is not below stride[1] = 1");
    const int op[2] = {1, 5};
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeNdOutputDim(s.conv, s.x, s.w, op, 4, d), OOB, "output_padding[1] = 5");
    const int ok[2] = {1, 0};
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeNdOutputDim(s.conv, s.x, s.w, ok, 5, d), CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "nb_dims = 5");
    REQUIRE_CONVX_OK(convxGetConvolutionTransposeNdOutputDim(s.conv, s.x, s.w, ok, 4, d));
    CHECK((d[0] == 2 && d[1] == 4 && d[2] == 8 && d[3] == 6));
    // a 2-D query on a 1-D convolution
    TensorDesc x1;
    FilterDesc w1;
    ConvDesc c1;
    const int xd[3] = {1, 3, 5}, wd[3] = {3, 2, 3}, z[1] = {0}, o[1] = {1};
    REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x1, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, xd));
    REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(w1, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 3, wd));
    REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(c1, 1, z, o, o, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    CHECK_CONVX_FAILS(convxGetConvolutionTranspose2dOutputDim(c1, x1, w1, 0, 0, &n, &c, &hh, &ww), CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH,
                      "conv has 1 spatial dims");
}

TEST_CASE("transpose api: sizes that are not positive or overflow", "[transpose-api][bad-input]") {
    TensorDesc x;
    FilterDesc w;
    ConvDesc conv;
    int d[3];
    // in 1, k 1, pad 1: out = 0 - 2 + 0 + 1 = -1
    const int xd[3] = {1, 1, 1}, wd[3] = {1, 1, 1}, one[1] = {1}, pad1[1] = {1};
    REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, xd));
    REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 3, wd));
    REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(conv, 1, pad1, one, one, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeNdOutputDim(conv, x, w, nullptr, 3, d), CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH,
                      "output size -1 < 1");
    // in INT_MAX, stride 2: about 2^32
    const int big[3] = {1, 1, INT_MAX}, two[1] = {2}, zero[1] = {0};
    REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, big));
    REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(conv, 1, zero, two, one, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeNdOutputDim(conv, x, w, nullptr, 3, d), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "exceeds INT_MAX");
    // out_channels = 2^30 per group x 4 groups
    const int xc[3] = {1, 4, 2}, wc[3] = {4, 1 << 30, 1};
    REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 3, xc));
    REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 3, wc));
    REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(conv, 4));
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeNdOutputDim(conv, x, w, nullptr, 3, d), CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND,
                      "output channels");
}

TEST_CASE("transpose api: descriptors that do not fit together are named in ConvTranspose terms", "[transpose-api][bad-input]") {
    TSetup s;
    const auto MM = CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH;
    SECTION("y of a size no output_padding gives") {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 9, 6));
        // the message as docs/api.md shows it
        CHECK_CONVX_FAILS(s.run(), MM,
                          "convxConvolutionTransposeForward: y_desc has dims [2,4,9,6] but the transposed convolution of x_desc by w_desc "
                          "gives [2,4,7..8,6] (lo..hi: the sizes output_padding 0 to stride - 1 gives)");
        checkNoInternalNames();
        size_t ws;
        CHECK_CONVX_FAILS(convxGetConvolutionTransposeForwardWorkspaceSize(s.h, s.x, s.w, s.conv, s.y, CONVX_ALGO_AUTO, &ws), MM, "[2,4,7..8,6]");
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 6, 6));
        CHECK_CONVX_FAILS(s.run(), MM, "y_desc has dims [2,4,6,6]");
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 8, 5));
        CHECK_CONVX_FAILS(s.run(), MM, "y_desc has dims [2,4,8,5]");
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 1, 4, 8, 6));
        CHECK_CONVX_FAILS(s.run(), MM, "y_desc has dims [1,4,8,6]");
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 6, 8, 6));
        CHECK_CONVX_FAILS(s.run(), MM, "y_desc has dims [2,6,8,6]");
        const int d5[5] = {2, 4, 8, 6, 1};
        REQUIRE_CONVX_OK(convxSetTensorNdDescriptorEx(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 5, d5));
        CHECK_CONVX_FAILS(s.run(), MM, "y_desc has 5 dims but x_desc has 4");
        // both sizes of the range work
        for (int hh : {7, 8}) {
            REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, hh, 6));
            REQUIRE_CONVX_OK(s.run());
        }
    }
    SECTION("y of a size only PyTorch's wider output_padding gives") {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 7, 7));
        CHECK_CONVX_FAILS(s.run(), CONVX_STATUS_NOT_SUPPORTED_SHAPE, "y_desc's spatial dim 1 is 7, which means output_padding = 1");
        checkNoInternalNames();
    }
    SECTION("x channels that are not the weight's in_channels") {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.x, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 4, 4));
        CHECK_CONVX_FAILS(s.run(), MM, "w_desc has K = 6 (the ConvTranspose's in_channels, its first dim) but x_desc has C = 4");
        checkNoInternalNames();
        int d[4];
        CHECK_CONVX_FAILS(convxGetConvolutionTransposeNdOutputDim(s.conv, s.x, s.w, nullptr, 4, d), MM, "x_desc has C = 4");
    }
    SECTION("groups that do not divide in_channels") {
        REQUIRE_CONVX_OK(convxSetConvolutionGroupCount(s.conv, 4));
        CHECK_CONVX_FAILS(s.run(), MM, "x_desc has C = 6 channels, not divisible by groups = 4");
    }
    SECTION("ranks that disagree") {
        const int wd[5] = {6, 2, 3, 2, 1};
        REQUIRE_CONVX_OK(convxSetFilterNdDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 5, wd));
        CHECK_CONVX_FAILS(s.run(), MM, "w_desc has 5 dims but x_desc has 4");
        const int z[1] = {0}, o[1] = {1};
        REQUIRE_CONVX_OK(convxSetConvolutionNdDescriptor(s.conv, 1, z, o, o, CONVX_CROSS_CORRELATION, CONVX_DATA_FLOAT));
        CHECK_CONVX_FAILS(s.run(), MM, "x_desc has 4 dims but conv_desc has 1 spatial dims");
    }
    SECTION("data types") {
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(s.w, CONVX_DATA_DOUBLE, CONVX_TENSOR_NCHW, 6, 2, 3, 2));
        CHECK_CONVX_FAILS(s.run(), CONVX_STATUS_BAD_PARAM, "w_desc has data type f64 but x_desc has f32");
        REQUIRE_CONVX_OK(convxSetFilter4dDescriptor(s.w, CONVX_DATA_FLOAT, CONVX_TENSOR_NCHW, 6, 2, 3, 2));
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_HALF, 2, 4, 7, 6));
        CHECK_CONVX_FAILS(s.run(), CONVX_STATUS_BAD_PARAM, "y_desc has data type f16 but x_desc has f32");
    }
    SECTION("overlapping strides of y") {
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptorEx(s.y, CONVX_DATA_FLOAT, 2, 4, 7, 6, 1, 1, 1, 1));
        CHECK_CONVX_FAILS(s.run(), CONVX_STATUS_BAD_PARAM, "y_desc: strides make distinct elements overlap");
        checkNoInternalNames();
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptor(s.y, CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT, 2, 4, 7, 6));
        REQUIRE_CONVX_OK(convxSetTensor4dDescriptorEx(s.x, CONVX_DATA_FLOAT, 2, 6, 4, 4, 96, 16, 4, 2));
        CHECK_CONVX_FAILS(s.run(), CONVX_STATUS_BAD_PARAM, "x_desc: strides make distinct elements overlap");
    }
    SECTION("destroyed and never-set descriptors") {
        convxTensorDescriptor_t dead = nullptr;
        REQUIRE_CONVX_OK(convxCreateTensorDescriptor(&dead));
        REQUIRE_CONVX_OK(convxDestroyTensorDescriptor(dead));
        const auto INV = CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR;
        CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, &s.alpha, dead, s.X(), s.w, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y,
                                                           s.Y()),
                          INV, "x_desc is not a live tensor descriptor");
        TensorDesc unset;
        CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta,
                                                           unset, s.Y()),
                          INV, "y_desc was created but never set");
    }
}

TEST_CASE("transpose api: algorithm values, misaligned pointers", "[transpose-api][bad-input]") {
    TSetup s;
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), s.conv, static_cast<convxConvAlgo_t>(42), nullptr, 0,
                                                       &s.beta, s.y, s.Y()),
                      CONVX_STATUS_BAD_PARAM, "algo = 42");
    size_t ws;
    CHECK_CONVX_FAILS(convxGetConvolutionTransposeForwardWorkspaceSize(s.h, s.x, s.w, s.conv, s.y, static_cast<convxConvAlgo_t>(-1), &ws),
                      CONVX_STATUS_BAD_PARAM, "algo = -1");
    // an algorithm that has no BackwardData: the same answer BackwardData gives
    const convxStatus_t viaBwd = convxConvolutionBackwardData(s.h, &s.alpha, s.w, s.W(), s.x, s.X(), s.conv, CONVX_ALGO_DIRECT_COALESCED, nullptr,
                                                              0, &s.beta, s.y, s.Y());
    CHECK(viaBwd != CONVX_STATUS_SUCCESS);
    CHECK(convxConvolutionTransposeForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), s.conv, CONVX_ALGO_DIRECT_COALESCED, nullptr, 0, &s.beta,
                                           s.y, s.Y()) == viaBwd);
    const auto MA = CONVX_STATUS_BAD_PARAM_MISALIGNED_POINTER;
    char* xm = static_cast<char*>(s.X()) + 2;
    char* ym = static_cast<char*>(s.Y()) + 1;
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, &s.alpha, s.x, xm, s.w, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, s.Y()),
                      MA, "x = ");
    checkNoInternalNames();
    CHECK_CONVX_FAILS(convxConvolutionTransposeForward(s.h, &s.alpha, s.x, s.X(), s.w, s.W(), s.conv, CONVX_ALGO_AUTO, nullptr, 0, &s.beta, s.y, ym),
                      MA, "y = ");
    checkNoInternalNames();
    REQUIRE_CONVX_OK(s.run());
}
