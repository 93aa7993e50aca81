// The CPU backend's algorithms in priority order: specialised kernels first, REFERENCE last.
#include "registry.h"

namespace convx {

const Algorithm* cpuReferenceAlgorithm();
const Algorithm* cpuSplitKAlgorithm();

void registerCpuAlgorithms(std::vector<const Algorithm*>& out) {
    out.push_back(cpuSplitKAlgorithm());
    out.push_back(cpuReferenceAlgorithm());
}

}  // namespace convx
