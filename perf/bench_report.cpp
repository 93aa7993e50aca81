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

void printProblemTable(std::FILE* out, const std::vector<Row>& rows, const TableStyle& style) {
    const std::string vs = style.baseline.empty() ? std::string("speedup") : "vs " + style.baseline;
    const std::string vs2 = "vs " + style.baseline2;
    const bool second = !style.baseline2.empty();
    const int w1 = int(std::max<size_t>(12, vs.size())), w2 = int(std::max<size_t>(12, vs2.size()));
    size_t algoW = 18;
    for (const Row& r : rows) algoW = std::max(algoW, r.algo.size() + (r.isBaseline ? 2 : 0) + 1);
    std::string head = "  ";
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-*s %11s %11s %10s %9s %*s", int(algoW), "algo", "median ms", "min ms", "GFLOP/s", "GB/s", w1, vs.c_str());
    head += buf;
    if (second) std::snprintf(buf, sizeof buf, " %*s", w2, vs2.c_str()), head += buf;
    if (style.roofline) std::snprintf(buf, sizeof buf, " %10s", "% roofline"), head += buf;
    std::fprintf(out, "%s  %s\n", head.c_str(), "check (rel L2 err)");
    for (const Row& r : rows) {
        const std::string label = r.algo + (r.isBaseline ? " *" : "");
        if (r.status != "ok") {
            std::fprintf(out, "  %-*s %s: %s\n", int(algoW), label.c_str(), r.status == "n/a" ? "n/a" : "ERROR", r.message.c_str());
            continue;
        }
        const std::string sp = std::isfinite(r.speedup) ? num(r.speedup, "%.2fx") : "-";
        std::string line = "  ";
        std::snprintf(buf, sizeof buf, "%-*s %11s %11s %10s %9s %*s", int(algoW), label.c_str(), num(r.medianMs, "%.4f").c_str(),
                      num(r.minMs, "%.4f").c_str(), num(r.gflops, "%.2f").c_str(), num(r.gbps, "%.3f").c_str(), w1, sp.c_str());
        line += buf;
        if (second) {
            const std::string sp2 = std::isfinite(r.speedup2) ? num(r.speedup2, "%.2fx") : "-";
            std::snprintf(buf, sizeof buf, " %*s", w2, sp2.c_str());
            line += buf;
        }
        if (style.roofline) {
            const std::string pct = std::isfinite(r.rooflinePct) ? num(r.rooflinePct, "%.1f%%") : "-";
            std::snprintf(buf, sizeof buf, " %10s", pct.c_str());
            line += buf;
        }
        std::fprintf(out, "%s  %s%s%s\n", line.c_str(), checkText(r).c_str(), r.message.empty() ? "" : "  ", r.message.c_str());
    }
    std::fflush(out);
}

void printSummary(std::FILE* out, const std::vector<Row>& rows, const TableStyle& style) {
    struct Geo {
        int n = 0;
        double logSum = 0, lo = INFINITY, hi = 0;
        void add(double v) {
            if (!(std::isfinite(v) && v > 0)) return;
            ++n;
            logSum += std::log(v);
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
        std::string mean() const { return n ? num(std::exp(logSum / n), "%.2fx") : std::string("-"); }
        std::string range() const { return n ? "[" + num(lo, "%.2fx") + " .. " + num(hi, "%.2fx") + "]" : std::string(); }
    };
    struct Acc {
        int problems = 0, failed = 0, errors = 0, na = 0;
        Geo g1, g2;
    };
    std::vector<std::string> order;
    std::map<std::string, Acc> acc;
    size_t nameW = 18;
    for (const Row& r : rows) {
        if (r.algo == "-") continue;
        if (!acc.count(r.algo)) order.push_back(r.algo);
        nameW = std::max(nameW, r.algo.size());
        Acc& a = acc[r.algo];
        if (r.status == "n/a") ++a.na;
        if (r.status == "error") ++a.errors;
        if (r.check == "FAIL") ++a.failed;
        if (!measured(r)) continue;
        ++a.problems;
        a.g1.add(r.speedup);
        a.g2.add(r.speedup2);
    }
    const bool second = !style.baseline2.empty();
    std::fprintf(out, "Summary per algorithm (geometric mean of the speedup vs %s%s%s over the problems both ran):\n",
                 style.baseline.empty() ? "no baseline" : style.baseline.c_str(), second ? ", and vs " : "",
                 second ? style.baseline2.c_str() : "");
    for (const std::string& name : order) {
        const Acc& a = acc[name];
        std::string extra;
        if (second) extra = "vs " + style.baseline2 + " " + a.g2.mean() + " over " + std::to_string(a.g2.n) + " " + a.g2.range() + "; ";
        std::fprintf(out, "  %-*s geomean %8s over %3d problems %-22s %s%d failed, %d errors, %d n/a\n", int(nameW), name.c_str(),
                     a.g1.mean().c_str(), a.g1.n, a.g1.range().c_str(), extra.c_str(), a.failed, a.errors, a.na);
    }
    std::fflush(out);
}

std::vector<std::string> headerLines(const RunInfo& in) {
    std::vector<std::string> l;
    char buf[512];
    l.push_back("tool: convx-bench " + in.convxVersion);
    l.push_back("git_commit: " + in.gitCommit);
    l.push_back("date: " + in.date);
    l.push_back("backend: " + in.backend);
    l.push_back("device: " + in.device);
    if (in.haveGpu) {
        const GpuFacts& g = in.gpu;
        std::snprintf(buf, sizeof buf, "gpu: %s, compute capability %d.%d, %d SMs, %.1f GiB, L2 %.1f MiB, clock %.0f MHz", g.name.c_str(),
                      g.ccMajor, g.ccMinor, g.sms, g.memoryBytes / 1073741824.0, g.l2Bytes / 1048576.0, g.clockKHz / 1000.0);
        l.push_back(buf);
        l.push_back("cuda: driver " + cudaVersionText(g.driverVersion) + " (" + std::to_string(g.driverVersion) + "), runtime " +
                    cudaVersionText(g.runtimeVersion) + " (" + std::to_string(g.runtimeVersion) + ")");
    } else if (!in.driver.empty()) {
        l.push_back("driver: " + in.driver);
    }
    if (!in.cudnnVersion.empty()) l.push_back("cudnn: " + in.cudnnVersion);
    if (!in.onednnVersion.empty()) l.push_back("onednn: " + in.onednnVersion);
    if (!in.xnnpackVersion.empty()) l.push_back("xnnpack: " + in.xnnpackVersion);
    if (!in.torchVersion.empty()) l.push_back("torch: " + in.torchVersion);
    if (in.haveGpu) {
        if (in.copyGBs > 0)
            std::snprintf(buf, sizeof buf, "copy_bandwidth: %.1f GB/s (%s)", in.copyGBs, in.copyHow.c_str());
        else
            std::snprintf(buf, sizeof buf, "copy_bandwidth: not measured (%s)", in.copyHow.c_str());
        l.push_back(buf);
        if (in.fp32PeakGflops > 0)
            std::snprintf(buf, sizeof buf, "fp32_peak: %.0f GFLOP/s (%d SMs x %d FP32 lanes x 2 x %.0f MHz)", in.fp32PeakGflops, in.gpu.sms,
                          in.gpu.fp32LanesPerSm, in.gpu.clockKHz / 1000.0);
        else
            std::snprintf(buf, sizeof buf, "fp32_peak: unknown (no FP32 lane count for sm_%d%d)", in.gpu.ccMajor, in.gpu.ccMinor);
        l.push_back(buf);
        l.push_back("roofline: time = max(flops / fp32_peak, min_bytes / copy_bandwidth); % roofline = time / median x 100 "
                    "(fp32 problems without tensor-op math)");
    } else if (in.copyGBs > 0) {
        std::snprintf(buf, sizeof buf, "copy_bandwidth: %.1f GB/s (%s)", in.copyGBs, in.copyHow.c_str());
        l.push_back(buf);
        if (in.fp32PeakGflops > 0) std::snprintf(buf, sizeof buf, "fp32_peak: %.0f GFLOP/s measured (%s)", in.fp32PeakGflops, in.peakHow.c_str());
        else std::snprintf(buf, sizeof buf, "fp32_peak: not measured");
        l.push_back(buf);
        l.push_back("roofline: time = max(flops / fp32_peak, min_bytes / copy_bandwidth); % roofline = time / median x 100 "
                    "(fp32 problems)");
    }
    l.push_back("cpu: " + in.cpuModel + ", " + std::to_string(in.cpuCores) + " cores");
    l.push_back("os: " + in.os);
    l.push_back("compiler: " + in.compiler);
    if (in.backend == "cpu") l.push_back("threads: " + std::to_string(in.threads));
    std::snprintf(buf, sizeof buf, "timing: %d warm-up, then timed runs until at least %d and %.3g s, median reported; rotation over %zu bytes",
                  in.warmup, std::max(in.iters, in.minIters), in.minTime, in.flushBytes);
    l.push_back(buf);
    l.push_back("baseline: " + (in.baseline.empty() ? std::string("none") : in.baseline) +
                (in.baseline2.empty() ? std::string() : ", second: " + in.baseline2));
    if (in.wsCapBytes > 0) l.push_back("cudnn_workspace_cap: " + std::to_string(static_cast<unsigned long long>(in.wsCapBytes)) + " bytes");
    l.push_back(std::string("check: ") + (in.check ? "on" : "off"));
    l.push_back("command: " + in.command);
    return l;
}

void writeCsv(const std::string& path, const RunInfo& info, const std::vector<Row>& rows) {
    std::ofstream f(path);
    if (!f) throw std::runtime_error("cannot write " + path);
    for (std::string line : headerLines(info)) {
        for (char& c : line)
            if (c == '\n' || c == '\r') c = ' ';
        f << "# " << line << '\n';
    }
    f << "problem,name,direction,algo,backend,median_ms,min_ms,gflops,gbps,speedup_vs_baseline,rel_err,check,"
         "baseline,is_baseline,runs,workspace_bytes,status,message,baseline2,speedup_vs_baseline2,roofline_pct,note\n";
    for (const Row& r : rows) {
        f << csvField(r.problem) << ',' << csvField(r.name) << ',' << r.dir << ',' << csvField(r.algo) << ',' << r.backend << ','
          << num(r.medianMs, "%.6g") << ',' << num(r.minMs, "%.6g") << ',' << num(r.gflops, "%.6g") << ',' << num(r.gbps, "%.6g")
          << ',' << num(r.speedup, "%.6g") << ',' << num(r.relErr, "%.3e") << ',' << r.check << ',' << csvField(r.baseline) << ','
          << (r.isBaseline ? 1 : 0) << ',' << r.runs << ',' << r.workspace << ',' << r.status << ',' << csvField(r.message) << ','
          << csvField(r.baseline2) << ',' << num(r.speedup2, "%.6g") << ',' << num(r.rooflinePct, "%.4g") << ',' << csvField(r.note) << '\n';
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
      << "    \"driver\": " << jsonString(in.driver) << ",\n";
    if (in.haveGpu) {
        const GpuFacts& g = in.gpu;
        f << "    \"gpu\": {\"name\": " << jsonString(g.name) << ", \"compute_capability\": "
          << jsonString(std::to_string(g.ccMajor) + "." + std::to_string(g.ccMinor)) << ", \"sms\": " << g.sms
          << ", \"memory_bytes\": " << g.memoryBytes << ", \"l2_bytes\": " << g.l2Bytes << ", \"clock_khz\": " << g.clockKHz
          << ", \"fp32_lanes_per_sm\": " << g.fp32LanesPerSm << ", \"driver_version\": " << jsonString(cudaVersionText(g.driverVersion))
          << ", \"driver_version_raw\": " << g.driverVersion << ", \"runtime_version\": " << jsonString(cudaVersionText(g.runtimeVersion))
          << ", \"runtime_version_raw\": " << g.runtimeVersion << "},\n"
          << "    \"copy_bandwidth_gbs\": " << jsonNumber(in.copyGBs > 0 ? in.copyGBs : kNaN) << ",\n"
          << "    \"copy_bandwidth_method\": " << jsonString(in.copyHow) << ",\n"
          << "    \"fp32_peak_gflops\": " << jsonNumber(in.fp32PeakGflops > 0 ? in.fp32PeakGflops : kNaN) << ",\n"
          << "    \"roofline\": " << jsonString("roofline_pct = max(flops / fp32_peak, min_bytes / copy_bandwidth) / median_ms x 100, "
                                              "for fp32 problems without tensor-op math") << ",\n";
    } else {
        f << "    \"gpu\": null,\n";
        if (in.copyGBs > 0)
            f << "    \"copy_bandwidth_gbs\": " << jsonNumber(in.copyGBs) << ",\n"
              << "    \"copy_bandwidth_method\": " << jsonString(in.copyHow) << ",\n"
              << "    \"fp32_peak_gflops\": " << jsonNumber(in.fp32PeakGflops > 0 ? in.fp32PeakGflops : kNaN) << ",\n"
              << "    \"fp32_peak_method\": " << jsonString(in.peakHow) << ",\n"
              << "    \"roofline\": " << jsonString("roofline_pct = max(flops / fp32_peak, min_bytes / copy_bandwidth) / median_ms x 100, "
                                                  "for fp32 problems; CPU peak and bandwidth measured at the run's thread count") << ",\n";
    }
    f << "    \"cudnn_version\": " << jsonString(in.cudnnVersion) << ",\n"
      << "    \"onednn_version\": " << jsonString(in.onednnVersion) << ",\n"
      << "    \"xnnpack_version\": " << jsonString(in.xnnpackVersion) << ",\n"
      << "    \"torch_version\": " << jsonString(in.torchVersion) << ",\n"
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
      << "    \"min_iters\": " << in.minIters << ",\n"
      << "    \"baseline\": " << jsonString(in.baseline) << ",\n"
      << "    \"baseline2\": " << jsonString(in.baseline2) << ",\n"
      << "    \"cudnn_workspace_cap_bytes\": " << jsonNumber(in.wsCapBytes > 0 ? in.wsCapBytes : kNaN, "%.0f") << ",\n"
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
          << ", \"message\": " << jsonString(r.message) << ", \"baseline2\": " << jsonString(r.baseline2)
          << ", \"speedup_vs_baseline2\": " << jsonNumber(r.speedup2) << ", \"roofline_pct\": " << jsonNumber(r.rooflinePct) << ", \"note\": " << jsonString(r.note) << "}";
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
