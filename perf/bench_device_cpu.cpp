// The CPU device: host memory, steady_clock timing, and the host facts reports need.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench_device.h"

namespace convxbench {

namespace {

class SteadyTimer final : public Timer {
public:
    void start() override { t0_ = std::chrono::steady_clock::now(); }
    void stop() override { t1_ = std::chrono::steady_clock::now(); }
    double elapsedMs() override { return std::chrono::duration<double, std::milli>(t1_ - t0_).count(); }

private:
    std::chrono::steady_clock::time_point t0_, t1_;
};

// The CPU's fp32 FMA peak, measured: kPeakChains independent chains of 16-lane a*v+b, enough
// to cover the FMA latency x the FMA ports of any current core, all in registers. GCC builds
// the loop for AVX-512, AVX2+FMA and the baseline, and the loader picks the widest this CPU
// runs (x86 GCC; elsewhere the baseline, NEON on aarch64); fp-contract=fast makes a*v+b one FMA.
using Vec16 = float __attribute__((vector_size(64)));
constexpr int kPeakChains = 12;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CONVX_PEAK_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define CONVX_PEAK_CLONES
#endif
CONVX_PEAK_CLONES __attribute__((noinline, optimize("fp-contract=fast"))) float fmaChains(long iters, float a, float b) {
    Vec16 acc[kPeakChains];
    for (int j = 0; j < kPeakChains; ++j) acc[j] = Vec16{} + 1e-3f * float(j);
    for (long i = 0; i < iters; ++i)
#pragma GCC unroll 12
        for (int j = 0; j < kPeakChains; ++j) acc[j] = acc[j] * a + b;
    float r = 0;
    for (int j = 0; j < kPeakChains; ++j)
        for (int l = 0; l < 16; ++l) r += acc[j][l];
    return r;
}
constexpr double kFlopsPerIter = kPeakChains * 16 * 2.0;

int usableThreads(int threads) {
#ifdef _OPENMP
    return std::max(threads, 1);
#else
    (void)threads;
    return 1;
#endif
}

double seconds(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

class CpuDevice final : public Device {
public:
    convxBackend_t backend() const override { return CONVX_BACKEND_CPU; }
    std::string description() const override { return cpuModel() + ", " + std::to_string(cpuCores()) + " cores"; }
    size_t cacheBytes() const override { return cpuLastLevelCacheBytes(); }
    void* alloc(size_t bytes) override {
        const size_t align = 64;
        void* p = std::aligned_alloc(align, (bytes + align - 1) / align * align);
        if (!p) throw std::runtime_error("cannot allocate " + std::to_string(bytes) + " bytes of host memory");
        return p;
    }
    void release(void* p) override { std::free(p); }
    void upload(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
    void download(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
    void copy(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
    void fill(void* p, unsigned char byte, size_t bytes) override { std::memset(p, byte, bytes); }
    void synchronize() override {}
    std::unique_ptr<Timer> makeTimer() override { return std::make_unique<SteadyTimer>(); }

    // memcpy of two buffers of at least `bytes` (64 MiB to 1 GiB), split into 1 MiB chunks over
    // the threads; 1 untimed copy, the median of 5 timed; each copy reads and writes every byte
    // once: GB/s = 2 x bytes / time (a write-allocating copy moves more, so this is the rate a
    // kernel that reads x and writes y can reach).
    double measureCopyBandwidth(int threads, size_t bytes, std::string* how) override {
        const int t = usableThreads(threads);
        const size_t chunk = size_t(1) << 20;
        bytes = std::min(std::max(bytes, size_t(64) << 20), size_t(1) << 30) / chunk * chunk;
        char* a = static_cast<char*>(std::aligned_alloc(4096, bytes));
        char* b = static_cast<char*>(std::aligned_alloc(4096, bytes));
        if (!a || !b) {
            std::free(a), std::free(b);
            if (how) *how = "not measured: cannot allocate two buffers of " + std::to_string(bytes >> 20) + " MiB";
            return 0;
        }
        const long chunks = static_cast<long>(bytes / chunk);
        // First touch by the copying threads, so pages sit where they are copied.
#pragma omp parallel for num_threads(t) schedule(static)
        for (long i = 0; i < chunks; ++i) std::memset(a + i * chunk, 0x3C, chunk), std::memset(b + i * chunk, 0, chunk);
        std::vector<double> s;
        for (int rep = 0; rep < 6; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for num_threads(t) schedule(static)
            for (long i = 0; i < chunks; ++i) std::memcpy(b + i * chunk, a + i * chunk, chunk);
            if (rep > 0) s.push_back(seconds(t0));
        }
        std::free(a), std::free(b);
        if (how) *how = "memcpy of " + std::to_string(bytes >> 20) + " MiB by " + std::to_string(t) + " thread(s), median of 5";
        return 2.0 * double(bytes) / median(s) * 1e-9;
    }

    // fmaChains on every thread at once for ~50 ms, the median of 3.
    double measureFp32Peak(int threads, std::string* how) override {
        const int t = usableThreads(threads);
        long iters = 1 << 16;
        for (;;) {  // calibrate on one thread
            const auto t0 = std::chrono::steady_clock::now();
            volatile float sink = fmaChains(iters, 0.999f, 1e-3f);
            (void)sink;
            if (seconds(t0) > 0.01 || iters > (1L << 40)) break;
            iters *= 4;
        }
        iters *= 4;
        std::vector<double> s;
        for (int rep = 0; rep < 3; ++rep) {
            const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(t)
            {
                volatile float sink = fmaChains(iters, 0.999f, 1e-3f);
                (void)sink;
            }
            s.push_back(seconds(t0));
        }
        if (how) *how = std::to_string(kPeakChains) + " chains of 16-lane FMAs on " + std::to_string(t) + " thread(s), median of 3";
        return t * double(iters) * kFlopsPerIter / median(s) * 1e-9;
    }
};

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// "32768K", "1M", "512" -> bytes
size_t parseSize(const std::string& s) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(s.c_str(), &end, 10);
    if (end == s.c_str()) return 0;
    switch (*end) {
        case 'K': case 'k': v <<= 10; break;
        case 'M': case 'm': v <<= 20; break;
        case 'G': case 'g': v <<= 30; break;
        default: break;
    }
    return static_cast<size_t>(v);
}

std::string readFirstLine(const std::string& path) {
    std::ifstream f(path);
    std::string line;
    if (f) std::getline(f, line);
    return trim(line);
}

}  // namespace

std::unique_ptr<Device> makeCpuDevice() { return std::make_unique<CpuDevice>(); }

std::string cpuModel() {
    std::ifstream f("/proc/cpuinfo");
    std::string line, hardware, implementer, part;
    while (std::getline(f, line)) {
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string key = trim(line.substr(0, colon)), val = trim(line.substr(colon + 1));
        if (key == "model name" && !val.empty()) return val;
        if (key == "Hardware" && hardware.empty()) hardware = val;
        if (key == "CPU implementer" && implementer.empty()) implementer = val;
        if (key == "CPU part" && part.empty()) part = val;
    }
    if (!hardware.empty()) return hardware;
    if (!implementer.empty()) return "ARM implementer " + implementer + " part " + part;
    return "unknown CPU";
}

int cpuCores() {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

size_t cpuLastLevelCacheBytes() {
    // /sys lists the caches a core sees (the LLC slice it shares); sysconf on some systems
    // answers the sum over all slices, which is not what one core's working set competes for.
    size_t best = 0;
    int bestLevel = 0;
    for (int i = 0; i < 16; ++i) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
        std::string level = readFirstLine(dir + "level");
        if (level.empty()) break;
        if (readFirstLine(dir + "type") == "Instruction") continue;
        int lv = std::atoi(level.c_str());
        size_t sz = parseSize(readFirstLine(dir + "size"));
        if (lv > bestLevel || (lv == bestLevel && sz > best)) bestLevel = lv, best = sz;
    }
    if (best) return best;
#ifdef _SC_LEVEL3_CACHE_SIZE
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (l3 > 0) return static_cast<size_t>(l3);
#endif
#ifdef _SC_LEVEL2_CACHE_SIZE
    long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l2 > 0) return static_cast<size_t>(l2);
#endif
    return 0;
}

int fp32LanesPerSm(int major, int minor) {
    switch (major) {
        case 5: return 128;                     // Maxwell
        case 6: return minor == 0 ? 64 : 128;   // GP100 / GP10x
        case 7: return 64;                      // Volta, Turing
        case 8: return minor == 0 ? 64 : 128;   // A100 / GA10x, Orin, Ada
        default: return major >= 9 ? 128 : 0;   // Hopper, Blackwell
    }
}

std::string cudaVersionText(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

#ifndef CONVX_HAVE_CUDA
std::unique_ptr<Device> makeCudaDevice(std::string* why) {
    if (why) *why = "convx-bench was built without CUDA (CONVX_HAVE_CUDA is off)";
    return nullptr;
}
#endif

}  // namespace convxbench
