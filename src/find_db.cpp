#include "find_db.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "algorithm.h"
#include "error.h"
#include "log.h"

namespace convx {

namespace {

const char kMagic[] = "# convx find-db 1 convx ";
const char kAnyFindDb[] = "# convx find-db";

struct Parsed {
    enum Kind { Missing, Empty, Ok, OtherVersion, NotFindDb, Unreadable } kind = Missing;
    std::map<std::string, FindDbEntry> entries;  // key: device '\t' problem
    std::string otherVersion;                    // OtherVersion: what the header says
    int badLines = 0, firstBad = 0;
    std::string error;  // Unreadable
};

// Hash of every field Problem::operator== compares (equal problems have equal strings and back).
struct ProblemHash {
    size_t operator()(const Problem& p) const {
        uint64_t h = 1469598103934665603ull;
        auto mix = [&h](int64_t v) { h = (h ^ static_cast<uint64_t>(v)) * 1099511628211ull; };
        mix(static_cast<int64_t>(p.dir)), mix(static_cast<int64_t>(p.dtype)), mix(static_cast<int64_t>(p.accType));
        mix(p.mode), mix(p.math), mix(p.nsp), mix(p.N), mix(p.C), mix(p.K), mix(p.G);
        for (const Dims* d : {&p.in, &p.out, &p.ker, &p.stride, &p.pad, &p.dil})
            for (int64_t v : *d) mix(v);
        mix(static_cast<int64_t>(p.xLayout)), mix(static_cast<int64_t>(p.wLayout)), mix(static_cast<int64_t>(p.yLayout));
        for (int64_t v : p.xStrides) mix(v);
        for (int64_t v : p.yStrides) mix(v);
        return static_cast<size_t>(h);
    }
};

struct DbFile {
    bool loaded = false;
    std::unordered_map<std::string, FindDbEntry> entries;
    // The same entries by device and Problem: what the selector looks up, without building the
    // problem string (an AUTO call's find-db hit allocates nothing).
    std::unordered_map<std::string, std::unordered_map<Problem, FindDbEntry, ProblemHash>> byDevice;
    std::map<std::string, FindDbEntry> own;  // recorded by this process: they win when the file is rewritten
    bool warnedRead = false, warnedWrite = false;
};

std::mutex g_mutex;
std::unordered_map<std::string, DbFile> g_files;  // by path; "" = in memory only

std::string keyOf(const std::string& device, const std::string& problem) { return device + '\t' + problem; }

// Sets an entry, in both maps.
void put(DbFile& f, const std::string& key, const FindDbEntry& e) {
    f.entries[key] = e;
    const size_t tab = key.find('\t');
    try {
        f.byDevice[key.substr(0, tab)][parseProblem(key.substr(tab + 1))] = e;
    } catch (const Error&) {
        // not a problem string (only findDbRecordAt's callers could pass one): string lookups only
    }
}

std::string errnoText() { return std::strerror(errno); }

std::vector<std::string> splitTabs(const std::string& line) {
    std::vector<std::string> f;
    size_t start = 0;
    for (;;) {
        const size_t t = line.find('\t', start);
        f.push_back(line.substr(start, t == std::string::npos ? std::string::npos : t - start));
        if (t == std::string::npos) return f;
        start = t + 1;
    }
}

// One entry line; false for anything that is not exactly what the writer writes (a truncated line,
// an unknown algorithm name, a problem string that is not canonical...).
bool parseLine(const std::string& line, std::string* key, FindDbEntry* e) {
    const std::vector<std::string> f = splitTabs(line);
    if (f.size() != 5) return false;
    const std::string& device = f[0];
    if (device.empty() || sanitizeKey(device) != device) return false;
    convxConvAlgo_t id;
    if (!parseAlgoName(f[1], &id) || id == CONVX_ALGO_AUTO || f[1] != algoName(id)) return false;
    char* end = nullptr;
    errno = 0;
    const double ms = std::strtod(f[2].c_str(), &end);
    if (f[2].empty() || *end != '\0' || errno || !std::isfinite(ms) || ms < 0) return false;
    if (f[3].empty() || f[3].find_first_not_of("0123456789") != std::string::npos || f[3].size() > 19) return false;
    const unsigned long long ws = std::strtoull(f[3].c_str(), nullptr, 10);
    try {
        if (parseProblem(f[4]).str() != f[4]) return false;
    } catch (const Error&) {
        return false;
    }
    *key = keyOf(device, f[4]);
    e->algo = id;
    e->ms = ms;
    e->workspace = static_cast<size_t>(ws);
    return true;
}

Parsed readFile(const std::string& path) {
    Parsed r;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR) r.kind = Parsed::Missing;
        else {
            r.kind = Parsed::Unreadable;
            r.error = "cannot read it: " + errnoText();
        }
        return r;
    }
    std::string text;
    char buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    const bool readError = std::ferror(f) != 0;
    std::fclose(f);
    if (readError) {
        r.kind = Parsed::Unreadable;
        r.error = "read error";
        return r;
    }
    if (text.empty()) {
        r.kind = Parsed::Empty;
        return r;
    }
    size_t pos = 0;
    int lineNo = 0;
    bool first = true;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++lineNo;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (first) {
            first = false;
            if (line.compare(0, sizeof kMagic - 1, kMagic) == 0) {
                const std::string version = line.substr(sizeof kMagic - 1);
                if (version != findDbVersion()) {
                    r.kind = Parsed::OtherVersion;
                    r.otherVersion = version;
                    return r;
                }
                r.kind = Parsed::Ok;
                continue;
            }
            if (line.compare(0, sizeof kAnyFindDb - 1, kAnyFindDb) == 0) {
                r.kind = Parsed::OtherVersion;
                r.otherVersion = "an unknown format (" + line + ")";
                return r;
            }
            r.kind = Parsed::NotFindDb;
            return r;
        }
        if (line.empty() || line[0] == '#') continue;
        std::string key;
        FindDbEntry e;
        if (parseLine(line, &key, &e)) {
            r.entries[key] = e;
        } else if (r.badLines++ == 0) {
            r.firstBad = lineNo;
        }
    }
    return r;
}

// One warning per file and process about what reading found.
void warnAboutRead(const std::string& path, DbFile& f, const Parsed& r) {
    if (f.warnedRead) return;
    std::string msg;
    switch (r.kind) {
        case Parsed::Unreadable: msg = "find-db " + path + ": " + r.error + "; not used"; break;
        case Parsed::OtherVersion:
            msg = "find-db " + path + " was written by convx " + r.otherVersion + ", this is convx " + findDbVersion() +
                  ": not used, and replaced at the next write";
            break;
        case Parsed::NotFindDb:
            msg = "find-db " + path + " does not start with '" + kMagic + findDbVersion() + "': not used, and never overwritten";
            break;
        case Parsed::Ok:
            if (r.badLines)
                msg = format("find-db %s: %d malformed line%s ignored (the first is line %d); dropped at the next write", path.c_str(),
                             r.badLines, r.badLines == 1 ? "" : "s", r.firstBad);
            break;
        default: break;
    }
    if (!msg.empty()) {
        logWarning(msg);
        f.warnedRead = true;
    }
}

DbFile& loadLocked(const std::string& path) {
    DbFile& f = g_files[path];
    if (f.loaded || path.empty()) {
        f.loaded = true;
        return f;
    }
    f.loaded = true;
    const Parsed r = readFile(path);
    warnAboutRead(path, f, r);
    if (r.kind == Parsed::Ok)
        for (const auto& [k, e] : r.entries) put(f, k, e);
    if (logEnabled()) logLine(format("find-db %s: %zu entries", path.c_str(), f.entries.size()));
    return f;
}

bool makeDirs(const std::string& dir, std::string* err) {
    std::string cur;
    size_t pos = 0;
    while (pos <= dir.size()) {
        size_t slash = dir.find('/', pos);
        if (slash == std::string::npos) slash = dir.size();
        cur = dir.substr(0, slash);
        pos = slash + 1;
        if (cur.empty()) continue;
        if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) {
            *err = "cannot create directory " + cur + ": " + errnoText();
            return false;
        }
    }
    return true;
}

bool writeAll(int fd, const std::string& text) {
    const char* p = text.data();
    size_t left = text.size();
    while (left) {
        const ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    return true;
}

// Under <path>.lock: re-reads the file, merges this process's entries, writes a temporary file
// next to it and renames it over the file. Returns "" or what went wrong.
std::string writeMerged(const std::string& path, DbFile& f) {
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    std::string err;
    if (!makeDirs(dir, &err)) return err;
    const int lock = ::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock < 0) return "cannot open " + path + ".lock: " + errnoText();
    struct Unlock {
        int fd;
        ~Unlock() {
            ::flock(fd, LOCK_UN);
            ::close(fd);
        }
    } unlock{lock};
    while (::flock(lock, LOCK_EX) != 0)
        if (errno != EINTR) return "cannot lock " + path + ".lock: " + errnoText();

    const Parsed disk = readFile(path);
    if (disk.kind == Parsed::NotFindDb) return "it exists and is not a find-db, so it is not overwritten";
    if (disk.kind == Parsed::Unreadable) return disk.error;
    if (disk.badLines) warnAboutRead(path, f, disk);
    std::map<std::string, FindDbEntry> merged;
    if (disk.kind == Parsed::Ok) merged = disk.entries;
    for (const auto& [k, e] : merged) put(f, k, e);  // what other processes recorded meanwhile
    for (const auto& [k, e] : f.own) {
        merged[k] = e;
        put(f, k, e);
    }

    std::string text = std::string(kMagic) + findDbVersion() + "\n";
    text += "# <device>\\t<algorithm>\\t<time ms>\\t<workspace bytes>\\t<problem string>; written by convx, edits may be lost\n";
    for (const auto& [k, e] : merged) {
        const size_t tab = k.find('\t');
        text += k.substr(0, tab) + '\t' + algoName(e.algo) + '\t' + format("%.6g", e.ms) + '\t' + std::to_string(e.workspace) + '\t' +
                k.substr(tab + 1) + '\n';
    }
    std::string tmpl = path + ".tmp.XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) return "cannot create a temporary file in " + dir + ": " + errnoText();
    ::fchmod(fd, 0644);
    const bool ok = writeAll(fd, text) && ::fsync(fd) == 0;
    const std::string writeErr = ok ? std::string() : errnoText();
    if (::close(fd) != 0 || !ok) {
        ::unlink(name.data());
        return "cannot write " + std::string(name.data()) + ": " + (writeErr.empty() ? errnoText() : writeErr);
    }
    if (::rename(name.data(), path.c_str()) != 0) {
        const std::string e = errnoText();
        ::unlink(name.data());
        return "cannot rename the temporary file over it: " + e;
    }
    return "";
}

}  // namespace

std::string findDbVersion() { return format("%d.%d.%d", CONVX_VERSION_MAJOR, CONVX_VERSION_MINOR, CONVX_VERSION_PATCH); }

std::string findDbPath(const convxContext& h) {
    if (const char* v = std::getenv("CONVX_FIND_DB"); v && *v) {
        if (strcasecmp(v, "off") == 0 || std::strcmp(v, "0") == 0) return "";
        return v;
    }
    std::string base;
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    if (xdg && xdg[0] == '/') base = xdg;  // the XDG spec ignores relative paths
    else if (home && *home) base = std::string(home) + "/.cache";
    else return "";
    return base + "/convx/finddb-" + backendDeviceKey(h) + "-" + findDbVersion() + ".txt";
}

bool findDbLookupAt(const std::string& path, const std::string& device, const std::string& problem, FindDbEntry* e) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const DbFile& f = loadLocked(path);
    const auto it = f.entries.find(keyOf(device, problem));
    if (it == f.entries.end()) return false;
    *e = it->second;
    return true;
}

void findDbRecordAt(const std::string& path, const std::string& device, const std::string& problem, const FindDbEntry& e) {
    std::lock_guard<std::mutex> lock(g_mutex);
    DbFile& f = loadLocked(path);
    const std::string key = keyOf(device, problem);
    put(f, key, e);
    if (path.empty()) return;
    f.own[key] = e;
    const std::string err = writeMerged(path, f);
    if (err.empty()) {
        if (logEnabled()) logLine("find-db " + path + ": recorded " + algoName(e.algo) + " for " + problem);
    } else if (!f.warnedWrite) {
        logWarning("find-db " + path + ": cannot record (" + err + "); this process keeps its results in memory");
        f.warnedWrite = true;
    }
}

namespace {
// findDbPath and backendDeviceKey of the last handle this thread looked up for, kept while the
// variables they depend on keep their values: a lookup then builds no string.
struct PathCache {
    bool valid = false;
    convxBackend_t backend = CONVX_BACKEND_CPU;
    int device = -1;
    std::string env[3];
    bool set[3] = {};
    std::string path, deviceKey;
};
const char* const kPathVars[3] = {"CONVX_FIND_DB", "XDG_CACHE_HOME", "HOME"};

const PathCache& pathCache(const convxContext& h) {
    thread_local PathCache c;
    bool same = c.valid && c.backend == h.backend && c.device == h.device;
    const char* v[3];
    for (int i = 0; i < 3; ++i) {
        v[i] = std::getenv(kPathVars[i]);
        same = same && (v[i] != nullptr) == c.set[i] && (!v[i] || c.env[i] == v[i]);
    }
    if (same) return c;
    c.valid = false;
    c.backend = h.backend;
    c.device = h.device;
    for (int i = 0; i < 3; ++i) {
        c.set[i] = v[i] != nullptr;
        c.env[i] = v[i] ? v[i] : "";
    }
    c.path = findDbPath(h);
    c.deviceKey = backendDeviceKey(h);
    c.valid = true;
    return c;
}
}  // namespace

bool findDbLookup(const convxContext& h, const Problem& p, FindDbEntry* e) {
    const PathCache& c = pathCache(h);
    std::lock_guard<std::mutex> lock(g_mutex);
    const DbFile& f = loadLocked(c.path);
    const auto dev = f.byDevice.find(c.deviceKey);
    if (dev == f.byDevice.end()) return false;
    const auto it = dev->second.find(p);
    if (it == dev->second.end()) return false;
    *e = it->second;
    return true;
}

void findDbRecord(const convxContext& h, const Problem& p, const FindDbEntry& e, FindDbSource source) {
    const std::string path = findDbPath(h);
    if (path.empty() && source == FindDbSource::Find) return;  // CONVX_FIND_DB=off: Find records nothing
    findDbRecordAt(path, backendDeviceKey(h), p.str(), e);
}

void findDbResetForTesting() {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_files.clear();
}

}  // namespace convx
