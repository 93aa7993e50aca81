// What convx-bench reports: one Row per (problem, direction, runner), printed as a table per
// problem while the bench runs, then written as CSV and JSON (with a header block that says
// where and from what the numbers came), and summarised per runner as a geometric mean of the
// speedup over the baseline.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace convxbench {

constexpr double kNaN = NAN;

struct Row {
    std::string problem;  // canonical problem string (or the text that failed to parse)
    std::string name;     // "resnet50:conv1" from a suite line, or ""
    std::string dir;      // "fwd", "bwd_d", "bwd_w" ("" when the problem did not parse)
    std::string algo;     // runner name ("-" for a problem-level error)
    std::string backend;  // "cpu", "cuda"
    std::string status;   // "ok", "n/a" (does not apply), "error"
    bool isBaseline = false;
    std::string baseline;  // the baseline runner's name, "" when none
    int runs = 0;
    double medianMs = kNaN, minMs = kNaN;
    double gflops = kNaN, gbps = kNaN;
    double speedup = kNaN;  // baseline median / this median
    double relErr = kNaN;
    std::string check;  // "PASS", "FAIL", "off", "n/a", "ERROR"
    size_t workspace = 0;
    std::string message;  // the reason for n/a, the convx message for an error, a note
};

// Where and from what the numbers came: the JSON header block.
struct RunInfo {
    std::string backend;
    std::string device;  // the device the runs ran on (CPU model or GPU)
    std::string driver;  // GPU driver and runtime versions, "" on the CPU
    std::string cpuModel;
    int cpuCores = 0;
    std::string os;
    std::string compiler;
    std::string convxVersion;
    std::string gitCommit;
    std::string date;  // ISO 8601, UTC
    int threads = 0;   // effective CPU threads
    int iters = 0, warmup = 0;
    double minTime = 0;
    size_t flushBytes = 0;
    std::string baseline;
    bool check = true;
    std::string command;
};

// The table of one problem (one direction), all its rows.
void printProblemTable(std::FILE* out, const std::vector<Row>& rows, const std::string& baseline);
// One line per runner: problems measured, geomean speedup vs the baseline, failures.
void printSummary(std::FILE* out, const std::vector<Row>& rows, const std::string& baseline);

// Both throw std::runtime_error when the file cannot be written.
void writeCsv(const std::string& path, const std::vector<Row>& rows);
void writeJson(const std::string& path, const RunInfo& info, const std::vector<Row>& rows);

// Host facts for the header block.
std::string osDescription();
std::string isoDateUtc();

}  // namespace convxbench
