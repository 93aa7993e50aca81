// CONVX_ALGO_DILATION_SPLIT on the CPU: a dilated forward convolution run as d_D*d_H*d_W dense
// (undilated) convolutions over the input's sub-grids (src/dilation_split_plan.h). x is first
// de-interleaved into a scratch buffer (one pass: every sub-grid becomes a contiguous block, for any
// layout and strides of x), so each sub-problem's rows are unit-stride and the shared register-
// tiled engine (arm/trimmed_direct.h) runs on them with trimmed windows; y is written in place
// (outputs j + d*m). The holes of the dilated filter are never visited.
#include "algorithm.h"
#include "dilation_split_plan.h"
#include "trimmed_direct.h"

namespace convx {

namespace {

template <class T>
void runTyped(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) {
    const Conv3d g = conv3dOf(p);
    const int nt = cpuThreadCount(ctx.handle ? ctx.handle->numThreads : 0);
    const DilationSplitPlan plan = makeDilationSplitPlan(p);
    // Scratch is the calling thread's, not the workspace: AUTO callers that pass none still get
    // this algorithm.
    T* wp = trimmed::scratch<T>(trimmed::packedFilterElems(p), 0);
    trimmed::packFilter(g, static_cast<const T*>(b.w), wp, nt, g.Kg * g.ws[0]);

    // De-interleave: plane block (rD, rH, rW) holds x[rD + dD*u0][rH + dH*u1][rW + dW*u2].
    const T* x = static_cast<const T*>(b.x);
    T* xd = trimmed::scratch<T>(static_cast<size_t>(p.xElems()), 1);
    const int64_t pix = g.inPix;
    const int64_t d0 = g.D[0], d1 = g.D[1], d2 = g.D[2];
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t nc = 0; nc < g.N * g.C; ++nc) {
        const int64_t n = nc / g.C, c = nc % g.C;
        const T* src = x + n * g.xs[0] + c * g.xs[1];
        for (int64_t r0 = 0; r0 < std::min(d0, g.I[0]); ++r0)
            for (int64_t r1 = 0; r1 < std::min(d1, g.I[1]); ++r1)
                for (int64_t r2 = 0; r2 < std::min(d2, g.I[2]); ++r2) {
                    T* dst = xd + nc * pix + plan.blockOffset(r0, r1, r2);
                    const int64_t step2 = d2 * g.xs[4];
                    for (int64_t i0 = r0; i0 < g.I[0]; i0 += d0)
                        for (int64_t i1 = r1; i1 < g.I[1]; i1 += d1) {
                            const T* row = src + i0 * g.xs[2] + i1 * g.xs[3] + r2 * g.xs[4];
                            const int64_t cnt = residueCount(g.I[2], r2, d2);
                            for (int64_t u = 0; u < cnt; ++u) *dst++ = row[u * step2];
                        }
                }
    }

    trimmed::Job<T> J;
    J.x = xd, J.xn = g.C * pix, J.xc = pix;
    J.wp = wp;
    J.y = static_cast<T*>(b.y);
    for (int i = 0; i < 5; ++i) J.ys[i] = g.ys[i];
    J.N = g.N, J.G = g.G, J.Cg = g.Cg, J.Kg = g.Kg, J.taps = g.taps;
    for (int i = 0; i < 3; ++i) J.R[i] = g.R[i];
    J.alpha = static_cast<T>(s.alpha), J.beta = static_cast<T>(s.beta);
    J.threads = ctx.handle ? ctx.handle->numThreads : 0;

    std::vector<trimmed::SubView> subs;
    subs.reserve(plan.subs.size());
    for (const SubProblem& sp : plan.subs) {
        trimmed::SubView v;
        const SplitResidue* r[3];
        for (int i = 0; i < 3; ++i) {
            r[i] = &plan.axis[i].residues[static_cast<size_t>(sp.res[i])];
            v.ax[i] = {&r[i]->trim, r[i]->j, plan.axis[i].d};
        }
        v.xOff = plan.blockOffset(r[0]->inResidue, r[1]->inResidue, r[2]->inResidue);
        v.xv[0] = r[1]->inCount * r[2]->inCount, v.xv[1] = r[2]->inCount;
        subs.push_back(v);
    }
    trimmed::runRows(J, subs);
}

class CpuDilationSplit final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_DILATION_SPLIT; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CPU; }
    unsigned directions() const override { return dirBit(Direction::Forward); }
    bool deterministic() const override { return true; }

    Applicability isApplicable(const Problem& p) const override {
        if (p.dtype != DType::F32 && p.dtype != DType::F64)
            return Applicability::no("f32 and f64 only (f16/bf16: use the reference)");
        bool dilated = false;
        for (int i = 0; i < p.nsp; ++i) dilated = dilated || p.dil[i] > 1;
        if (!dilated) return Applicability::no("no dilation > 1: nothing to split");
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem&) const override { return 0; }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        if (p.dtype == DType::F64) runTyped<double>(ctx, p, b, s);
        else runTyped<float>(ctx, p, b, s);
    }
};

}  // namespace

const Algorithm* cpuDilationSplitAlgorithm() {
    static const CpuDilationSplit a;
    return &a;
}

}  // namespace convx
