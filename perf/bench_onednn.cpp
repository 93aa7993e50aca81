// The oneDNN columns (see bench_onednn.h). Without CONVX_BENCH_HAVE_ONEDNN only the stubs at
// the end are built.
#include "bench_onednn.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef CONVX_BENCH_HAVE_ONEDNN
#include <dnnl.hpp>
#endif

namespace convxbench {

bool isOnednnColumn(const std::string& name) { return name == "onednn" || name == "onednn_any" || name == "onednn_deconv"; }

#ifdef CONVX_BENCH_HAVE_ONEDNN

namespace {

using convx::Direction;
using convx::Layout;
using convx::Problem;
using dnnl::memory;
using tag = dnnl::memory::format_tag;

// oneDNN's thread count is the OpenMP one of the calling thread at primitive creation and at
// execution; the bench's --threads applies to it as to convx (0 leaves the OpenMP default).
class ThreadScope {
public:
    explicit ThreadScope(int threads) {
#ifdef _OPENMP
        if (threads > 0) {
            saved_ = omp_get_max_threads();
            omp_set_num_threads(threads);
        }
#else
        (void)threads;
#endif
    }
    ~ThreadScope() {
#ifdef _OPENMP
        if (saved_ > 0) omp_set_num_threads(saved_);
#endif
    }
    ThreadScope(const ThreadScope&) = delete;
    ThreadScope& operator=(const ThreadScope&) = delete;

private:
    int saved_ = 0;
};

dnnl::engine& cpuEngine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

enum class Column { Plain, Any, Deconv };

// Tensor roles of the bench (Tensors::x, w, y) and the oneDNN argument each one is.
enum Role { kX = 0, kW = 1, kY = 2 };

// One operand of the primitive: the user's memory (the problem's layout and strides) and the
// primitive's (the same, or oneDNN's pick with format_tag::any); when they differ, one copy in
// the primitive's format per user buffer (the bench rotates several buffer sets), filled by a
// reorder outside the timing.
struct Operand {
    Role role = kX;
    int arg = 0;
    bool output = false;
    memory::desc user, prim;
    memory primMem;  // bound to the current buffer before each execution
    struct Copy {
        void* data = nullptr;
        bool filled = false;  // inputs: reordered once (the bench never changes its inputs)
    };
    std::map<void*, Copy> copies;
    bool same() const { return user == prim; }
    Operand() = default;
    Operand(const Operand&) = delete;
    Operand& operator=(const Operand&) = delete;
    ~Operand() {
        for (auto& c : copies) std::free(c.second.data);
    }
};

memory::dims dimsOf(std::initializer_list<int64_t> lead, const Problem& p, const convx::Dims& spatial) {
    memory::dims d(lead.begin(), lead.end());
    for (int i = 0; i < p.nsp; ++i) d.push_back(spatial[i]);
    return d;
}

// x (or dx) / y (or dy) as the problem lays them out: plain, with its element strides.
memory::desc activationDesc(const Problem& p, Role r) {
    const bool isX = r == kX;
    const memory::dims dims = dimsOf({p.N, isX ? p.C : p.K}, p, isX ? p.in : p.out);
    const convx::Strides& s = isX ? p.xStrides : p.yStrides;
    return memory::desc(dims, memory::data_type::f32, memory::dims(s.begin(), s.begin() + 2 + p.nsp));
}

// The filter (K, C/G, spatial) in the problem's layout. Convolution: (G, K/G, C/G, spatial) with
// groups, (K, C, spatial) without. Deconvolution (the transposed view: input channels K, output
// channels C): the same memory read as (G, C/G, K/G, spatial), (C, K, spatial) without groups.
memory::desc filterDesc(const Problem& p, bool transposed) {
    const convx::Strides ws = p.wStrides();
    memory::dims dims, strides;
    if (p.G > 1) {
        dims = {p.G, transposed ? p.Cg() : p.Kg(), transposed ? p.Kg() : p.Cg()};
        strides = {p.Kg() * ws[0], transposed ? ws[1] : ws[0], transposed ? ws[0] : ws[1]};
    } else {
        dims = {transposed ? p.C : p.K, transposed ? p.K : p.C};
        strides = {transposed ? ws[1] : ws[0], transposed ? ws[0] : ws[1]};
    }
    for (int i = 0; i < p.nsp; ++i) {
        dims.push_back(p.ker[i]);
        strides.push_back(ws[2 + i]);
    }
    return memory::desc(dims, memory::data_type::f32, strides);
}

memory::desc anyLike(const memory::desc& d) { return memory::desc(d.dims(), memory::data_type::f32, tag::any); }

const char* runtimeName(unsigned r) {
    switch (r) {
        case DNNL_RUNTIME_SEQ: return "sequential";
        case DNNL_RUNTIME_OMP: return "OpenMP";
        case DNNL_RUNTIME_TBB: return "TBB";
        case DNNL_RUNTIME_THREADPOOL: return "threadpool";
    }
    return "other";
}

class OnednnRunner final : public Runner {
public:
    OnednnRunner(Column c, int threads) : col_(c), threads_(threads) {}

    std::string name() const override { return col_ == Column::Plain ? "onednn" : col_ == Column::Any ? "onednn_any" : "onednn_deconv"; }

    bool prepare(const Problem& p, std::string* why) override {
        prim_ = dnnl::primitive();
        ops_.clear();
        message_.clear();
        note_.clear();
        scratchBytes_ = 0;
        if (col_ == Column::Deconv && p.dir != Direction::BackwardData) {
            *why = "a deconvolution is the transposed view of backward-data (bwd_d problems only)";
            return false;
        }
        if (p.dtype != convx::DType::F32 || p.accType != convx::DType::F32) {
            *why = std::string("oneDNN runs here in fp32 only (data ") + convx::dtypeName(p.dtype) + ", accumulation " +
                   convx::dtypeName(p.accType) + ")";
            return false;
        }
        if (p.mode == CONVX_CONVOLUTION) {
            *why = "oneDNN has cross-correlation only (CONVOLUTION mode mirrors the taps)";
            return false;
        }
        try {
            ThreadScope threads(threads_);
            build(p);
        } catch (const dnnl::error& e) {
            *why = std::string("oneDNN: ") + (e.status == dnnl_unimplemented ? "no implementation for this problem: " : "") + e.what();
            return false;
        } catch (const std::exception& e) {
            *why = std::string("oneDNN: ") + e.what();
            return false;
        }
        return true;
    }

    size_t workspaceBytes() const override { return scratchBytes_; }

    void run(const Tensors& t, void* ws, size_t bytes) override {
        if (bytes < scratchBytes_) throw RunError(CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "oneDNN scratchpad larger than the workspace");
        void* ptr[3] = {t.x, t.w, t.y};
        try {
            ThreadScope threads(threads_);
            std::unordered_map<int, memory> args;
            for (auto& op : ops_) {
                Operand& o = *op;
                o.primMem.set_data_handle(o.same() ? ptr[o.role] : o.copies.at(ptr[o.role]).data);
                args.insert({o.arg, o.primMem});
            }
            if (scratchBytes_) {
                scratch_.set_data_handle(ws);
                args.insert({DNNL_ARG_SCRATCHPAD, scratch_});
            }
            prim_.execute(stream_, args);
            stream_.wait();
        } catch (const std::exception& e) {
            throw RunError(CONVX_STATUS_EXECUTION_FAILED, std::string("oneDNN: ") + e.what());
        }
    }

    // onednn_any: the inputs in oneDNN's formats before a run, the output back after it, both
    // outside the timing (one copy per user buffer, so the rotation still keeps runs cold).
    void beforeRun(const Tensors& t) override {
        void* ptr[3] = {t.x, t.w, t.y};
        ThreadScope threads(threads_);
        for (auto& op : ops_) {
            Operand& o = *op;
            if (o.same()) continue;
            Operand::Copy& c = o.copies[ptr[o.role]];
            if (!c.data) {
                const size_t n = (o.prim.get_size() + 63) / 64 * 64;
                c.data = std::aligned_alloc(64, std::max<size_t>(n, 64));
                if (!c.data) throw std::runtime_error("cannot allocate oneDNN's copy of an operand");
                std::memset(c.data, 0, std::max<size_t>(n, 64));  // its pages faulted in now, not in a timed run
            }
            if (o.output || c.filled) continue;
            memory from(o.user, cpuEngine(), ptr[o.role]), to(o.prim, cpuEngine(), c.data);
            dnnl::reorder(from, to).execute(stream_, from, to);
            stream_.wait();
            c.filled = true;
        }
    }
    void afterRun(const Tensors& t) override {
        void* ptr[3] = {t.x, t.w, t.y};
        ThreadScope threads(threads_);
        for (auto& op : ops_) {
            const Operand& o = *op;
            if (o.same() || !o.output) continue;
            memory from(o.prim, cpuEngine(), o.copies.at(ptr[o.role]).data), to(o.user, cpuEngine(), ptr[o.role]);
            dnnl::reorder(from, to).execute(stream_, from, to);
            stream_.wait();
        }
    }

    std::string message() const override { return message_; }
    std::string note() const override { return note_; }

private:
    void addOperand(Role r, int arg, bool output, const memory::desc& user, const memory::desc& prim) {
        ops_.push_back(std::make_unique<Operand>());
        Operand& o = *ops_.back();
        o.role = r;
        o.arg = arg;
        o.output = output;
        o.user = user;
        o.prim = prim;
        o.primMem = memory(prim, cpuEngine(), DNNL_MEMORY_NONE);
    }

    void build(const Problem& p) {
        dnnl::engine& eng = cpuEngine();
        stream_ = dnnl::stream(eng);
        memory::dims strides, dil, padL, padR;
        for (int i = 0; i < p.nsp; ++i) {
            strides.push_back(p.stride[i]);
            dil.push_back(p.dil[i] - 1);  // oneDNN counts dilation from 0
            // Symmetric padding: oneDNN checks (in + padL + padR - extent) / stride + 1 == out
            // with C division, which the problem's floor-division output size satisfies.
            padL.push_back(p.pad[i]);
            padR.push_back(p.pad[i]);
        }
        const bool any = col_ == Column::Any;
        const memory::desc x = activationDesc(p, kX), y = activationDesc(p, kY), w = filterDesc(p, col_ == Column::Deconv);
        const memory::desc xa = any ? anyLike(x) : x, ya = any ? anyLike(y) : y, wa = any ? anyLike(w) : w;
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        const auto algo = dnnl::algorithm::convolution_direct;
        std::string impl;
        memory::desc scratch;
        if (col_ == Column::Deconv) {
            // dx = deconvolution(dy): source dy (K channels), destination dx (C channels).
            dnnl::deconvolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct, y, w, x, strides,
                                                dil, padL, padR);
            dnnl::deconvolution_forward::primitive_desc pd(d, attr, eng);
            addOperand(kY, DNNL_ARG_SRC, false, y, pd.src_desc());
            addOperand(kW, DNNL_ARG_WEIGHTS, false, w, pd.weights_desc());
            addOperand(kX, DNNL_ARG_DST, true, x, pd.dst_desc());
            impl = pd.impl_info_str();
            scratch = pd.scratchpad_desc();
            prim_ = dnnl::deconvolution_forward(pd);
        } else if (p.dir == Direction::Forward) {
            dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, algo, xa, wa, ya, strides, dil, padL, padR);
            dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
            addOperand(kX, DNNL_ARG_SRC, false, x, pd.src_desc());
            addOperand(kW, DNNL_ARG_WEIGHTS, false, w, pd.weights_desc());
            addOperand(kY, DNNL_ARG_DST, true, y, pd.dst_desc());
            impl = pd.impl_info_str();
            scratch = pd.scratchpad_desc();
            prim_ = dnnl::convolution_forward(pd);
        } else {
            // The backward primitives take a forward (training) primitive descriptor as a hint.
            dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, algo, xa, wa, ya, strides, dil, padL, padR);
            dnnl::convolution_forward::primitive_desc hint(fd, eng);
            if (p.dir == Direction::BackwardData) {
                dnnl::convolution_backward_data::desc d(algo, xa, wa, ya, strides, dil, padL, padR);
                dnnl::convolution_backward_data::primitive_desc pd(d, attr, eng, hint);
                addOperand(kY, DNNL_ARG_DIFF_DST, false, y, pd.diff_dst_desc());
                addOperand(kW, DNNL_ARG_WEIGHTS, false, w, pd.weights_desc());
                addOperand(kX, DNNL_ARG_DIFF_SRC, true, x, pd.diff_src_desc());
                impl = pd.impl_info_str();
                scratch = pd.scratchpad_desc();
                prim_ = dnnl::convolution_backward_data(pd);
            } else {
                dnnl::convolution_backward_weights::desc d(algo, xa, wa, ya, strides, dil, padL, padR);
                dnnl::convolution_backward_weights::primitive_desc pd(d, attr, eng, hint);
                addOperand(kX, DNNL_ARG_SRC, false, x, pd.src_desc());
                addOperand(kY, DNNL_ARG_DIFF_DST, false, y, pd.diff_dst_desc());
                addOperand(kW, DNNL_ARG_DIFF_WEIGHTS, true, w, pd.diff_weights_desc());
                impl = pd.impl_info_str();
                scratch = pd.scratchpad_desc();
                prim_ = dnnl::convolution_backward_weights(pd);
            }
        }
        scratchBytes_ = scratch.get_size();
        scratch_ = memory(scratch, eng, DNNL_MEMORY_NONE);

        std::string reordered;  // the roles whose formats oneDNN changed
        for (const auto& o : ops_)
            if (!o->same()) reordered += std::string(reordered.empty() ? "" : ",") + (o->role == kX ? "x" : o->role == kW ? "w" : "y");
        message_ = impl + (reordered.empty() ? "" : ", reordered " + reordered);
        const char* primName = col_ == Column::Deconv             ? "deconvolution_forward (forward_inference)"
                               : p.dir == Direction::Forward      ? "convolution_forward (forward_inference)"
                               : p.dir == Direction::BackwardData ? "convolution_backward_data"
                                                                  : "convolution_backward_weights";
        note_ = "oneDNN " + onednnVersion() + " " + primName + ", implementation " + impl + "; " +
                (any ? "format_tag::any (oneDNN's formats), reorders of " + (reordered.empty() ? std::string("nothing") : reordered) +
                           " outside the timing"
                     : std::string("the problem's layouts and strides, no reorder")) +
                "; alpha 1, beta 0; scratchpad " + std::to_string(scratchBytes_) + " bytes (the bench's workspace)";
    }

    Column col_;
    int threads_;
    dnnl::primitive prim_;
    dnnl::stream stream_;
    std::vector<std::unique_ptr<Operand>> ops_;
    memory scratch_;
    size_t scratchBytes_ = 0;
    std::string message_, note_;
};

}  // namespace

std::vector<std::string> onednnColumns() { return {"onednn", "onednn_any", "onednn_deconv"}; }

std::unique_ptr<Runner> makeOnednnRunner(const std::string& name, ConvxApi& api, std::string* why) {
    if (api.backend() != CONVX_BACKEND_CPU) {
        *why = "'" + name + "' runs on the cpu backend only";
        return nullptr;
    }
    const Column c = name == "onednn" ? Column::Plain : name == "onednn_any" ? Column::Any : Column::Deconv;
    return std::make_unique<OnednnRunner>(c, api.threads());
}

bool builtWithOnednn() { return true; }

std::string onednnVersion() {
    const dnnl_version_t* v = dnnl::version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " (git " + v->hash +
           ", CPU runtime " + runtimeName(v->cpu_runtime) + ")";
}

#else  // !CONVX_BENCH_HAVE_ONEDNN

std::vector<std::string> onednnColumns() { return {}; }

std::unique_ptr<Runner> makeOnednnRunner(const std::string& name, ConvxApi&, std::string* why) {
    *why = "'" + name + "' needs convx-bench built with oneDNN (CONVX_BENCH_HAVE_ONEDNN is off: libdnnl-dev not found, or CONVX_BENCH_ONEDNN=OFF)";
    return nullptr;
}

bool builtWithOnednn() { return false; }

std::string onednnVersion() { return ""; }

#endif

}  // namespace convxbench
