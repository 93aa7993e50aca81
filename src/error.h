// The one way failures travel inside convx: an Error carries a status and a message that
// names the offending argument; capi/ turns it into a status + thread-local message.
#pragma once

#include <cstdarg>
#include <stdexcept>
#include <string>

#include "convx/convx.h"

namespace convx {

class Error : public std::runtime_error {
public:
    Error(convxStatus_t status, std::string message) : std::runtime_error(std::move(message)), status_(status) {}
    convxStatus_t status() const { return status_; }

private:
    convxStatus_t status_;
};

// printf-style formatting for messages.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void fail(convxStatus_t status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Throws BAD_PARAM_NULL_POINTER naming `arg` when p is null.
inline void requireNonNull(const void* p, const char* arg) {
    if (p == nullptr) fail(CONVX_STATUS_BAD_PARAM_NULL_POINTER, "%s is NULL", arg);
}

}  // namespace convx
