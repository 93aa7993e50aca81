// The zero-insertion baseline (see bench_zeroins.h): the transposed view as a forward problem,
// the CPU copies, and the runner.
#include "bench_zeroins.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "algorithm.h"
#include "problem.h"

namespace convxbench {

namespace {

using convx::Direction;
using convx::Problem;

template <class T>
void fillDyz(const ZeroInsPlan& pl, const T* dy, T* dyz, int nt) {
    // One row = (n, [k,] z0, z1), walked along z2 (and k innermost when channels are last), so
    // the writes follow dyz's packed memory order in both layouts.
    const bool channelsLast = pl.dyzStr[1] == 1 && pl.K > 1;
    const int64_t kRows = channelsLast ? 1 : pl.K;
    const int64_t rows = pl.N * kRows * pl.Z[0] * pl.Z[1];
    auto tapOf = [&](int j, int64_t z, int64_t* o) {  // dy index feeding dyz index z, or false
        const int64_t t = z - pl.A[j];
        if (t < 0 || t % pl.S[j]) return false;
        *o = t / pl.S[j];
        return *o < pl.O[j];
    };
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t row = 0; row < rows; ++row) {
        int64_t r = row;
        const int64_t z1 = r % pl.Z[1];
        r /= pl.Z[1];
        const int64_t z0 = r % pl.Z[0];
        r /= pl.Z[0];
        const int64_t k0 = channelsLast ? 0 : r % pl.K;
        const int64_t n = channelsLast ? r : r / pl.K;
        const int64_t kEnd = channelsLast ? pl.K : k0 + 1;
        int64_t o0 = 0, o1 = 0;
        const bool live = tapOf(0, z0, &o0) && tapOf(1, z1, &o1);
        if (!live) o0 = o1 = 0;  // the row is all zeros; keep the source pointer in range
        T* dst = dyz + n * pl.dyzStr[0] + k0 * pl.dyzStr[1] + z0 * pl.dyzStr[2] + z1 * pl.dyzStr[3];
        const T* src = dy + n * pl.dyStr[0] + o0 * pl.dyStr[2] + o1 * pl.dyStr[3];
        for (int64_t z2 = 0; z2 < pl.Z[2]; ++z2) {
            int64_t o2 = 0;
            const bool on = live && tapOf(2, z2, &o2);
            T* d = dst + z2 * pl.dyzStr[4];
            for (int64_t k = k0; k < kEnd; ++k) d[(k - k0) * pl.dyzStr[1]] = on ? src[k * pl.dyStr[1] + o2 * pl.dyStr[4]] : T(0);
        }
    }
}

template <class T>
void fillWt(const ZeroInsPlan& pl, const T* w, T* wt, int nt) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t cf = 0; cf < pl.C; ++cf) {
        const int64_t g = cf / pl.Cg, c = cf % pl.Cg;
        for (int64_t k = 0; k < pl.Kg; ++k)
            for (int64_t r0 = 0; r0 < pl.R[0]; ++r0)
                for (int64_t r1 = 0; r1 < pl.R[1]; ++r1)
                    for (int64_t r2 = 0; r2 < pl.R[2]; ++r2) {
                        const int64_t s0 = pl.flip ? pl.R[0] - 1 - r0 : r0, s1 = pl.flip ? pl.R[1] - 1 - r1 : r1,
                                      s2 = pl.flip ? pl.R[2] - 1 - r2 : r2;
                        wt[cf * pl.wtStr[0] + k * pl.wtStr[1] + r0 * pl.wtStr[2] + r1 * pl.wtStr[3] + r2 * pl.wtStr[4]] =
                            w[(g * pl.Kg + k) * pl.wStr[0] + c * pl.wStr[1] + s0 * pl.wStr[2] + s1 * pl.wStr[3] + s2 * pl.wStr[4]];
                    }
    }
}

template <class T>
void zeroInsertTyped(const ZeroInsPlan& pl, const void* dy, const void* w, void* dyz, void* wt, int threads) {
#ifdef _OPENMP
    const int nt = threads > 0 ? threads : omp_get_max_threads();
#else
    const int nt = 1;
    (void)threads;
#endif
    fillDyz(pl, static_cast<const T*>(dy), static_cast<T*>(dyz), nt);
    fillWt(pl, static_cast<const T*>(w), static_cast<T*>(wt), nt);
}

// The forward problem of the transposed view (see the header): input dyz (K channels, the
// layout of dy, packed), filter w' (C, K/G, taps) in the problem's filter layout, output dx in
// the problem's layout and strides.
Problem transposedForward(const Problem& p) {
    Problem f = p;
    f.dir = Direction::Forward;
    f.C = p.K;
    f.K = p.C;
    f.mode = CONVX_CROSS_CORRELATION;  // the taps are mirrored in w' when the problem asks for it
    for (int i = 0; i < p.nsp; ++i) {
        f.in[i] = p.in[i] + (p.ker[i] - 1) * p.dil[i];
        f.out[i] = p.in[i];
        f.stride[i] = 1;
        f.pad[i] = 0;
    }
    f.xLayout = p.yLayout;
    f.yLayout = p.xLayout;
    f.xStrides = convx::packedStrides(p.yLayout, p.nsp, f.N, f.C, f.in);
    f.yStrides = p.xStrides;
    convx::validateProblem(f);
    return f;
}

ZeroInsPlan planOf(const Problem& p, const Problem& f) {
    ZeroInsPlan pl{};
    pl.elemBytes = static_cast<int>(convx::dtypeSize(p.dtype));
    pl.N = p.N, pl.K = p.K, pl.C = p.C, pl.G = p.G, pl.Kg = p.Kg(), pl.Cg = p.Cg();
    const convx::Strides ws = p.wStrides(), wts = f.wStrides();
    for (int j = 0; j < 2; ++j) {
        pl.dyStr[j] = p.yStrides[j];
        pl.dyzStr[j] = f.xStrides[j];
        pl.wStr[j] = ws[j];
        pl.wtStr[j] = wts[j];
    }
    const int lead = 3 - p.nsp;
    for (int j = 0; j < 3; ++j) {
        const int i = j - lead;
        const bool used = i >= 0;
        pl.O[j] = used ? p.out[i] : 1;
        pl.Z[j] = used ? f.in[i] : 1;
        pl.S[j] = used ? p.stride[i] : 1;
        pl.R[j] = used ? p.ker[i] : 1;
        pl.A[j] = used ? (p.ker[i] - 1) * p.dil[i] - p.pad[i] : 0;
        pl.dyStr[2 + j] = used ? p.yStrides[2 + i] : 0;
        pl.dyzStr[2 + j] = used ? f.xStrides[2 + i] : 0;
        pl.wStr[2 + j] = used ? ws[2 + i] : 0;
        pl.wtStr[2 + j] = used ? wts[2 + i] : 0;
    }
    pl.flip = p.mode == CONVX_CROSS_CORRELATION;
    pl.dyzElems = f.N * f.C * f.inPixels();
    pl.wtElems = f.wElems();
    return pl;
}

constexpr size_t kAlign = 256;
size_t alignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

class ZeroInsRunner final : public Runner {
public:
    explicit ZeroInsRunner(ConvxApi& api) : fwd_(api.backend(), api.threads(), api.stream()), threads_(api.threads()) {}

    std::string name() const override { return kZeroInsColumn; }

    bool prepare(const Problem& p, std::string* why) override {
        message_.clear();
        note_.clear();
        if (p.dir != Direction::BackwardData) {
            *why = "zero insertion is a way to compute backward-data (bwd_d problems only)";
            return false;
        }
        Problem f;
        try {
            f = transposedForward(p);
            const std::string readBack = fwd_.setProblem(f);
            algo_ = fwd_.autoPick();
            fwdWs_ = fwd_.workspaceSize(algo_);
            (void)readBack;  // a layout the strides leave ambiguous reads back differently; the forward is the same
        } catch (const std::exception& e) {
            *why = std::string("the forward problem of the transposed view: ") + e.what();
            return false;
        }
        plan_ = planOf(p, f);
        const size_t es = convx::dtypeSize(p.dtype);
        dyzBytes_ = alignUp(static_cast<size_t>(plan_.dyzElems) * es);
        wtBytes_ = alignUp(static_cast<size_t>(plan_.wtElems) * es);
        const char* fwdName = convx::algoName(algo_);
        message_ = std::string("forward ") + (fwdName ? fwdName : "?") + " on zero-inserted dy";
        char ratio[32];
        std::snprintf(ratio, sizeof ratio, "%.2f", f.flops() / p.flops());
        note_ = "zero insertion of dy (stride and padding of the transposed view) into " + std::to_string(plan_.dyzElems) +
                " elements, filter flipped and transposed, then convx forward " + (fwdName ? fwdName : "?") +
                " (AUTO's pick) on '" + f.str() + "', " + ratio + "x the direct FLOPs; all timed";
        return true;
    }

    size_t workspaceBytes() const override { return dyzBytes_ + wtBytes_ + fwdWs_; }

    void run(const Tensors& t, void* ws, size_t bytes) override {
        if (bytes < workspaceBytes()) throw RunError(CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "zeroins: workspace too small");
        unsigned char* base = static_cast<unsigned char*>(ws);
        void* dyz = base;
        void* wt = base + dyzBytes_;
        void* fws = fwdWs_ ? base + dyzBytes_ + wtBytes_ : nullptr;
        if (fwd_.backend() == CONVX_BACKEND_CUDA) {
            const std::string err = zeroInsertCuda(plan_, t.y, t.w, dyz, wt, fwd_.stream());
            if (!err.empty()) throw RunError(CONVX_STATUS_EXECUTION_FAILED, "zeroins: " + err);
        } else {
            zeroInsertCpu(plan_, t.y, t.w, dyz, wt, threads_);
        }
        fwd_.run(algo_, Tensors{dyz, wt, t.x}, fws, fwdWs_);
    }

    std::string message() const override { return message_; }
    std::string note() const override { return note_; }

private:
    ConvxApi fwd_;
    int threads_;
    convxConvAlgo_t algo_ = CONVX_ALGO_AUTO;
    ZeroInsPlan plan_{};
    size_t dyzBytes_ = 0, wtBytes_ = 0, fwdWs_ = 0;
    std::string message_, note_;
};

}  // namespace

void zeroInsertCpu(const ZeroInsPlan& pl, const void* dy, const void* w, void* dyz, void* wt, int threads) {
    switch (pl.elemBytes) {
        case 2: zeroInsertTyped<uint16_t>(pl, dy, w, dyz, wt, threads); break;
        case 4: zeroInsertTyped<uint32_t>(pl, dy, w, dyz, wt, threads); break;
        case 8: zeroInsertTyped<uint64_t>(pl, dy, w, dyz, wt, threads); break;
        default: throw std::logic_error("zeroins: unexpected element size");
    }
}

#ifndef CONVX_HAVE_CUDA
std::string zeroInsertCuda(const ZeroInsPlan&, const void*, const void*, void*, void*, void*) {
    return "convx-bench was built without CUDA";
}
#endif

std::unique_ptr<Runner> makeZeroInsRunner(ConvxApi& api, std::string* why) {
    try {
        return std::make_unique<ZeroInsRunner>(api);
    } catch (const std::exception& e) {
        *why = std::string("zeroins: cannot create its convx handle: ") + e.what();
        return nullptr;
    }
}

}  // namespace convxbench
