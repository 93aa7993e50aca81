// The float64 reference: direct loops that accumulate in double for every direction, geometry,
// layout (any strides) and data type, rounding once into the output. It is the oracle of every
// test and the CPU backend's CONVX_ALGO_REFERENCE. Deterministic: each output element is summed
// by one thread in a fixed order.
#pragma once

#include "algorithm.h"
#include "problem.h"

namespace convx {

// threads <= 0: the OpenMP default.
void referenceConvolution(const Problem& p, const Buffers& b, Scale s, int threads);

}  // namespace convx
