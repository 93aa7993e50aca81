// libconvx_cudnn.so: an LD_PRELOAD interposer that routes an unmodified application's cuDNN
// legacy convolution calls through convx's selector (docs/interposer.md).
//
// Exported in the version node libcudnn.so.9 (interposer/libcudnn.map.in): the three convolution
// entry points and their Get_v7 / Find / FindEx / MaxCount / WorkspaceSize queries. Everything
// else (descriptors, other ops) is not defined here and resolves to the real cuDNN. cuDNN owns
// every descriptor: a call is read back with cuDNN's getters into convx descriptors. What convx
// does not handle (a dtype, a geometry, no device, CONVX_CUDNN=off) goes to the real function,
// resolved once with dlvsym(RTLD_NEXT, name, "libcudnn.so.9").
//
// Re-entrancy: convx's own cuDNN fallback (CONVX_ALGO_CUDNN) calls cudnnConvolution* too, and
// those calls land here again (the preload comes first in symbol lookup). A thread-local depth
// marks "inside convx": such calls go straight to the real cuDNN, uncounted.
//
// Built twice: libconvx_cudnn.so (the preload), and with CONVX_CUDNN_FORWARDING as the
// forwarding libcudnn.so.9, where the real library is loaded by absolute path instead of found
// with RTLD_NEXT, and generated trampolines forward every other cuDNN function to it.
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "context.h"
#include "convx/convx.h"
#include "cudnn_problem.h"
#include "error.h"
#include "execute.h"
#include "registry.h"
#include "selector.h"

#define CXI_EXPORT extern "C" __attribute__((visibility("default")))

using namespace convx;

namespace {

// ---------------------------------------------------------------- control and counters

enum class Mode { Off, On, Log };

Mode mode() {
    static const Mode m = [] {
        const char* v = std::getenv("CONVX_CUDNN");
        if (!v || !*v || !std::strcmp(v, "on") || !std::strcmp(v, "1")) return Mode::On;
        if (!std::strcmp(v, "off") || !std::strcmp(v, "0")) return Mode::Off;
        if (!std::strcmp(v, "log")) return Mode::Log;
        std::fprintf(stderr, "convx-cudnn: CONVX_CUDNN='%s' is not off|on|log; using on\n", v);
        return Mode::On;
    }();
    return m;
}

std::atomic<unsigned long long> gHandled{0}, gPassed{0}, gExecuted{0};

thread_local int tlDepth = 0;  // > 0 while convx runs: its own cuDNN calls bypass the interposer
struct InsideConvx {
    InsideConvx() { ++tlDepth; }
    ~InsideConvx() { --tlDepth; }
};

void logDecision(const char* fn, const std::string& what) {
    if (mode() == Mode::Log) std::fprintf(stderr, "convx-cudnn: %s %s\n", fn, what.c_str());
}

void passed(const char* fn, const std::string& why) {
    gPassed.fetch_add(1, std::memory_order_relaxed);
    logDecision(fn, "-> cuDNN (" + why + ")");
}

void handled(const char* fn, const std::string& what) {
    gHandled.fetch_add(1, std::memory_order_relaxed);
    logDecision(fn, what);
}

__attribute__((destructor)) void printCounters() {
    const char* v = std::getenv("CONVX_LOG");
    if (v && *v && std::strcmp(v, "0") != 0)
        std::fprintf(stderr, "convx-cudnn: %llu calls handled by convx (%llu convolutions run by convx), %llu passed through to cuDNN\n",
                     gHandled.load(), gExecuted.load(), gPassed.load());
}

// ---------------------------------------------------------------- the real cuDNN

void selfAnchor() {}

#ifdef CONVX_CUDNN_FORWARDING
// The forwarding form is itself named libcudnn.so.9: the real library is loaded privately by
// absolute path (the build's cuDNN, or CONVX_CUDNN_REAL_LIBRARY).
void* realLibrary() {
    static void* const lib = [] {
        const char* env = std::getenv("CONVX_CUDNN_REAL_LIBRARY");
        const char* path = env && *env ? env : CONVX_CUDNN_REAL_PATH;
        void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            std::fprintf(stderr, "convx-cudnn: FATAL: cannot load the real cuDNN '%s': %s (set CONVX_CUDNN_REAL_LIBRARY)\n", path, dlerror());
            std::abort();
        }
        return h;
    }();
    return lib;
}
#define CONVX_REAL_SCOPE realLibrary()
#else
#define CONVX_REAL_SCOPE RTLD_NEXT
#endif

void* resolveReal(const char* name) {
    void* p = dlvsym(CONVX_REAL_SCOPE, name, "libcudnn.so.9");
    if (!p) p = dlsym(CONVX_REAL_SCOPE, name);
    if (!p) {
        std::fprintf(stderr, "convx-cudnn: FATAL: the real %s is not found after the interposer (is libcudnn.so.9 loaded?)\n", name);
        std::abort();
    }
    Dl_info real{}, self{};
    if (dladdr(p, &real) && dladdr(reinterpret_cast<void*>(&selfAnchor), &self) && real.dli_fbase == self.dli_fbase) {
        std::fprintf(stderr, "convx-cudnn: FATAL: %s resolves to the interposer itself (%s): refusing to recurse\n", name,
                     self.dli_fname ? self.dli_fname : "?");
        std::abort();
    }
    return p;
}

#ifdef CONVX_CUDNN_FORWARDING
// The trampolines of every cuDNN function not defined here (generated by forwarding.cmake) jump
// through these slots, filled when the library loads.
extern "C" void* convx_cudnn_slots[];
const char* const kForwarded[] = {
#include "cudnn_forward_names.inc"
};

[[noreturn]] void missingFunction() {
    std::fprintf(stderr, "convx-cudnn: FATAL: a cuDNN function absent from the real library was called\n");
    std::abort();
}

__attribute__((constructor)) void fillForwardingSlots() {
    void* lib = realLibrary();
    for (size_t i = 0; i < sizeof kForwarded / sizeof kForwarded[0]; ++i) {
        void* p = dlvsym(lib, kForwarded[i], "libcudnn.so.9");
        if (!p) p = dlsym(lib, kForwarded[i]);
        convx_cudnn_slots[i] = p ? resolveReal(kForwarded[i]) : reinterpret_cast<void*>(&missingFunction);
    }
}
#endif

// The real function, resolved once per entry point; `real(...)` calls it marked "inside", so that
// nothing cuDNN might call back by name is intercepted again.
#define REAL(fn)                                                                          \
    static const auto realFn = reinterpret_cast<decltype(&::fn)>(resolveReal(#fn));      \
    auto real = [](auto... args) {                                                        \
        InsideConvx inside;                                                               \
        return realFn(args...);                                                           \
    }

// ---------------------------------------------------------------- descriptors read back

// One set of convx descriptors per thread, reset on each call (cuDNN: one handle per thread).
struct Descs {
    convxTensorDescriptor_t x = nullptr, y = nullptr;
    convxFilterDescriptor_t w = nullptr;
    convxConvolutionDescriptor_t conv = nullptr;
    bool ok = false;
    Descs() {
        ok = convxCreateTensorDescriptor(&x) == CONVX_STATUS_SUCCESS && convxCreateTensorDescriptor(&y) == CONVX_STATUS_SUCCESS &&
             convxCreateFilterDescriptor(&w) == CONVX_STATUS_SUCCESS && convxCreateConvolutionDescriptor(&conv) == CONVX_STATUS_SUCCESS;
    }
    ~Descs() {
        if (x) convxDestroyTensorDescriptor(x);
        if (y) convxDestroyTensorDescriptor(y);
        if (w) convxDestroyFilterDescriptor(w);
        if (conv) convxDestroyConvolutionDescriptor(conv);
    }
};
Descs& descs() {
    thread_local Descs d;
    return d;
}

std::string convxError() {
    char msg[512];
    convxGetLastErrorString(msg, sizeof msg);
    return msg;
}

bool convxDataType(cudnnDataType_t t) {
    return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_DOUBLE || t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16;
}

bool readTensor(cudnnTensorDescriptor_t src, convxTensorDescriptor_t dst, const char* role, std::string& why) {
    cudnnDataType_t dt;
    int nb = 0, dims[CUDNN_DIM_MAX], strides[CUDNN_DIM_MAX];
    if (cudnnGetTensorNdDescriptor(src, CUDNN_DIM_MAX, &dt, &nb, dims, strides) != CUDNN_STATUS_SUCCESS)
        return why = std::string(role) + " descriptor not readable", false;
    if (!convxDataType(dt)) return why = std::string(role) + " data type " + std::to_string(int(dt)) + " not handled", false;
    if (nb < 3 || nb > CONVX_DIM_MAX) return why = std::string(role) + " rank " + std::to_string(nb) + " not handled", false;
    if (convxSetTensorNdDescriptor(dst, convxDataType_t(dt), nb, dims, strides) != CONVX_STATUS_SUCCESS)
        return why = convxError(), false;
    return true;
}

bool readFilter(cudnnFilterDescriptor_t src, convxFilterDescriptor_t dst, std::string& why) {
    cudnnDataType_t dt;
    cudnnTensorFormat_t fmt;
    int nb = 0, dims[CUDNN_DIM_MAX];
    if (cudnnGetFilterNdDescriptor(src, CUDNN_DIM_MAX, &dt, &fmt, &nb, dims) != CUDNN_STATUS_SUCCESS)
        return why = "filter descriptor not readable", false;
    if (!convxDataType(dt)) return why = "filter data type " + std::to_string(int(dt)) + " not handled", false;
    if (fmt != CUDNN_TENSOR_NCHW && fmt != CUDNN_TENSOR_NHWC) return why = "filter format " + std::to_string(int(fmt)) + " not handled", false;
    if (nb < 3 || nb > CONVX_DIM_MAX) return why = "filter rank " + std::to_string(nb) + " not handled", false;
    // Nd filter dims are K, C/groups, spatial... whatever the format, in cuDNN as in convx.
    if (convxSetFilterNdDescriptor(dst, convxDataType_t(dt), convxTensorFormat_t(fmt), nb, dims) != CONVX_STATUS_SUCCESS)
        return why = convxError(), false;
    return true;
}

bool readConvolution(cudnnConvolutionDescriptor_t src, convxConvolutionDescriptor_t dst, std::string& why) {
    int n = 0, pad[CUDNN_DIM_MAX], stride[CUDNN_DIM_MAX], dil[CUDNN_DIM_MAX], groups = 1;
    cudnnConvolutionMode_t m;
    cudnnDataType_t ct;
    cudnnMathType_t math;
    if (cudnnGetConvolutionNdDescriptor(src, CONVX_SPATIAL_DIM_MAX, &n, pad, stride, dil, &m, &ct) != CUDNN_STATUS_SUCCESS ||
        cudnnGetConvolutionGroupCount(src, &groups) != CUDNN_STATUS_SUCCESS ||
        cudnnGetConvolutionMathType(src, &math) != CUDNN_STATUS_SUCCESS)
        return why = "convolution descriptor not readable", false;
    if (!convxDataType(ct)) return why = "compute type " + std::to_string(int(ct)) + " not handled", false;
    // Same enum values in both APIs: mode CONVOLUTION 0 / CROSS_CORRELATION 1, math 0..3.
    if (convxSetConvolutionNdDescriptor(dst, n, pad, stride, dil, convxConvolutionMode_t(m), convxDataType_t(ct)) != CONVX_STATUS_SUCCESS ||
        convxSetConvolutionGroupCount(dst, groups) != CONVX_STATUS_SUCCESS ||
        convxSetConvolutionMathType(dst, convxMathType_t(math)) != CONVX_STATUS_SUCCESS)
        return why = convxError(), false;
    return true;
}

// ---------------------------------------------------------------- handles

// One convx CUDA handle per (cuDNN handle, device), kept for the process: a destroyed cuDNN
// handle's address may come back, which is harmless since the stream is set at every call.
convxHandle_t convxHandleFor(cudnnHandle_t ch, std::string& why) {
    static std::mutex m;
    static auto* handles = new std::map<std::pair<cudnnHandle_t, int>, convxHandle_t>;  // never destroyed
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) {
        cudaGetLastError();
        return why = "no CUDA device", nullptr;
    }
    cudaStream_t stream = nullptr;
    if (cudnnGetStream(ch, &stream) != CUDNN_STATUS_SUCCESS) return why = "cudnnGetStream failed", nullptr;
    convxHandle_t h = nullptr;
    {
        std::lock_guard<std::mutex> lock(m);
        convxHandle_t& slot = (*handles)[{ch, dev}];
        if (!slot && convxCreateWithBackend(&slot, CONVX_BACKEND_CUDA) != CONVX_STATUS_SUCCESS) {
            slot = nullptr;
            return why = "convx: " + convxError(), nullptr;
        }
        h = slot;
    }
    if (convxSetStream(h, stream) != CONVX_STATUS_SUCCESS) return why = "convx: " + convxError(), nullptr;
    return h;
}

// ---------------------------------------------------------------- routing

// Does convx's algorithm `a` give reproducible bits in direction `dir`? convx's cuDNN fallback
// declares itself non-deterministic because its backward picks may use atomics; its forward is
// always deterministic (every cuDNN forward algorithm is).
bool reproducible(const Algorithm* a, Direction dir) {
    return a->deterministic() || (a->id() == CONVX_ALGO_CUDNN && dir == Direction::Forward);
}

// What convx would do with a call: its AUTO pick and, for clients that asked for a
// deterministic cuDNN algorithm, the first applicable deterministic convx algorithm (never the
// slow reference). Built inside InsideConvx: the selector may query cuDNN through the fallback.
struct Route {
    bool ok = false;
    std::string why;  // when !ok
    convxHandle_t h = nullptr;
    Problem p;
    const Algorithm* pick = nullptr;
    const Algorithm* deterministic = nullptr;
};

Route decide(Direction dir, cudnnHandle_t ch, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
             cudnnTensorDescriptor_t y) {
    Route r;
    if (mode() == Mode::Off) return r.why = "CONVX_CUDNN=off", r;
    if (!x || !w || !conv || !y) return r.why = "a NULL descriptor", r;
    Descs& d = descs();
    if (!d.ok) return r.why = "convx descriptors could not be created", r;
    const bool fwd = dir == Direction::Forward;
    if (!readTensor(x, d.x, fwd || dir == Direction::BackwardFilter ? "x" : "dx", r.why) || !readFilter(w, d.w, r.why) ||
        !readConvolution(conv, d.conv, r.why) || !readTensor(y, d.y, fwd ? "y" : "dy", r.why))
        return r;
    InsideConvx inside;
    try {
        r.p = problemOf(dir, CallDescs{d.x, d.w, d.conv, d.y});  // needs no handle
    } catch (const std::exception& e) {
        return r.why = std::string("convx: ") + e.what(), r;
    }
    if (!ch) return r.why = "a NULL handle; read back as " + r.p.str(), r;
    r.h = convxHandleFor(ch, r.why);
    if (!r.h) return r.why += "; read back as " + r.p.str(), r;
    try {
        r.pick = selectAlgorithm(*r.h, r.p, CONVX_ALGO_AUTO);
        if (reproducible(r.pick, dir)) r.deterministic = r.pick;
        else
            for (const Ranked& k : rankAlgorithms(*r.h, r.p))
                if (k.applicability.ok && reproducible(k.algo, dir) && k.algo->id() != CONVX_ALGO_REFERENCE) {
                    r.deterministic = k.algo;
                    break;
                }
    } catch (const std::exception& e) {
        return r.why = std::string("convx: ") + e.what(), r;
    }
    r.ok = true;
    return r;
}

// Is cuDNN's algorithm `algo` bitwise reproducible? (The atomics-based ones are not.)
bool cudnnDeterministic(Direction dir, int algo) {
    switch (dir) {
        case Direction::Forward: return true;
        case Direction::BackwardData: return algo != CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
        case Direction::BackwardFilter: return algo != CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 && algo != CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
    }
    return true;
}

// The convx algorithm that runs a call made with cuDNN algorithm `algo`; nullptr = cuDNN runs it.
// Any enum is accepted; only a deterministic request keeps its determinism.
const Algorithm* routed(const Route& r, Direction dir, int algo) {
    if (!r.ok) return nullptr;
    return cudnnDeterministic(dir, algo) ? r.deterministic : r.pick;
}

const char* dirName(Direction dir) {
    return dir == Direction::Forward ? "fwd" : dir == Direction::BackwardData ? "bwd_d" : "bwd_w";
}

std::string describe(const Route& r, Direction dir, int algo, const Algorithm* a) {
    return std::string(dirName(dir)) + " " + r.p.str() + " cudnn-algo " + std::to_string(algo) + " -> convx " + a->name();
}

constexpr size_t kNoWorkspace = SIZE_MAX;  // convx could not size it: cuDNN keeps the call

size_t convxWorkspace(const Route& r, const Algorithm* a) {
    InsideConvx inside;
    try {
        return a->workspaceSize(r.p);
    } catch (const std::exception&) {
        return kNoWorkspace;
    }
}

// Best of three timed runs after a warm-up, on the handle's stream; < 0 when convx fails.
float timeConvx(const Route& r, const Algorithm* a, const Buffers& b, void* ws, size_t wsBytes) {
    InsideConvx inside;
    try {
        const convxContext& ctx = liveHandle(r.h);
        const ExecContext ec{&ctx, ws, wsBytes};
        const Scale s{1.0, 0.0};
        a->run(ec, r.p, b, s);
        double best = 0;
        for (int i = 0; i < 3; ++i) {
            const double ms = backendTimeMs(ctx, [&] { a->run(ec, r.p, b, s); });
            best = i == 0 ? ms : std::min(best, ms);
        }
        return static_cast<float>(best);
    } catch (const std::exception&) {
        return -1.0f;
    }
}

// ---------------------------------------------------------------- shared bodies

// Runs a convolution on convx; false (with why) when cuDNN must run it instead.
bool runConvx(const Route& r, Direction dir, const Algorithm* a, const void* alpha, const Buffers& b, void* ws, size_t wsBytes,
              const void* beta, std::string& why) {
    Descs& d = descs();
    convxStatus_t st;
    {
        InsideConvx inside;
        switch (dir) {
            case Direction::Forward:
                st = convxConvolutionForward(r.h, alpha, d.x, b.x, d.w, b.w, d.conv, a->id(), ws, wsBytes, beta, d.y, b.y);
                break;
            case Direction::BackwardData:
                st = convxConvolutionBackwardData(r.h, alpha, d.w, b.w, d.y, b.y, d.conv, a->id(), ws, wsBytes, beta, d.x, b.x);
                break;
            default:
                st = convxConvolutionBackwardFilter(r.h, alpha, d.x, b.x, d.y, b.y, d.conv, a->id(), ws, wsBytes, beta, d.w, b.w);
                break;
        }
    }
    if (st == CONVX_STATUS_SUCCESS) return true;
    why = "convx failed: " + convxError();
    return false;
}

// After the real Get_v7 / Find: entries convx will run report convx's workspace (the larger of
// the two, so a fallback to cuDNN also fits), determinism and math; with `times`, convx's time.
// Returns how many entries convx took over.
template <class Perf>
int adjustPerf(const Route& r, Direction dir, Perf* perf, int n, bool timeThem, const Buffers* b, void* ws, size_t wsBytes) {
    std::map<const Algorithm*, float> times;
    int taken = 0;
    for (int i = 0; i < n; ++i) {
        Perf& e = perf[i];
        if (e.status != CUDNN_STATUS_SUCCESS) continue;  // cuDNN cannot run it: no fallback, leave it
        const Algorithm* a = routed(r, dir, int(e.algo));
        if (!a) continue;
        const size_t need = convxWorkspace(r, a);
        if (need == kNoWorkspace) continue;
        if (timeThem) {
            auto it = times.find(a);
            if (it == times.end()) it = times.emplace(a, need <= wsBytes ? timeConvx(r, a, *b, ws, wsBytes) : -1.0f).first;
            if (it->second < 0) continue;  // convx cannot run it here: cuDNN will, as timed
            e.time = it->second;
        }
        e.memory = std::max(e.memory, need);
        e.determinism = reproducible(a, dir) ? CUDNN_DETERMINISTIC : CUDNN_NON_DETERMINISTIC;
        e.mathType = cudnnMathTypeFor(r.p);
        ++taken;
    }
    if (timeThem && taken)
        std::stable_sort(perf, perf + n, [](const Perf& l, const Perf& rr) {
            const bool lo = l.status == CUDNN_STATUS_SUCCESS, ro = rr.status == CUDNN_STATUS_SUCCESS;
            if (lo != ro) return lo;
            return lo && l.time < rr.time;
        });
    return taken;
}

// Device buffers for the allocating Find (cuDNN allocates there too); freed on destruction.
struct DeviceBuffers {
    void* p[4] = {};
    bool ok = true;
    void alloc(int i, size_t bytes) {
        if (!ok || bytes == 0) return;
        if (cudaMalloc(&p[i], bytes) != cudaSuccess || cudaMemset(p[i], 0, bytes) != cudaSuccess) {
            cudaGetLastError();
            ok = false;
        }
    }
    ~DeviceBuffers() {
        for (void* q : p)
            if (q) cudaFree(q);
    }
};

template <class Perf, class RealFind>
cudnnStatus_t findBody(const char* fn, Direction dir, cudnnHandle_t ch, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
                       cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y, const Buffers* given, int* returned,
                       Perf* perf, void* ws, size_t wsBytes, RealFind&& realFind) {
    const cudnnStatus_t rs = realFind();
    if (rs != CUDNN_STATUS_SUCCESS || !returned || !perf) {
        passed(fn, "cuDNN's own status " + std::to_string(int(rs)));
        return rs;
    }
    const Route r = decide(dir, ch, x, w, conv, y);
    if (!r.ok) {
        passed(fn, r.why);
        return rs;
    }
    int taken = 0;
    if (given) {
        taken = adjustPerf(r, dir, perf, *returned, true, given, ws, wsBytes);
    } else {
        // Buffers of the call's shapes (and convx's largest workspace) to time convx on.
        size_t xb = 0, wb = 0, yb = 0, need = 0;
        cudnnGetTensorSizeInBytes(x, &xb);
        cudnnGetFilterSizeInBytes(w, &wb);
        cudnnGetTensorSizeInBytes(y, &yb);
        for (const Algorithm* a : {r.pick, r.deterministic})
            if (a && convxWorkspace(r, a) != kNoWorkspace) need = std::max(need, convxWorkspace(r, a));
        DeviceBuffers db;
        db.alloc(0, xb), db.alloc(1, wb), db.alloc(2, yb), db.alloc(3, need);
        // The zeroing ran on the legacy stream, which a non-blocking client stream does not wait for.
        if (db.ok && cudaDeviceSynchronize() != cudaSuccess) db.ok = false;
        if (!db.ok) {
            cudaGetLastError();
            passed(fn, "no device memory to time convx");
            return rs;
        }
        const Buffers b{db.p[0], db.p[1], db.p[2]};
        taken = adjustPerf(r, dir, perf, *returned, true, &b, db.p[3], need);
    }
    if (!taken) {
        passed(fn, "convx could not run any of cuDNN's candidates here");
        return rs;
    }
    handled(fn, std::string(dirName(dir)) + " " + r.p.str() + " -> convx " + r.pick->name() + " timed");
    return rs;
}

}  // namespace

// ---------------------------------------------------------------- exports: evidence

// Counters since the process started: calls whose answer convx supplied, convolutions convx ran,
// calls passed through to cuDNN. Any pointer may be NULL. Exported in node CONVX_INTERPOSER_1;
// find it with dlsym(RTLD_DEFAULT, "convxInterposerCounters") (absent = no interposer loaded).
CXI_EXPORT int convxInterposerCounters(unsigned long long* handledCalls, unsigned long long* convolutionsRun,
                                       unsigned long long* passedThrough) {
    if (handledCalls) *handledCalls = gHandled.load();
    if (convolutionsRun) *convolutionsRun = gExecuted.load();
    if (passedThrough) *passedThrough = gPassed.load();
    return 0;
}

// ---------------------------------------------------------------- exports: convolutions

#define EXEC_BODY(fn, dir, xd, wd, yd, bufs, realArgs)                                   \
    REAL(fn);                                                                            \
    if (tlDepth) return real realArgs;                                                   \
    const Route r = decide(dir, handle, xd, wd, convDesc, yd);                           \
    std::string why = r.why;                                                             \
    if (const Algorithm* a = routed(r, dir, int(algo))) {                                \
        if (runConvx(r, dir, a, alpha, bufs, workSpace, workSpaceSizeInBytes, beta, why)) { \
            gExecuted.fetch_add(1, std::memory_order_relaxed);                           \
            handled(#fn, describe(r, dir, int(algo), a));                                \
            return CUDNN_STATUS_SUCCESS;                                                 \
        }                                                                                \
    } else if (r.ok) {                                                                   \
        why = "no deterministic convx algorithm for deterministic cudnn-algo " + std::to_string(int(algo)); \
    }                                                                                    \
    passed(#fn, why);                                                                    \
    return real realArgs;

CXI_EXPORT cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,
                                                 const void* x, const cudnnFilterDescriptor_t wDesc, const void* w,
                                                 const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
                                                 void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                                 const cudnnTensorDescriptor_t yDesc, void* y) {
    EXEC_BODY(cudnnConvolutionForward, Direction::Forward, xDesc, wDesc, yDesc,
              (Buffers{const_cast<void*>(x), const_cast<void*>(w), y}),
              (handle, alpha, xDesc, x, wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes, beta, yDesc, y))
}

CXI_EXPORT cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void* alpha, const cudnnFilterDescriptor_t wDesc,
                                                      const void* w, const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                                      const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdDataAlgo_t algo,
                                                      void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                                      const cudnnTensorDescriptor_t dxDesc, void* dx) {
    EXEC_BODY(cudnnConvolutionBackwardData, Direction::BackwardData, dxDesc, wDesc, dyDesc,
              (Buffers{dx, const_cast<void*>(w), const_cast<void*>(dy)}),
              (handle, alpha, wDesc, w, dyDesc, dy, convDesc, algo, workSpace, workSpaceSizeInBytes, beta, dxDesc, dx))
}

CXI_EXPORT cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void* alpha, const cudnnTensorDescriptor_t xDesc,
                                                        const void* x, const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                                        const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdFilterAlgo_t algo,
                                                        void* workSpace, size_t workSpaceSizeInBytes, const void* beta,
                                                        const cudnnFilterDescriptor_t dwDesc, void* dw) {
    EXEC_BODY(cudnnConvolutionBackwardFilter, Direction::BackwardFilter, xDesc, dwDesc, dyDesc,
              (Buffers{const_cast<void*>(x), dw, const_cast<void*>(dy)}),
              (handle, alpha, xDesc, x, dyDesc, dy, convDesc, algo, workSpace, workSpaceSizeInBytes, beta, dwDesc, dw))
}

// ---------------------------------------------------------------- exports: workspace sizes

#define WORKSPACE_BODY(fn, dir, xd, wd, yd, realArgs)                                              \
    REAL(fn);                                                                                      \
    if (tlDepth) return real realArgs;                                                             \
    const cudnnStatus_t rs = real realArgs;                                                        \
    if (!sizeInBytes) {                                                                            \
        passed(#fn, "sizeInBytes is NULL");                                                        \
        return rs;                                                                                 \
    }                                                                                              \
    const size_t cudnnNeed = rs == CUDNN_STATUS_SUCCESS ? *sizeInBytes : 0;                        \
    const Route r = decide(dir, handle, xd, wd, convDesc, yd);                                     \
    const Algorithm* a = routed(r, dir, int(algo));                                                \
    const size_t convxNeed = a ? convxWorkspace(r, a) : kNoWorkspace;                              \
    if (convxNeed == kNoWorkspace) {                                                               \
        passed(#fn, !r.ok ? r.why : a ? "convx cannot size it" : "no deterministic convx algorithm"); \
        return rs;                                                                                 \
    }                                                                                              \
    /* Any enum is accepted: cuDNN's need counts only where cuDNN could run it as a fallback. */   \
    *sizeInBytes = std::max(convxNeed, cudnnNeed);                                                 \
    handled(#fn, describe(r, dir, int(algo), a) + " workspace " + std::to_string(*sizeInBytes));  \
    return CUDNN_STATUS_SUCCESS;

CXI_EXPORT cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                                 const cudnnFilterDescriptor_t wDesc,
                                                                 const cudnnConvolutionDescriptor_t convDesc,
                                                                 const cudnnTensorDescriptor_t yDesc, cudnnConvolutionFwdAlgo_t algo,
                                                                 size_t* sizeInBytes) {
    WORKSPACE_BODY(cudnnGetConvolutionForwardWorkspaceSize, Direction::Forward, xDesc, wDesc, yDesc,
                   (handle, xDesc, wDesc, convDesc, yDesc, algo, sizeInBytes))
}

CXI_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                                      const cudnnTensorDescriptor_t dyDesc,
                                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                                      const cudnnTensorDescriptor_t dxDesc,
                                                                      cudnnConvolutionBwdDataAlgo_t algo, size_t* sizeInBytes) {
    WORKSPACE_BODY(cudnnGetConvolutionBackwardDataWorkspaceSize, Direction::BackwardData, dxDesc, wDesc, dyDesc,
                   (handle, wDesc, dyDesc, convDesc, dxDesc, algo, sizeInBytes))
}

CXI_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                                        const cudnnTensorDescriptor_t dyDesc,
                                                                        const cudnnConvolutionDescriptor_t convDesc,
                                                                        const cudnnFilterDescriptor_t gradDesc,
                                                                        cudnnConvolutionBwdFilterAlgo_t algo, size_t* sizeInBytes) {
    WORKSPACE_BODY(cudnnGetConvolutionBackwardFilterWorkspaceSize, Direction::BackwardFilter, xDesc, gradDesc, dyDesc,
                   (handle, xDesc, dyDesc, convDesc, gradDesc, algo, sizeInBytes))
}

// ---------------------------------------------------------------- exports: MaxCount

// Pass-through: the Get_v7 / Find lists stay cuDNN's (one entry per cuDNN algorithm id).
#define MAXCOUNT_BODY(fn)                 \
    REAL(fn);                             \
    if (tlDepth) return real(handle, count); \
    passed(#fn, "the count of cuDNN's algorithm ids"); \
    return real(handle, count);

CXI_EXPORT cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
    MAXCOUNT_BODY(cudnnGetConvolutionForwardAlgorithmMaxCount)
}
CXI_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
    MAXCOUNT_BODY(cudnnGetConvolutionBackwardDataAlgorithmMaxCount)
}
CXI_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnnHandle_t handle, int* count) {
    MAXCOUNT_BODY(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount)
}

// ---------------------------------------------------------------- exports: Get_v7

#define GET_BODY(fn, dir, xd, wd, yd, realArgs)                                     \
    REAL(fn);                                                                       \
    if (tlDepth) return real realArgs;                                              \
    const cudnnStatus_t rs = real realArgs;                                         \
    if (rs != CUDNN_STATUS_SUCCESS || !returnedAlgoCount || !perfResults) {         \
        passed(#fn, "cuDNN's own status " + std::to_string(int(rs)));               \
        return rs;                                                                  \
    }                                                                               \
    const Route r = decide(dir, handle, xd, wd, convDesc, yd);                      \
    if (!r.ok) {                                                                    \
        passed(#fn, r.why);                                                         \
        return rs;                                                                  \
    }                                                                               \
    if (!adjustPerf(r, dir, perfResults, *returnedAlgoCount, false, nullptr, nullptr, 0)) { \
        passed(#fn, "convx takes none of cuDNN's candidates");                     \
        return rs;                                                                  \
    }                                                                               \
    handled(#fn, std::string(dirName(dir)) + " " + r.p.str() + " -> convx " + r.pick->name()); \
    return rs;

CXI_EXPORT cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                                const cudnnFilterDescriptor_t filterDesc,
                                                                const cudnnConvolutionDescriptor_t convDesc,
                                                                const cudnnTensorDescriptor_t destDesc, const int requestedAlgoCount,
                                                                int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults) {
    GET_BODY(cudnnGetConvolutionForwardAlgorithm_v7, Direction::Forward, srcDesc, filterDesc, destDesc,
             (handle, srcDesc, filterDesc, convDesc, destDesc, requestedAlgoCount, returnedAlgoCount, perfResults))
}

CXI_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc,
                                                                     const cudnnTensorDescriptor_t diffDesc,
                                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                                     const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount,
                                                                     int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
    GET_BODY(cudnnGetConvolutionBackwardDataAlgorithm_v7, Direction::BackwardData, gradDesc, filterDesc, diffDesc,
             (handle, filterDesc, diffDesc, convDesc, gradDesc, requestedAlgoCount, returnedAlgoCount, perfResults))
}

CXI_EXPORT cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
                                                                       const cudnnTensorDescriptor_t diffDesc,
                                                                       const cudnnConvolutionDescriptor_t convDesc,
                                                                       const cudnnFilterDescriptor_t gradDesc, const int requestedAlgoCount,
                                                                       int* returnedAlgoCount,
                                                                       cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
    GET_BODY(cudnnGetConvolutionBackwardFilterAlgorithm_v7, Direction::BackwardFilter, srcDesc, gradDesc, diffDesc,
             (handle, srcDesc, diffDesc, convDesc, gradDesc, requestedAlgoCount, returnedAlgoCount, perfResults))
}

// ---------------------------------------------------------------- exports: Find and FindEx

CXI_EXPORT cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                              const cudnnFilterDescriptor_t wDesc,
                                                              const cudnnConvolutionDescriptor_t convDesc,
                                                              const cudnnTensorDescriptor_t yDesc, const int requestedAlgoCount,
                                                              int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults) {
    REAL(cudnnFindConvolutionForwardAlgorithm);
    auto call = [&] { return real(handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount, returnedAlgoCount, perfResults); };
    if (tlDepth) return call();
    return findBody("cudnnFindConvolutionForwardAlgorithm", Direction::Forward, handle, xDesc, wDesc, convDesc, yDesc, nullptr,
                    returnedAlgoCount, perfResults, nullptr, 0, call);
}

CXI_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                                   const cudnnTensorDescriptor_t dyDesc,
                                                                   const cudnnConvolutionDescriptor_t convDesc,
                                                                   const cudnnTensorDescriptor_t dxDesc, const int requestedAlgoCount,
                                                                   int* returnedAlgoCount, cudnnConvolutionBwdDataAlgoPerf_t* perfResults) {
    REAL(cudnnFindConvolutionBackwardDataAlgorithm);
    auto call = [&] { return real(handle, wDesc, dyDesc, convDesc, dxDesc, requestedAlgoCount, returnedAlgoCount, perfResults); };
    if (tlDepth) return call();
    return findBody("cudnnFindConvolutionBackwardDataAlgorithm", Direction::BackwardData, handle, dxDesc, wDesc, convDesc, dyDesc,
                    nullptr, returnedAlgoCount, perfResults, nullptr, 0, call);
}

CXI_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithm(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                                     const cudnnTensorDescriptor_t dyDesc,
                                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                                     const cudnnFilterDescriptor_t dwDesc, const int requestedAlgoCount,
                                                                     int* returnedAlgoCount,
                                                                     cudnnConvolutionBwdFilterAlgoPerf_t* perfResults) {
    REAL(cudnnFindConvolutionBackwardFilterAlgorithm);
    auto call = [&] { return real(handle, xDesc, dyDesc, convDesc, dwDesc, requestedAlgoCount, returnedAlgoCount, perfResults); };
    if (tlDepth) return call();
    return findBody("cudnnFindConvolutionBackwardFilterAlgorithm", Direction::BackwardFilter, handle, xDesc, dwDesc, convDesc, dyDesc,
                    nullptr, returnedAlgoCount, perfResults, nullptr, 0, call);
}

CXI_EXPORT cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void* x,
                                                                const cudnnFilterDescriptor_t wDesc, const void* w,
                                                                const cudnnConvolutionDescriptor_t convDesc,
                                                                const cudnnTensorDescriptor_t yDesc, void* y, const int requestedAlgoCount,
                                                                int* returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t* perfResults,
                                                                void* workSpace, size_t workSpaceSizeInBytes) {
    REAL(cudnnFindConvolutionForwardAlgorithmEx);
    auto call = [&] {
        return real(handle, xDesc, x, wDesc, w, convDesc, yDesc, y, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace,
                    workSpaceSizeInBytes);
    };
    if (tlDepth) return call();
    const Buffers b{const_cast<void*>(x), const_cast<void*>(w), y};
    return findBody("cudnnFindConvolutionForwardAlgorithmEx", Direction::Forward, handle, xDesc, wDesc, convDesc, yDesc, &b,
                    returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes, call);
}

CXI_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
                                                                     const void* w, const cudnnTensorDescriptor_t dyDesc, const void* dy,
                                                                     const cudnnConvolutionDescriptor_t convDesc,
                                                                     const cudnnTensorDescriptor_t dxDesc, void* dx,
                                                                     const int requestedAlgoCount, int* returnedAlgoCount,
                                                                     cudnnConvolutionBwdDataAlgoPerf_t* perfResults, void* workSpace,
                                                                     size_t workSpaceSizeInBytes) {
    REAL(cudnnFindConvolutionBackwardDataAlgorithmEx);
    auto call = [&] {
        return real(handle, wDesc, w, dyDesc, dy, convDesc, dxDesc, dx, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace,
                    workSpaceSizeInBytes);
    };
    if (tlDepth) return call();
    const Buffers b{dx, const_cast<void*>(w), const_cast<void*>(dy)};
    return findBody("cudnnFindConvolutionBackwardDataAlgorithmEx", Direction::BackwardData, handle, dxDesc, wDesc, convDesc, dyDesc, &b,
                    returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes, call);
}

CXI_EXPORT cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
                                                                       const void* x, const cudnnTensorDescriptor_t dyDesc, const void* y,
                                                                       const cudnnConvolutionDescriptor_t convDesc,
                                                                       const cudnnFilterDescriptor_t dwDesc, void* dw,
                                                                       const int requestedAlgoCount, int* returnedAlgoCount,
                                                                       cudnnConvolutionBwdFilterAlgoPerf_t* perfResults, void* workSpace,
                                                                       size_t workSpaceSizeInBytes) {
    REAL(cudnnFindConvolutionBackwardFilterAlgorithmEx);
    auto call = [&] {
        return real(handle, xDesc, x, dyDesc, y, convDesc, dwDesc, dw, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace,
                    workSpaceSizeInBytes);
    };
    if (tlDepth) return call();
    const Buffers b{const_cast<void*>(x), dw, const_cast<void*>(y)};
    return findBody("cudnnFindConvolutionBackwardFilterAlgorithmEx", Direction::BackwardFilter, handle, xDesc, dwDesc, convDesc, dyDesc,
                    &b, returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes, call);
}
