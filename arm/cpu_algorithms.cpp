// The CPU backend's algorithms in priority order: specialised kernels first, REFERENCE last.
#include "registry.h"

namespace convx {

const Algorithm* cpuDilationSplitAlgorithm();
const Algorithm* cpuFilterTrimAlgorithm();
const Algorithm* cpuReferenceAlgorithm();

void registerCpuAlgorithms(std::vector<const Algorithm*>& out) {
    out.push_back(cpuDilationSplitAlgorithm());  // dilated problems only
    out.push_back(cpuFilterTrimAlgorithm());
    out.push_back(cpuReferenceAlgorithm());
}

}  // namespace convx
