// The CPU device: host memory, steady_clock timing, and the host facts reports need.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>

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
