// Logging of selector decisions. CONVX_LOG=1 writes to stderr, CONVX_LOG=<path> appends to a
// file; CONVX_LOG_CMD=1 prints, per call, the convx-bench line that reproduces it.
// The variables are read at each call, so a process can switch them on while running.
#pragma once

#include <string>

namespace convx {

bool logEnabled();
bool logCommandEnabled();
void logLine(const std::string& line);  // one line, prefixed "convx: ", to the log sink
void logCommand(const std::string& line);  // to the log sink, or stderr when CONVX_LOG is off
// "convx: warning: <line>" to the log sink, or stderr when CONVX_LOG is off. Callers rate-limit
// (the find-db warns once per file and process).
void logWarning(const std::string& line);

}  // namespace convx
