// The GCONV engines behind gconvForward (gconv.h): one per backend. Internal to src/, arm/ and
// cuda/; gconvForward validates and dispatches on the handle's backend.
#pragma once

#include "algorithm.h"
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

// CONVX_ALGO_GCONV on one backend: a plain forward convolution run by that backend's engine as
// the (MUL, SUM) GCONV. Every forward problem applies; the engines need no workspace.
class GconvAlgorithm final : public Algorithm {
public:
    using Engine = void (*)(const ExecContext&, const GconvProblem&, const GconvArgs&, Scale);
    GconvAlgorithm(convxBackend_t backend, Engine engine) : backend_(backend), engine_(engine) {}
    convxConvAlgo_t id() const override { return CONVX_ALGO_GCONV; }
    convxBackend_t backend() const override { return backend_; }
    unsigned directions() const override { return dirBit(Direction::Forward); }
    Applicability isApplicable(const Problem&) const override { return Applicability::yes(); }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        GconvProblem gp;
        gp.conv = p;
        GconvArgs a;
        a.x = b.x, a.w = b.w, a.y = b.y;
        engine_(ctx, gp, a, s);
    }

private:
    convxBackend_t backend_;
    Engine engine_;
};

}  // namespace convx

namespace convx {
// The CPU engine's path for a problem (tests, logs): "cf", "cl", "cl_dw" or "row".
const char* cpuGconvPath(const GconvProblem& gp);
}  // namespace convx
