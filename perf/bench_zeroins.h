// The zero-insertion baseline of convx-bench ("zeroins", bwd_d problems, both backends): the
// conventional transposed convolution the papers compare with, not a registered algorithm.
//
// Backward-data is dx[i] = sum over (o, k) with o*s - p + k*d = i of w[k] dy[o] (per spatial
// dim; CONVOLUTION mode reads w[R-1-k]). Insert s-1 zeros between the dy entries and pad the
// result explicitly, dyz[o*s + a] = dy[o] with a = (R-1)*d - p, in a buffer of in + (R-1)*d
// entries; then dx[i] = sum over k' of w'[k'] dyz[i + k'*d]: a dense forward cross-correlation
// of dyz, stride 1, dilation d, no padding, with the filter flipped (w'[k'] = w[R-1-k'], or
// unflipped in CONVOLUTION mode) and its channel roles swapped per group (w' is (C, K/G, taps):
// input channels K, output channels C). Entries with o*s + a outside the buffer (padding larger
// than the dilated filter) land only in the padding of dx and are dropped.
//
// A run is: build dyz and w' (zero insertion with padding, filter flip and transpose; a plain
// loop on the CPU, two small kernels in bench_zeroins.cu on the GPU), then the forward
// convolution through convx's C API with CONVX_ALGO_AUTO (the backend's pick for that forward
// problem, named in the row's message), all timed together. dyz and w' live in the bench's
// workspace; dx is written in the problem's layout and strides. Any data type convx's forward
// takes (elements are copied, zeros are all-zero bits).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bench_runner.h"

namespace convxbench {

constexpr const char* kZeroInsColumn = "zeroins";

// The two copies of a run, flattened to 3-D (unused leading spatial dims have size 1); element
// strides throughout. Trivially copyable: it is a CUDA kernel argument.
struct ZeroInsPlan {
    int elemBytes;                    // 2, 4 or 8
    int64_t N, K, C, G, Kg, Cg;
    int64_t O[3];                     // dy spatial sizes
    int64_t Z[3];                     // dyz spatial sizes (in + (R-1)*d)
    int64_t S[3];                     // strides of the convolution
    int64_t A[3];                     // dyz[o*S + A] = dy[o]; may be negative
    int64_t R[3];                     // filter spatial sizes
    int64_t dyStr[5], dyzStr[5];      // (N, K, D, H, W)
    int64_t wStr[5], wtStr[5];        // w: (K, C/G, taps...), w': (C, K/G, taps...)
    bool flip;                        // mirror the taps of w' (cross-correlation problems)
    int64_t dyzElems, wtElems;
};

// Fills dyz and w' on the CPU (OpenMP, `threads` threads; 0 = the OpenMP default).
void zeroInsertCpu(const ZeroInsPlan& plan, const void* dy, const void* w, void* dyz, void* wt, int threads);

// The same two copies as kernels on a CUDA stream (bench_zeroins.cu, built with CUDA); returns
// "" or the launch error.
std::string zeroInsertCuda(const ZeroInsPlan& plan, const void* dy, const void* w, void* dyz, void* wt, void* stream);

// The runner of the "zeroins" column; it keeps its own convx handle for the forward problem, on
// the backend, threads and stream of api.
std::unique_ptr<Runner> makeZeroInsRunner(ConvxApi& api, std::string* why);

}  // namespace convxbench
