// The find-db (persistent Find winners), CONVX_FIND_MODE and the handle's workspace limit.
//
// The CPU backend may have a single algorithm (the reference), so choices between algorithms are
// tested with a test-only fake algorithm registered in front of the registry: it computes through
// the reference, counts its runs, can be slowed down, refuse to apply or ask for a workspace (and
// counts runs given too little). Decisions are observed through CONVX_LOG written to a file.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "conv_harness.h"
#include "context.h"
#include "execute.h"
#include "find_db.h"
#include "registry.h"
#include "selector.h"

using harness::Case;
using harness::Dir;
using harness::Spec;
using harness::findAlgos;
using harness::getAlgos;
using harness::problemOf;
using harness::workspaceOf;
using testutil::EnvGuard;
namespace fs = std::filesystem;

namespace {

const Dir kDirs[] = {Dir::Fwd, Dir::BwdData, Dir::BwdFilter};

Spec smallSpec(Dir d, int n = 2) {
    Spec s;
    s.dir = d;
    s.nsp = 2;
    s.N = n;
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

std::string cpuDeviceKey() {
    convxContext ctx;
    ctx.backend = CONVX_BACKEND_CPU;
    return convx::backendDeviceKey(ctx);
}

// A fresh directory under $TMPDIR, removed with everything in it at the end of the scope.
class TempDir {
public:
    TempDir() {
        const char* t = std::getenv("TMPDIR");
        std::string tmpl = std::string(t && *t ? t : "/tmp") + "/convx-finddb-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        REQUIRE(mkdtemp(buf.data()) != nullptr);
        path_ = buf.data();
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path_, ec);
    }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }
    const std::string& path() const { return path_; }
    std::vector<std::string> files() const {  // every regular file below, relative
        std::vector<std::string> v;
        for (const auto& e : fs::recursive_directory_iterator(path_))
            if (e.is_regular_file()) v.push_back(fs::relative(e.path(), path_).string());
        return v;
    }

private:
    std::string path_;
};

std::string readText(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void writeText(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::trunc);
    f << text;
}

int count(const std::string& text, const std::string& needle) {
    int n = 0;
    for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> v;
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);) v.push_back(l);
    return v;
}

// The selector's and the find-db's environment, neutral, with the log going to `log` and the
// find-db at `db`; the in-memory find-db cache is dropped before and after (a new process).
struct FindEnv {
    EnvGuard algo{"CONVX_ALGO", nullptr}, disable{"CONVX_DISABLE", nullptr}, cmd{"CONVX_LOG_CMD", nullptr};
    EnvGuard mode{"CONVX_FIND_MODE", nullptr};
    // These tests are about the find-db and registry order: the measured heuristic (which may
    // leave registry order on their small problems) is off; tests/test_heuristic.cpp covers it.
    EnvGuard heuristic{"CONVX_HEURISTIC", "off"};
    EnvGuard log, db;
    FindEnv(const std::string& logPath, const std::string& dbPath) : log("CONVX_LOG", logPath.c_str()), db("CONVX_FIND_DB", dbPath.c_str()) {
        convx::findDbResetForTesting();
    }
    ~FindEnv() { convx::findDbResetForTesting(); }
};

// ---------------------------------------------------------------- the fake algorithm

class FakeAlgorithm final : public convx::Algorithm {
public:
    explicit FakeAlgorithm(convxConvAlgo_t id) : id_(id) {}
    convxConvAlgo_t id() const override { return id_; }
    convxBackend_t backend() const override { return CONVX_BACKEND_CPU; }
    unsigned directions() const override { return convx::kAllDirections; }
    convx::Applicability isApplicable(const convx::Problem&) const override {
        return applies ? convx::Applicability::yes() : convx::Applicability::no("the fake was told not to apply");
    }
    size_t workspaceSize(const convx::Problem&) const override { return need; }
    void run(const convx::ExecContext& ctx, const convx::Problem& p, const convx::Buffers& b, convx::Scale s) const override {
        ++runs;
        if (need > 0 && (ctx.workspace == nullptr || ctx.workspaceBytes < need)) {
            ++violations;
            return;
        }
        if (need) std::memset(ctx.workspace, 0x5a, need);  // ASan catches a workspace shorter than it claims
        if (delayMs) std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
        convx::findAlgorithm(CONVX_BACKEND_CPU, CONVX_ALGO_REFERENCE)->run(ctx, p, b, s);
    }
    bool applies = true;
    size_t need = 0;
    int delayMs = 0;
    mutable std::atomic<int> runs{0}, violations{0};

private:
    convxConvAlgo_t id_;
};

// An algorithm id no CPU algorithm has (cuDNN's never is one), other than `besides`.
convxConvAlgo_t unusedCpuId(convxConvAlgo_t besides = CONVX_ALGO_AUTO) {
    for (int i = CONVX_ALGO_COUNT - 1; i > CONVX_ALGO_REFERENCE; --i) {
        const auto id = static_cast<convxConvAlgo_t>(i);
        if (id != besides && !convx::findAlgorithm(CONVX_BACKEND_CPU, id)) return id;
    }
    return CONVX_ALGO_AUTO;
}

// The fake, first in the registry for the scope.
struct ScopedFake {
    FakeAlgorithm algo;
    ScopedFake() : algo(pickId()) { convx::addAlgorithmForTesting(&algo); }
    ~ScopedFake() { convx::removeAlgorithmForTesting(&algo); }
    const char* name() const { return algo.name(); }
    static convxConvAlgo_t pickId() {
        // prefer a plain algorithm id; cuDNN's only when every other one is registered on the CPU
        for (int i = CONVX_ALGO_GCONV; i > CONVX_ALGO_REFERENCE; --i)
            if (!convx::findAlgorithm(CONVX_BACKEND_CPU, static_cast<convxConvAlgo_t>(i))) return static_cast<convxConvAlgo_t>(i);
        return CONVX_ALGO_CUDNN;
    }
};

// What registry order picks with the fake out of the way: the first applicable real CPU
// algorithm needing at most `bytes` (the reference today; others as they are registered).
const convx::Algorithm* firstRealFit(const convx::Problem& p, const FakeAlgorithm& fake, size_t bytes) {
    for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir))
        if (a != &fake && a->check(p).ok && a->workspaceSize(p) <= bytes) return a;
    return nullptr;
}
std::string firstRealFitName(const convx::Problem& p, const FakeAlgorithm& fake, size_t bytes) {
    const convx::Algorithm* a = firstRealFit(p, fake, bytes);
    REQUIRE(a != nullptr);
    return a->name();
}

// Every registered CPU algorithm but the fake, as a CONVX_DISABLE list.
std::string allRealNames(const FakeAlgorithm& fake) {
    std::string all;
    for (const convx::Algorithm* a : convx::registry())
        if (a != &fake && a->backend() == CONVX_BACKEND_CPU && all.find(a->name()) == std::string::npos)
            all += std::string(all.empty() ? "" : ",") + a->name();
    return all;
}

// How many applicable CPU algorithms need at most `bytes` (the candidates CONVX_FIND_MODE=auto times).
int candidates(const convx::Problem& p, size_t bytes) {
    int n = 0;
    for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir)) n += a->check(p).ok && a->workspaceSize(p) <= bytes;
    return n;
}

// ---------------------------------------------------------------- C API by direction

// Find on c; the results, fastest first.
std::vector<convxAlgoPerf_t> find(convxHandle_t h, Case& c, void* ws = nullptr, size_t bytes = 0) {
    std::vector<convxAlgoPerf_t> r(CONVX_ALGO_COUNT);
    int n = 0;
    REQUIRE_CONVX_OK(findAlgos(h, c, CONVX_ALGO_COUNT, &n, r.data(), ws, bytes));
    r.resize(static_cast<size_t>(n));
    return r;
}

// One AUTO call checked against the oracle (beta as the spec says).
void runAutoChecked(convxHandle_t h, Case& c, void* ws = nullptr, size_t bytes = 0) {
    c.fill();
    const harness::Buffer prior = c.output();
    const std::vector<double> want = c.oracle(prior);
    REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO, ws, bytes));
    std::string detail;
    const bool ok = c.verify(want, prior, &detail);
    INFO(detail);
    CHECK(ok);
}

// The find-db lines (not the header or comments) of a file.
std::vector<std::string> entryLines(const std::string& path) {
    std::vector<std::string> v;
    for (const std::string& l : lines(readText(path)))
        if (!l.empty() && l[0] != '#') v.push_back(l);
    return v;
}

std::string entryLine(const std::string& device, const char* algo, const char* ms, const char* ws, const std::string& problem) {
    return device + "\t" + algo + "\t" + ms + "\t" + ws + "\t" + problem + "\n";
}

std::string header() { return "# convx find-db 1 convx " + convx::findDbVersion() + "\n"; }

}  // namespace

// ---------------------------------------------------------------- keys, paths, format

TEST_CASE("find-db: device keys and default paths", "[find-db]") {
    CHECK(convx::sanitizeKey("Intel(R) Xeon(R) CPU @ 2.20GHz") == "Intel_R_Xeon_R_CPU_2.20GHz");
    CHECK(convx::sanitizeKey("NVIDIA H200") == "NVIDIA_H200");
    CHECK(convx::sanitizeKey("  //  ") == "unknown");
    CHECK(convx::sanitizeKey(std::string(300, 'a')).size() <= 96);
    const std::string key = cpuDeviceKey();
    CHECK_THAT(key, Catch::StartsWith("cpu-"));
    CHECK(convx::sanitizeKey(key) == key);
    CHECK(key.size() > 4);

    convxContext ctx;
    ctx.backend = CONVX_BACKEND_CPU;
    const std::string file = "finddb-" + key + "-" + convx::findDbVersion() + ".txt";
    {
        EnvGuard db("CONVX_FIND_DB", nullptr), xdg("XDG_CACHE_HOME", "/xdg/cache"), home("HOME", "/home/someone");
        CHECK(convx::findDbPath(ctx) == "/xdg/cache/convx/" + file);
    }
    {
        EnvGuard db("CONVX_FIND_DB", nullptr), xdg("XDG_CACHE_HOME", "relative/is/ignored"), home("HOME", "/home/someone");
        CHECK(convx::findDbPath(ctx) == "/home/someone/.cache/convx/" + file);
    }
    {
        EnvGuard db("CONVX_FIND_DB", nullptr), xdg("XDG_CACHE_HOME", nullptr), home("HOME", nullptr);
        CHECK(convx::findDbPath(ctx).empty());
    }
    for (const char* off : {"off", "OFF", "0"}) {
        EnvGuard db("CONVX_FIND_DB", off), xdg("XDG_CACHE_HOME", "/xdg/cache");
        CHECK(convx::findDbPath(ctx).empty());
    }
    EnvGuard db("CONVX_FIND_DB", "/some/where/my.db");
    CHECK(convx::findDbPath(ctx) == "/some/where/my.db");
    CHECK(convx::findDbVersion() ==
          std::to_string(CONVX_VERSION_MAJOR) + "." + std::to_string(CONVX_VERSION_MINOR) + "." + std::to_string(CONVX_VERSION_PATCH));
}

// ---------------------------------------------------------------- round trip

TEST_CASE("find-db: Find records its winner; a new process reads it and AUTO uses it", "[find-db]") {
    TempDir dir;
    FindEnv env(dir / "log", dir / "db.txt");
    ScopedFake fake;           // first in registry order, but slow: a real algorithm wins Find
    fake.algo.delayMs = 30;
    testutil::Handle h(1);
    convxConvAlgo_t winner[3];
    for (int k = 0; k < 3; ++k) {
        Case c(smallSpec(kDirs[k]));
        c.fill();
        const convx::Problem p = problemOf(c);
        INFO(p.str());
        const auto r = find(h, c);
        REQUIRE(r.size() >= 2);
        winner[k] = r[0].algo;
        CHECK(r[0].algo != fake.algo.id());
        CHECK(r[0].status == CONVX_STATUS_SUCCESS);
        for (const auto& e : r)
            if (e.algo == fake.algo.id()) CHECK(e.time >= 30.0f);
        // the file holds the winner, its time and workspace, for this device and problem
        bool seen = false;
        for (const std::string& l : entryLines(dir / "db.txt")) {
            std::vector<std::string> f;
            std::stringstream ss(l);
            for (std::string field; std::getline(ss, field, '\t');) f.push_back(field);
            REQUIRE(f.size() == 5);
            if (f[4] != p.str()) continue;
            seen = true;
            CHECK(f[0] == cpuDeviceKey());
            CHECK(f[1] == convxGetAlgorithmName(r[0].algo));
            CHECK(std::stod(f[2]) == Approx(r[0].time).epsilon(1e-4));
            CHECK(f[3] == std::to_string(r[0].memory));
        }
        CHECK(seen);
    }
    CHECK(lines(readText(dir / "db.txt"))[0] == header().substr(0, header().size() - 1));
    CHECK(entryLines(dir / "db.txt").size() == 3);

    // A new process: the file is read back, and AUTO takes the recorded winner over the fake
    // that registry order would pick.
    convx::findDbResetForTesting();
    for (int k = 0; k < 3; ++k) {
        Case c(smallSpec(kDirs[k]));
        const convx::Problem p = problemOf(c);
        runAutoChecked(h, c);
        convx::FindDbEntry e;
        CHECK(convx::findDbLookup(*h.h, p, &e));
        CHECK(e.algo == winner[k]);
        CHECK_THAT(readText(dir / "log"), Catch::Contains("cpu " + p.str() + " -> " + convxGetAlgorithmName(winner[k]) + " (find-db, "));
        // Get ranks the find-db's choice first
        convxAlgoPerf_t one;
        int n = 0;
        REQUIRE_CONVX_OK(getAlgos(h, c, 1, &n, &one));
        CHECK(one.algo == winner[k]);
    }
    CHECK(fake.algo.runs == 3 * 4);  // only Find's warm-up + 3 timed runs per direction

    // Without the find-db, registry order picks the fake.
    {
        EnvGuard off("CONVX_FIND_DB", "off");
        Case c(smallSpec(Dir::Fwd));
        runAutoChecked(h, c);
        CHECK_THAT(readText(dir / "log"), Catch::Contains("-> " + std::string(fake.name()) + " (first applicable)"));
    }
}

TEST_CASE("find-db: the default file lives under $XDG_CACHE_HOME/convx, else $HOME/.cache/convx", "[find-db]") {
    TempDir xdg, home;
    FindEnv env(xdg / "log", "");
    EnvGuard db("CONVX_FIND_DB", nullptr), x("XDG_CACHE_HOME", xdg.path().c_str()), hm("HOME", home.path().c_str());
    testutil::Handle h(1);
    Case c(smallSpec(Dir::Fwd));
    c.fill();
    find(h, c);
    const std::string file = "convx/finddb-" + cpuDeviceKey() + "-" + convx::findDbVersion() + ".txt";
    CHECK(entryLines(xdg / file).size() == 1);
    CHECK(home.files().empty());
    {
        EnvGuard noXdg("XDG_CACHE_HOME", nullptr);
        find(h, c);
        CHECK(entryLines(home / (".cache/" + file)).size() == 1);
    }
}

// ---------------------------------------------------------------- several writers

TEST_CASE("find-db: concurrent writers (processes and threads) lose no entry", "[find-db][host-threads]") {
    TempDir dir;
    const std::string path = dir / "db.txt";
    FindEnv env("", path);
    EnvGuard noLog("CONVX_LOG", nullptr);
    const std::string dev = cpuDeviceKey();
    auto problem = [](int writer, int i) {
        return convx::parseProblem("--dir=fwd g1mb" + std::to_string(writer + 1) + "ic" + std::to_string(i + 1) + "ih8oc4kh3ph1").str();
    };
    const int kProcs = 4, kThreads = 3, kEach = testutil::scaled(20, 8);
    // processes: each records its own problems, one write per record
    std::vector<pid_t> kids;
    for (int w = 0; w < kProcs; ++w) {
        const pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            convx::findDbResetForTesting();
            for (int i = 0; i < kEach; ++i) convx::findDbRecordAt(path, dev, problem(w, i), {CONVX_ALGO_REFERENCE, 0.5 + i, 0});
            _exit(0);
        }
        kids.push_back(pid);
    }
    // threads of this process at the same time
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i)
                convx::findDbRecordAt(path, dev, problem(kProcs + t, i), {CONVX_ALGO_REFERENCE, 1.0 + i, 64});
        });
    for (auto& t : threads) t.join();
    for (pid_t pid : kids) {
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    // well-formed: the header, then one entry per problem, nothing else; no temporary file left
    const std::vector<std::string> all = lines(readText(path));
    REQUIRE_FALSE(all.empty());
    CHECK(all[0] + "\n" == header());
    CHECK(entryLines(path).size() == static_cast<size_t>((kProcs + kThreads) * kEach));
    std::set<std::string> names;
    for (const std::string& f : dir.files()) names.insert(f);
    CHECK(names == std::set<std::string>{"db.txt", "db.txt.lock"});
    // a new process reads every entry back
    convx::findDbResetForTesting();
    for (int w = 0; w < kProcs + kThreads; ++w)
        for (int i = 0; i < kEach; ++i) {
            convx::FindDbEntry e;
            INFO("writer " << w << " problem " << i);
            REQUIRE(convx::findDbLookupAt(path, dev, problem(w, i), &e));
            CHECK(e.algo == CONVX_ALGO_REFERENCE);
            CHECK(e.ms == (w < kProcs ? 0.5 + i : 1.0 + i));
            CHECK(e.workspace == (w < kProcs ? 0u : 64u));
        }
}

// ---------------------------------------------------------------- damaged and foreign files

TEST_CASE("find-db: malformed lines are ignored with one warning, good lines still used", "[find-db]") {
    TempDir dir;
    const std::string path = dir / "db.txt";
    FindEnv env(dir / "log", path);
    ScopedFake fake;
    testutil::Handle h(1);
    Case a(smallSpec(Dir::Fwd, 1)), b(smallSpec(Dir::Fwd, 2)), c(smallSpec(Dir::Fwd, 3)), d(smallSpec(Dir::Fwd, 4));
    const std::string pa = problemOf(a).str(), pb = problemOf(b).str(), pc = problemOf(c).str(), pd = problemOf(d).str();
    const std::string dev = cpuDeviceKey();
    // An id the CPU backend lacks, for the "other backend's algorithm" line. With every id but
    // cuDNN's registered on the CPU (GCONV took the last free one; the fake then has cuDNN's),
    // there is none, and that line and its checks are left out.
    const convxConvAlgo_t other = unusedCpuId(fake.algo.id());
    const bool haveOther = other != CONVX_ALGO_AUTO;
    const std::string good = entryLine(dev, "reference", "0.25", "0", pa);
    std::string text = header() + good;
    text += "hello world\n";                                                  // garbage
    text += good.substr(0, good.size() - 12) + "\n";                          // truncated problem string
    text += entryLine(dev, "winograd", "0.1", "0", pb);                       // unknown algorithm
    text += entryLine(dev, "reference", "-1", "0", pb);                       // negative time
    text += entryLine(dev, "reference", "0.1", "12x", pb);                    // bad workspace
    text += entryLine(dev, "reference", "0.1", "0", "--dir=fwd g1mb1ic4ih7oc6kh3");  // not canonical
    text += entryLine("bad device", "reference", "0.1", "0", pb);             // device key with a space
    text += "reference\t0.1\t0\t" + pb + "\n";                                // a field missing
    if (haveOther) text += entryLine(dev, convxGetAlgorithmName(other), "0.01", "0", pc);  // well-formed, not a CPU algorithm here
    text += entryLine(dev, "reference", "0.5", "0", pd);
    text += good.substr(0, 20);                                               // truncated last line, no newline
    writeText(path, text);

    runAutoChecked(h, a);
    std::string log = readText(dir / "log");
    CHECK_THAT(log, Catch::Contains("cpu " + pa + " -> reference (find-db, 0.25 ms)"));
    CHECK(count(log, "warning:") == 1);
    CHECK_THAT(log, Catch::Contains("9 malformed lines ignored (the first is line 3)"));
    CHECK_THAT(log, Catch::Contains(path));
    // an entry naming an algorithm this backend lacks is ignored (the fake wins by registry order)
    runAutoChecked(h, c);
    log = readText(dir / "log");
    if (haveOther)
        CHECK_THAT(log, Catch::Contains(std::string("find-db entry ") + convxGetAlgorithmName(other) + " ignored: not an algorithm of the cpu"));
    CHECK_THAT(log, Catch::Contains("cpu " + pc + " -> " + fake.name() + " (first applicable)"));
    // an entry naming an algorithm that does not apply is ignored
    convx::findDbRecordAt(path, dev, pb, {fake.algo.id(), 0.01, 0});
    fake.algo.applies = false;
    runAutoChecked(h, b);
    log = readText(dir / "log");
    CHECK_THAT(log, Catch::Contains(std::string("find-db entry ") + fake.name() + " ignored: the fake was told not to apply"));
    CHECK_THAT(log, Catch::Contains("cpu " + pb + " -> " + firstRealFitName(problemOf(b), fake.algo, 0) + " (first applicable"));
    fake.algo.applies = true;
    runAutoChecked(h, d);
    CHECK(count(readText(dir / "log"), "warning:") == 1);  // still one warning

    // the rewrite (done by the record above) dropped the malformed lines and kept the others
    const std::vector<std::string> kept = entryLines(path);
    CHECK(kept.size() == (haveOther ? 4u : 3u));  // a, b (the fake), c (the other backend's algorithm), d
    for (const std::string& l : kept) CHECK(count(l, "\t") == 4);
    CHECK(count(readText(path), "winograd") == 0);
    CHECK(count(readText(path), "hello") == 0);
    if (haveOther) CHECK(count(readText(path), std::string("\t") + convxGetAlgorithmName(other) + "\t") == 1);
}

TEST_CASE("find-db: a file from another library version, or no find-db at all, is not used", "[find-db]") {
    TempDir dir;
    const std::string path = dir / "db.txt";
    FindEnv env(dir / "log", path);
    ScopedFake fake;
    testutil::Handle h(1);
    Case c(smallSpec(Dir::BwdData));
    const std::string p = problemOf(c).str();
    writeText(path, "# convx find-db 1 convx 0.0.0\n" + entryLine(cpuDeviceKey(), "reference", "0.1", "0", p));
    runAutoChecked(h, c);
    std::string log = readText(dir / "log");
    CHECK_THAT(log, Catch::Contains("cpu " + p + " -> " + fake.name() + " (first applicable)"));
    CHECK(count(log, "warning:") == 1);
    CHECK_THAT(log, Catch::Contains("written by convx 0.0.0, this is convx " + convx::findDbVersion()));
    // the next record replaces it with this version's file
    fake.algo.delayMs = 20;
    c.fill();
    find(h, c);
    CHECK(lines(readText(path))[0] + "\n" == header());
    CHECK(entryLines(path).size() == 1);

    // a file that is no find-db is neither used nor overwritten
    const std::string other = dir / "notes.txt";
    writeText(other, "my notes\n" + entryLine(cpuDeviceKey(), "reference", "0.1", "0", p));
    EnvGuard db("CONVX_FIND_DB", other.c_str());
    convx::findDbResetForTesting();
    runAutoChecked(h, c);
    c.fill();
    find(h, c);
    log = readText(dir / "log");
    CHECK_THAT(log, Catch::Contains("does not start with '# convx find-db"));
    CHECK_THAT(log, Catch::Contains("cpu " + p + " -> " + fake.name() + " (first applicable)"));
    CHECK_THAT(readText(other), Catch::StartsWith("my notes\n"));
}

TEST_CASE("find-db: an unwritable location warns once and every call still succeeds", "[find-db]") {
    TempDir dir;
    writeText(dir / "plain-file", "x");
    std::vector<std::string> places = {dir / "plain-file/sub/db.txt"};  // a path below a regular file
    if (geteuid() != 0) {  // root writes anywhere: the read-only directory only means something to others
        REQUIRE(mkdir((dir / "ro").c_str(), 0555) == 0);
        places.push_back(dir / "ro/db.txt");
    }
    for (const std::string& path : places) {
        INFO(path);
        FindEnv env(dir / "log", path);
        std::remove((dir / "log").c_str());
        testutil::Handle h(1);
        for (Dir d : kDirs) {
            Case c(smallSpec(d));
            c.fill();
            const auto r = find(h, c);
            CHECK(r[0].status == CONVX_STATUS_SUCCESS);
            runAutoChecked(h, c);
            // the winner is still used, from memory
            CHECK_THAT(readText(dir / "log"),
                       Catch::Contains("cpu " + problemOf(c).str() + " -> " + convxGetAlgorithmName(r[0].algo) + " (find-db, "));
        }
        const std::string log = readText(dir / "log");
        CHECK(count(log, "warning:") == 1);
        CHECK_THAT(log, Catch::Contains("cannot record"));
    }
}

TEST_CASE("find-db: CONVX_FIND_DB=off writes and reads nothing", "[find-db]") {
    TempDir dir, cache;
    FindEnv env(dir / "log", "off");
    EnvGuard x("XDG_CACHE_HOME", cache.path().c_str()), hm("HOME", cache.path().c_str());
    testutil::Handle h(1);
    for (Dir d : kDirs) {
        Case c(smallSpec(d));
        c.fill();
        find(h, c);
        runAutoChecked(h, c);
    }
    CHECK(cache.files().empty());
    const std::string log = readText(dir / "log");
    CHECK(count(log, "(find-db") == 0);
    CHECK(count(log, "(first applicable") == 3);
    CHECK(count(log, "find-db") == 0);
}

// ---------------------------------------------------------------- CONVX_FIND_MODE

TEST_CASE("find-mode auto: an AUTO call without an entry times every candidate once, then the find-db answers", "[find-db]") {
    for (const char* dbSetting : {"file", "off"}) {
        TempDir dir;
        const std::string path = std::string(dbSetting) == "off" ? "off" : dir / "db.txt";
        FindEnv env(dir / "log", path);
        EnvGuard mode("CONVX_FIND_MODE", "auto");
        ScopedFake fake;
        fake.algo.delayMs = 30;  // loses to the real algorithms
        testutil::Handle h(1);
        int timedLines = 0;
        for (int k = 0; k < 3; ++k)
            for (double beta : {0.0, 1.0}) {
                const Dir d = kDirs[k];
                Spec s = smallSpec(d, beta == 0 ? 2 : 3);
                s.alpha = 2.0;
                s.beta = beta;  // beta 1: the output must be computed once, from its prior content
                Case c(s);
                const std::string p = problemOf(c).str();
                INFO(dbSetting << " " << p << " beta " << beta);
                const int before = fake.algo.runs;
                const int n = candidates(problemOf(c), 0);  // the calls pass no workspace
                REQUIRE(n >= 2);
                runAutoChecked(h, c);
                std::string log = readText(dir / "log");
                CHECK(fake.algo.runs == before + 2);  // one warm-up and one timed run; not the winner
                timedLines += n;
                CHECK(count(log, "  timed ") == timedLines);
                convx::FindDbEntry e;
                REQUIRE(convx::findDbLookup(*h.h, problemOf(c), &e));
                const std::string winner = convxGetAlgorithmName(e.algo);
                CHECK(e.algo != fake.algo.id());
                CHECK_THAT(log, Catch::Contains("cpu " + p + " -> " + winner + " (CONVX_FIND_MODE=auto, fastest of " + std::to_string(n) + " timed)"));
                // the next calls hit the find-db: no more timing
                runAutoChecked(h, c);
                runAutoChecked(h, c);
                log = readText(dir / "log");
                CHECK(fake.algo.runs == before + 2);
                CHECK(count(log, "  timed ") == timedLines);
                CHECK(count(log, "cpu " + p + " -> " + winner + " (find-db, ") == 2);
            }
        if (path == "off") {
            CHECK(dir.files() == std::vector<std::string>{"log"});  // remembered in memory only
        } else {
            CHECK(entryLines(path).size() == 6);
            // and across processes
            convx::findDbResetForTesting();
            Case c(smallSpec(Dir::Fwd));
            const int before = fake.algo.runs;
            runAutoChecked(h, c);
            CHECK(fake.algo.runs == before);
            CHECK(count(readText(dir / "log"), "cpu " + problemOf(c).str() + " -> ") == 4);
            CHECK(count(readText(dir / "log"), "  timed ") == timedLines);
        }
    }
}

TEST_CASE("find-mode: db is the default; anything else is BAD_PARAM", "[find-db]") {
    TempDir dir;
    FindEnv env(dir / "log", dir / "db.txt");
    testutil::Handle h(1);
    Case c(smallSpec(Dir::Fwd));
    for (const char* m : {"db", "off", "DB", ""}) {
        EnvGuard mode("CONVX_FIND_MODE", m);
        runAutoChecked(h, c);
    }
    CHECK(count(readText(dir / "log"), "timed") == 0);
    CHECK_FALSE(fs::exists(dir / "db.txt"));  // AUTO alone records nothing outside find-mode auto
    EnvGuard mode("CONVX_FIND_MODE", "always");
    c.fill();
    CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO), CONVX_STATUS_BAD_PARAM, "CONVX_FIND_MODE='always'");
    REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_REFERENCE));  // explicit ids do not read it
}

// ---------------------------------------------------------------- workspace limit

TEST_CASE("workspace limit: set, get, argument checks", "[find-db][workspace]") {
    testutil::Handle h(1);
    size_t v = 0;
    REQUIRE_CONVX_OK(convxGetWorkspaceLimit(h, &v));
    CHECK(v == SIZE_MAX);
    REQUIRE_CONVX_OK(convxSetWorkspaceLimit(h, 0));
    REQUIRE_CONVX_OK(convxGetWorkspaceLimit(h, &v));
    CHECK(v == 0);
    REQUIRE_CONVX_OK(convxSetWorkspaceLimit(h, 12345));
    REQUIRE_CONVX_OK(convxGetWorkspaceLimit(h, &v));
    CHECK(v == 12345);
    CHECK_CONVX_FAILS(convxSetWorkspaceLimit(nullptr, 1), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "handle");
    CHECK_CONVX_FAILS(convxGetWorkspaceLimit(nullptr, &v), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "handle");
    CHECK_CONVX_FAILS(convxGetWorkspaceLimit(h, nullptr), CONVX_STATUS_BAD_PARAM_NULL_POINTER, "bytes");
    convxHandle_t dead = nullptr;
    REQUIRE_CONVX_OK(convxCreateWithBackend(&dead, CONVX_BACKEND_CPU));
    REQUIRE_CONVX_OK(convxDestroy(dead));
    CHECK_CONVX_FAILS(convxSetWorkspaceLimit(dead, 1), CONVX_STATUS_BAD_PARAM_INVALID_DESCRIPTOR, "handle");
}

TEST_CASE("workspace limit: AUTO, Get and Find never choose above it; explicit ids above it fail", "[find-db][workspace]") {
    TempDir dir;
    FindEnv env(dir / "log", "off");
    ScopedFake fake;
    fake.algo.need = 4096;
    testutil::Handle h(1);
    std::vector<uint64_t> ws(8192 / 8);
    for (Dir d : kDirs) {
        Case c(smallSpec(d));
        INFO(harness::dirName(d));
        const convx::Algorithm* within = firstRealFit(problemOf(c), fake.algo, 4095);
        REQUIRE(within != nullptr);
        // no limit: the fake (first in registry order) runs with its workspace
        REQUIRE_CONVX_OK(convxSetWorkspaceLimit(h, SIZE_MAX));
        size_t need = 0;
        REQUIRE_CONVX_OK(workspaceOf(h, c, CONVX_ALGO_AUTO, &need));
        CHECK(need == 4096);
        int runs = fake.algo.runs;
        runAutoChecked(h, c, ws.data(), 8192);
        CHECK(fake.algo.runs == runs + 1);

        // a limit below its need: AUTO takes the reference; the workspace query follows
        REQUIRE_CONVX_OK(convxSetWorkspaceLimit(h, 4095));
        REQUIRE_CONVX_OK(workspaceOf(h, c, CONVX_ALGO_AUTO, &need));
        CHECK(need == within->workspaceSize(problemOf(c)));
        runs = fake.algo.runs;
        runAutoChecked(h, c, ws.data(), 8192);
        CHECK(fake.algo.runs == runs);
        // Get ranks it after the applicable ones, NOT_SUPPORTED_ALGORITHM with its need
        convxAlgoPerf_t r[CONVX_ALGO_COUNT];
        int n = 0;
        REQUIRE_CONVX_OK(getAlgos(h, c, CONVX_ALGO_COUNT, &n, r));
        REQUIRE(n >= 2);
        CHECK(r[0].algo == within->id());
        bool listed = false;
        for (int k = 0; k < n; ++k)
            if (r[k].algo == fake.algo.id()) {
                listed = true;
                CHECK(r[k].status == CONVX_STATUS_NOT_SUPPORTED_ALGORITHM);
                CHECK(r[k].memory == 4096);
            }
        CHECK(listed);
        // Find does not run it
        const auto found = find(h, c, ws.data(), 8192);
        CHECK(fake.algo.runs == runs);
        CHECK(found[0].algo != fake.algo.id());
        CHECK(found[0].status == CONVX_STATUS_SUCCESS);
        for (const auto& e : found)
            if (e.algo == fake.algo.id()) CHECK(e.status == CONVX_STATUS_NOT_SUPPORTED_ALGORITHM);
        // explicitly, or forced by CONVX_ALGO: NOT_SUPPORTED_ALGORITHM naming the limit
        c.fill();
        CHECK_CONVX_FAILS(c.run(h, fake.algo.id(), ws.data(), 8192), CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "workspace limit of 4095");
        {
            EnvGuard forced("CONVX_ALGO", fake.name());
            CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO, ws.data(), 8192), CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "convxSetWorkspaceLimit");
        }
        CHECK(fake.algo.runs == runs);
        // nothing within the limit: NOT_SUPPORTED, the reason says why
        EnvGuard disable("CONVX_DISABLE", allRealNames(fake.algo).c_str());
        CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO, ws.data(), 8192), CONVX_STATUS_NOT_SUPPORTED, "above the handle's workspace limit");
    }
    CHECK(fake.algo.violations == 0);
}

TEST_CASE("workspace limit: every registered algorithm respects a zero limit", "[find-db][workspace]") {
    // Stronger as algorithms that need a workspace are registered.
    EnvGuard db("CONVX_FIND_DB", "off");
    testutil::Handle h(1);
    REQUIRE_CONVX_OK(convxSetWorkspaceLimit(h, 0));
    std::mt19937_64 rng(777);
    for (int i = 0; i < testutil::scaled(12); ++i) {
        const Dir d = kDirs[i % 3];
        Case c(harness::randomSpec(rng, d, CONVX_DATA_FLOAT));
        const convx::Problem p = problemOf(c);
        INFO(p.str());
        size_t need = 1;
        REQUIRE_CONVX_OK(workspaceOf(h, c, CONVX_ALGO_AUTO, &need));
        CHECK(need == 0);
        runAutoChecked(h, c);
        for (const convx::Algorithm* a : convx::algorithmsFor(CONVX_BACKEND_CPU, p.dir)) {
            if (!a->check(p).ok || a->workspaceSize(p) == 0) continue;
            c.fill();
            CHECK_CONVX_FAILS(c.run(h, a->id()), CONVX_STATUS_NOT_SUPPORTED_ALGORITHM, "workspace limit of 0");
        }
    }
}

TEST_CASE("workspace at run time: AUTO falls back when the call passes less than the choice needs", "[find-db][workspace]") {
    TempDir dir;
    const std::string path = dir / "db.txt";
    FindEnv env(dir / "log", path);
    ScopedFake fake;
    fake.algo.need = 4096;
    fake.algo.applies = false;  // registry order would not pick it: only the find-db does
    testutil::Handle h(1);
    std::vector<uint64_t> ws(4096 / 8);
    for (int k = 0; k < 3; ++k) {
        Case c(smallSpec(kDirs[k]));
        const std::string p = problemOf(c).str();
        INFO(p);
        // A find-db entry appears after the caller sized its workspace with AUTO (0 bytes then).
        size_t need = 1;
        REQUIRE_CONVX_OK(workspaceOf(h, c, CONVX_ALGO_AUTO, &need));
        CHECK(need == firstRealFit(problemOf(c), fake.algo, SIZE_MAX)->workspaceSize(problemOf(c)));
        fake.algo.applies = true;
        convx::findDbRecordAt(path, cpuDeviceKey(), p, {fake.algo.id(), 0.001, 4096});
        REQUIRE_CONVX_OK(workspaceOf(h, c, CONVX_ALGO_AUTO, &need));
        CHECK(need == 4096);
        const int runs = fake.algo.runs;
        runAutoChecked(h, c);                  // NULL, 0: the next that fits, with a note in the log
        runAutoChecked(h, c, ws.data(), 100);  // too few bytes: the same
        CHECK(fake.algo.runs == runs);
        const std::string log = readText(dir / "log");
        CHECK(count(log, "cpu " + p + " -> " + firstRealFitName(problemOf(c), fake.algo, 0) + " (first applicable that fits; the find-db's " +
                             fake.name() + " needs 4096 workspace bytes, the call passed 0)") == 1);
        CHECK(count(log, "cpu " + p + " -> " + firstRealFitName(problemOf(c), fake.algo, 100) + " (first applicable that fits; the find-db's " +
                             fake.name() + " needs 4096 workspace bytes, the call passed 100)") == 1);
        runAutoChecked(h, c, ws.data(), 4096);  // enough: the find-db's choice runs
        CHECK(fake.algo.runs == runs + 1);
        CHECK_THAT(readText(dir / "log"), Catch::Contains("cpu " + p + " -> " + fake.name() + " (find-db, "));
        fake.algo.applies = false;
    }
    // the fake first in registry order, the call with no workspace: the next that fits
    fake.algo.applies = true;
    {
        EnvGuard off("CONVX_FIND_DB", "off");
        Case c(smallSpec(Dir::Fwd, 5));
        runAutoChecked(h, c);
        CHECK_THAT(readText(dir / "log"), Catch::Contains("-> " + firstRealFitName(problemOf(c), fake.algo, 0) +
                                                           " (first applicable that fits; " + std::string(fake.name()) +
                                                           " needs 4096 workspace bytes, the call passed 0)"));
        // nothing fits: INSUFFICIENT_WORKSPACE
        EnvGuard disable("CONVX_DISABLE", allRealNames(fake.algo).c_str());
        c.fill();
        CHECK_CONVX_FAILS(c.run(h, CONVX_ALGO_AUTO, ws.data(), 100), CONVX_STATUS_BAD_PARAM_INSUFFICIENT_WORKSPACE, "workspace_bytes = 100");
        REQUIRE_CONVX_OK(c.run(h, CONVX_ALGO_AUTO, ws.data(), 4096));
    }
    CHECK(fake.algo.violations == 0);
}

TEST_CASE("workspace limit: a find-db entry above the handle's limit is ignored", "[find-db][workspace]") {
    TempDir dir;
    const std::string path = dir / "db.txt";
    FindEnv env(dir / "log", path);
    ScopedFake fake;
    fake.algo.need = 4096;
    testutil::Handle h(1);
    std::vector<uint64_t> ws(4096 / 8);
    Case c(smallSpec(Dir::BwdFilter));
    const std::string p = problemOf(c).str();
    convx::findDbRecordAt(path, cpuDeviceKey(), p, {fake.algo.id(), 0.001, 4096});
    REQUIRE_CONVX_OK(convxSetWorkspaceLimit(h, 1024));
    size_t need = 1;
    REQUIRE_CONVX_OK(workspaceOf(h, c, CONVX_ALGO_AUTO, &need));
    CHECK(need == firstRealFit(problemOf(c), fake.algo, 1024)->workspaceSize(problemOf(c)));
    runAutoChecked(h, c, ws.data(), 4096);
    CHECK(fake.algo.runs == 0);
    const std::string log = readText(dir / "log");
    CHECK_THAT(log, Catch::Contains(std::string("find-db entry ") + fake.name() +
                                    " ignored: needs 4096 workspace bytes, above the handle's workspace limit of 1024"));
    CHECK_THAT(log, Catch::Contains("cpu " + p + " -> " + firstRealFitName(problemOf(c), fake.algo, 1024) + " (first applicable)"));
    // raised: the entry is used again
    REQUIRE_CONVX_OK(convxSetWorkspaceLimit(h, 4096));
    runAutoChecked(h, c, ws.data(), 4096);
    CHECK(fake.algo.runs == 1);
    CHECK_THAT(readText(dir / "log"), Catch::Contains("cpu " + p + " -> " + fake.name() + " (find-db, "));
    CHECK(fake.algo.violations == 0);
}

TEST_CASE("find-db: AUTO's lookup by Problem finds what was recorded by problem string, in every form", "[find-db]") {
    TempDir dir;
    const std::string path = dir / "db.txt";
    FindEnv env(dir / "log", path);
    convxContext ctx;
    ctx.backend = CONVX_BACKEND_CPU;
    std::mt19937_64 rng(4242);
    for (int i = 0; i < testutil::scaled(30, 10); ++i) {
        harness::GenOptions o;
        o.gapped = i % 4 == 1;  // non-packed strides are part of the key
        const Case c(harness::randomSpec(rng, kDirs[i % 3], i % 5 == 0 ? CONVX_DATA_DOUBLE : CONVX_DATA_FLOAT, o));
        const convx::Problem p = problemOf(c);
        INFO(p.str());
        convx::findDbRecordAt(path, cpuDeviceKey(), p.str(), {CONVX_ALGO_REFERENCE, 0.5 + i, 0});
        convx::FindDbEntry e;
        REQUIRE(convx::findDbLookup(ctx, p, &e));
        CHECK(e.algo == CONVX_ALGO_REFERENCE);
        CHECK(e.ms == 0.5 + i);
        // a problem differing in one field is another entry
        convx::Problem q = p;
        q.N += 1;
        q.xStrides = convx::packedStrides(q.xLayout, q.nsp, q.N, q.C, q.in);
        q.yStrides = convx::packedStrides(q.yLayout, q.nsp, q.N, q.K, q.out);
        CHECK_FALSE(convx::findDbLookup(ctx, q, &e));
        // and a new process (reading the file) finds it the same way
        convx::findDbResetForTesting();
        REQUIRE(convx::findDbLookup(ctx, p, &e));
        CHECK(e.ms == 0.5 + i);
    }
}
