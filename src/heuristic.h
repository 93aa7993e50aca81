// The measured heuristic: per (backend, direction, algorithm) a cost model fitted to committed
// bench results by perf/fit_heuristic.py and kept as data in src/heuristic_<backend>.inc:
//
//   log(ms) = log(flops) + sum_j coef[j] * feature[j]        (feature 0 is the constant 1)
//
// The features are computed once per selection (heuristicFeatures, no allocation), an estimate
// is one dot product and one exp. A backend whose table is empty (CUDA until H200 results are
// committed) has no model: AUTO then keeps registry order.
#pragma once

#include "convx/convx.h"
#include "problem.h"

namespace convx {

constexpr int kHeuristicFeatures = 16;  // perf/fit_heuristic.py FEATURES, same order

struct HeuristicModel {
    Direction dir;
    convxConvAlgo_t algo;
    int samples;
    // log flops where AUTO trusts it: its samples' range widened 4x each side (no extrapolation)
    double logFlopsMin, logFlopsMax;
    double coef[kHeuristicFeatures];
    bool covers(const struct HeuristicFeatures& x) const;
};

// A recorded problem and the algorithm the models rank first among `candidates` (comma list of
// names: what ran on it), as the fitting script computed: the C++ side must agree (tests).
struct HeuristicCheck {
    const char* problem;
    const char* candidates;
    convxConvAlgo_t pick;
};

struct HeuristicTable {
    const char* backend;
    const char* fitted;       // date of the newest results it was fitted to
    double logSwitchMargin;   // AUTO leaves registry order only for an estimate this much (log) faster
    const HeuristicModel* models;
    int numModels;
    const HeuristicCheck* checks;
    int numChecks;
};

const HeuristicTable& heuristicTable(convxBackend_t backend);

struct HeuristicFeatures {
    double f[kHeuristicFeatures];
};
HeuristicFeatures heuristicFeatures(const Problem& p);

inline bool HeuristicModel::covers(const HeuristicFeatures& x) const { return x.f[1] >= logFlopsMin && x.f[1] <= logFlopsMax; }

// The model for (backend, p.dir, algo), nullptr when none. O(1).
const HeuristicModel* heuristicModel(convxBackend_t backend, Direction dir, convxConvAlgo_t algo);

// Estimated milliseconds, and its log (what ranking compares: no exp).
double heuristicEstimateLogMs(const HeuristicModel& m, const HeuristicFeatures& x);
double heuristicEstimateMs(const HeuristicModel& m, const HeuristicFeatures& x);

}  // namespace convx
