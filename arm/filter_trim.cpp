// CONVX_ALGO_FILTER_TRIM on the CPU: direct forward convolution (and backward-data at stride 1,
// the forward correlation of dy with the rotated filter) whose filter window is trimmed
// per output to the taps inside the input (src/filter_trim_plan.h), so no padded zero is
// multiplied and the inner loops carry no bounds test. Register tiles of 4 output channels x 8
// output columns (arm/trimmed_direct.h); interior columns run as one contiguous vector loop, the
// border columns in a few classes of their own. OpenMP over (n, group, channel block, rows).
#include "algorithm.h"
#include "filter_trim_plan.h"
#include "trimmed_direct.h"

namespace convx {

namespace {

// The convolution's input (x, or dy for backward-data) is read in place when its innermost
// spatial dimension is contiguous; otherwise (NHWC, odd strides) it is first repacked to packed
// NCHW in a scratch buffer so the inner loop is unit-stride.
bool inputInPlace(const Problem& p) {
    return (p.dir == Direction::BackwardData ? p.yStrides : p.xStrides)[1 + p.nsp] == 1;
}

template <class T>
void runTyped(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) {
    // Forward, or backward-data (stride 1) as the forward correlation of dy with the rotated filter.
    const ForwardView view = forwardViewOf(p);
    const Conv3d& g = view.g;
    const bool bwd = p.dir == Direction::BackwardData;
    const int nt = cpuThreadCount(ctx.handle ? ctx.handle->numThreads : 0);
    // Scratch is the calling thread's, not the workspace: AUTO callers that pass none (the cuDNN
    // habit for direct algorithms) still get this algorithm.
    T* wp = trimmed::scratch<T>(trimmed::packedFilterElems(g), 0);
    trimmed::packFilter(g, static_cast<const T*>(b.w), wp, nt, view.wsG);

    trimmed::Job<T> J;
    const T* x = static_cast<const T*>(bwd ? b.y : b.x);
    int64_t xs[5] = {g.xs[0], g.xs[1], g.xs[2], g.xs[3], g.xs[4]};
    if (!inputInPlace(p)) {
        T* xp = trimmed::scratch<T>(static_cast<size_t>(g.N * g.C * g.inPix), 1);
        const int64_t pix = g.inPix;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
            const int64_t n = nc / g.C, c = nc % g.C;
            T* dst = xp + nc * pix;
            for (int64_t i0 = 0; i0 < g.I[0]; ++i0)
                for (int64_t i1 = 0; i1 < g.I[1]; ++i1) {
                    const T* src = x + n * g.xs[0] + c * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3];
                    for (int64_t i2 = 0; i2 < g.I[2]; ++i2) *dst++ = src[i2 * g.xs[4]];
                }
        }
        x = xp;
        xs[0] = g.C * pix, xs[1] = pix, xs[2] = g.I[1] * g.I[2], xs[3] = g.I[2], xs[4] = 1;
    }

    const FilterTrimPlan plan = makeFilterTrimPlan(p);
    J.x = x, J.xn = xs[0], J.xc = xs[1];
    J.wp = wp;
    J.y = static_cast<T*>(bwd ? b.x : b.y);
    for (int i = 0; i < 5; ++i) J.ys[i] = g.ys[i];
    J.N = g.N, J.G = g.G, J.Cg = g.Cg, J.Kg = g.Kg, J.taps = g.taps;
    for (int i = 0; i < 3; ++i) J.R[i] = g.R[i];
    J.alpha = static_cast<T>(s.alpha), J.beta = static_cast<T>(s.beta);
    J.threads = ctx.handle ? ctx.handle->numThreads : 0;

    std::vector<trimmed::SubView> subs(1);
    for (int i = 0; i < 3; ++i) subs[0].ax[i] = {&plan.axis[i], 0, 1};
    subs[0].xv[0] = xs[2], subs[0].xv[1] = xs[3];
    trimmed::runRows(J, subs);
}

class CpuFilterTrim final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_FILTER_TRIM; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CPU; }
    unsigned directions() const override { return dirBit(Direction::Forward) | dirBit(Direction::BackwardData); }
    bool deterministic() const override { return true; }

    Applicability isApplicable(const Problem& p) const override {
        if (p.dtype != DType::F32 && p.dtype != DType::F64)
            return Applicability::no("f32 and f64 only (f16/bf16: use the reference)");
        if (p.dir == Direction::BackwardData)
            for (int i = 0; i < p.nsp; ++i)
                if (p.stride[i] != 1) return Applicability::no("backward-data needs stride 1 (strided: kernel_split)");
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        if (p.dtype == DType::F64) runTyped<double>(ctx, p, b, s);
        else runTyped<float>(ctx, p, b, s);
    }
};

}  // namespace

const Algorithm* cpuFilterTrimAlgorithm() {
    static const CpuFilterTrim a;
    return &a;
}

}  // namespace convx
