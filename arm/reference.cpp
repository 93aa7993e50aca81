// CONVX_ALGO_REFERENCE on the CPU backend: the float64 reference loops of src/, exposed as an
// algorithm so that every path (tests, bench, selector) can run and compare against it.
#include "algorithm.h"
#include "reference.h"

namespace convx {

namespace {

class CpuReference final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_REFERENCE; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CPU; }
    unsigned directions() const override { return kAllDirections; }
    Applicability isApplicable(const Problem&) const override { return Applicability::yes(); }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        referenceConvolution(p, b, s, ctx.handle ? ctx.handle->numThreads : 0);
    }
};

}  // namespace

const Algorithm* cpuReferenceAlgorithm() {
    static const CpuReference a;
    return &a;
}

}  // namespace convx
