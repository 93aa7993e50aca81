// The one exception funnel of the C API: every entry point runs its body through guard(),
// which turns an Error into its status and a thread-local message, and anything else into an
// INTERNAL_ERROR or ALLOC_FAILED status — no exception ever crosses the C boundary.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <type_traits>

#include "convx/convx.h"
#include "error.h"

namespace convx {

void setLastError(const std::string& message);

// The int a C caller passed for an enum parameter. C lets any int through an enum type, but in
// C++ reading an enum object whose value lies outside the enumeration's range is undefined
// (UBSan: "load of value ..., which is not a valid value for type"): read the object's bytes
// and validate the int before converting it back.
template <class E>
inline int enumArg(const E& e) {
    static_assert(std::is_enum<E>::value && sizeof(E) == sizeof(int), "a C enum parameter");
    int v;
    std::memcpy(&v, &e, sizeof v);
    return v;
}

// An algorithm argument; a value that is no convxConvAlgo_t id is BAD_PARAM.
inline convxConvAlgo_t algoArg(const convxConvAlgo_t& algo) {
    const int v = enumArg(algo);
    if (v < 0 || v >= CONVX_ALGO_COUNT) fail(CONVX_STATUS_BAD_PARAM, "algo = %d is not a convxConvAlgo_t", v);
    return static_cast<convxConvAlgo_t>(v);
}

template <class F>
convxStatus_t guard(const char* function, F&& body) noexcept {
    try {
        body();
        return CONVX_STATUS_SUCCESS;
    } catch (const Error& e) {
        setLastError(std::string(function) + ": " + e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        setLastError(std::string(function) + ": host memory allocation failed");
        return CONVX_STATUS_ALLOC_FAILED;
    } catch (const std::exception& e) {
        setLastError(std::string(function) + ": internal error: " + e.what());
        return CONVX_STATUS_INTERNAL_ERROR;
    } catch (...) {
        setLastError(std::string(function) + ": internal error: unknown exception");
        return CONVX_STATUS_INTERNAL_ERROR;
    }
}

}  // namespace convx

#define CONVX_GUARD(...) ::convx::guard(__func__, [&]() __VA_ARGS__)
