// convx-bench: times convx's algorithms on problems given as canonical problem strings (what
// CONVX_LOG_CMD prints) or as suite files of real network layers, checks every result against
// the float64 reference, and reports a table per problem, CSV, JSON and a per-algorithm summary.
//
// Algorithms run through the public C API, on descriptors built from the Problem exactly as a
// user builds them. The internals (convx_internal) are used only to parse problem strings, to
// list the registry, and to compute the reference when the backend's own reference is not run.
// On the GPU every result is checked against CONVX_ALGO_REFERENCE of the CUDA backend (through
// the C API, once per problem), and cuDNN runs beside convx, called directly (bench_cudnn.h):
// every algorithm it lists for the problem is timed here, the fastest is cudnn_find (the default
// baseline), the heuristic's top-1 is cudnn_heur (the second ratio column); the header gives the
// measured copy bandwidth and fp32 FMA peak, and each row its share of that roofline.
//
// Method (see docs' "Performance method"): warm-up runs, then timed runs until both --iters runs
// and --min-time seconds are reached; the median is reported. The inputs are copied into as many
// buffer sets as it takes to exceed twice the last-level cache (CPU LLC, GPU L2) and the runs
// cycle through them, so no run finds its operands in cache from the previous one.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench_chain.h"
#include "bench_cudnn.h"
#include "bench_device.h"
#include "bench_onednn.h"
#include "bench_torch.h"
#include "bench_xnnpack.h"
#include "bench_report.h"
#include "bench_runner.h"
#include "bench_selection.h"
#include "bench_zeroins.h"
#include "convx/convx.h"
#include "dtype.h"
#include "problem.h"
#include "reference.h"

#ifndef CONVX_GIT_COMMIT
#define CONVX_GIT_COMMIT "unknown"
#endif
#ifndef CONVX_BENCH_COMPILER
#define CONVX_BENCH_COMPILER "unknown"
#endif

namespace convxbench {
namespace {

using convx::DType;
using convx::Direction;
using convx::Problem;

constexpr int kExitFailed = 1, kExitUsage = 2, kExitBackend = 3;

const char* const kUsage =
    "usage: convx-bench [bench options] [problem flags] [descriptor...]\n"
    "       convx-bench [bench options] [problem flags] --suite=FILE [--suite=FILE...]\n"
    "\n"
    "A problem is its canonical problem string (as CONVX_LOG_CMD prints it), e.g.\n"
    "  convx-bench --backend=cpu --algo=reference --dir=fwd --dt=f32 --tag=nchw \\\n"
    "              g1mb1ic64ih56iw56oc64oh56ow56kh3kw3sh1sw1ph1pw1dh0dw0\n"
    "A suite file holds one problem per line (flags + descriptor, optional trailing _network:layer\n"
    "name); '#' starts a comment. Problem flags given on the command line are defaults for the\n"
    "lines (a line's own flags win).\n"
    "\n"
    "Bench options:\n"
    "  --backend=cpu|cuda      backend whose algorithms run (default cpu)\n"
    "  --algo=NAME[,NAME...]   algorithms to run (default all = every algorithm of the backend,\n"
    "                          on cuda with cuDNN also cudnn_find and cudnn_heur, and auto;\n"
    "                          'auto' = the selector's pick, named in the message)\n"
    "                          cudnn_find: every algorithm cuDNN lists for the problem, each timed\n"
    "                          by the bench, the fastest that passes the check; cudnn_heur: cuDNN's\n"
    "                          heuristic top-1 (Get_v7); both call cuDNN directly (cuda only)\n"
    "                          onednn: oneDNN's convolution primitive on the problem's layouts;\n"
    "                          onednn_any: the same with oneDNN's own formats (reorders untimed);\n"
    "                          onednn_deconv: bwd_d as oneDNN's deconvolution (cpu only, in all\n"
    "                          when built with oneDNN); xnnpack: fwd through XNNPACK's NHWC\n"
    "                          operator (cpu; NCHW problems on NHWC copies, reorders untimed);\n"
    "                          torch: PyTorch's at::convolution / convolution_backward, default\n"
    "                          backend pick; torch_native: the same with oneDNN off (PyTorch's\n"
    "                          im2col + GEMM) (cpu; in all when built with them);\n"
    "                          zeroins: bwd_d by zero insertion into dy\n"
    "                          and a dense forward through convx (both backends, in all)\n"
    "  --baseline=NAME|none    runner every other is compared with (default reference on cpu,\n"
    "                          cudnn_find on cuda with cuDNN); it is always run. On cuda with\n"
    "                          cuDNN, cudnn_heur is always run too, as a second ratio column\n"
    "  --cudnn-all             also one row per cuDNN algorithm, cudnn:<NAME> (cuda only)\n"
    "  --ws-cap-mb=N           largest cuDNN workspace to allocate, MiB (default 4096); algorithms\n"
    "                          needing more are skipped and named in a note\n"
    "  --iters=N               least number of timed runs (default 5; on cuda at least 20)\n"
    "  --warmup=N              untimed runs first (default 1)\n"
    "  --min-time=SECONDS      least total timed time per algorithm (default 0.1)\n"
    "  --max-iters=N           most timed runs (default 100000)\n"
    "  --threads=N             CPU threads (default 0 = OpenMP default)\n"
    "  --check=on|off          check each algorithm against the float64 reference (default on;\n"
    "                          on cuda: CONVX_ALGO_REFERENCE of the CUDA backend, once per problem)\n"
    "  --tol=X                 relative L2 error bound (default by data type: f64 1e-12,\n"
    "                          f32 1e-5 (1e-2 with tensor-op math), f16 2e-3 (1e-2 with f16\n"
    "                          accumulation), bf16 1e-2)\n"
    "  --flush-mb=N            total size of the rotated buffer copies (default 2x the LLC / L2,\n"
    "                          64 MiB when unknown, at most 1 GiB; 0 = no rotation)\n"
    "  --seed=N                seed of the random inputs (default 1)\n"
    "  --csv=PATH --json=PATH  write the results\n"
    "  --list                  only parse the problems and print their canonical strings\n"
    "  --selection-overhead    only time the selector: us per CONVX_ALGO_AUTO selection with the\n"
    "                          heuristic, with a find-db hit, with registry order only, and an\n"
    "                          explicit id, over the problems (--min-time per path, default 0.1)\n"
    "Chain mode (whole networks, no problem strings):\n"
    "  --chain=NET[,NET...]    resnet50, mobilenetv2: the fused GCONV chain (gconv_chain), the\n"
    "                          unfused one (gconv_chain_unfused, the baseline) and, on cuda with\n"
    "                          cuDNN, a layer-by-layer cuDNN pipeline (cudnn_layers); each output\n"
    "                          checked against the unfused chain's (--tol, default 1e-4)\n"
    "  --mb=N[,N...]           batch sizes (default 1)   --hw=N  input height = width (default 224)\n"
    "  --tag=nchw|nhwc         the chain's layout (default nchw)\n"
    "Problem flags (passed to the problem parser; last one wins):\n"
    "  --dir=fwd|bwd_d|bwd_w|all (or a comma list)  --dt=f32|f64|f16|bf16  --acc=  --mode=conv|xcorr\n"
    "  --math=default|tensor_op|tensor_op_conv|fma  --tag=nchw|nhwc  --stag= --wtag= --dtag=\n"
    "  --xstrides=n:c:... --ystrides=n:c:...\n"
    "On cuda the header gives the GPU, driver, runtime and cuDNN versions, the measured copy\n"
    "bandwidth and the fp32 FMA peak, and the table a '% roofline' column (fp32 problems without\n"
    "tensor-op math): max(flops / peak, min bytes / bandwidth) / median x 100.\n"
    "Exit status: 0 all checks passed, 1 a check failed or a problem/algorithm errored,\n"
    "2 usage error, 3 the backend is not available.\n";

struct Options {
    std::string backend = "cpu";
    std::vector<std::string> algos;  // empty: all of the backend
    std::string baseline = "reference";
    bool baselineGiven = false;  // else: reference on cpu, cudnn_find on cuda with cuDNN
    bool cudnnAll = false;
    double wsCapMb = 4096;
    int iters = 5, warmup = 1;
    double minTime = 0.1;
    long maxIters = 100000;
    int threads = 0;
    bool check = true, list = false;
    bool selectionOverhead = false;
    double tol = -1;
    double flushMb = -1;
    uint64_t seed = 1;
    std::string csv, json;
    std::vector<std::string> suites;
    std::vector<std::string> problemDefaults;  // problem flags given on the command line, in order
    std::vector<std::string> descriptors;      // positional problems
    std::vector<std::string> chains;           // chain mode: network names
    std::vector<int> batches{1};
    int hw = 224;
};

[[noreturn]] void usageError(const std::string& msg) {
    std::fprintf(stderr, "convx-bench: %s\n(see convx-bench --help)\n", msg.c_str());
    std::exit(kExitUsage);
}

long parseLong(const std::string& key, const std::string& v, long lo, long hi) {
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || errno || n < lo || n > hi)
        usageError("--" + key + "=" + v + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return n;
}

double parseDouble(const std::string& key, const std::string& v, double lo) {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || !std::isfinite(d) || d < lo) usageError("--" + key + "=" + v + ": expected a number >= " + std::to_string(lo));
    return d;
}

std::vector<std::string> splitList(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, sep))
        if (!part.empty()) out.push_back(part);
    return out;
}

bool isProblemFlag(const std::string& key) {
    static const char* const flags[] = {"dir", "dt", "acc", "mode", "math", "tag", "stag", "wtag", "dtag", "xstrides", "ystrides"};
    for (const char* f : flags)
        if (key == f) return true;
    return false;
}

Options parseArgs(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        }
        if (a == "--list") {
            o.list = true;
            continue;
        }
        if (a == "--cudnn-all") {
            o.cudnnAll = true;
            continue;
        }
        if (a == "--selection-overhead") {
            o.selectionOverhead = true;
            continue;
        }
        if (a.rfind("--", 0) != 0) {
            o.descriptors.push_back(a);
            continue;
        }
        const size_t eq = a.find('=');
        if (eq == std::string::npos) usageError("option '" + a + "' needs '=value'");
        const std::string key = a.substr(2, eq - 2), v = a.substr(eq + 1);
        if (key == "backend") {
            if (v != "cpu" && v != "cuda") usageError("--backend must be cpu or cuda");
            o.backend = v;
        } else if (key == "algo") {
            o.algos = splitList(v, ',');
        } else if (key == "baseline") {
            o.baseline = v == "none" ? std::string() : v;
            o.baselineGiven = true;
        } else if (key == "ws-cap-mb") {
            o.wsCapMb = parseDouble(key, v, 0);
        } else if (key == "iters") {
            o.iters = static_cast<int>(parseLong(key, v, 1, 100000000));
        } else if (key == "warmup") {
            o.warmup = static_cast<int>(parseLong(key, v, 0, 100000000));
        } else if (key == "min-time") {
            o.minTime = parseDouble(key, v, 0);
        } else if (key == "max-iters") {
            o.maxIters = parseLong(key, v, 1, 1000000000);
        } else if (key == "threads") {
            o.threads = static_cast<int>(parseLong(key, v, 0, 4096));
        } else if (key == "check") {
            if (v != "on" && v != "off") usageError("--check must be on or off");
            o.check = v == "on";
        } else if (key == "tol") {
            o.tol = parseDouble(key, v, 0);
        } else if (key == "flush-mb") {
            o.flushMb = parseDouble(key, v, 0);
        } else if (key == "seed") {
            o.seed = static_cast<uint64_t>(parseLong(key, v, 0, 2147483647));
        } else if (key == "csv") {
            o.csv = v;
        } else if (key == "json") {
            o.json = v;
        } else if (key == "chain") {
            o.chains = splitList(v, ',');
        } else if (key == "mb") {
            o.batches.clear();
            for (const std::string& b : splitList(v, ',')) o.batches.push_back(static_cast<int>(parseLong(key, b, 1, 65536)));
            if (o.batches.empty()) usageError("--mb needs at least one batch size");
        } else if (key == "hw") {
            o.hw = static_cast<int>(parseLong(key, v, 8, 4096));
        } else if (key == "suite") {
            o.suites.push_back(v);
        } else if (isProblemFlag(key)) {
            o.problemDefaults.push_back(a);
        } else {
            usageError("unknown option '" + a + "'");
        }
    }
    if (o.maxIters < o.iters) o.maxIters = o.iters;
    return o;
}

// ---------------------------------------------------------------- problem specs

// One problem as given: its flags and descriptor, the directions to run, an optional name.
struct Spec {
    std::string origin;  // "suite.txt:12" or "command line"
    std::string name;
    std::string dirs = "fwd";
    std::vector<std::string> flags;
    std::string descriptor;
    std::string error;
};

struct Instance {
    Spec spec;
    std::string dir;
    std::string text;  // what goes to parseProblem
};

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
    return s;
}

// tokens = command-line problem flags, then the problem's own tokens: later flags win.
Spec makeSpec(const std::vector<std::string>& tokens, const std::string& origin) {
    Spec s;
    s.origin = origin;
    for (const std::string& t : tokens) {
        if (t.rfind("--dir=", 0) == 0) {
            s.dirs = t.substr(6);
        } else if (t.rfind("--", 0) == 0) {
            s.flags.push_back(t);
        } else if (t[0] == '_') {
            s.name = t.substr(1);
        } else {
            std::string d = t;
            size_t us = d.find('_');
            if (us != std::string::npos) {
                s.name = d.substr(us + 1);
                d = d.substr(0, us);
            }
            if (!s.descriptor.empty() && s.error.empty()) s.error = "two descriptors ('" + s.descriptor + "', '" + d + "')";
            s.descriptor = d;
        }
    }
    if (s.descriptor.empty() && s.error.empty()) s.error = "no descriptor (e.g. g1mb1ic16ih8oc16kh3ph1)";
    return s;
}

std::vector<std::string> expandDirs(const std::string& dirs, std::string* error) {
    if (dirs == "all") return {"fwd", "bwd_d", "bwd_w"};
    std::vector<std::string> out;
    for (const std::string& d : splitList(dirs, ',')) {
        Direction dd;
        if (!convx::parseDirection(d.c_str(), &dd)) {
            *error = "unknown --dir '" + d + "' (fwd, bwd_d, bwd_w, all or a comma list)";
            return {};
        }
        out.push_back(convx::directionName(dd));
    }
    if (out.empty()) *error = "empty --dir";
    return out;
}

std::vector<Spec> gatherSpecs(const Options& o) {
    std::vector<Spec> specs;
    for (const std::string& path : o.suites) {
        std::ifstream f(path);
        if (!f) usageError("cannot open suite file '" + path + "'");
        std::string line;
        int lineNo = 0;
        while (std::getline(f, line)) {
            ++lineNo;
            size_t hash = line.find('#');
            if (hash != std::string::npos) line.resize(hash);
            std::istringstream is(line);
            std::vector<std::string> tokens = o.problemDefaults, own;
            std::string t;
            while (is >> t) own.push_back(t);
            if (own.empty()) continue;
            tokens.insert(tokens.end(), own.begin(), own.end());
            specs.push_back(makeSpec(tokens, path + ":" + std::to_string(lineNo)));
        }
    }
    for (const std::string& d : o.descriptors) {
        std::vector<std::string> tokens = o.problemDefaults;
        tokens.push_back(d);
        specs.push_back(makeSpec(tokens, "command line"));
    }
    return specs;
}

std::vector<Instance> expandInstances(const std::vector<Spec>& specs) {
    std::vector<Instance> out;
    for (const Spec& s : specs) {
        std::string err = s.error;
        std::vector<std::string> dirs;
        if (err.empty()) dirs = expandDirs(s.dirs, &err);
        if (!err.empty()) {
            Instance in{s, "", join(s.flags) + (s.flags.empty() ? "" : " ") + s.descriptor};
            in.spec.error = err;
            out.push_back(in);
            continue;
        }
        for (const std::string& d : dirs) {
            std::vector<std::string> parts{"--dir=" + d};
            parts.insert(parts.end(), s.flags.begin(), s.flags.end());
            parts.push_back(s.descriptor);
            out.push_back(Instance{s, d, join(parts)});
        }
    }
    return out;
}

// ---------------------------------------------------------------- tensors

// The logical elements of one tensor role: dims and element strides, outermost first.
struct TensorShape {
    int rank = 0;
    int64_t dims[CONVX_DIM_MAX] = {};
    int64_t strides[CONVX_DIM_MAX] = {};
    int64_t elems() const {
        int64_t n = 1;
        for (int i = 0; i < rank; ++i) n *= dims[i];
        return n;
    }
    int64_t span() const {  // largest offset + 1
        int64_t s = 1;
        for (int i = 0; i < rank; ++i) s += (dims[i] - 1) * strides[i];
        return s;
    }
    template <class F>
    void forEach(F&& f) const {  // f(offset), logical order
        int64_t idx[CONVX_DIM_MAX] = {};
        const int64_t n = elems();
        for (int64_t e = 0; e < n; ++e) {
            int64_t off = 0;
            for (int i = 0; i < rank; ++i) off += idx[i] * strides[i];
            f(off);
            for (int i = rank - 1; i >= 0; --i) {
                if (++idx[i] < dims[i]) break;
                idx[i] = 0;
            }
        }
    }
};

enum Role { kX = 0, kW = 1, kY = 2 };

TensorShape shapeOf(const Problem& p, Role r) {
    TensorShape t;
    t.rank = 2 + p.nsp;
    const convx::Strides ws = p.wStrides();
    for (int i = 0; i < t.rank; ++i) {
        const int sp = i - 2;
        switch (r) {
            case kX:
                t.dims[i] = i == 0 ? p.N : i == 1 ? p.C : p.in[sp];
                t.strides[i] = p.xStrides[i];
                break;
            case kW:
                t.dims[i] = i == 0 ? p.K : i == 1 ? p.Cg() : p.ker[sp];
                t.strides[i] = ws[i];
                break;
            case kY:
                t.dims[i] = i == 0 ? p.N : i == 1 ? p.K : p.out[sp];
                t.strides[i] = p.yStrides[i];
                break;
        }
    }
    return t;
}

Role outputRole(Direction d) { return d == Direction::Forward ? kY : d == Direction::BackwardData ? kX : kW; }

// splitmix64: a fixed, portable stream (std:: distributions differ between libraries).
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53 * 2.0 - 1.0; }  // [-1, 1)
};

// Uniform in [-1, 1], never zero (at least 2^-10 in magnitude, exact in every data type).
void fillRandom(std::vector<unsigned char>& buf, const TensorShape& t, DType dt, uint64_t seed) {
    Rng rng{seed};
    void* p = buf.data();
    t.forEach([&](int64_t off) {
        double v = rng.uniform();
        if (std::fabs(v) < 0x1.0p-10) v = v < 0 ? -0x1.0p-10 : 0x1.0p-10;
        convx::storeFromDouble(p, dt, off, v);
    });
}

// Relative L2 error of out against ref over the logical elements; NaN when out holds a NaN.
double relativeError(const void* out, const void* ref, const TensorShape& t, DType dt) {
    double num = 0, den = 0;
    t.forEach([&](int64_t off) {
        const double o = convx::loadAsDouble(out, dt, off), r = convx::loadAsDouble(ref, dt, off);
        num += (o - r) * (o - r);
        den += r * r;
    });
    if (std::isnan(num)) return NAN;
    return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

double toleranceFor(const Problem& p) {
    switch (p.dtype) {
        case DType::F64: return 1e-12;
        case DType::F32: return (p.math == CONVX_TENSOR_OP_MATH || p.math == CONVX_TENSOR_OP_MATH_ALLOW_CONVERSION) ? 1e-2 : 1e-5;
        case DType::F16: return p.accType == DType::F16 ? 1e-2 : 2e-3;
        case DType::BF16: return 1e-2;
    }
    return 1e-5;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string bytesText(double b) {
    if (b >= 1 << 30) return fmt("%.2f GiB", b / (1 << 30));
    if (b >= 1 << 20) return fmt("%.2f MiB", b / (1 << 20));
    return fmt("%.1f KiB", b / 1024);
}

// ---------------------------------------------------------------- the bench

struct Bench {
    Options opt;
    Device* dev = nullptr;
    ConvxApi* api = nullptr;
    std::vector<std::unique_ptr<Runner>> runners;  // convx's, baseline first
    size_t flushBytes = 0;
    int refThreads = 0;
    int minIters = 0;  // floor on the timed runs (20 on the GPU)
    // cuDNN called directly (cuda backend only): which of its columns, and the workspace cap.
    CudnnBench* cudnn = nullptr;
    bool wantFind = false, wantHeur = false;
    size_t wsCap = 0;
    std::string baseline2;  // the second ratio column (cudnn_heur), "" when none
    // The roofline (GPU): fp32 FMA peak and measured copy bandwidth; 0 = none.
    double peakGflops = 0, copyGBs = 0;

    std::vector<Row> runProblem(const Problem& p, const std::string& name);
};

constexpr size_t kAlign = 256;
size_t alignUp(size_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

std::vector<Row> Bench::runProblem(const Problem& p, const std::string& name) {
    Row tmpl;
    tmpl.problem = p.str();
    tmpl.name = name;
    tmpl.dir = convx::directionName(p.dir);
    tmpl.backend = convx::backendName(dev->backend());
    tmpl.baseline = opt.baseline;
    tmpl.baseline2 = baseline2;
    std::vector<Row> rows;
    auto problemError = [&](const std::string& msg) {
        Row r = tmpl;
        r.algo = "-";
        r.status = "error";
        r.check = "ERROR";
        r.message = msg;
        rows.push_back(r);
        return rows;
    };
    auto naRow = [&](const std::string& algo, const std::string& why) {
        Row row = tmpl;
        row.algo = algo;
        row.isBaseline = algo == opt.baseline;
        row.status = "n/a";
        row.check = "n/a";
        row.message = why;
        return row;
    };

    std::string note;
    try {
        note = api->setProblem(p);
    } catch (const std::exception& e) {
        return problemError(e.what());
    }
    if (!note.empty()) std::printf("  note: %s\n", note.c_str());

    // Which convx runners apply.
    std::vector<Runner*> active;
    std::vector<Row> naRows;
    for (auto& r : runners) {
        std::string why;
        bool ok = false;
        try {
            ok = r->prepare(p, &why);
        } catch (const std::exception& e) {
            why = e.what();
        }
        if (ok)
            active.push_back(r.get());
        else
            naRows.push_back(naRow(r->name(), why));
    }

    // cuDNN: its list for the problem (heuristic order) and the entries to time: all that are
    // supported and fit the workspace cap for Find-best (and --cudnn-all), else the top-1.
    std::vector<CudnnAlgo> cudnnList;
    std::vector<std::unique_ptr<Runner>> cudnnRunners;
    std::vector<size_t> cudnnEntry;  // cudnnList index of each runner
    std::vector<std::string> notSupported, overCap;
    std::string cudnnWhy;  // why no cuDNN column applies at all
    int heur = -1;
    const bool wantCudnn = cudnn && (wantFind || wantHeur || opt.cudnnAll);
    if (wantCudnn) {
        try {
            cudnnList = cudnn->setProblem(p);
        } catch (const std::exception& e) {
            cudnnWhy = std::string("cuDNN: ") + e.what();
        }
        for (size_t i = 0; i < cudnnList.size() && heur < 0; ++i)
            if (cudnnList[i].supported) heur = static_cast<int>(i);
        if (cudnnWhy.empty() && heur < 0) cudnnWhy = "cuDNN lists no supported algorithm for this problem";
        for (size_t i = 0; i < cudnnList.size(); ++i) {
            const CudnnAlgo& a = cudnnList[i];
            if (!(wantFind || opt.cudnnAll || static_cast<int>(i) == heur)) continue;
            std::string why;
            if (!a.supported) {
                notSupported.push_back(a.name + " (" + a.status + ")");
                why = a.status;
            } else if (a.workspace > wsCap) {
                why = "workspace " + bytesText(double(a.workspace)) + " > --ws-cap-mb " + bytesText(double(wsCap));
                overCap.push_back(a.name + " (" + why + ")");
            } else {
                try {
                    cudnnRunners.push_back(cudnn->makeRunner(a));
                    cudnnEntry.push_back(i);
                    continue;
                } catch (const std::exception& e) {
                    why = e.what();
                    notSupported.push_back(a.name + " (" + why + ")");
                }
            }
            if (opt.cudnnAll) naRows.push_back(naRow(a.label(), why));
        }
    }

    // Host tensors: the inputs random, everything else (gaps of strided tensors, the output)
    // NaN, so an algorithm reading what it must not read shows up as a failed check.
    const DType dt = p.dtype;
    const size_t es = convx::dtypeSize(dt);
    const Role outRole = outputRole(p.dir);
    TensorShape shape[3] = {shapeOf(p, kX), shapeOf(p, kW), shapeOf(p, kY)};
    size_t bytes[3], offset[3];
    size_t slotBytes = 0;
    for (int r = 0; r < 3; ++r) {
        bytes[r] = static_cast<size_t>(shape[r].span()) * es;
        offset[r] = slotBytes;
        slotBytes += alignUp(bytes[r]);
    }
    const double minTraffic = double(shape[kX].elems() + shape[kW].elems() + shape[kY].elems()) * double(es);
    size_t copies = flushBytes ? (flushBytes + slotBytes - 1) / slotBytes : 1;
    copies = std::max<size_t>(1, std::min<size_t>(copies, 65536));
    std::printf("  %.4g GFLOP, %s min traffic; %zu rotated buffer set%s of %s\n", p.flops() * 1e-9, bytesText(minTraffic).c_str(),
                copies, copies > 1 ? "s" : "", bytesText(double(slotBytes)).c_str());

    // The rows of the cuDNN columns when nothing of cuDNN's runs.
    auto cudnnColumnsNa = [&](const std::string& why) {
        if (wantFind) rows.push_back(naRow("cudnn_find", why));
        if (wantHeur) rows.push_back(naRow("cudnn_heur", why));
    };
    if (active.empty() && cudnnRunners.empty()) {
        if (wantCudnn) {
            std::string why = cudnnWhy;
            if (why.empty()) {
                why = "no cuDNN algorithm could run";
                if (!overCap.empty()) why += "; workspace over the cap: " + join(overCap, ", ");
                if (!notSupported.empty()) why += "; not supported: " + join(notSupported, ", ");
            }
            std::printf("  note: %s\n", why.c_str());
            cudnnColumnsNa(why);
        }
        rows.insert(rows.end(), naRows.begin(), naRows.end());
        return rows;
    }

    std::vector<unsigned char> host[3], golden;
    DeviceBuffer arena;
    try {
        for (int r = 0; r < 3; ++r) {
            host[r].assign(bytes[r], 0xFF);
            if (r != outRole) fillRandom(host[r], shape[r], dt, opt.seed * 1000003ull + 17ull * (r + 1) + static_cast<uint64_t>(p.dir) * 101ull);
        }
        arena = DeviceBuffer(*dev, slotBytes * copies);
        unsigned char* base = static_cast<unsigned char*>(arena.get());
        for (int r = 0; r < 3; ++r) dev->upload(base + offset[r], host[r].data(), bytes[r]);
        for (size_t c = 1; c < copies; ++c) dev->copy(base + c * slotBytes, base, slotBytes);
        dev->synchronize();
    } catch (const std::exception& e) {
        return problemError(std::string("cannot set up the buffers: ") + e.what());
    }
    auto slot = [&](size_t i) {
        unsigned char* b = static_cast<unsigned char*>(arena.get()) + (i % copies) * slotBytes;
        return Tensors{b + offset[kX], b + offset[kW], b + offset[kY]};
    };
    auto outPtr = [&](const Tensors& t) { return outRole == kX ? t.x : outRole == kW ? t.w : t.y; };

    // The oracle, computed once per problem on the same inputs. CPU: the reference algorithm's
    // own checked run (through the C API, first in line as the baseline) provides it, or else
    // the float64 host reference. CUDA: CONVX_ALGO_REFERENCE on the GPU through the C API (a
    // float64 sum per output element), run here on the first buffer set.
    bool haveGolden = false;
    const double tol = opt.tol >= 0 ? opt.tol : toleranceFor(p);
    const bool goldenFromRunner = dev->backend() == CONVX_BACKEND_CPU && !active.empty() && active.front()->name() == "reference";
    if (opt.check && !goldenFromRunner && dev->backend() == CONVX_BACKEND_CUDA) {
        try {
            const Tensors t = slot(0);
            DeviceBuffer ws(*dev, api->workspaceSize(CONVX_ALGO_REFERENCE));
            dev->fill(outPtr(t), 0xFF, bytes[outRole]);
            api->run(CONVX_ALGO_REFERENCE, t, ws.get(), ws.bytes());
            dev->synchronize();
            golden.assign(bytes[outRole], 0xFF);
            dev->download(golden.data(), outPtr(t), bytes[outRole]);
            haveGolden = true;
        } catch (const std::exception& e) {
            return problemError(std::string("the GPU reference (CONVX_ALGO_REFERENCE) failed: ") + e.what());
        }
    } else if (opt.check && !goldenFromRunner) {
        try {
            golden.assign(bytes[outRole], 0xFF);
            std::vector<unsigned char> in[3] = {host[0], host[1], host[2]};
            convx::Buffers b{in[kX].data(), in[kW].data(), in[kY].data()};
            (outRole == kX ? b.x : outRole == kW ? b.w : b.y) = golden.data();
            convx::referenceConvolution(p, b, convx::Scale{1.0, 0.0}, refThreads);
            haveGolden = true;
        } catch (const std::exception& e) {
            return problemError(std::string("reference failed: ") + e.what());
        }
    }

    // One runner: the checked run, warm-up, then timed runs over the rotated buffer sets until
    // both the run count (--iters, at least minIters) and --min-time are reached.
    const long iters = std::max<long>(opt.iters, minIters);
    const long maxIters = std::max<long>(opt.maxIters, iters);
    std::unique_ptr<Timer> timer = dev->makeTimer();
    std::vector<unsigned char> out(bytes[outRole]);
    auto measure = [&](Runner& runner) {
        Row row = tmpl;
        row.algo = runner.name();
        row.isBaseline = row.algo == opt.baseline;
        row.workspace = runner.workspaceBytes();
        row.check = opt.check ? "" : "off";
        row.message = runner.message();
        row.note = runner.note();
        try {
            DeviceBuffer ws(*dev, row.workspace);
            size_t next = 0;
            // A peer that works on its own copies (oneDNN's blocked formats, XNNPACK's NHWC) makes
            // them in beforeRun, once per buffer set. Made right before the timed run, they would
            // still be in cache and the peer's run warm while every other column's is cold, so the
            // copies are made `ahead` sets in advance: about the rotation's size of other sets'
            // traffic (twice the last-level cache) passes between a copy and its timed run.
            const size_t ahead = std::max<size_t>(1, copies / 2);
            size_t staged = 0;  // sets [0, staged) have had beforeRun
            auto stageUpTo = [&](size_t upTo) {
                for (; staged < upTo; ++staged) runner.beforeRun(slot(staged));
            };
            if (opt.check) {
                const Tensors t = slot(0);
                dev->fill(outPtr(t), 0xFF, bytes[outRole]);  // poison
                runner.beforeRun(t);
                runner.run(t, ws.get(), ws.bytes());
                runner.afterRun(t);
                dev->synchronize();
                dev->download(out.data(), outPtr(t), bytes[outRole]);
                if (!haveGolden) {
                    golden = out;
                    haveGolden = true;
                }
                row.relErr = relativeError(out.data(), golden.data(), shape[outRole], dt);
                row.check = row.relErr <= tol ? "PASS" : "FAIL";
                next = 1;
            }
            stageUpTo(next + ahead);
            for (int i = 0; i < opt.warmup; ++i) {
                stageUpTo(next + 1 + ahead);
                const Tensors t = slot(next++);
                runner.beforeRun(t);
                runner.run(t, ws.get(), ws.bytes());
                runner.afterRun(t);
            }
            dev->synchronize();
            std::vector<double> times;
            const auto t0 = std::chrono::steady_clock::now();
            auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
            while ((static_cast<long>(times.size()) < iters || elapsed() < opt.minTime) && static_cast<long>(times.size()) < maxIters) {
                stageUpTo(next + 1 + ahead);
                const Tensors t = slot(next++);
                runner.beforeRun(t);  // the copies exist already: only per-run set-up (XNNPACK's pointers)
                timer->start();
                runner.run(t, ws.get(), ws.bytes());
                timer->stop();
                times.push_back(timer->elapsedMs());
                runner.afterRun(t);
            }
            dev->synchronize();
            row.runs = static_cast<int>(times.size());
            row.medianMs = median(times);
            row.minMs = *std::min_element(times.begin(), times.end());
            row.gflops = p.flops() / (row.medianMs * 1e6);
            row.gbps = minTraffic / (row.medianMs * 1e6);
            row.status = "ok";
            // The timed runs must have computed the same thing as the checked one.
            if (opt.check && row.check == "PASS") {
                dev->download(out.data(), outPtr(slot(next - 1)), bytes[outRole]);
                const double e = relativeError(out.data(), golden.data(), shape[outRole], dt);
                if (!(e <= tol)) {
                    row.check = "FAIL";
                    row.message = "the timed runs' output differs from the reference: rel err " + fmt("%.1e", e) +
                                  (row.message.empty() ? "" : "; " + row.message);
                }
            }
        } catch (const std::exception& e) {
            row.status = "error";
            row.check = "ERROR";
            row.message = e.what();
        }
        return row;
    };

    // cuDNN first (its Find-best is the GPU's default baseline), then convx's runners.
    std::vector<Row> cudnnRows;
    for (auto& r : cudnnRunners) cudnnRows.push_back(measure(*r));
    std::vector<Row> convxRows;
    for (Runner* r : active) convxRows.push_back(measure(*r));

    if (wantCudnn) {
        // What was timed, what not, and why: one note line (kept in cudnn_find's row too).
        std::vector<std::string> timed, failed, failedCheck;
        int best = -1, bestAny = -1;
        for (size_t k = 0; k < cudnnRows.size(); ++k) {
            const Row& r = cudnnRows[k];
            const std::string n = cudnnList[cudnnEntry[k]].name;
            if (r.status != "ok") {
                failed.push_back(n + " (" + r.message + ")");
                continue;
            }
            timed.push_back(n + " " + fmt("%.4f ms", r.medianMs));
            if (r.check == "FAIL") failedCheck.push_back(n + " (" + (r.message.empty() ? fmt("rel err %.1e", r.relErr) : r.message) + ")");
            if (bestAny < 0 || r.medianMs < cudnnRows[bestAny].medianMs) bestAny = static_cast<int>(k);
            if (r.check != "FAIL" && (best < 0 || r.medianMs < cudnnRows[best].medianMs)) best = static_cast<int>(k);
        }
        if (best < 0) best = bestAny;  // every timed one failed the check: the fastest, as FAIL
        std::string cnote = "cuDNN " + std::to_string(cudnnList.size()) + " listed";
        if (heur >= 0) cnote += ", heuristic top-1 " + cudnnList[heur].name;
        cnote += "; timed: " + (timed.empty() ? std::string("none") : join(timed, ", "));
        if (!overCap.empty()) cnote += "; skipped, workspace over the cap: " + join(overCap, ", ");
        if (!failed.empty()) cnote += "; failed: " + join(failed, ", ");
        if (!failedCheck.empty()) cnote += "; failed the check: " + join(failedCheck, ", ");
        if (!notSupported.empty()) cnote += "; not supported: " + join(notSupported, ", ");
        if (!cudnnWhy.empty() && cudnnList.empty()) cnote = cudnnWhy;
        std::printf("  note: %s\n", cnote.c_str());

        auto derived = [&](int k, const std::string& column, const std::string& what) {
            Row r = cudnnRows[k];
            const CudnnAlgo& a = cudnnList[cudnnEntry[k]];
            r.algo = column;
            r.isBaseline = column == opt.baseline;
            r.message = a.name + " (algo " + std::to_string(a.algo) + ")" + what + (r.message.empty() ? "" : "; " + r.message);
            return r;
        };
        if (wantFind) {
            if (best >= 0) {
                const size_t passed = timed.size() - failedCheck.size();
                const std::string of = failedCheck.empty() || cudnnRows[best].check == "FAIL"
                                           ? ", fastest of " + std::to_string(timed.size()) + " timed"
                                           : ", fastest of " + std::to_string(passed) + " timed that passed the check";
                Row r = derived(best, "cudnn_find", of);
                r.note = cnote;
                rows.push_back(r);
            } else {
                Row r = naRow("cudnn_find", !cudnnWhy.empty() ? cudnnWhy : "no cuDNN algorithm ran: " + cnote);
                if (!failed.empty()) r.status = "error", r.check = "ERROR";
                r.note = cnote;
                rows.push_back(r);
            }
        }
        if (wantHeur) {
            int k = -1;
            for (size_t j = 0; j < cudnnEntry.size(); ++j)
                if (static_cast<int>(cudnnEntry[j]) == heur) k = static_cast<int>(j);
            if (k >= 0 && cudnnRows[k].status == "ok") {
                rows.push_back(derived(k, "cudnn_heur", ", Get_v7 top-1"));
            } else if (k >= 0) {
                Row r = cudnnRows[k];
                r.algo = "cudnn_heur";
                r.isBaseline = r.algo == opt.baseline;
                r.message = cudnnList[heur].name + ": " + r.message;
                rows.push_back(r);
            } else {
                const std::string why = heur >= 0 ? "cuDNN's heuristic top-1 " + cudnnList[heur].name + " was not run: " + cnote : cudnnWhy;
                rows.push_back(naRow("cudnn_heur", why));
            }
        }
    }
    rows.insert(rows.end(), convxRows.begin(), convxRows.end());
    if (opt.cudnnAll) rows.insert(rows.end(), cudnnRows.begin(), cudnnRows.end());
    std::stable_partition(rows.begin(), rows.end(), [](const Row& r) { return r.isBaseline; });  // the baseline first

    // Speedups over the baseline's median (and the second baseline's), and the roofline: the
    // time the fp32 FMA peak or the copy bandwidth allows, as a share of the median.
    double baseMs = NAN, base2Ms = NAN;
    for (const Row& r : rows) {
        if (r.status != "ok") continue;
        if (r.isBaseline) baseMs = r.medianMs;
        if (!baseline2.empty() && r.algo == baseline2) base2Ms = r.medianMs;
    }
    const bool fp32Fma = p.dtype == DType::F32 && p.math != CONVX_TENSOR_OP_MATH && p.math != CONVX_TENSOR_OP_MATH_ALLOW_CONVERSION;
    const double rooflineMs =
        peakGflops > 0 && copyGBs > 0 && fp32Fma ? std::max(p.flops() / (peakGflops * 1e9), minTraffic / (copyGBs * 1e9)) * 1e3 : NAN;
    for (Row& r : rows) {
        if (r.status != "ok") continue;
        if (std::isfinite(baseMs)) r.speedup = baseMs / r.medianMs;
        if (std::isfinite(base2Ms)) r.speedup2 = base2Ms / r.medianMs;
        if (std::isfinite(rooflineMs)) r.rooflinePct = rooflineMs / r.medianMs * 100.0;
    }
    rows.insert(rows.end(), naRows.begin(), naRows.end());
    return rows;
}

int listProblems(const std::vector<Instance>& instances) {
    int errors = 0;
    for (const Instance& in : instances) {
        try {
            if (!in.spec.error.empty()) throw std::runtime_error(in.spec.error);
            Problem p = convx::parseProblem(in.text);
            const std::string s = p.str();
            if (convx::parseProblem(s) != p) throw std::runtime_error("'" + s + "' does not parse back to the same problem");
            std::printf("%s%s\n", s.c_str(), in.spec.name.empty() ? "" : ("_" + in.spec.name).c_str());
        } catch (const std::exception& e) {
            ++errors;
            std::fprintf(stderr, "convx-bench: %s: '%s': %s\n", in.spec.origin.c_str(), in.text.c_str(), e.what());
        }
    }
    return errors ? kExitFailed : 0;
}

std::string versionText() {
    const size_t v = convxGetVersion();
    return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

int benchMain(int argc, char** argv) {
    Bench b;
    b.opt = parseArgs(argc, argv);
    const bool onGpu = b.opt.backend == "cuda";
    // The default baseline: cuDNN's Find-best on the GPU (when built with cuDNN), else the
    // reference; on the GPU with cuDNN, the heuristic top-1 is the second ratio column.
    if (!b.opt.baselineGiven) b.opt.baseline = onGpu && builtWithCudnn() ? "cudnn_find" : "reference";
    if (!onGpu) {
        if (b.opt.cudnnAll) usageError("--cudnn-all needs --backend=cuda");
        for (const std::string& n : b.opt.algos)
            if (isCudnnColumn(n)) usageError("--algo=" + n + " needs --backend=cuda");
        if (isCudnnColumn(b.opt.baseline)) usageError("--baseline=" + b.opt.baseline + " needs --backend=cuda");
    }
    const Options& o = b.opt;
    const bool chainMode = !o.chains.empty();
    for (const std::string& n : o.chains)
        if (n != "resnet50" && n != "mobilenetv2") usageError("--chain=" + n + ": the networks are resnet50 and mobilenetv2");
    const std::vector<Spec> specs = chainMode ? std::vector<Spec>{} : gatherSpecs(o);
    if (specs.empty() && !chainMode) usageError("no problem given (a descriptor or --suite=FILE)");
    const std::vector<Instance> instances = expandInstances(specs);
    if (o.list) return listProblems(instances);
    if (o.selectionOverhead) {
        std::vector<std::string> texts;
        for (const Instance& in : instances)
            if (in.spec.error.empty()) texts.push_back(in.text);
        return selectionOverhead(o.backend, texts, std::max(o.minTime, 0.05));
    }

    // Device, handle, runners.
    const convxBackend_t backend = o.backend == "cuda" ? CONVX_BACKEND_CUDA : CONVX_BACKEND_CPU;
    std::unique_ptr<Device> dev;
    if (backend == CONVX_BACKEND_CUDA) {
        std::string why;
        dev = makeCudaDevice(&why);
        if (!dev) {
            std::fprintf(stderr, "convx-bench: the cuda backend is not available: %s\n", why.c_str());
            return kExitBackend;
        }
    } else {
        dev = makeCpuDevice();
    }
    std::unique_ptr<ConvxApi> api;
    try {
        api = std::make_unique<ConvxApi>(backend, o.threads, dev->stream());
    } catch (const RunError& e) {
        std::fprintf(stderr, "convx-bench: cannot create a convx handle on the %s backend: %s\n", o.backend.c_str(), e.what());
        return CONVX_STATUS_CATEGORY(e.status()) == CONVX_STATUS_NOT_SUPPORTED ? kExitBackend : kExitFailed;
    }
    b.dev = dev.get();
    b.api = api.get();

    // "all" (or nothing) = every algorithm of the backend, and on the GPU with cuDNN both cuDNN
    // columns; on the GPU with cuDNN, cudnn_heur is always run as the second ratio column.
    // "all" also brings the peers: oneDNN's columns on the CPU (built with oneDNN) and the
    // zero-insertion baseline on both backends.
    std::vector<std::string> names;
    for (const std::string& n : o.algos.empty() ? std::vector<std::string>{"all"} : o.algos) {
        std::vector<std::string> add = n == "all" ? backendAlgorithms(backend) : std::vector<std::string>{n};
        if (n == "all" && onGpu && builtWithCudnn()) add.insert(add.begin(), {"cudnn_find", "cudnn_heur"});
        if (n == "all" && !onGpu)
            for (const auto& cols : {onednnColumns(), xnnpackColumns(), torchColumns()})
                for (const std::string& c : cols) add.push_back(c);
        if (n == "all") add.push_back(kZeroInsColumn);
        if (n == "all") add.push_back("auto");  // the selector's pick, timed like the others: AUTO vs the best path
        for (const std::string& a : add)
            if (std::find(names.begin(), names.end(), a) == names.end()) names.push_back(a);
    }
    if (onGpu && builtWithCudnn() && o.baseline != "cudnn_heur") {
        b.baseline2 = "cudnn_heur";
        if (std::find(names.begin(), names.end(), b.baseline2) == names.end()) names.push_back(b.baseline2);
    }
    if (!o.baseline.empty()) {
        names.erase(std::remove(names.begin(), names.end(), o.baseline), names.end());
        names.insert(names.begin(), o.baseline);
    }
    for (const std::string& n : chainMode ? std::vector<std::string>{} : names) {
        if (isCudnnColumn(n)) {
            (n == "cudnn_find" ? b.wantFind : b.wantHeur) = true;
            continue;
        }
        std::string why;
        std::unique_ptr<Runner> r = makeRunner(n, *api, &why);
        if (!r) usageError("--algo/--baseline: " + why);
        b.runners.push_back(std::move(r));
    }

    // cuDNN, called directly on the bench's stream.
    std::unique_ptr<CudnnBench> cudnn;
    if (!chainMode && (b.wantFind || b.wantHeur || o.cudnnAll)) {
        if (!builtWithCudnn()) usageError("the cuDNN columns (cudnn_find, cudnn_heur, --cudnn-all) need convx-bench built with cuDNN");
        std::string why;
        cudnn = makeCudnnBench(dev->stream(), &why);
        if (!cudnn) {
            std::fprintf(stderr, "convx-bench: cannot use cuDNN: %s\n", why.c_str());
            return kExitFailed;
        }
        b.cudnn = cudnn.get();
        b.wsCap = static_cast<size_t>(std::min(o.wsCapMb * 1048576.0, 1e18));
    }

    // The GPU: its facts, the roofline (fp32 FMA peak from the SM count, the FP32 lanes of its
    // compute capability and the clock; the measured device copy bandwidth), 20+ timed runs.
    GpuFacts gpu;
    const bool haveGpu = dev->gpuFacts(&gpu);
    std::string copyHow;
    if (haveGpu) {
        b.minIters = 20;
        b.peakGflops = gpu.fp32PeakGflops();
        try {
            b.copyGBs = dev->measureCopyBandwidth(0, 0, &copyHow);
        } catch (const std::exception& e) {
            b.copyGBs = 0;
            copyHow = std::string("not measured: ") + e.what();
        }
    }

    int threads = api->threads();
#ifdef _OPENMP
    if (threads == 0) threads = omp_get_max_threads();
#else
    if (threads == 0) threads = 1;
#endif
    b.refThreads = o.threads;
    const size_t cache = dev->cacheBytes();
    if (o.flushMb >= 0)
        b.flushBytes = static_cast<size_t>(o.flushMb * 1048576.0);
    else
        b.flushBytes = std::min<size_t>(cache ? 2 * cache : size_t(64) << 20, size_t(1) << 30);

    // The CPU's roofline: its copy bandwidth and fp32 FMA peak, measured here with the run's
    // thread count (about a second; not for a listing or a chain run).
    std::string peakHow;
    if (!haveGpu && backend == CONVX_BACKEND_CPU && !chainMode) {
        b.copyGBs = dev->measureCopyBandwidth(threads, b.flushBytes, &copyHow);
        b.peakGflops = dev->measureFp32Peak(threads, &peakHow);
    }

    RunInfo info;
    info.backend = o.backend;
    info.device = dev->description();
    info.driver = dev->driver();
    info.cpuModel = cpuModel();
    info.cpuCores = cpuCores();
    info.os = osDescription();
    info.compiler = std::string(CONVX_BENCH_COMPILER) + " (" + __VERSION__ + ")";
    info.convxVersion = versionText();
    info.gitCommit = CONVX_GIT_COMMIT;
    info.date = isoDateUtc();
    info.threads = backend == CONVX_BACKEND_CPU ? threads : 0;
    info.iters = o.iters;
    info.warmup = o.warmup;
    info.minTime = o.minTime;
    info.flushBytes = b.flushBytes;
    info.baseline = o.baseline;
    info.baseline2 = b.baseline2;
    info.check = o.check;
    info.haveGpu = haveGpu;
    info.gpu = gpu;
    info.cudnnVersion = cudnn ? cudnn->version() : std::string();
    for (const auto& r : b.runners)
        if (isOnednnColumn(r->name())) info.onednnVersion = onednnVersion();
        else if (r->name() == kXnnpackColumn) info.xnnpackVersion = xnnpackVersion();
        else if (isTorchColumn(r->name())) info.torchVersion = torchVersion();
    info.copyGBs = b.copyGBs;
    info.copyHow = copyHow;
    info.fp32PeakGflops = b.peakGflops;
    info.peakHow = peakHow;
    info.wsCapBytes = cudnn ? double(b.wsCap) : 0;
    info.minIters = b.minIters;
    for (int i = 0; i < argc; ++i) info.command += (i ? " " : "") + std::string(argv[i]);

    std::printf("convx-bench %s (git %s), backend %s: %s\n", info.convxVersion.c_str(), info.gitCommit.c_str(), o.backend.c_str(),
                info.device.c_str());
    std::printf("threads %d; %d warm-up + at least %d timed runs and %.3g s per algorithm, median reported; rotation over %s "
                "(cache %s); baseline %s; check %s\n\n",
                threads, o.warmup, std::max(o.iters, b.minIters), o.minTime, bytesText(double(b.flushBytes)).c_str(),
                bytesText(double(cache)).c_str(), chainMode ? "gconv_chain_unfused" : o.baseline.empty() ? "none" : o.baseline.c_str(),
                o.check ? "on" : "off");
    if (!info.onednnVersion.empty()) std::printf("onednn: %s\n", info.onednnVersion.c_str());
    if (!info.xnnpackVersion.empty()) std::printf("xnnpack: %s\n", info.xnnpackVersion.c_str());
    if (!info.torchVersion.empty()) std::printf("torch: %s\n", info.torchVersion.c_str());
    if (!info.onednnVersion.empty() || !info.xnnpackVersion.empty() || !info.torchVersion.empty()) std::printf("\n");
    if (haveGpu || b.copyGBs > 0) {
        // The device's lines of the header block (the same lines head the CSV and fill the JSON).
        for (const std::string& line : headerLines(info))
            for (const char* key : {"gpu:", "cuda:", "cudnn:", "copy_bandwidth:", "fp32_peak:", "roofline:", "baseline:", "cudnn_workspace_cap:"})
                if (line.rfind(key, 0) == 0) std::printf("%s\n", line.c_str());
        std::printf("\n");
    }
    TableStyle style{o.baseline, b.baseline2, b.peakGflops > 0 && b.copyGBs > 0};
    if (chainMode) {
        style = TableStyle{"gconv_chain_unfused", "", false};
        info.baseline = style.baseline;
        info.baseline2.clear();
    }

    const auto wall0 = std::chrono::steady_clock::now();
    std::vector<Row> all;
    if (chainMode) {
        ChainBenchOptions co;
        co.nets = o.chains;
        co.batches = o.batches;
        co.hw = o.hw;
        for (const std::string& f : o.problemDefaults)
            if (f == "--tag=nhwc") co.nhwc = true;
        co.threads = o.threads;
        co.iters = o.iters, co.warmup = o.warmup, co.minIters = b.minIters, co.minTime = o.minTime, co.maxIters = o.maxIters;
        co.seed = o.seed;
        co.check = o.check;
        if (o.tol >= 0) co.tol = o.tol;
        co.cudnn = onGpu && builtWithCudnn();
        std::vector<Row> rows = runChainBench(*dev, co);
        for (size_t i = 0; i < rows.size();) {
            size_t j = i;
            while (j < rows.size() && rows[j].problem == rows[i].problem) ++j;
            printProblemTable(stdout, std::vector<Row>(rows.begin() + i, rows.begin() + j), style);
            std::printf("\n");
            i = j;
        }
        all = rows;
    }
    for (size_t i = 0; i < instances.size(); ++i) {
        const Instance& in = instances[i];
        std::printf("[%zu/%zu] %s%s%s\n", i + 1, instances.size(), in.spec.name.empty() ? "" : in.spec.name.c_str(),
                    in.spec.name.empty() ? "" : "  ", in.text.c_str());
        std::vector<Row> rows;
        Problem p;
        std::string err = in.spec.error;
        if (err.empty()) {
            try {
                p = convx::parseProblem(in.text);
            } catch (const std::exception& e) {
                err = e.what();
            }
        }
        if (!err.empty()) {
            Row r;
            r.problem = in.text;
            r.name = in.spec.name;
            r.dir = in.dir;
            r.algo = "-";
            r.backend = o.backend;
            r.status = "error";
            r.check = "ERROR";
            r.message = in.spec.origin + ": " + err;
            rows.push_back(r);
        } else {
            rows = b.runProblem(p, in.spec.name);
        }
        printProblemTable(stdout, rows, style);
        std::printf("\n");
        all.insert(all.end(), rows.begin(), rows.end());
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();

    printSummary(stdout, all, style);
    int failed = 0, errors = 0;
    for (const Row& r : all) {
        failed += r.check == "FAIL";
        errors += r.status == "error";
    }
    std::printf("%zu problem runs, %d checks failed, %d errors; %.1f s\n", chainMode ? all.size() : instances.size(), failed, errors, wall);
    try {
        if (!o.csv.empty()) writeCsv(o.csv, info, all), std::printf("wrote %s\n", o.csv.c_str());
        if (!o.json.empty()) writeJson(o.json, info, all), std::printf("wrote %s\n", o.json.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "convx-bench: %s\n", e.what());
        return kExitFailed;
    }
    return failed || errors ? kExitFailed : 0;
}

}  // namespace
}  // namespace convxbench

int main(int argc, char** argv) { return convxbench::benchMain(argc, argv); }
