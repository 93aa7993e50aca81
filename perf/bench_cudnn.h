// The cuDNN columns of convx-bench: cuDNN called directly through its legacy API (not through
// convx), on descriptors built from the Problem the way convx's own fallback builds them
// (1-D problems as H = 1, fp32 with FMA math unless the problem's math type allows tensor ops).
//
// Per problem, setProblem() lists every algorithm cuDNN has for the direction, in the order of
// its heuristic (cudnnGet*Algorithm_v7), with each one's status and workspace
// (cudnnGet*WorkspaceSize); makeRunner() gives a Runner for one of them, which the bench times
// exactly as it times convx's algorithms. From those runs the bench derives
//   cudnn_heur  the heuristic's top-1: the first entry with status SUCCESS,
//   cudnn_find  Find-best: the fastest of every entry that ran (and passed the check).
// Built only with CONVX_HAVE_CUDNN (perf/bench_cudnn.cpp); without it makeCudnnBench() answers
// nullptr with the reason. This header does not include cudnn.h.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "bench_runner.h"
#include "problem.h"

namespace convxbench {

// One entry of cuDNN's list for a problem.
struct CudnnAlgo {
    int algo = -1;      // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t
    int mathType = 0;   // cudnnMathType_t the entry runs with
    std::string name;   // "IMPLICIT_PRECOMP_GEMM", with "/tensor_op" etc. when its math type
                        // differs from the one the problem asks for
    int rank = 0;       // position in the heuristic's list, 0 = first
    bool supported = false;  // status SUCCESS
    std::string status;      // cuDNN's status name for the entry
    size_t workspace = 0;    // bytes (valid when supported)
    std::string label() const { return "cudnn:" + name; }
};

class CudnnBench {
public:
    virtual ~CudnnBench() = default;
    // "9.19.0 (built with 9.19.0)"
    virtual std::string version() const = 0;
    // Builds the descriptors for p and returns cuDNN's list for its direction, heuristic order.
    // Throws std::runtime_error when cuDNN rejects the problem (the reason in the message).
    virtual std::vector<CudnnAlgo> setProblem(const convx::Problem& p) = 0;
    // A runner for one supported entry of the last setProblem() list; its name is a.label().
    virtual std::unique_ptr<Runner> makeRunner(const CudnnAlgo& a) = 0;
};

// A cuDNN handle on the bench's stream (cudaStream_t). nullptr with the reason in *why when
// convx-bench was built without cuDNN or cudnnCreate fails.
std::unique_ptr<CudnnBench> makeCudnnBench(void* stream, std::string* why);

// True when convx-bench was built with cuDNN (CONVX_HAVE_CUDNN).
bool builtWithCudnn();

}  // namespace convxbench
