// GCONV chains: a CNN (inference) built layer by layer, lowered to GCONV steps (src/gconv.h),
// fused, given one planned workspace, and run on the handle's backend through gconvForward.
//
//   build     add* calls: each layer checks its inputs and records its output shape and a copy
//             of its weights (PyTorch layouts)
//   lower     each layer -> one or more GCONV steps over "values" (the layers' tensors plus the
//             lowering's temporaries)                                       (chain_lower.cpp)
//   fuse      a pointwise step (batch norm, activation, residual add) merges into the step that
//             produces its input when that value has exactly one consumer and is not an output
//   place     concat members are written straight into their channel slice of the concat
//   plan      liveness intervals of the workspace storages, first-fit offsets; engine workspace
//             after them                                                     (chain_plan.cpp)
//   execute   one gconvForward per step on the handle's stream
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "context.h"
#include "gconv.h"
#include "problem.h"

namespace convx {

enum class LayerKind { Input, Conv, BatchNorm, Activation, MaxPool, AvgPool, GlobalMax, GlobalAvg, FullyConnected, Add, Concat, Upsample, LRN, Softmax };
enum class ActKind { Relu = 0, Relu6 = 1, Sigmoid = 2, Tanh = 3, LeakyRelu = 4 };
const char* layerKindName(LayerKind k);

struct Shape4 {
    int64_t n = 1, c = 1, h = 1, w = 1;
    int64_t elems() const { return n * c * h * w; }
    bool operator==(const Shape4& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
    bool operator!=(const Shape4& o) const { return !(*this == o); }
};

struct Layer {
    LayerKind kind = LayerKind::Input;
    std::vector<int> in;  // producer layer ids
    Shape4 out;
    // convolution / pooling window / fully connected (R = H, S = W of the input)
    int64_t K = 0, R = 1, S = 1, groups = 1;
    int64_t stride[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1};
    std::vector<float> w, bias;                    // conv OIHW, fc [out, in]
    std::vector<float> mean, var, gamma, beta;     // batch norm
    float eps = 1e-5f;
    ActKind act = ActKind::Relu;
    float param = 0.f;                             // leaky slope
    int64_t size = 1;                              // LRN
    float lrnAlpha = 1e-4f, lrnBeta = 0.75f, lrnK = 1.f;
    int64_t scale[2] = {1, 1};                     // upsample
};

// A tensor of the lowered chain: layer ids 0..L-1 are the layers' outputs, larger ids are the
// lowering's temporaries (softmax's max, LRN's divisor, concat copies).
struct Value {
    Shape4 s;
    int layer = -1;        // the layer it belongs to (temporaries: the layer that made them)
    int input = -1;        // index among the chain inputs, or -1
    int output = -1;       // index among the chain outputs, or -1
    int alias = -1;        // concat: the value whose channel slice this one is
    int64_t chanOff = 0;   // channel offset inside alias
    // planning (roots only)
    int64_t first = -1, last = -1;  // live interval in step indices
    int64_t slot = -1;              // workspace storage number (-1: user buffer)
    size_t offset = 0, bytes = 0;   // byte range inside the workspace
};

// One GCONV of the chain. x, y, z are value ids; the per-channel vectors are owned here and the
// filter is a layer's (or owned, `wOwn`, for synthetic filters).
struct Step {
    GconvProblem gp;
    int x = -1, y = -1, z = -1;
    int wLayer = -1;                 // filter = layers[wLayer].w (permuted for NHWC at pack time)
    std::vector<float> wOwn;         // or a synthetic filter (K x C/G x R x S)
    std::vector<float> preScale, preShift, postScale, postShift;
    int64_t yPhase[2] = {0, 0};      // upsample: y is the sub-grid (phase + step * i)
    int64_t yStep[2] = {1, 1};
    bool pointwise = false;          // 1x1 depthwise PASS of x, no pre op: may fuse into x's producer
    std::vector<int> layers;         // the layers this step computes (after fusion: several)
    // packed parameter offsets (floats into the chain's parameter block), -1 = none
    int64_t wOff = -1, preScaleOff = -1, preShiftOff = -1, postScaleOff = -1, postShiftOff = -1;
};

class Chain {
public:
    Chain(convxContext* handle, Layout layout, DType dtype);
    ~Chain();
    Chain(const Chain&) = delete;
    Chain& operator=(const Chain&) = delete;

    // Building: every call validates and throws Error naming the argument.
    int addInput(Shape4 s);
    int addConv(int in, int64_t K, int64_t R, int64_t S, const int64_t stride[2], const int64_t pad[2], const int64_t dil[2], int64_t groups,
                const float* w, const float* bias);
    int addBatchNorm(int in, const float* mean, const float* var, const float* gamma, const float* beta, float eps);
    int addActivation(int in, ActKind a, float param);
    int addPooling(int in, LayerKind kind, int64_t R, int64_t S, const int64_t stride[2], const int64_t pad[2]);
    int addFullyConnected(int in, int64_t outFeatures, const float* w, const float* bias);
    int addAdd(int a, int b);
    int addConcat(const int* in, int count);
    int addUpsample(int in, int64_t sh, int64_t sw);
    int addLRN(int in, int64_t size, float alpha, float beta, float k);
    int addSoftmax(int in);
    void markOutput(int id);

    void finalize(bool fuse);
    bool finalized() const { return finalized_; }
    size_t workspaceSize() const;
    std::string describe() const;
    Shape4 shape(int id) const;
    void execute(const void* const* inputs, void* const* outputs, void* workspace, size_t bytes);

    // Introspection for tests and the bench.
    const std::vector<Layer>& layers() const { return layers_; }
    const std::vector<Step>& steps() const { return steps_; }
    const std::vector<Value>& values() const { return values_; }
    int numInputs() const { return numInputs_; }
    int numOutputs() const { return static_cast<int>(outputs_.size()); }
    Layout layout() const { return layout_; }
    size_t intermediateBytes() const { return interBytes_; }
    size_t engineBytes() const { return engineBytes_; }
    // Debug (CPU backend, or CONVX_CHAIN_POISON=1): NaN-fill the workspace before a run and each
    // storage after its last reader, so a plan that aliased live tensors shows up as NaN.
    void setPoison(bool on) { poison_ = on; }
    // Throws INTERNAL_ERROR when two storages whose live intervals meet share bytes, or a step
    // reads a value before any step wrote it.
    void checkPlan() const;
    int root(int v) const;
    int64_t rootChannelOffset(int v) const;

private:
    int addLayer(Layer l);
    const Layer& layerArg(int id, const char* arg) const;
    void requireBuilding() const;

    // chain_lower.cpp
    void lower();
    void fuse();
    void placeConcats();
    // chain_plan.cpp
    void plan();
    void packParameters();
    Strides stridesOf(int v) const;  // element strides of value v inside its root storage

    convxContext* h_;
    Layout layout_;
    DType dtype_;
    std::vector<Layer> layers_;
    std::vector<int> outputs_;  // layer ids in Mark order
    int numInputs_ = 0;
    bool finalized_ = false;
    bool fused_ = false;
    bool poison_ = false;

    std::vector<Value> values_;
    std::vector<Step> steps_;
    size_t interBytes_ = 0, engineBytes_ = 0;
    std::vector<float> params_;  // packed filters and vectors (host)
    void* devParams_ = nullptr;  // CUDA: the uploaded copy
    friend struct ChainLowering;
};

}  // namespace convx

// The object behind convxChain_t.
struct convxChainStruct {
    std::unique_ptr<convx::Chain> chain;
};
