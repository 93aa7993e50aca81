// Runs the CUDA split_k executor, emulated on the host (tests/emu/cuda_emu.h), against the CPU
// reference on random backward-filter problems: groups, depthwise (the thin kernel), several
// tiles and chunks (the GEMM kernel and the reduce kernel), mixed layouts, both modes,
// gapped strides, alpha/beta with beta 0 on a NaN-poisoned dw. Usage: split_k_emu_test [seed] [count] [kind]
// (kind 0 grouped, 1 several tiles, 2 depthwise, 3 small; default random).
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <vector>
#include "algorithm.h"
#include "problem.h"
#include "reference.h"
#include "split_k_plan.h"
namespace convx { const Algorithm* cudaSplitKAlgorithm(); }
using namespace convx;
template <class T>
double runOne(const Problem& p, std::mt19937_64& rng, double alpha, double beta, std::string* info) {
    auto size = [](const Strides& st, int nsp, int64_t n, int64_t c, const Dims& sp) {
        int64_t m = 1 + (n - 1) * st[0] + (c - 1) * st[1];
        for (int i = 0; i < nsp; ++i) m += (sp[i] - 1) * st[2 + i];
        return m;
    };
    std::uniform_real_distribution<double> u(-1, 1);
    std::vector<T> x(size(p.xStrides, p.nsp, p.N, p.C, p.in)), y(size(p.yStrides, p.nsp, p.N, p.K, p.out)), w0(p.wElems());
    for (auto& v : x) v = T(u(rng));
    for (auto& v : y) v = T(u(rng));
    for (auto& v : w0) v = beta == 0 ? T(NAN) : T(u(rng));
    std::vector<T> wr = w0, wg = w0;
    referenceConvolution(p, {x.data(), wr.data(), y.data()}, {alpha, beta}, 1);
    const Algorithm* a = cudaSplitKAlgorithm();
    std::vector<char> ws(a->workspaceSize(p) + 16);
    convxContext ctx;
    ExecContext ec{&ctx, ws.data(), ws.size()};
    a->run(ec, p, {x.data(), wg.data(), y.data()}, {alpha, beta});
    double d2 = 0, r2 = 0;
    for (size_t i = 0; i < wr.size(); ++i) d2 += (double(wg[i]) - wr[i]) * (double(wg[i]) - wr[i]), r2 += double(wr[i]) * wr[i];
    const SplitKPlan pl = makeSplitKPlan(p);
    char buf[200];
    snprintf(buf, sizeof buf, " [tiles %ld splits %ld thin %d]", long(pl.tiles), long(pl.splits), int(pl.thin()));
    *info = buf;
    return std::sqrt(d2 / std::max(r2, 1e-300));
}
int main(int argc, char** argv) {
    std::mt19937_64 rng(argc > 1 ? atoi(argv[1]) : 1);
    const int count = argc > 2 ? atoi(argv[2]) : 40;
    auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    int fails = 0;
    for (int t = 0; t < count; ++t) {
        const int nsp = uni(1, 3);
        const int kind = argc > 3 ? atoi(argv[3]) : uni(0, 3);
        int G = kind == 0 ? uni(2, 3) : 1;
        int cg = uni(1, 6), kg = uni(1, 12);
        if (kind == 1) cg = uni(4, 10), kg = uni(40, 80);  // several tiles
        if (kind == 2) { G = uni(2, 8); cg = 1; kg = uni(1, 2); }  // depthwise
        const int N = uni(1, 40);
        std::ostringstream s;
        s << "g" << G << "mb" << N << "ic" << G * cg;
        const char* L = "dhw";
        int in[3], k[3], st[3], pd[3], dl[3];
        for (int i = 0; i < nsp; ++i) {
            for (;;) {
                k[i] = uni(1, nsp == 3 ? 2 : 3), st[i] = uni(1, 3), dl[i] = uni(1, 2), pd[i] = uni(0, k[i] + 1);
                in[i] = uni(1, nsp == 3 ? 5 : nsp == 2 ? 9 : 30);
                if (in[i] + 2 * pd[i] - ((k[i] - 1) * dl[i] + 1) >= 0) break;
            }
        }
        for (int i = 0; i < nsp; ++i) s << "i" << L[3 - nsp + i] << in[i];
        s << "oc" << G * kg;
        for (int i = 0; i < nsp; ++i) s << "k" << L[3 - nsp + i] << k[i];
        for (int i = 0; i < nsp; ++i) s << "s" << L[3 - nsp + i] << st[i];
        for (int i = 0; i < nsp; ++i) s << "p" << L[3 - nsp + i] << pd[i];
        for (int i = 0; i < nsp; ++i) s << "d" << L[3 - nsp + i] << dl[i] - 1;
        const char* tags[2] = {"nchw", "nhwc"};
        const bool f64 = uni(0, 3) == 0;
        std::string flags = std::string("--dir=bwd_w --dt=") + (f64 ? "f64" : "f32") + " --stag=" + tags[uni(0, 1)] + " --wtag=" +
                            tags[uni(0, 1)] + " --dtag=" + tags[uni(0, 1)] + (uni(0, 1) ? " --mode=conv " : " ");
        Problem p = parseProblem(flags + s.str());
        // Non-packed tensors: every stride doubled (a gap after each element).
        if (uni(0, 2) == 0)
            for (auto& v : p.xStrides) v *= 2;
        if (uni(0, 2) == 0)
            for (auto& v : p.yStrides) v *= 2;
        const double alpha = uni(0, 1) ? 1.0 : 0.75, beta = uni(0, 2) == 0 ? 1.0 : uni(0, 1) ? 0.0 : -0.5;
        std::string info;
        const double err = f64 ? runOne<double>(p, rng, alpha, beta, &info) : runOne<float>(p, rng, alpha, beta, &info);
        const bool ok = err < (f64 ? 1e-12 : 1e-5);
        if (!ok) ++fails;
        printf("%s %.2e %s%s\n", ok ? "ok  " : "FAIL", err, p.str().c_str(), info.c_str());
    }
    printf("%d failures\n", fails);
    return fails != 0;
}
