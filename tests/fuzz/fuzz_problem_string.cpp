// libFuzzer target: arbitrary bytes as a problem string.
//
// parseProblem must either throw convx::Error (any other exception escapes and is reported by
// libFuzzer as a crash) or return a valid Problem whose canonical string parses back to the
// same Problem and prints the same string again. Sanitizers catch the rest.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "error.h"
#include "problem.h"

namespace {

[[noreturn]] void die(const char* what, const std::string& input, const std::string& canon, const std::string& detail) {
    std::fprintf(stderr, "fuzz_problem_string: %s\n  input:     '%s'\n  canonical: '%s'\n  %s\n", what, input.c_str(), canon.c_str(),
                 detail.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 4096) return 0;  // longer strings add nothing but time
    const std::string text(reinterpret_cast<const char*>(data), size);

    convx::Problem p;
    try {
        p = convx::parseProblem(text);
    } catch (const convx::Error&) {
        return 0;  // rejected, with a status and a reason: fine
    }

    // A parsed problem is valid by contract.
    try {
        convx::validateProblem(p);
    } catch (const convx::Error& e) {
        die("parseProblem returned a problem that validateProblem rejects", text, p.str(), e.what());
    }

    const std::string canon = p.str();
    convx::Problem q;
    try {
        q = convx::parseProblem(canon);
    } catch (const convx::Error& e) {
        die("the canonical string of a parsed problem does not parse", text, canon, e.what());
    }
    if (q != p) die("parseProblem(p.str()) != p", text, canon, "reparsed: '" + q.str() + "'");
    if (q.str() != canon) die("the canonical string is not a fixed point", text, canon, "reprinted: '" + q.str() + "'");
    return 0;
}
