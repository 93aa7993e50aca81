#include "problem.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <map>
#include <sstream>
#include <vector>

#include "checked.h"
#include "error.h"

namespace convx {

const char* directionName(Direction d) {
    switch (d) {
        case Direction::Forward: return "fwd";
        case Direction::BackwardData: return "bwd_d";
        case Direction::BackwardFilter: return "bwd_w";
    }
    return "?";
}

bool parseDirection(const char* s, Direction* d) {
    std::string v(s);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "fwd" || v == "fwd_d" || v == "fwd_i" || v == "forward") *d = Direction::Forward;
    else if (v == "bwd_d" || v == "backward_data") *d = Direction::BackwardData;
    else if (v == "bwd_w" || v == "backward_filter") *d = Direction::BackwardFilter;
    else return false;
    return true;
}

const char* layoutName(Layout l) { return l == Layout::NHWC ? "nhwc" : "nchw"; }

static bool parseLayout(const std::string& s, Layout* l) {
    static const char* first[] = {"nchw", "ncw", "ncdhw", "abx"};
    static const char* last[] = {"nhwc", "nwc", "ndhwc", "axb"};
    for (const char* n : first)
        if (s == n) return *l = Layout::NCHW, true;
    for (const char* n : last)
        if (s == n) return *l = Layout::NHWC, true;
    return false;
}

static DType defaultAccType(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }

int64_t convOutputSize(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil) {
    int64_t extent = (k - 1) * dil + 1;
    int64_t span = in + 2 * pad - extent;
    if (span < 0 || stride <= 0) return 0;
    return 1 + span / stride;
}

Strides packedStrides(Layout l, int nsp, int64_t n, int64_t c, const Dims& sp) {
    (void)n;
    Strides s{};
    if (l == Layout::NCHW) {
        int64_t acc = 1;
        for (int i = nsp - 1; i >= 0; --i) {
            s[2 + i] = acc;
            acc *= sp[i];
        }
        s[1] = acc;
        s[0] = acc * c;
    } else {
        int64_t acc = c;
        s[1] = 1;
        for (int i = nsp - 1; i >= 0; --i) {
            s[2 + i] = acc;
            acc *= sp[i];
        }
        s[0] = acc;
    }
    return s;
}

Strides Problem::wStrides() const { return packedStrides(wLayout, nsp, K, Cg(), ker); }
bool Problem::xPacked() const { return xStrides == packedStrides(xLayout, nsp, N, C, in); }
bool Problem::yPacked() const { return yStrides == packedStrides(yLayout, nsp, N, K, out); }

bool Problem::operator==(const Problem& o) const {
    return dir == o.dir && dtype == o.dtype && accType == o.accType && mode == o.mode && math == o.math &&
           nsp == o.nsp && N == o.N && C == o.C && K == o.K && G == o.G && in == o.in && out == o.out &&
           ker == o.ker && stride == o.stride && pad == o.pad && dil == o.dil && xLayout == o.xLayout &&
           wLayout == o.wLayout && yLayout == o.yLayout && xStrides == o.xStrides && yStrides == o.yStrides;
}

static const char* kSpatialLetters[4] = {"", "w", "hw", "dhw"};

static const char* mathName(convxMathType_t m) {
    switch (m) {
        case CONVX_DEFAULT_MATH: return "default";
        case CONVX_TENSOR_OP_MATH: return "tensor_op";
        case CONVX_TENSOR_OP_MATH_ALLOW_CONVERSION: return "tensor_op_conv";
        case CONVX_FMA_MATH: return "fma";
    }
    return "?";
}

static std::string stridesText(const Strides& s, int nsp) {
    std::string t;
    for (int i = 0; i < 2 + nsp; ++i) t += (i ? ":" : "") + std::to_string(s[i]);
    return t;
}

std::string Problem::str() const {
    std::ostringstream o;
    o << "--dir=" << directionName(dir) << " --dt=" << dtypeName(dtype);
    if (accType != defaultAccType(dtype)) o << " --acc=" << dtypeName(accType);
    if (mode == CONVX_CONVOLUTION) o << " --mode=conv";
    if (math != CONVX_DEFAULT_MATH) o << " --math=" << mathName(math);
    if (xLayout == wLayout && wLayout == yLayout)
        o << " --tag=" << layoutName(xLayout);
    else
        o << " --stag=" << layoutName(xLayout) << " --wtag=" << layoutName(wLayout) << " --dtag=" << layoutName(yLayout);
    if (!xPacked()) o << " --xstrides=" << stridesText(xStrides, nsp);
    if (!yPacked()) o << " --ystrides=" << stridesText(yStrides, nsp);
    o << ' ' << "g" << G << "mb" << N << "ic" << C;
    const char* L = kSpatialLetters[nsp];
    for (int i = 0; i < nsp; ++i) o << 'i' << L[i] << in[i];
    o << "oc" << K;
    for (int i = 0; i < nsp; ++i) o << 'o' << L[i] << out[i];
    for (int i = 0; i < nsp; ++i) o << 'k' << L[i] << ker[i];
    for (int i = 0; i < nsp; ++i) o << 's' << L[i] << stride[i];
    for (int i = 0; i < nsp; ++i) o << 'p' << L[i] << pad[i];
    for (int i = 0; i < nsp; ++i) o << 'd' << L[i] << dil[i] - 1;
    return o.str();
}

// ---------------------------------------------------------------- parsing

namespace {

int64_t parseCount(const std::string& digits, const std::string& what) {
    if (digits.empty() || digits.size() > 10) fail(CONVX_STATUS_BAD_PARAM, "problem string: bad number for '%s'", what.c_str());
    int64_t v = 0;
    for (char ch : digits) {
        if (!std::isdigit(static_cast<unsigned char>(ch)))
            fail(CONVX_STATUS_BAD_PARAM, "problem string: bad number for '%s'", what.c_str());
        v = v * 10 + (ch - '0');
    }
    if (v > INT_MAX) fail(CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND, "problem string: '%s' = %lld exceeds INT_MAX", what.c_str(), (long long)v);
    return v;
}

// Parses the benchdnn descriptor ("g1mb2ic64ih56..."), stopping at an optional name
// ("_name" or "n\"name\"").
std::map<std::string, int64_t> parseDescriptor(const std::string& s) {
    static const char* keys[] = {"g",  "mb", "ic", "id", "ih", "iw", "oc", "od", "oh", "ow", "kd",
                                 "kh", "kw", "sd", "sh", "sw", "pd", "ph", "pw", "dd", "dh", "dw"};
    std::map<std::string, int64_t> kv;
    size_t i = 0;
    while (i < s.size()) {
        if (s[i] == '_') break;  // trailing name
        size_t j = i;
        while (j < s.size() && std::islower(static_cast<unsigned char>(s[j]))) ++j;
        std::string key = s.substr(i, j - i);
        if (key == "n" && (j >= s.size() || !std::isdigit(static_cast<unsigned char>(s[j])))) break;  // n"name"
        size_t k = j;
        while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
        if (key.empty() || k == j)
            fail(CONVX_STATUS_BAD_PARAM, "problem string: cannot read '%s' at offset %zu", s.c_str(), i);
        if (std::find_if(std::begin(keys), std::end(keys), [&](const char* x) { return key == x; }) == std::end(keys))
            fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown key '%s'", key.c_str());
        if (kv.count(key)) fail(CONVX_STATUS_BAD_PARAM, "problem string: key '%s' given twice", key.c_str());
        kv[key] = parseCount(s.substr(j, k - j), key);
        i = k;
    }
    return kv;
}

Strides parseStrides(const std::string& v, int nsp, const char* flag) {
    Strides s{};
    std::vector<std::string> parts;
    std::stringstream ss(v);
    std::string part;
    while (std::getline(ss, part, ':')) parts.push_back(part);
    if (static_cast<int>(parts.size()) != 2 + nsp)
        fail(CONVX_STATUS_BAD_PARAM, "problem string: %s needs %d values separated by ':'", flag, 2 + nsp);
    for (int i = 0; i < 2 + nsp; ++i) s[i] = parseCount(parts[i], flag);
    return s;
}

}  // namespace

Problem parseProblem(const std::string& text) {
    Problem p;
    std::istringstream is(text);
    std::string tok, desc;
    bool accGiven = false;
    std::string tag, stag, wtag, dtag, xstr, ystr;
    while (is >> tok) {
        if (tok.rfind("--", 0) != 0) {
            if (!desc.empty()) fail(CONVX_STATUS_BAD_PARAM, "problem string: two descriptors ('%s', '%s')", desc.c_str(), tok.c_str());
            desc = tok;
            continue;
        }
        size_t eq = tok.find('=');
        if (eq == std::string::npos) fail(CONVX_STATUS_BAD_PARAM, "problem string: flag '%s' has no '=value'", tok.c_str());
        std::string key = tok.substr(2, eq - 2), val = tok.substr(eq + 1);
        if (key == "dir") {
            if (!parseDirection(val.c_str(), &p.dir)) fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown --dir '%s'", val.c_str());
        } else if (key == "dt") {
            if (!parseDType(val.c_str(), &p.dtype)) fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown --dt '%s'", val.c_str());
        } else if (key == "acc") {
            if (!parseDType(val.c_str(), &p.accType)) fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown --acc '%s'", val.c_str());
            accGiven = true;
        } else if (key == "mode") {
            if (val == "conv" || val == "convolution") p.mode = CONVX_CONVOLUTION;
            else if (val == "xcorr" || val == "cross_correlation") p.mode = CONVX_CROSS_CORRELATION;
            else fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown --mode '%s'", val.c_str());
        } else if (key == "math") {
            bool ok = false;
            for (int m = 0; m <= 3; ++m)
                if (val == mathName(static_cast<convxMathType_t>(m))) p.math = static_cast<convxMathType_t>(m), ok = true;
            if (!ok) fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown --math '%s'", val.c_str());
        } else if (key == "tag") tag = val;
        else if (key == "stag") stag = val;
        else if (key == "wtag") wtag = val;
        else if (key == "dtag") dtag = val;
        else if (key == "xstrides") xstr = val;
        else if (key == "ystrides") ystr = val;
        else fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown flag '--%s'", key.c_str());
    }
    if (!accGiven) p.accType = defaultAccType(p.dtype);
    if (desc.empty()) fail(CONVX_STATUS_BAD_PARAM, "problem string: no descriptor (e.g. g1mb1ic16ih8oc16kh3ph1)");

    auto kv = parseDescriptor(desc);
    auto has = [&](const char* k) { return kv.count(k) != 0; };
    if (has("id") || has("od") || has("kd") || has("sd") || has("pd") || has("dd")) p.nsp = 3;
    else if (has("ih") || has("oh") || has("kh") || has("sh") || has("ph") || has("dh")) p.nsp = 2;
    else p.nsp = 1;
    const char* L = kSpatialLetters[p.nsp];
    // For each group (input, kernel, stride, pad, dilation, output) a missing spatial size takes
    // the value of the innermost one given, as benchdnn squares its shapes.
    auto group = [&](char prefix, Dims& dst, bool required, int64_t dflt, bool* given) -> void {
        int64_t fill = -1;
        for (int i = p.nsp - 1; i >= 0; --i) {
            // Not std::string{prefix, L[i]}: Debian's aarch64 GCC 12.2 miscompiles that
            // initializer-list form here at -O3 (after IPA-CP clones the lambda per prefix),
            // and the keys are then never found.
            const std::string k = std::string(1, prefix) + L[i];
            if (has(k.c_str())) { fill = kv[k]; break; }
        }
        if (given) *given = fill >= 0;
        if (fill < 0) {
            if (required) fail(CONVX_STATUS_BAD_PARAM, "problem string: '%s' needs a size '%c%c'", desc.c_str(), prefix, L[p.nsp - 1]);
            fill = dflt;
        }
        for (int i = 0; i < p.nsp; ++i) {
            const std::string k = std::string(1, prefix) + L[i];
            dst[i] = has(k.c_str()) ? kv[k] : fill;
        }
    };
    if (!has("ic")) fail(CONVX_STATUS_BAD_PARAM, "problem string: '%s' needs 'ic'", desc.c_str());
    if (!has("oc")) fail(CONVX_STATUS_BAD_PARAM, "problem string: '%s' needs 'oc'", desc.c_str());
    p.G = has("g") ? kv["g"] : 1;
    p.N = has("mb") ? kv["mb"] : 2;
    p.C = kv["ic"];
    p.K = kv["oc"];
    Dims outGiven{1, 1, 1};
    bool anyOut = false;
    group('i', p.in, true, 1, nullptr);
    group('k', p.ker, true, 1, nullptr);
    group('s', p.stride, false, 1, nullptr);
    group('p', p.pad, false, 0, nullptr);
    group('d', p.dil, false, 0, nullptr);
    group('o', outGiven, false, 0, &anyOut);
    for (int i = 0; i < p.nsp; ++i) {
        p.dil[i] += 1;
        p.out[i] = convOutputSize(p.in[i], p.ker[i], p.stride[i], p.pad[i], p.dil[i]);
        if (anyOut && outGiven[i] != p.out[i])
            fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "problem string: o%c%lld does not match the output size %lld of the other sizes",
                 L[i], (long long)outGiven[i], (long long)p.out[i]);
    }

    Layout all = Layout::NCHW;
    if (!tag.empty() && !parseLayout(tag, &all)) fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown --tag '%s'", tag.c_str());
    p.xLayout = p.wLayout = p.yLayout = all;
    if (!stag.empty() && !parseLayout(stag, &p.xLayout)) fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown --stag '%s'", stag.c_str());
    if (!wtag.empty() && !parseLayout(wtag, &p.wLayout)) fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown --wtag '%s'", wtag.c_str());
    if (!dtag.empty() && !parseLayout(dtag, &p.yLayout)) fail(CONVX_STATUS_BAD_PARAM, "problem string: unknown --dtag '%s'", dtag.c_str());
    // Element counts are checked before packed strides are computed from them. A zero size
    // counts as 1 here, so that it cannot hide an overflowing product of the others (as in
    // ic0id10000000: the packed strides multiply the spatial sizes whatever C is);
    // validateProblem rejects the zero afterwards.
    auto nz = [](int64_t v) { return std::max<int64_t>(v, 1); };
    checkedElementCount({nz(p.N), nz(p.C), nz(p.in[0]), nz(p.in[1]), nz(p.in[2])}, "problem string: x");
    checkedElementCount({nz(p.N), nz(p.K), nz(p.out[0]), nz(p.out[1]), nz(p.out[2])}, "problem string: y");
    p.xStrides = xstr.empty() ? packedStrides(p.xLayout, p.nsp, p.N, p.C, p.in) : parseStrides(xstr, p.nsp, "--xstrides");
    p.yStrides = ystr.empty() ? packedStrides(p.yLayout, p.nsp, p.N, p.K, p.out) : parseStrides(ystr, p.nsp, "--ystrides");
    validateProblem(p);
    return p;
}

// ---------------------------------------------------------------- validation

// Largest offset + 1 a strided tensor reaches; throws when it does not fit in int64 bytes.
static int64_t stridedSpan(const Strides& s, const int64_t* dims, int rank, size_t elemSize, const char* what) {
    int64_t span = 1;
    for (int i = 0; i < rank; ++i) {
        int64_t reach = checkedMul(dims[i] - 1, s[i], what);
        span = checkedAdd(span, reach, what);
    }
    checkedMul(span, static_cast<int64_t>(elemSize), what);
    return span;
}

// Distinct elements must not share memory: sorted by stride, each stride must step over
// the whole extent of the dims inside it.
static void checkNoOverlap(const Strides& s, const int64_t* dims, int rank, const char* what) {
    std::vector<int> order;
    for (int i = 0; i < rank; ++i)
        if (dims[i] > 1) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return s[a] < s[b]; });
    int64_t need = 1;
    for (int i : order) {
        if (s[i] < need)
            fail(CONVX_STATUS_BAD_PARAM, "%s: strides make distinct elements overlap (dim %d stride %lld < %lld)", what, i,
                 (long long)s[i], (long long)need);
        need = s[i] * dims[i];
    }
}

void validateProblem(const Problem& p) {
    const auto OOB = CONVX_STATUS_BAD_PARAM_OUT_OF_BOUND;
    if (p.nsp < 1 || p.nsp > 3) fail(OOB, "spatial rank %d is not 1, 2 or 3", p.nsp);
    if (p.N < 1) fail(OOB, "batch N = %lld must be >= 1", (long long)p.N);
    if (p.C < 1) fail(OOB, "channels C = %lld must be >= 1", (long long)p.C);
    if (p.K < 1) fail(OOB, "output channels K = %lld must be >= 1", (long long)p.K);
    if (p.G < 1) fail(OOB, "groups = %lld must be >= 1", (long long)p.G);
    if (p.C % p.G) fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "channels C = %lld are not divisible by groups = %lld", (long long)p.C, (long long)p.G);
    if (p.K % p.G) fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "output channels K = %lld are not divisible by groups = %lld", (long long)p.K, (long long)p.G);
    for (int i = 0; i < CONVX_SPATIAL_DIM_MAX; ++i) {
        if (i >= p.nsp) {
            if (p.in[i] != 1 || p.out[i] != 1 || p.ker[i] != 1 || p.stride[i] != 1 || p.pad[i] != 0 || p.dil[i] != 1)
                fail(CONVX_STATUS_INTERNAL_ERROR, "problem: spatial entry %d past rank %d is not neutral", i, p.nsp);
            continue;
        }
        if (p.in[i] < 1) fail(OOB, "input spatial dim %d = %lld must be >= 1", i, (long long)p.in[i]);
        if (p.ker[i] < 1) fail(OOB, "filter spatial dim %d = %lld must be >= 1", i, (long long)p.ker[i]);
        if (p.stride[i] < 1) fail(OOB, "stride %d = %lld must be >= 1", i, (long long)p.stride[i]);
        if (p.pad[i] < 0) fail(OOB, "padding %d = %lld must be >= 0", i, (long long)p.pad[i]);
        if (p.dil[i] < 1) fail(OOB, "dilation %d = %lld must be >= 1 (1 = none)", i, (long long)p.dil[i]);
        int64_t o = convOutputSize(p.in[i], p.ker[i], p.stride[i], p.pad[i], p.dil[i]);
        if (o < 1)
            fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "spatial dim %d: the dilated filter (%lld) is larger than the padded input (%lld)", i,
                 (long long)((p.ker[i] - 1) * p.dil[i] + 1), (long long)(p.in[i] + 2 * p.pad[i]));
        if (o != p.out[i])
            fail(CONVX_STATUS_BAD_PARAM_SHAPE_MISMATCH, "spatial dim %d: output size %lld, expected %lld", i, (long long)p.out[i], (long long)o);
    }
    const bool accOk = (p.dtype == DType::F64 && p.accType == DType::F64) ||
                       (p.dtype == DType::F32 && p.accType == DType::F32) ||
                       (p.dtype == DType::F16 && (p.accType == DType::F32 || p.accType == DType::F16)) ||
                       (p.dtype == DType::BF16 && p.accType == DType::F32);
    if (!accOk)
        fail(CONVX_STATUS_NOT_SUPPORTED_DATA_TYPE, "compute type %s is not supported for %s data", dtypeName(p.accType), dtypeName(p.dtype));
    const size_t es = dtypeSize(p.dtype);
    int64_t xd[5] = {p.N, p.C, p.in[0], p.in[1], p.in[2]};
    int64_t yd[5] = {p.N, p.K, p.out[0], p.out[1], p.out[2]};
    int64_t wd[5] = {p.K, p.Cg(), p.ker[0], p.ker[1], p.ker[2]};
    checkedElementCount({xd[0], xd[1], xd[2], xd[3], xd[4]}, "x");
    checkedElementCount({yd[0], yd[1], yd[2], yd[3], yd[4]}, "y");
    checkedElementCount({wd[0], wd[1], wd[2], wd[3], wd[4]}, "w");
    for (int i = 0; i < 2 + p.nsp; ++i) {
        if (p.xStrides[i] < 1) fail(OOB, "x stride %d = %lld must be >= 1", i, (long long)p.xStrides[i]);
        if (p.yStrides[i] < 1) fail(OOB, "y stride %d = %lld must be >= 1", i, (long long)p.yStrides[i]);
    }
    stridedSpan(p.xStrides, xd, 2 + p.nsp, es, "x");
    stridedSpan(p.yStrides, yd, 2 + p.nsp, es, "y");
    checkedMul(p.wElems(), static_cast<int64_t>(es), "w");
    checkNoOverlap(p.xStrides, xd, 2 + p.nsp, "x");
    checkNoOverlap(p.yStrides, yd, 2 + p.nsp, "y");
}

}  // namespace convx
