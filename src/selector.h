// The selector: which algorithm runs a call. An explicit algorithm from the caller is used if
// it applies (else NOT_SUPPORTED_ALGORITHM with the reason). AUTO walks: CONVX_ALGO (forced by
// name), then the first applicable algorithm in registry order, skipping CONVX_DISABLE'd names.
// The find-db and the measured heuristic slot in before the last step.
#pragma once

#include <vector>

#include "algorithm.h"

namespace convx {

struct Ranked {
    const Algorithm* algo;
    Applicability applicability;
    size_t workspace;  // valid when applicable
};

// Every algorithm of the handle's backend for p.dir, applicable ones first (selector order).
std::vector<Ranked> rankAlgorithms(const convxContext& h, const Problem& p);

// Throws Error (NOT_SUPPORTED_ALGORITHM / NOT_SUPPORTED) with the reasons when nothing applies.
const Algorithm* selectAlgorithm(const convxContext& h, const Problem& p, convxConvAlgo_t requested);

}  // namespace convx
