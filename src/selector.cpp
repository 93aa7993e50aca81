#include "selector.h"

#include <strings.h>

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "error.h"
#include "find_db.h"
#include "log.h"
#include "registry.h"

namespace convx {

static bool disabledByEnv(const Algorithm* a) {
    const char* v = std::getenv("CONVX_DISABLE");
    if (!v) return false;
    std::stringstream ss(v);
    std::string name;
    while (std::getline(ss, name, ',')) {
        convxConvAlgo_t id;
        if (parseAlgoName(name, &id) && id == a->id()) return true;
    }
    return false;
}

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

std::vector<Ranked> rankForGet(const convxContext& h, const Problem& p) {
    std::vector<Ranked> ranked = rankAlgorithms(h, p);
    FindDbEntry e;
    if (const Ranked* r = findDbChoice(h, p, ranked, &e, false)) {
        const Ranked best = *r;
        ranked.erase(ranked.begin() + (r - ranked.data()));
        ranked.insert(ranked.begin(), best);
    }
    return ranked;
}

// ---- step 3, the measured heuristic: not yet. It will answer, from rules or a cost model fitted
// to the committed H200 results (perf/results/), the algorithm to use for p among `ranked`'s
// applicable entries that fit `available` bytes — or nullptr to leave the choice to registry
// order.
static const Algorithm* heuristicChoice(const convxContext& h, const Problem& p, const std::vector<Ranked>& ranked, size_t available) {
    (void)h, (void)p, (void)ranked, (void)available;
    return nullptr;
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

const Algorithm* selectAlgorithm(const convxContext& h, const Problem& p, convxConvAlgo_t requested, const SelectOptions& o) {
    const bool log = logEnabled();
    const std::string head = log ? std::string(backendName(h.backend)) + " " + p.str() : std::string();
    auto decide = [&](const Algorithm* a, const std::string& why) {
        if (log) logLine(head + " -> " + a->name() + " (" + why + ")");
        return a;
    };
    if (requested != CONVX_ALGO_AUTO) {
        if (!algoName(requested)) fail(CONVX_STATUS_BAD_PARAM, "algo = %d is not a convxConvAlgo_t", static_cast<int>(requested));
        return decide(requireApplicable(h, p, requested, "requested by the caller"), "requested");
    }
    // 1. CONVX_ALGO
    if (const char* forced = std::getenv("CONVX_ALGO"); forced && *forced) {
        convxConvAlgo_t id;
        if (!parseAlgoName(forced, &id)) fail(CONVX_STATUS_BAD_PARAM, "CONVX_ALGO='%s' names no algorithm", forced);
        if (id != CONVX_ALGO_AUTO) return decide(requireApplicable(h, p, id, "forced by CONVX_ALGO"), "CONVX_ALGO");
    }
    const FindMode mode = findModeFromEnv();
    const std::vector<Ranked> ranked = rankAlgorithms(h, p);
    const size_t avail = o.workspaceAvailable;
    std::string fallback;  // why an earlier step's choice did not run: the call passed too little workspace

    // 2. the find-db (and CONVX_FIND_MODE=auto filling it)
    FindDbEntry e;
    if (const Ranked* r = findDbChoice(h, p, ranked, &e, log)) {
        if (r->workspace <= avail) return decide(r->algo, format("find-db, %.4g ms", e.ms));
        fallback = format("the find-db's %s needs %zu workspace bytes, the call passed %zu", r->algo->name(), r->workspace, avail);
        if (log) logLine("  " + fallback + ": falling back");
    } else if (mode == FindMode::Auto && o.benchmark) {
        std::vector<const Algorithm*> candidates;
        for (const Ranked& c : ranked)
            if (c.applicability.ok && c.workspace <= avail) candidates.push_back(c.algo);
        if (!candidates.empty())
            if (const Algorithm* a = o.benchmark(candidates))
                return decide(a, format("CONVX_FIND_MODE=auto, fastest of %zu timed", candidates.size()));
    }

    // 3. the measured heuristic (slot)
    if (const Algorithm* a = heuristicChoice(h, p, ranked, avail)) return decide(a, "heuristic");

    // 4. registry order
    std::string rejected;
    const Ranked* first = nullptr;
    const Ranked* firstFit = nullptr;
    for (const Ranked& r : ranked) {
        if (r.applicability.ok) {
            if (!first) first = &r;
            if (!firstFit && r.workspace <= avail) firstFit = &r;
        } else {
            rejected += std::string(" ") + r.algo->name() + " (" + r.applicability.reason + ");";
        }
    }
    if (!first)
        fail(CONVX_STATUS_NOT_SUPPORTED, "no %s algorithm applies to %s;%s", backendName(h.backend), p.str().c_str(),
             rejected.empty() ? " none is registered" : rejected.c_str());
    if (!firstFit) {
        const Ranked* smallest = first;
        for (const Ranked& r : ranked)
            if (r.applicability.ok && r.workspace < smallest->workspace) smallest = &r;
        fail(CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE,
             "workspace_bytes = %zu (workspace %s) is less than every applicable algorithm needs for %s; the least is %s with %zu", avail,
             avail ? "given" : "NULL or 0", p.str().c_str(), smallest->algo->name(), smallest->workspace);
    }
    if (firstFit != first && fallback.empty())
        fallback = format("%s needs %zu workspace bytes, the call passed %zu", first->algo->name(), first->workspace, avail);
    const Algorithm* picked = decide(firstFit->algo, fallback.empty() ? "first applicable" : "first applicable that fits; " + fallback);
    if (log && !rejected.empty()) logLine("  rejected:" + rejected);
    return picked;
}

}  // namespace convx
