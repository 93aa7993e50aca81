// convx-bench's chain mode (--chain=resnet50,mobilenetv2 --mb=1,32 --hw=224): whole networks
// (tests/nets.h) timed end to end as a fused GCONV chain, the same chain unfused (every layer
// its own GCONV), and, on CUDA builds with cuDNN, a layer-by-layer cuDNN pipeline of the same
// math (bench_chain_cudnn.cpp). One Row per (network, batch, runner), in the bench's table,
// CSV and JSON.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench_device.h"
#include "bench_report.h"
#include "nets.h"

namespace convxbench {

struct ChainBenchOptions {
    std::vector<std::string> nets;  // "resnet50", "mobilenetv2"
    std::vector<int> batches{1};
    int hw = 224;
    bool nhwc = false;
    int threads = 0;
    int iters = 5, warmup = 1, minIters = 0;
    double minTime = 0.1;
    long maxIters = 100000;
    uint64_t seed = 1;
    bool check = true;
    double tol = 1e-4;  // relative L2 of each runner's output against the unfused chain's
    bool cudnn = false; // add the cudnn_layers column (CUDA builds with cuDNN)
};

// A whole-network runner over device tensors: one input, one output (both packed, the chain's
// layout).
class NetPipeline {
public:
    virtual ~NetPipeline() = default;
    virtual std::string name() const = 0;
    virtual size_t workspaceBytes() const = 0;
    virtual void run(const void* x, void* y, void* workspace) = 0;  // asynchronous on a GPU
    virtual std::string note() const { return ""; }
};

// The cuDNN layer-by-layer pipeline: nullptr with the reason when the bench was built without
// cuDNN or the network has a layer it does not map (bench_chain_cudnn.cpp).
std::unique_ptr<NetPipeline> makeCudnnPipeline(const nets::NetSpec& net, bool nhwc, Device& dev, std::string* why);

// Runs every (net, batch); throws std::runtime_error for a usage problem (unknown network).
std::vector<Row> runChainBench(Device& dev, const ChainBenchOptions& o);

// Multiply-adds x2 of the convolutions and fully connected layers of a net.
double netFlops(const nets::NetSpec& net);

}  // namespace convxbench
