// GCONV on the CUDA backend (cuda/gconv.cu) against the float64 oracle on the host: random
// operator slots, geometries, layouts and data types (the direct kernel), and convolutions with
// >= 32 output channels per group (the tiled kernel: stage tails, large windows, both lane
// orders) under every operator. Part of convx_gpu_tests (skipped without a device).
#include <catch2/catch.hpp>

#include <cuda_runtime.h>

#include <random>
#include <string>
#include <vector>

#include "../gconv_cases.h"

using namespace gconvtest;

namespace {

#define GC_CUDA_OK(call) REQUIRE((call) == cudaSuccess)

// A device copy of a host buffer (nothing for an empty one).
struct DeviceCopy {
    void* p = nullptr;
    size_t bytes = 0;
    template <class T>
    explicit DeviceCopy(const std::vector<T>& host) : bytes(host.size() * sizeof(T)) {
        if (!bytes) return;
        GC_CUDA_OK(cudaMalloc(&p, bytes));
        GC_CUDA_OK(cudaMemcpy(p, host.data(), bytes, cudaMemcpyHostToDevice));
    }
    ~DeviceCopy() {
        if (p) cudaFree(p);
    }
    DeviceCopy(const DeviceCopy&) = delete;
    DeviceCopy& operator=(const DeviceCopy&) = delete;
};

// Runs c on the GPU (fresh device copies of every operand) and returns y.
std::vector<unsigned char> runGpu(convxHandle_t h, const Call& c) {
    DeviceCopy x(c.x), w(c.w), z(c.z), y(c.y0), ps(c.preS), pb(c.preB), qs(c.postS), qb(c.postB);
    GconvArgs a = c.args(y.p);
    a.x = x.p, a.w = w.p, a.z = z.p;
    if (a.preScale) a.preScale = static_cast<const float*>(ps.p);
    if (a.preShift) a.preShift = static_cast<const float*>(pb.p);
    if (a.postScale) a.postScale = static_cast<const float*>(qs.p);
    if (a.postShift) a.postShift = static_cast<const float*>(qb.p);
    convx::gconvForward(convx::ExecContext{h, nullptr, 0}, c.gp, a, c.s);
    GC_CUDA_OK(cudaDeviceSynchronize());
    std::vector<unsigned char> out(c.y0.size());
    GC_CUDA_OK(cudaMemcpy(out.data(), y.p, out.size(), cudaMemcpyDeviceToHost));
    return out;
}

struct GpuHandle {
    convxHandle_t h = nullptr;
    GpuHandle() { REQUIRE(convxCreateWithBackend(&h, CONVX_BACKEND_CUDA) == CONVX_STATUS_SUCCESS); }
    ~GpuHandle() { convxDestroy(h); }
};

}  // namespace

TEST_CASE("GCONV on CUDA matches the oracle on random operators, geometries, layouts and types", "[gpu][gconv]") {
    GpuHandle h;
    std::mt19937_64 rng(4242);
    const convx::DType types[] = {convx::DType::F32, convx::DType::F32, convx::DType::F64, convx::DType::F16, convx::DType::BF16};
    for (int i = 0; i < 150; ++i) {
        const Call c = randomCall(rng, types[i % 5]);
        compareWithOracle(c, runGpu(h.h, c), runOracle(c), 4.0);
    }
}

TEST_CASE("GCONV on CUDA: the tiled kernel under every operator", "[gpu][gconv]") {
    GpuHandle h;
    std::mt19937_64 rng(99);
    int n = 0;
    for (const char* geo : kWideGeometries)
        for (const GconvOps& ops : wideOps())
            for (const char* dt : {"f32", "f64", "bf16"}) {
                if (std::string(dt) != "f32" && (n++ % 3) != 0) continue;  // every op in f32, a third in the others
                const Call c = wideCall(geo, ops, dt, n, rng);
                compareWithOracle(c, runGpu(h.h, c), runOracle(c), 8.0);
            }
}
