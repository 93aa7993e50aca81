// The OpenMP team size of a CPU call: the handle's convxSetNumThreads request, or OpenMP's
// default when it is 0. Shared by every CPU executor so they all cap it the same way.
#pragma once

namespace convx {

// requested <= 0: the OpenMP default. Without OpenMP: 1.
int cpuThreadCount(int requested);

}  // namespace convx
