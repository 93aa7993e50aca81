#include "selector.h"

#include <strings.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "error.h"
#include "find_db.h"
#include "heuristic.h"
#include "log.h"
#include "registry.h"

namespace convx {

// CONVX_DISABLE (read once per walk: `list` is its value or nullptr).
static bool disabledIn(const char* list, const Algorithm* a) {
    if (!list || !*list) return false;
    std::stringstream ss(list);
    std::string name;
    while (std::getline(ss, name, ',')) {
        convxConvAlgo_t id;
        if (parseAlgoName(name, &id) && id == a->id()) return true;
    }
    return false;
}
static bool disabledByEnv(const Algorithm* a) { return disabledIn(std::getenv("CONVX_DISABLE"), a); }

static std::string overLimit(size_t need, size_t limit) {
    return format("needs %zu workspace bytes, above the handle's workspace limit of %zu (convxSetWorkspaceLimit)", need, limit);
}

std::vector<Ranked> rankAlgorithms(const convxContext& h, const Problem& p) {
    std::vector<Ranked> yes, no;
    for (const Algorithm* a : algorithmsFor(h.backend, p.dir)) {
        if (disabledByEnv(a)) {
            no.push_back({a, Applicability::no("disabled by CONVX_DISABLE"), 0});
            continue;
        }
        Applicability ap = a->check(p);
        if (!ap.ok) {
            no.push_back({a, ap, 0});
            continue;
        }
        const size_t ws = a->workspaceSize(p);
        if (ws > h.workspaceLimit) no.push_back({a, Applicability::no(overLimit(ws, h.workspaceLimit)), ws});
        else yes.push_back({a, ap, ws});
    }
    yes.insert(yes.end(), no.begin(), no.end());
    return yes;
}

FindMode findModeFromEnv() {
    const char* v = std::getenv("CONVX_FIND_MODE");
    if (!v || !*v || strcasecmp(v, "off") == 0 || std::strcmp(v, "0") == 0) return FindMode::Off;
    if (strcasecmp(v, "db") == 0) return FindMode::Db;
    if (strcasecmp(v, "auto") == 0) return FindMode::Auto;
    fail(CONVX_STATUS_BAD_PARAM, "CONVX_FIND_MODE='%s' is not off, db or auto", v);
}

// The find-db's entry for p when it names an algorithm of `ranked` that applies (within the
// workspace limit); why it is ignored otherwise (logged).
static const Ranked* findDbChoice(const convxContext& h, const Problem& p, const std::vector<Ranked>& ranked, FindDbEntry* e,
                                  bool log) {
    if (!findDbLookup(h, p, e)) return nullptr;
    for (const Ranked& r : ranked) {
        if (r.algo->id() != e->algo) continue;
        if (r.applicability.ok) return &r;
        if (log) logLine(std::string("  find-db entry ") + r.algo->name() + " ignored: " + r.applicability.reason);
        return nullptr;
    }
    if (log) logLine(std::string("  find-db entry ") + algoName(e->algo) + " ignored: not an algorithm of the " + backendName(h.backend) +
                     " backend for " + directionName(p.dir) + " in this build");
    return nullptr;
}

namespace {

using Candidate = HeuristicCandidate;

// More than any registry holds; a longer one (tests adding algorithms) is cut, and logged.
constexpr int kMaxCandidates = 48;

// The applicable algorithms of h's backend for p.dir within the workspace limit, in registry
// order, without the rejection reasons' text being kept (isApplicable still builds it).
int applicableCandidates(const convxContext& h, const Problem& p, Candidate* out) {
    const char* disabled = std::getenv("CONVX_DISABLE");
    const unsigned bit = dirBit(p.dir);
    int n = 0;
    for (const Algorithm* a : registry()) {
        if (a->backend() != h.backend || !(a->directions() & bit)) continue;
        if (disabled && disabledIn(disabled, a)) continue;
        if (!a->isApplicable(p).ok) continue;
        const size_t ws = a->workspaceSize(p);
        if (ws > h.workspaceLimit) continue;
        if (n == kMaxCandidates) {
            if (logEnabled()) logLine(format("  more than %d applicable algorithms: the rest are not considered", kMaxCandidates));
            break;
        }
        out[n++] = {a, ws, heuristicModel(h.backend, p.dir, a->id())};
    }
    return n;
}

// CONVX_HEURISTIC=off: AUTO without step 3 (registry order after the find-db).
bool heuristicEnabled() {
    const char* v = std::getenv("CONVX_HEURISTIC");
    return !(v && (strcasecmp(v, "off") == 0 || std::strcmp(v, "0") == 0));
}

}  // namespace

// Steps 3 and 4 among candidates that fit `available` (see selector.h).
const HeuristicCandidate* heuristicChoice(double logMargin, const HeuristicCandidate* c, int n, size_t available,
                                          const HeuristicFeatures* x, bool* switched, std::string* why) {
    *switched = false;
    const HeuristicCandidate* first = nullptr;
    for (int i = 0; i < n && !first; ++i)
        if (c[i].workspace <= available) first = &c[i];
    if (!first || !x || !first->model) return first;
    const HeuristicCandidate* best = nullptr;
    double bestLog = 0;
    for (int i = 0; i < n; ++i) {
        if (c[i].workspace > available || !c[i].model) continue;
        const double l = heuristicEstimateLogMs(*c[i].model, *x);
        if (!best || l < bestLog) best = &c[i], bestLog = l;
    }
    if (best == first) return first;
    const double firstLog = heuristicEstimateLogMs(*first->model, *x);
    if (firstLog - bestLog <= logMargin) return first;
    if (!first->model->covers(*x) || !best->model->covers(*x)) return first;  // no switch on extrapolation
    *switched = true;
    if (why)
        *why = format("heuristic: estimated %.4g ms, the first applicable %s %.4g ms", std::exp(bestLog), first->algo->name(), std::exp(firstLog));
    return best;
}

std::vector<Ranked> rankForGet(const convxContext& h, const Problem& p) {
    std::vector<Ranked> ranked = rankAlgorithms(h, p);  // applicable first, in registry order
    const HeuristicFeatures x = heuristicFeatures(p);
    size_t nApplicable = 0;
    Candidate c[kMaxCandidates];
    int n = 0;
    for (Ranked& r : ranked) {
        if (!r.applicability.ok) break;
        ++nApplicable;
        const HeuristicModel* m = heuristicModel(h.backend, p.dir, r.algo->id());
        if (m) r.estimateMs = heuristicEstimateMs(*m, x);
        if (n < kMaxCandidates) c[n++] = {r.algo, r.workspace, m};
    }
    // AUTO's pick for a query: the find-db's entry, else steps 3 and 4.
    FindDbEntry e;
    const Algorithm* front = nullptr;
    double frontMs = -1;
    if (const Ranked* r = findDbChoice(h, p, ranked, &e, false)) {
        front = r->algo;
        frontMs = e.ms;
    } else {
        bool switched;
        const double margin = heuristicTable(h.backend).logSwitchMargin;
        if (const Candidate* pick = heuristicChoice(margin, c, n, SIZE_MAX, heuristicEnabled() ? &x : nullptr, &switched, nullptr))
            front = pick->algo;
    }
    // The other applicable ones by estimate (those without one after, in registry order).
    std::stable_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(nApplicable), [&](const Ranked& a, const Ranked& b) {
        if ((a.algo == front) != (b.algo == front)) return a.algo == front;
        if ((a.estimateMs < 0) != (b.estimateMs < 0)) return a.estimateMs >= 0;
        return a.estimateMs >= 0 && a.estimateMs < b.estimateMs;
    });
    if (front && frontMs >= 0) ranked.front().estimateMs = frontMs;
    return ranked;
}

static const Algorithm* requireApplicable(const convxContext& h, const Problem& p, convxConvAlgo_t id, const char* how) {
    const Algorithm* a = findAlgorithm(h.backend, id);
    if (!a)
        fail(CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "algo %s (%s) is not available on the %s backend of this build", algoName(id), how,
             backendName(h.backend));
    Applicability ap = a->check(p);
    if (!ap.ok) fail(CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "algo %s (%s) does not apply to %s: %s", a->name(), how, p.str().c_str(),
                     ap.reason.c_str());
    const size_t ws = a->workspaceSize(p);
    if (ws > h.workspaceLimit)
        fail(CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "algo %s (%s) %s for %s", a->name(), how, overLimit(ws, h.workspaceLimit).c_str(),
             p.str().c_str());
    return a;
}

// Nothing applicable, or nothing fits `avail`: the error with every reason (the slow path).
[[noreturn]] static void failNoChoice(const convxContext& h, const Problem& p, size_t avail) {
    const std::vector<Ranked> ranked = rankAlgorithms(h, p);
    std::string rejected;
    const Ranked* smallest = nullptr;
    for (const Ranked& r : ranked) {
        if (r.applicability.ok) {
            if (!smallest || r.workspace < smallest->workspace) smallest = &r;
        } else {
            rejected += std::string(" ") + r.algo->name() + " (" + r.applicability.reason + ");";
        }
    }
    if (!smallest)
        fail(CONVX_STATUS_NOT_SUPPORTED, "no %s algorithm applies to %s;%s", backendName(h.backend), p.str().c_str(),
             rejected.empty() ? " none is registered" : rejected.c_str());
    fail(CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE,
         "workspace_bytes = %zu (workspace %s) is less than every applicable algorithm needs for %s; the least is %s with %zu", avail,
         avail ? "given" : "NULL or 0", p.str().c_str(), smallest->algo->name(), smallest->workspace);
}

const Algorithm* selectAlgorithm(const convxContext& h, const Problem& p, convxConvAlgo_t requested, const SelectOptions& o) {
    const bool log = logEnabled();
    // Text only when logging: the walk allocates nothing otherwise.
    auto decide = [&](const Algorithm* a, auto&& why) {
        if (log) logLine(std::string(backendName(h.backend)) + " " + p.str() + " -> " + a->name() + " (" + why() + ")");
        return a;
    };
    if (requested != CONVX_ALGO_AUTO) {
        if (!algoName(requested)) fail(CONVX_STATUS_BAD_PARAM, "algo = %d is not a convxConvAlgo_t", static_cast<int>(requested));
        return decide(requireApplicable(h, p, requested, "requested by the caller"), [] { return std::string("requested"); });
    }
    // 1. CONVX_ALGO
    if (const char* forced = std::getenv("CONVX_ALGO"); forced && *forced) {
        convxConvAlgo_t id;
        if (!parseAlgoName(forced, &id)) fail(CONVX_STATUS_BAD_PARAM, "CONVX_ALGO='%s' names no algorithm", forced);
        if (id != CONVX_ALGO_AUTO)
            return decide(requireApplicable(h, p, id, "forced by CONVX_ALGO"), [] { return std::string("CONVX_ALGO"); });
    }
    const FindMode mode = findModeFromEnv();
    const size_t avail = o.workspaceAvailable;
    std::string fallback;  // why an earlier step's choice did not run: the call passed too little workspace

    // 2. the find-db: its entry still applies, within the limit and the bytes passed?
    FindDbEntry e;
    bool entryUsable = false;  // applies within the handle's limit (maybe not within the bytes passed)
    if (findDbLookup(h, p, &e)) {
        const Algorithm* a = findAlgorithm(h.backend, e.algo);
        if (a && (a->directions() & dirBit(p.dir)) && !disabledByEnv(a) && a->isApplicable(p).ok &&
            a->workspaceSize(p) <= h.workspaceLimit) {
            entryUsable = true;
            const size_t ws = a->workspaceSize(p);
            if (ws <= avail) return decide(a, [&] { return format("find-db, %.4g ms", e.ms); });
            if (log) {
                fallback = format("the find-db's %s needs %zu workspace bytes, the call passed %zu", a->name(), ws, avail);
                logLine("  " + fallback + ": falling back");
            }
        } else if (log) {
            findDbChoice(h, p, rankAlgorithms(h, p), &e, true);  // logs why the entry is ignored
        }
    }

    Candidate c[kMaxCandidates];
    const int n = applicableCandidates(h, p, c);
    if (!entryUsable && mode == FindMode::Auto && o.benchmark) {
        std::vector<const Algorithm*> candidates;
        for (int i = 0; i < n; ++i)
            if (c[i].workspace <= avail) candidates.push_back(c[i].algo);
        if (!candidates.empty())
            if (const Algorithm* a = o.benchmark(candidates))
                return decide(a, [&] { return format("CONVX_FIND_MODE=auto, fastest of %zu timed", candidates.size()); });
    }

    // 3 and 4. the measured heuristic over registry order
    HeuristicFeatures x;
    const bool useModels = heuristicTable(h.backend).numModels > 0 && heuristicEnabled();
    if (useModels) x = heuristicFeatures(p);
    bool switched = false;
    std::string why;
    const Candidate* pick = heuristicChoice(heuristicTable(h.backend).logSwitchMargin, c, n, avail, useModels ? &x : nullptr, &switched, log ? &why : nullptr);
    if (!pick) failNoChoice(h, p, avail);
    if (log) {
        if (!switched) {
            why = "first applicable";
            if (n && c[0].algo != pick->algo && fallback.empty())
                fallback = format("%s needs %zu workspace bytes, the call passed %zu", c[0].algo->name(), c[0].workspace, avail);
            if (!fallback.empty()) why += " that fits";
        }
        decide(pick->algo, [&] { return fallback.empty() ? why : why + "; " + fallback; });
        std::string rejected;
        for (const Ranked& r : rankAlgorithms(h, p))
            if (!r.applicability.ok) rejected += std::string(" ") + r.algo->name() + " (" + r.applicability.reason + ");";
        if (!rejected.empty()) logLine("  rejected:" + rejected);
    }
    return pick->algo;
}

}  // namespace convx
