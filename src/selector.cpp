#include "selector.h"

#include <cstdlib>
#include <sstream>

#include "error.h"
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

std::vector<Ranked> rankAlgorithms(const convxContext& h, const Problem& p) {
    std::vector<Ranked> yes, no;
    for (const Algorithm* a : algorithmsFor(h.backend, p.dir)) {
        Applicability ap = disabledByEnv(a) ? Applicability::no("disabled by CONVX_DISABLE") : a->check(p);
        if (ap.ok) yes.push_back({a, ap, a->workspaceSize(p)});
        else no.push_back({a, ap, 0});
    }
    yes.insert(yes.end(), no.begin(), no.end());
    return yes;
}

static const Algorithm* requireApplicable(const convxContext& h, const Problem& p, convxConvAlgo_t id, const char* how) {
    const Algorithm* a = findAlgorithm(h.backend, id);
    if (!a)
        fail(CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "algo %s (%s) is not available on the %s backend of this build", algoName(id), how,
             backendName(h.backend));
    Applicability ap = a->check(p);
    if (!ap.ok) fail(CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "algo %s (%s) does not apply to %s: %s", a->name(), how, p.str().c_str(),
                     ap.reason.c_str());
    return a;
}

const Algorithm* selectAlgorithm(const convxContext& h, const Problem& p, convxConvAlgo_t requested) {
    const bool log = logEnabled();
    if (requested != CONVX_ALGO_AUTO) {
        if (!algoName(requested)) fail(CONVX_STATUS_BAD_PARAM, "algo = %d is not a convxConvAlgo_t", static_cast<int>(requested));
        const Algorithm* a = requireApplicable(h, p, requested, "requested by the caller");
        if (log) logLine(std::string(backendName(h.backend)) + " " + p.str() + " -> " + a->name() + " (requested)");
        return a;
    }
    if (const char* forced = std::getenv("CONVX_ALGO"); forced && *forced) {
        convxConvAlgo_t id;
        if (!parseAlgoName(forced, &id)) fail(CONVX_STATUS_BAD_PARAM, "CONVX_ALGO='%s' names no algorithm", forced);
        if (id != CONVX_ALGO_AUTO) {
            const Algorithm* a = requireApplicable(h, p, id, "forced by CONVX_ALGO");
            if (log) logLine(std::string(backendName(h.backend)) + " " + p.str() + " -> " + a->name() + " (CONVX_ALGO)");
            return a;
        }
    }
    std::string rejected;
    const Algorithm* picked = nullptr;
    for (const Ranked& r : rankAlgorithms(h, p)) {
        if (r.applicability.ok) {
            if (!picked) picked = r.algo;
        } else {
            rejected += std::string(" ") + r.algo->name() + " (" + r.applicability.reason + ");";
        }
    }
    if (!picked)
        fail(CONVX_STATUS_NOT_SUPPORTED, "no %s algorithm applies to %s;%s", backendName(h.backend), p.str().c_str(),
             rejected.empty() ? " none is registered" : rejected.c_str());
    if (log) {
        logLine(std::string(backendName(h.backend)) + " " + p.str() + " -> " + picked->name() + " (first applicable)");
        if (!rejected.empty()) logLine("  rejected:" + rejected);
    }
    return picked;
}

}  // namespace convx
