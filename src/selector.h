// The selector: which algorithm runs a call. An explicit algorithm from the caller is used if
// it applies and fits the handle's workspace limit (else NOT_SUPPORTED_ALGORITHM with the
// reason). AUTO walks:
//   1. CONVX_ALGO (forced by name);
//   2. the find-db: the winner Find recorded for this device and problem, if it still applies,
//      fits the workspace limit and the bytes the call passed; with CONVX_FIND_MODE=auto and no
//      usable entry, an executing call times every candidate once and records the winner;
//   3. the measured heuristic (src/heuristic.h: cost models fitted to committed bench results):
//      the registry-order pick below, unless the models estimate another applicable algorithm
//      that fits faster by more than the table's switch margin; no model for the registry-order
//      pick (or none at all: CUDA until H200 results exist) leaves registry order;
//   4. the first applicable algorithm in registry order that fits.
// The AUTO walk allocates nothing on the way to a find-db hit or a heuristic pick (unless
// CONVX_LOG, CONVX_DISABLE or a failure asks for text); convx-bench --selection-overhead
// measures it.
// CONVX_DISABLE'd names and algorithms above the handle's workspace limit are not applicable.
// An executing call never runs an algorithm with less workspace than it needs: when the walk's
// choice does not fit the bytes passed, it falls back to the next step's choice that does, and
// logs it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "algorithm.h"
#include "heuristic.h"

namespace convx {

struct Ranked {
    const Algorithm* algo;
    Applicability applicability;
    size_t workspace;  // valid when the algorithm applies (also when only the workspace limit rejects it)
    double estimateMs = -1;  // rankForGet: the heuristic's estimate (the find-db's time for its entry); -1: none
};

// Every algorithm of the handle's backend for p.dir, applicable ones first (registry order).
// CONVX_DISABLE'd ones and those needing more than h.workspaceLimit are not applicable, with the reason.
std::vector<Ranked> rankAlgorithms(const convxContext& h, const Problem& p);

// The order convxGet*Algorithm reports: the algorithm AUTO picks for a query (find-db entry,
// else the heuristic's or registry order's pick) first, then the other applicable ones by the
// heuristic's estimate (fastest first; those without a model after, in registry order), then
// the rest with their reasons. estimateMs is filled in.
std::vector<Ranked> rankForGet(const convxContext& h, const Problem& p);

// CONVX_FIND_MODE: off (unset) and db use the find-db; auto also fills it by timing AUTO calls
// that miss it. Anything else is BAD_PARAM.
enum class FindMode { Off, Db, Auto };
FindMode findModeFromEnv();

struct SelectOptions {
    // Bytes of workspace the executing call passed; SIZE_MAX for queries (workspace size, Get).
    size_t workspaceAvailable = SIZE_MAX;
    // Executing calls under CONVX_FIND_MODE=auto: times the candidates (each applies and fits)
    // on the call's buffers, records the fastest and returns it (nullptr when none ran).
    std::function<const Algorithm*(const std::vector<const Algorithm*>& candidates)> benchmark;
};

// Steps 3 and 4 of the walk on explicit candidates (applicable, within the handle's limit, in
// registry order; model: nullptr when none): the first that fits `available`, unless the models
// estimate another that fits faster by more than logMargin (log ms) and the problem's size is
// within both models' range. x nullptr: no heuristic. nullptr when none fits; *switched: the
// heuristic left registry order (then *why says how, when why is given).
struct HeuristicCandidate {
    const Algorithm* algo;
    size_t workspace;
    const HeuristicModel* model;
};
const HeuristicCandidate* heuristicChoice(double logMargin, const HeuristicCandidate* c, int n, size_t available,
                                          const HeuristicFeatures* x, bool* switched, std::string* why);

// Throws Error (NOT_SUPPORTED_ALGORITHM / NOT_SUPPORTED / BAD_PARAM_INSUFFICIENT_WORKSPACE) with
// the reasons when nothing applies or fits.
const Algorithm* selectAlgorithm(const convxContext& h, const Problem& p, convxConvAlgo_t requested,
                                 const SelectOptions& options = SelectOptions());

}  // namespace convx
