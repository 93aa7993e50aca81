#include "heuristic.h"

#include <cmath>

#include "dtype.h"

namespace convx {

namespace {
#include "heuristic_cpu.inc"
#include "heuristic_cuda.inc"

// [backend][direction][algorithm id] -> model, built once.
struct Index {
    const HeuristicModel* m[2][3][CONVX_ALGO_COUNT] = {};
    Index() {
        const HeuristicTable* tables[2] = {&kCpuTable, &kCudaTable};
        for (int b = 0; b < 2; ++b)
            for (int i = 0; i < tables[b]->numModels; ++i) {
                const HeuristicModel& model = tables[b]->models[i];
                const int a = static_cast<int>(model.algo);
                if (a >= 0 && a < CONVX_ALGO_COUNT) m[b][static_cast<int>(model.dir)][a] = &model;
            }
    }
};
const Index& index() {
    static const Index idx;
    return idx;
}
int backendSlot(convxBackend_t b) { return b == CONVX_BACKEND_CUDA ? 1 : 0; }
}  // namespace

const HeuristicTable& heuristicTable(convxBackend_t backend) { return backend == CONVX_BACKEND_CUDA ? kCudaTable : kCpuTable; }

HeuristicFeatures heuristicFeatures(const Problem& p) {
    const double cg = double(p.Cg()), kg = double(p.Kg()), inpix = double(p.inPixels()), outpix = double(p.outPixels());
    const double taps = double(p.taps()), n = double(p.N), esize = double(dtypeSize(p.dtype));
    double strides = 1, dils = 1, padded = 1;
    for (int i = 0; i < p.nsp; ++i) {
        strides *= double(p.stride[size_t(i)]);
        dils *= double(p.dil[size_t(i)]);
        padded *= double(p.in[size_t(i)] + 2 * p.pad[size_t(i)]);
    }
    const double bytes = esize * (n * double(p.C) * inpix + double(p.K) * cg * taps + n * double(p.K) * outpix);
    HeuristicFeatures x;
    x.f[0] = 1.0;
    x.f[1] = std::log(p.flops());
    x.f[2] = std::log(bytes);
    x.f[3] = std::log(n);
    x.f[4] = std::log(cg);
    x.f[5] = std::log(kg);
    x.f[6] = std::log(inpix);
    x.f[7] = std::log(outpix);
    x.f[8] = std::log(taps);
    x.f[9] = std::log(strides);
    x.f[10] = std::log(dils);
    x.f[11] = std::log(double(p.G));
    x.f[12] = p.isDepthwise() ? 1.0 : 0.0;
    x.f[13] = p.xLayout == Layout::NHWC ? 1.0 : 0.0;
    x.f[14] = std::log(esize);
    x.f[15] = std::log(padded / inpix);
    return x;
}

const HeuristicModel* heuristicModel(convxBackend_t backend, Direction dir, convxConvAlgo_t algo) {
    const int a = static_cast<int>(algo);
    if (a < 0 || a >= CONVX_ALGO_COUNT) return nullptr;
    return index().m[backendSlot(backend)][static_cast<int>(dir)][a];
}

double heuristicEstimateLogMs(const HeuristicModel& m, const HeuristicFeatures& x) {
    double logMs = x.f[1];
    for (int j = 0; j < kHeuristicFeatures; ++j) logMs += m.coef[j] * x.f[j];
    return logMs;
}

double heuristicEstimateMs(const HeuristicModel& m, const HeuristicFeatures& x) { return std::exp(heuristicEstimateLogMs(m, x)); }

}  // namespace convx
