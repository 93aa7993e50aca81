// The one exception funnel of the C API: every entry point runs its body through guard(),
// which turns an Error into its status and a thread-local message, and anything else into an
// INTERNAL_ERROR or ALLOC_FAILED status — no exception ever crosses the C boundary.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "convx/convx.h"
#include "error.h"

namespace convx {

void setLastError(const std::string& message);

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
