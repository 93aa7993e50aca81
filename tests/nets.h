// Real networks as layer lists (torchvision definitions), with random weights from a seed, and
// their construction as a convx chain through the C API. Shared by the tests (tests/test_chain.cpp,
// which also evaluates a NetSpec layer by layer in float64) and the bench's chain mode
// (perf/convx-bench --chain=...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "convx/convx.h"

namespace nets {

enum class Kind { Input, Conv, BatchNorm, Activation, Pooling, FullyConnected, Add, Concat, Upsample, LRN, Softmax };

// One layer as the C API takes it; weights in PyTorch layouts.
struct NetLayer {
    Kind kind = Kind::Input;
    std::vector<int> in;                       // indices of earlier layers
    int n = 1, c = 1, h = 1, w = 1;            // Input: the shape; every layer: its output shape
    int k = 0, r = 1, s = 1, strideH = 1, strideW = 1, padH = 0, padW = 0, dilH = 1, dilW = 1, groups = 1;
    std::vector<float> weight, bias;           // conv K x C/g x R x S; fc [out, C*H*W]
    std::vector<float> mean, var, gamma, beta; // batch norm
    float eps = 1e-5f;
    convxChainActivation_t act = CONVX_CHAIN_RELU;
    float param = 0.f;                         // leaky slope
    convxChainPooling_t pool = CONVX_CHAIN_POOL_MAX;
    int scaleH = 1, scaleW = 1;                // upsample
    int size = 5;                              // LRN
    float alpha = 1e-4f, lrnBeta = 0.75f, lrnK = 1.f;
};

struct NetSpec {
    std::string name;
    std::vector<NetLayer> layers;
    std::vector<int> outputs;
};

// Appends layers with random weights (uniform, He-scaled, from the builder's seed) and tracks
// output shapes the way the chain computes them.
class NetBuilder {
public:
    explicit NetBuilder(std::string name, uint64_t seed);
    int input(int n, int c, int h, int w);
    int conv(int x, int k, int r, int s, int stride, int pad, int groups = 1, bool bias = false, int dil = 1);
    int bn(int x);
    int act(int x, convxChainActivation_t a, float param = 0.f);
    int pool(int x, convxChainPooling_t mode, int r = 1, int stride = 1, int pad = 0);
    int fc(int x, int out, bool bias = true);
    int add(int a, int b);
    int concat(const std::vector<int>& xs);
    int upsample(int x, int sh, int sw);
    int lrn(int x, int size, float alpha, float beta, float k);
    int softmax(int x);
    void output(int x) { spec_.outputs.push_back(x); }
    const NetLayer& layer(int i) const { return spec_.layers[i]; }
    NetSpec take() { return std::move(spec_); }

private:
    float uniform(float lo, float hi);
    int push(NetLayer l);
    NetSpec spec_;
    uint64_t state_;
};

// torchvision resnet50 / mobilenet_v2 (width 1.0), 1000 classes, input batch x 3 x hw x hw.
NetSpec resnet50(int batch, int hw, uint64_t seed);
NetSpec mobilenetv2(int batch, int hw, uint64_t seed);
// By name: "resnet50" or "mobilenetv2"; throws std::invalid_argument for another name.
NetSpec byName(const std::string& name, int batch, int hw, uint64_t seed);

// Adds every layer and marks the outputs; returns the first failing status (ids[i] = the chain
// id of layer i when not null).
convxStatus_t addToChain(const NetSpec& net, convxChain_t chain, std::vector<int>* ids = nullptr);

}  // namespace nets
