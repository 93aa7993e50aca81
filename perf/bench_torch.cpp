// The PyTorch columns (see bench_torch.h). Without CONVX_BENCH_HAVE_TORCH only the stubs at the
// end are built. A translation unit of its own: the ATen headers are heavy.
#include "bench_torch.h"

#include <string>
#include <vector>

#ifdef CONVX_BENCH_HAVE_TORCH
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/native/ConvUtils.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/api/include/torch/version.h>
#endif

namespace convxbench {

bool isTorchColumn(const std::string& name) { return name == "torch" || name == "torch_native"; }

#ifdef CONVX_BENCH_HAVE_TORCH

namespace {

using convx::Direction;
using convx::Problem;

const char* backendName(at::native::ConvBackend b) {
    using B = at::native::ConvBackend;
    switch (b) {
        case B::Mkldnn: return "mkldnn (oneDNN)";
        case B::MkldnnEmpty: return "mkldnn empty";
        case B::Slow2d: return "Slow2d (im2col + GEMM per group)";
        case B::SlowDilated2d: return "SlowDilated2d (im2col + GEMM per group)";
        case B::Slow3d: return "Slow3d (vol2col + GEMM per group)";
        case B::SlowDilated3d: return "SlowDilated3d (vol2col + GEMM per group)";
        case B::Winograd3x3Depthwise: return "Winograd3x3Depthwise";
        case B::Xnnpack2d: return "Xnnpack2d";
        case B::NnpackSpatial: return "NnpackSpatial";
        case B::Empty: return "Empty";
        default: return "other";
    }
}

// Switches PyTorch's use of oneDNN for the duration of a call (torch_native turns it off) and
// puts the previous setting back.
class MkldnnScope {
public:
    explicit MkldnnScope(bool enabled) : saved_(at::globalContext().userEnabledMkldnn()) {
        at::globalContext().setUserEnabledMkldnn(enabled);
    }
    ~MkldnnScope() { at::globalContext().setUserEnabledMkldnn(saved_); }
    MkldnnScope(const MkldnnScope&) = delete;
    MkldnnScope& operator=(const MkldnnScope&) = delete;

private:
    bool saved_;
};

std::vector<int64_t> sizesOf(int64_t a, int64_t b, const Problem& p, const convx::Dims& sp) {
    std::vector<int64_t> v{a, b};
    for (int i = 0; i < p.nsp; ++i) v.push_back(sp[i]);
    return v;
}
std::vector<int64_t> stridesOf(const convx::Strides& s, const Problem& p) { return std::vector<int64_t>(s.begin(), s.begin() + 2 + p.nsp); }
std::vector<int64_t> spatial(const convx::Dims& d, const Problem& p) { return std::vector<int64_t>(d.begin(), d.begin() + p.nsp); }

class TorchRunner final : public Runner {
public:
    TorchRunner(bool native, int threads) : native_(native), threads_(threads) {}

    std::string name() const override { return native_ ? "torch_native" : "torch"; }

    bool prepare(const Problem& p, std::string* why) override {
        result_ = at::Tensor();
        dummy_ = at::Tensor();
        message_.clear();
        note_.clear();
        if ((p.dtype != convx::DType::F32 && p.dtype != convx::DType::F64) || p.accType != p.dtype) {
            *why = std::string("PyTorch runs here in fp32 and fp64 (data ") + convx::dtypeName(p.dtype) + ", accumulation " +
                   convx::dtypeName(p.accType) + ")";
            return false;
        }
        if (p.mode == CONVX_CONVOLUTION) {
            *why = "PyTorch has cross-correlation only (CONVOLUTION mode mirrors the taps)";
            return false;
        }
        p_ = p;
        opts_ = at::TensorOptions().dtype(p.dtype == convx::DType::F64 ? at::kDouble : at::kFloat).device(at::kCPU);
        xSizes_ = sizesOf(p.N, p.C, p, p.in);
        ySizes_ = sizesOf(p.N, p.K, p, p.out);
        wSizes_ = sizesOf(p.K, p.Cg(), p, p.ker);
        xStrides_ = stridesOf(p.xStrides, p);
        yStrides_ = stridesOf(p.yStrides, p);
        wStrides_ = stridesOf(p.wStrides(), p);
        stride_ = spatial(p.stride, p);
        pad_ = spatial(p.pad, p);
        dil_ = spatial(p.dil, p);
        outPad_.assign(static_cast<size_t>(p.nsp), 0);
        try {
            c10::InferenceMode guard;
            MkldnnScope mkl(!native_);
            // The operand PyTorch is given only for its shape: zeros, in the problem's layout.
            if (p.dir == Direction::BackwardData) dummy_ = at::zeros_like(at::empty_strided(xSizes_, xStrides_, opts_));
            if (p.dir == Direction::BackwardFilter) dummy_ = at::zeros_like(at::empty_strided(wSizes_, wStrides_, opts_));
            // Which backend PyTorch selects for these tensors (the same rule its forward and
            // backward apply; empty tensors of the right shapes and strides suffice).
            const at::Tensor x = at::empty_strided(xSizes_, xStrides_, opts_), w = at::empty_strided(wSizes_, wStrides_, opts_);
            const at::native::ConvBackend b =
                at::native::select_conv_backend(x, w, c10::nullopt, stride_, pad_, dil_, false, outPad_, p.G);
            message_ = backendName(b);
        } catch (const std::exception& e) {
            *why = std::string("PyTorch: ") + e.what();
            return false;
        }
        const char* call = p.dir == Direction::Forward        ? "at::convolution"
                           : p.dir == Direction::BackwardData ? "at::convolution_backward, output_mask {1,0,0}"
                                                              : "at::convolution_backward, output_mask {0,1,0}";
        note_ = std::string("PyTorch ") + torchVersion() + " " + call + " on the bench's buffers (at::from_blob, the problem's strides)" +
                (native_ ? ", oneDNN disabled (PyTorch's own kernels)" : ", default backend selection") + "; backend " + message_ +
                "; result allocated by PyTorch (timed), copied into the bench's buffer untimed; " +
                (threads_ > 0 ? "at::set_num_threads(" + std::to_string(threads_) + ")" : std::string("PyTorch's default threads"));
        return true;
    }

    size_t workspaceBytes() const override { return 0; }

    void run(const Tensors& t, void*, size_t) override {
        try {
            if (threads_ > 0 && at::get_num_threads() != threads_) at::set_num_threads(threads_);
            c10::InferenceMode guard;
            MkldnnScope mkl(!native_);
            const at::Tensor w = wrap(t.w, wSizes_, wStrides_);
            switch (p_.dir) {
                case Direction::Forward:
                    result_ = at::convolution(wrap(t.x, xSizes_, xStrides_), w, c10::nullopt, stride_, pad_, dil_, false, outPad_, p_.G);
                    break;
                case Direction::BackwardData:
                    result_ = std::get<0>(at::convolution_backward(wrap(t.y, ySizes_, yStrides_), dummy_, w, c10::nullopt, stride_, pad_,
                                                                   dil_, false, outPad_, p_.G, {true, false, false}));
                    break;
                case Direction::BackwardFilter:
                    result_ = std::get<1>(at::convolution_backward(wrap(t.y, ySizes_, yStrides_), wrap(t.x, xSizes_, xStrides_), dummy_,
                                                                   c10::nullopt, stride_, pad_, dil_, false, outPad_, p_.G,
                                                                   {false, true, false}));
                    break;
            }
        } catch (const std::exception& e) {
            throw RunError(CONVX_STATUS_EXECUTION_FAILED, std::string("PyTorch: ") + e.what());
        }
    }

    // PyTorch's result into the bench's output buffer, in the problem's layout (untimed).
    void afterRun(const Tensors& t) override {
        if (!result_.defined()) return;
        c10::InferenceMode guard;
        switch (p_.dir) {
            case Direction::Forward: wrap(t.y, ySizes_, yStrides_).copy_(result_); break;
            case Direction::BackwardData: wrap(t.x, xSizes_, xStrides_).copy_(result_); break;
            case Direction::BackwardFilter: wrap(t.w, wSizes_, wStrides_).copy_(result_); break;
        }
        result_ = at::Tensor();
    }

    std::string message() const override { return message_; }
    std::string note() const override { return note_; }

private:
    at::Tensor wrap(void* ptr, const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) const {
        return at::from_blob(ptr, sizes, strides, opts_);
    }

    bool native_;
    int threads_;
    Problem p_;
    at::TensorOptions opts_;
    std::vector<int64_t> xSizes_, ySizes_, wSizes_, xStrides_, yStrides_, wStrides_, stride_, pad_, dil_, outPad_;
    at::Tensor dummy_, result_;
    std::string message_, note_;
};

}  // namespace

std::vector<std::string> torchColumns() { return {"torch", "torch_native"}; }

std::unique_ptr<Runner> makeTorchRunner(const std::string& name, ConvxApi& api, std::string* why) {
    if (api.backend() != CONVX_BACKEND_CPU) {
        *why = "'" + name + "' runs on the cpu backend only";
        return nullptr;
    }
    return std::make_unique<TorchRunner>(name == "torch_native", api.threads());
}

std::string torchVersion() {
    return std::string(TORCH_VERSION) + " (C++ ATen API, oneDNN " + (at::hasMKLDNN() ? "built in" : "absent") + ")";
}

#else  // !CONVX_BENCH_HAVE_TORCH

std::vector<std::string> torchColumns() { return {}; }

std::unique_ptr<Runner> makeTorchRunner(const std::string& name, ConvxApi&, std::string* why) {
    *why = "'" + name + "' needs convx-bench built with libtorch (CONVX_BENCH_HAVE_TORCH is off: libtorch-dev not found, or CONVX_BENCH_TORCH=OFF)";
    return nullptr;
}

std::string torchVersion() { return ""; }

#endif

}  // namespace convxbench
