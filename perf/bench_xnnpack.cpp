// The xnnpack column (see bench_xnnpack.h). Without CONVX_BENCH_HAVE_XNNPACK only the stubs at
// the end are built.
#include "bench_xnnpack.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef CONVX_BENCH_HAVE_XNNPACK
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

#ifndef CONVX_XNNPACK_VERSION
#define CONVX_XNNPACK_VERSION "unknown"
#endif

namespace convxbench {

#ifdef CONVX_BENCH_HAVE_XNNPACK

namespace {

using convx::Direction;
using convx::Problem;

const char* statusName(xnn_status s) {
    switch (s) {
        case xnn_status_success: return "success";
        case xnn_status_uninitialized: return "uninitialized";
        case xnn_status_invalid_parameter: return "invalid parameter";
        case xnn_status_invalid_state: return "invalid state";
        case xnn_status_unsupported_parameter: return "unsupported parameter";
        case xnn_status_unsupported_hardware: return "unsupported hardware";
        case xnn_status_out_of_memory: return "out of memory";
    }
    return "unknown status";
}

// xnn_initialize once per process; its status is the answer for every later problem.
xnn_status initializeOnce() {
    static const xnn_status s = xnn_initialize(nullptr);
    return s;
}

// The 2-D view XNNPACK sees: 1-D problems run as H = 1.
struct View {
    int64_t N, C, K, G, H, W, P, Q, R, S, sh, sw, ph, pw, dh, dw;
};

View viewOf(const Problem& p) {
    View v{};
    v.N = p.N, v.C = p.C, v.K = p.K, v.G = p.G;
    const int o = p.nsp == 1 ? -1 : 0;  // index of H among the spatial dims (none in 1-D)
    auto at = [&](const convx::Dims& d, int i, int64_t one) { return i < 0 ? one : d[i]; };
    v.H = at(p.in, o, 1), v.W = p.in[o + 1];
    v.P = at(p.out, o, 1), v.Q = p.out[o + 1];
    v.R = at(p.ker, o, 1), v.S = p.ker[o + 1];
    v.sh = at(p.stride, o, 1), v.sw = p.stride[o + 1];
    v.ph = at(p.pad, o, 0), v.pw = p.pad[o + 1];
    v.dh = at(p.dil, o, 1), v.dw = p.dil[o + 1];
    return v;
}

// Element strides (n, c, h, w) of an activation in the problem (h stride unused when H = 1).
struct Act {
    int64_t n, c, h, w;
};
Act actStrides(const Problem& p, const convx::Strides& s) {
    if (p.nsp == 1) return Act{s[0], s[1], 0, s[2]};
    return Act{s[0], s[1], s[2], s[3]};
}
bool packedNhwc(const Act& a, int64_t C, int64_t H, int64_t W) {
    return a.c == 1 && a.w == C && (H == 1 || a.h == W * C) && a.n == H * W * C;
}

// Copies between the problem's strided tensor and a packed NHWC one (n, h, w, c).
void toNhwc(const float* src, const Act& s, float* dst, int64_t N, int64_t C, int64_t H, int64_t W) {
    for (int64_t n = 0; n < N; ++n)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w) {
                const float* from = src + n * s.n + h * s.h + w * s.w;
                float* to = dst + ((n * H + h) * W + w) * C;
                for (int64_t c = 0; c < C; ++c) to[c] = from[c * s.c];
            }
}
void fromNhwc(const float* src, float* dst, const Act& s, int64_t N, int64_t C, int64_t H, int64_t W) {
    for (int64_t n = 0; n < N; ++n)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t w = 0; w < W; ++w) {
                const float* from = src + ((n * H + h) * W + w) * C;
                float* to = dst + n * s.n + h * s.h + w * s.w;
                for (int64_t c = 0; c < C; ++c) to[c * s.c] = from[c];
            }
}

class XnnpackRunner final : public Runner {
public:
    explicit XnnpackRunner(int threads) {
#ifdef _OPENMP
        if (threads <= 0) threads = omp_get_max_threads();
#endif
        threads_ = threads > 0 ? threads : 1;
        pool_ = pthreadpool_create(static_cast<size_t>(threads_));
    }
    ~XnnpackRunner() override {
        reset();
        if (pool_) pthreadpool_destroy(pool_);
    }
    XnnpackRunner(const XnnpackRunner&) = delete;
    XnnpackRunner& operator=(const XnnpackRunner&) = delete;

    std::string name() const override { return kXnnpackColumn; }

    bool prepare(const Problem& p, std::string* why) override {
        reset();
        if (p.dir != Direction::Forward) {
            *why = "XNNPACK is an inference library: forward only";
            return false;
        }
        if (p.dtype != convx::DType::F32 || p.accType != convx::DType::F32) {
            *why = std::string("XNNPACK runs here in fp32 only (data ") + convx::dtypeName(p.dtype) + ", accumulation " +
                   convx::dtypeName(p.accType) + ")";
            return false;
        }
        if (p.nsp == 3) {
            *why = "XNNPACK has no 3-D convolution operator";
            return false;
        }
        if (!pool_) {
            *why = "pthreadpool_create failed";
            return false;
        }
        const xnn_status s = initializeOnce();
        if (s != xnn_status_success) {
            *why = std::string("xnn_initialize: ") + statusName(s);
            return false;
        }
        p_ = p;
        v_ = viewOf(p);
        xs_ = actStrides(p, p.xStrides);
        ys_ = actStrides(p, p.yStrides);
        xDirect_ = packedNhwc(xs_, v_.C, v_.H, v_.W);
        yDirect_ = packedNhwc(ys_, v_.K, v_.P, v_.Q);
        const bool dw = p.Cg() == 1 && p.Kg() == 1;
        // XNNPACK's pick, from its operator's rules (the operator object is opaque): the
        // depthwise microkernels when each group has one input and one output channel and the
        // window fits one of its unipass tiles (up to 25 taps in this snapshot), else its
        // indirect GEMM.
        message_ = std::string(dw && v_.R * v_.S <= 25 ? "dwconv" : p.G > 1 ? "igemm per group" : "igemm") +
                   (xDirect_ && yDirect_ ? "" : std::string(", NHWC copies of ") + (xDirect_ ? "" : "x") +
                                                    (xDirect_ || yDirect_ ? "" : ",") + (yDirect_ ? "" : "y"));
        note_ = std::string("XNNPACK ") + CONVX_XNNPACK_VERSION +
                " xnn_create_convolution2d_nhwc_f32 once per problem (weights packed there, untimed), setup per run "
                "(untimed), xnn_run_operator timed; " +
                (xDirect_ && yDirect_ ? std::string("the problem's packed NHWC tensors")
                                      : std::string("NHWC copies, reorders outside the timing")) +
                (p.mode == CONVX_CONVOLUTION ? "; CONVOLUTION mode: taps mirrored in the repacked filter" : "") + "; pthreadpool of " +
                std::to_string(threads_) + " threads";
        return true;
    }

    size_t workspaceBytes() const override { return 0; }

    void beforeRun(const Tensors& t) override {
        if (!op_) create(static_cast<const float*>(t.w));
        const float* in = static_cast<const float*>(t.x);
        float* out = static_cast<float*>(t.y);
        if (!xDirect_) {
            Copy& c = xCopies_[t.x];
            if (c.data.empty()) {
                c.data.resize(static_cast<size_t>(v_.N * v_.H * v_.W * v_.C));
                toNhwc(in, xs_, c.data.data(), v_.N, v_.C, v_.H, v_.W);  // the bench never changes its inputs
            }
            in = c.data.data();
        }
        if (!yDirect_) {
            Copy& c = yCopies_[t.y];
            if (c.data.empty()) c.data.resize(static_cast<size_t>(v_.N * v_.P * v_.Q * v_.K));
            out = c.data.data();
        }
        if (in != lastIn_ || out != lastOut_) {
            check(xnn_setup_convolution2d_nhwc_f32(op_, static_cast<size_t>(v_.N), static_cast<size_t>(v_.H), static_cast<size_t>(v_.W),
                                                   in, out, pool_),
                  "xnn_setup_convolution2d_nhwc_f32");
            lastIn_ = in, lastOut_ = out;
        }
    }

    void run(const Tensors&, void*, size_t) override { check(xnn_run_operator(op_, pool_), "xnn_run_operator"); }

    void afterRun(const Tensors& t) override {
        if (!yDirect_) fromNhwc(yCopies_.at(t.y).data.data(), static_cast<float*>(t.y), ys_, v_.N, v_.K, v_.P, v_.Q);
    }

    std::string message() const override { return message_; }
    std::string note() const override { return note_; }

private:
    struct Copy {
        std::vector<float> data;
    };

    static void check(xnn_status s, const char* call) {
        if (s != xnn_status_success) throw RunError(CONVX_STATUS_EXECUTION_FAILED, std::string("XNNPACK ") + call + ": " + statusName(s));
    }

    // The operator, on the filter repacked into XNNPACK's order [G][K/G][R][S][C/G] (mirrored in
    // CONVOLUTION mode).
    void create(const float* w) {
        const convx::Strides ws = p_.wStrides();
        const int64_t Kg = p_.Kg(), Cg = p_.Cg();
        const int64_t wsR = p_.nsp == 1 ? 0 : ws[2], wsS = ws[2 + p_.nsp - 1];
        std::vector<float> packed(static_cast<size_t>(p_.K * v_.R * v_.S * Cg));
        const bool flip = p_.mode == CONVX_CONVOLUTION;
        for (int64_t k = 0; k < p_.K; ++k)
            for (int64_t r = 0; r < v_.R; ++r)
                for (int64_t s = 0; s < v_.S; ++s)
                    for (int64_t c = 0; c < Cg; ++c) {
                        const int64_t ur = flip ? v_.R - 1 - r : r, us = flip ? v_.S - 1 - s : s;
                        packed[static_cast<size_t>(((k * v_.R + r) * v_.S + s) * Cg + c)] = w[k * ws[0] + c * ws[1] + ur * wsR + us * wsS];
                    }
        auto u32 = [](int64_t x) { return static_cast<uint32_t>(x); };
        xnn_operator_t op = nullptr;
        check(xnn_create_convolution2d_nhwc_f32(u32(v_.ph), u32(v_.pw), u32(v_.ph), u32(v_.pw), u32(v_.R), u32(v_.S), u32(v_.sh),
                                                u32(v_.sw), u32(v_.dh), u32(v_.dw), u32(p_.G), static_cast<size_t>(Cg),
                                                static_cast<size_t>(Kg), static_cast<size_t>(p_.C), static_cast<size_t>(p_.K),
                                                packed.data(), nullptr, -INFINITY, INFINITY, 0, &op),
              "xnn_create_convolution2d_nhwc_f32");
        op_ = op;
    }

    void reset() {
        if (op_) xnn_delete_operator(op_);
        op_ = nullptr;
        lastIn_ = nullptr;
        lastOut_ = nullptr;
        xCopies_.clear();
        yCopies_.clear();
        message_.clear();
        note_.clear();
    }

    int threads_ = 1;
    pthreadpool_t pool_ = nullptr;
    xnn_operator_t op_ = nullptr;
    Problem p_;
    View v_{};
    Act xs_{}, ys_{};
    bool xDirect_ = true, yDirect_ = true;
    const float* lastIn_ = nullptr;
    const float* lastOut_ = nullptr;
    std::map<const void*, Copy> xCopies_, yCopies_;
    std::string message_, note_;
};

}  // namespace

std::vector<std::string> xnnpackColumns() { return {kXnnpackColumn}; }

std::unique_ptr<Runner> makeXnnpackRunner(ConvxApi& api, std::string* why) {
    if (api.backend() != CONVX_BACKEND_CPU) {
        *why = "'xnnpack' runs on the cpu backend only";
        return nullptr;
    }
    return std::make_unique<XnnpackRunner>(api.threads());
}

std::string xnnpackVersion() { return std::string(CONVX_XNNPACK_VERSION) + " (operator API, pthreadpool)"; }

#else  // !CONVX_BENCH_HAVE_XNNPACK

std::vector<std::string> xnnpackColumns() { return {}; }

std::unique_ptr<Runner> makeXnnpackRunner(ConvxApi&, std::string* why) {
    *why = "'xnnpack' needs convx-bench built with XNNPACK (CONVX_BENCH_HAVE_XNNPACK is off: libxnnpack-dev/libpthreadpool-dev not "
           "found, or CONVX_BENCH_XNNPACK=OFF)";
    return nullptr;
}

std::string xnnpackVersion() { return ""; }

#endif

}  // namespace convxbench
