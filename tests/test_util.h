// Shared helpers of the convx test suite: skipping, scaling, environment and error-message
// helpers, RAII wrappers of the C objects, and the test's own (independent) 16-bit float codecs.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "convx/convx.h"

namespace convx {
void setLastError(const std::string& message);  // capi/status.cpp (internal)
}

// A test that cannot run on this machine or build says why and returns: ctest's
// SKIP_REGULAR_EXPRESSION "CONVX-SKIP" then reports it as skipped, not passed.
#define CONVX_SKIP(reason)                  \
    do {                                    \
        WARN("CONVX-SKIP: " << reason);     \
        return;                             \
    } while (0)

namespace testutil {

// CONVX_TEST_SCALE: a float multiplier on the number of random cases (default 1), so that slow
// runs (qemu, sanitizers) can lower it. The result is never below `minimum`.
inline double testScale() {
    const char* v = std::getenv("CONVX_TEST_SCALE");
    if (!v || !*v) return 1.0;
    char* end = nullptr;
    double s = std::strtod(v, &end);
    if (end == v || !(s > 0.0) || !std::isfinite(s)) return 1.0;
    return s;
}
inline int scaled(int base, int minimum = 3) {
    long n = std::lround(base * testScale());
    return n < minimum ? minimum : static_cast<int>(n);
}

inline std::string lastError() {
    char buf[4096];
    std::memset(buf, 'x', sizeof buf);
    convxGetLastErrorString(buf, sizeof buf);
    return std::string(buf);
}

// Sets (or unsets) an environment variable for the scope, restoring the previous state.
class EnvGuard {
public:
    EnvGuard(const char* name, const char* value) : name_(name) {
        const char* old = std::getenv(name);
        had_ = old != nullptr;
        if (had_) old_ = old;
        if (value) setenv(name, value, 1);
        else unsetenv(name);
    }
    ~EnvGuard() {
        if (had_) setenv(name_.c_str(), old_.c_str(), 1);
        else unsetenv(name_.c_str());
    }
    EnvGuard(const EnvGuard&) = delete;
    EnvGuard& operator=(const EnvGuard&) = delete;

private:
    std::string name_, old_;
    bool had_ = false;
};

// ---------------------------------------------------------------- RAII wrappers

struct Handle {
    convxHandle_t h = nullptr;
    explicit Handle(int threads = -1) {
        REQUIRE(convxCreateWithBackend(&h, CONVX_BACKEND_CPU) == CONVX_STATUS_SUCCESS);
        if (threads >= 0) REQUIRE(convxSetNumThreads(h, threads) == CONVX_STATUS_SUCCESS);
    }
    ~Handle() {
        if (h) convxDestroy(h);
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    operator convxHandle_t() const { return h; }
};

struct TensorDesc {
    convxTensorDescriptor_t d = nullptr;
    TensorDesc() { REQUIRE(convxCreateTensorDescriptor(&d) == CONVX_STATUS_SUCCESS); }
    ~TensorDesc() {
        if (d) convxDestroyTensorDescriptor(d);
    }
    TensorDesc(const TensorDesc&) = delete;
    TensorDesc& operator=(const TensorDesc&) = delete;
    operator convxTensorDescriptor_t() const { return d; }
};

struct FilterDesc {
    convxFilterDescriptor_t d = nullptr;
    FilterDesc() { REQUIRE(convxCreateFilterDescriptor(&d) == CONVX_STATUS_SUCCESS); }
    ~FilterDesc() {
        if (d) convxDestroyFilterDescriptor(d);
    }
    FilterDesc(const FilterDesc&) = delete;
    FilterDesc& operator=(const FilterDesc&) = delete;
    operator convxFilterDescriptor_t() const { return d; }
};

struct ConvDesc {
    convxConvolutionDescriptor_t d = nullptr;
    ConvDesc() { REQUIRE(convxCreateConvolutionDescriptor(&d) == CONVX_STATUS_SUCCESS); }
    ~ConvDesc() {
        if (d) convxDestroyConvolutionDescriptor(d);
    }
    ConvDesc(const ConvDesc&) = delete;
    ConvDesc& operator=(const ConvDesc&) = delete;
    operator convxConvolutionDescriptor_t() const { return d; }
};

// ---------------------------------------------------------------- independent 16-bit codecs
// Written from the IEEE / bfloat16 definitions, not from convx's code: decode by the formula,
// round by searching the (monotonic) table of finite encodings for the nearest neighbours.

struct Format16 {
    int expBits, mantBits;
};
constexpr Format16 kHalf{5, 10};
constexpr Format16 kBf16{8, 7};

inline double decode16(uint16_t h, Format16 f) {
    const int bias = (1 << (f.expBits - 1)) - 1;
    const uint32_t expMask = (1u << f.expBits) - 1u;
    const bool neg = (h >> (f.expBits + f.mantBits)) & 1u;
    const uint32_t e = (h >> f.mantBits) & expMask;
    const uint32_t m = h & ((1u << f.mantBits) - 1u);
    double v;
    if (e == expMask) v = m ? std::nan("") : HUGE_VAL;
    else if (e == 0) v = std::ldexp(static_cast<double>(m), 1 - bias - f.mantBits);
    else v = std::ldexp(static_cast<double>((1u << f.mantBits) + m), static_cast<int>(e) - bias - f.mantBits);
    return neg ? -v : v;
}

inline uint16_t maxFinite16(Format16 f) {
    return static_cast<uint16_t>((((1u << f.expBits) - 2u) << f.mantBits) | ((1u << f.mantBits) - 1u));
}
inline uint16_t inf16(Format16 f) { return static_cast<uint16_t>(((1u << f.expBits) - 1u) << f.mantBits); }
inline uint16_t signBit16(Format16 f) { return static_cast<uint16_t>(1u << (f.expBits + f.mantBits)); }
inline bool isNan16(uint16_t h, Format16 f) {
    return (h & inf16(f)) == inf16(f) && (h & ((1u << f.mantBits) - 1u)) != 0;
}

// Round to nearest, ties to even, overflow to infinity; NaN gives a NaN.
inline uint16_t encode16(double v, Format16 f) {
    if (std::isnan(v)) return static_cast<uint16_t>(inf16(f) | (1u << (f.mantBits - 1)));
    const uint16_t sign = std::signbit(v) ? signBit16(f) : 0;
    const double a = std::fabs(v);
    const uint16_t maxF = maxFinite16(f);
    const double maxV = decode16(maxF, f);
    const double nextV = maxV + (maxV - decode16(static_cast<uint16_t>(maxF - 1), f));  // 2^(emax+1)
    if (a >= (maxV + nextV) / 2) return static_cast<uint16_t>(sign | inf16(f));
    // largest code lo with decode(lo) <= a
    uint32_t lo = 0, hi = maxF;
    while (lo < hi) {
        uint32_t mid = (lo + hi + 1) / 2;
        if (decode16(static_cast<uint16_t>(mid), f) <= a) lo = mid;
        else hi = mid - 1;
    }
    uint32_t code = lo;
    if (decode16(static_cast<uint16_t>(lo), f) != a) {
        const double dl = a - decode16(static_cast<uint16_t>(lo), f);
        const double du = (lo + 1 <= maxF ? decode16(static_cast<uint16_t>(lo + 1), f) : nextV) - a;
        if (du < dl || (du == dl && (lo & 1u))) code = lo + 1;
    }
    return static_cast<uint16_t>(sign | code);
}

// Distance in units in the last place between two finite 16-bit encodings (+0 and -0 coincide).
inline int ulpDistance16(uint16_t a, uint16_t b, Format16 f) {
    auto ordered = [&](uint16_t h) {
        int mag = h & (signBit16(f) - 1);
        return (h & signBit16(f)) ? -mag : mag;
    };
    return std::abs(ordered(a) - ordered(b));
}

}  // namespace testutil

// Checks that `expr` (a convx call) fails with exactly `st` and that the thread's last error
// message names `needle` (the offending argument). The message is reset first, so a stale
// message from an earlier call cannot satisfy the check.
#define CHECK_CONVX_FAILS(expr, st, needle)                                                          \
    do {                                                                                             \
        ::convx::setLastError("<no message was set>");                                               \
        const convxStatus_t status_ = (expr);                                                        \
        const std::string message_ = ::testutil::lastError();                                        \
        INFO(#expr << "\n  -> " << convxGetErrorString(status_) << ": " << message_);               \
        CHECK(convxGetErrorString(status_) == std::string(convxGetErrorString(st)));                \
        CHECK(message_ != "<no message was set>");                                                   \
        CHECK_THAT(message_, Catch::Contains(needle));                                               \
    } while (0)

#define REQUIRE_CONVX_OK(expr)                                                                       \
    do {                                                                                             \
        const convxStatus_t status_ = (expr);                                                        \
        INFO(#expr << "\n  -> " << convxGetErrorString(status_) << ": "                              \
                   << (status_ ? ::testutil::lastError() : std::string()));                          \
        REQUIRE(status_ == CONVX_STATUS_SUCCESS);                                                    \
    } while (0)
