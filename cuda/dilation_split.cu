// CONVX_ALGO_DILATION_SPLIT on CUDA: one launch over every output residue class of a dilated
// forward convolution (src/dilation_split_plan.h); each block computes a tile of one dense
// sub-problem and stages the dense sub-grid input tile (step d in x) in shared memory, where
// every element serves up to R taps of the undilated filter — reuse a dilated tile cannot have
// (cuda/trimmed_direct.cuh with g = d, tv = 1).
#include "trimmed_direct.cuh"

namespace convx {

namespace {

class CudaDilationSplit final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_DILATION_SPLIT; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    unsigned directions() const override { return dirBit(Direction::Forward); }
    bool deterministic() const override { return true; }

    Applicability isApplicable(const Problem& p) const override {
        bool dilated = false;
        for (int i = 0; i < p.nsp; ++i) dilated = dilated || p.dil[i] > 1;
        if (!dilated) return Applicability::no("no dilation > 1: nothing to split");
        trimmed_cuda::Geo P;
        std::string why;
        if (!trimmed_cuda::configure(p, true, trimmed_cuda::accBytesOf(p.dtype), &P, &why)) return Applicability::no(why);
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem& p) const override { return trimmed_cuda::workspaceBytes(p, true); }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        trimmed_cuda::launch(p, true, b, s, ctx.workspace, static_cast<cudaStream_t>(ctx.handle ? ctx.handle->stream : nullptr), "dilation_split kernel launch");
    }
};

}  // namespace

const Algorithm* cudaDilationSplitAlgorithm() {
    static const CudaDilationSplit a;
    return &a;
}

}  // namespace convx
