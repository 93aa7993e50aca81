// The CPU backend's algorithms in priority order: specialised kernels first, REFERENCE last.
#include "registry.h"

namespace convx {

const Algorithm* cpuDilationSplitAlgorithm();
const Algorithm* cpuFilterTrimAlgorithm();
const Algorithm* cpuReferenceAlgorithm();

void registerCpuAlgorithms(std::vector<const Algorithm*>& out) {
    // filter_trim also beats dilation_split on dilated problems on the CPU (measured: the direct
    // rows are already unit-stride; the split adds a copy of x and short sub-rows), so the split
    // comes after it and runs when asked for by name or id.
    out.push_back(cpuFilterTrimAlgorithm());
    out.push_back(cpuDilationSplitAlgorithm());
    out.push_back(cpuReferenceAlgorithm());
}

}  // namespace convx
