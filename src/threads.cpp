#include "threads.h"

#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace convx {

int cpuThreadCount(int requested) {
#ifdef _OPENMP
    // convxSetNumThreads accepts any positive count; asking OpenMP for, say, a million threads
    // crashes the runtime when it cannot create them. Oversubscription beyond a few threads per
    // processor buys nothing, so the request is capped there.
    const int cap = std::max(64, 4 * omp_get_num_procs());
    return requested > 0 ? std::min(requested, cap) : omp_get_max_threads();
#else
    (void)requested;
    return 1;
#endif
}

}  // namespace convx
