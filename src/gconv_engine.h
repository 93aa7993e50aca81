// The GCONV engines behind gconvForward (gconv.h): one per backend. Internal to src/, arm/ and
// cuda/; gconvForward validates and dispatches on the handle's backend.
#pragma once

#include "gconv.h"

namespace convx {

// arm/gconv.cpp. Needs no workspace (its packed filter and converted input are its own buffers).
size_t cpuGconvWorkspaceSize(const GconvProblem& gp);
void cpuGconvForward(const ExecContext& ctx, const GconvProblem& gp, const GconvArgs& a, Scale s);

#ifdef CONVX_HAVE_CUDA
// cuda/gconv.cu: runs on ctx.handle->stream; every pointer is device memory.
size_t cudaGconvWorkspaceSize(const GconvProblem& gp);
void cudaGconvForward(const ExecContext& ctx, const GconvProblem& gp, const GconvArgs& a, Scale s);
#endif

// Whether the per-channel vector / z pointers the ops need are there (names the missing one).
void checkGconvArgs(const GconvProblem& gp, const GconvArgs& a);

}  // namespace convx

namespace convx {
// The CPU engine's path for a problem (tests, logs): "cf", "cl", "cl_dw" or "row".
const char* cpuGconvPath(const GconvProblem& gp);
}  // namespace convx
