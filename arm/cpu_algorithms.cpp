// The CPU backend's algorithms in priority order: specialised kernels first, REFERENCE last.
#include "registry.h"

namespace convx {

const Algorithm* cpuKernelSplitAlgorithm();
const Algorithm* cpuReferenceAlgorithm();

void registerCpuAlgorithms(std::vector<const Algorithm*>& out) {
    out.push_back(cpuKernelSplitAlgorithm());
    out.push_back(cpuReferenceAlgorithm());
}

}  // namespace convx
