// The Algorithm interface: one id, one name, one backend, the directions it serves, whether
// it applies to a problem (and why not), the workspace it needs, and how it runs.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "context.h"
#include "convx/convx.h"
#include "problem.h"

namespace convx {

// Tensors by role. Forward reads x, w and writes y; BackwardData reads w, y (= dy) and writes
// x (= dx); BackwardFilter reads x, y (= dy) and writes w (= dw).
struct Buffers {
    void* x = nullptr;
    void* w = nullptr;
    void* y = nullptr;
};

// out = alpha * result + beta * out; beta == 0 never reads out.
struct Scale {
    double alpha = 1.0;
    double beta = 0.0;
};

struct ExecContext {
    const convxContext* handle = nullptr;
    void* workspace = nullptr;
    size_t workspaceBytes = 0;
};

struct Applicability {
    bool ok = true;
    std::string reason;  // why not, when !ok
    static Applicability yes() { return {}; }
    static Applicability no(std::string why) { return {false, std::move(why)}; }
};

class Algorithm {
public:
    virtual ~Algorithm() = default;
    virtual convxConvAlgo_t id() const = 0;
    virtual convxBackend_t backend() const = 0;
    virtual unsigned directions() const = 0;  // dirBit(...) | ...
    virtual bool deterministic() const { return true; }
    // Called only for a direction in directions() and a validated problem.
    virtual Applicability isApplicable(const Problem& p) const = 0;
    virtual size_t workspaceSize(const Problem& p) const = 0;
    // Called only when isApplicable(p).ok and ctx.workspaceBytes >= workspaceSize(p).
    virtual void run(const ExecContext& ctx, const Problem& p, const Buffers& b, Scale s) const = 0;

    const char* name() const;
    // Direction and applicability together, with the reason.
    Applicability check(const Problem& p) const;
};

// "reference", "direct_coalesced", ...; nullptr for an id that is not an algorithm.
const char* algoName(convxConvAlgo_t id);
// Accepts the name, any case, with or without the "CONVX_ALGO_" prefix, or the number.
bool parseAlgoName(const std::string& s, convxConvAlgo_t* id);
const char* backendName(convxBackend_t b);  // "cpu", "cuda"

}  // namespace convx
