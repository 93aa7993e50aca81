#include "bench_runner.h"

#include <algorithm>
#include <climits>

#include "algorithm.h"
#include "bench_cudnn.h"
#include "bench_onednn.h"
#include "bench_torch.h"
#include "bench_xnnpack.h"
#include "bench_zeroins.h"
#include "error.h"
#include "execute.h"
#include "registry.h"
#include "selector.h"

namespace convxbench {

using convx::Direction;
using convx::Problem;

std::string lastConvxError() {
    char buf[2048];
    buf[0] = '\0';
    convxGetLastErrorString(buf, sizeof buf);
    return buf;
}

static void ok(convxStatus_t s, const char* call) {
    if (s != CONVX_STATUS_SUCCESS)
        throw RunError(s, std::string(call) + ": " + convxGetErrorString(s) + ": " + lastConvxError());
}

static int toInt(int64_t v, const char* what) {
    if (v < INT_MIN || v > INT_MAX) throw RunError(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, std::string(what) + " does not fit in an int");
    return static_cast<int>(v);
}

ConvxApi::ConvxApi(convxBackend_t backend, int threads, void* stream) : backend_(backend), stream_(stream) {
    ok(convxCreateWithBackend(&handle_, backend), "convxCreateWithBackend");
    try {
        if (backend == CONVX_BACKEND_CPU) ok(convxSetNumThreads(handle_, threads), "convxSetNumThreads");
        if (stream) ok(convxSetStream(handle_, stream), "convxSetStream");
    } catch (...) {
        convxDestroy(handle_);
        throw;
    }
}

ConvxApi::~ConvxApi() {
    freeDescriptors();
    if (handle_) convxDestroy(handle_);
}

int ConvxApi::threads() const {
    int n = 0;
    if (backend_ == CONVX_BACKEND_CPU) convxGetNumThreads(handle_, &n);
    return n;
}

void ConvxApi::freeDescriptors() {
    if (x_) convxDestroyTensorDescriptor(x_);
    if (y_) convxDestroyTensorDescriptor(y_);
    if (w_) convxDestroyFilterDescriptor(w_);
    if (conv_) convxDestroyConvolutionDescriptor(conv_);
    x_ = y_ = nullptr;
    w_ = nullptr;
    conv_ = nullptr;
}

std::string ConvxApi::setProblem(const Problem& p) {
    freeDescriptors();
    problem_ = p;
    ok(convxCreateTensorDescriptor(&x_), "convxCreateTensorDescriptor");
    ok(convxCreateTensorDescriptor(&y_), "convxCreateTensorDescriptor");
    ok(convxCreateFilterDescriptor(&w_), "convxCreateFilterDescriptor");
    ok(convxCreateConvolutionDescriptor(&conv_), "convxCreateConvolutionDescriptor");

    const int nb = 2 + p.nsp;
    const auto dt = static_cast<convxDataType_t>(p.dtype);
    int xd[CONVX_DIM_MAX], xs[CONVX_DIM_MAX], yd[CONVX_DIM_MAX], ys[CONVX_DIM_MAX], wd[CONVX_DIM_MAX];
    xd[0] = yd[0] = toInt(p.N, "N");
    xd[1] = toInt(p.C, "C");
    yd[1] = wd[0] = toInt(p.K, "K");
    wd[1] = toInt(p.Cg(), "C/groups");
    int pads[CONVX_SPATIAL_DIM_MAX], strides[CONVX_SPATIAL_DIM_MAX], dils[CONVX_SPATIAL_DIM_MAX];
    for (int i = 0; i < p.nsp; ++i) {
        xd[2 + i] = toInt(p.in[i], "input size");
        yd[2 + i] = toInt(p.out[i], "output size");
        wd[2 + i] = toInt(p.ker[i], "filter size");
        pads[i] = toInt(p.pad[i], "pad");
        strides[i] = toInt(p.stride[i], "stride");
        dils[i] = toInt(p.dil[i], "dilation");
    }
    for (int i = 0; i < nb; ++i) {
        xs[i] = toInt(p.xStrides[i], "x stride");
        ys[i] = toInt(p.yStrides[i], "y stride");
    }
    ok(convxSetTensorNdDescriptor(x_, dt, nb, xd, xs), "convxSetTensorNdDescriptor(x)");
    ok(convxSetTensorNdDescriptor(y_, dt, nb, yd, ys), "convxSetTensorNdDescriptor(y)");
    ok(convxSetFilterNdDescriptor(w_, dt, static_cast<convxTensorFormat_t>(p.wLayout), nb, wd), "convxSetFilterNdDescriptor");
    ok(convxSetConvolutionNdDescriptor(conv_, p.nsp, pads, strides, dils, p.mode, static_cast<convxDataType_t>(p.accType)),
       "convxSetConvolutionNdDescriptor");
    ok(convxSetConvolutionGroupCount(conv_, toInt(p.G, "groups")), "convxSetConvolutionGroupCount");
    ok(convxSetConvolutionMathType(conv_, p.math), "convxSetConvolutionMathType");

    // What the library reads back from these descriptors should be the problem itself.
    try {
        Problem back = convx::problemOf(p.dir, convx::CallDescs{x_, w_, conv_, y_});
        if (back != p) return "the descriptors read back as '" + back.str() + "'";
    } catch (const std::exception& e) {
        throw RunError(CONVX_STATUS_BAD_PARAM, e.what());
    }
    return "";
}

size_t ConvxApi::workspaceSize(convxConvAlgo_t algo) const {
    size_t bytes = 0;
    switch (problem_.dir) {
        case Direction::Forward:
            ok(convxGetConvolutionForwardWorkspaceSize(handle_, x_, w_, conv_, y_, algo, &bytes), "convxGetConvolutionForwardWorkspaceSize");
            break;
        case Direction::BackwardData:
            ok(convxGetConvolutionBackwardDataWorkspaceSize(handle_, w_, y_, conv_, x_, algo, &bytes),
               "convxGetConvolutionBackwardDataWorkspaceSize");
            break;
        case Direction::BackwardFilter:
            ok(convxGetConvolutionBackwardFilterWorkspaceSize(handle_, x_, y_, conv_, w_, algo, &bytes),
               "convxGetConvolutionBackwardFilterWorkspaceSize");
            break;
    }
    return bytes;
}

void ConvxApi::run(convxConvAlgo_t algo, const Tensors& t, void* ws, size_t bytes) const {
    const float a32 = 1.f, b32 = 0.f;
    const double a64 = 1.0, b64 = 0.0;
    const bool f64 = problem_.dtype == convx::DType::F64;
    const void* alpha = f64 ? static_cast<const void*>(&a64) : static_cast<const void*>(&a32);
    const void* beta = f64 ? static_cast<const void*>(&b64) : static_cast<const void*>(&b32);
    switch (problem_.dir) {
        case Direction::Forward:
            ok(convxConvolutionForward(handle_, alpha, x_, t.x, w_, t.w, conv_, algo, ws, bytes, beta, y_, t.y), "convxConvolutionForward");
            break;
        case Direction::BackwardData:
            ok(convxConvolutionBackwardData(handle_, alpha, w_, t.w, y_, t.y, conv_, algo, ws, bytes, beta, x_, t.x),
               "convxConvolutionBackwardData");
            break;
        case Direction::BackwardFilter:
            ok(convxConvolutionBackwardFilter(handle_, alpha, x_, t.x, y_, t.y, conv_, algo, ws, bytes, beta, w_, t.w),
               "convxConvolutionBackwardFilter");
            break;
    }
}

convxConvAlgo_t ConvxApi::autoPick() const {
    convxAlgoPerf_t perf[1] = {};
    int n = 0;
    switch (problem_.dir) {
        case Direction::Forward:
            ok(convxGetConvolutionForwardAlgorithm(handle_, x_, w_, conv_, y_, 1, &n, perf), "convxGetConvolutionForwardAlgorithm");
            break;
        case Direction::BackwardData:
            ok(convxGetConvolutionBackwardDataAlgorithm(handle_, w_, y_, conv_, x_, 1, &n, perf), "convxGetConvolutionBackwardDataAlgorithm");
            break;
        case Direction::BackwardFilter:
            ok(convxGetConvolutionBackwardFilterAlgorithm(handle_, x_, y_, conv_, w_, 1, &n, perf),
               "convxGetConvolutionBackwardFilterAlgorithm");
            break;
    }
    if (n < 1 || perf[0].status != CONVX_STATUS_SUCCESS)
        throw RunError(CONVX_STATUS_NOT_SUPPORTED, "no algorithm of the backend applies to '" + problem_.str() + "'");
    return perf[0].algo;
}

namespace {

// A convx algorithm (or AUTO, the selector's pick) through the C API.
class ConvxRunner final : public Runner {
public:
    ConvxRunner(ConvxApi& api, convxConvAlgo_t algo) : api_(api), algo_(algo) {}
    std::string name() const override { return convx::algoName(algo_); }
    bool prepare(const Problem& p, std::string* why) override {
        if (algo_ != CONVX_ALGO_AUTO) {
            const convx::Algorithm* a = convx::findAlgorithm(api_.backend(), algo_);
            if (!a) {
                *why = std::string("no ") + name() + " on the " + convx::backendName(api_.backend()) + " backend";
                return false;
            }
            convx::Applicability ap = a->check(p);
            if (!ap.ok) {
                *why = ap.reason;
                return false;
            }
        }
        try {
            ws_ = api_.workspaceSize(algo_);
        } catch (const RunError& e) {
            *why = e.what();
            return false;
        }
        picked_.clear();
        if (algo_ == CONVX_ALGO_AUTO) {
            // What the selector picks for a call of this problem (same handle state: no workspace limit).
            try {
                convxContext ctx;
                ctx.backend = api_.backend();
                picked_ = std::string("picked ") + convx::selectAlgorithm(ctx, p, CONVX_ALGO_AUTO)->name();
            } catch (const convx::Error&) {
            }
        }
        return true;
    }
    std::string message() const override { return picked_; }
    size_t workspaceBytes() const override { return ws_; }
    void run(const Tensors& t, void* ws, size_t bytes) override { api_.run(algo_, t, ws, bytes); }

private:
    ConvxApi& api_;
    convxConvAlgo_t algo_;
    size_t ws_ = 0;
    std::string picked_;
};

}  // namespace

std::unique_ptr<Runner> makeRunner(const std::string& name, ConvxApi& api, std::string* why) {
    convxConvAlgo_t id;
    // The peers and the zero-insertion baseline: not convx algorithms.
    if (isOnednnColumn(name)) return makeOnednnRunner(name, api, why);
    if (name == kXnnpackColumn) return makeXnnpackRunner(api, why);
    if (isTorchColumn(name)) return makeTorchRunner(name, api, why);
    if (name == kZeroInsColumn) return makeZeroInsRunner(api, why);
    // convx's own algorithms, "cudnn" (convx's cuDNN fallback, through convx) included.
    if (convx::parseAlgoName(name, &id)) return std::make_unique<ConvxRunner>(api, id);
    if (isCudnnColumn(name)) {
        // cuDNN called directly: its runners depend on the problem (one per algorithm cuDNN
        // lists for it), so the bench makes them per problem through CudnnBench.
        *why = "'" + name + "' is a cuDNN column, made per problem by the bench (bench_cudnn.h)";
        return nullptr;
    }
    *why = "unknown algorithm '" + name + "'";
    return nullptr;
}

bool isCudnnColumn(const std::string& name) { return name == "cudnn_find" || name == "cudnn_heur"; }

std::vector<std::string> backendAlgorithms(convxBackend_t backend) {
    std::vector<std::string> names;
    for (const convx::Algorithm* a : convx::registry())
        if (a->backend() == backend && std::find(names.begin(), names.end(), a->name()) == names.end()) names.push_back(a->name());
    return names;
}

#ifndef CONVX_HAVE_CUDNN
std::unique_ptr<CudnnBench> makeCudnnBench(void*, std::string* why) {
    if (why) *why = "convx-bench was built without cuDNN (CONVX_HAVE_CUDNN is off)";
    return nullptr;
}

bool builtWithCudnn() { return false; }
#endif

}  // namespace convxbench
