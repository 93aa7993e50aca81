// The CPU GCONV engine (gconv.h). First version: the float64 definition, parallel-free; the
// tiled engine replaces it.
#include "gconv_engine.h"

namespace convx {

size_t cpuGconvWorkspaceSize(const GconvProblem&) { return 0; }

void cpuGconvForward(const ExecContext&, const GconvProblem& gp, const GconvArgs& a, Scale s) { gconvReference(gp, a, s); }

}  // namespace convx
