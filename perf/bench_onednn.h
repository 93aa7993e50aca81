// The oneDNN columns of convx-bench (CPU backend): the same problem through oneDNN's own
// primitives, called directly by the bench, so every convx CPU algorithm can be compared with
// the incumbent CPU library in one run.
//
//   onednn         convolution_forward (forward_inference), convolution_backward_data or
//                  convolution_backward_weights on the problem's own tensors: every operand in
//                  the problem's layout and strides (plain formats, no reorder), the contract
//                  convx's algorithms work under.
//   onednn_any     the same primitives with format_tag::any: oneDNN picks its preferred
//                  (blocked) formats; the inputs are reordered into them and the output back out
//                  of them outside the timing, so only the primitive is timed (oneDNN's best
//                  case: a framework that keeps tensors in oneDNN's formats between layers).
//   onednn_deconv  bwd_d only: deconvolution_forward on the transposed view (input dy, output
//                  dx, the filter read as (C, K) per group), the way a PyTorch user runs a
//                  ConvTranspose on the CPU; the problem's layouts, like onednn.
//
// fp32 only, cross-correlation only (oneDNN has no mirrored-tap mode), alpha 1 and beta 0 (the
// bench's runs). The scratchpad is the bench's workspace (scratchpad_mode::user). oneDNN runs on
// the bench's thread count (--threads; omp_set_num_threads around its calls: the Debian oneDNN
// uses the OpenMP runtime). The row's message names the implementation oneDNN picked
// (primitive_desc::impl_info_str()). Built only with CONVX_BENCH_HAVE_ONEDNN
// (perf/bench_onednn.cpp); without it the columns are unknown names and the functions below say
// why.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench_runner.h"

namespace convxbench {

// "onednn", "onednn_any", "onednn_deconv".
bool isOnednnColumn(const std::string& name);

// The oneDNN columns "--algo=all" adds on the CPU (empty without oneDNN).
std::vector<std::string> onednnColumns();

// A runner for one oneDNN column; nullptr with the reason when the bench was built without
// oneDNN or the backend is not the CPU.
std::unique_ptr<Runner> makeOnednnRunner(const std::string& name, ConvxApi& api, std::string* why);

// True when convx-bench was built with oneDNN (CONVX_BENCH_HAVE_ONEDNN).
bool builtWithOnednn();

// "2.6.3 (git hash ..., CPU runtime OpenMP)", or "" without oneDNN.
std::string onednnVersion();

}  // namespace convxbench
