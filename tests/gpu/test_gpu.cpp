// GPU tests: every CUDA algorithm against the CPU reference on random problems (alpha/beta,
// both layouts, strided tensors, all directions), a CUDA-graph capture, two handles on two
// streams at once, and bad input specific to the CUDA backend. Exits 77 (ctest: skipped)
// when there is no CUDA device.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cuda_runtime.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "convx/convx.h"
#include "problem.h"
#include "registry.h"

using convx::Direction;
using convx::Problem;

namespace {

#define CUDA_OK(call) REQUIRE((call) == cudaSuccess)
#define CONVX_OK(call)                                                              \
    do {                                                                            \
        convxStatus_t s_ = (call);                                                  \
        if (s_ != CONVX_STATUS_SUCCESS) {                                           \
            char m_[1024];                                                          \
            convxGetLastErrorString(m_, sizeof m_);                                 \
            FAIL(#call << " -> " << convxGetErrorString(s_) << ": " << m_);         \
        }                                                                           \
    } while (0)

// Descriptors of one Problem, through the public API, as a user would build them.
struct Descs {
    convxTensorDescriptor_t x = nullptr, y = nullptr;
    convxFilterDescriptor_t w = nullptr;
    convxConvolutionDescriptor_t conv = nullptr;
    explicit Descs(const Problem& p) {
        const int nb = p.nsp + 2;
        int xd[5] = {int(p.N), int(p.C)}, yd[5] = {int(p.N), int(p.K)}, wd[5] = {int(p.K), int(p.Cg())};
        int xs[5], ys[5], pad[3], str[3], dil[3];
        for (int i = 0; i < p.nsp; ++i) {
            xd[2 + i] = int(p.in[i]), yd[2 + i] = int(p.out[i]), wd[2 + i] = int(p.ker[i]);
            pad[i] = int(p.pad[i]), str[i] = int(p.stride[i]), dil[i] = int(p.dil[i]);
        }
        for (int i = 0; i < nb; ++i) xs[i] = int(p.xStrides[i]), ys[i] = int(p.yStrides[i]);
        const convxDataType_t dt = static_cast<convxDataType_t>(p.dtype);
        REQUIRE(convxCreateTensorDescriptor(&x) == CONVX_STATUS_SUCCESS);
        REQUIRE(convxCreateTensorDescriptor(&y) == CONVX_STATUS_SUCCESS);
        REQUIRE(convxCreateFilterDescriptor(&w) == CONVX_STATUS_SUCCESS);
        REQUIRE(convxCreateConvolutionDescriptor(&conv) == CONVX_STATUS_SUCCESS);
        CONVX_OK(convxSetTensorNdDescriptor(x, dt, nb, xd, xs));
        CONVX_OK(convxSetTensorNdDescriptor(y, dt, nb, yd, ys));
        CONVX_OK(convxSetFilterNdDescriptor(w, dt, static_cast<convxTensorFormat_t>(p.wLayout), nb, wd));
        CONVX_OK(convxSetConvolutionNdDescriptor(conv, p.nsp, pad, str, dil, p.mode, static_cast<convxDataType_t>(p.accType)));
        CONVX_OK(convxSetConvolutionGroupCount(conv, int(p.G)));
        CONVX_OK(convxSetConvolutionMathType(conv, p.math));
    }
    ~Descs() {
        convxDestroyTensorDescriptor(x);
        convxDestroyTensorDescriptor(y);
        convxDestroyFilterDescriptor(w);
        convxDestroyConvolutionDescriptor(conv);
    }
};

int64_t span(const convx::Strides& s, int64_t n, int64_t c, const convx::Dims& sp, int nsp) {
    int64_t e = 1 + (n - 1) * s[0] + (c - 1) * s[1];
    for (int i = 0; i < nsp; ++i) e += (sp[i] - 1) * s[2 + i];
    return e;
}

// Host and device copies of x, w, y (float data), sized by their strided spans.
struct Tensors {
    std::vector<float> x, w, y;
    float *dx = nullptr, *dw = nullptr, *dy = nullptr;
    Tensors(const Problem& p, std::mt19937& rng) {
        std::uniform_real_distribution<float> u(-1.f, 1.f);
        x.resize(span(p.xStrides, p.N, p.C, p.in, p.nsp));
        y.resize(span(p.yStrides, p.N, p.K, p.out, p.nsp));
        w.resize(p.wElems());
        for (auto* v : {&x, &w, &y})
            for (float& f : *v) f = u(rng);
        CUDA_OK(cudaMalloc(&dx, x.size() * 4));
        CUDA_OK(cudaMalloc(&dw, w.size() * 4));
        CUDA_OK(cudaMalloc(&dy, y.size() * 4));
        upload();
    }
    void upload() {
        CUDA_OK(cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMemcpy(dw, w.data(), w.size() * 4, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMemcpy(dy, y.data(), y.size() * 4, cudaMemcpyHostToDevice));
    }
    ~Tensors() {
        cudaFree(dx);
        cudaFree(dw);
        cudaFree(dy);
    }
};

convxStatus_t runConv(convxHandle_t h, const Problem& p, const Descs& d, void* x, void* w, void* y, convxConvAlgo_t algo, void* ws,
                      size_t wsBytes, float alpha, float beta) {
    switch (p.dir) {
        case Direction::Forward: return convxConvolutionForward(h, &alpha, d.x, x, d.w, w, d.conv, algo, ws, wsBytes, &beta, d.y, y);
        case Direction::BackwardData:
            return convxConvolutionBackwardData(h, &alpha, d.w, w, d.y, y, d.conv, algo, ws, wsBytes, &beta, d.x, x);
        case Direction::BackwardFilter:
            return convxConvolutionBackwardFilter(h, &alpha, d.x, x, d.y, y, d.conv, algo, ws, wsBytes, &beta, d.w, w);
    }
    return CONVX_STATUS_INTERNAL_ERROR;
}

std::vector<float>& outputOf(Tensors& t, Direction d) { return d == Direction::Forward ? t.y : d == Direction::BackwardData ? t.x : t.w; }
float* deviceOutputOf(Tensors& t, Direction d) { return d == Direction::Forward ? t.dy : d == Direction::BackwardData ? t.dx : t.dw; }

double relL2(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        if (!std::isfinite(a[i])) return INFINITY;
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / (den > 0 ? den : 1));
}

Problem randomProblem(std::mt19937& rng) {
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const int nsp = pick(1, 3);
    const int g = pick(0, 3) == 0 ? pick(2, 3) : 1;
    std::string s = "--dt=f32";
    const char* tags[] = {"nchw", "nhwc"};
    s += std::string(" --stag=") + tags[pick(0, 1)] + " --wtag=" + tags[pick(0, 1)] + " --dtag=" + tags[pick(0, 1)];
    if (pick(0, 3) == 0) s += " --mode=conv";
    s += " g" + std::to_string(g) + "mb" + std::to_string(pick(1, 3)) + "ic" + std::to_string(g * pick(1, 5));
    const char* L[] = {"", "w", "hw", "dhw"};
    std::string ks, ss, ps, ds, is;
    for (int i = 0; i < nsp; ++i) {
        const int k = pick(1, nsp == 3 ? 3 : 5), st = pick(1, 3), dl = pick(0, 2), pd = pick(0, k + 1);
        const int extent = (k - 1) * (dl + 1) + 1;
        const int in = std::max(pick(1, nsp == 3 ? 7 : 13), extent - 2 * pd);
        is += std::string("i") + L[nsp][i] + std::to_string(in);
        ks += std::string("k") + L[nsp][i] + std::to_string(k);
        ss += std::string("s") + L[nsp][i] + std::to_string(st);
        ps += std::string("p") + L[nsp][i] + std::to_string(pd);
        ds += std::string("d") + L[nsp][i] + std::to_string(dl);
    }
    s += is + "oc" + std::to_string(g * pick(1, 5)) + ks + ss + ps + ds;
    Problem p = convx::parseProblem(s);
    if (pick(0, 3) == 0) {  // a strided x: one padding element after each innermost row
        convx::Dims sp = p.in;
        sp[p.nsp - 1] += 1;
        p.xStrides = convx::packedStrides(p.xLayout, p.nsp, p.N, p.C + (p.xLayout == convx::Layout::NHWC ? 1 : 0), sp);
        convx::validateProblem(p);
    }
    return p;
}

struct Handles {
    convxHandle_t cpu = nullptr, gpu = nullptr;
    Handles() {
        CONVX_OK(convxCreateWithBackend(&cpu, CONVX_BACKEND_CPU));
        CONVX_OK(convxCreate(&gpu));
    }
    ~Handles() {
        convxDestroy(cpu);
        convxDestroy(gpu);
    }
};

// The files of tests/gpu/cases/, sorted.
std::vector<std::string> caseFiles() {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(CONVX_GPU_CASES_DIR))
        if (e.path().extension() == ".txt") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

namespace {

// Runs every CUDA algorithm that applies to p against the CPU reference on the same inputs;
// answers how many ran.
int checkCudaAlgorithms(const Handles& h, const Problem& p, std::mt19937& rng, float alpha, float beta) {
    const Direction dir = p.dir;
    Descs d(p);
    Tensors t(p, rng);
    // With beta = 0 both sides start from NaN: elements outside a strided tensor stay NaN
    // and are not compared; every element inside must come out finite and right.
    std::vector<float> hx = t.x, hw = t.w, hy = t.y;
    std::vector<float>& hout = dir == Direction::Forward ? hy : dir == Direction::BackwardData ? hx : hw;
    if (beta == 0.0f) std::fill(hout.begin(), hout.end(), NAN);
    CONVX_OK(runConv(h.cpu, p, d, hx.data(), hw.data(), hy.data(), CONVX_ALGO_REFERENCE, nullptr, 0, alpha, beta));
    const std::vector<float> want = hout;
    int ran = 0;
    for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CUDA, dir)) {
        if (!a->check(p).ok) continue;
        INFO(a->name() << " " << p.str() << " alpha " << alpha << " beta " << beta);
        t.upload();
        if (beta == 0.0f) CUDA_OK(cudaMemset(deviceOutputOf(t, dir), 0xff, outputOf(t, dir).size() * 4));  // NaN
        const size_t wsBytes = a->workspaceSize(p);
        void* ws = nullptr;
        if (wsBytes) CUDA_OK(cudaMalloc(&ws, wsBytes));
        CONVX_OK(runConv(h.gpu, p, d, t.dx, t.dw, t.dy, a->id(), ws, wsBytes, alpha, beta));
        CUDA_OK(cudaDeviceSynchronize());
        cudaFree(ws);
        std::vector<float> got(outputOf(t, dir).size());
        CUDA_OK(cudaMemcpy(got.data(), deviceOutputOf(t, dir), got.size() * 4, cudaMemcpyDeviceToHost));
        std::vector<float> g2, w2;
        for (size_t i = 0; i < got.size(); ++i)
            if (std::isfinite(want[i])) {
                g2.push_back(got[i]);
                w2.push_back(want[i]);
            }
        CHECK(relL2(g2, w2) < 1e-5);
        ++ran;
    }
    return ran;
}

}  // namespace

TEST_CASE("every CUDA algorithm matches the CPU reference on random problems", "[gpu][conformance]") {
    Handles h;
    std::mt19937 rng(2024);
    const int cases = 60;
    int checked = 0;
    for (int c = 0; c < cases; ++c) {
        Problem base = randomProblem(rng);
        for (Direction dir : {Direction::Forward, Direction::BackwardData, Direction::BackwardFilter}) {
            Problem p = base;
            p.dir = dir;
            checked += checkCudaAlgorithms(h, p, rng, c % 3 == 0 ? 0.5f : 1.0f, c % 2 == 0 ? 0.0f : 0.75f);
        }
    }
    CHECK(checked >= cases * 3);
}

// Each algorithm's own edge cases, one problem string a line in tests/gpu/cases/*.txt (the
// families its CPU tests draw at random, written out: phases with no taps, odd outputs,
// dilations larger than the map, ...). Every case must be taken by at least one convx kernel
// besides the reference and cuDNN, so a file cannot silently stop testing its algorithm.
TEST_CASE("every CUDA algorithm matches the CPU reference on its edge cases", "[gpu][conformance]") {
    Handles h;
    std::mt19937 rng(77);
    int lines = 0;
    for (const std::string& file : caseFiles()) {
        std::ifstream in(file);
        std::string line;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            ++lines;
            INFO(file << ": " << line);
            const Problem p = convx::parseProblem(line);
            int own = 0;
            for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CUDA, p.dir))
                own += a->id() != CONVX_ALGO_REFERENCE && a->id() != CONVX_ALGO_CUDNN && a->check(p).ok;
            CHECK(own > 0);
            checkCudaAlgorithms(h, p, rng, 1.0f, 0.0f);
            checkCudaAlgorithms(h, p, rng, 0.5f, 1.0f);
        }
    }
    CHECK(lines > 0);
}

TEST_CASE("a convolution captured in a CUDA graph replays correctly", "[gpu]") {
    Handles h;
    std::mt19937 rng(7);
    Problem p = convx::parseProblem("--dir=fwd --dt=f32 --tag=nchw g1mb2ic8ih12oc16kh3ph1");
    Descs d(p);
    Tensors t(p, rng);
    cudaStream_t s;
    CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    CONVX_OK(convxSetStream(h.gpu, s));
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_OK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    CONVX_OK(runConv(h.gpu, p, d, t.dx, t.dw, t.dy, CONVX_ALGO_REFERENCE, nullptr, 0, 1.0f, 0.0f));
    CUDA_OK(cudaStreamEndCapture(s, &graph));
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    CUDA_OK(cudaMemset(t.dy, 0xff, t.y.size() * 4));
    CUDA_OK(cudaGraphLaunch(exec, s));
    CUDA_OK(cudaStreamSynchronize(s));
    std::vector<float> got(t.y.size()), want = t.y;
    CUDA_OK(cudaMemcpy(got.data(), t.dy, got.size() * 4, cudaMemcpyDeviceToHost));
    CONVX_OK(runConv(h.cpu, p, d, t.x.data(), t.w.data(), want.data(), CONVX_ALGO_REFERENCE, nullptr, 0, 1.0f, 0.0f));
    CHECK(relL2(got, want) < 1e-6);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    CONVX_OK(convxSetStream(h.gpu, nullptr));
    cudaStreamDestroy(s);
}

TEST_CASE("two handles on two streams run concurrently from two threads", "[gpu]") {
    Problem p = convx::parseProblem("--dir=fwd --dt=f32 --tag=nhwc g1mb4ic16ih20oc16kh3ph1");
    std::mt19937 rng(11);
    Descs d(p);
    Tensors a(p, rng), b(p, rng);
    convxHandle_t cpu;
    CONVX_OK(convxCreateWithBackend(&cpu, CONVX_BACKEND_CPU));
    std::vector<float> wantA = a.y, wantB = b.y;
    CONVX_OK(runConv(cpu, p, d, a.x.data(), a.w.data(), wantA.data(), CONVX_ALGO_AUTO, nullptr, 0, 1.0f, 0.0f));
    CONVX_OK(runConv(cpu, p, d, b.x.data(), b.w.data(), wantB.data(), CONVX_ALGO_AUTO, nullptr, 0, 1.0f, 0.0f));
    convxDestroy(cpu);
    convxStatus_t st[2] = {CONVX_STATUS_INTERNAL_ERROR, CONVX_STATUS_INTERNAL_ERROR};
    auto worker = [&](int i, Tensors* t) {
        convxHandle_t g;
        cudaStream_t s;
        if (convxCreate(&g) != CONVX_STATUS_SUCCESS || cudaStreamCreate(&s) != cudaSuccess) return;
        convxSetStream(g, s);
        st[i] = CONVX_STATUS_SUCCESS;
        for (int r = 0; r < 20 && st[i] == CONVX_STATUS_SUCCESS; ++r)
            st[i] = runConv(g, p, d, t->dx, t->dw, t->dy, CONVX_ALGO_REFERENCE, nullptr, 0, 1.0f, 0.0f);
        cudaStreamSynchronize(s);
        convxDestroy(g);
        cudaStreamDestroy(s);
    };
    std::thread t0(worker, 0, &a), t1(worker, 1, &b);
    t0.join();
    t1.join();
    CHECK(st[0] == CONVX_STATUS_SUCCESS);
    CHECK(st[1] == CONVX_STATUS_SUCCESS);
    std::vector<float> gotA(a.y.size()), gotB(b.y.size());
    CUDA_OK(cudaMemcpy(gotA.data(), a.dy, gotA.size() * 4, cudaMemcpyDeviceToHost));
    CUDA_OK(cudaMemcpy(gotB.data(), b.dy, gotB.size() * 4, cudaMemcpyDeviceToHost));
    CHECK(relL2(gotA, wantA) < 1e-6);
    CHECK(relL2(gotB, wantB) < 1e-6);
}

TEST_CASE("the CUDA backend rejects host pointers and short workspaces", "[gpu][bad-input]") {
    Handles h;
    std::mt19937 rng(3);
    Problem p = convx::parseProblem("--dir=fwd --dt=f32 --tag=nchw g1mb1ic4ih9oc4kh3ph1");
    Descs d(p);
    Tensors t(p, rng);
    char msg[512];
    CHECK(runConv(h.gpu, p, d, t.x.data(), t.dw, t.dy, CONVX_ALGO_REFERENCE, nullptr, 0, 1.0f, 0.0f) == CONVX_STATUS_BAD_PARAM);
    convxGetLastErrorString(msg, sizeof msg);
    CHECK(std::string(msg).find("x = ") != std::string::npos);
    for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CUDA, Direction::Forward)) {
        if (!a->check(p).ok || a->workspaceSize(p) == 0) continue;
        CHECK(runConv(h.gpu, p, d, t.dx, t.dw, t.dy, a->id(), nullptr, a->workspaceSize(p) - 1, 1.0f, 0.0f) ==
              CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE);
    }
}

TEST_CASE("the transposed convolution is BackwardData on the CUDA backend", "[gpu][transpose-api]") {
    // convxConvolutionTransposeForward(x, w -> y) is convxConvolutionBackwardData(w, dy = x -> dx = y):
    // the same result for every CUDA algorithm (bit for bit where the algorithm is deterministic).
    Handles h;
    std::mt19937 rng(5150);
    int compared = 0;
    for (int c = 0; c < 20; ++c) {
        Problem p = randomProblem(rng);
        p.dir = Direction::BackwardData;
        Descs d(p);
        Tensors t(p, rng);
        const float alpha = c % 2 ? 0.75f : 1.0f, beta = c % 3 ? 0.0f : 0.5f;
        std::vector<convxConvAlgo_t> algos = {CONVX_ALGO_AUTO};
        for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CUDA, Direction::BackwardData))
            if (a->check(p).ok) algos.push_back(a->id());
        for (convxConvAlgo_t algo : algos) {
            const convx::Algorithm* a = algo == CONVX_ALGO_AUTO ? nullptr : convx::findAlgorithm(CONVX_BACKEND_CUDA, algo);
            INFO(p.str() << " algo " << convxGetAlgorithmName(algo));
            size_t wsBwd = 0, wsT = 0;
            CONVX_OK(convxGetConvolutionBackwardDataWorkspaceSize(h.gpu, d.w, d.y, d.conv, d.x, algo, &wsBwd));
            CONVX_OK(convxGetConvolutionTransposeForwardWorkspaceSize(h.gpu, d.y, d.w, d.conv, d.x, algo, &wsT));
            CHECK(wsBwd == wsT);
            void* ws = nullptr;
            if (wsBwd) CUDA_OK(cudaMalloc(&ws, wsBwd));
            std::vector<float> viaBwd(t.x.size()), viaT(t.x.size());
            t.upload();
            CONVX_OK(convxConvolutionBackwardData(h.gpu, &alpha, d.w, t.dw, d.y, t.dy, d.conv, algo, ws, wsBwd, &beta, d.x, t.dx));
            CUDA_OK(cudaMemcpy(viaBwd.data(), t.dx, viaBwd.size() * 4, cudaMemcpyDeviceToHost));
            t.upload();
            CONVX_OK(convxConvolutionTransposeForward(h.gpu, &alpha, d.y, t.dy, d.w, t.dw, d.conv, algo, ws, wsT, &beta, d.x, t.dx));
            CUDA_OK(cudaMemcpy(viaT.data(), t.dx, viaT.size() * 4, cudaMemcpyDeviceToHost));
            cudaFree(ws);
            if (a && a->deterministic()) CHECK(std::memcmp(viaBwd.data(), viaT.data(), viaT.size() * 4) == 0);
            else CHECK(relL2(viaT, viaBwd) < 1e-6);
            ++compared;
        }
    }
    CHECK(compared >= 20);
    // host memory passed as the ConvTranspose's y is named y, not dx
    Problem p = convx::parseProblem("--dir=bwd_d --dt=f32 --tag=nchw g1mb1ic4ih9oc4kh3sh2ph1");
    Descs d(p);
    Tensors t(p, rng);
    const float one = 1.0f, zero = 0.0f;
    CHECK(convxConvolutionTransposeForward(h.gpu, &one, d.y, t.dy, d.w, t.dw, d.conv, CONVX_ALGO_AUTO, nullptr, 0, &zero, d.x, t.x.data()) ==
          CONVX_STATUS_BAD_PARAM);
    char msg[512];
    convxGetLastErrorString(msg, sizeof msg);
    CHECK(std::string(msg).find("y = ") != std::string::npos);
}

// CONVX_FIND_MODE=auto on a CUDA handle: the candidates are timed on a device scratch copy of
// the output (beta != 0), the winner is recorded under the GPU's device key and then used.
TEST_CASE("find-mode auto on the CUDA backend computes the output once and records the GPU's winner", "[gpu][find-db]") {
    const std::string dir = std::filesystem::temp_directory_path().string() + "/convx-gpu-finddb-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    const std::string db = dir + "/db.txt", log = dir + "/log";
    setenv("CONVX_FIND_DB", db.c_str(), 1);
    setenv("CONVX_FIND_MODE", "auto", 1);
    setenv("CONVX_LOG", log.c_str(), 1);
    Handles h;
    std::mt19937 rng(99);
    for (const char* text : {"--dir=fwd --dt=f32 --tag=nchw g1mb2ic8ih12oc16kh3ph1", "--dir=bwd_d --dt=f32 --tag=nhwc g2mb2ic8ih9oc8kh3sh2ph1",
                             "--dir=bwd_w --dt=f32 --tag=nchw g1mb2ic4ih10oc8kh3ph1"}) {
        const Problem p = convx::parseProblem(text);
        INFO(p.str());
        Descs d(p);
        Tensors t(p, rng);
        const float alpha = 0.5f, beta = 0.75f;
        std::vector<float> hx = t.x, hw = t.w, hy = t.y;
        CONVX_OK(runConv(h.cpu, p, d, hx.data(), hw.data(), hy.data(), CONVX_ALGO_REFERENCE, nullptr, 0, alpha, beta));
        const std::vector<float> want = p.dir == Direction::Forward ? hy : p.dir == Direction::BackwardData ? hx : hw;
        for (int call = 0; call < 2; ++call) {  // the first times and records, the second hits the find-db
            t.upload();
            size_t wsBytes = 0;
            void* ws = nullptr;
            // the largest need of any CUDA algorithm, so that every candidate may be timed
            for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CUDA, p.dir))
                if (a->check(p).ok) wsBytes = std::max(wsBytes, a->workspaceSize(p));
            if (wsBytes) CUDA_OK(cudaMalloc(&ws, wsBytes));
            CONVX_OK(runConv(h.gpu, p, d, t.dx, t.dw, t.dy, CONVX_ALGO_AUTO, ws, wsBytes, alpha, beta));
            CUDA_OK(cudaDeviceSynchronize());
            cudaFree(ws);
            std::vector<float> got(outputOf(t, p.dir).size());
            CUDA_OK(cudaMemcpy(got.data(), deviceOutputOf(t, p.dir), got.size() * 4, cudaMemcpyDeviceToHost));
            CHECK(relL2(got, want) < 1e-5);
        }
    }
    std::ifstream lf(log), df(db);
    std::stringstream ls, ds;
    ls << lf.rdbuf();
    ds << df.rdbuf();
    INFO(ls.str());
    CHECK(ls.str().find("(CONVX_FIND_MODE=auto, fastest of") != std::string::npos);
    CHECK(ls.str().find("(find-db, ") != std::string::npos);
    CHECK(ds.str().find("\ncuda-") != std::string::npos);
    CHECK(ds.str().find("-sm") != std::string::npos);
    setenv("CONVX_FIND_DB", "off", 1);
    unsetenv("CONVX_FIND_MODE");
    unsetenv("CONVX_LOG");
    std::filesystem::remove_all(dir);
}

int main(int argc, char** argv) {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
        std::printf("CONVX-SKIP: no CUDA device; GPU tests not run\n");
        return 77;
    }
    // Hermetic: never read or write the user's find-db (a recorded winner changes AUTO's choice).
    setenv("CONVX_FIND_DB", "off", 1);
    unsetenv("CONVX_FIND_MODE");
    return Catch::Session().run(argc, argv);
}
