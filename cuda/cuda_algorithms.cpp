// The CUDA backend's algorithms in priority order: convx's own kernels first, then cuDNN as
// the fallback, and REFERENCE (the slow GPU oracle) last.
#include "registry.h"

namespace convx {

const Algorithm* cudaReferenceAlgorithm();
const Algorithm* cudaFilterTrimAlgorithm();
const Algorithm* cudaDilationSplitAlgorithm();
#ifdef CONVX_HAVE_CUDNN
const Algorithm* cudnnAlgorithm();
#endif

void registerCudaAlgorithms(std::vector<const Algorithm*>& out) {
#ifdef CONVX_HAVE_CUDNN
    out.push_back(cudnnAlgorithm());
#endif
    // Not yet measured on a GPU: after cuDNN so AUTO keeps preferring it; selectable by id/name.
    out.push_back(cudaDilationSplitAlgorithm());
    out.push_back(cudaFilterTrimAlgorithm());
    out.push_back(cudaReferenceAlgorithm());
}

}  // namespace convx
