// CONVX_ALGO_CUDNN: the fallback through cuDNN's legacy API, for all three directions.
// The cuDNN algorithm is cuDNN's own heuristic pick (Get_v7 top-1 with status SUCCESS);
// descriptors and the pick are cached per device and Problem; fp32 runs with FMA math unless the
// convolution's math type allows tensor ops, so comparisons with convx's kernels are like for like.
#include <cudnn.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "algorithm.h"
#include "cuda_check.h"
#include "error.h"

namespace convx {

namespace {

void cudnnCheck(cudnnStatus_t s, const char* what) {
    if (s != CUDNN_STATUS_SUCCESS) fail(CONVX_STATUS_EXECUTION_FAILED, "cuDNN %s: %s", what, cudnnGetErrorString(s));
}

cudnnDataType_t cudnnType(DType t) {
    switch (t) {
        case DType::F32: return CUDNN_DATA_FLOAT;
        case DType::F64: return CUDNN_DATA_DOUBLE;
        case DType::F16: return CUDNN_DATA_HALF;
        case DType::BF16: return CUDNN_DATA_BFLOAT16;
    }
    return CUDNN_DATA_FLOAT;
}

cudnnMathType_t cudnnMath(const Problem& p) {
    switch (p.math) {
        case CONVX_TENSOR_OP_MATH: return CUDNN_TENSOR_OP_MATH;
        case CONVX_TENSOR_OP_MATH_ALLOW_CONVERSION: return CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
        case CONVX_FMA_MATH: return CUDNN_FMA_MATH;
        case CONVX_DEFAULT_MATH: break;
    }
    // Default math would let cuDNN run fp32 as TF32 on sm80+; convx's fp32 is plain FMA.
    return p.dtype == DType::F32 ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
}

// cuDNN wants at least 2 spatial dims: a 1-D problem becomes H = 1.
struct Shape {
    int nb;
    int x[5], xs[5], y[5], ys[5], w[5];
    int pad[3], stride[3], dil[3];
};

Shape shapeOf(const Problem& p) {
    Shape s{};
    const int lead = p.nsp == 1 ? 1 : 0;
    const int nsp = p.nsp + lead;
    s.nb = nsp + 2;
    s.x[0] = int(p.N), s.x[1] = int(p.C), s.y[0] = int(p.N), s.y[1] = int(p.K), s.w[0] = int(p.K), s.w[1] = int(p.Cg());
    s.xs[0] = int(p.xStrides[0]), s.xs[1] = int(p.xStrides[1]), s.ys[0] = int(p.yStrides[0]), s.ys[1] = int(p.yStrides[1]);
    for (int j = 0; j < nsp; ++j) {
        const int i = j - lead;
        if (i < 0) {  // the unit H of a 1-D problem
            s.x[2] = s.y[2] = s.w[2] = 1;
            s.xs[2] = int(p.xStrides[2] * p.in[0]);
            s.ys[2] = int(p.yStrides[2] * p.out[0]);
            s.pad[0] = 0, s.stride[0] = 1, s.dil[0] = 1;
            continue;
        }
        s.x[2 + j] = int(p.in[i]), s.y[2 + j] = int(p.out[i]), s.w[2 + j] = int(p.ker[i]);
        s.xs[2 + j] = int(p.xStrides[2 + i]), s.ys[2 + j] = int(p.yStrides[2 + i]);
        s.pad[j] = int(p.pad[i]), s.stride[j] = int(p.stride[i]), s.dil[j] = int(p.dil[i]);
    }
    return s;
}

// Descriptors of one Problem and cuDNN's pick for it.
struct Plan {
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    int algo = -1;
    size_t workspace = 0;
    std::string whyNot;  // empty when cuDNN has an algorithm for the problem
    ~Plan() {
        if (x) cudnnDestroyTensorDescriptor(x);
        if (y) cudnnDestroyTensorDescriptor(y);
        if (w) cudnnDestroyFilterDescriptor(w);
        if (conv) cudnnDestroyConvolutionDescriptor(conv);
    }
};

// One cuDNN handle per device for queries (heuristics, workspace sizes), and the plan cache.
struct Registry {
    std::mutex m;
    std::map<int, cudnnHandle_t> queryHandles;
    std::map<std::pair<int, std::string>, std::unique_ptr<Plan>> plans;
};
Registry& registry() {
    static Registry* r = new Registry;  // never destroyed: cuDNN may already be gone at exit
    return *r;
}

int currentDevice() {
    int d = 0;
    cudaCheck(cudaGetDevice(&d), "cudaGetDevice");
    return d;
}

template <class PerfT, class F>
void pickFirst(const PerfT* perf, int n, Plan& plan, F&& workspaceOf) {
    for (int i = 0; i < n; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS) {
            plan.algo = static_cast<int>(perf[i].algo);
            plan.workspace = workspaceOf(perf[i].algo);
            return;
        }
    plan.whyNot = "cuDNN's heuristic returned no supported algorithm";
}

void buildPlan(cudnnHandle_t h, const Problem& p, Plan& plan) {
    const Shape s = shapeOf(p);
    const cudnnDataType_t dt = cudnnType(p.dtype);
    cudnnCheck(cudnnCreateTensorDescriptor(&plan.x), "cudnnCreateTensorDescriptor");
    cudnnCheck(cudnnCreateTensorDescriptor(&plan.y), "cudnnCreateTensorDescriptor");
    cudnnCheck(cudnnCreateFilterDescriptor(&plan.w), "cudnnCreateFilterDescriptor");
    cudnnCheck(cudnnCreateConvolutionDescriptor(&plan.conv), "cudnnCreateConvolutionDescriptor");
    if (cudnnSetTensorNdDescriptor(plan.x, dt, s.nb, s.x, s.xs) != CUDNN_STATUS_SUCCESS ||
        cudnnSetTensorNdDescriptor(plan.y, dt, s.nb, s.y, s.ys) != CUDNN_STATUS_SUCCESS) {
        plan.whyNot = "cuDNN rejects the tensor shapes or strides";
        return;
    }
    const cudnnTensorFormat_t wf = p.wLayout == Layout::NHWC ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    if (cudnnSetFilterNdDescriptor(plan.w, dt, wf, s.nb, s.w) != CUDNN_STATUS_SUCCESS) {
        plan.whyNot = "cuDNN rejects the filter";
        return;
    }
    const cudnnDataType_t acc = p.accType == DType::F64 ? CUDNN_DATA_DOUBLE : p.accType == DType::F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
    const cudnnConvolutionMode_t mode = p.mode == CONVX_CONVOLUTION ? CUDNN_CONVOLUTION : CUDNN_CROSS_CORRELATION;
    if (cudnnSetConvolutionNdDescriptor(plan.conv, s.nb - 2, s.pad, s.stride, s.dil, mode, acc) != CUDNN_STATUS_SUCCESS ||
        cudnnSetConvolutionGroupCount(plan.conv, int(p.G)) != CUDNN_STATUS_SUCCESS ||
        cudnnSetConvolutionMathType(plan.conv, cudnnMath(p)) != CUDNN_STATUS_SUCCESS) {
        plan.whyNot = "cuDNN rejects the convolution descriptor";
        return;
    }
    int n = 0;
    switch (p.dir) {
        case Direction::Forward: {
            cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
            cudnnCheck(cudnnGetConvolutionForwardAlgorithm_v7(h, plan.x, plan.w, plan.conv, plan.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf),
                       "cudnnGetConvolutionForwardAlgorithm_v7");
            pickFirst(perf, n, plan, [&](cudnnConvolutionFwdAlgo_t a) {
                size_t b = 0;
                cudnnCheck(cudnnGetConvolutionForwardWorkspaceSize(h, plan.x, plan.w, plan.conv, plan.y, a, &b), "workspace size");
                return b;
            });
            break;
        }
        case Direction::BackwardData: {
            cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
            cudnnCheck(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, plan.w, plan.y, plan.conv, plan.x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n,
                                                                  perf),
                       "cudnnGetConvolutionBackwardDataAlgorithm_v7");
            pickFirst(perf, n, plan, [&](cudnnConvolutionBwdDataAlgo_t a) {
                size_t b = 0;
                cudnnCheck(cudnnGetConvolutionBackwardDataWorkspaceSize(h, plan.w, plan.y, plan.conv, plan.x, a, &b), "workspace size");
                return b;
            });
            break;
        }
        case Direction::BackwardFilter: {
            cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
            cudnnCheck(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, plan.x, plan.y, plan.conv, plan.w,
                                                                    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf),
                       "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
            pickFirst(perf, n, plan, [&](cudnnConvolutionBwdFilterAlgo_t a) {
                size_t b = 0;
                cudnnCheck(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, plan.x, plan.y, plan.conv, plan.w, a, &b), "workspace size");
                return b;
            });
            break;
        }
    }
}

// The cached plan for p on the current device (built on first use).
const Plan& planFor(const Problem& p) {
    Registry& r = registry();
    const int dev = currentDevice();
    std::lock_guard<std::mutex> lock(r.m);
    auto key = std::make_pair(dev, p.str());
    auto it = r.plans.find(key);
    if (it != r.plans.end()) return *it->second;
    cudnnHandle_t& qh = r.queryHandles[dev];
    if (!qh) cudnnCheck(cudnnCreate(&qh), "cudnnCreate");
    auto plan = std::make_unique<Plan>();
    buildPlan(qh, p, *plan);
    return *(r.plans[key] = std::move(plan));
}

class Cudnn final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_CUDNN; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    unsigned directions() const override { return kAllDirections; }
    // cuDNN's deterministic algorithms are not always its heuristic pick.
    bool deterministic() const override { return false; }
    Applicability isApplicable(const Problem& p) const override {
        for (int i = 0; i < p.nsp; ++i)
            if (p.in[i] > INT32_MAX || p.out[i] > INT32_MAX) return Applicability::no("sizes beyond int");
        const Plan& plan = planFor(p);
        return plan.whyNot.empty() ? Applicability::yes() : Applicability::no(plan.whyNot);
    }
    size_t workspaceSize(const Problem& p) const override { return planFor(p).workspace; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        const Plan& plan = planFor(p);
        convxContext& h = const_cast<convxContext&>(*ctx.handle);
        if (!h.cudnn) {
            cudnnHandle_t ch = nullptr;
            cudnnCheck(cudnnCreate(&ch), "cudnnCreate");
            h.cudnn = ch;
        }
        cudnnHandle_t ch = static_cast<cudnnHandle_t>(h.cudnn);
        cudnnCheck(cudnnSetStream(ch, static_cast<cudaStream_t>(h.stream)), "cudnnSetStream");
        // alpha/beta are double for double data, float otherwise (cuDNN's rule, as convx's).
        const float af = float(s.alpha), bf = float(s.beta);
        const double ad = s.alpha, bd = s.beta;
        const void* alpha = p.dtype == DType::F64 ? static_cast<const void*>(&ad) : &af;
        const void* beta = p.dtype == DType::F64 ? static_cast<const void*>(&bd) : &bf;
        switch (p.dir) {
            case Direction::Forward:
                cudnnCheck(cudnnConvolutionForward(ch, alpha, plan.x, b.x, plan.w, b.w, plan.conv, cudnnConvolutionFwdAlgo_t(plan.algo),
                                                   ctx.workspace, ctx.workspaceBytes, beta, plan.y, b.y),
                           "cudnnConvolutionForward");
                break;
            case Direction::BackwardData:
                cudnnCheck(cudnnConvolutionBackwardData(ch, alpha, plan.w, b.w, plan.y, b.y, plan.conv,
                                                        cudnnConvolutionBwdDataAlgo_t(plan.algo), ctx.workspace, ctx.workspaceBytes, beta,
                                                        plan.x, b.x),
                           "cudnnConvolutionBackwardData");
                break;
            case Direction::BackwardFilter:
                cudnnCheck(cudnnConvolutionBackwardFilter(ch, alpha, plan.x, b.x, plan.y, b.y, plan.conv,
                                                          cudnnConvolutionBwdFilterAlgo_t(plan.algo), ctx.workspace, ctx.workspaceBytes,
                                                          beta, plan.w, b.w),
                           "cudnnConvolutionBackwardFilter");
                break;
        }
    }
};

}  // namespace

const Algorithm* cudnnAlgorithm() {
    static const Cudnn a;
    return &a;
}

void releaseCudnnHandle(convxContext& ctx) {
    if (ctx.cudnn) cudnnDestroy(static_cast<cudnnHandle_t>(ctx.cudnn));
    ctx.cudnn = nullptr;
}

}  // namespace convx
