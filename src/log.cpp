#include "log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace convx {

static const char* envValue(const char* name) {
    const char* v = std::getenv(name);
    return (v && *v && std::strcmp(v, "0") != 0) ? v : nullptr;
}

bool logEnabled() { return envValue("CONVX_LOG") != nullptr; }
bool logCommandEnabled() { return envValue("CONVX_LOG_CMD") != nullptr; }

static void writeLine(const char* sink, const std::string& line) {
    static std::mutex m;
    std::lock_guard<std::mutex> lock(m);
    if (sink == nullptr || std::strcmp(sink, "1") == 0 || std::strcmp(sink, "stderr") == 0) {
        std::fprintf(stderr, "%s\n", line.c_str());
        return;
    }
    if (std::strcmp(sink, "stdout") == 0) {
        std::fprintf(stdout, "%s\n", line.c_str());
        std::fflush(stdout);
        return;
    }
    if (FILE* f = std::fopen(sink, "a")) {
        std::fprintf(f, "%s\n", line.c_str());
        std::fclose(f);
    } else {
        std::fprintf(stderr, "convx: cannot open CONVX_LOG file '%s'; %s\n", sink, line.c_str());
    }
}

void logLine(const std::string& line) {
    if (const char* sink = envValue("CONVX_LOG")) writeLine(sink, "convx: " + line);
}

void logCommand(const std::string& line) { writeLine(envValue("CONVX_LOG"), line); }

void logWarning(const std::string& line) { writeLine(envValue("CONVX_LOG"), "convx: warning: " + line); }

}  // namespace convx
