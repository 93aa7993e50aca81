// The zero-insertion baseline's two copies on the GPU (see bench_zeroins.h): dyz, the
// zero-inserted and padded dy, and w', the flipped and transposed filter. One thread per
// destination element in the destination's memory order (coalesced writes; reads of dy are
// strided by the convolution stride, a gather the baseline pays like any zero insertion).
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "bench_zeroins.h"

namespace convxbench {

namespace {

// Destination element e of dyz (packed, NCHW or NHWC order) -> its value.
template <class T>
__global__ void zeroInsertKernel(ZeroInsPlan pl, const T* __restrict__ dy, T* __restrict__ dyz, bool channelsLast) {
    const int64_t total = pl.dyzElems;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        int64_t r = e, k, z[3];
        if (channelsLast) {
            k = r % pl.K, r /= pl.K;
            z[2] = r % pl.Z[2], r /= pl.Z[2];
            z[1] = r % pl.Z[1], r /= pl.Z[1];
            z[0] = r % pl.Z[0], r /= pl.Z[0];
        } else {
            z[2] = r % pl.Z[2], r /= pl.Z[2];
            z[1] = r % pl.Z[1], r /= pl.Z[1];
            z[0] = r % pl.Z[0], r /= pl.Z[0];
            k = r % pl.K, r /= pl.K;
        }
        const int64_t n = r;
        bool on = true;
        int64_t src = n * pl.dyStr[0] + k * pl.dyStr[1];
        for (int j = 0; j < 3; ++j) {
            const int64_t t = z[j] - pl.A[j];
            const int64_t o = t >= 0 ? t / pl.S[j] : -1;
            on = on && t >= 0 && o * pl.S[j] == t && o < pl.O[j];
            src += (on ? o : 0) * pl.dyStr[2 + j];
        }
        const int64_t dst = n * pl.dyzStr[0] + k * pl.dyzStr[1] + z[0] * pl.dyzStr[2] + z[1] * pl.dyzStr[3] + z[2] * pl.dyzStr[4];
        dyz[dst] = on ? dy[src] : T(0);
    }
}

// Destination element e of w' (C, K/G, taps) in its memory order -> the matching element of w.
template <class T>
__global__ void filterKernel(ZeroInsPlan pl, const T* __restrict__ w, T* __restrict__ wt, bool channelsLast) {
    const int64_t total = pl.wtElems;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        int64_t r = e, k, s[3];
        if (channelsLast) {
            k = r % pl.Kg, r /= pl.Kg;
            s[2] = r % pl.R[2], r /= pl.R[2];
            s[1] = r % pl.R[1], r /= pl.R[1];
            s[0] = r % pl.R[0], r /= pl.R[0];
        } else {
            s[2] = r % pl.R[2], r /= pl.R[2];
            s[1] = r % pl.R[1], r /= pl.R[1];
            s[0] = r % pl.R[0], r /= pl.R[0];
            k = r % pl.Kg, r /= pl.Kg;
        }
        const int64_t cf = r, g = cf / pl.Cg, c = cf % pl.Cg;
        int64_t src = (g * pl.Kg + k) * pl.wStr[0] + c * pl.wStr[1];
        int64_t dst = cf * pl.wtStr[0] + k * pl.wtStr[1];
        for (int j = 0; j < 3; ++j) {
            src += (pl.flip ? pl.R[j] - 1 - s[j] : s[j]) * pl.wStr[2 + j];
            dst += s[j] * pl.wtStr[2 + j];
        }
        wt[dst] = w[src];
    }
}

unsigned blocksFor(int64_t n, int threads) {
    const int64_t b = (n + threads - 1) / threads;
    return static_cast<unsigned>(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);  // grid-stride beyond
}

template <class T>
std::string launch(const ZeroInsPlan& pl, const void* dy, const void* w, void* dyz, void* wt, cudaStream_t st) {
    constexpr int kThreads = 256;
    // Channels last when the channel stride is 1 (and it is not a trivial channel dim).
    const bool dyzLast = pl.dyzStr[1] == 1 && pl.K > 1;
    const bool wtLast = pl.wtStr[1] == 1 && pl.Kg > 1;
    zeroInsertKernel<T><<<blocksFor(pl.dyzElems, kThreads), kThreads, 0, st>>>(pl, static_cast<const T*>(dy), static_cast<T*>(dyz), dyzLast);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return std::string("zero-insertion kernel: ") + cudaGetErrorString(e);
    filterKernel<T><<<blocksFor(pl.wtElems, kThreads), kThreads, 0, st>>>(pl, static_cast<const T*>(w), static_cast<T*>(wt), wtLast);
    e = cudaGetLastError();
    if (e != cudaSuccess) return std::string("filter kernel: ") + cudaGetErrorString(e);
    return "";
}

}  // namespace

std::string zeroInsertCuda(const ZeroInsPlan& pl, const void* dy, const void* w, void* dyz, void* wt, void* stream) {
    const cudaStream_t st = static_cast<cudaStream_t>(stream);
    switch (pl.elemBytes) {
        case 2: return launch<uint16_t>(pl, dy, w, dyz, wt, st);
        case 4: return launch<uint32_t>(pl, dy, w, dyz, wt, st);
        case 8: return launch<unsigned long long>(pl, dy, w, dyz, wt, st);
    }
    return "unexpected element size";
}

}  // namespace convxbench
