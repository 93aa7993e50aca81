// The CUDA backend's algorithms in priority order: convx's own kernels first, then cuDNN as
// the fallback, and REFERENCE (the slow GPU oracle) last.
#include "registry.h"

namespace convx {

const Algorithm* cudaKernelSplitAlgorithm();
const Algorithm* cudaReferenceAlgorithm();
#ifdef CONVX_HAVE_CUDNN
const Algorithm* cudnnAlgorithm();
#endif

void registerCudaAlgorithms(std::vector<const Algorithm*>& out) {
#ifdef CONVX_HAVE_CUDNN
    out.push_back(cudnnAlgorithm());
#endif
    // Not measured on a GPU yet: after cuDNN, so AUTO keeps preferring cuDNN until it is.
    out.push_back(cudaKernelSplitAlgorithm());
    out.push_back(cudaReferenceAlgorithm());
}

}  // namespace convx
