// The XNNPACK column of convx-bench ("xnnpack", CPU backend, forward only): the problem through
// XNNPACK's NHWC convolution operator (xnn_create_convolution2d_nhwc_f32), called directly by the
// bench. XNNPACK is the inference library of TensorFlow Lite and PyTorch Mobile; Debian's
// libxnnpack-dev is a 2022-02 snapshot.
//
// What is timed: xnn_run_operator only. Outside the timing: the operator is created once per
// problem on the first run's filter (XNNPACK packs the weights there; every buffer set the bench
// rotates holds the same filter), xnn_setup_convolution2d_nhwc_f32 binds each run's x and y
// before it (it rebuilds the indirection buffer when the pointers change), and a problem whose x
// or y is not packed NHWC runs on NHWC copies: x reordered in once per buffer set, y reordered
// out after each run (XNNPACK's best case: a framework that keeps activations in NHWC).
//
// Coverage: forward, f32, cross-correlation (CONVOLUTION mode mirrors the taps while the filter
// is repacked, at creation), 1-D (as H = 1) and 2-D, any groups, padding, stride, dilation; no
// bias, output range (-inf, inf); alpha 1, beta 0 (the bench's runs). Anything else is n/a with
// the reason. Threads: a pthreadpool of the bench's --threads (0: the OpenMP default count).
// Built only with CONVX_BENCH_HAVE_XNNPACK; without it the column is an unknown name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench_runner.h"

namespace convxbench {

constexpr const char* kXnnpackColumn = "xnnpack";

// The XNNPACK columns "--algo=all" adds on the CPU (empty without XNNPACK).
std::vector<std::string> xnnpackColumns();

// A runner for the xnnpack column; nullptr with the reason when the bench was built without
// XNNPACK or the backend is not the CPU.
std::unique_ptr<Runner> makeXnnpackRunner(ConvxApi& api, std::string* why);

// "Debian libxnnpack-dev 0.0~git20220216 (operator API)", or "" without XNNPACK.
std::string xnnpackVersion();

}  // namespace convxbench
