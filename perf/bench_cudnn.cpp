// The bench's own cuDNN wrapper (see bench_cudnn.h): legacy-API descriptors from a Problem,
// cuDNN's algorithm list for the problem's direction, and one Runner per algorithm. Built only
// with CONVX_HAVE_CUDNN. It mirrors what convx's fallback (cuda/cudnn_fallback.cpp) does, but
// shares only the Problem-to-cuDNN mapping with it (cuda/cudnn_problem.h), so both run cuDNN
// with the same math; the calls themselves are the bench's own, as a user makes them.
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <climits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench_cudnn.h"
#include "cudnn_problem.h"

namespace convxbench {

namespace {

using convx::Direction;
using convx::DType;
using convx::Problem;

void check(cudnnStatus_t s, const char* what) {
    if (s != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(s));
}

const char* mathName(int m) {
    switch (m) {
        case CUDNN_DEFAULT_MATH: return "default";
        case CUDNN_TENSOR_OP_MATH: return "tensor_op";
        case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return "tensor_op_allow_conversion";
        case CUDNN_FMA_MATH: return "fma";
    }
    return "unknown";
}

// How much a math type permits: FMA only < default < tensor ops < tensor ops with conversion.
int mathLevel(int m) {
    switch (m) {
        case CUDNN_FMA_MATH: return 0;
        case CUDNN_DEFAULT_MATH: return 1;
        case CUDNN_TENSOR_OP_MATH: return 2;
        case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: return 3;
    }
    return 4;
}

const char* algoName(Direction d, int a) {
    static const char* const fwd[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                                      "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    static const char* const bwdData[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
    static const char* const bwdFilter[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING"};
    static_assert(sizeof fwd / sizeof *fwd == CUDNN_CONVOLUTION_FWD_ALGO_COUNT, "forward algorithm names");
    static_assert(sizeof bwdData / sizeof *bwdData == CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, "backward-data algorithm names");
    static_assert(sizeof bwdFilter / sizeof *bwdFilter == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, "backward-filter algorithm names");
    switch (d) {
        case Direction::Forward:
            if (a >= 0 && a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT) return fwd[a];
            break;
        case Direction::BackwardData:
            if (a >= 0 && a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT) return bwdData[a];
            break;
        case Direction::BackwardFilter:
            if (a >= 0 && a < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT) return bwdFilter[a];
            break;
    }
    return nullptr;
}

// The descriptors of one problem: x, w, y, and one convolution descriptor per math type an
// entry runs with. Shared by the problem's runners, so they outlive the next setProblem().
struct Descriptors {
    Direction dir = Direction::Forward;
    bool f64 = false;
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    std::map<int, cudnnConvolutionDescriptor_t> conv;  // by cudnnMathType_t
    Descriptors() = default;
    Descriptors(const Descriptors&) = delete;
    Descriptors& operator=(const Descriptors&) = delete;
    ~Descriptors() {
        if (x) cudnnDestroyTensorDescriptor(x);
        if (y) cudnnDestroyTensorDescriptor(y);
        if (w) cudnnDestroyFilterDescriptor(w);
        for (auto& c : conv)
            if (c.second) cudnnDestroyConvolutionDescriptor(c.second);
    }
};

cudnnConvolutionDescriptor_t makeConv(const Problem& p, const convx::CudnnShape& s, cudnnMathType_t math) {
    cudnnConvolutionDescriptor_t c = nullptr;
    check(cudnnCreateConvolutionDescriptor(&c), "cudnnCreateConvolutionDescriptor");
    cudnnStatus_t st = cudnnSetConvolutionNdDescriptor(c, s.nb - 2, s.pad, s.stride, s.dil, convx::cudnnModeOf(p), convx::cudnnComputeTypeOf(p));
    if (st == CUDNN_STATUS_SUCCESS) st = cudnnSetConvolutionGroupCount(c, static_cast<int>(p.G));
    if (st == CUDNN_STATUS_SUCCESS) st = cudnnSetConvolutionMathType(c, math);
    if (st != CUDNN_STATUS_SUCCESS) {
        cudnnDestroyConvolutionDescriptor(c);
        throw std::runtime_error(std::string("cuDNN rejects the convolution descriptor: ") + cudnnGetErrorString(st));
    }
    return c;
}

class AlgoRunner final : public Runner {
public:
    AlgoRunner(cudnnHandle_t h, std::shared_ptr<Descriptors> d, const CudnnAlgo& a)
        : h_(h), d_(std::move(d)), a_(a), conv_(d_->conv.at(a.mathType)) {}
    std::string name() const override { return a_.label(); }
    bool prepare(const Problem&, std::string*) override { return true; }  // bound to its problem
    size_t workspaceBytes() const override { return a_.workspace; }
    void run(const Tensors& t, void* ws, size_t bytes) override {
        const float af = 1.f, bf = 0.f;
        const double ad = 1.0, bd = 0.0;
        const void* alpha = d_->f64 ? static_cast<const void*>(&ad) : static_cast<const void*>(&af);
        const void* beta = d_->f64 ? static_cast<const void*>(&bd) : static_cast<const void*>(&bf);
        cudnnStatus_t s = CUDNN_STATUS_SUCCESS;
        const char* call = "";
        switch (d_->dir) {
            case Direction::Forward:
                call = "cudnnConvolutionForward";
                s = cudnnConvolutionForward(h_, alpha, d_->x, t.x, d_->w, t.w, conv_, cudnnConvolutionFwdAlgo_t(a_.algo), ws, bytes, beta,
                                            d_->y, t.y);
                break;
            case Direction::BackwardData:
                call = "cudnnConvolutionBackwardData";
                s = cudnnConvolutionBackwardData(h_, alpha, d_->w, t.w, d_->y, t.y, conv_, cudnnConvolutionBwdDataAlgo_t(a_.algo), ws, bytes,
                                                 beta, d_->x, t.x);
                break;
            case Direction::BackwardFilter:
                call = "cudnnConvolutionBackwardFilter";
                s = cudnnConvolutionBackwardFilter(h_, alpha, d_->x, t.x, d_->y, t.y, conv_, cudnnConvolutionBwdFilterAlgo_t(a_.algo), ws,
                                                   bytes, beta, d_->w, t.w);
                break;
        }
        if (s != CUDNN_STATUS_SUCCESS)
            throw RunError(CONVX_STATUS_EXECUTION_FAILED, std::string(call) + " (" + a_.name + "): " + cudnnGetErrorString(s));
    }

private:
    cudnnHandle_t h_;
    std::shared_ptr<Descriptors> d_;
    CudnnAlgo a_;
    cudnnConvolutionDescriptor_t conv_;
};

// One entry of a Get_v7 list, whatever the direction.
struct Entry {
    int algo;
    cudnnStatus_t status;
    cudnnMathType_t math;
};

template <class Perf>
std::vector<Entry> entries(const std::vector<Perf>& perf, int n) {
    std::vector<Entry> out;
    for (int i = 0; i < n && i < static_cast<int>(perf.size()); ++i)
        out.push_back(Entry{static_cast<int>(perf[i].algo), perf[i].status, perf[i].mathType});
    return out;
}

class CudnnBenchImpl final : public CudnnBench {
public:
    explicit CudnnBenchImpl(void* stream) {
        check(cudnnCreate(&h_), "cudnnCreate");
        const cudnnStatus_t s = cudnnSetStream(h_, static_cast<cudaStream_t>(stream));
        if (s != CUDNN_STATUS_SUCCESS) {
            cudnnDestroy(h_);
            throw std::runtime_error(std::string("cudnnSetStream: ") + cudnnGetErrorString(s));
        }
    }
    ~CudnnBenchImpl() override { cudnnDestroy(h_); }

    std::string version() const override {
        auto text = [](size_t v) { return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100); };
        return text(cudnnGetVersion()) + " (built with " + text(CUDNN_VERSION) + ")";
    }

    std::vector<CudnnAlgo> setProblem(const Problem& p) override {
        const convx::CudnnShape s = convx::cudnnShapeOf(p);
        auto d = std::make_shared<Descriptors>();
        d->dir = p.dir;
        d->f64 = p.dtype == DType::F64;
        const cudnnDataType_t dt = convx::cudnnDataTypeOf(p.dtype);
        check(cudnnCreateTensorDescriptor(&d->x), "cudnnCreateTensorDescriptor");
        check(cudnnCreateTensorDescriptor(&d->y), "cudnnCreateTensorDescriptor");
        check(cudnnCreateFilterDescriptor(&d->w), "cudnnCreateFilterDescriptor");
        cudnnStatus_t st = cudnnSetTensorNdDescriptor(d->x, dt, s.nb, s.x, s.xs);
        if (st == CUDNN_STATUS_SUCCESS) st = cudnnSetTensorNdDescriptor(d->y, dt, s.nb, s.y, s.ys);
        if (st != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string("cuDNN rejects the tensor shapes or strides: ") + cudnnGetErrorString(st));
        const cudnnTensorFormat_t wf = p.wLayout == convx::Layout::NHWC ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
        st = cudnnSetFilterNdDescriptor(d->w, dt, wf, s.nb, s.w);
        if (st != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string("cuDNN rejects the filter: ") + cudnnGetErrorString(st));
        const cudnnMathType_t want = convx::cudnnMathTypeFor(p);
        d->conv[want] = makeConv(p, s, want);
        const cudnnConvolutionDescriptor_t conv = d->conv[want];

        // The heuristic's full list (Get_v7 ranks every algorithm of the direction, supported
        // or not, possibly once per math type).
        std::vector<Entry> list;
        int maxCount = 0, n = 0;
        switch (p.dir) {
            case Direction::Forward: {
                check(cudnnGetConvolutionForwardAlgorithmMaxCount(h_, &maxCount), "cudnnGetConvolutionForwardAlgorithmMaxCount");
                std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(std::max(maxCount, 1));
                check(cudnnGetConvolutionForwardAlgorithm_v7(h_, d->x, d->w, conv, d->y, static_cast<int>(perf.size()), &n, perf.data()),
                      "cudnnGetConvolutionForwardAlgorithm_v7");
                list = entries(perf, n);
                break;
            }
            case Direction::BackwardData: {
                check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h_, &maxCount), "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
                std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(std::max(maxCount, 1));
                check(cudnnGetConvolutionBackwardDataAlgorithm_v7(h_, d->w, d->y, conv, d->x, static_cast<int>(perf.size()), &n, perf.data()),
                      "cudnnGetConvolutionBackwardDataAlgorithm_v7");
                list = entries(perf, n);
                break;
            }
            case Direction::BackwardFilter: {
                check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h_, &maxCount), "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
                std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(std::max(maxCount, 1));
                check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h_, d->x, d->y, conv, d->w, static_cast<int>(perf.size()), &n,
                                                                    perf.data()),
                      "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
                list = entries(perf, n);
                break;
            }
        }

        std::vector<CudnnAlgo> out;
        for (const Entry& e : list) {
            // An entry runs with its own math type when that permits no more than the problem's;
            // otherwise (e.g. default math, which may mean TF32, where FMA is asked for) with the
            // problem's, as convx's fallback runs cuDNN's pick: the same math on both sides.
            const cudnnMathType_t math = mathLevel(e.math) <= mathLevel(want) ? e.math : want;
            // One entry per (algorithm, math): a supported one replaces an unsupported one.
            auto dup = std::find_if(out.begin(), out.end(),
                                    [&](const CudnnAlgo& o) { return o.algo == e.algo && o.mathType == static_cast<int>(math); });
            if (dup != out.end()) {
                if (dup->supported || e.status != CUDNN_STATUS_SUCCESS) continue;
                out.erase(dup);
            }
            CudnnAlgo a;
            a.algo = e.algo;
            a.mathType = math;
            const char* base = algoName(p.dir, e.algo);
            a.name = base ? base : "ALGO_" + std::to_string(e.algo);
            if (math != want) a.name += std::string("/") + mathName(math);
            a.status = cudnnGetErrorString(e.status);
            a.supported = e.status == CUDNN_STATUS_SUCCESS;
            if (a.supported) {
                try {
                    if (!d->conv.count(math)) d->conv[math] = makeConv(p, s, math);
                    a.workspace = workspaceSize(*d, d->conv[math], e.algo);
                } catch (const std::exception& ex) {
                    a.supported = false;
                    a.status = ex.what();
                }
            }
            out.push_back(a);
        }
        for (size_t i = 0; i < out.size(); ++i) out[i].rank = static_cast<int>(i);
        d_ = std::move(d);
        return out;
    }

    std::unique_ptr<Runner> makeRunner(const CudnnAlgo& a) override {
        if (!d_ || !a.supported || !d_->conv.count(a.mathType)) throw std::logic_error("cuDNN runner for an entry that is not supported");
        return std::make_unique<AlgoRunner>(h_, d_, a);
    }

private:
    size_t workspaceSize(const Descriptors& d, cudnnConvolutionDescriptor_t conv, int algo) const {
        size_t b = 0;
        switch (d.dir) {
            case Direction::Forward:
                check(cudnnGetConvolutionForwardWorkspaceSize(h_, d.x, d.w, conv, d.y, cudnnConvolutionFwdAlgo_t(algo), &b),
                      "cudnnGetConvolutionForwardWorkspaceSize");
                break;
            case Direction::BackwardData:
                check(cudnnGetConvolutionBackwardDataWorkspaceSize(h_, d.w, d.y, conv, d.x, cudnnConvolutionBwdDataAlgo_t(algo), &b),
                      "cudnnGetConvolutionBackwardDataWorkspaceSize");
                break;
            case Direction::BackwardFilter:
                check(cudnnGetConvolutionBackwardFilterWorkspaceSize(h_, d.x, d.y, conv, d.w, cudnnConvolutionBwdFilterAlgo_t(algo), &b),
                      "cudnnGetConvolutionBackwardFilterWorkspaceSize");
                break;
        }
        return b;
    }

    cudnnHandle_t h_ = nullptr;
    std::shared_ptr<Descriptors> d_;
};

}  // namespace

std::unique_ptr<CudnnBench> makeCudnnBench(void* stream, std::string* why) {
    try {
        return std::make_unique<CudnnBenchImpl>(stream);
    } catch (const std::exception& e) {
        if (why) *why = e.what();
        return nullptr;
    }
}

bool builtWithCudnn() { return true; }

}  // namespace convxbench
