// CONVX_ALGO_FILTER_TRIM on CUDA: a tiled direct forward convolution (and backward-data at stride
// 1, run as the forward correlation of dy with the rotated filter) whose loops run over each
// output's trimmed filter window (ConvV2, SEEDS.md §2): input tile and filter slice in shared
// memory, several output channels per thread in registers (cuda/trimmed_direct.cuh, one residue
// per axis). fp32 / f64 accumulate in their own type, f16 / bf16 in fp32.
#include "trimmed_direct.cuh"

namespace convx {

namespace {

class CudaFilterTrim final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_FILTER_TRIM; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CUDA; }
    unsigned directions() const override { return dirBit(Direction::Forward) | dirBit(Direction::BackwardData); }
    bool deterministic() const override { return true; }

    Applicability isApplicable(const Problem& p) const override {
        if (p.dir == Direction::BackwardData)
            for (int i = 0; i < p.nsp; ++i)
                if (p.stride[i] != 1) return Applicability::no("backward-data needs stride 1 (strided: kernel_split)");
        trimmed_cuda::Geo P;
        std::string why;
        if (!trimmed_cuda::configure(p, false, trimmed_cuda::accBytesOf(p.dtype), &P, &why)) return Applicability::no(why);
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem& p) const override { return trimmed_cuda::workspaceBytes(p, false); }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        trimmed_cuda::launch(p, false, b, s, ctx.workspace, static_cast<cudaStream_t>(ctx.handle ? ctx.handle->stream : nullptr), "filter_trim kernel launch");
    }
};

}  // namespace

const Algorithm* cudaFilterTrimAlgorithm() {
    static const CudaFilterTrim a;
    return &a;
}

}  // namespace convx
