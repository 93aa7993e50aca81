// The CPU backend's algorithms in priority order: specialised kernels first, REFERENCE last.
// Each specialised kernel serves one direction, so their relative order only matters where two
// apply to the same problem; the measured heuristic and the find-db decide those.
#include "registry.h"

namespace convx {

const Algorithm* cpuDepthwiseAlgorithm();
const Algorithm* cpuDirectCoalescedAlgorithm();
const Algorithm* cpuKernelSplitAlgorithm();
const Algorithm* cpuReferenceAlgorithm();
const Algorithm* cpuSplitKAlgorithm();

void registerCpuAlgorithms(std::vector<const Algorithm*>& out) {
#ifdef CONVX_HAVE_HWY
    // The specialist for groups == C, all directions (needs Highway): first, since on depthwise
    // layers it measured 2-20x ahead of kernel_split and split_k (docs/algorithms/depthwise.md).
    out.push_back(cpuDepthwiseAlgorithm());
#endif
    out.push_back(cpuKernelSplitAlgorithm());      // backward-data
    out.push_back(cpuSplitKAlgorithm());           // backward-filter
    out.push_back(cpuDirectCoalescedAlgorithm());  // forward
    out.push_back(cpuReferenceAlgorithm());
}

}  // namespace convx
