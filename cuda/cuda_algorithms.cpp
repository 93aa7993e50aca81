// The CUDA backend's algorithms in priority order. cuDNN comes first for now: convx's own
// kernels have not yet been measured on a GPU, so AUTO keeps cuDNN's pick until a results file
// (and the heuristic fitted to it) shows where each one wins; until then they are selectable by
// id and by CONVX_ALGO. REFERENCE (the slow GPU oracle) stays last.
#include "registry.h"

namespace convx {

const Algorithm* cudaDepthwiseAlgorithm();
const Algorithm* cudaDilationSplitAlgorithm();
const Algorithm* cudaDirectCoalescedAlgorithm();
const Algorithm* cudaFilterTrimAlgorithm();
const Algorithm* cudaGconvAlgorithm();
const Algorithm* cudaKernelSplitAlgorithm();
const Algorithm* cudaReferenceAlgorithm();
const Algorithm* cudaSplitKAlgorithm();
#ifdef CONVX_HAVE_CUDNN
const Algorithm* cudnnAlgorithm();
#endif

void registerCudaAlgorithms(std::vector<const Algorithm*>& out) {
#ifdef CONVX_HAVE_CUDNN
    out.push_back(cudnnAlgorithm());
#endif
    out.push_back(cudaKernelSplitAlgorithm());      // backward-data
    out.push_back(cudaSplitKAlgorithm());           // backward-filter
    out.push_back(cudaDirectCoalescedAlgorithm());  // forward
    out.push_back(cudaFilterTrimAlgorithm());       // forward; backward-data at stride 1
    out.push_back(cudaDilationSplitAlgorithm());    // forward, dilated
    out.push_back(cudaDepthwiseAlgorithm());        // all three, groups == C
    out.push_back(cudaGconvAlgorithm());            // forward: the GCONV engine's (MUL, SUM); not yet measured
    out.push_back(cudaReferenceAlgorithm());
}

}  // namespace convx
