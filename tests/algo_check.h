// Targeted checks of one algorithm against CONVX_ALGO_REFERENCE on the CPU backend: random
// problems from harness::randomSpec, reshaped by the caller into the family the algorithm treats
// specially (stride-2 transposed convolutions, dilated convolutions, small maps, ...), each run
// through the C API with fresh data and a NaN-poisoned output, and compared by relative L2.
#pragma once

#include <functional>
#include <random>

#include "conv_harness.h"

namespace harness {

// Turns a random spec into one of the family under test; returning false redraws.
using Shape = std::function<bool(std::mt19937_64&, Spec&)>;

struct AlgoCheck {
    convxConvAlgo_t algo = CONVX_ALGO_REFERENCE;
    Dir dir = Dir::Fwd;
    convxDataType_t dt = CONVX_DATA_FLOAT;
    int count = 40;             // before CONVX_TEST_SCALE
    uint64_t seed = 1;
    GenOptions gen;             // options of the underlying random draw
    Shape shape;                // may be empty: the random draw as it is
    bool mustApply = true;      // every shaped problem must be accepted by the algorithm
};

// Runs the check; answers how many problems the algorithm ran. With mustApply, a problem the
// algorithm rejects is a failure (with its reason); without, it is skipped and counted out.
int checkAlgorithm(const AlgoCheck& c);

// The same comparison for one spec, for hand-picked edge cases.
void checkAlgorithmOn(convxConvAlgo_t algo, const Spec& s);

}  // namespace harness
