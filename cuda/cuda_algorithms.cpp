// The CUDA backend's algorithms in priority order: convx's own kernels first, then cuDNN as
// the fallback, and REFERENCE (the slow GPU oracle) last.
#include "registry.h"

namespace convx {

const Algorithm* cudaDirectCoalescedAlgorithm();
const Algorithm* cudaReferenceAlgorithm();
#ifdef CONVX_HAVE_CUDNN
const Algorithm* cudnnAlgorithm();
#endif

void registerCudaAlgorithms(std::vector<const Algorithm*>& out) {
#ifdef CONVX_HAVE_CUDNN
    out.push_back(cudnnAlgorithm());
#endif
    // convx's own kernels after cuDNN until measured on a GPU: AUTO keeps preferring cuDNN; each
    // stays selectable by id and CONVX_ALGO.
    out.push_back(cudaDirectCoalescedAlgorithm());
    out.push_back(cudaReferenceAlgorithm());
}

}  // namespace convx
