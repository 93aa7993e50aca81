// The CPU backend's algorithms in priority order: specialised kernels first, REFERENCE last.
// kernel_split and split_k each serve one direction. Three serve the forward direction; until
// the measured heuristic ranks them per problem, AUTO takes direct_coalesced (1.75x filter_trim's
// speed, geomean over the default suite's forward layers, one thread, docs/performance.md), then
// filter_trim (which also takes the depthwise layers direct_coalesced declines), then
// dilation_split.
#include "registry.h"

namespace convx {

const Algorithm* cpuDepthwiseAlgorithm();
const Algorithm* cpuDilationSplitAlgorithm();
const Algorithm* cpuDirectCoalescedAlgorithm();
const Algorithm* cpuFilterTrimAlgorithm();
const Algorithm* cpuGconvAlgorithm();
const Algorithm* cpuKernelSplitAlgorithm();
const Algorithm* cpuReferenceAlgorithm();
const Algorithm* cpuSplitKAlgorithm();

void registerCpuAlgorithms(std::vector<const Algorithm*>& out) {
#ifdef CONVX_HAVE_HWY
    // The specialist for groups == C, all directions (needs Highway): first, since on depthwise
    // layers it measured 2-20x ahead of kernel_split and split_k (docs/algorithms/depthwise.md).
    out.push_back(cpuDepthwiseAlgorithm());
#endif
    out.push_back(cpuKernelSplitAlgorithm());      // backward-data (strided)
    out.push_back(cpuSplitKAlgorithm());           // backward-filter
    out.push_back(cpuDirectCoalescedAlgorithm());  // forward
    out.push_back(cpuFilterTrimAlgorithm());       // forward; backward-data at stride 1
    out.push_back(cpuDilationSplitAlgorithm());    // forward, dilated
    // Forward, every geometry and type: the GCONV engine running (MUL, SUM); after the
    // specialists until measured per problem, ahead of the reference.
    out.push_back(cpuGconvAlgorithm());
    out.push_back(cpuReferenceAlgorithm());
}

}  // namespace convx
