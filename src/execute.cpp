#include "execute.h"

#include <algorithm>
#include <cstdint>

#include "descriptors.h"
#include "error.h"
#include "find_db.h"
#include "log.h"
#include "registry.h"
#include "selector.h"

namespace convx {

convxContext& liveHandle(convxHandle_t h) {
    requireNonNull(h, "handle");
    if (!isTracked(h)) fail(CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "handle is not a live convx handle (destroyed, or never created)");
    return *h;
}

// Argument names by role, per direction.
static CallNames callNames(Direction dir) {
    switch (dir) {
        case Direction::Forward: return {argNames(dir), "x", "w", "y"};
        case Direction::BackwardData: return {argNames(dir), "dx", "w", "dy"};
        case Direction::BackwardFilter: return {argNames(dir), "x", "dw", "dy"};
    }
    return {argNames(dir), "x", "w", "y"};
}

Problem problemOf(Direction dir, const CallDescs& d, const CallNames* names) {
    const ArgNames a = names ? names->desc : argNames(dir);
    const convxTensorStruct& x = setTensor(d.x, a.x);
    const convxFilterStruct& w = setFilter(d.w, a.w);
    const convxConvolutionStruct& c = setConvolution(d.conv, a.conv);
    const convxTensorStruct& y = setTensor(d.y, a.y);
    return makeProblem(dir, x, w, c, y, &a);
}

static void checkBuffers(const convxContext& h, const Problem& p, const Buffers& b, const CallNames* names) {
    const CallNames n = names ? *names : callNames(p.dir);
    const uintptr_t align = dtypeSize(p.dtype);
    const std::pair<const void*, const char*> ptrs[] = {{b.x, n.x}, {b.w, n.w}, {b.y, n.y}};
    for (const auto& [ptr, name] : ptrs) {
        requireNonNull(ptr, name);
        if (reinterpret_cast<uintptr_t>(ptr) % align)
            fail(CONVX_STATUS_BAD_PARAM_MISALIGNED_POINTER, "%s = %p is not aligned to its %zu-byte %s elements", name, ptr,
                 static_cast<size_t>(align), dtypeName(p.dtype));
        checkBackendPointer(h, ptr, name);
    }
}

static Scale readScale(const Problem& p, const void* alpha, const void* beta) {
    requireNonNull(alpha, "alpha");
    requireNonNull(beta, "beta");
    if (p.dtype == DType::F64) return {*static_cast<const double*>(alpha), *static_cast<const double*>(beta)};
    return {*static_cast<const float*>(alpha), *static_cast<const float*>(beta)};
}

static void checkWorkspace(const Algorithm& a, const Problem& p, const void* ws, size_t bytes) {
    size_t need = a.workspaceSize(p);
    if (need > bytes)
        fail(CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "workspace_bytes = %zu, algo %s needs %zu for %s", bytes, a.name(), need,
             p.str().c_str());
    if (need > 0 && ws == nullptr) fail(CONVX_STATUS_BAD_PARAM_NULL_POINTER, "workspace is NULL but algo %s needs %zu bytes", a.name(), need);
}

std::string benchCommand(const convxContext& h, const Problem& p, const char* algo) {
    return std::string("convx-bench --backend=") + backendName(h.backend) + " --algo=" + algo + " " + p.str();
}

// The output tensor of the call, by role, and the bytes it spans (strides included).
static void*& outputOf(Buffers& b, Direction d) {
    return d == Direction::Forward ? b.y : d == Direction::BackwardData ? b.x : b.w;
}
static size_t outputSpanBytes(const Problem& p) {
    int64_t span = 1;
    if (p.dir == Direction::BackwardFilter) {
        span = p.wElems();
    } else {
        const bool fwd = p.dir == Direction::Forward;
        const Strides& st = fwd ? p.yStrides : p.xStrides;
        const Dims& sp = fwd ? p.out : p.in;
        span += (p.N - 1) * st[0] + ((fwd ? p.K : p.C) - 1) * st[1];
        for (int i = 0; i < p.nsp; ++i) span += (sp[static_cast<size_t>(i)] - 1) * st[static_cast<size_t>(2 + i)];
    }
    return static_cast<size_t>(span) * dtypeSize(p.dtype);
}

// CONVX_FIND_MODE=auto: times each candidate once (after one untimed warm-up run) on the call's
// inputs and workspace and records the fastest in the find-db. The call's output must come out
// as computed once from its original content, so with beta != 0 the candidates write into a
// scratch copy of it; with beta == 0 they may write into it, as the winner then runs on it again.
static const Algorithm* timeOnCall(const convxContext& h, const Problem& p, const Buffers& b, Scale s, void* workspace,
                                   size_t workspaceBytes, const std::vector<const Algorithm*>& candidates) {
    const bool log = logEnabled();
    Buffers timed = b;
    const void* original = outputOf(timed, p.dir);
    const size_t bytes = outputSpanBytes(p);
    struct Scratch {
        const convxContext& h;
        void* ptr = nullptr;
        ~Scratch() {
            if (ptr) backendFree(h, ptr);
        }
    } scratch{h};
    if (s.beta != 0.0) {
        scratch.ptr = backendAlloc(h, bytes);
        outputOf(timed, p.dir) = scratch.ptr;
    }
    const ExecContext ctx{&h, workspace, workspaceBytes};
    const Algorithm* best = nullptr;
    double bestMs = 0;
    for (const Algorithm* a : candidates) {
        try {
            // One untimed run first: the first call of a kernel pays one-off costs (thread pool
            // start, page faults, lazy module loading, cuDNN plan setup) that would decide the race.
            if (scratch.ptr) backendCopy(h, scratch.ptr, original, bytes);
            a->run(ctx, p, timed, s);
            if (scratch.ptr) backendCopy(h, scratch.ptr, original, bytes);
            const double ms = backendTimeMs(h, [&] { a->run(ctx, p, timed, s); });
            if (log) logLine(format("  timed %s: %.4g ms", a->name(), ms));
            if (!best || ms < bestMs) {
                best = a;
                bestMs = ms;
            }
        } catch (const Error& e) {
            if (log) logLine(std::string("  timing ") + a->name() + " failed: " + e.what());
        }
    }
    if (best) findDbRecord(h, p, {best->id(), bestMs, best->workspaceSize(p)}, FindDbSource::FindModeAuto);
    return best;
}

void execute(convxHandle_t handle, Direction dir, const CallDescs& d, const Buffers& b, const void* alpha, const void* beta,
             convxConvAlgo_t algo, void* workspace, size_t workspaceBytes, const CallNames* names) {
    convxContext& h = liveHandle(handle);
    Problem p = problemOf(dir, d, names);
    checkBuffers(h, p, b, names);
    Scale s = readScale(p, alpha, beta);
    SelectOptions o;
    if (algo == CONVX_ALGO_AUTO) {
        // AUTO never picks what the call's workspace cannot hold (a NULL workspace holds nothing).
        o.workspaceAvailable = workspace ? workspaceBytes : 0;
        o.benchmark = [&](const std::vector<const Algorithm*>& c) { return timeOnCall(h, p, b, s, workspace, workspaceBytes, c); };
    }
    const Algorithm* a = selectAlgorithm(h, p, algo, o);
    checkWorkspace(*a, p, workspace, workspaceBytes);
    if (logCommandEnabled()) logCommand(benchCommand(h, p, a->name()));
    a->run(ExecContext{&h, workspace, workspaceBytes}, p, b, s);
}

static convxAlgoPerf_t perfEntry(const Algorithm* a, const Problem& p, convxStatus_t st, float ms, size_t mem) {
    convxAlgoPerf_t r{};
    r.algo = a->id();
    r.status = st;
    r.time = ms;
    r.memory = mem;
    r.determinism = a->deterministic() ? CONVX_DETERMINISTIC : CONVX_NON_DETERMINISTIC;
    r.mathType = p.math;
    return r;
}

static void checkResultArgs(int requested, int* returned, convxAlgoPerf_t* results) {
    if (requested < 1) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "requested_count = %d must be >= 1", requested);
    requireNonNull(returned, "returned_count");
    requireNonNull(results, "results");
}

void getAlgorithms(convxHandle_t handle, Direction dir, const CallDescs& d, int requested, int* returned,
                   convxAlgoPerf_t* results) {
    convxContext& h = liveHandle(handle);
    Problem p = problemOf(dir, d);
    checkResultArgs(requested, returned, results);
    int n = 0;
    for (const Ranked& r : rankForGet(h, p)) {
        if (n == requested) break;
        // time: the heuristic's estimate (the find-db's measured time for its entry), -1 without one
        results[n++] = perfEntry(r.algo, p, r.applicability.ok ? CONVX_STATUS_SUCCESS : CONVX_STATUS_NOT_SUPPORTED_ALGORITHM,
                                 r.applicability.ok ? static_cast<float>(r.estimateMs) : -1.0f, r.workspace);
    }
    *returned = n;
}

void findAlgorithms(convxHandle_t handle, Direction dir, const CallDescs& d, const Buffers& b, int requested, int* returned,
                    convxAlgoPerf_t* results, void* workspace, size_t workspaceBytes) {
    convxContext& h = liveHandle(handle);
    Problem p = problemOf(dir, d);
    checkBuffers(h, p, b, nullptr);
    checkResultArgs(requested, returned, results);
    std::vector<convxAlgoPerf_t> timed, failed;
    for (const Ranked& r : rankAlgorithms(h, p)) {
        if (!r.applicability.ok) {
            // r.workspace: what it would need, when only the handle's workspace limit rejects it
            failed.push_back(perfEntry(r.algo, p, CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, -1.0f, r.workspace));
            continue;
        }
        if (r.workspace > workspaceBytes || (r.workspace > 0 && !workspace)) {
            failed.push_back(perfEntry(r.algo, p, CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, -1.0f, r.workspace));
            continue;
        }
        // One warm-up run, then the best of three: Find answers "which is fastest", not a benchmark.
        const ExecContext ctx{&h, workspace, workspaceBytes};
        const Scale s{1.0, 0.0};
        double best = 0;
        try {
            r.algo->run(ctx, p, b, s);
            for (int i = 0; i < 3; ++i) {
                const double ms = backendTimeMs(h, [&] { r.algo->run(ctx, p, b, s); });
                best = i == 0 ? ms : std::min(best, ms);
            }
        } catch (const Error& e) {
            failed.push_back(perfEntry(r.algo, p, e.status(), -1.0f, r.workspace));
            continue;
        }
        timed.push_back(perfEntry(r.algo, p, CONVX_STATUS_SUCCESS, static_cast<float>(best), r.workspace));
    }
    std::stable_sort(timed.begin(), timed.end(), [](const convxAlgoPerf_t& l, const convxAlgoPerf_t& r) { return l.time < r.time; });
    timed.insert(timed.end(), failed.begin(), failed.end());
    int n = 0;
    for (const auto& e : timed) {
        if (n == requested) break;
        results[n++] = e;
    }
    *returned = n;
    if (!timed.empty() && timed[0].status == CONVX_STATUS_SUCCESS) {
        if (logEnabled()) logLine(std::string("find ") + backendName(h.backend) + " " + p.str() + " -> " + algoName(timed[0].algo));
        findDbRecord(h, p, {timed[0].algo, timed[0].time, timed[0].memory}, FindDbSource::Find);
    }
}

size_t workspaceSize(convxHandle_t handle, Direction dir, const CallDescs& d, convxConvAlgo_t algo, const CallNames* names) {
    convxContext& h = liveHandle(handle);
    Problem p = problemOf(dir, d, names);
    return selectAlgorithm(h, p, algo)->workspaceSize(p);
}

int algorithmMaxCount(convxHandle_t handle, Direction dir) {
    convxContext& h = liveHandle(handle);
    return static_cast<int>(algorithmsFor(h.backend, dir).size());
}

}  // namespace convx
