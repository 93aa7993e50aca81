#include "bench_selection.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "context.h"
#include "convx/convx.h"
#include "error.h"
#include "find_db.h"
#include "heuristic.h"
#include "problem.h"
#include "selector.h"

// Every plain operator new of the process is counted, so a selection's allocations can be shown.
static std::atomic<unsigned long long> g_allocations{0};
void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace convxbench {

namespace {

struct Figure {
    double us = 0;          // median over repetitions, per selection
    double allocs = 0;      // per selection
    const char* picked = "";  // of the first problem
};

void setEnv(const char* name, const char* value) {
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
}

// Selections per second over the problems, repeated until minSeconds; the median of 5.
Figure measure(const convxContext& h, const std::vector<convx::Problem>& ps, convxConvAlgo_t algo, double minSeconds) {
    using clock = std::chrono::steady_clock;
    Figure f;
    f.picked = convx::selectAlgorithm(h, ps[0], algo)->name();
    for (const auto& p : ps) convx::selectAlgorithm(h, p, algo);  // warm: find-db loaded, caches filled
    std::vector<double> us;
    unsigned long long allocs = 0, calls = 0;
    for (int rep = 0; rep < 5; ++rep) {
        long n = 0;
        const unsigned long long a0 = g_allocations.load();
        const auto t0 = clock::now();
        double elapsed = 0;
        do {
            for (const auto& p : ps) convx::selectAlgorithm(h, p, algo);
            n += static_cast<long>(ps.size());
            elapsed = std::chrono::duration<double>(clock::now() - t0).count();
        } while (elapsed < minSeconds / 5);
        allocs += g_allocations.load() - a0;
        calls += static_cast<unsigned long long>(n);
        us.push_back(elapsed * 1e6 / double(n));
    }
    std::sort(us.begin(), us.end());
    f.us = us[us.size() / 2];
    f.allocs = double(allocs) / double(calls);
    return f;
}

}  // namespace

int selectionOverhead(const std::string& backend, const std::vector<std::string>& problems, double minSeconds) {
    const convxBackend_t be = backend == "cuda" ? CONVX_BACKEND_CUDA : CONVX_BACKEND_CPU;
    convxHandle_t h = nullptr;
    if (convxCreateWithBackend(&h, be) != CONVX_STATUS_SUCCESS) {
        std::fprintf(stderr, "convx-bench: cannot create a %s handle\n", backend.c_str());
        return 3;
    }
    std::vector<convx::Problem> ps;
    for (const std::string& t : problems) {
        try {
            convx::Problem p = convx::parseProblem(t);
            convx::selectAlgorithm(*h, p, CONVX_ALGO_AUTO);  // something applies
            ps.push_back(p);
        } catch (const convx::Error& e) {
            std::fprintf(stderr, "convx-bench: skipped %s: %s\n", t.c_str(), e.what());
        }
    }
    if (ps.empty()) {
        std::fprintf(stderr, "convx-bench: no problem to select for\n");
        convxDestroy(h);
        return 1;
    }
    for (const char* v : {"CONVX_ALGO", "CONVX_DISABLE", "CONVX_LOG", "CONVX_LOG_CMD", "CONVX_FIND_MODE", "CONVX_HEURISTIC"}) setEnv(v, nullptr);

    // A find-db in a temporary directory holding AUTO's pick for every problem.
    char dir[] = "/tmp/convx-selection-XXXXXX";
    if (!::mkdtemp(dir)) {
        std::fprintf(stderr, "convx-bench: cannot create a temporary directory\n");
        convxDestroy(h);
        return 1;
    }
    const std::string db = std::string(dir) + "/finddb.txt";

    setEnv("CONVX_FIND_DB", "off");
    const Figure heur = measure(*h, ps, CONVX_ALGO_AUTO, minSeconds);
    setEnv("CONVX_HEURISTIC", "off");
    const Figure reg = measure(*h, ps, CONVX_ALGO_AUTO, minSeconds);
    setEnv("CONVX_HEURISTIC", nullptr);
    const convxConvAlgo_t explicitId = convx::selectAlgorithm(*h, ps[0], CONVX_ALGO_AUTO)->id();
    std::vector<convx::Problem> same;  // the explicit id must apply to each: those of ps[0]'s direction it applies to
    for (const auto& p : ps) {
        try {
            convx::selectAlgorithm(*h, p, explicitId);
            same.push_back(p);
        } catch (const convx::Error&) {
        }
    }
    const Figure expl = measure(*h, same, explicitId, minSeconds);

    setEnv("CONVX_FIND_DB", db.c_str());
    convx::findDbResetForTesting();
    for (const auto& p : ps) {
        const convx::Algorithm* a = convx::selectAlgorithm(*h, p, CONVX_ALGO_AUTO);
        convx::findDbRecord(*h, p, {a->id(), 1.0, a->workspaceSize(p)}, convx::FindDbSource::Find);
    }
    const Figure hit = measure(*h, ps, CONVX_ALGO_AUTO, minSeconds);
    setEnv("CONVX_FIND_DB", nullptr);
    std::remove(db.c_str());
    std::remove((db + ".lock").c_str());
    ::rmdir(dir);
    convx::findDbResetForTesting();

    const convx::HeuristicTable& t = convx::heuristicTable(be);
    std::printf("# selection overhead: convx::selectAlgorithm on %zu problems (%s backend), median of 5 x %.2g s\n", ps.size(),
                backend.c_str(), minSeconds / 5);
    std::printf("# heuristic table: %d models, fitted to results of %s\n", t.numModels, t.fitted);
    std::printf("%-44s %12s %14s\n", "path", "us/selection", "allocs/select");
    std::printf("%-44s %12.3f %14.2f\n", "AUTO, heuristic (no find-db)", heur.us, heur.allocs);
    std::printf("%-44s %12.3f %14.2f\n", "AUTO, find-db hit", hit.us, hit.allocs);
    std::printf("%-44s %12.3f %14.2f\n", "AUTO, registry order (CONVX_HEURISTIC=off)", reg.us, reg.allocs);
    std::printf("%-44s %12.3f %14.2f\n", (std::string("explicit id (") + convxGetAlgorithmName(explicitId) + ", " +
                                          std::to_string(same.size()) + " problems)").c_str(),
                expl.us, expl.allocs);
    std::printf("goals: heuristic < 2 us %s, find-db hit < 1 us %s\n", heur.us < 2 ? "met" : "NOT met", hit.us < 1 ? "met" : "NOT met");
    convxDestroy(h);
    return 0;
}

}  // namespace convxbench
