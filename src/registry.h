// The ordered registry of algorithms. Order is priority: AUTO's last resort picks the first
// applicable entry of the handle's backend, so faster specialised algorithms come first and
// REFERENCE last.
#pragma once

#include <vector>

#include "algorithm.h"

namespace convx {

const std::vector<const Algorithm*>& registry();
std::vector<const Algorithm*> algorithmsFor(convxBackend_t backend, Direction dir);
const Algorithm* findAlgorithm(convxBackend_t backend, convxConvAlgo_t id);

// Tests only: puts `a` first in the registry (highest priority) until removed. Not safe while
// other threads run convolutions.
void addAlgorithmForTesting(const Algorithm* a);
void removeAlgorithmForTesting(const Algorithm* a);

// Each backend appends its algorithms in priority order (defined in cpu/ and cuda/ sources).
void registerCpuAlgorithms(std::vector<const Algorithm*>& out);
void registerCudaAlgorithms(std::vector<const Algorithm*>& out);

}  // namespace convx
