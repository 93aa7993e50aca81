// Host emulation of cuda/trimmed_direct.cuh (the kernel of filter_trim and dilation_split), for
// machines without a GPU: scripts/emulate-trimmed-kernel turns the kernel source into C++ (one OS
// thread per CUDA thread, a barrier for __syncthreads) and this driver runs it on problem lines,
// comparing with convx's float64 CPU reference (for backward-data lines too: the kernel runs
// them as forward convolutions from dy into dx, see forwardViewOf). It checks index arithmetic,
// tiling, trimming and the channel split — not timing, not the device's memory model.
//
//   trimmed_kernel FILE trim|split [flip]      FILE: problem lines (f16/bf16 run as f32)
#include "kernel_emu.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "problem.h"
#include "reference.h"

namespace emu {
thread_local dim3e tIdx;
dim3e bIdx, bDim, gDim;
unsigned char* smem;
Barrier bar;
}  // namespace emu

using namespace convx;

namespace {

template <class T>
bool runOne(const std::string& desc, bool split, bool flip, double alpha, double beta) {
    Problem p = parseProblem(desc);
    if (flip) p.mode = CONVX_CONVOLUTION;
    trimmed_cuda::Geo P;
    std::string why;
    if (!trimmed_cuda::configure(p, split, sizeof(T), &P, &why)) {
        std::printf("n/a %s: %s\n", desc.c_str(), why.c_str());
        return true;
    }
    const Conv3d& g = P.g;
    auto span = [](const int64_t* st, const int64_t* d) {
        int64_t s = 0;
        for (int i = 0; i < 5; ++i) s += (d[i] - 1) * st[i];
        return s + 1;
    };
    const int64_t xd[5] = {g.N, g.C, g.I[0], g.I[1], g.I[2]}, yd[5] = {g.N, g.K, g.O[0], g.O[1], g.O[2]};
    std::vector<double> x(span(g.xs, xd)), y(span(g.ys, yd));
    std::vector<double> w(static_cast<size_t>(p.wElems()));  // the user's filter, packed
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-1, 1);
    for (auto* v : {&x, &w, &y})
        for (double& e : *v) e = static_cast<T>(u(rng));
    std::vector<T> xt(x.begin(), x.end()), wt(w.begin(), w.end()), yt(y.begin(), y.end());
    // the reference on the same data, by role: forward x -> y; backward-data dy (our "x") -> dx
    std::vector<T> inRef = xt, outRef = yt, wRef = wt;
    Buffers rb;
    const bool bwd = p.dir == Direction::BackwardData;
    rb.x = bwd ? outRef.data() : inRef.data();
    rb.y = bwd ? inRef.data() : outRef.data();
    rb.w = wRef.data();
    referenceConvolution(p, rb, Scale{alpha, beta}, 1);
    const std::vector<double> yref(outRef.begin(), outRef.end());
    std::vector<T> part(P.cSplit > 1 ? P.cSplit * g.N * g.K * g.outPix : 1);
    const int threads = P.TH * P.TW * P.KG;
    std::vector<unsigned char> smem(trimmed_cuda::smemBytes(P, sizeof(T)) + 16);
    emu::smem = smem.data();
    emu::bDim.x = threads;
    emu::bar.n = threads;
    const int64_t grid = std::min<int64_t>(P.tasks, 7);  // a short grid: the grid-stride loop runs
    emu::gDim.x = static_cast<unsigned>(grid);
    for (int64_t b = 0; b < grid; ++b) {
        emu::bIdx.x = static_cast<unsigned>(b);
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t)
            ts.emplace_back([&, t] {
                emu::tIdx.x = t;
                trimmed_cuda::trimmedDirectKernel<T, T>(P, xt.data(), wt.data(), yt.data(), T(alpha), T(beta), part.data());
            });
        for (auto& th : ts) th.join();
    }
    if (P.cSplit > 1) {
        emu::gDim.x = 3, emu::bDim.x = 64;
        for (unsigned b = 0; b < 3; ++b)
            for (unsigned t = 0; t < 64; ++t) {
                emu::bIdx.x = b, emu::tIdx.x = t;
                trimmed_cuda::reduceSplitKernel<T, T>(g, P.cSplit, part.data(), yt.data(), T(alpha), T(beta));
            }
    }
    double num = 0, den = 0;
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t k = 0; k < g.K; ++k)
            for (int64_t o = 0; o < g.outPix; ++o) {
                const int64_t o2 = o % g.O[2], o1 = (o / g.O[2]) % g.O[1], o0 = o / (g.O[2] * g.O[1]);
                const int64_t i = n * g.ys[0] + k * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4];
                num += (yt[i] - yref[i]) * (yt[i] - yref[i]);
                den += yref[i] * yref[i];
            }
    const double err = std::sqrt(num / (den + 1e-300));
    const bool ok = err < (sizeof(T) == 4 ? 1e-5 : 1e-12);
    std::printf("%s %-5s TH%d TW%d KG%d CC%d RJ%lldx%lld cSplit%lld tasks%lld err %.2e %s\n", ok ? "OK " : "BAD", split ? "split" : "trim",
                P.TH, P.TW, P.KG, P.CC, (long long)P.RJ[1], (long long)P.RJ[2], (long long)P.cSplit, (long long)P.tasks, err, desc.c_str());
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s FILE trim|split [flip]\n", argv[0]);
        return 2;
    }
    const bool split = std::string(argv[2]) == "split", flip = argc > 3 && std::string(argv[3]) == "flip";
    FILE* f = std::fopen(argv[1], "r");
    if (!f) return 2;
    char buf[4096];
    int bad = 0, lines = 0;
    while (std::fgets(buf, sizeof buf, f)) {
        std::string d(buf);
        while (!d.empty() && (d.back() == '\n' || d.back() == ' ')) d.pop_back();
        if (d.empty() || d[0] == '#') continue;
        for (const char* h : {"--dt=f16", "--dt=bf16"}) {
            const size_t pos = d.find(h);
            if (pos != std::string::npos) d.replace(pos, std::string(h).size(), "--dt=f32");
        }
        ++lines;
        if (d.find("--dt=f64") != std::string::npos)
            bad += !runOne<double>(d, split, flip, 1.0, 0.0) + !runOne<double>(d, split, flip, 0.5, 1.0);
        else
            bad += !runOne<float>(d, split, flip, 1.0, 0.0) + !runOne<float>(d, split, flip, -0.5, 1.25);
    }
    std::printf("%d lines, %d failed\n", lines, bad);
    return bad ? 1 : 0;
}
