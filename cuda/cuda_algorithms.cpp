// The CUDA backend's algorithms in priority order (none yet: they arrive with the CUDA
// backend issue; REFERENCE on the GPU will be the last entry).
#include "registry.h"

namespace convx {

void registerCudaAlgorithms(std::vector<const Algorithm*>& out) { (void)out; }

}  // namespace convx
