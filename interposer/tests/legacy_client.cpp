// A client of cuDNN's legacy convolution API, as applications write it (it knows nothing of
// convx): forward, backward data and backward filter; algorithms from Get_v7, from Find, from
// FindEx, or hard-coded; groups, depthwise, dilation, stride, NHWC; alpha/beta with beta = 1
// (and with beta = 0 the outputs start as NaN, which must never be read).
// Every result is checked against a float64 host reference, so a run with LD_PRELOAD of
// libconvx_cudnn.so and a run without give the same answers within fp32 rounding. With
// CONVX_EXPECT_INTERPOSER=1 the interposer's counters must show that convx ran convolutions.
// Exits 77 (skipped) without a CUDA device.
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

namespace {

int failures = 0;

#define CHECK_CUDNN(call)                                                                          \
    do {                                                                                           \
        cudnnStatus_t s_ = (call);                                                                 \
        if (s_ != CUDNN_STATUS_SUCCESS) {                                                          \
            std::fprintf(stderr, "%s:%d: %s = %s\n", __FILE__, __LINE__, #call, cudnnGetErrorString(s_)); \
            std::exit(1);                                                                          \
        }                                                                                          \
    } while (0)
#define CHECK_CUDA(call)                                                                           \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            std::fprintf(stderr, "%s:%d: %s = %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            std::exit(1);                                                                          \
        }                                                                                          \
    } while (0)

enum class Pick { GetV7, Find, FindEx, HardCoded };
const char* pickName(Pick p) {
    return p == Pick::GetV7 ? "get_v7" : p == Pick::Find ? "find" : p == Pick::FindEx ? "find_ex" : "hard-coded";
}

struct Case {
    int n, c, h, w, k, r, s, pad, stride, dil, groups;
    bool nhwc;
    float alpha, beta;
    Pick pick;
};

struct Shape {
    int n, c, h, w;
    bool nhwc;
    size_t at(int in, int ic, int ih, int iw) const {
        return nhwc ? ((size_t(in) * h + ih) * w + iw) * c + ic : ((size_t(in) * c + ic) * h + ih) * w + iw;
    }
    size_t size() const { return size_t(n) * c * h * w; }
};

void fill(std::vector<float>& v, std::mt19937& rng) {
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (float& x : v) x = d(rng);
}

// got == alpha * ref + beta * prior within a bound scaled by the magnitudes summed.
void compare(const char* what, const Case& cs, const std::vector<float>& got, const std::vector<double>& ref,
             const std::vector<double>& mag, const std::vector<float>& prior) {
    double worst = 0;
    size_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double want = cs.alpha * ref[i] + cs.beta * prior[i];
        // Loose enough for FFT/Winograd picks of plain cuDNN; a wrong index errs by O(mag).
        const double tol = 2e-4 * (std::fabs(cs.alpha) * mag[i] + std::fabs(cs.beta * prior[i])) + 1e-5;
        const double err = std::fabs(double(got[i]) - want);
        if (!(err <= tol)) ++bad;
        worst = std::max(worst, err);
    }
    if (bad) {
        ++failures;
        std::printf("FAIL %s: %zu of %zu wrong (worst error %g)\n", what, bad, got.size(), worst);
    }
}

template <class Perf>
int firstSuccess(const Perf* perf, int n, const char* what) {
    for (int i = 0; i < n; ++i) {
        const Perf& e = perf[i];
        if (e.status != CUDNN_STATUS_SUCCESS) continue;
        if (e.mathType < CUDNN_DEFAULT_MATH || e.mathType > CUDNN_FMA_MATH ||
            (e.determinism != CUDNN_DETERMINISTIC && e.determinism != CUDNN_NON_DETERMINISTIC)) {
            ++failures;
            std::printf("FAIL %s: malformed perf entry (math %d, determinism %d)\n", what, int(e.mathType), int(e.determinism));
        }
        return int(e.algo);
    }
    ++failures;
    std::printf("FAIL %s: no algorithm with status SUCCESS among %d\n", what, n);
    return 0;
}

void runCase(cudnnHandle_t h, const Case& cs, std::mt19937& rng) {
    const int cg = cs.c / cs.groups, kg = cs.k / cs.groups;
    const int p = 1 + (cs.h + 2 * cs.pad - ((cs.r - 1) * cs.dil + 1)) / cs.stride;
    const int q = 1 + (cs.w + 2 * cs.pad - ((cs.s - 1) * cs.dil + 1)) / cs.stride;
    const Shape xs{cs.n, cs.c, cs.h, cs.w, cs.nhwc}, ys{cs.n, cs.k, p, q, cs.nhwc}, ws{cs.k, cg, cs.r, cs.s, cs.nhwc};
    const cudnnTensorFormat_t fmt = cs.nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;

    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&xd));
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&yd));
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&wd));
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&cd));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(xd, fmt, CUDNN_DATA_FLOAT, cs.n, cs.c, cs.h, cs.w));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, fmt, cs.k, cg, cs.r, cs.s));
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(cd, cs.pad, cs.pad, cs.stride, cs.stride, cs.dil, cs.dil, CUDNN_CROSS_CORRELATION,
                                                CUDNN_DATA_FLOAT));
    CHECK_CUDNN(cudnnSetConvolutionGroupCount(cd, cs.groups));
    CHECK_CUDNN(cudnnSetConvolutionMathType(cd, CUDNN_FMA_MATH));  // fp32-exact on both sides
    int on, oc, oh, ow;
    CHECK_CUDNN(cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &on, &oc, &oh, &ow));
    if (on != cs.n || oc != cs.k || oh != p || ow != q) {
        ++failures;
        std::printf("FAIL output dims\n");
        return;
    }
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(yd, fmt, CUDNN_DATA_FLOAT, cs.n, cs.k, p, q));

    std::vector<float> x(xs.size()), w(ws.size()), dy(ys.size()), priorY(ys.size()), priorX(xs.size()), priorW(ws.size());
    fill(x, rng), fill(w, rng), fill(dy, rng), fill(priorY, rng), fill(priorX, rng), fill(priorW, rng);
    if (cs.beta == 0.0f)  // with beta = 0 the output must never be read: poison it
        for (std::vector<float>* v : {&priorY, &priorX, &priorW}) std::fill(v->begin(), v->end(), std::numeric_limits<float>::quiet_NaN());

    // The float64 reference of all three directions, with the magnitudes for the error bound.
    std::vector<double> y(ys.size()), dx(xs.size()), dw(ws.size()), my(ys.size()), mdx(xs.size()), mdw(ws.size());
    for (int in = 0; in < cs.n; ++in)
        for (int ik = 0; ik < cs.k; ++ik)
            for (int ip = 0; ip < p; ++ip)
                for (int iq = 0; iq < q; ++iq)
                    for (int ic = 0; ic < cg; ++ic)
                        for (int ir = 0; ir < cs.r; ++ir)
                            for (int is = 0; is < cs.s; ++is) {
                                const int ih = ip * cs.stride - cs.pad + ir * cs.dil, iw = iq * cs.stride - cs.pad + is * cs.dil;
                                if (ih < 0 || ih >= cs.h || iw < 0 || iw >= cs.w) continue;
                                const int c = (ik / kg) * cg + ic;
                                const size_t xi = xs.at(in, c, ih, iw), wi = ws.at(ik, ic, ir, is), yi = ys.at(in, ik, ip, iq);
                                y[yi] += double(x[xi]) * w[wi], my[yi] += std::fabs(double(x[xi]) * w[wi]);
                                dx[xi] += double(dy[yi]) * w[wi], mdx[xi] += std::fabs(double(dy[yi]) * w[wi]);
                                dw[wi] += double(x[xi]) * dy[yi], mdw[wi] += std::fabs(double(x[xi]) * dy[yi]);
                            }

    float *gx, *gw, *gy;
    CHECK_CUDA(cudaMalloc(reinterpret_cast<void**>(&gx), x.size() * 4));
    CHECK_CUDA(cudaMalloc(reinterpret_cast<void**>(&gw), w.size() * 4));
    CHECK_CUDA(cudaMalloc(reinterpret_cast<void**>(&gy), dy.size() * 4));
    const size_t findWs = size_t(64) << 20;
    void* gfind = nullptr;
    CHECK_CUDA(cudaMalloc(&gfind, findWs));
    char what[256];
    std::snprintf(what, sizeof what, "n%d c%d %dx%d k%d %dx%d pad%d str%d dil%d g%d %s alpha%g beta%g %s", cs.n, cs.c, cs.h, cs.w, cs.k,
                  cs.r, cs.s, cs.pad, cs.stride, cs.dil, cs.groups, cs.nhwc ? "nhwc" : "nchw", cs.alpha, cs.beta, pickName(cs.pick));
    auto upload = [](float* d, const std::vector<float>& v) { CHECK_CUDA(cudaMemcpy(d, v.data(), v.size() * 4, cudaMemcpyHostToDevice)); };
    auto download = [](const float* d, size_t n) {
        std::vector<float> v(n);
        CHECK_CUDA(cudaMemcpy(v.data(), d, n * 4, cudaMemcpyDeviceToHost));
        return v;
    };
    const int requested = 16;
    int returned = 0;

    {  // forward
        upload(gx, x), upload(gw, w), upload(gy, priorY);
        cudnnConvolutionFwdAlgoPerf_t perf[requested];
        int algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
        if (cs.pick == Pick::GetV7) {
            CHECK_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(h, xd, wd, cd, yd, requested, &returned, perf));
            algo = firstSuccess(perf, returned, what);
        } else if (cs.pick == Pick::Find) {
            CHECK_CUDNN(cudnnFindConvolutionForwardAlgorithm(h, xd, wd, cd, yd, requested, &returned, perf));
            algo = firstSuccess(perf, returned, what);
        } else if (cs.pick == Pick::FindEx) {
            CHECK_CUDNN(cudnnFindConvolutionForwardAlgorithmEx(h, xd, gx, wd, gw, cd, yd, gy, requested, &returned, perf, gfind, findWs));
            algo = firstSuccess(perf, returned, what);
            upload(gy, priorY);  // Find wrote y
        }
        size_t bytes = 0;
        if (cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, cudnnConvolutionFwdAlgo_t(algo), &bytes) != CUDNN_STATUS_SUCCESS) {
            // Plain cuDNN may not implement the hard-coded algorithm here (the interposer takes any).
            std::printf("note: cuDNN refuses fwd algo %d for %s; using Get_v7's pick\n", algo, what);
            CHECK_CUDNN(cudnnGetConvolutionForwardAlgorithm_v7(h, xd, wd, cd, yd, requested, &returned, perf));
            algo = firstSuccess(perf, returned, what);
            CHECK_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, cudnnConvolutionFwdAlgo_t(algo), &bytes));
        }
        void* ws = nullptr;
        if (bytes) CHECK_CUDA(cudaMalloc(&ws, bytes));
        CHECK_CUDNN(cudnnConvolutionForward(h, &cs.alpha, xd, gx, wd, gw, cd, cudnnConvolutionFwdAlgo_t(algo), ws, bytes, &cs.beta, yd, gy));
        CHECK_CUDA(cudaDeviceSynchronize());
        std::string name = std::string("fwd ") + what;
        compare(name.c_str(), cs, download(gy, dy.size()), y, my, cs.beta != 0 ? priorY : std::vector<float>(dy.size(), 0.0f));
        cudaFree(ws);
    }
    {  // backward data
        upload(gy, dy), upload(gw, w), upload(gx, priorX);
        cudnnConvolutionBwdDataAlgoPerf_t perf[requested];
        int algo = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
        if (cs.pick == Pick::GetV7) {
            CHECK_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, wd, yd, cd, xd, requested, &returned, perf));
            algo = firstSuccess(perf, returned, what);
        } else if (cs.pick == Pick::Find) {
            CHECK_CUDNN(cudnnFindConvolutionBackwardDataAlgorithm(h, wd, yd, cd, xd, requested, &returned, perf));
            algo = firstSuccess(perf, returned, what);
        } else if (cs.pick == Pick::FindEx) {
            CHECK_CUDNN(cudnnFindConvolutionBackwardDataAlgorithmEx(h, wd, gw, yd, gy, cd, xd, gx, requested, &returned, perf, gfind, findWs));
            algo = firstSuccess(perf, returned, what);
            upload(gx, priorX);
        }
        size_t bytes = 0;
        if (cudnnGetConvolutionBackwardDataWorkspaceSize(h, wd, yd, cd, xd, cudnnConvolutionBwdDataAlgo_t(algo), &bytes) !=
            CUDNN_STATUS_SUCCESS) {
            std::printf("note: cuDNN refuses bwd_d algo %d for %s; using Get_v7's pick\n", algo, what);
            CHECK_CUDNN(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, wd, yd, cd, xd, requested, &returned, perf));
            algo = firstSuccess(perf, returned, what);
            CHECK_CUDNN(cudnnGetConvolutionBackwardDataWorkspaceSize(h, wd, yd, cd, xd, cudnnConvolutionBwdDataAlgo_t(algo), &bytes));
        }
        void* ws = nullptr;
        if (bytes) CHECK_CUDA(cudaMalloc(&ws, bytes));
        CHECK_CUDNN(cudnnConvolutionBackwardData(h, &cs.alpha, wd, gw, yd, gy, cd, cudnnConvolutionBwdDataAlgo_t(algo), ws, bytes, &cs.beta,
                                                 xd, gx));
        CHECK_CUDA(cudaDeviceSynchronize());
        std::string name = std::string("bwd_d ") + what;
        compare(name.c_str(), cs, download(gx, x.size()), dx, mdx, cs.beta != 0 ? priorX : std::vector<float>(x.size(), 0.0f));
        cudaFree(ws);
    }
    {  // backward filter
        upload(gx, x), upload(gy, dy), upload(gw, priorW);
        cudnnConvolutionBwdFilterAlgoPerf_t perf[requested];
        int algo = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
        if (cs.pick == Pick::GetV7) {
            CHECK_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, xd, yd, cd, wd, requested, &returned, perf));
            algo = firstSuccess(perf, returned, what);
        } else if (cs.pick == Pick::Find) {
            CHECK_CUDNN(cudnnFindConvolutionBackwardFilterAlgorithm(h, xd, yd, cd, wd, requested, &returned, perf));
            algo = firstSuccess(perf, returned, what);
        } else if (cs.pick == Pick::FindEx) {
            CHECK_CUDNN(
                cudnnFindConvolutionBackwardFilterAlgorithmEx(h, xd, gx, yd, gy, cd, wd, gw, requested, &returned, perf, gfind, findWs));
            algo = firstSuccess(perf, returned, what);
            upload(gw, priorW);
        }
        size_t bytes = 0;
        if (cudnnGetConvolutionBackwardFilterWorkspaceSize(h, xd, yd, cd, wd, cudnnConvolutionBwdFilterAlgo_t(algo), &bytes) !=
            CUDNN_STATUS_SUCCESS) {
            std::printf("note: cuDNN refuses bwd_w algo %d for %s; using Get_v7's pick\n", algo, what);
            CHECK_CUDNN(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, xd, yd, cd, wd, requested, &returned, perf));
            algo = firstSuccess(perf, returned, what);
            CHECK_CUDNN(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, xd, yd, cd, wd, cudnnConvolutionBwdFilterAlgo_t(algo), &bytes));
        }
        void* ws = nullptr;
        if (bytes) CHECK_CUDA(cudaMalloc(&ws, bytes));
        CHECK_CUDNN(cudnnConvolutionBackwardFilter(h, &cs.alpha, xd, gx, yd, gy, cd, cudnnConvolutionBwdFilterAlgo_t(algo), ws, bytes,
                                                   &cs.beta, wd, gw));
        CHECK_CUDA(cudaDeviceSynchronize());
        std::string name = std::string("bwd_w ") + what;
        compare(name.c_str(), cs, download(gw, w.size()), dw, mdw, cs.beta != 0 ? priorW : std::vector<float>(w.size(), 0.0f));
        cudaFree(ws);
    }
    cudaFree(gx), cudaFree(gw), cudaFree(gy), cudaFree(gfind);
    cudnnDestroyTensorDescriptor(xd), cudnnDestroyTensorDescriptor(yd), cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyConvolutionDescriptor(cd);
}

}  // namespace

int main() {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("CONVX-SKIP: no CUDA device\n");
        return 77;
    }
    cudnnHandle_t h;
    CHECK_CUDNN(cudnnCreate(&h));
    cudaStream_t stream;
    CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    CHECK_CUDNN(cudnnSetStream(h, stream));  // the interposer must run on the client's stream
    std::mt19937 rng(12345);
    // n c h w k r s pad stride dil groups nhwc alpha beta pick
    const Case cases[] = {
        {2, 8, 9, 7, 16, 3, 3, 1, 1, 1, 1, false, 1.0f, 0.0f, Pick::GetV7},
        {2, 8, 9, 7, 16, 3, 3, 1, 2, 1, 1, true, 1.0f, 0.0f, Pick::GetV7},
        {1, 16, 12, 12, 8, 3, 3, 2, 1, 2, 1, false, 1.0f, 0.0f, Pick::Find},      // dilation
        {2, 8, 10, 10, 8, 3, 3, 1, 1, 1, 2, false, 1.0f, 0.0f, Pick::FindEx},     // groups
        {2, 16, 11, 9, 16, 3, 3, 1, 1, 1, 16, true, 1.0f, 0.0f, Pick::GetV7},     // depthwise, NHWC
        {2, 8, 9, 9, 12, 1, 1, 0, 1, 1, 1, true, 0.75f, 1.0f, Pick::HardCoded},   // 1x1, beta = 1
        {3, 6, 8, 8, 6, 5, 5, 2, 2, 1, 3, false, 1.0f, 1.0f, Pick::FindEx},       // groups, beta = 1
        {1, 4, 13, 13, 4, 3, 3, 3, 1, 3, 1, true, 1.0f, 0.0f, Pick::HardCoded},   // dilation, NHWC
    };
    for (const Case& cs : cases) runCase(h, cs, rng);
    cudnnDestroy(h);
    cudaStreamDestroy(stream);

    typedef int (*CountersFn)(unsigned long long*, unsigned long long*, unsigned long long*);
    CountersFn counters;
    void* sym = dlsym(RTLD_DEFAULT, "convxInterposerCounters");
    std::memcpy(&counters, &sym, sizeof counters);
    const char* expect = std::getenv("CONVX_EXPECT_INTERPOSER");
    if (expect && std::atoi(expect)) {
        unsigned long long handled = 0, run = 0, passed = 0;
        if (!counters) {
            std::fprintf(stderr, "FAIL: CONVX_EXPECT_INTERPOSER=1 but no interposer is loaded\n");
            return 1;
        }
        counters(&handled, &run, &passed);
        std::printf("interposer counters: handled %llu, convolutions run by convx %llu, passed through %llu\n", handled, run, passed);
        if (run == 0 || handled == 0) {
            std::fprintf(stderr, "FAIL: convx ran no convolution: the interposer was bypassed (symbol version?) or refused every call\n");
            return 1;
        }
    }
    std::printf("%s: %d failures\n", failures ? "FAIL" : "OK", failures);
    return failures ? 1 : 0;
}
