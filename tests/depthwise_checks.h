// What the depthwise test files share: a uniform draw, the Highway target reset and the
// thread-count check every kernel rework must pass.
#pragma once

#include <random>
#include <string>

#include "conv_harness.h"
#include "test_util.h"

#ifdef CONVX_HAVE_HWY
#include <hwy/targets.h>
#endif

namespace dwtest {

inline int uni(std::mt19937_64& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

#ifdef CONVX_HAVE_HWY
// Gives Highway back its own target choice when a test that forced targets ends.
struct ResetTargets {
    ~ResetTargets() { hwy::SetSupportedTargetsForTest(0); }
};
#endif

// Runs c with 1 thread, then with 2 and 3 from the same prior output: the kernels' jobs are a
// function of the Problem, so the bits must not move.
inline void checkThreadCounts(convxHandle_t h, harness::Case& c, convxConvAlgo_t algo) {
    const harness::Buffer prior = c.output();
    c.setThreads(1);
    REQUIRE_CONVX_OK(c.run(h, algo));
    const harness::Buffer one = c.output();
    for (int t : {2, 3}) {
        c.output() = prior;
        c.setThreads(t);
        REQUIRE_CONVX_OK(c.run(h, algo));
        std::string detail;
        const bool same = c.compareWith(one, prior, 0.0, &detail);
        INFO(t << " threads: " << detail);
        CHECK(same);
    }
}

}  // namespace dwtest
