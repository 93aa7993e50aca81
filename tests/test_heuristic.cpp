// The measured heuristic (src/heuristic.*, src/heuristic_<backend>.inc from perf/fit_heuristic.py)
// and how the selector uses it: the C++ models agree with the fitting script on the recorded
// cases, AUTO follows the rule (registry order unless the models' fastest is estimated faster by
// more than the switch margin), Get ranks by estimate, and no workspace cap is ever exceeded.
#include <cmath>
#include <random>
#include <sstream>
#include <vector>

#include "conv_harness.h"
#include "heuristic.h"
#include "registry.h"
#include "selector.h"

using harness::Case;
using harness::Dir;
using harness::Spec;
using harness::problemOf;
using testutil::EnvGuard;

namespace {

const Dir kDirs[] = {Dir::Fwd, Dir::BwdData, Dir::BwdFilter};

// The heuristic on, nothing else steering AUTO.
struct HeuristicEnv {
    EnvGuard a{"CONVX_ALGO", nullptr}, b{"CONVX_DISABLE", nullptr}, c{"CONVX_LOG", nullptr}, d{"CONVX_LOG_CMD", nullptr};
    EnvGuard e{"CONVX_HEURISTIC", nullptr}, f{"CONVX_FIND_DB", "off"}, g{"CONVX_FIND_MODE", nullptr};
};

std::vector<std::string> splitComma(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string t;
    while (std::getline(ss, t, ',')) out.push_back(t);
    return out;
}

// Random f32 problems of every direction and rank, a few depthwise, small enough for tests.
std::vector<Spec> problems(int count, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<Spec> out;
    for (int i = 0; i < count; ++i) {
        harness::GenOptions o;
        o.depthwise = i % 5 == 4;
        out.push_back(harness::randomSpec(rng, kDirs[i % 3], CONVX_DATA_FLOAT, o));
    }
    return out;
}

// What AUTO must pick by the rule, computed here from the registry and the table directly.
const convx::Algorithm* expectedPick(const convxContext& h, const convx::Problem& p) {
    const convx::HeuristicFeatures x = convx::heuristicFeatures(p);
    const convx::Algorithm* first = nullptr;
    const convx::Algorithm* best = nullptr;
    double bestLog = 0;
    for (const convx::Algorithm* a : convx::algorithmsFor(h.backend, p.dir)) {
        if (!a->check(p).ok || a->workspaceSize(p) > h.workspaceLimit) continue;
        if (!first) first = a;
        if (const convx::HeuristicModel* m = convx::heuristicModel(h.backend, p.dir, a->id())) {
            const double l = convx::heuristicEstimateLogMs(*m, x);
            if (!best || l < bestLog) best = a, bestLog = l;
        }
    }
    const convx::HeuristicModel* fm = first ? convx::heuristicModel(h.backend, p.dir, first->id()) : nullptr;
    if (!fm || !best || best == first) return first;
    const double margin = convx::heuristicTable(h.backend).logSwitchMargin;
    const convx::HeuristicModel* bm = convx::heuristicModel(h.backend, p.dir, best->id());
    const bool inRange = x.f[1] >= fm->logFlopsMin && x.f[1] <= fm->logFlopsMax && x.f[1] >= bm->logFlopsMin && x.f[1] <= bm->logFlopsMax;
    return convx::heuristicEstimateLogMs(*fm, x) - bestLog > margin && inRange ? best : first;
}

}  // namespace

TEST_CASE("heuristic: features of a hand-checked problem", "[unit][heuristic]") {
    // fwd, N 2, C 8, K 6, G 2, 9x7 input, 3x2 kernel, stride 2x1, pad 1x0, dilation 1x2
    const convx::Problem p = convx::parseProblem("--dir=fwd --dt=f32 --tag=nhwc g2mb2ic8ih9iw7oc6oh5ow5kh3kw2sh2sw1ph1pw0dh0dw1");
    const convx::HeuristicFeatures x = convx::heuristicFeatures(p);
    const double P = 5, Q = 5;  // (9 + 2 - 3) / 2 + 1, (7 - (2 - 1) * 2 - 1) / 1 + 1
    REQUIRE(p.out[0] == 5);
    REQUIRE(p.out[1] == 5);
    const double flops = 2.0 * 2 * 6 * P * Q * 4 * 6;
    const double bytes = 4.0 * (2 * 8 * 63 + 6 * 4 * 6 + 2 * 6 * P * Q);
    const double want[convx::kHeuristicFeatures] = {1,           std::log(flops), std::log(bytes), std::log(2.0), std::log(4.0),
                                                    std::log(3.0), std::log(63.0), std::log(P * Q), std::log(6.0), std::log(2.0),
                                                    std::log(2.0), std::log(2.0),  0.0,             1.0,           std::log(4.0),
                                                    std::log(11.0 * 7 / 63)};
    for (int j = 0; j < convx::kHeuristicFeatures; ++j) {
        INFO("feature " << j);
        CHECK(x.f[j] == Approx(want[j]).margin(1e-12));
    }
    // depthwise flag
    CHECK(convx::heuristicFeatures(convx::parseProblem("--dir=fwd g8mb1ic8ih5iw5oc8oh5ow5kh3kw3ph1pw1")).f[12] == 1.0);
}

TEST_CASE("heuristic: the tables are consistent and every model is found", "[unit][heuristic]") {
    for (convxBackend_t b : {CONVX_BACKEND_CPU, CONVX_BACKEND_CUDA}) {
        const convx::HeuristicTable& t = convx::heuristicTable(b);
        INFO(t.backend);
        CHECK(t.logSwitchMargin >= 0);
        CHECK((t.numModels == 0) == (t.models == nullptr));
        for (int i = 0; i < t.numModels; ++i) {
            const convx::HeuristicModel& m = t.models[i];
            CHECK(convx::heuristicModel(b, m.dir, m.algo) == &m);
            CHECK(m.samples >= 1);
            CHECK(m.logFlopsMin < m.logFlopsMax);
            for (double c : m.coef) CHECK(std::isfinite(c));
        }
    }
    // The CPU results are committed: the CPU table has models and recorded checks.
    CHECK(convx::heuristicTable(CONVX_BACKEND_CPU).numModels > 0);
    CHECK(convx::heuristicTable(CONVX_BACKEND_CPU).numChecks > 0);
    CHECK(convx::heuristicModel(CONVX_BACKEND_CPU, convx::Direction::Forward, CONVX_ALGO_AUTO) == nullptr);
}

TEST_CASE("heuristic: the C++ models rank the recorded cases as the fitting script did", "[unit][heuristic]") {
    for (convxBackend_t b : {CONVX_BACKEND_CPU, CONVX_BACKEND_CUDA}) {
        const convx::HeuristicTable& t = convx::heuristicTable(b);
        for (int i = 0; i < t.numChecks; ++i) {
            const convx::HeuristicCheck& c = t.checks[i];
            INFO(t.backend << ": " << c.problem << " among " << c.candidates);
            const convx::Problem p = convx::parseProblem(c.problem);
            const convx::HeuristicFeatures x = convx::heuristicFeatures(p);
            convxConvAlgo_t best = CONVX_ALGO_AUTO;
            double bestLog = 0;
            for (const std::string& name : splitComma(c.candidates)) {
                convxConvAlgo_t id;
                REQUIRE(convx::parseAlgoName(name, &id));
                const convx::HeuristicModel* m = convx::heuristicModel(b, p.dir, id);
                if (!m) continue;
                const double l = convx::heuristicEstimateLogMs(*m, x);
                CHECK(std::isfinite(l));
                if (best == CONVX_ALGO_AUTO || l < bestLog) best = id, bestLog = l;
            }
            CHECK(best == c.pick);
        }
    }
}

TEST_CASE("heuristic: AUTO follows the rule; CONVX_HEURISTIC=off is registry order", "[unit][heuristic][selector]") {
    HeuristicEnv env;
    convxContext h;
    h.backend = CONVX_BACKEND_CPU;
    int switched = 0, total = 0;
    for (const Spec& s : problems(testutil::scaled(60, 12), 7)) {
        Case c(s);
        const convx::Problem p = problemOf(c);
        INFO(p.str());
        const convx::Algorithm* want = expectedPick(h, p);
        REQUIRE(want != nullptr);
        CHECK(convx::selectAlgorithm(h, p, CONVX_ALGO_AUTO) == want);
        // the first entry of Get is AUTO's pick
        CHECK(convx::rankForGet(h, p).front().algo == want);
        const convx::Algorithm* first = nullptr;
        for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir))
            if (!first && a->check(p).ok) first = a;
        switched += want != first;
        ++total;
        EnvGuard off("CONVX_HEURISTIC", "off");
        CHECK(convx::selectAlgorithm(h, p, CONVX_ALGO_AUTO) == first);
        CHECK(convx::rankForGet(h, p).front().algo == first);
    }
    // Informational: how often the models overrode registry order on these (small) problems.
    WARN("heuristic left registry order on " << switched << " of " << total << " random problems");
}

TEST_CASE("heuristic: Get ranks by estimate, not-applicable last with their status, never above the workspace cap",
          "[unit][heuristic][workspace]") {
    HeuristicEnv env;
    testutil::Handle h(1);
    const size_t caps[] = {0, 256, 1 << 16, SIZE_MAX};
    for (const Spec& s : problems(testutil::scaled(24, 9), 11)) {
        Case c(s);
        const convx::Problem p = problemOf(c);
        for (size_t cap : caps) {
            INFO(p.str() << " cap " << cap);
            REQUIRE(convxSetWorkspaceLimit(h, cap) == CONVX_STATUS_SUCCESS);
            convxAlgoPerf_t r[CONVX_ALGO_COUNT * 2];
            int n = 0;
            REQUIRE(harness::getAlgos(h, c, CONVX_ALGO_COUNT * 2, &n, r) == CONVX_STATUS_SUCCESS);
            REQUIRE(n == static_cast<int>(convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir).size()));
            int ok = 0;
            while (ok < n && r[ok].status == CONVX_STATUS_SUCCESS) ++ok;
            for (int i = ok; i < n; ++i) {
                CHECK(r[i].status == CONVX_STATUS_NOT_SUPPORTED_ALGORITHM);
                CHECK(r[i].time == -1.0f);
            }
            REQUIRE(ok >= 1);  // the reference needs no workspace: something always fits
            // within the cap, with the estimate (or -1 without a model)
            for (int i = 0; i < ok; ++i) {
                CHECK(r[i].memory <= cap);
                const convx::Algorithm* a = convx::findAlgorithm(CONVX_BACKEND_CPU, static_cast<convxConvAlgo_t>(r[i].algo));
                REQUIRE(a != nullptr);
                CHECK(r[i].memory == a->workspaceSize(p));
                CHECK(r[i].determinism == (a->deterministic() ? CONVX_DETERMINISTIC : CONVX_NON_DETERMINISTIC));
                if (const convx::HeuristicModel* m = convx::heuristicModel(CONVX_BACKEND_CPU, p.dir, a->id()))
                    CHECK(r[i].time == Approx(convx::heuristicEstimateMs(*m, convx::heuristicFeatures(p))).epsilon(1e-5));
                else
                    CHECK(r[i].time == -1.0f);
            }
            // after AUTO's pick: by estimate, those without one last
            for (int i = 2; i < ok; ++i) {
                if (r[i - 1].time >= 0 && r[i].time >= 0) CHECK(r[i - 1].time <= r[i].time);
                if (r[i - 1].time < 0) CHECK(r[i].time < 0);
            }
            // AUTO (query and run) within the cap
            size_t need = SIZE_MAX;
            REQUIRE(harness::workspaceOf(h, c, CONVX_ALGO_AUTO, &need) == CONVX_STATUS_SUCCESS);
            CHECK(need <= cap);
            CHECK(need == r[0].memory);
        }
    }
}

TEST_CASE("heuristic: Find and AUTO runs stay within the workspace cap", "[unit][heuristic][workspace]") {
    HeuristicEnv env;
    testutil::Handle h(1);
    for (const Spec& s : problems(testutil::scaled(9, 3), 13)) {
        Case c(s);
        const convx::Problem p = problemOf(c);
        for (size_t cap : {size_t(0), size_t(4096)}) {
            INFO(p.str() << " cap " << cap);
            REQUIRE(convxSetWorkspaceLimit(h, cap) == CONVX_STATUS_SUCCESS);
            std::vector<uint64_t> ws(1 << 16);
            convxAlgoPerf_t r[CONVX_ALGO_COUNT * 2];
            int n = 0;
            c.fill();
            REQUIRE(harness::findAlgos(h, c, CONVX_ALGO_COUNT * 2, &n, r, ws.data(), ws.size() * 8) == CONVX_STATUS_SUCCESS);
            for (int i = 0; i < n; ++i)
                if (r[i].status == CONVX_STATUS_SUCCESS) CHECK(r[i].memory <= cap);
            c.fill();
            CHECK(c.run(h, CONVX_ALGO_AUTO, ws.data(), ws.size() * 8) == CONVX_STATUS_SUCCESS);
            CHECK(convx::selectAlgorithm(*static_cast<convxHandle_t>(h), p, CONVX_ALGO_AUTO)->workspaceSize(p) <= cap);
        }
    }
}

TEST_CASE("heuristic: the switch rule on synthetic models (margin, size range, workspace, no model)", "[unit][heuristic]") {
    const convx::Problem p = convx::parseProblem("--dir=fwd --dt=f32 --tag=nchw g1mb1ic16ih8iw8oc16oh8ow8kh3kw3sh1sw1ph1pw1dh0dw0");
    const convx::HeuristicFeatures x = convx::heuristicFeatures(p);
    // Models that estimate exp(coef[0]) x flops: coef[0] sets the rate.
    auto model = [&](double logRate, double rangeLo = -1e9, double rangeHi = 1e9) {
        convx::HeuristicModel m{convx::Direction::Forward, CONVX_ALGO_REFERENCE, 10, rangeLo, rangeHi, {}};
        m.coef[0] = logRate;
        return m;
    };
    const auto& reg = convx::registry();
    REQUIRE(reg.size() >= 3);
    const convx::Algorithm *a = reg[0], *b = reg[1], *c = reg[2];  // stand-ins: only their identity matters
    const double margin = std::log(1.5);
    bool switched = false;
    std::string why;

    const convx::HeuristicModel slow = model(-10), fast2 = model(-10 - std::log(2.0)), fast1_2 = model(-10 - std::log(1.2));
    {   // 2x faster estimate: switch, with the reason
        convx::HeuristicCandidate cs[] = {{a, 0, &slow}, {b, 0, &fast2}};
        CHECK(convx::heuristicChoice(margin, cs, 2, SIZE_MAX, &x, &switched, &why)->algo == b);
        CHECK(switched);
        CHECK_THAT(why, Catch::Contains("heuristic: estimated"));
        // no heuristic (x null): registry order
        CHECK(convx::heuristicChoice(margin, cs, 2, SIZE_MAX, nullptr, &switched, nullptr)->algo == a);
        CHECK_FALSE(switched);
        // the faster one does not fit the bytes available: registry order among those that fit
        convx::HeuristicCandidate big[] = {{a, 0, &slow}, {b, 1000, &fast2}};
        CHECK(convx::heuristicChoice(margin, big, 2, 999, &x, &switched, nullptr)->algo == a);
        CHECK(convx::heuristicChoice(margin, big, 2, 1000, &x, &switched, nullptr)->algo == b);
    }
    {   // 1.2x faster: within the margin, registry order
        convx::HeuristicCandidate cs[] = {{a, 0, &slow}, {b, 0, &fast1_2}};
        CHECK(convx::heuristicChoice(margin, cs, 2, SIZE_MAX, &x, &switched, nullptr)->algo == a);
        CHECK_FALSE(switched);
        CHECK(convx::heuristicChoice(0.0, cs, 2, SIZE_MAX, &x, &switched, nullptr)->algo == b);
    }
    {   // outside either model's size range: no switch
        const convx::HeuristicModel fastOut = model(-12, x.f[1] + 1, x.f[1] + 2), slowOut = model(-10, x.f[1] - 2, x.f[1] - 1);
        convx::HeuristicCandidate cs1[] = {{a, 0, &slow}, {b, 0, &fastOut}};
        CHECK(convx::heuristicChoice(margin, cs1, 2, SIZE_MAX, &x, &switched, nullptr)->algo == a);
        convx::HeuristicCandidate cs2[] = {{a, 0, &slowOut}, {b, 0, &fast2}};
        CHECK(convx::heuristicChoice(margin, cs2, 2, SIZE_MAX, &x, &switched, nullptr)->algo == a);
    }
    {   // the registry-order pick has no model: it stays; one without a model is never switched to
        convx::HeuristicCandidate cs1[] = {{a, 0, nullptr}, {b, 0, &fast2}};
        CHECK(convx::heuristicChoice(margin, cs1, 2, SIZE_MAX, &x, &switched, nullptr)->algo == a);
        convx::HeuristicCandidate cs2[] = {{a, 0, &slow}, {b, 0, nullptr}, {c, 0, &fast2}};
        CHECK(convx::heuristicChoice(margin, cs2, 3, SIZE_MAX, &x, &switched, nullptr)->algo == c);
    }
    {   // nothing fits: nullptr
        convx::HeuristicCandidate cs[] = {{a, 10, &slow}};
        CHECK(convx::heuristicChoice(margin, cs, 1, 9, &x, &switched, nullptr) == nullptr);
        CHECK(convx::heuristicChoice(margin, cs, 0, SIZE_MAX, &x, &switched, nullptr) == nullptr);
    }
}
