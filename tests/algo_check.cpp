#include "algo_check.h"

#include <vector>

#include "execute.h"
#include "registry.h"

namespace harness {

namespace {

const convx::Algorithm* cpuAlgorithm(convxConvAlgo_t id, Dir dir) {
    for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, static_cast<convx::Direction>(dir)))
        if (a->id() == id) return a;
    return nullptr;
}

// true when it ran; false when the algorithm does not apply (and !mustApply).
bool runOne(const testutil::Handle& h, const convx::Algorithm* a, const Spec& s, bool mustApply) {
    Case c(s);
    const convx::Problem p = problemOf(c);
    INFO("algorithm " << a->name() << ", " << c.describe());
    const convx::Applicability ap = a->check(p);
    if (!ap.ok) {
        INFO("not applicable: " << ap.reason);
        if (mustApply) FAIL_CHECK("the algorithm rejects a problem of its family");
        return false;
    }
    c.fill();
    const Buffer prior = c.output();
    REQUIRE_CONVX_OK(c.run(h.h, CONVX_ALGO_REFERENCE));
    const Buffer reference = c.output();

    const size_t ws = a->workspaceSize(p);
    std::vector<uint64_t> workspace(ws / 8 + 1);
    c.output() = prior;
    const convxStatus_t st = c.run(h.h, a->id(), ws ? workspace.data() : nullptr, ws);
    INFO(convxGetErrorString(st) << " " << (st ? testutil::lastError() : std::string()));
    REQUIRE(st == CONVX_STATUS_SUCCESS);
    std::string detail;
    const bool ok = c.compareWith(reference, prior, algoTolerance(s.dt), &detail);
    INFO(detail);
    CHECK(ok);
    return true;
}

}  // namespace

int checkAlgorithm(const AlgoCheck& c) {
    const convx::Algorithm* a = cpuAlgorithm(c.algo, c.dir);
    INFO("algorithm id " << int(c.algo) << " " << dirName(c.dir));
    REQUIRE(a != nullptr);
    testutil::Handle h;
    std::mt19937_64 rng(c.seed);
    const int count = testutil::scaled(c.count);
    int ran = 0;
    for (int i = 0; i < count; ++i) {
        Spec s;
        for (int attempt = 0;; ++attempt) {
            REQUIRE(attempt < 1000);  // a shape that never yields a valid spec is a test bug
            s = randomSpec(rng, c.dir, c.dt, c.gen);
            if (c.shape && !c.shape(rng, s)) continue;
            if (s.valid()) break;
        }
        INFO("case " << i);
        ran += runOne(h, a, s, c.mustApply);
    }
    return ran;
}

void checkAlgorithmOn(convxConvAlgo_t algo, const Spec& s) {
    const convx::Algorithm* a = cpuAlgorithm(algo, s.dir);
    REQUIRE(a != nullptr);
    REQUIRE(s.valid());
    testutil::Handle h;
    runOne(h, a, s, true);
}

}  // namespace harness
