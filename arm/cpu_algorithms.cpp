// The CPU backend's algorithms in priority order: specialised kernels first, REFERENCE last.
#include "registry.h"

namespace convx {

const Algorithm* cpuDirectCoalescedAlgorithm();
const Algorithm* cpuReferenceAlgorithm();

void registerCpuAlgorithms(std::vector<const Algorithm*>& out) {
    out.push_back(cpuDirectCoalescedAlgorithm());
    out.push_back(cpuReferenceAlgorithm());
}

}  // namespace convx
