// Unit tests of the selector (AUTO, CONVX_ALGO, CONVX_DISABLE, explicit ids) and of the
// decision log (CONVX_LOG, CONVX_LOG_CMD).
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "conv_harness.h"
#include "error.h"
#include "execute.h"
#include "registry.h"
#include "selector.h"

using harness::Case;
using harness::Dir;
using harness::Spec;
using harness::problemOf;
using testutil::EnvGuard;

namespace {

const Dir kDirs[] = {Dir::Fwd, Dir::BwdData, Dir::BwdFilter};

Spec simpleSpec(Dir d, convxDataType_t dt = CONVX_DATA_FLOAT) {
    Spec s;
    s.dir = d;
    s.dt = dt;
    s.compute = dt == CONVX_DATA_DOUBLE ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT;
    s.nsp = 2;
    s.N = 2;
    s.C = 4;
    s.K = 6;
    s.G = 2;
    s.in[0] = 7;
    s.in[1] = 6;
    s.ker[0] = 3;
    s.ker[1] = 2;
    s.stride[0] = 2;
    s.pad[0] = 1;
    s.dil[1] = 2;
    return s;
}

// Neutral environment for the selector: none of its variables set.
// Registry order: the measured heuristic (tests/test_heuristic.cpp) is off here.
struct CleanEnv {
    EnvGuard a{"CONVX_ALGO", nullptr}, b{"CONVX_DISABLE", nullptr}, c{"CONVX_LOG", nullptr}, d{"CONVX_LOG_CMD", nullptr};
    EnvGuard e{"CONVX_HEURISTIC", "off"};
};

// A unique temporary file path, removed at the end of the scope.
class TempFile {
public:
    TempFile() {
        const char* dir = std::getenv("TMPDIR");
        std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/convx-test-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        const int fd = mkstemp(buf.data());
        REQUIRE(fd >= 0);
        close(fd);
        path_ = buf.data();
        std::remove(path_.c_str());  // the library creates it when it logs
    }
    ~TempFile() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }
    bool exists() const { return std::ifstream(path_).good(); }
    std::vector<std::string> lines() const {
        std::vector<std::string> v;
        std::ifstream f(path_);
        for (std::string l; std::getline(f, l);) v.push_back(l);
        return v;
    }
    std::string text() const {
        std::string t;
        for (const auto& l : lines()) t += l + "\n";
        return t;
    }

private:
    std::string path_;
};

const convx::Algorithm* firstApplicable(const convx::Problem& p) {
    for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir))
        if (a->check(p).ok) return a;
    return nullptr;
}

}  // namespace

TEST_CASE("selector: AUTO picks the first applicable CPU algorithm, the reference on CPU", "[unit][selector]") {
    CleanEnv env;
    convxContext ctx;
    ctx.backend = CONVX_BACKEND_CPU;
    for (Dir d : kDirs) {
        Case c(simpleSpec(d));
        const convx::Problem p = problemOf(c);
        INFO(p.str());
        const convx::Algorithm* picked = convx::selectAlgorithm(ctx, p, CONVX_ALGO_AUTO);
        REQUIRE(picked != nullptr);
        CHECK(picked == firstApplicable(p));
        CHECK(picked->backend() == CONVX_BACKEND_CPU);
        // With only the reference registered (today's CPU backend), AUTO is the reference; with
        // more, the reference is still the last resort and always applicable.
        const auto algos = convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir);
        if (algos.size() == 1) CHECK(picked->id() == CONVX_ALGO_REFERENCE);
        CHECK(algos.back()->id() == CONVX_ALGO_REFERENCE);
        CHECK(convx::findAlgorithm(CONVX_BACKEND_CPU, CONVX_ALGO_REFERENCE)->check(p).ok);
        // and the C API runs it
        testutil::Handle h;
        c.fill();
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO));
    }
}

TEST_CASE("selector: rankAlgorithms lists applicable algorithms first", "[unit][selector]") {
    CleanEnv env;
    convxContext ctx;
    ctx.backend = CONVX_BACKEND_CPU;
    for (Dir d : kDirs) {
        Case c(simpleSpec(d));
        const convx::Problem p = problemOf(c);
        const auto ranked = convx::rankAlgorithms(ctx, p);
        CHECK(ranked.size() == convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir).size());
        bool seenNo = false;
        for (const auto& r : ranked) {
            if (!r.applicability.ok) {
                seenNo = true;
                CHECK_FALSE(r.applicability.reason.empty());
            } else {
                CHECK_FALSE(seenNo);
                CHECK(r.workspace == r.algo->workspaceSize(p));
            }
        }
    }
}

TEST_CASE("selector: CONVX_ALGO=reference forces the reference", "[unit][selector]") {
    CleanEnv env;
    convxContext ctx;
    ctx.backend = CONVX_BACKEND_CPU;
    for (const char* spelling : {"reference", "REFERENCE", "CONVX_ALGO_REFERENCE", "1"}) {
        EnvGuard g("CONVX_ALGO", spelling);
        TempFile log;
        EnvGuard l("CONVX_LOG", log.path().c_str());
        for (Dir d : kDirs) {
            Case c(simpleSpec(d));
            const convx::Problem p = problemOf(c);
            INFO(spelling << " " << p.str());
            CHECK(convx::selectAlgorithm(ctx, p, CONVX_ALGO_AUTO)->id() == CONVX_ALGO_REFERENCE);
            testutil::Handle h;
            c.fill();
            REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO));
        }
        CHECK_THAT(log.text(), Catch::Contains("-> reference (CONVX_ALGO)"));
    }
}

TEST_CASE("selector: CONVX_ALGO=auto leaves the choice to AUTO", "[unit][selector]") {
    CleanEnv env;
    EnvGuard g("CONVX_ALGO", "auto");
    convxContext ctx;
    ctx.backend = CONVX_BACKEND_CPU;
    Case c(simpleSpec(Dir::Fwd));
    const convx::Problem p = problemOf(c);
    CHECK(convx::selectAlgorithm(ctx, p, CONVX_ALGO_AUTO) == firstApplicable(p));
}

TEST_CASE("selector: CONVX_ALGO naming an algorithm absent on CPU is NOT_SUPPORTED_ALGORITHM", "[unit][selector]") {
    CleanEnv env;
    testutil::Handle h;
    int absent = 0;
    for (int id = 1; id < CONVX_ALGO_COUNT; ++id) {
        if (convx::findAlgorithm(CONVX_BACKEND_CPU, static_cast<convxConvAlgo_t>(id))) continue;
        ++absent;
        const char* name = convxGetAlgorithmName(static_cast<convxConvAlgo_t>(id));
        REQUIRE(name != nullptr);
        EnvGuard g("CONVX_ALGO", name);
        for (Dir d : kDirs) {
            Case c(simpleSpec(d));
            c.fill();
            INFO("CONVX_ALGO=" << name << " " << harness::dirName(d));
            CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO), CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, name);
            CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO), CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "CONVX_ALGO");
        }
    }
    // cuDNN is never a CPU algorithm
    CHECK(convx::findAlgorithm(CONVX_BACKEND_CPU, CONVX_ALGO_CUDNN) == nullptr);
    CHECK(absent >= 1);
}

TEST_CASE("selector: CONVX_ALGO with an unknown name is BAD_PARAM", "[unit][selector]") {
    CleanEnv env;
    EnvGuard g("CONVX_ALGO", "winograd_magic");
    testutil::Handle h;
    Case c(simpleSpec(Dir::Fwd));
    c.fill();
    CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO), CONVX_STATUS_BAD_PARAM, "CONVX_ALGO");
    CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO), CONVX_STATUS_BAD_PARAM, "winograd_magic");
    // An explicit algorithm does not consult CONVX_ALGO.
    REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE));
}

TEST_CASE("selector: CONVX_DISABLE of every CPU algorithm leaves AUTO nothing (NOT_SUPPORTED, reasons listed)", "[unit][selector]") {
    CleanEnv env;
    testutil::Handle h;
    // Every registered CPU name, in three spellings the parser must accept.
    std::string all, upper;
    for (Dir d : kDirs)
        for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, static_cast<convx::Direction>(d)))
            if (all.find(a->name()) == std::string::npos) all += std::string(all.empty() ? "" : ",") + a->name();
    for (char ch : all) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const std::string lists[] = {all, "nonsense," + all, "CONVX_ALGO_" + upper};
    {
        // disabling something else leaves the reference
        EnvGuard g("CONVX_DISABLE", "cudnn,depthwise");
        Case c(simpleSpec(Dir::Fwd));
        c.fill();
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO));
    }
    for (const std::string& list : lists) {
        EnvGuard g("CONVX_DISABLE", list.c_str());
        for (Dir d : kDirs) {
            Case c(simpleSpec(d));
            c.fill();
            const convx::Problem p = problemOf(c);
            INFO("CONVX_DISABLE=" << list << " " << p.str());
            CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO), CONVX_STATUS_NOT_SUPPORTED, "reference (disabled by CONVX_DISABLE)");
            CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO), CONVX_STATUS_NOT_SUPPORTED, p.str());
            // The ranking reports the reference as not applicable, with the reason.
            convxContext ctx;
            ctx.backend = CONVX_BACKEND_CPU;
            for (const auto& r : convx::rankAlgorithms(ctx, p))
                if (r.algo->id() == CONVX_ALGO_REFERENCE) {
                    CHECK_FALSE(r.applicability.ok);
                    CHECK_THAT(r.applicability.reason, Catch::Contains("CONVX_DISABLE"));
                }
            size_t ws = 0;
            if (d == Dir::Fwd)
                CHECK_CONVX_FAILS(convxGetConvolutionForwardWorkspaceSize(h, c.xDesc(), c.wDesc(), c.convDesc(), c.yDesc(),
                                                                           CONVX_ALGO_AUTO, &ws),
                                  CONVX_STATUS_NOT_SUPPORTED, "disabled by CONVX_DISABLE");
        }
    }
    // Once unset, AUTO works again.
    Case c(simpleSpec(Dir::Fwd));
    c.fill();
    REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO));
}

TEST_CASE("selector: explicit algorithm ids", "[unit][selector]") {
    CleanEnv env;
    testutil::Handle h;
    for (Dir d : kDirs) {
        Case c(simpleSpec(d));
        c.fill();
        INFO(harness::dirName(d));
        for (int bad : {CONVX_ALGO_COUNT, CONVX_ALGO_COUNT + 1, 1000, -1, -1000}) {
            INFO("algo " << bad);
            CHECK_CONVX_FAILS(c.run(h, static_cast<convxConvAlgo_t>(bad)), CONVX_STATUS_BAD_PARAM, "algo");
            CHECK_CONVX_FAILS(c.run(h, static_cast<convxConvAlgo_t>(bad)), CONVX_STATUS_BAD_PARAM, std::to_string(bad));
        }
        for (int id = 1; id < CONVX_ALGO_COUNT; ++id) {
            const auto algo = static_cast<convxConvAlgo_t>(id);
            INFO("algo " << convxGetAlgorithmName(algo));
            const convx::Algorithm* a = convx::findAlgorithm(CONVX_BACKEND_CPU, algo);
            if (!a) {
                CHECK_CONVX_FAILS(c.run(h, algo), CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, convxGetAlgorithmName(algo));
            } else if (a->check(problemOf(c)).ok) {
                REQUIRE_CONVX_OK(c.run(h, algo));
            } else {
                CHECK_CONVX_FAILS(c.run(h, algo), CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "does not apply");
            }
        }
    }
}

TEST_CASE("selector: algorithm names in every spelling", "[unit][selector]") {
    const char* names[CONVX_ALGO_COUNT] = {"auto", "reference", "direct_coalesced", "filter_trim", "kernel_split",
                                          "split_k", "dilation_split", "depthwise", "gconv", "cudnn"};
    for (int id = 0; id < CONVX_ALGO_COUNT; ++id) {
        const auto algo = static_cast<convxConvAlgo_t>(id);
        REQUIRE(convxGetAlgorithmName(algo) != nullptr);
        CHECK(std::string(convxGetAlgorithmName(algo)) == names[id]);
        CHECK(std::string(convx::algoName(algo)) == names[id]);
        std::string upper = std::string("CONVX_ALGO_") + names[id];
        for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        for (const std::string& s : {std::string(names[id]), upper, std::to_string(id)}) {
            convxConvAlgo_t parsed = static_cast<convxConvAlgo_t>(-1);
            INFO(s);
            CHECK(convx::parseAlgoName(s, &parsed));
            CHECK(parsed == algo);
        }
    }
    CHECK(convxGetAlgorithmName(static_cast<convxConvAlgo_t>(CONVX_ALGO_COUNT)) == nullptr);
    CHECK(convxGetAlgorithmName(static_cast<convxConvAlgo_t>(-1)) == nullptr);
    convxConvAlgo_t parsed;
    CHECK_FALSE(convx::parseAlgoName("", &parsed));
    CHECK_FALSE(convx::parseAlgoName("10", &parsed));
    CHECK_FALSE(convx::parseAlgoName("fft", &parsed));
    CHECK(std::string(convx::backendName(CONVX_BACKEND_CPU)) == "cpu");
    CHECK(std::string(convx::backendName(CONVX_BACKEND_CUDA)) == "cuda");
}

// ---------------------------------------------------------------- logging

TEST_CASE("log: CONVX_LOG=<file> records the chosen algorithm and the problem string", "[unit][log]") {
    CleanEnv env;
    TempFile log;
    EnvGuard l("CONVX_LOG", log.path().c_str());
    testutil::Handle h;
    for (Dir d : kDirs) {
        Case c(simpleSpec(d));
        c.fill();
        const convx::Problem p = problemOf(c);
        const convx::Algorithm* expect = firstApplicable(p);
        REQUIRE(expect);
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO));
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE));
        const std::string text = log.text();
        INFO(text);
        CHECK_THAT(text, Catch::Contains("convx: cpu " + p.str() + " -> " + expect->name() + " (first applicable)"));
        CHECK_THAT(text, Catch::Contains("convx: cpu " + p.str() + " -> reference (requested)"));
    }
    // Find logs its winner too.
    Case c(simpleSpec(Dir::Fwd));
    c.fill();
    convxAlgoPerf_t r[CONVX_ALGO_COUNT];
    int n = 0;
    REQUIRE_CONVX_OK(convxFindConvolutionForwardAlgorithm(h, c.xDesc(), c.x.data(), c.wDesc(), c.w.data(), c.convDesc(), c.yDesc(),
                                                          c.y.data(), CONVX_ALGO_COUNT, &n, r, nullptr, 0));
    REQUIRE(n >= 1);
    CHECK_THAT(log.text(), Catch::Contains("convx: find cpu " + problemOf(c).str() + " -> " + convxGetAlgorithmName(r[0].algo)));
    // Every line is one decision, prefixed.
    for (const std::string& line : log.lines()) CHECK_THAT(line, Catch::StartsWith("convx: "));
}

TEST_CASE("log: nothing is logged when CONVX_LOG is unset or 0", "[unit][log]") {
    CleanEnv env;
    TempFile log;
    testutil::Handle h;
    Case c(simpleSpec(Dir::Fwd));
    c.fill();
    REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO));
    {
        EnvGuard l("CONVX_LOG", "0");
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO));
    }
    CHECK_FALSE(log.exists());
}

TEST_CASE("log: CONVX_LOG_CMD=1 writes convx-bench lines that parse back to the problem", "[unit][log]") {
    CleanEnv env;
    TempFile log;
    EnvGuard l("CONVX_LOG", log.path().c_str());
    EnvGuard cmd("CONVX_LOG_CMD", "1");
    testutil::Handle h;
    std::mt19937_64 rng(31337);
    std::vector<convx::Problem> problems;
    const convxDataType_t types[] = {CONVX_DATA_FLOAT, CONVX_DATA_DOUBLE, CONVX_DATA_HALF, CONVX_DATA_BFLOAT16};
    for (int i = 0; i < 24; ++i) {
        harness::GenOptions o;
        o.gapped = i % 2 == 1;  // non-packed strides must survive the round trip too
        Case c(harness::randomSpec(rng, kDirs[i % 3], types[(i / 3) % 4], o));
        c.fill();
        problems.push_back(problemOf(c));
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE));
    }
    std::vector<std::string> cmds;
    for (const std::string& line : log.lines())
        if (line.rfind("convx-bench ", 0) == 0) cmds.push_back(line);
    REQUIRE(cmds.size() == problems.size());
    const std::string prefix = "convx-bench --backend=cpu --algo=reference ";
    for (size_t i = 0; i < cmds.size(); ++i) {
        INFO(cmds[i]);
        REQUIRE(cmds[i].rfind(prefix + "--dir=", 0) == 0);
        const std::string problemText = cmds[i].substr(prefix.size());
        convx::Problem back;
        REQUIRE_NOTHROW(back = convx::parseProblem(problemText));
        CHECK(back == problems[i]);
        CHECK(back.str() == problemText);
    }
}
