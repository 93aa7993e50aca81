// libFuzzer target: the bytes are a program of C API calls with arbitrary int arguments.
//
// Descriptors (4 tensor, 2 filter, 2 convolution slots) and a CPU handle are created, set,
// queried, destroyed and passed around — also after destruction, as NULL, as a pointer to an
// object of another kind, and as a pointer to memory convx never handed out. When a call's
// descriptors are all set and small (at most kMaxElems elements per tensor, kMaxMacs
// multiply-adds), the forward, backward-data or backward-filter convolution (or the Find that
// times it), or the transposed convolution, runs on the CPU backend with buffers of exactly the
// size the descriptors span.
// Statuses are whatever they are; what must never happen is a crash, a leak, a sanitizer
// report or an exception crossing the C boundary.
//
// Encoding (tests/fuzz/make_seeds.py writes seeds in it): one opcode byte (modulo kOpCount)
// followed by the op's operands. An int operand is one byte b: b < 0xE0 gives b - 1 (so -1
// to 222), 0xE0..0xFE index kSpecial, 0xFF is followed by a raw little-endian int32. A slot
// or pointer operand is one byte (see Program::pointerArg). Missing bytes read as 0.
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "convx/convx.h"

namespace {

constexpr int64_t kMaxElems = 4096;     // per tensor, span included
constexpr int64_t kMaxMacs = 1 << 18;   // per executed convolution
constexpr size_t kMaxWorkspace = 1 << 20;

// Int operands 0xE0..0xFE: edges of int arithmetic, sizes whose products overflow, and a few
// plain sizes.
const int kSpecial[31] = {0,       -1,      -2,      -1000,   INT_MIN, INT_MIN + 1, INT_MAX, INT_MAX - 1, INT_MAX / 2, INT_MAX / 8,
                          256,     4096,    4097,    32768,   65535,   65536,       65537,   1 << 20,     1 << 24,     1 << 28,
                          1 << 30, 46340,   46341,   -65536,  3,       5,           7,       9,           16,          1000,
                          100000};

enum Op {
    kCreateTensor, kDestroyTensor, kSetTensor4d, kSetTensor4dEx, kSetTensorNd, kSetTensorNdEx, kGetTensor4d, kGetTensorNd,
    kGetTensorSize, kCreateFilter, kDestroyFilter, kSetFilter4d, kSetFilterNd, kGetFilter4d, kGetFilterNd, kGetFilterSize,
    kCreateConv, kDestroyConv, kSetConv2d, kSetConvNd, kGetConv2d, kGetConvNd, kSetGroupCount, kGetGroupCount,
    kSetMathType, kGetMathType, kOutputDim2d, kOutputDimNd, kAlgoMaxCount, kGetAlgorithms, kWorkspaceSize, kExecute,
    kHandleOp, kMisc, kSetupProblem, kTransposeOutputDim2d, kTransposeOutputDimNd, kTransposeWorkspaceSize,
    kTransposeExecute, kGconv,
    kOpCount
};

char gForeign[64];  // memory convx never handed out: its address must be rejected, never read

// CONVX_FUZZ_TRACE=1 prints each op (with its byte offset) and each execution's status to
// stderr, to read a crash input.
bool trace() {
    static const bool on = std::getenv("CONVX_FUZZ_TRACE") != nullptr;
    return on;
}

class Program {
public:
    Program(const uint8_t* data, size_t size) : d_(data), n_(size) {}

    void run() {
        if (convxCreateWithBackend(&h_, CONVX_BACKEND_CPU) == CONVX_STATUS_SUCCESS) {
            hLive_ = true;
            convxSetNumThreads(h_, 1);
        }
        int steps = 0;
        while (i_ < n_ && steps++ < 256) step();
        cleanup();
    }

private:
    // ------------------------------------------------------------ input
    const uint8_t* d_;
    size_t n_;
    size_t i_ = 0;

    uint8_t byte() { return i_ < n_ ? d_[i_++] : 0; }
    int arg() {
        const uint8_t b = byte();
        if (b < 0xE0) return int(b) - 1;
        if (b < 0xFF) return kSpecial[b - 0xE0];
        uint32_t u = 0;
        for (int k = 0; k < 4; ++k) u |= uint32_t(byte()) << (8 * k);
        int v;
        std::memcpy(&v, &u, sizeof v);
        return v;
    }
    // Enum parameters get arbitrary ints, as a C caller may pass. The int is kept as an int
    // and only converted in the call's argument list, so the harness itself never loads an
    // enum object holding a value outside the enumeration.
    struct AnyEnum {
        int v;
        template <class E>
        operator E() const {
            return static_cast<E>(v);
        }
    };
    AnyEnum enumArg() { return AnyEnum{arg()}; }
    // An int array of exactly n entries (n clamped to 0..8; the library accepts at most 5) on
    // the heap, so that reading one entry too many is caught; a zero-length one is a real
    // zero-byte allocation, not NULL.
    struct Ints {
        std::unique_ptr<int[]> p;
        int n = 0;
        explicit Ints(int len) : p(new int[static_cast<size_t>(len < 0 ? 0 : len > 8 ? 8 : len)]), n(len < 0 ? 0 : len > 8 ? 8 : len) {
            for (int i = 0; i < n; ++i) p[i] = 0;
        }
        int* get(bool null) { return null ? nullptr : p.get(); }
    };
    Ints ints(int len) {
        Ints v(len);
        for (int i = 0; i < v.n; ++i) v.p[i] = arg();
        return v;
    }

    // ------------------------------------------------------------ objects
    convxHandle_t h_ = nullptr;
    bool hLive_ = false;
    convxTensorDescriptor_t t_[4] = {};
    bool tLive_[4] = {};
    convxFilterDescriptor_t f_[2] = {};
    bool fLive_[2] = {};
    convxConvolutionDescriptor_t c_[2] = {};
    bool cLive_[2] = {};
    convxGconvDescriptor_t g_[2] = {};
    bool gLive_[2] = {};
    int64_t gWindow_[2] = {-1, -1};  // taps of the window last set on the slot (-1: none known)

    // One operand byte picks what is passed: a slot (live, destroyed, or never created =
    // NULL), NULL, an object of another kind, or foreign memory.
    template <class T>
    T pointerArg(T (&slots)[4], int nslots, uint8_t b) {
        switch (b % 8) {
            case 0: case 1: case 2: case 3: return slots[(b % 8) % nslots];
            case 4: return nullptr;
            case 5: return reinterpret_cast<T>(f_[(b / 8) % 2]);
            case 6: return (b / 8) % 2 ? reinterpret_cast<T>(c_[(b / 16) % 2]) : reinterpret_cast<T>(h_);
            default: return reinterpret_cast<T>(gForeign + (b / 8) % 32);
        }
    }
    convxTensorDescriptor_t tensorArg() { return pointerArg(t_, 4, byte()); }
    convxFilterDescriptor_t filterArg() {
        const uint8_t b = byte();
        if (b % 8 == 5) return reinterpret_cast<convxFilterDescriptor_t>(t_[(b / 8) % 4]);
        convxFilterDescriptor_t s[4] = {f_[0], f_[1], f_[0], f_[1]};
        return pointerArg(s, 4, b);
    }
    convxConvolutionDescriptor_t convArg() {
        const uint8_t b = byte();
        if (b % 8 == 6 && (b / 8) % 2) return reinterpret_cast<convxConvolutionDescriptor_t>(t_[(b / 16) % 4]);
        convxConvolutionDescriptor_t s[4] = {c_[0], c_[1], c_[0], c_[1]};
        return pointerArg(s, 4, b);
    }
    convxGconvDescriptor_t gconvArg() { return gconvFrom(byte()); }
    convxGconvDescriptor_t gconvFrom(uint8_t b) {
        if (b % 8 == 5) return reinterpret_cast<convxGconvDescriptor_t>(t_[(b / 8) % 4]);
        convxGconvDescriptor_t s[4] = {g_[0], g_[1], g_[0], g_[1]};
        return pointerArg(s, 4, b);
    }
    convxHandle_t handleArg() {
        const uint8_t b = byte();
        if (b % 8 < 4) return h_;  // live or destroyed
        if (b % 8 == 6) return reinterpret_cast<convxHandle_t>(t_[(b / 8) % 4]);
        convxHandle_t s[4] = {h_, h_, h_, h_};
        return pointerArg(s, 4, b);
    }

    // After a successful destroy every slot holding that pointer is dead (a new object may
    // have been given a destroyed one's address).
    template <class T, size_t N>
    static void markDead(T (&slots)[N], bool (&live)[N], T p) {
        for (size_t k = 0; k < N; ++k)
            if (slots[k] == p) live[k] = false;
    }
    void tensorDestroyed(convxTensorDescriptor_t p) { markDead(t_, tLive_, p); }
    void filterDestroyed(convxFilterDescriptor_t p) { markDead(f_, fLive_, p); }
    void convDestroyed(convxConvolutionDescriptor_t p) { markDead(c_, cLive_, p); }
    void gconvDestroyed(convxGconvDescriptor_t p) { markDead(g_, gLive_, p); }

    void createTensor(int s) {
        if (tLive_[s] && convxDestroyTensorDescriptor(t_[s]) == CONVX_STATUS_SUCCESS) tensorDestroyed(t_[s]);
        if (convxCreateTensorDescriptor(&t_[s]) == CONVX_STATUS_SUCCESS) tLive_[s] = true;
    }
    void createFilter(int s) {
        if (fLive_[s] && convxDestroyFilterDescriptor(f_[s]) == CONVX_STATUS_SUCCESS) filterDestroyed(f_[s]);
        if (convxCreateFilterDescriptor(&f_[s]) == CONVX_STATUS_SUCCESS) fLive_[s] = true;
    }
    void createConv(int s) {
        if (cLive_[s] && convxDestroyConvolutionDescriptor(c_[s]) == CONVX_STATUS_SUCCESS) convDestroyed(c_[s]);
        if (convxCreateConvolutionDescriptor(&c_[s]) == CONVX_STATUS_SUCCESS) cLive_[s] = true;
    }

    void cleanup() {
        for (int s = 0; s < 4; ++s)
            if (tLive_[s]) {
                convxDestroyTensorDescriptor(t_[s]);
                tensorDestroyed(t_[s]);
            }
        for (int s = 0; s < 2; ++s)
            if (fLive_[s]) {
                convxDestroyFilterDescriptor(f_[s]);
                filterDestroyed(f_[s]);
            }
        for (int s = 0; s < 2; ++s)
            if (cLive_[s]) {
                convxDestroyConvolutionDescriptor(c_[s]);
                convDestroyed(c_[s]);
            }
        for (int s = 0; s < 2; ++s)
            if (gLive_[s]) {
                convxDestroyGconvDescriptor(g_[s]);
                gconvDestroyed(g_[s]);
            }
        if (hLive_) convxDestroy(h_);
        hLive_ = false;
    }

    // ------------------------------------------------------------ ops
    void step() {
        const size_t at = i_;
        const int op = byte() % kOpCount;
        if (trace()) std::fprintf(stderr, "fuzz_descriptors: byte %zu: op %d\n", at, op);
        switch (op) {
            case kCreateTensor: {
                const uint8_t b = byte();
                if (b == 0xFF) convxCreateTensorDescriptor(nullptr);
                else createTensor(b % 4);
                break;
            }
            case kDestroyTensor: {
                convxTensorDescriptor_t p = tensorArg();
                if (convxDestroyTensorDescriptor(p) == CONVX_STATUS_SUCCESS) tensorDestroyed(p);
                break;
            }
            case kSetTensor4d: {
                convxTensorDescriptor_t p = tensorArg();
                auto fmt = enumArg();
                auto dt = enumArg();
                int n = arg(), c = arg(), h = arg(), w = arg();
                convxSetTensor4dDescriptor(p, fmt, dt, n, c, h, w);
                break;
            }
            case kSetTensor4dEx: {
                convxTensorDescriptor_t p = tensorArg();
                auto dt = enumArg();
                int v[8];
                for (int& x : v) x = arg();
                convxSetTensor4dDescriptorEx(p, dt, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
                break;
            }
            case kSetTensorNd: {
                convxTensorDescriptor_t p = tensorArg();
                auto dt = enumArg();
                const int nb = arg();
                const uint8_t nulls = byte();
                auto dims = ints(nb), strides = ints(nb);
                convxSetTensorNdDescriptor(p, dt, nb, dims.get(nulls & 1), strides.get(nulls & 2));
                break;
            }
            case kSetTensorNdEx: {
                convxTensorDescriptor_t p = tensorArg();
                auto fmt = enumArg();
                auto dt = enumArg();
                const int nb = arg();
                const uint8_t nulls = byte();
                auto dims = ints(nb);
                convxSetTensorNdDescriptorEx(p, fmt, dt, nb, dims.get(nulls & 1));
                break;
            }
            case kGetTensor4d: {
                convxTensorDescriptor_t p = tensorArg();
                const uint8_t m = byte();
                const uint8_t m2 = byte();
                convxDataType_t dt;
                int v[8];
                auto o = [&](int k) { return ((k < 8 ? m >> k : 0) & 1) ? nullptr : &v[k]; };
                convxGetTensor4dDescriptor(p, (m2 & 1) ? nullptr : &dt, o(0), o(1), o(2), o(3), o(4), o(5), o(6), o(7));
                break;
            }
            case kGetTensorNd: {
                convxTensorDescriptor_t p = tensorArg();
                const int req = arg();
                const uint8_t nulls = byte();
                Ints dims(req), strides(req);
                convxDataType_t dt;
                int nb;
                convxGetTensorNdDescriptor(p, req, (nulls & 4) ? nullptr : &dt, (nulls & 8) ? nullptr : &nb, dims.get(nulls & 1),
                                           strides.get(nulls & 2));
                break;
            }
            case kGetTensorSize: {
                convxTensorDescriptor_t p = tensorArg();
                size_t s;
                convxGetTensorSizeInBytes(p, (byte() & 1) ? nullptr : &s);
                break;
            }
            case kCreateFilter: {
                const uint8_t b = byte();
                if (b == 0xFF) convxCreateFilterDescriptor(nullptr);
                else createFilter(b % 2);
                break;
            }
            case kDestroyFilter: {
                convxFilterDescriptor_t p = filterArg();
                if (convxDestroyFilterDescriptor(p) == CONVX_STATUS_SUCCESS) filterDestroyed(p);
                break;
            }
            case kSetFilter4d: {
                convxFilterDescriptor_t p = filterArg();
                auto dt = enumArg();
                auto fmt = enumArg();
                int k = arg(), c = arg(), r = arg(), s = arg();
                convxSetFilter4dDescriptor(p, dt, fmt, k, c, r, s);
                break;
            }
            case kSetFilterNd: {
                convxFilterDescriptor_t p = filterArg();
                auto dt = enumArg();
                auto fmt = enumArg();
                const int nb = arg();
                const uint8_t nulls = byte();
                auto dims = ints(nb);
                convxSetFilterNdDescriptor(p, dt, fmt, nb, dims.get(nulls & 1));
                break;
            }
            case kGetFilter4d: {
                convxFilterDescriptor_t p = filterArg();
                const uint8_t m = byte();
                convxDataType_t dt;
                convxTensorFormat_t fmt;
                int v[4];
                auto o = [&](int k) { return ((m >> k) & 1) ? nullptr : &v[k]; };
                convxGetFilter4dDescriptor(p, (m & 16) ? nullptr : &dt, (m & 32) ? nullptr : &fmt, o(0), o(1), o(2), o(3));
                break;
            }
            case kGetFilterNd: {
                convxFilterDescriptor_t p = filterArg();
                const int req = arg();
                const uint8_t nulls = byte();
                Ints dims(req);
                convxDataType_t dt;
                convxTensorFormat_t fmt;
                int nb;
                convxGetFilterNdDescriptor(p, req, (nulls & 2) ? nullptr : &dt, (nulls & 4) ? nullptr : &fmt, (nulls & 8) ? nullptr : &nb,
                                           dims.get(nulls & 1));
                break;
            }
            case kGetFilterSize: {
                convxFilterDescriptor_t p = filterArg();
                size_t s;
                convxGetFilterSizeInBytes(p, (byte() & 1) ? nullptr : &s);
                break;
            }
            case kCreateConv: {
                const uint8_t b = byte();
                if (b == 0xFF) convxCreateConvolutionDescriptor(nullptr);
                else createConv(b % 2);
                break;
            }
            case kDestroyConv: {
                convxConvolutionDescriptor_t p = convArg();
                if (convxDestroyConvolutionDescriptor(p) == CONVX_STATUS_SUCCESS) convDestroyed(p);
                break;
            }
            case kSetConv2d: {
                convxConvolutionDescriptor_t p = convArg();
                int v[6];
                for (int& x : v) x = arg();
                auto mode = enumArg();
                auto ct = enumArg();
                convxSetConvolution2dDescriptor(p, v[0], v[1], v[2], v[3], v[4], v[5], mode, ct);
                break;
            }
            case kSetConvNd: {
                convxConvolutionDescriptor_t p = convArg();
                const int len = arg();
                const uint8_t nulls = byte();
                auto pads = ints(len), strides = ints(len), dils = ints(len);
                auto mode = enumArg();
                auto ct = enumArg();
                convxSetConvolutionNdDescriptor(p, len, pads.get(nulls & 1), strides.get(nulls & 2), dils.get(nulls & 4), mode, ct);
                break;
            }
            case kGetConv2d: {
                convxConvolutionDescriptor_t p = convArg();
                const uint8_t m = byte();
                int v[6];
                convxConvolutionMode_t mode;
                convxDataType_t ct;
                auto o = [&](int k) { return ((m >> k) & 1) ? nullptr : &v[k]; };
                convxGetConvolution2dDescriptor(p, o(0), o(1), o(2), o(3), o(4), o(5), (m & 64) ? nullptr : &mode, (m & 128) ? nullptr : &ct);
                break;
            }
            case kGetConvNd: {
                convxConvolutionDescriptor_t p = convArg();
                const int req = arg();
                const uint8_t nulls = byte();
                Ints pads(req), strides(req), dils(req);
                int len;
                convxConvolutionMode_t mode;
                convxDataType_t ct;
                convxGetConvolutionNdDescriptor(p, req, (nulls & 8) ? nullptr : &len, pads.get(nulls & 1), strides.get(nulls & 2),
                                                dils.get(nulls & 4), (nulls & 16) ? nullptr : &mode, (nulls & 32) ? nullptr : &ct);
                break;
            }
            case kSetGroupCount: {
                convxConvolutionDescriptor_t p = convArg();
                convxSetConvolutionGroupCount(p, arg());
                break;
            }
            case kGetGroupCount: {
                convxConvolutionDescriptor_t p = convArg();
                int g;
                convxGetConvolutionGroupCount(p, (byte() & 1) ? nullptr : &g);
                break;
            }
            case kSetMathType: {
                convxConvolutionDescriptor_t p = convArg();
                convxSetConvolutionMathType(p, enumArg());
                break;
            }
            case kGetMathType: {
                convxConvolutionDescriptor_t p = convArg();
                convxMathType_t m;
                convxGetConvolutionMathType(p, (byte() & 1) ? nullptr : &m);
                break;
            }
            case kOutputDim2d: {
                convxConvolutionDescriptor_t c = convArg();
                convxTensorDescriptor_t x = tensorArg();
                convxFilterDescriptor_t w = filterArg();
                const uint8_t m = byte();
                int v[4];
                auto o = [&](int k) { return ((m >> k) & 1) ? nullptr : &v[k]; };
                convxGetConvolution2dForwardOutputDim(c, x, w, o(0), o(1), o(2), o(3));
                break;
            }
            case kOutputDimNd: {
                convxConvolutionDescriptor_t c = convArg();
                convxTensorDescriptor_t x = tensorArg();
                convxFilterDescriptor_t w = filterArg();
                const int nb = arg();
                const uint8_t nulls = byte();
                Ints od(nb);
                convxGetConvolutionNdForwardOutputDim(c, x, w, nb, od.get(nulls & 1));
                break;
            }
            case kTransposeOutputDim2d: {
                convxConvolutionDescriptor_t c = convArg();
                convxTensorDescriptor_t x = tensorArg();
                convxFilterDescriptor_t w = filterArg();
                const int oph = arg(), opw = arg();
                const uint8_t m = byte();
                int v[4];
                auto o = [&](int k) { return ((m >> k) & 1) ? nullptr : &v[k]; };
                convxGetConvolutionTranspose2dOutputDim(c, x, w, oph, opw, o(0), o(1), o(2), o(3));
                break;
            }
            case kTransposeOutputDimNd: {
                convxConvolutionDescriptor_t c = convArg();
                convxTensorDescriptor_t x = tensorArg();
                convxFilterDescriptor_t w = filterArg();
                const int nb = arg();
                const uint8_t nulls = byte();
                // output_padding: one entry per spatial dim of conv, so the harness passes
                // CONVX_SPATIAL_DIM_MAX (a shorter array would be the caller's bug), or NULL.
                auto op = ints(CONVX_SPATIAL_DIM_MAX);
                Ints od(nb);
                convxGetConvolutionTransposeNdOutputDim(c, x, w, op.get(nulls & 2), nb, od.get(nulls & 1));
                break;
            }
            case kAlgoMaxCount: {
                const int dir = byte() % 3;
                convxHandle_t h = handleArg();
                int n;
                int* pn = (byte() & 1) ? nullptr : &n;
                if (dir == 0) convxGetConvolutionForwardAlgorithmMaxCount(h, pn);
                else if (dir == 1) convxGetConvolutionBackwardDataAlgorithmMaxCount(h, pn);
                else convxGetConvolutionBackwardFilterAlgorithmMaxCount(h, pn);
                break;
            }
            case kGetAlgorithms: {
                const int dir = byte() % 3;
                convxHandle_t h = handleArg();
                convxTensorDescriptor_t x = tensorArg();
                convxFilterDescriptor_t w = filterArg();
                convxConvolutionDescriptor_t c = convArg();
                convxTensorDescriptor_t y = tensorArg();
                const int req = arg();
                const uint8_t nulls = byte();
                std::vector<convxAlgoPerf_t> res(static_cast<size_t>(req < 1 ? 1 : req > CONVX_ALGO_COUNT ? CONVX_ALGO_COUNT : req));
                int ret;
                int* pr = (nulls & 1) ? nullptr : &ret;
                convxAlgoPerf_t* pres = (nulls & 2) ? nullptr : res.data();
                if (dir == 0) convxGetConvolutionForwardAlgorithm(h, x, w, c, y, req, pr, pres);
                else if (dir == 1) convxGetConvolutionBackwardDataAlgorithm(h, w, y, c, x, req, pr, pres);
                else convxGetConvolutionBackwardFilterAlgorithm(h, x, y, c, w, req, pr, pres);
                break;
            }
            case kWorkspaceSize: {
                const int dir = byte() % 3;
                convxHandle_t h = handleArg();
                convxTensorDescriptor_t x = tensorArg();
                convxFilterDescriptor_t w = filterArg();
                convxConvolutionDescriptor_t c = convArg();
                convxTensorDescriptor_t y = tensorArg();
                auto algo = enumArg();
                size_t s;
                size_t* ps = (byte() & 1) ? nullptr : &s;
                workspaceSize(dir, h, x, w, c, y, algo, ps);
                break;
            }
            case kExecute: execute(false); break;
            case kTransposeExecute: execute(true); break;
            case kTransposeWorkspaceSize: {
                convxHandle_t h = handleArg();
                convxTensorDescriptor_t x = tensorArg();
                convxFilterDescriptor_t w = filterArg();
                convxConvolutionDescriptor_t c = convArg();
                convxTensorDescriptor_t y = tensorArg();
                auto algo = enumArg();
                size_t s;
                size_t* ps = (byte() & 1) ? nullptr : &s;
                workspaceSize(3, h, x, w, c, y, algo, ps);
                break;
            }
            case kHandleOp: handleOp(); break;
            case kMisc: misc(); break;
            case kSetupProblem: setupProblem(); break;
            case kGconv: gconvOp(); break;
            default: break;
        }
    }

    static convxStatus_t workspaceSize(int dir, convxHandle_t h, convxTensorDescriptor_t x, convxFilterDescriptor_t w,
                                       convxConvolutionDescriptor_t c, convxTensorDescriptor_t y, AnyEnum algo, size_t* s) {
        if (dir == 0) return convxGetConvolutionForwardWorkspaceSize(h, x, w, c, y, algo, s);
        if (dir == 1) return convxGetConvolutionBackwardDataWorkspaceSize(h, w, y, c, x, algo, s);
        if (dir == 3) return convxGetConvolutionTransposeForwardWorkspaceSize(h, x, w, c, y, algo, s);
        return convxGetConvolutionBackwardFilterWorkspaceSize(h, x, y, c, w, algo, s);
    }

    void handleOp() {
        const int sub = byte() % 8;
        switch (sub) {
            case 0: {  // recreate, on an arbitrary backend (CUDA is refused in a CPU-only build)
                auto be = enumArg();
                if (hLive_ && convxDestroy(h_) == CONVX_STATUS_SUCCESS) hLive_ = false;
                if (convxCreateWithBackend(&h_, be) == CONVX_STATUS_SUCCESS) hLive_ = true;
                break;
            }
            case 1: {
                convxHandle_t h = handleArg();
                if (convxDestroy(h) == CONVX_STATUS_SUCCESS && h == h_) hLive_ = false;
                break;
            }
            case 2: {
                convxBackend_t be;
                convxGetBackend(handleArg(), (byte() & 1) ? nullptr : &be);
                break;
            }
            case 3: {
                convxHandle_t h = handleArg();
                convxSetStream(h, (byte() & 1) ? static_cast<void*>(gForeign) : nullptr);
                break;
            }
            case 4: {
                void* s;
                convxGetStream(handleArg(), (byte() & 1) ? nullptr : &s);
                break;
            }
            case 5: {
                // Thread counts stay small to keep the fuzzer fast, except INT_MAX, which the
                // library must cap rather than hand to OpenMP.
                convxHandle_t h = handleArg();
                int t = arg();
                if (t > 2 && t != INT_MAX) t = t % 3;
                convxSetNumThreads(h, t);
                break;
            }
            case 6: {
                int t;
                convxGetNumThreads(handleArg(), (byte() & 1) ? nullptr : &t);
                break;
            }
            default: {
                convxHandle_t* ph = nullptr;
                convxCreateWithBackend(ph, enumArg());
                convxCreate(nullptr);
                break;
            }
        }
    }

    void misc() {
        const int v = arg();
        const char* s = convxGetErrorString(AnyEnum{v});
        if (s == nullptr) std::abort();
        volatile size_t sink = std::strlen(s);
        const char* a = convxGetAlgorithmName(AnyEnum{v});
        if (a) sink = sink + std::strlen(a);
        sink = sink + convxGetVersion();
        const int len = byte() % 70;  // exactly this many bytes; 0 must write nothing
        std::vector<char> buf(static_cast<size_t>(len));
        convxGetLastErrorString(len ? buf.data() : nullptr, static_cast<size_t>(len));
        if (len && std::memchr(buf.data(), 0, buf.size()) == nullptr) std::abort();  // must be NUL-terminated
        if (len) sink = sink + std::strlen(buf.data());
        convxGetLastErrorString(reinterpret_cast<char*>(gForeign), 0);
        (void)sink;
    }

    // GCONV: descriptor slots g0, g1; the call takes x, w (or NULL), z (or NULL), y from the
    // tensor and filter slots, and per-channel vectors (or NULL). Runs only when every given
    // descriptor is small and the work is bounded (w's size, or the window the slot was given).
    void gconvOp() {
        const int sub = byte() % 10;
        switch (sub) {
            case 0: {
                const uint8_t b = byte();
                if (b == 0xFF) {
                    convxCreateGconvDescriptor(nullptr);
                    break;
                }
                const int s = b % 2;
                if (gLive_[s] && convxDestroyGconvDescriptor(g_[s]) == CONVX_STATUS_SUCCESS) gconvDestroyed(g_[s]);
                if (convxCreateGconvDescriptor(&g_[s]) == CONVX_STATUS_SUCCESS) gLive_[s] = true, gWindow_[s] = -1;
                break;
            }
            case 1: {
                convxGconvDescriptor_t p = gconvArg();
                if (convxDestroyGconvDescriptor(p) == CONVX_STATUS_SUCCESS) gconvDestroyed(p);
                break;
            }
            case 2: {
                convxGconvDescriptor_t p = gconvArg();
                const int nb = arg();
                const uint8_t nulls = byte();
                auto pads = ints(nb), strides = ints(nb), dils = ints(nb);
                const int groups = arg();
                auto mode = enumArg();
                auto ct = enumArg();
                convxSetGconvNdGeometry(p, nb, pads.get(nulls & 1), strides.get(nulls & 2), dils.get(nulls & 4), groups, mode, ct);
                break;
            }
            case 3: {
                convxGconvDescriptor_t p = gconvArg();
                convxSetGconvGeometryFromConvolution(p, convArg());
                break;
            }
            case 4: {
                convxGconvDescriptor_t p = gconvArg();
                const int nb = arg();
                const uint8_t nulls = byte();
                auto win = ints(nb);
                if (convxSetGconvWindow(p, nb, win.get(nulls & 1)) == CONVX_STATUS_SUCCESS) {
                    int64_t taps = 1;
                    for (int k = 0; k < win.n && k < nb; ++k) taps *= win.p[k];
                    for (int s = 0; s < 2; ++s)
                        if (g_[s] == p) gWindow_[s] = taps;
                }
                break;
            }
            case 5: {
                convxGconvDescriptor_t p = gconvArg();
                const int v = arg();
                convxSetGconvPadValue(p, v == 222 ? std::nanf("") : v == 221 ? INFINITY : float(v) * 0.25f);
                break;
            }
            case 6: {
                convxGconvDescriptor_t p = gconvArg();
                auto m = enumArg();
                auto r = enumArg();
                convxSetGconvMapReduce(p, m, r);
                break;
            }
            case 7: {
                convxGconvDescriptor_t p = gconvArg();
                const bool post = byte() & 1;
                auto o = enumArg();
                const int v = arg();
                const float param = v == 222 ? INFINITY : float(v) * 0.125f;
                const int affine = arg();
                if (post) convxSetGconvPostOp(p, o, param, affine);
                else convxSetGconvPreOp(p, o, param, affine);
                break;
            }
            case 8: {
                convxGconvDescriptor_t p = gconvArg();
                convxSetGconvCombine(p, enumArg());
                break;
            }
            default: gconvCall(); break;
        }
    }

    void gconvCall() {
        const int kind = byte() % 3;
        if (kind == 0) {
            convxGconvDescriptor_t p = gconvArg();
            convxTensorDescriptor_t x = tensorArg();
            convxFilterDescriptor_t w = filterArg();
            const int nb = arg();
            const uint8_t nulls = byte();
            Ints dims(nb);
            convxGetGconvOutputDim(p, x, w, nb, dims.get(nulls & 1));
            return;
        }
        if (kind == 1) {
            convxHandle_t h = handleArg();
            convxGconvDescriptor_t p = gconvArg();
            convxTensorDescriptor_t x = tensorArg();
            convxFilterDescriptor_t w = filterArg();
            convxTensorDescriptor_t y = tensorArg();
            size_t s;
            convxGetGconvWorkspaceSize(h, p, x, w, y, (byte() & 1) ? nullptr : &s);
            return;
        }
        convxHandle_t h = handleArg();
        const uint8_t gb = byte();
        convxGconvDescriptor_t p = gconvFrom(gb);
        convxTensorDescriptor_t xd = tensorArg();
        convxFilterDescriptor_t wd = filterArg();
        convxTensorDescriptor_t zd = tensorArg();
        convxTensorDescriptor_t yd = tensorArg();
        const uint8_t flags = byte();
        const uint8_t seed = byte();
        const Desc x = tensorInfo(xd), w = wd ? filterInfo(wd) : Desc{}, z = tensorInfo(zd), y = tensorInfo(yd);
        // The work is y x (the filter's share per output channel), or y x the slot's window.
        const int slot = gb % 8 < 4 ? (gb % 8) % 2 : -1;
        const int64_t perOutput = wd ? (w.ok && w.dim0 > 0 ? w.elems / w.dim0 : -1) : (slot >= 0 && g_[slot] == p ? gWindow_[slot] : -1);
        const bool small = x.ok && y.ok && perOutput >= 0 && (!wd || w.ok) && y.elems * perOutput <= kMaxMacs;
        float one = 1.0f, zero = 0.0f;
        if (!small) {
            convxGconvForward(h, p, &one, xd, nullptr, wd, nullptr, zd, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0, &zero, yd,
                              nullptr);
            return;
        }
        const int style = (seed % 8 == 7) ? 1 : 0;
        Block bx, bw, bz, by;
        bx.mem.assign(x.bytes, 0), fill(bx, x.bytes, x.dt, seed, style);
        if (wd && w.ok) bw.mem.assign(w.bytes, 0), fill(bw, w.bytes, w.dt, seed + 1u, style);
        if (z.ok) bz.mem.assign(z.bytes, 0), fill(bz, z.bytes, z.dt, seed + 2u, style);
        by.shift = (flags >> 5) == 1 ? 1 : 0;  // sometimes misaligned
        by.mem.assign(y.bytes + by.shift, 0), fill(by, y.bytes, y.dt, seed + 3u, style);
        // Per-channel vectors: as many floats as any channel count a small tensor can have.
        std::vector<float> vec(static_cast<size_t>(kMaxElems), 0.5f);
        const float* v = (flags & 2) ? nullptr : vec.data();
        const float* v2 = (flags & 4) ? nullptr : vec.data();
        static const double kAlpha[2] = {1.0, -0.5}, kBeta[2] = {0.0, 1.0};
        const double a = kAlpha[flags & 1], b = kBeta[(flags >> 3) & 1];
        void* wp = (wd && w.ok && !(flags & 16)) ? bw.ptr() : nullptr;
        void* zp = z.ok ? bz.ptr() : nullptr;
        convxStatus_t st;
        if (x.dt == CONVX_DATA_DOUBLE) {
            std::unique_ptr<double> pa(new double(a)), pb(new double(b));
            st = convxGconvForward(h, p, pa.get(), xd, bx.ptr(), wd, wp, zd, zp, v, v2, v2, v, nullptr, 0, pb.get(), yd, by.ptr());
        } else {
            std::unique_ptr<float> pa(new float(float(a))), pb(new float(float(b)));
            st = convxGconvForward(h, p, pa.get(), xd, bx.ptr(), wd, wp, zd, zp, v, v2, v2, v, nullptr, 0, pb.get(), yd, by.ptr());
        }
        if (trace()) {
            char msg[512] = "";
            if (st != CONVX_STATUS_SUCCESS) convxGetLastErrorString(msg, sizeof msg);
            std::fprintf(stderr, "fuzz_descriptors:   gconv run: %s %s\n", convxGetErrorString(st), msg);
        }
    }

    // A consistent problem in slots t0 (x), f0 (w), c0, t1 (y) from a few small operands, so
    // that executions are reachable; later ops may then spoil any part of it.
    void setupProblem() {
        static const convxDataType_t kTypes[8] = {CONVX_DATA_FLOAT,  CONVX_DATA_FLOAT,    CONVX_DATA_FLOAT, CONVX_DATA_DOUBLE,
                                                  CONVX_DATA_HALF,   CONVX_DATA_BFLOAT16, CONVX_DATA_FLOAT, CONVX_DATA_HALF};
        const uint8_t shape = byte();
        const int nsp = (shape & 3) % 3 + 1;
        const convxDataType_t dt = kTypes[(shape >> 2) & 7];
        const uint8_t fmts = byte();
        const int g = byte() % 3 + 1, cg = byte() % 3 + 1, kg = byte() % 3 + 1, n = byte() % 2 + 1;
        int xd[5] = {n, g * cg}, wd[5] = {g * kg, cg}, pad[3], stride[3], dil[3];
        for (int i = 0; i < nsp; ++i) {
            xd[2 + i] = byte() % 7 + 1;
            wd[2 + i] = byte() % 3 + 1;
            pad[i] = byte() % 3;
            stride[i] = byte() % 3 + 1;
            dil[i] = byte() % 2 + 1;
        }
        const convxConvolutionMode_t mode = (fmts & 4) ? CONVX_CONVOLUTION : CONVX_CROSS_CORRELATION;
        for (int s = 0; s < 2; ++s)
            if (!tLive_[s]) createTensor(s);
        if (!fLive_[0]) createFilter(0);
        if (!cLive_[0]) createConv(0);
        convxSetTensorNdDescriptorEx(t_[0], static_cast<convxTensorFormat_t>(fmts & 1), dt, nsp + 2, xd);
        convxSetFilterNdDescriptor(f_[0], dt, static_cast<convxTensorFormat_t>((fmts >> 1) & 1), nsp + 2, wd);
        convxSetConvolutionNdDescriptor(c_[0], nsp, pad, stride, dil, mode, dt == CONVX_DATA_DOUBLE ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT);
        convxSetConvolutionGroupCount(c_[0], g);
        int yd[5];
        if (convxGetConvolutionNdForwardOutputDim(c_[0], t_[0], f_[0], nsp + 2, yd) == CONVX_STATUS_SUCCESS) {
            if (fmts & 8) {  // a strided (padded) y: one spare element after every row
                int ys[5];
                int64_t acc = 1;
                for (int i = nsp + 1; i >= 0; --i) {
                    ys[i] = static_cast<int>(acc);
                    acc *= yd[i] + (i == nsp + 1 ? 1 : 0);
                }
                convxSetTensorNdDescriptor(t_[1], dt, nsp + 2, yd, ys);
            } else {
                convxSetTensorNdDescriptorEx(t_[1], static_cast<convxTensorFormat_t>((fmts >> 4) & 1), dt, nsp + 2, yd);
            }
        }
    }

    // ------------------------------------------------------------ execution
    struct Desc {
        bool ok = false;
        convxDataType_t dt = CONVX_DATA_FLOAT;
        int nb = 0;
        int64_t elems = 1;
        int64_t dim0 = 0;
        size_t bytes = 0;
    };

    static size_t elemSize(convxDataType_t t) {
        return t == CONVX_DATA_DOUBLE ? 8 : (t == CONVX_DATA_HALF || t == CONVX_DATA_BFLOAT16) ? 2 : 4;
    }

    static Desc tensorInfo(convxTensorDescriptor_t p) {
        Desc d;
        int dims[CONVX_DIM_MAX], strides[CONVX_DIM_MAX];
        if (convxGetTensorNdDescriptor(p, CONVX_DIM_MAX, &d.dt, &d.nb, dims, strides) != CONVX_STATUS_SUCCESS) return d;
        if (convxGetTensorSizeInBytes(p, &d.bytes) != CONVX_STATUS_SUCCESS) return d;
        if (d.nb < 1 || d.nb > CONVX_DIM_MAX) std::abort();  // a set descriptor reports its real rank
        for (int i = 0; i < d.nb; ++i) d.elems *= dims[i];
        d.dim0 = dims[0];
        d.ok = d.bytes > 0 && d.bytes / elemSize(d.dt) <= static_cast<size_t>(kMaxElems) && d.elems <= kMaxElems;
        return d;
    }

    static Desc filterInfo(convxFilterDescriptor_t p) {
        Desc d;
        int dims[CONVX_DIM_MAX];
        convxTensorFormat_t fmt;
        if (convxGetFilterNdDescriptor(p, CONVX_DIM_MAX, &d.dt, &fmt, &d.nb, dims) != CONVX_STATUS_SUCCESS) return d;
        if (convxGetFilterSizeInBytes(p, &d.bytes) != CONVX_STATUS_SUCCESS) return d;
        if (d.nb < 1 || d.nb > CONVX_DIM_MAX) std::abort();
        for (int i = 0; i < d.nb; ++i) d.elems *= dims[i];
        d.dim0 = dims[0];
        d.ok = d.bytes == static_cast<size_t>(d.elems) * elemSize(d.dt) && d.elems <= kMaxElems;
        return d;
    }

    // A heap block of exactly `bytes` (plus `shift`), so that any access past the end is seen.
    struct Block {
        std::vector<unsigned char> mem;
        size_t shift = 0;
        void* ptr() { return mem.data() + shift; }
    };

    static void fill(Block& b, size_t bytes, convxDataType_t dt, uint32_t seed, int style) {
        uint32_t s = seed * 2654435761u + 1u;
        auto next = [&] {
            s ^= s << 13, s ^= s >> 17, s ^= s << 5;
            return s;
        };
        unsigned char* p = static_cast<unsigned char*>(b.ptr());
        const size_t es = elemSize(dt);
        for (size_t off = 0; off + es <= bytes; off += es) {
            const uint32_t r = next();
            if (style == 1) {  // raw bits: NaN, Inf, denormals, anything
                for (size_t k = 0; k < es; ++k) p[off + k] = static_cast<unsigned char>(next() >> (8 * (k % 4)));
                continue;
            }
            const double v = style == 2 ? (double(int(r % 2001) - 1000) * 1e35) : double(int(r % 17) - 8) * 0.125;
            if (dt == CONVX_DATA_FLOAT) {
                const float f = static_cast<float>(v);
                std::memcpy(p + off, &f, 4);
            } else if (dt == CONVX_DATA_DOUBLE) {
                std::memcpy(p + off, &v, 8);
            } else {
                const uint16_t h = static_cast<uint16_t>(r);  // any 16-bit pattern
                std::memcpy(p + off, &h, 2);
            }
        }
    }

    // dir 0..2: forward, backward data, backward filter (x, w, y by role); transpose: the
    // ConvTranspose of x (dir 3; no Find of its own).
    void execute(bool transpose) {
        const int mode = byte();
        const int dir = transpose ? 3 : mode % 3;
        const bool find = !transpose && (mode / 3) % 4 == 3;
        convxHandle_t h = handleArg();
        convxTensorDescriptor_t xd = tensorArg();
        convxFilterDescriptor_t wd = filterArg();
        convxConvolutionDescriptor_t cd = convArg();
        convxTensorDescriptor_t yd = tensorArg();
        const auto algo = enumArg();
        const uint8_t flags = byte();
        const uint8_t seed = byte();

        const Desc x = tensorInfo(xd), w = filterInfo(wd), y = tensorInfo(yd);
        // multiply-adds: (the forward y, or the ConvTranspose's x) x (a filter's share per output channel)
        const int64_t outer = transpose ? x.elems : y.elems;
        const bool small = x.ok && w.ok && y.ok && w.dim0 > 0 && outer * (w.elems / w.dim0) <= kMaxMacs;
        if (!small) {
            // Descriptors unset, invalid or too big to run: no buffers, which must be refused
            // whatever else is wrong.
            float one = 1.0f, zero = 0.0f;
            callExec(dir, find, h, &one, xd, nullptr, wd, nullptr, cd, algo, nullptr, 0, &zero, yd, nullptr, 1);
            return;
        }
        const int style = (seed % 8 == 7) ? 1 : (seed % 8 == 6) ? 2 : 0;
        Block bx, bw, by, ws;
        Block* blocks[3] = {&bx, &bw, &by};
        const Desc* infos[3] = {&x, &w, &y};
        for (int k = 0; k < 3; ++k) {
            blocks[k]->shift = (flags >> 5) == static_cast<unsigned>(k + 1) ? 1 : 0;  // sometimes misaligned
            blocks[k]->mem.assign(infos[k]->bytes + blocks[k]->shift, 0);
            fill(*blocks[k], infos[k]->bytes, infos[k]->dt, seed + 101u * k, style);
        }
        // Workspace: what the query says, sometimes one byte short (must be refused).
        size_t need = 0;
        void* wsPtr = nullptr;
        size_t wsBytes = 0;
        if (workspaceSize(dir, h, xd, wd, cd, yd, algo, &need) == CONVX_STATUS_SUCCESS && need <= kMaxWorkspace) {
            ws.mem.assign(need, 0);
            wsPtr = need ? ws.ptr() : nullptr;
            wsBytes = (flags & 1) && need ? need - 1 : need;
        }
        // alpha/beta: exactly a float, or exactly a double for double data (the x role's type).
        static const double kAlpha[4] = {1.0, -0.5, 0.0, 3.0};
        static const double kBeta[4] = {0.0, 1.0, 0.5, 0.0};
        const double a = kAlpha[(flags >> 1) & 3], b = kBeta[(flags >> 3) & 3];
        if (x.dt == CONVX_DATA_DOUBLE) {
            double* pa = new double(a);
            double* pb = new double(b);
            callExec(dir, find, h, pa, xd, bx.ptr(), wd, bw.ptr(), cd, algo, wsPtr, wsBytes, pb, yd, by.ptr(), flags);
            delete pa;
            delete pb;
        } else {
            float* pa = new float(static_cast<float>(a));
            float* pb = new float(static_cast<float>(b));
            callExec(dir, find, h, pa, xd, bx.ptr(), wd, bw.ptr(), cd, algo, wsPtr, wsBytes, pb, yd, by.ptr(), flags);
            delete pa;
            delete pb;
        }
    }

    static void callExec(int dir, bool find, convxHandle_t h, const void* alpha, convxTensorDescriptor_t xd, void* x,
                         convxFilterDescriptor_t wd, void* w, convxConvolutionDescriptor_t cd, AnyEnum algo, void* ws,
                         size_t wsBytes, const void* beta, convxTensorDescriptor_t yd, void* y, uint8_t flags) {
        convxStatus_t st;
        if (find) {
            const int req = flags % 4;  // 0 must be refused
            std::vector<convxAlgoPerf_t> res(static_cast<size_t>(req ? req : 1));
            int ret;
            if (dir == 0) st = convxFindConvolutionForwardAlgorithm(h, xd, x, wd, w, cd, yd, y, req, &ret, res.data(), ws, wsBytes);
            else if (dir == 1) st = convxFindConvolutionBackwardDataAlgorithm(h, wd, w, yd, y, cd, xd, x, req, &ret, res.data(), ws, wsBytes);
            else st = convxFindConvolutionBackwardFilterAlgorithm(h, xd, x, yd, y, cd, wd, w, req, &ret, res.data(), ws, wsBytes);
        } else if (dir == 0) {
            st = convxConvolutionForward(h, alpha, xd, x, wd, w, cd, algo, ws, wsBytes, beta, yd, y);
        } else if (dir == 1) {
            st = convxConvolutionBackwardData(h, alpha, wd, w, yd, y, cd, algo, ws, wsBytes, beta, xd, x);
        } else if (dir == 3) {
            st = convxConvolutionTransposeForward(h, alpha, xd, x, wd, w, cd, algo, ws, wsBytes, beta, yd, y);
        } else {
            st = convxConvolutionBackwardFilter(h, alpha, xd, x, yd, y, cd, algo, ws, wsBytes, beta, wd, w);
        }
        if (trace()) {
            char msg[512] = "";
            if (st != CONVX_STATUS_SUCCESS) convxGetLastErrorString(msg, sizeof msg);
            std::fprintf(stderr, "fuzz_descriptors:   %s dir %d%s: %s %s\n", x ? "run" : "no buffers", dir, find ? " (find)" : "",
                         convxGetErrorString(st), msg);
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 8192) return 0;
    Program(data, size).run();
    return 0;
}
