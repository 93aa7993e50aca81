// Host emulation of cuda/trimmed_direct.cuh (the kernel of filter_trim and dilation_split), for
// machines without a GPU: scripts/emulate-trimmed-kernel turns the kernel source into C++ (one OS
// thread per CUDA thread, a barrier for __syncthreads) and this driver runs it on problem lines,
// comparing with a float64 loop written from the definition. It checks index arithmetic,
// tiling, trimming and the channel split — not timing, not the device's memory model.
//
//   trimmed_kernel FILE trim|split [flip]      FILE: problem lines (f16/bf16 run as f32)
#include "kernel_emu.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "problem.h"

namespace emu {
thread_local dim3e tIdx;
dim3e bIdx, bDim, gDim;
unsigned char* smem;
Barrier bar;
}  // namespace emu

using namespace convx;

namespace {

void naive(const Conv3d& g, const std::vector<double>& x, const std::vector<double>& w, std::vector<double>& y, double alpha, double beta) {
    for (int64_t n = 0; n < g.N; ++n)
        for (int64_t k = 0; k < g.K; ++k)
            for (int64_t o0 = 0; o0 < g.O[0]; ++o0)
                for (int64_t o1 = 0; o1 < g.O[1]; ++o1)
                    for (int64_t o2 = 0; o2 < g.O[2]; ++o2) {
                        double acc = 0;
                        const int64_t grp = k / g.Kg;
                        for (int64_t c = 0; c < g.Cg; ++c)
                            for (int64_t a = 0; a < g.R[0]; ++a)
                                for (int64_t b = 0; b < g.R[1]; ++b)
                                    for (int64_t e = 0; e < g.R[2]; ++e) {
                                        const int64_t i0 = o0 * g.S[0] - g.P[0] + a * g.D[0], i1 = o1 * g.S[1] - g.P[1] + b * g.D[1],
                                                      i2 = o2 * g.S[2] - g.P[2] + e * g.D[2];
                                        if (i0 < 0 || i0 >= g.I[0] || i1 < 0 || i1 >= g.I[1] || i2 < 0 || i2 >= g.I[2]) continue;
                                        const int64_t ua = g.flip ? g.R[0] - 1 - a : a, ub = g.flip ? g.R[1] - 1 - b : b,
                                                      ue = g.flip ? g.R[2] - 1 - e : e;
                                        acc += x[n * g.xs[0] + (grp * g.Cg + c) * g.xs[1] + i0 * g.xs[2] + i1 * g.xs[3] + i2 * g.xs[4]] *
                                               w[k * g.ws[0] + c * g.ws[1] + ua * g.ws[2] + ub * g.ws[3] + ue * g.ws[4]];
                                    }
                        double& out = y[n * g.ys[0] + k * g.ys[1] + o0 * g.ys[2] + o1 * g.ys[3] + o2 * g.ys[4]];
                        out = alpha * acc + (beta != 0 ? beta * out : 0);
                    }
}

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
    const int64_t xd[5] = {g.N, g.C, g.I[0], g.I[1], g.I[2]}, yd[5] = {g.N, g.K, g.O[0], g.O[1], g.O[2]}, wd[5] = {g.K, g.Cg, g.R[0], g.R[1], g.R[2]};
    std::vector<double> x(span(g.xs, xd)), w(span(g.ws, wd)), y(span(g.ys, yd));
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> u(-1, 1);
    for (auto* v : {&x, &w, &y})
        for (double& e : *v) e = static_cast<T>(u(rng));
    std::vector<T> xt(x.begin(), x.end()), wt(w.begin(), w.end()), yt(y.begin(), y.end());
    std::vector<double> yref = y;
    naive(g, x, w, yref, alpha, beta);
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
