// convx-bench's chain mode: see bench_chain.h.
#include "bench_chain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "bench_runner.h"

namespace convxbench {

namespace {

void ok(convxStatus_t s, const char* what) {
    if (s != CONVX_STATUS_SUCCESS) throw RunError(s, std::string(what) + ": " + lastConvxError());
}

// The net as a convx chain on the device's backend and stream; fused or every layer its own GCONV.
class GconvChainPipeline final : public NetPipeline {
public:
    GconvChainPipeline(const nets::NetSpec& net, Device& dev, bool nhwc, bool fuse, int threads) : fuse_(fuse) {
        ok(convxCreateWithBackend(&h_, dev.backend()), "convxCreateWithBackend");
        if (dev.backend() == CONVX_BACKEND_CUDA) ok(convxSetStream(h_, dev.stream()), "convxSetStream");
        if (dev.backend() == CONVX_BACKEND_CPU && threads > 0) ok(convxSetNumThreads(h_, threads), "convxSetNumThreads");
        ok(convxChainCreate(h_, &chain_, nhwc ? CONVX_TENSOR_NHWC : CONVX_TENSOR_NCHW, CONVX_DATA_FLOAT), "convxChainCreate");
        ok(nets::addToChain(net, chain_), "building the chain");
        ok(convxChainFinalize(chain_, fuse ? 1 : 0), "convxChainFinalize");
        ok(convxChainGetWorkspaceSize(chain_, &ws_), "convxChainGetWorkspaceSize");
        size_t need = 0;
        ok(convxChainDescribe(chain_, nullptr, 0, &need), "convxChainDescribe");
        std::string text(need, '\0');
        ok(convxChainDescribe(chain_, &text[0], need, nullptr), "convxChainDescribe");
        summary_ = text.substr(0, text.find('\n'));
    }
    ~GconvChainPipeline() override {
        if (chain_) convxChainDestroy(chain_);
        if (h_) convxDestroy(h_);
    }
    std::string name() const override { return fuse_ ? "gconv_chain" : "gconv_chain_unfused"; }
    size_t workspaceBytes() const override { return ws_; }
    void run(const void* x, void* y, void* workspace) override {
        const void* in[1] = {x};
        void* out[1] = {y};
        ok(convxChainExecute(chain_, in, out, workspace, ws_), "convxChainExecute");
    }
    std::string note() const override { return summary_; }

private:
    bool fuse_;
    convxHandle_t h_ = nullptr;
    convxChain_t chain_ = nullptr;
    size_t ws_ = 0;
    std::string summary_;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double relL2(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = double(a[i]) - double(b[i]);
        num += d * d;
        den += double(b[i]) * double(b[i]);
    }
    if (!std::isfinite(num)) return INFINITY;
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

}  // namespace

#ifndef CONVX_HAVE_CUDNN
std::unique_ptr<NetPipeline> makeCudnnPipeline(const nets::NetSpec&, bool, Device&, std::string* why) {
    if (why) *why = "convx-bench was built without cuDNN";
    return nullptr;
}
#endif

double netFlops(const nets::NetSpec& net) {
    double f = 0;
    for (const nets::NetLayer& l : net.layers) {
        if (l.kind != nets::Kind::Conv && l.kind != nets::Kind::FullyConnected) continue;
        const nets::NetLayer& x = net.layers[l.in[0]];
        const double cg = l.kind == nets::Kind::Conv ? double(x.c) / l.groups : double(x.c) * x.h * x.w;
        const double taps = l.kind == nets::Kind::Conv ? double(l.r) * l.s : 1.0;
        f += 2.0 * l.n * l.c * l.h * l.w * cg * taps;
    }
    return f;
}

std::vector<Row> runChainBench(Device& dev, const ChainBenchOptions& o) {
    std::vector<Row> all;
    const char* backend = dev.backend() == CONVX_BACKEND_CUDA ? "cuda" : "cpu";
    for (const std::string& name : o.nets)
        for (int mb : o.batches) {
            const nets::NetSpec net = nets::byName(name, mb, o.hw, o.seed);
            const nets::NetLayer& in = net.layers.front();
            const nets::NetLayer& out = net.layers[net.outputs.at(0)];
            const size_t inElems = size_t(in.n) * in.c * in.h * in.w, outElems = size_t(out.n) * out.c * out.h * out.w;
            const double flops = netFlops(net);
            Row tmpl;
            tmpl.problem = name + " mb" + std::to_string(mb) + " hw" + std::to_string(o.hw) + (o.nhwc ? " nhwc" : " nchw") + " f32";
            tmpl.name = name;
            tmpl.dir = "fwd";
            tmpl.backend = backend;
            tmpl.baseline = "gconv_chain_unfused";
            std::printf("[chain] %s: %.4g GFLOP (convolutions and fc)\n", tmpl.problem.c_str(), flops * 1e-9);

            std::vector<float> hx(inElems);
            uint64_t s = o.seed * 2654435761u + 7;
            for (float& v : hx) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                v = float(double(s >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
            }
            DeviceBuffer dx(dev, inElems * sizeof(float)), dy(dev, outElems * sizeof(float));
            dev.upload(dx.get(), hx.data(), hx.size() * sizeof(float));

            std::vector<std::unique_ptr<NetPipeline>> pipes;
            std::vector<Row> rows;
            auto failRow = [&](const std::string& algo, const std::string& status, const std::string& msg) {
                Row r = tmpl;
                r.algo = algo;
                r.status = status;
                r.check = status == "n/a" ? "n/a" : "ERROR";
                r.message = msg;
                rows.push_back(r);
            };
            for (const char* which : {"gconv_chain_unfused", "gconv_chain"}) {
                try {
                    pipes.push_back(std::make_unique<GconvChainPipeline>(net, dev, o.nhwc, std::string(which) == "gconv_chain", o.threads));
                } catch (const std::exception& e) {
                    failRow(which, "error", e.what());
                }
            }
            if (o.cudnn) {
                std::string why;
                std::unique_ptr<NetPipeline> p = makeCudnnPipeline(net, o.nhwc, dev, &why);
                if (p) pipes.push_back(std::move(p));
                else failRow("cudnn_layers", "n/a", why);
            }
            std::vector<float> refOut;
            double baseMs = NAN;
            for (auto& p : pipes) {
                Row r = tmpl;
                r.algo = p->name();
                r.isBaseline = r.algo == tmpl.baseline;
                r.workspace = p->workspaceBytes();
                r.note = p->note();
                try {
                    DeviceBuffer ws(dev, p->workspaceBytes());
                    dev.fill(dy.get(), 0xFF, outElems * sizeof(float));
                    for (int i = 0; i < o.warmup; ++i) p->run(dx.get(), dy.get(), ws.get());
                    dev.synchronize();
                    std::vector<double> times;
                    double total = 0;
                    const int minRuns = std::max(o.iters, o.minIters);
                    auto timer = dev.makeTimer();
                    while ((int(times.size()) < minRuns || total < o.minTime * 1e3) && long(times.size()) < o.maxIters) {
                        timer->start();
                        p->run(dx.get(), dy.get(), ws.get());
                        timer->stop();
                        times.push_back(timer->elapsedMs());
                        total += times.back();
                    }
                    r.status = "ok";
                    r.runs = int(times.size());
                    r.medianMs = median(times);
                    r.minMs = *std::min_element(times.begin(), times.end());
                    r.gflops = flops / (r.medianMs * 1e6);
                    std::vector<float> hy(outElems);
                    dev.download(hy.data(), dy.get(), outElems * sizeof(float));
                    if (r.isBaseline) {
                        refOut = hy;
                        baseMs = r.medianMs;
                    }
                    if (!o.check) {
                        r.check = "off";
                    } else if (refOut.empty()) {
                        r.check = "n/a";
                        r.message = "no unfused chain output to compare with";
                    } else {
                        r.relErr = relL2(hy, refOut);
                        r.check = r.relErr <= o.tol ? "PASS" : "FAIL";
                    }
                } catch (const std::exception& e) {
                    r.status = "error";
                    r.check = "ERROR";
                    r.message = e.what();
                }
                rows.push_back(r);
            }
            for (Row& r : rows) {
                if (r.status == "ok" && std::isfinite(baseMs)) r.speedup = baseMs / r.medianMs;
                if (r.algo == "gconv_chain" && r.message.empty()) r.message = r.note;
            }
            all.insert(all.end(), rows.begin(), rows.end());
        }
    return all;
}

}  // namespace convxbench
