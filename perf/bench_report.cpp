#include "bench_report.h"

#include <sys/utsname.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace convxbench {

namespace {

std::string num(double v, const char* fmt) {
    if (!std::isfinite(v)) return "";
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string jsonString(const std::string& s) {
    std::string o = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\r': o += "\\r"; break;
            case '\t': o += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    o += buf;
                } else {
                    o += static_cast<char>(c);
                }
        }
    }
    return o + "\"";
}

std::string jsonNumber(double v, const char* fmt = "%.6g") {
    if (!std::isfinite(v)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, v);
    return buf;
}

std::string checkText(const Row& r) {
    if (r.check == "PASS" || r.check == "FAIL") {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s %.1e", r.check.c_str(), r.relErr);
        return buf;
    }
    return r.check;
}

bool measured(const Row& r) { return r.status == "ok" && std::isfinite(r.medianMs); }

}  // namespace

void printProblemTable(std::FILE* out, const std::vector<Row>& rows, const std::string& baseline) {
    const std::string vs = baseline.empty() ? std::string("speedup") : "vs " + baseline;
    size_t algoW = 18;
    for (const Row& r : rows) algoW = std::max(algoW, r.algo.size() + (r.isBaseline ? 2 : 0) + 1);
    std::fprintf(out, "  %-*s %11s %11s %10s %9s %12s  %s\n", int(algoW), "algo", "median ms", "min ms", "GFLOP/s", "GB/s",
                 vs.c_str(), "check (rel L2 err)");
    for (const Row& r : rows) {
        const std::string label = r.algo + (r.isBaseline ? " *" : "");
        if (r.status != "ok") {
            std::fprintf(out, "  %-*s %s: %s\n", int(algoW), label.c_str(), r.status == "n/a" ? "n/a" : "ERROR", r.message.c_str());
            continue;
        }
        const std::string sp = std::isfinite(r.speedup) ? num(r.speedup, "%.2fx") : "-";
        std::fprintf(out, "  %-*s %11s %11s %10s %9s %12s  %s%s%s\n", int(algoW), label.c_str(), num(r.medianMs, "%.4f").c_str(),
                     num(r.minMs, "%.4f").c_str(), num(r.gflops, "%.2f").c_str(), num(r.gbps, "%.3f").c_str(), sp.c_str(),
                     checkText(r).c_str(), r.message.empty() ? "" : "  ", r.message.c_str());
    }
    std::fflush(out);
}

void printSummary(std::FILE* out, const std::vector<Row>& rows, const std::string& baseline) {
    struct Acc {
        int problems = 0, withRatio = 0, failed = 0, errors = 0, na = 0;
        double logSum = 0, lo = INFINITY, hi = 0;
    };
    std::vector<std::string> order;
    std::map<std::string, Acc> acc;
    for (const Row& r : rows) {
        if (r.algo == "-") continue;
        if (!acc.count(r.algo)) order.push_back(r.algo);
        Acc& a = acc[r.algo];
        if (r.status == "n/a") ++a.na;
        if (r.status == "error") ++a.errors;
        if (r.check == "FAIL") ++a.failed;
        if (!measured(r)) continue;
        ++a.problems;
        if (std::isfinite(r.speedup) && r.speedup > 0) {
            ++a.withRatio;
            a.logSum += std::log(r.speedup);
            a.lo = std::min(a.lo, r.speedup);
            a.hi = std::max(a.hi, r.speedup);
        }
    }
    std::fprintf(out, "Summary per algorithm (geometric mean of the speedup vs %s over the problems both ran):\n",
                 baseline.empty() ? "no baseline" : baseline.c_str());
    for (const std::string& name : order) {
        const Acc& a = acc[name];
        std::string g = a.withRatio ? num(std::exp(a.logSum / a.withRatio), "%.2fx") : std::string("-");
        std::string range = a.withRatio ? "[" + num(a.lo, "%.2fx") + " .. " + num(a.hi, "%.2fx") + "]" : std::string();
        std::fprintf(out, "  %-18s geomean %8s over %3d problems %-22s %d failed, %d errors, %d n/a\n", name.c_str(), g.c_str(),
                     a.withRatio, range.c_str(), a.failed, a.errors, a.na);
    }
    std::fflush(out);
}

void writeCsv(const std::string& path, const std::vector<Row>& rows) {
    std::ofstream f(path);
    if (!f) throw std::runtime_error("cannot write " + path);
    f << "problem,name,direction,algo,backend,median_ms,min_ms,gflops,gbps,speedup_vs_baseline,rel_err,check,"
         "baseline,is_baseline,runs,workspace_bytes,status,message\n";
    for (const Row& r : rows) {
        f << csvField(r.problem) << ',' << csvField(r.name) << ',' << r.dir << ',' << csvField(r.algo) << ',' << r.backend << ','
          << num(r.medianMs, "%.6g") << ',' << num(r.minMs, "%.6g") << ',' << num(r.gflops, "%.6g") << ',' << num(r.gbps, "%.6g")
          << ',' << num(r.speedup, "%.6g") << ',' << num(r.relErr, "%.3e") << ',' << r.check << ',' << csvField(r.baseline) << ','
          << (r.isBaseline ? 1 : 0) << ',' << r.runs << ',' << r.workspace << ',' << r.status << ',' << csvField(r.message) << '\n';
    }
    if (!f) throw std::runtime_error("cannot write " + path);
}

void writeJson(const std::string& path, const RunInfo& in, const std::vector<Row>& rows) {
    std::ofstream f(path);
    if (!f) throw std::runtime_error("cannot write " + path);
    f << "{\n  \"header\": {\n"
      << "    \"tool\": \"convx-bench\",\n"
      << "    \"backend\": " << jsonString(in.backend) << ",\n"
      << "    \"device\": " << jsonString(in.device) << ",\n"
      << "    \"driver\": " << jsonString(in.driver) << ",\n"
      << "    \"cpu\": {\"model\": " << jsonString(in.cpuModel) << ", \"cores\": " << in.cpuCores << "},\n"
      << "    \"os\": " << jsonString(in.os) << ",\n"
      << "    \"compiler\": " << jsonString(in.compiler) << ",\n"
      << "    \"convx_version\": " << jsonString(in.convxVersion) << ",\n"
      << "    \"git_commit\": " << jsonString(in.gitCommit) << ",\n"
      << "    \"date\": " << jsonString(in.date) << ",\n"
      << "    \"threads\": " << in.threads << ",\n"
      << "    \"iters\": " << in.iters << ",\n"
      << "    \"warmup\": " << in.warmup << ",\n"
      << "    \"min_time_s\": " << jsonNumber(in.minTime) << ",\n"
      << "    \"flush_bytes\": " << in.flushBytes << ",\n"
      << "    \"baseline\": " << jsonString(in.baseline) << ",\n"
      << "    \"check\": " << (in.check ? "true" : "false") << ",\n"
      << "    \"timing\": " << jsonString("median of the timed runs after warm-up; inputs rotated over buffer copies totalling "
                                         "at least flush_bytes")
      << ",\n"
      << "    \"command\": " << jsonString(in.command) << "\n  },\n  \"rows\": [";
    for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        f << (i ? ",\n" : "\n") << "    {\"problem\": " << jsonString(r.problem) << ", \"name\": " << jsonString(r.name)
          << ", \"direction\": " << jsonString(r.dir) << ", \"algo\": " << jsonString(r.algo) << ", \"backend\": " << jsonString(r.backend)
          << ", \"median_ms\": " << jsonNumber(r.medianMs) << ", \"min_ms\": " << jsonNumber(r.minMs)
          << ", \"gflops\": " << jsonNumber(r.gflops) << ", \"gbps\": " << jsonNumber(r.gbps)
          << ", \"speedup_vs_baseline\": " << jsonNumber(r.speedup) << ", \"rel_err\": " << jsonNumber(r.relErr, "%.3e")
          << ", \"check\": " << jsonString(r.check) << ", \"baseline\": " << jsonString(r.baseline)
          << ", \"is_baseline\": " << (r.isBaseline ? "true" : "false") << ", \"runs\": " << r.runs
          << ", \"workspace_bytes\": " << r.workspace << ", \"status\": " << jsonString(r.status)
          << ", \"message\": " << jsonString(r.message) << "}";
    }
    f << "\n  ]\n}\n";
    if (!f) throw std::runtime_error("cannot write " + path);
}

std::string osDescription() {
    std::string pretty;
    std::ifstream f("/etc/os-release");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("PRETTY_NAME=", 0) == 0) {
            pretty = line.substr(12);
            if (pretty.size() >= 2 && pretty.front() == '"' && pretty.back() == '"') pretty = pretty.substr(1, pretty.size() - 2);
        }
    struct utsname u;
    std::string kernel;
    if (uname(&u) == 0) kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
    if (pretty.empty()) return kernel;
    return pretty + " (" + kernel + ")";
}

std::string isoDateUtc() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace convxbench
