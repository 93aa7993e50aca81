// Where the bench's tensors live and how a run is timed. The CPU device is host memory and
// std::chrono::steady_clock; the CUDA device (built with CONVX_HAVE_CUDA) is device memory,
// one stream handed to the convx handle, and CUDA events. Everything above this interface is
// the same for both backends.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "convx/convx.h"

namespace convxbench {

// Times one run: start() before it is launched, stop() after; elapsedMs() waits for the run to
// finish (CUDA: the stop event) and answers its duration in milliseconds.
class Timer {
public:
    virtual ~Timer() = default;
    virtual void start() = 0;
    virtual void stop() = 0;
    virtual double elapsedMs() = 0;
};

// What a GPU is, for the header of a report and for the roofline: filled by the CUDA device.
struct GpuFacts {
    std::string name;
    int ccMajor = 0, ccMinor = 0;  // compute capability
    int sms = 0;
    size_t memoryBytes = 0;
    size_t l2Bytes = 0;
    int clockKHz = 0;        // cudaDevAttrClockRate: the peak SM clock
    int fp32LanesPerSm = 0;  // FP32 FMA units per SM, from the compute capability (0 = unknown)
    int driverVersion = 0, runtimeVersion = 0;  // cudaDriverGetVersion, cudaRuntimeGetVersion (1000 major + 10 minor)
    // SMs x FP32 lanes x 2 x clock, in GFLOP/s (0 when the lanes are unknown).
    double fp32PeakGflops() const { return double(sms) * fp32LanesPerSm * 2.0 * clockKHz * 1e-6; }
};

// FP32 FMA lanes per SM of a compute capability: 64 on sm_60, sm_70, sm_75, sm_80 (GP100, V100,
// Turing, A100), 128 on sm_61, sm_86, sm_87, sm_89, sm_90 and later; 0 when unknown.
int fp32LanesPerSm(int major, int minor);

// "13.0" from 13000 (cudaDriverGetVersion's 1000 major + 10 minor).
std::string cudaVersionText(int v);

class Device {
public:
    virtual ~Device() = default;
    virtual convxBackend_t backend() const = 0;
    // "AMD EPYC 7B13, 2 cores" / "NVIDIA H200, 132 SMs, 139.8 GiB"
    virtual std::string description() const = 0;
    // Driver and runtime versions ("" on the CPU).
    virtual std::string driver() const { return ""; }
    // The last-level cache the timed runs must not be served from (CPU LLC, GPU L2), in bytes.
    virtual size_t cacheBytes() const = 0;

    // Memory on the device; throws std::runtime_error when the allocation fails.
    virtual void* alloc(size_t bytes) = 0;
    virtual void release(void* p) = 0;
    virtual void upload(void* dst, const void* hostSrc, size_t bytes) = 0;
    virtual void download(void* hostDst, const void* src, size_t bytes) = 0;
    virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // device to device
    // Every byte set to `byte`; 0xFF makes every element a NaN in f32, f64, f16 and bf16.
    virtual void fill(void* p, unsigned char byte, size_t bytes) = 0;
    virtual void synchronize() = 0;
    virtual std::unique_ptr<Timer> makeTimer() = 0;
    // The stream the handle must run on (cudaStream_t), nullptr on the CPU.
    virtual void* stream() const { return nullptr; }
    // The GPU's facts; false on the CPU.
    virtual bool gpuFacts(GpuFacts*) const { return false; }
    // Measured copy bandwidth in GB/s (10^9 bytes read + written per second) with `threads`
    // threads copying (the CPU; the GPU ignores it), over at least `bytes` per buffer (the CPU:
    // the rotation size, so the copy leaves the last-level cache), 0 when not measured; *how
    // says how it was measured. Takes a second or so.
    virtual double measureCopyBandwidth(int threads, size_t bytes, std::string* how) {
        (void)threads, (void)bytes;
        if (how) how->clear();
        return 0;
    }
    // The fp32 FMA peak in GFLOP/s: the GPU's from its facts (see GpuFacts), the CPU's measured
    // by a register-only FMA loop on `threads` threads with the widest vectors the CPU runs.
    virtual double measureFp32Peak(int threads, std::string* how) {
        (void)threads;
        if (how) how->clear();
        return 0;
    }
};

// A device allocation released with its owner.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(Device& d, size_t bytes) : dev_(&d), bytes_(bytes), ptr_(bytes ? d.alloc(bytes) : nullptr) {}
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& o) noexcept { swap(o); }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        DeviceBuffer t(std::move(o));
        swap(t);
        return *this;
    }
    ~DeviceBuffer() {
        if (ptr_) dev_->release(ptr_);
    }
    void* get() const { return ptr_; }
    size_t bytes() const { return bytes_; }

private:
    void swap(DeviceBuffer& o) noexcept {
        std::swap(dev_, o.dev_);
        std::swap(bytes_, o.bytes_);
        std::swap(ptr_, o.ptr_);
    }
    Device* dev_ = nullptr;
    size_t bytes_ = 0;
    void* ptr_ = nullptr;
};

std::unique_ptr<Device> makeCpuDevice();
// nullptr, with the reason in *why, when the bench was built without CUDA or finds no device.
std::unique_ptr<Device> makeCudaDevice(std::string* why);

// Host facts for reports.
std::string cpuModel();
int cpuCores();
size_t cpuLastLevelCacheBytes();  // 0 when unknown

}  // namespace convxbench
