// The CUDA device: device memory, one non-blocking stream that the convx handle runs on, and
// CUDA events around each run. Built only with CONVX_HAVE_CUDA (plain C++ on the runtime API).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_device.h"

namespace convxbench {

namespace {

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess)
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

class EventTimer final : public Timer {
public:
    explicit EventTimer(cudaStream_t s) : stream_(s) {
        check(cudaEventCreate(&a_), "cudaEventCreate");
        check(cudaEventCreate(&b_), "cudaEventCreate");
    }
    ~EventTimer() override {
        cudaEventDestroy(a_);
        cudaEventDestroy(b_);
    }
    void start() override { check(cudaEventRecord(a_, stream_), "cudaEventRecord"); }
    void stop() override { check(cudaEventRecord(b_, stream_), "cudaEventRecord"); }
    double elapsedMs() override {
        check(cudaEventSynchronize(b_), "cudaEventSynchronize");
        float ms = 0.f;
        check(cudaEventElapsedTime(&ms, a_, b_), "cudaEventElapsedTime");
        return ms;
    }

private:
    cudaStream_t stream_;
    cudaEvent_t a_{}, b_{};
};

class CudaDevice final : public Device {
public:
    CudaDevice() {
        check(cudaGetDevice(&dev_), "cudaGetDevice");
        check(cudaGetDeviceProperties(&prop_, dev_), "cudaGetDeviceProperties");
        check(cudaDeviceGetAttribute(&l2_, cudaDevAttrL2CacheSize, dev_), "cudaDeviceGetAttribute(L2CacheSize)");
        check(cudaDeviceGetAttribute(&clockKHz_, cudaDevAttrClockRate, dev_), "cudaDeviceGetAttribute(ClockRate)");
        check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    }
    ~CudaDevice() override { cudaStreamDestroy(stream_); }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    std::string description() const override {
        char buf[160];
        std::snprintf(buf, sizeof buf, " (sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB)", prop_.major, prop_.minor, prop_.multiProcessorCount,
                      prop_.totalGlobalMem / 1073741824.0, l2_ / 1048576.0);
        return std::string(prop_.name) + buf;
    }
    std::string driver() const override {
        int drv = 0, rt = 0;
        cudaDriverGetVersion(&drv);
        cudaRuntimeGetVersion(&rt);
        return "CUDA driver " + cudaVersionText(drv) + ", runtime " + cudaVersionText(rt);
    }
    // The L2 (cudaDevAttrL2CacheSize; 60 MiB on an H200): the rotation covers twice this.
    size_t cacheBytes() const override { return l2_ > 0 ? static_cast<size_t>(l2_) : 0; }
    void* alloc(size_t bytes) override {
        void* p = nullptr;
        check(cudaMalloc(&p, bytes), "cudaMalloc");
        return p;
    }
    void release(void* p) override { cudaFree(p); }
    void upload(void* dst, const void* src, size_t bytes) override {
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpy H2D");
        synchronize();
    }
    void download(void* dst, const void* src, size_t bytes) override {
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpy D2H");
        synchronize();
    }
    void copy(void* dst, const void* src, size_t bytes) override {
        check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "cudaMemcpy D2D");
    }
    void fill(void* p, unsigned char byte, size_t bytes) override {
        check(cudaMemsetAsync(p, byte, bytes, stream_), "cudaMemset");
    }
    void synchronize() override { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }
    std::unique_ptr<Timer> makeTimer() override { return std::make_unique<EventTimer>(stream_); }
    void* stream() const override { return stream_; }

    bool gpuFacts(GpuFacts* f) const override {
        f->name = prop_.name;
        f->ccMajor = prop_.major;
        f->ccMinor = prop_.minor;
        f->sms = prop_.multiProcessorCount;
        f->memoryBytes = prop_.totalGlobalMem;
        f->l2Bytes = cacheBytes();
        f->clockKHz = clockKHz_;
        f->fp32LanesPerSm = fp32LanesPerSm(prop_.major, prop_.minor);
        cudaDriverGetVersion(&f->driverVersion);
        cudaRuntimeGetVersion(&f->runtimeVersion);
        return true;
    }

    // A device-to-device cudaMemcpyAsync of 1 GiB (halved while it cannot be allocated, down to
    // 64 MiB), 2 untimed copies, then the median of 10 timed with events; each copy reads and
    // writes every byte once, so GB/s = 2 x bytes / time.
    double measureCopyBandwidth(int, size_t, std::string* how) override {
        struct Pair {
            void* a = nullptr;
            void* b = nullptr;
            ~Pair() {
                if (a) cudaFree(a);
                if (b) cudaFree(b);
            }
        } m;
        size_t bytes = size_t(1) << 30;
        for (; bytes >= (size_t(64) << 20); bytes /= 2) {
            if (cudaMalloc(&m.a, bytes) == cudaSuccess && cudaMalloc(&m.b, bytes) == cudaSuccess) break;
            cudaGetLastError();  // clear the allocation failure
            if (m.a) cudaFree(m.a);
            m.a = nullptr;
            m.b = nullptr;
        }
        if (!m.b) {
            if (how) *how = "not measured: cannot allocate two 64 MiB buffers";
            return 0;
        }
        check(cudaMemsetAsync(m.a, 0x3C, bytes, stream_), "cudaMemset");
        check(cudaMemsetAsync(m.b, 0, bytes, stream_), "cudaMemset");
        for (int i = 0; i < 2; ++i) copy(m.b, m.a, bytes);
        synchronize();
        EventTimer t(stream_);
        std::vector<double> ms;
        for (int i = 0; i < 10; ++i) {
            t.start();
            copy(i % 2 ? m.a : m.b, i % 2 ? m.b : m.a, bytes);
            t.stop();
            ms.push_back(t.elapsedMs());
        }
        std::sort(ms.begin(), ms.end());
        const double med = 0.5 * (ms[4] + ms[5]);
        if (how) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "cudaMemcpyAsync device-to-device of %.2f GiB, median of 10 (%.3f ms), read + write bytes",
                          bytes / 1073741824.0, med);
            *how = buf;
        }
        return med > 0 ? 2.0 * double(bytes) / (med * 1e-3) * 1e-9 : 0;
    }

private:
    int dev_ = 0;
    int l2_ = 0, clockKHz_ = 0;
    cudaDeviceProp prop_{};
    cudaStream_t stream_{};
};

}  // namespace

std::unique_ptr<Device> makeCudaDevice(std::string* why) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        cudaGetLastError();
        int drv = 0;
        cudaDriverGetVersion(&drv);
        if (!why) return nullptr;
        if (e == cudaSuccess)
            *why = "no CUDA device is visible";
        else if (drv == 0)
            *why = std::string("no NVIDIA driver is loaded on this machine (no GPU): ") + cudaGetErrorString(e);
        else
            *why = std::string("no usable CUDA device (driver ") + cudaVersionText(drv) + "): " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e);
        return nullptr;
    }
    try {
        return std::make_unique<CudaDevice>();
    } catch (const std::exception& ex) {
        if (why) *why = ex.what();
        return nullptr;
    }
}

}  // namespace convxbench
