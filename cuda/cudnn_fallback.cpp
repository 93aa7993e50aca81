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
#include "cudnn_problem.h"
#include "error.h"

namespace convx {

namespace {

void cudnnCheck(cudnnStatus_t s, const char* what) {
    if (s != CUDNN_STATUS_SUCCESS) fail(CONVX_STATUS_EXECUTION_FAILED, "cuDNN %s: %s", what, cudnnGetErrorString(s));
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
    const CudnnShape s = cudnnShapeOf(p);
    const cudnnDataType_t dt = cudnnDataTypeOf(p.dtype);
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
    if (cudnnSetConvolutionNdDescriptor(plan.conv, s.nb - 2, s.pad, s.stride, s.dil, cudnnModeOf(p), cudnnComputeTypeOf(p)) !=
            CUDNN_STATUS_SUCCESS ||
        cudnnSetConvolutionGroupCount(plan.conv, int(p.G)) != CUDNN_STATUS_SUCCESS ||
        cudnnSetConvolutionMathType(plan.conv, cudnnMathTypeFor(p)) != CUDNN_STATUS_SUCCESS) {
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
        try {
            cudnnShapeOf(p);
        } catch (const Error& e) {
            return Applicability::no(e.what());
        }
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
