// Host emulation of the few CUDA features cuda/split_k.cu uses, for checking its kernels'
// index arithmetic, thread mappings and barriers on a machine without a GPU: one std::thread
// per CUDA thread (so shared-memory races show up as wrong results), a barrier for
// __syncthreads, function statics for __shared__, blocks run one after another. Not part of the
// build: scripts/emulate-split-k rewrites the .cu's launches into emuLaunch calls and builds it.
// It checks logic only, never speed, coalescing or 16-byte alignment.
#pragma once
#include <barrier>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>
struct dim3 { unsigned x = 0, y = 0, z = 0; };
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;
inline thread_local std::barrier<>* emuBarrier = nullptr;
inline void __syncthreads() { emuBarrier->arrive_and_wait(); }
#define __global__
#define __device__
#define __host__
#define __launch_bounds__(x)
#define __restrict__ __restrict
#define __shared__ static
#define __align__(n)
struct float4 { float x, y, z, w; };
struct double2 { double x, y; };
struct __half { float f; };
struct __nv_bfloat16 { float f; };
inline float __half2float(__half h) { return h.f; }
inline float __bfloat162float(__nv_bfloat16 h) { return h.f; }
inline __half __double2half(double d) { return {float(d)}; }
inline __nv_bfloat16 __double2bfloat16(double d) { return {float(d)}; }
typedef void* cudaStream_t;
inline void emuLaunch(unsigned grid, unsigned block, const std::function<void()>& body) {
    for (unsigned b = 0; b < grid; ++b) {
        std::barrier<> bar(block);
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < block; ++t)
            ts.emplace_back([&, t] {
                threadIdx.x = t, blockIdx.x = b, blockDim.x = block, gridDim.x = grid, emuBarrier = &bar;
                body();
            });
        for (auto& th : ts) th.join();
    }
}
