// The cudnn_layers column of convx-bench's chain mode: a network run layer by layer with
// cuDNN's legacy calls, as a framework without fusion runs it — cudnnConvolutionForward
// (+ cudnnAddTensor for a bias), cudnnBatchNormalizationForwardInference,
// cudnnActivationForward, cudnnPoolingForward, cudnnOpTensor (residual add),
// cudnnSoftmaxForward — fp32 with FMA math (no TF32), each layer's output in its own buffer,
// on the bench's stream. Built only with CONVX_HAVE_CUDNN. Not run on a GPU yet.
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_chain.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace convxbench {

namespace {

void check(cudnnStatus_t s, const char* what) {
    if (s != CUDNN_STATUS_SUCCESS) throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(s));
}

struct LayerState {
    cudnnTensorDescriptor_t y = nullptr;      // the layer's output
    cudnnTensorDescriptor_t vec = nullptr;    // 1 x C x 1 x 1: bias, batch-norm vectors
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    cudnnActivationDescriptor_t act = nullptr;
    cudnnPoolingDescriptor_t pool = nullptr;
    cudnnOpTensorDescriptor_t op = nullptr;
    void* out = nullptr;                      // device buffer (not for the input or the output)
    std::vector<void*> params;                // weight, bias, or gamma/beta/mean/var
};

class CudnnPipeline final : public NetPipeline {
public:
    CudnnPipeline(const nets::NetSpec& net, bool nhwc, Device& dev) : net_(net), dev_(dev) {
        check(cudnnCreate(&h_), "cudnnCreate");
        check(cudnnSetStream(h_, static_cast<cudaStream_t>(dev.stream())), "cudnnSetStream");
        const cudnnTensorFormat_t fmt = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
        st_.resize(net.layers.size());
        for (size_t i = 0; i < net.layers.size(); ++i) {
            const nets::NetLayer& l = net.layers[i];
            LayerState& s = st_[i];
            check(cudnnCreateTensorDescriptor(&s.y), "cudnnCreateTensorDescriptor");
            check(cudnnSetTensor4dDescriptor(s.y, fmt, CUDNN_DATA_FLOAT, l.n, l.c, l.h, l.w), "cudnnSetTensor4dDescriptor");
            const bool isOutput = int(i) == net.outputs.at(0);
            if (l.kind != nets::Kind::Input && !isOutput) s.out = alloc(size_t(l.n) * l.c * l.h * l.w * sizeof(float));
            auto vec = [&](const std::vector<float>& v) {
                void* p = alloc(v.size() * sizeof(float));
                dev.upload(p, v.data(), v.size() * sizeof(float));
                s.params.push_back(p);
            };
            if (l.kind == nets::Kind::Conv || l.kind == nets::Kind::FullyConnected || l.kind == nets::Kind::BatchNorm) {
                check(cudnnCreateTensorDescriptor(&s.vec), "cudnnCreateTensorDescriptor");
                check(cudnnSetTensor4dDescriptor(s.vec, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, l.c, 1, 1), "cudnnSetTensor4dDescriptor");
            }
            switch (l.kind) {
            case nets::Kind::Input: break;
            case nets::Kind::Conv:
            case nets::Kind::FullyConnected: {
                const nets::NetLayer& x = net.layers[l.in[0]];
                const bool fc = l.kind == nets::Kind::FullyConnected;
                const int g = fc ? 1 : l.groups, cg = x.c / g, r = fc ? x.h : l.r, sw = fc ? x.w : l.s;
                std::vector<float> w = l.weight;
                if (nhwc) {  // KCRS -> KRSC
                    for (int k = 0; k < l.k; ++k)
                        for (int c = 0; c < cg; ++c)
                            for (int rs = 0; rs < r * sw; ++rs) w[(size_t(k) * r * sw + rs) * cg + c] = l.weight[(size_t(k) * cg + c) * r * sw + rs];
                }
                vec(w);
                if (!l.bias.empty()) vec(l.bias);
                check(cudnnCreateFilterDescriptor(&s.w), "cudnnCreateFilterDescriptor");
                check(cudnnSetFilter4dDescriptor(s.w, CUDNN_DATA_FLOAT, fmt, l.k, cg, r, sw), "cudnnSetFilter4dDescriptor");
                check(cudnnCreateConvolutionDescriptor(&s.conv), "cudnnCreateConvolutionDescriptor");
                check(cudnnSetConvolution2dDescriptor(s.conv, fc ? 0 : l.padH, fc ? 0 : l.padW, fc ? 1 : l.strideH, fc ? 1 : l.strideW,
                                                      fc ? 1 : l.dilH, fc ? 1 : l.dilW, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                      "cudnnSetConvolution2dDescriptor");
                check(cudnnSetConvolutionGroupCount(s.conv, g), "cudnnSetConvolutionGroupCount");
                check(cudnnSetConvolutionMathType(s.conv, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");
                // The heuristic's top-1 that supports the problem (cudnnGet*_v7), as frameworks do
                // without benchmark mode.
                cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
                int n = 0;
                check(cudnnGetConvolutionForwardAlgorithm_v7(h_, st_[l.in[0]].y, s.w, s.conv, s.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf),
                      "cudnnGetConvolutionForwardAlgorithm_v7");
                bool found = false;
                for (int a = 0; a < n && !found; ++a)
                    if (perf[a].status == CUDNN_STATUS_SUCCESS && perf[a].mathType == CUDNN_FMA_MATH) {
                        s.algo = perf[a].algo;
                        found = true;
                    }
                if (!found) throw std::runtime_error("cuDNN has no FMA algorithm for layer " + std::to_string(i));
                size_t ws = 0;
                check(cudnnGetConvolutionForwardWorkspaceSize(h_, st_[l.in[0]].y, s.w, s.conv, s.y, s.algo, &ws),
                      "cudnnGetConvolutionForwardWorkspaceSize");
                ws_ = std::max(ws_, ws);
                break;
            }
            case nets::Kind::BatchNorm:
                vec(l.gamma), vec(l.beta), vec(l.mean), vec(l.var);
                break;
            case nets::Kind::Activation: {
                cudnnActivationMode_t m;
                double coef = 0;
                switch (l.act) {
                case CONVX_CHAIN_RELU: m = CUDNN_ACTIVATION_RELU; break;
                case CONVX_CHAIN_RELU6: m = CUDNN_ACTIVATION_CLIPPED_RELU, coef = 6.0; break;
                case CONVX_CHAIN_SIGMOID: m = CUDNN_ACTIVATION_SIGMOID; break;
                case CONVX_CHAIN_TANH: m = CUDNN_ACTIVATION_TANH; break;
                default: throw std::runtime_error("cudnnActivationForward has no leaky ReLU");
                }
                check(cudnnCreateActivationDescriptor(&s.act), "cudnnCreateActivationDescriptor");
                check(cudnnSetActivationDescriptor(s.act, m, CUDNN_NOT_PROPAGATE_NAN, coef), "cudnnSetActivationDescriptor");
                break;
            }
            case nets::Kind::Pooling: {
                const bool mx = l.pool == CONVX_CHAIN_POOL_MAX || l.pool == CONVX_CHAIN_POOL_GLOBAL_MAX;
                check(cudnnCreatePoolingDescriptor(&s.pool), "cudnnCreatePoolingDescriptor");
                check(cudnnSetPooling2dDescriptor(s.pool, mx ? CUDNN_POOLING_MAX : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING,
                                                  CUDNN_NOT_PROPAGATE_NAN, l.r, l.s, l.padH, l.padW, l.strideH, l.strideW),
                      "cudnnSetPooling2dDescriptor");
                break;
            }
            case nets::Kind::Add:
                check(cudnnCreateOpTensorDescriptor(&s.op), "cudnnCreateOpTensorDescriptor");
                check(cudnnSetOpTensorDescriptor(s.op, CUDNN_OP_TENSOR_ADD, CUDNN_DATA_FLOAT, CUDNN_NOT_PROPAGATE_NAN),
                      "cudnnSetOpTensorDescriptor");
                break;
            case nets::Kind::Softmax: break;
            default: throw std::runtime_error("the cuDNN pipeline does not map concat, upsample or LRN layers");
            }
        }
        if (ws_) ownWs_ = alloc(ws_);
    }
    ~CudnnPipeline() override {
        for (LayerState& s : st_) {
            if (s.y) cudnnDestroyTensorDescriptor(s.y);
            if (s.vec) cudnnDestroyTensorDescriptor(s.vec);
            if (s.w) cudnnDestroyFilterDescriptor(s.w);
            if (s.conv) cudnnDestroyConvolutionDescriptor(s.conv);
            if (s.act) cudnnDestroyActivationDescriptor(s.act);
            if (s.pool) cudnnDestroyPoolingDescriptor(s.pool);
            if (s.op) cudnnDestroyOpTensorDescriptor(s.op);
        }
        for (void* p : allocs_) dev_.release(p);
        if (h_) cudnnDestroy(h_);
    }
    std::string name() const override { return "cudnn_layers"; }
    // The cuDNN workspace lives inside the pipeline (the layers' buffers too): nothing to pass.
    size_t workspaceBytes() const override { return 0; }
    void run(const void* x, void* y, void*) override {
        const float one = 1.f, zero = 0.f;
        std::vector<const void*> ptr(st_.size());
        for (size_t i = 0; i < net_.layers.size(); ++i) {
            const nets::NetLayer& l = net_.layers[i];
            LayerState& s = st_[i];
            void* out = int(i) == net_.outputs.at(0) ? y : s.out;
            ptr[i] = l.kind == nets::Kind::Input ? x : out;
            if (l.kind == nets::Kind::Input) continue;
            const int a = l.in[0];
            const cudnnTensorDescriptor_t xd = st_[a].y;
            switch (l.kind) {
            case nets::Kind::Conv:
            case nets::Kind::FullyConnected:
                check(cudnnConvolutionForward(h_, &one, xd, ptr[a], s.w, s.params[0], s.conv, s.algo, ownWs_, ws_, &zero, s.y, out),
                      "cudnnConvolutionForward");
                if (s.params.size() > 1) check(cudnnAddTensor(h_, &one, s.vec, s.params[1], &one, s.y, out), "cudnnAddTensor");
                break;
            case nets::Kind::BatchNorm:
                check(cudnnBatchNormalizationForwardInference(h_, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd, ptr[a], s.y, out, s.vec,
                                                              s.params[0], s.params[1], s.params[2], s.params[3], double(l.eps)),
                      "cudnnBatchNormalizationForwardInference");
                break;
            case nets::Kind::Activation:
                check(cudnnActivationForward(h_, s.act, &one, xd, ptr[a], &zero, s.y, out), "cudnnActivationForward");
                break;
            case nets::Kind::Pooling:
                check(cudnnPoolingForward(h_, s.pool, &one, xd, ptr[a], &zero, s.y, out), "cudnnPoolingForward");
                break;
            case nets::Kind::Add:
                check(cudnnOpTensor(h_, s.op, &one, xd, ptr[a], &one, st_[l.in[1]].y, ptr[l.in[1]], &zero, s.y, out), "cudnnOpTensor");
                break;
            case nets::Kind::Softmax:
                check(cudnnSoftmaxForward(h_, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, &one, xd, ptr[a], &zero, s.y, out),
                      "cudnnSoftmaxForward");
                break;
            default: break;
            }
        }
    }
    std::string note() const override {
        return "cuDNN " + std::to_string(cudnnGetVersion()) + ", FMA math, heuristic top-1 per convolution, one buffer per layer";
    }

private:
    void* alloc(size_t bytes) {
        void* p = dev_.alloc(bytes ? bytes : 4);
        allocs_.push_back(p);
        return p;
    }
    const nets::NetSpec& net_;
    Device& dev_;
    cudnnHandle_t h_ = nullptr;
    std::vector<LayerState> st_;
    std::vector<void*> allocs_;
    size_t ws_ = 0;
    void* ownWs_ = nullptr;
};

}  // namespace

std::unique_ptr<NetPipeline> makeCudnnPipeline(const nets::NetSpec& net, bool nhwc, Device& dev, std::string* why) {
    try {
        return std::make_unique<CudnnPipeline>(net, nhwc, dev);
    } catch (const std::exception& e) {
        if (why) *why = e.what();
        return nullptr;
    }
}

}  // namespace convxbench
