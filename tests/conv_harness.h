// The conformance harness: random convolution problems built through the public C API
// (descriptors with any strides and layouts), typed buffers with poisoned gaps, and an
// INDEPENDENT naive oracle written straight from the definition of the three directions.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "problem.h"
#include "test_util.h"

namespace harness {

enum class Dir { Fwd = 0, BwdData = 1, BwdFilter = 2 };  // the order of convx::Direction
const char* dirName(Dir d);
const char* dtName(convxDataType_t t);
size_t dtSize(convxDataType_t t);

// Long double where it is a hardware type (x86), double elsewhere (aarch64's long double is a
// software quad type, far too slow under qemu).
#if defined(__x86_64__) || defined(__i386__)
using Acc = long double;
#else
using Acc = double;
#endif

struct Spec {
    Dir dir = Dir::Fwd;
    convxDataType_t dt = CONVX_DATA_FLOAT;
    convxDataType_t compute = CONVX_DATA_FLOAT;
    convxConvolutionMode_t mode = CONVX_CROSS_CORRELATION;
    convxMathType_t math = CONVX_DEFAULT_MATH;
    int nsp = 2;
    int N = 1, C = 1, K = 1, G = 1;
    int in[3] = {1, 1, 1}, ker[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
    convxTensorFormat_t xFmt = CONVX_TENSOR_NCHW, yFmt = CONVX_TENSOR_NCHW, wFmt = CONVX_TENSOR_NCHW;
    bool xGapped = false, yGapped = false;  // non-packed strides with unused elements
    double alpha = 1.0, beta = 0.0;         // exactly representable in float
    int threads = 1;                        // convxSetNumThreads; 0 = OpenMP default
    uint64_t api = 0;                       // random bits: which setter builds each descriptor
    uint64_t seed = 1;                      // data and gap layout

    int out(int i) const;   // output spatial size by the cuDNN formula (<= 0: invalid)
    bool valid() const;     // every output size >= 1
};

struct GenOptions {
    int nsp = 0;                 // 0: random 1..3
    bool depthwise = false;      // force G == C > 1 (multiplier 1 or 2)
    bool smallMaps = false;      // force input maps smaller than the kernel (padding makes them valid)
    bool gapped = false;         // force non-packed x and y
    int betaKind = -1;           // -1 random, 0: beta 0, 1: beta 1, 2: random beta
    bool allowHalfAcc = true;    // f16 data may use a HALF compute type
    int maxThreads = 3;
};

Spec randomSpec(std::mt19937_64& rng, Dir dir, convxDataType_t dt, const GenOptions& o = GenOptions());

// A typed buffer with 8-byte aligned storage; values go in and out as double, rounded to the
// type by the test's own codecs.
struct Buffer {
    convxDataType_t dt = CONVX_DATA_FLOAT;
    int64_t elems = 0;
    std::vector<uint64_t> store;

    Buffer() = default;
    Buffer(convxDataType_t t, int64_t n);
    void* data() { return store.data(); }
    const void* data() const { return store.data(); }
    double get(int64_t i) const;
    void set(int64_t i, double v);
    void setNaN(int64_t i);
    uint16_t raw16(int64_t i) const;
    bool sameBytes(const Buffer& o, int64_t i) const;
};

// dims and element strides of one tensor (x, w or y), with the elements its dims cover.
struct Geometry {
    int rank = 0;
    int64_t dims[5] = {1, 1, 1, 1, 1};
    int64_t strides[5] = {0, 0, 0, 0, 0};
    int64_t span = 0;
    std::vector<char> covered;
    int64_t offset(const int64_t idx[5]) const {
        int64_t o = 0;
        for (int i = 0; i < rank; ++i) o += idx[i] * strides[i];
        return o;
    }
};

// One convolution call: its spec, descriptors (built through the C API), buffers by role.
class Case {
public:
    explicit Case(const Spec& s);
    Case(const Case&) = delete;
    Case& operator=(const Case&) = delete;

    const Spec& spec() const { return s_; }
    void setThreads(int threads) { s_.threads = threads; }
    // Fresh random inputs (gaps poisoned with NaN); the output is NaN-poisoned when beta == 0,
    // else random prior values (gaps NaN).
    void fill();
    Buffer& output();
    const Buffer& output() const;
    const Geometry& outputGeometry() const;

    // The C API call of the spec's direction.
    convxStatus_t run(convxHandle_t h, convxConvAlgo_t algo, void* workspace = nullptr, size_t workspaceBytes = 0);

    // The naive oracle's output for the current inputs and the given prior output, by offset of
    // the output tensor (entries at gaps are unused).
    std::vector<double> oracle(const Buffer& prior) const;

    // Checks the current output against the oracle: gaps untouched (bytewise), no NaN, and
    // f32: relative L2 < 1e-6, f64: < 1e-12, f16/bf16: within 1 ulp of the rounded oracle.
    bool verify(const std::vector<double>& want, const Buffer& prior, std::string* detail) const;

    // Compares the current output with another run's (e.g. the reference's): gaps untouched,
    // relative L2 below tol (0: bitwise identical).
    bool compareWith(const Buffer& other, const Buffer& prior, double tol, std::string* detail) const;

    std::string describe() const;  // problem string (via convx::problemOf) and run parameters

    convxTensorDescriptor_t xDesc() const { return xd_; }
    convxTensorDescriptor_t yDesc() const { return yd_; }
    convxFilterDescriptor_t wDesc() const { return wd_; }
    convxConvolutionDescriptor_t convDesc() const { return cd_; }
    Buffer x, w, y;  // by role: dx is x, dy is y, dw is w
    Geometry xg, wg, yg;

private:
    Spec s_;
    testutil::TensorDesc xd_, yd_;
    testutil::FilterDesc wd_;
    testutil::ConvDesc cd_;
};

// The C API's Get, Find and workspace-size calls of c's direction, with c's descriptors and buffers.
convxStatus_t getAlgos(convxHandle_t h, Case& c, int requested, int* returned, convxAlgoPerf_t* r);
convxStatus_t findAlgos(convxHandle_t h, Case& c, int requested, int* returned, convxAlgoPerf_t* r, void* ws = nullptr,
                        size_t bytes = 0);
convxStatus_t workspaceOf(convxHandle_t h, Case& c, convxConvAlgo_t algo, size_t* size);
// The Problem the library builds from c's descriptors.
convx::Problem problemOf(const Case& c);

// Default tolerance (relative L2) when comparing two implementations' outputs.
double algoTolerance(convxDataType_t dt);

}  // namespace harness
