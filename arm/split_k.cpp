// CONVX_ALGO_SPLIT_K on the CPU: backward-filter as a split-reduction GEMM (src/split_k_plan.h).
// Each work item is one (group, M-tile, N-tile, chunk) of the plan. It walks its chunk of the
// reduction in blocks of kBlockL (n, o) positions: dy and an im2col slice of x (strided reads,
// zeros where a tap falls in the padding, decided per tap and output row, never per element in
// the GEMM) are packed into panels, and a register-tiled micro-GEMM (kMR rows broadcast x kNR
// columns in vectors) accumulates the tile. Items write disjoint partial tiles; the partials are
// summed in chunk order afterwards, so the bits do not depend on the thread count.
#include <algorithm>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "algorithm.h"
#include "isa.h"
#include "threads.h"
#include "error.h"
#include "geometry.h"
#include "split_k_plan.h"

namespace convx {

namespace {

inline int64_t floorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

constexpr int64_t kTM = SplitKPlan::kTileM;
constexpr int64_t kTN = SplitKPlan::kTileN;
constexpr int64_t kBlockL = 128;  // reduction positions per packed block: panels stay in L1/L2

// One output row piece of a reduction block: positions [lrel, lrel + len) of the block are
// output pixels (n, o0, o1, o2a .. o2a + len - 1).
struct Segment {
    int64_t lrel, n, o0, o1, o2a, len;
};

template <class T>
struct Kernel {
    static constexpr int kMR = 4;                     // rows (k) per micro-tile, broadcast
    static constexpr int kNR = int(32 / sizeof(T));   // columns per micro-tile: two 128-bit vectors

    const Conv3d& g;
    const SplitKPlan& plan;
    const T* x;
    const T* dy;

    // Per column of the current tile: channel offset in x, tap offsets (t*d - p), and the range
    // of o2 whose input column is inside the map.
    struct Col {
        int64_t xoff, off0, off1, off2, lo2, hi2;
    };

    // dst[l * kMR + i] for rows of one kMR panel; rows past `rows` stay zero.
    void packA(T* Ap, int64_t kBase, int64_t rows, const std::vector<Segment>& segs) const {
        for (int64_t i = 0; i < rows; ++i) {
            T* panel = Ap + (i / kMR) * kBlockL * kMR + (i % kMR);
            const int64_t kOff = (kBase + i) * g.ys[1];
            for (const Segment& s : segs) {
                const T* src = dy + s.n * g.ys[0] + kOff + s.o0 * g.ys[2] + s.o1 * g.ys[3] + s.o2a * g.ys[4];
                T* d = panel + s.lrel * kMR;
                for (int64_t j = 0; j < s.len; ++j) d[j * kMR] = src[j * g.ys[4]];
            }
        }
    }

    void packB(T* Bp, const Col* cols, int64_t ncols, const std::vector<Segment>& segs) const {
        const int64_t sx = g.S[2] * g.xs[4];
        for (int64_t j = 0; j < ncols; ++j) {
            const Col& c = cols[j];
            T* panel = Bp + (j / kNR) * kBlockL * kNR + (j % kNR);
            for (const Segment& s : segs) {
                T* d = panel + s.lrel * kNR;
                const int64_t i0 = s.o0 * g.S[0] + c.off0, i1 = s.o1 * g.S[1] + c.off1;
                const int64_t lo = std::max(c.lo2, s.o2a) - s.o2a;
                const int64_t hi = std::min(c.hi2, s.o2a + s.len - 1) - s.o2a;  // inclusive, relative
                if (i0 < 0 || i0 >= g.I[0] || i1 < 0 || i1 >= g.I[1] || lo > hi) {
                    for (int64_t q = 0; q < s.len; ++q) d[q * kNR] = T(0);
                    continue;
                }
                for (int64_t q = 0; q < lo; ++q) d[q * kNR] = T(0);
                const T* src = x + s.n * g.xs[0] + c.xoff + i0 * g.xs[2] + i1 * g.xs[3] +
                               ((s.o2a + lo) * g.S[2] + c.off2) * g.xs[4];
                for (int64_t q = lo; q <= hi; ++q) d[q * kNR] = src[(q - lo) * sx];
                for (int64_t q = hi + 1; q < s.len; ++q) d[q * kNR] = T(0);
            }
        }
    }

    // C[kMR x kNR] += A panel^T * B panel over `len` positions, in position order.
    static void micro(const T* __restrict A, const T* __restrict B, int64_t len, T* __restrict C, int64_t ldc) {
        T acc[kMR][kNR] = {};
        for (int64_t l = 0; l < len; ++l) {
            const T* a = A + l * kMR;
            const T* b = B + l * kNR;
            for (int i = 0; i < kMR; ++i)
                for (int j = 0; j < kNR; ++j) acc[i][j] += a[i] * b[j];
        }
        for (int i = 0; i < kMR; ++i)
            for (int j = 0; j < kNR; ++j) C[i * ldc + j] += acc[i][j];
    }

    void setCols(int64_t grp, int64_t n0, int64_t ncols, Col* cols) const {
        for (int64_t j = 0; j < ncols; ++j) {
            const int64_t col = n0 + j, c = plan.colChannel(col), tap = plan.colTap(col);
            const int64_t t2 = tap % g.R[2], t1 = (tap / g.R[2]) % g.R[1], t0 = tap / (g.R[2] * g.R[1]);
            Col& cc = cols[j];
            cc.xoff = (grp * g.Cg + c) * g.xs[1];
            cc.off0 = t0 * g.D[0] - g.P[0];
            cc.off1 = t1 * g.D[1] - g.P[1];
            cc.off2 = t2 * g.D[2] - g.P[2];
            cc.lo2 = std::max<int64_t>(0, ceilDiv(-cc.off2, g.S[2]));
            cc.hi2 = std::min<int64_t>(g.O[2] - 1, floorDiv(g.I[2] - 1 - cc.off2, g.S[2]));
        }
    }

    // Accumulates one tile over one chunk into C (kTM x kTN, row-major, zeroed by the caller).
    CONVX_CPU_CLONES void tile(int64_t grp, int64_t m0, int64_t rows, int64_t n0, int64_t ncols, int64_t lBegin, int64_t lEnd, T* Ap, T* Bp,
                               Col* cols, std::vector<Segment>& segs, T* C) const {
        setCols(grp, n0, ncols, cols);
        const int64_t rowsPad = (rows + kMR - 1) / kMR * kMR;
        const int64_t colsPad = (ncols + kNR - 1) / kNR * kNR;
        // The rows/columns that round the tile up to whole micro-tiles are never packed nor
        // stored; zeroing them keeps stale values (NaN, denormals) out of the arithmetic.
        const int64_t lUsed = std::min(kBlockL, lEnd - lBegin);
        for (int64_t i = rows; i < rowsPad; ++i) {
            T* panel = Ap + (i / kMR) * kBlockL * kMR + (i % kMR);
            for (int64_t l = 0; l < lUsed; ++l) panel[l * kMR] = T(0);
        }
        for (int64_t j = ncols; j < colsPad; ++j) {
            T* panel = Bp + (j / kNR) * kBlockL * kNR + (j % kNR);
            for (int64_t l = 0; l < lUsed; ++l) panel[l * kNR] = T(0);
        }
        const int64_t kBase = grp * g.Kg + m0;
        const int64_t O12 = g.O[1] * g.O[2];
        for (int64_t l0 = lBegin; l0 < lEnd; l0 += kBlockL) {
            const int64_t len = std::min(kBlockL, lEnd - l0);
            segs.clear();
            for (int64_t l = l0; l < l0 + len;) {
                const int64_t n = l / g.outPix, r = l % g.outPix;
                const int64_t o0 = r / O12, o1 = (r % O12) / g.O[2], o2 = r % g.O[2];
                const int64_t run = std::min(g.O[2] - o2, l0 + len - l);
                segs.push_back({l - l0, n, o0, o1, o2, run});
                l += run;
            }
            packA(Ap, kBase, rows, segs);
            packB(Bp, cols, ncols, segs);
            for (int64_t jb = 0; jb < colsPad; jb += kNR)
                for (int64_t ib = 0; ib < rowsPad; ib += kMR)
                    micro(Ap + ib * kBlockL, Bp + jb * kBlockL, len, C + ib * kTN + jb, kTN);
        }
    }
    // Thin groups (plan.thin(): the whole dw block of a group, e.g. multiplier x taps of a
    // depthwise convolution, is one small tile): no packing. Each dw element is a dot product
    // of dy rows with the tap's x rows over the tap's valid output range, accumulated in kLanes
    // interleaved lanes (lane = position mod kLanes, so unit-stride rows vectorize) that are
    // added in lane order at the end.
    static constexpr int kLanes = 8;
    static void dot(const T* __restrict a, int64_t sa, const T* __restrict b, int64_t sb, int64_t len, T* __restrict lane) {
        T acc[kLanes];
        for (int v = 0; v < kLanes; ++v) acc[v] = lane[v];
        int64_t q = 0;
        if (sa == 1 && sb == 1) {
            for (; q + kLanes <= len; q += kLanes)
                for (int v = 0; v < kLanes; ++v) acc[v] += a[q + v] * b[q + v];
        } else {
            for (; q + kLanes <= len; q += kLanes)
                for (int v = 0; v < kLanes; ++v) acc[v] += a[(q + v) * sa] * b[(q + v) * sb];
        }
        for (int v = 0; q < len; ++q, ++v) acc[v] += a[q * sa] * b[q * sb];
        for (int v = 0; v < kLanes; ++v) lane[v] = acc[v];
    }

    CONVX_CPU_CLONES void thinTile(int64_t grp, int64_t rows, int64_t ncols, int64_t lBegin, int64_t lEnd, Col* cols, T* lanes, T* C) const {
        setCols(grp, 0, ncols, cols);
        std::fill(lanes, lanes + rows * ncols * kLanes, T(0));
        const int64_t O2 = g.O[2], rowsPerImage = g.O[0] * g.O[1];
        const int64_t sx = g.S[2] * g.xs[4];
        for (int64_t row = lBegin / O2; row * O2 < lEnd; ++row) {
            const int64_t n = row / rowsPerImage, r = row % rowsPerImage, o0 = r / g.O[1], o1 = r % g.O[1];
            const int64_t segB = std::max<int64_t>(0, lBegin - row * O2), segE = std::min(O2, lEnd - row * O2);
            for (int64_t i = 0; i < rows; ++i) {
                const T* dyRow = dy + (n * g.ys[0] + (grp * g.Kg + i) * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3]);
                for (int64_t j = 0; j < ncols; ++j) {
                    const Col& c = cols[j];
                    const int64_t i0 = o0 * g.S[0] + c.off0, i1 = o1 * g.S[1] + c.off1;
                    if (i0 < 0 || i0 >= g.I[0] || i1 < 0 || i1 >= g.I[1]) continue;
                    const int64_t b = std::max(c.lo2, segB), e = std::min(c.hi2 + 1, segE);
                    if (b >= e) continue;
                    const T* xp = x + (n * g.xs[0] + c.xoff + i0 * g.xs[2] + i1 * g.xs[3] + (b * g.S[2] + c.off2) * g.xs[4]);
                    dot(dyRow + b * g.ys[4], g.ys[4], xp, sx, e - b, lanes + (i * ncols + j) * kLanes);
                }
            }
        }
        for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < ncols; ++j) {
                const T* lane = lanes + (i * ncols + j) * kLanes;
                T sum = T(0);
                for (int v = 0; v < kLanes; ++v) sum += lane[v];
                C[i * kTN + j] = sum;
            }
    }
};

template <class T>
void runSplitK(const Problem& p, const Buffers& b, Scale sc, void* workspace, int nt) {
    const Conv3d g = conv3dOf(p);
    const SplitKPlan plan = makeSplitKPlan(p);
    const Kernel<T> kern{g, plan, static_cast<const T*>(b.x), static_cast<const T*>(b.y)};
    T* dw = static_cast<T*>(b.w);
    T* partial = static_cast<T*>(workspace);
    const int64_t items = plan.items();
    const int64_t perChunk = plan.tiles;
    // dw offset of (k, col) = k * ws[0] + colOff[col]
    std::vector<int64_t> colOff(static_cast<size_t>(plan.Ncols));
    for (int64_t col = 0; col < plan.Ncols; ++col) colOff[size_t(col)] = splitKFilterOffset(g, plan, 0, col);

#pragma omp parallel num_threads(nt)
    {
        std::vector<T> Ap(kTM * kBlockL), Bp(kTN * kBlockL), C(kTM * kTN);
        std::vector<T> lanes(plan.thin() ? size_t(plan.M * plan.Ncols * Kernel<T>::kLanes) : 0);
        std::vector<typename Kernel<T>::Col> cols(kTN);
        std::vector<Segment> segs;
        segs.reserve(kBlockL);
#pragma omp for schedule(dynamic)
        for (int64_t it = 0; it < items; ++it) {
            // Item order: chunk outermost, then group, M-tile, N-tile.
            const int64_t s = it / perChunk;
            int64_t r = it % perChunk;
            const int64_t nt_ = r % plan.nTiles;
            r /= plan.nTiles;
            const int64_t mt = r % plan.mTiles, grp = r / plan.mTiles;
            const int64_t m0 = mt * kTM, rows = std::min(kTM, plan.M - m0);
            const int64_t n0 = nt_ * kTN, ncols = std::min(kTN, plan.Ncols - n0);
            std::fill(C.begin(), C.end(), T(0));
            if (plan.thin())
                kern.thinTile(grp, rows, ncols, plan.chunkBegin(s), plan.chunkEnd(s), cols.data(), lanes.data(), C.data());
            else
                kern.tile(grp, m0, rows, n0, ncols, plan.chunkBegin(s), plan.chunkEnd(s), Ap.data(), Bp.data(), cols.data(), segs,
                          C.data());
            if (plan.splits > 1) {
                for (int64_t i = 0; i < rows; ++i) {
                    T* dst = partial + s * plan.wElems() + (grp * plan.M + m0 + i) * plan.Ncols + n0;
                    std::copy(C.data() + i * kTN, C.data() + i * kTN + ncols, dst);
                }
            } else {
                for (int64_t i = 0; i < rows; ++i) {
                    const int64_t k = grp * plan.M + m0 + i;
                    for (int64_t j = 0; j < ncols; ++j) {
                        const int64_t o = k * g.ws[0] + colOff[size_t(n0 + j)];
                        double v = sc.alpha * double(C[i * kTN + j]);
                        if (sc.beta != 0.0) v += sc.beta * double(dw[o]);
                        dw[o] = static_cast<T>(v);
                    }
                }
            }
        }
    }
    if (plan.splits == 1) return;

    // Fixed-order sum of the chunks' partials, then alpha/beta, rounded once.
    const int64_t rowsAll = plan.G * plan.M;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t k = 0; k < rowsAll; ++k)
        for (int64_t col = 0; col < plan.Ncols; ++col) {
            double sum = 0.0;
            for (int64_t s = 0; s < plan.splits; ++s) sum += double(partial[s * plan.wElems() + k * plan.Ncols + col]);
            const int64_t o = k * g.ws[0] + colOff[size_t(col)];
            double v = sc.alpha * sum;
            if (sc.beta != 0.0) v += sc.beta * double(dw[o]);
            dw[o] = static_cast<T>(v);
        }
}

class CpuSplitK final : public Algorithm {
public:
    convxConvAlgo_t id() const override { return CONVX_ALGO_SPLIT_K; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CPU; }
    unsigned directions() const override { return dirBit(Direction::BackwardFilter); }
    bool deterministic() const override { return true; }

    Applicability isApplicable(const Problem& p) const override {
        if (p.dtype != DType::F32 && p.dtype != DType::F64) return Applicability::no("f32 and f64 only on the CPU");
        return Applicability::yes();
    }
    size_t workspaceSize(const Problem& p) const override { return makeSplitKPlan(p).workspaceBytes(); }
    void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const override {
        const int nt = cpuThreadCount(ctx.handle ? ctx.handle->numThreads : 0);
        if (p.dtype == DType::F64) runSplitK<double>(p, b, s, ctx.workspace, nt);
        else runSplitK<float>(p, b, s, ctx.workspace, nt);
    }
};

}  // namespace

const Algorithm* cpuSplitKAlgorithm() {
    static const CpuSplitK a;
    return &a;
}

}  // namespace convx
