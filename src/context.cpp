#include "context.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "error.h"

namespace convx {

#ifdef CONVX_HAVE_CUDA
void initCudaBackend(convxContext& ctx);     // cuda/device.cu
void releaseCudaBackend(convxContext& ctx);  // cuda/device.cu
void checkCudaPointer(const void* ptr, const char* arg);                          // cuda/device.cu
double cudaTimeMs(const convxContext& ctx, const std::function<void()>& run);  // cuda/device.cu
std::string cudaDeviceKey(const convxContext& ctx);                               // cuda/device.cu
void* cudaAllocBytes(size_t bytes);                                               // cuda/device.cu
void cudaFreeBytes(void* p);                                                      // cuda/device.cu
void cudaCopyBytes(const convxContext& ctx, void* dst, const void* src, size_t bytes);  // cuda/device.cu
void cudaUploadBytes(const convxContext& ctx, void* dst, const void* src, size_t bytes);  // cuda/device.cu
#endif

void initBackend(convxContext& ctx) {
    if (ctx.backend == CONVX_BACKEND_CPU) return;
#ifdef CONVX_HAVE_CUDA
    initCudaBackend(ctx);
#else
    fail(CONVX_STATUS_NOT_SUPPORTED_BACKEND, "this build of convx has no CUDA backend (configured without a CUDA compiler); use CONVX_BACKEND_CPU");
#endif
}

void releaseBackend(convxContext& ctx) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) releaseCudaBackend(ctx);
#else
    (void)ctx;
#endif
}

void checkBackendPointer(const convxContext& ctx, const void* ptr, const char* arg) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) checkCudaPointer(ptr, arg);
#else
    (void)ctx, (void)ptr, (void)arg;
#endif
}

double backendTimeMs(const convxContext& ctx, const std::function<void()>& run) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) return cudaTimeMs(ctx, run);
#else
    (void)ctx;
#endif
    const auto t0 = std::chrono::steady_clock::now();
    run();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string sanitizeKey(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-';
        if (keep) out += static_cast<char>(c);
        else if (!out.empty() && out.back() != '_') out += '_';
    }
    while (!out.empty() && out.back() == '_') out.pop_back();
    if (out.size() > 96) out.resize(96);
    return out.empty() ? std::string("unknown") : out;
}

// The CPU's model name as /proc/cpuinfo spells it (x86: "model name"; ARM: "Hardware", or the
// implementer and part numbers), read once.
static std::string cpuModelName() {
    std::ifstream f("/proc/cpuinfo");
    std::string line, hardware, implementer, part;
    auto trim = [](std::string v) {
        const size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t\r");
        return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
    };
    while (std::getline(f, line)) {
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string key = trim(line.substr(0, colon)), val = trim(line.substr(colon + 1));
        if (key == "model name" && !val.empty()) return val;
        if (key == "Hardware" && hardware.empty()) hardware = val;
        if (key == "CPU implementer" && implementer.empty()) implementer = val;
        if (key == "CPU part" && part.empty()) part = val;
    }
    if (!hardware.empty()) return hardware;
    if (!implementer.empty()) return "arm-" + implementer + "-" + part;
    return "unknown";
}

std::string backendDeviceKey(const convxContext& ctx) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) return cudaDeviceKey(ctx);
#else
    (void)ctx;
#endif
    static const std::string key = "cpu-" + sanitizeKey(cpuModelName());
    return key;
}

void* backendAlloc(const convxContext& ctx, size_t bytes) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) return cudaAllocBytes(bytes);
#else
    (void)ctx;
#endif
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded ? rounded : 64);
    if (!p) fail(CONVX_STATUS_ALLOC_FAILED, "cannot allocate %zu bytes of host memory", bytes);
    return p;
}

void backendFree(const convxContext& ctx, void* p) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) return cudaFreeBytes(p);
#else
    (void)ctx;
#endif
    std::free(p);
}

void backendCopy(const convxContext& ctx, void* dst, const void* src, size_t bytes) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) return cudaCopyBytes(ctx, dst, src, bytes);
#else
    (void)ctx;
#endif
    if (bytes) std::memcpy(dst, src, bytes);
}

void backendUpload(const convxContext& ctx, void* dst, const void* hostSrc, size_t bytes) {
#ifdef CONVX_HAVE_CUDA
    if (ctx.backend == CONVX_BACKEND_CUDA) return cudaUploadBytes(ctx, dst, hostSrc, bytes);
#else
    (void)ctx;
#endif
    if (bytes) std::memcpy(dst, hostSrc, bytes);
}

}  // namespace convx
