// The columns of the bench. A Runner runs one problem on tensors that already live on the
// device: a convx algorithm through the public C API (exactly as users call it), or one cuDNN
// algorithm called directly (bench_cudnn.h), from whose runs the bench derives cuDNN's
// Find-best and heuristic top-1 columns. Any column can be the baseline the others are
// compared with.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "convx/convx.h"
#include "problem.h"

namespace convxbench {

// Device pointers by role: forward reads x, w and writes y; backward-data reads w, y (= dy) and
// writes x (= dx); backward-filter reads x, y (= dy) and writes w (= dw).
struct Tensors {
    void* x = nullptr;
    void* w = nullptr;
    void* y = nullptr;
};

// A failed call: its status and the library's message.
class RunError : public std::runtime_error {
public:
    RunError(convxStatus_t s, const std::string& msg) : std::runtime_error(msg), status_(s) {}
    convxStatus_t status() const { return status_; }

private:
    convxStatus_t status_;
};

class Runner {
public:
    virtual ~Runner() = default;
    virtual std::string name() const = 0;
    // Makes the runner ready for this problem; false, with the reason, when it does not apply.
    virtual bool prepare(const convx::Problem& p, std::string* why) = 0;
    virtual size_t workspaceBytes() const = 0;
    // Launches one run with alpha 1, beta 0 (asynchronous on a GPU); throws RunError.
    virtual void run(const Tensors& t, void* workspace, size_t workspaceBytes) = 0;
    // After prepare(): a short text for the row's message (e.g. the implementation a peer
    // library picked), and a longer one for the CSV/JSON note; "" when there is nothing to say.
    virtual std::string message() const { return ""; }
    virtual std::string note() const { return ""; }
    // Work around a run that is not part of its time (e.g. a peer library's reorders into and
    // out of its own formats); called before and after every run, outside the timer.
    virtual void beforeRun(const Tensors&) {}
    virtual void afterRun(const Tensors&) {}
};

// One convx handle and, per problem, the descriptors a user would build for it: Nd tensor
// descriptors with the problem's strides, an Nd filter descriptor in its format, an Nd
// convolution descriptor with its group count and math type.
class ConvxApi {
public:
    // Throws RunError when the backend cannot be used (e.g. CONVX_STATUS_NOT_SUPPORTED_BACKEND).
    ConvxApi(convxBackend_t backend, int threads, void* stream);
    ~ConvxApi();
    ConvxApi(const ConvxApi&) = delete;
    ConvxApi& operator=(const ConvxApi&) = delete;

    convxBackend_t backend() const { return backend_; }
    int threads() const;  // the handle's thread count (0 = OpenMP default)
    void* stream() const { return stream_; }  // the stream given at construction (nullptr on the CPU)
    // Builds the descriptors; throws RunError. Returns a note when the library reads them back
    // as a different problem than p (e.g. a layout its strides leave ambiguous), else "".
    std::string setProblem(const convx::Problem& p);
    const convx::Problem& problem() const { return problem_; }
    size_t workspaceSize(convxConvAlgo_t algo) const;  // throws RunError
    void run(convxConvAlgo_t algo, const Tensors& t, void* workspace, size_t bytes) const;  // throws RunError
    // The algorithm AUTO picks for the problem (the selector's first applicable); throws RunError.
    convxConvAlgo_t autoPick() const;

private:
    void freeDescriptors();
    convxBackend_t backend_;
    void* stream_ = nullptr;
    convxHandle_t handle_ = nullptr;
    convxTensorDescriptor_t x_ = nullptr, y_ = nullptr;
    convxFilterDescriptor_t w_ = nullptr;
    convxConvolutionDescriptor_t conv_ = nullptr;
    convx::Problem problem_;
};

// The message of the calling thread's last convx failure.
std::string lastConvxError();

// "reference", "auto", any convx algorithm name or id (see convxGetAlgorithmName), the peer
// columns "onednn", "onednn_any", "onednn_deconv" (bench_onednn.h), "xnnpack" (bench_xnnpack.h),
// "torch", "torch_native" (bench_torch.h), all CPU only, and the "zeroins" baseline
// (bench_zeroins.h). nullptr with the reason for an unknown name, and for the cuDNN columns,
// which are not one runner but made per problem (see isCudnnColumn and bench_cudnn.h).
std::unique_ptr<Runner> makeRunner(const std::string& name, ConvxApi& api, std::string* why);

// "cudnn_find" and "cudnn_heur": cuDNN called directly, Find-best and the heuristic's top-1.
bool isCudnnColumn(const std::string& name);

// Every convx algorithm the backend has, in registry (priority) order, by name.
std::vector<std::string> backendAlgorithms(convxBackend_t backend);

}  // namespace convxbench
