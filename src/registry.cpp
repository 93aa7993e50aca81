#include "registry.h"

#include <algorithm>
#include <cctype>

namespace convx {

static const char* const kAlgoNames[CONVX_ALGO_COUNT] = {
    "auto", "reference", "direct_coalesced", "filter_trim", "kernel_split",
    "split_k", "dilation_split", "depthwise", "gconv", "cudnn"};

const char* algoName(convxConvAlgo_t id) {
    int i = static_cast<int>(id);
    return i >= 0 && i < CONVX_ALGO_COUNT ? kAlgoNames[i] : nullptr;
}

bool parseAlgoName(const std::string& s, convxConvAlgo_t* id) {
    std::string v(s);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v.rfind("convx_algo_", 0) == 0) v = v.substr(11);
    for (int i = 0; i < CONVX_ALGO_COUNT; ++i)
        if (v == kAlgoNames[i] || v == std::to_string(i)) {
            *id = static_cast<convxConvAlgo_t>(i);
            return true;
        }
    return false;
}

const char* backendName(convxBackend_t b) { return b == CONVX_BACKEND_CUDA ? "cuda" : "cpu"; }

const char* Algorithm::name() const { return algoName(id()); }

Applicability Algorithm::check(const Problem& p) const {
    if (!(directions() & dirBit(p.dir)))
        return Applicability::no(std::string("does not implement ") + directionName(p.dir));
    return isApplicable(p);
}

static std::vector<const Algorithm*>& mutableRegistry() {
    static std::vector<const Algorithm*> all = [] {
        std::vector<const Algorithm*> v;
#ifdef CONVX_HAVE_CUDA
        registerCudaAlgorithms(v);
#endif
        registerCpuAlgorithms(v);
        return v;
    }();
    return all;
}

const std::vector<const Algorithm*>& registry() { return mutableRegistry(); }

void addAlgorithmForTesting(const Algorithm* a) { mutableRegistry().insert(mutableRegistry().begin(), a); }

void removeAlgorithmForTesting(const Algorithm* a) {
    auto& v = mutableRegistry();
    v.erase(std::remove(v.begin(), v.end(), a), v.end());
}

std::vector<const Algorithm*> algorithmsFor(convxBackend_t backend, Direction dir) {
    std::vector<const Algorithm*> v;
    for (const Algorithm* a : registry())
        if (a->backend() == backend && (a->directions() & dirBit(dir))) v.push_back(a);
    return v;
}

const Algorithm* findAlgorithm(convxBackend_t backend, convxConvAlgo_t id) {
    for (const Algorithm* a : registry())
        if (a->backend() == backend && a->id() == id) return a;
    return nullptr;
}

}  // namespace convx
