// The PyTorch columns of convx-bench (CPU backend): the problem through PyTorch's C++ ATen API
// (Debian's libtorch-dev, PyTorch 1.13 CPU), called directly by the bench, the way a PyTorch
// training step runs a convolution layer.
//
//   torch         at::convolution (forward) and at::convolution_backward with an output_mask
//                 (backward-data: grad_input only; weight gradient: grad_weight only), with
//                 PyTorch's default settings: its backend selection picks oneDNN ("mkldnn",
//                 Debian builds it against the system libdnnl) for most CPU convolutions,
//                 otherwise its own kernels.
//   torch_native  the same calls with oneDNN disabled (at::Context::setUserEnabledMkldnn(false),
//                 what torch.backends.mkldnn.enabled = False does): PyTorch's own CPU kernels,
//                 im2col ("unfold") + GEMM per group ("Slow2d"/"SlowDilated2d"), the GEMM from the
//                 system BLAS. This is the PyTorch path of machines without oneDNN (most ARM
//                 builds) that papers on direct depthwise kernels compare with.
//
// The tensors are the bench's own buffers wrapped with at::from_blob, in the problem's layout
// and strides (NHWC problems are channels_last tensors). PyTorch allocates its result, so the
// timing includes that allocation (as in PyTorch) and the copy into the bench's output buffer
// happens after the run, untimed. Backward-data is given a zero input tensor of x's shape (it
// reads only the shape), the weight gradient a zero filter of w's shape, both made once per
// problem. No autograd (c10::InferenceMode). fp32 and fp64, cross-correlation only (PyTorch has
// no mirrored-tap mode), 1-D/2-D/3-D; alpha 1, beta 0 (the bench's runs). Threads:
// at::set_num_threads(--threads) (0 leaves PyTorch's default). The row's message names the
// backend PyTorch selected (at::native::select_conv_backend). Built only with
// CONVX_BENCH_HAVE_TORCH (perf/bench_torch.cpp); without it the columns are unknown names.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench_runner.h"

namespace convxbench {

// "torch", "torch_native".
bool isTorchColumn(const std::string& name);

// The PyTorch columns "--algo=all" adds on the CPU (empty without libtorch).
std::vector<std::string> torchColumns();

// A runner for one PyTorch column; nullptr with the reason when the bench was built without
// libtorch or the backend is not the CPU.
std::unique_ptr<Runner> makeTorchRunner(const std::string& name, ConvxApi& api, std::string* why);

// "1.13.0 (oneDNN on)", or "" without libtorch.
std::string torchVersion();

}  // namespace convxbench
