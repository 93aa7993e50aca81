// CONVX_ALGO_REFERENCE on the GPU: one thread per output element (forward, backward-data) or
// one block per filter element (backward-filter), each a plain sum from the definition in
// double, rounded once into the output. Slow by design and obviously correct: the GPU-side
// oracle for problems too large for the CPU reference. Deterministic: fixed summation order,
// and backward-filter reduces its block in a fixed tree, no atomics.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "algorithm.h"
#include "cuda_check.h"
#include "geometry.h"

namespace convx {

namespace {

__device__ inline double ld(const float* p, int64_t i) { return p[i]; }
__device__ inline double ld(const double* p, int64_t i) { return p[i]; }
__device__ inline double ld(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ inline double ld(const __nv_bfloat16* p, int64_t i) { return __bfloat162float(p[i]); }
__device__ inline void st(float* p, int64_t i, double v) { p[i] = static_cast<float>(v); }
__device__ inline void st(double* p, int64_t i, double v) { p[i] = v; }
__device__ inline void st(__half* p, int64_t i, double v) { p[i] = __double2half(v); }
__device__ inline void st(__nv_bfloat16* p, int64_t i, double v) { p[i] = __double2bfloat16(v); }

template <class T>
__device__ inline void scaleStore(T* p, int64_t i, double acc, double alpha, double beta) {
    double v = alpha * acc;
    if (beta != 0.0) v += beta * ld(p, i);
    st(p, i, v);
}

// Offset of filter tap (a, b, e) of (k, c) in the user's filter, mirrored in CONVOLUTION mode.
__device__ inline int64_t wOffset(const Conv3d& g, int64_t k, int64_t c, int64_t a, int64_t b, int64_t e) {
    if (g.flip) a = g.R[0] - 1 - a, b = g.R[1] - 1 - b, e = g.R[2] - 1 - e;
    return k * g.ws[0] + c * g.ws[1] + a * g.ws[2] + b * g.ws[3] + e * g.ws[4];
}

template <class T>
__global__ void forwardKernel(Conv3d g, const T* x, const T* w, T* y, double alpha, double beta) {
    const int64_t total = g.N * g.K * g.outPix;
    for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
        int64_t r = idx;
        const int64_t o2 = r % g.O[2]; r /= g.O[2];
        const int64_t o1 = r % g.O[1]; r /= g.O[1];
        const int64_t o0 = r % g.O[0]; r /= g.O[0];
        const int64_t k = r % g.K, n = r / g.K;
        const int64_t c0 = (k / g.Kg) * g.Cg;
        double acc = 0.0;
        for (int64_t c = 0; c < g.Cg; ++c)
            for (int64_t a = 0; a < g.R[0]; ++a) {
                const int64_t i0 = o0 * g.S[0] - g.P[0] + a * g.D[0];
                if (i0 < 0 || i0 >= g.I[0]) continue;
                for (int64_t b = 0; b < g.R[1]; ++b) {
                    const int64_t i1 = o1 * g.S[1] - g.P[1] + b * g.D[1];
                    if (i1 < 0 || i1 >= g.I[1]) continue;
                    for (int64_t e = 0; e < g.R[2]; ++e) {
                        const int64_t i2 = o2 * g.S[2] - g.P[2] + e * g.D[2];
                        if (i2 < 0 || i2 >= g.I[2]) continue;
                        acc += ld(x, n * g.xs[0] + (c0 + c) * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4]) *
                               ld(w, wOffset(g, k, c, a, b, e));
                    }
                }
            }
        scaleStore(y, n * g.ys[0] + k * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4], acc, alpha, beta);
    }
}

// The output index o that input index i meets through tap t, or -1: o*s - p + t*d == i.
__device__ inline int64_t outputFor(int64_t i, int64_t t, int64_t s, int64_t p, int64_t d, int64_t O) {
    const int64_t num = i + p - t * d;
    if (num < 0 || num % s) return -1;
    const int64_t o = num / s;
    return o < O ? o : -1;
}

template <class T>
__global__ void backwardDataKernel(Conv3d g, T* dx, const T* w, const T* dy, double alpha, double beta) {
    const int64_t total = g.N * g.C * g.inPix;
    for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total; idx += int64_t(gridDim.x) * blockDim.x) {
        int64_t r = idx;
        const int64_t i2 = r % g.I[2]; r /= g.I[2];
        const int64_t i1 = r % g.I[1]; r /= g.I[1];
        const int64_t i0 = r % g.I[0]; r /= g.I[0];
        const int64_t c = r % g.C, n = r / g.C;
        const int64_t grp = c / g.Cg, cl = c % g.Cg;
        double acc = 0.0;
        for (int64_t kl = 0; kl < g.Kg; ++kl) {
            const int64_t k = grp * g.Kg + kl;
            for (int64_t a = 0; a < g.R[0]; ++a) {
                const int64_t o0 = outputFor(i0, a, g.S[0], g.P[0], g.D[0], g.O[0]);
                if (o0 < 0) continue;
                for (int64_t b = 0; b < g.R[1]; ++b) {
                    const int64_t o1 = outputFor(i1, b, g.S[1], g.P[1], g.D[1], g.O[1]);
                    if (o1 < 0) continue;
                    for (int64_t e = 0; e < g.R[2]; ++e) {
                        const int64_t o2 = outputFor(i2, e, g.S[2], g.P[2], g.D[2], g.O[2]);
                        if (o2 < 0) continue;
                        acc += ld(w, wOffset(g, k, cl, a, b, e)) *
                               ld(dy, n * g.ys[0] + k * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4]);
                    }
                }
            }
        }
        scaleStore(dx, n * g.xs[0] + c * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4], acc, alpha, beta);
    }
}

constexpr int kFilterBlock = 256;

// One block per filter element (k, c, tap): threads stride over N x output pixels, then a
// fixed-shape tree reduction, so the bits do not depend on scheduling.
template <class T>
__global__ void backwardFilterKernel(Conv3d g, const T* x, T* dw, const T* dy, double alpha, double beta) {
    __shared__ double part[kFilterBlock];
    const int64_t total = g.K * g.Cg * g.taps;
    for (int64_t idx = blockIdx.x; idx < total; idx += gridDim.x) {
        int64_t r = idx;
        const int64_t e = r % g.R[2]; r /= g.R[2];
        const int64_t b = r % g.R[1]; r /= g.R[1];
        const int64_t a = r % g.R[0]; r /= g.R[0];
        const int64_t cl = r % g.Cg, k = r / g.Cg;
        const int64_t c = (k / g.Kg) * g.Cg + cl;
        double acc = 0.0;
        for (int64_t j = threadIdx.x; j < g.N * g.outPix; j += blockDim.x) {
            int64_t q = j;
            const int64_t o2 = q % g.O[2]; q /= g.O[2];
            const int64_t o1 = q % g.O[1]; q /= g.O[1];
            const int64_t o0 = q % g.O[0];
            const int64_t n = q / g.O[0];
            const int64_t i0 = o0 * g.S[0] - g.P[0] + a * g.D[0];
            const int64_t i1 = o1 * g.S[1] - g.P[1] + b * g.D[1];
            const int64_t i2 = o2 * g.S[2] - g.P[2] + e * g.D[2];
            if (i0 < 0 || i0 >= g.I[0] || i1 < 0 || i1 >= g.I[1] || i2 < 0 || i2 >= g.I[2]) continue;
            acc += ld(dy, n * g.ys[0] + k * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4]) *
                   ld(x, n * g.xs[0] + c * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4]);
        }
        part[threadIdx.x] = acc;
        __syncthreads();
        for (int s = kFilterBlock / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) part[threadIdx.x] += part[threadIdx.x + s];
            __syncthreads();
        }
        if (threadIdx.x == 0) scaleStore(dw, wOffset(g, k, cl, a, b, e), part[0], alpha, beta);
        __syncthreads();
    }
}

unsigned gridFor(int64_t items, int block) {
    const int64_t blocks = (items + block - 1) / block;
    return static_cast<unsigned>(blocks < (1 << 30) ? blocks : (1 << 30));  // grid-stride loops cover the rest
}

template <class T>
void launch(const Problem& p, const Buffers& buf, Scale s, cudaStream_t stream) {
    const Conv3d g = conv3dOf(p);
    T* x = static_cast<T*>(buf.x);
    T* w = static_cast<T*>(buf.w);
    T* y = static_cast<T*>(buf.y);
    constexpr int block = 256;
    switch (p.dir) {
        case Direction::Forward:
            forwardKernel<T><<<gridFor(g.N * g.K * g.outPix, block), block, 0, stream>>>(g, x, w, y, s.alpha, s.beta);
            break;
        case Direction::BackwardData:
            backwardDataKernel<T><<<gridFor(g.N * g.C * g.inPix, block), block, 0, stream>>>(g, x, w, y, s.alpha, s.beta);
            break;
        case Direction::BackwardFilter:
            backwardFilterKernel<T><<<gridFor(g.K * g.Cg * g.taps, 1), kFilterBlock, 0, stream>>>(g, x, w, y, s.alpha, s.beta);
            break;
    }
    cudaCheckLaunch("reference kernel launch");
}

class CudaReference final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_REFERENCE; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    unsigned directions() const override { return kAllDirections; }
    Applicability isApplicable(const Problem&) const override { return Applicability::yes(); }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        cudaStream_t stream = static_cast<cudaStream_t>(ctx.handle ? ctx.handle->stream : nullptr);
        switch (p.dtype) {
            case DType::F32: launch<float>(p, b, s, stream); break;
            case DType::F64: launch<double>(p, b, s, stream); break;
            case DType::F16: launch<__half>(p, b, s, stream); break;
            case DType::BF16: launch<__nv_bfloat16>(p, b, s, stream); break;
        }
    }
};

}  // namespace

const Algorithm* cudaReferenceAlgorithm() {
    static const CudaReference a;
    return &a;
}

}  // namespace convx
