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

#include "bench_device.h"

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
    std::string baseline2;   // the second runner compared with (cudnn_heur on the GPU), "" when none
    double speedup2 = kNaN;  // second baseline median / this median
    double rooflinePct = kNaN;  // roofline time / median x 100 (GPU, fp32 without tensor ops)
    double relErr = kNaN;
    std::string check;  // "PASS", "FAIL", "off", "n/a", "ERROR"
    size_t workspace = 0;
    std::string message;  // the reason for n/a, the convx message for an error, a note
    std::string note;     // cudnn_find: what cuDNN listed, timed, skipped and why; the oneDNN and zeroins
                          // columns: what ran (primitive, implementation, formats) (CSV/JSON only)
};

// Where and from what the numbers came: the JSON header block.
struct RunInfo {
    std::string backend;
    std::string device;  // the device the runs ran on (CPU model or GPU)
    std::string driver;  // GPU driver and runtime versions, "" on the CPU
    bool haveGpu = false;
    GpuFacts gpu;               // when haveGpu
    std::string cudnnVersion;   // "" when cuDNN is not used
    std::string onednnVersion;  // "" when no oneDNN column runs
    std::string xnnpackVersion; // "" when the xnnpack column does not run
    std::string torchVersion;   // "" when no PyTorch column runs
    double copyGBs = 0;         // measured device copy bandwidth (read + write), 0 = not measured
    std::string copyHow;
    double fp32PeakGflops = 0;  // GPU: SMs x FP32 lanes x 2 x clock; CPU: measured; 0 = unknown
    std::string peakHow;        // CPU: how the peak was measured
    double wsCapBytes = 0;      // cuDNN workspace cap
    int minIters = 0;           // the floor on timed runs (20 on the GPU)
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
    std::string baseline2;
    bool check = true;
    std::string command;
};

// The columns of the table: one ratio column per baseline given, the roofline column when asked.
struct TableStyle {
    std::string baseline;   // "" = none
    std::string baseline2;  // "" = no second ratio column
    bool roofline = false;
};

// The table of one problem (one direction), all its rows.
void printProblemTable(std::FILE* out, const std::vector<Row>& rows, const TableStyle& style);
// One line per runner: problems measured, geomean speedup vs the baseline(s), failures.
void printSummary(std::FILE* out, const std::vector<Row>& rows, const TableStyle& style);

// The header lines of a run (device, versions, roofline, method), for the console and the CSV.
std::vector<std::string> headerLines(const RunInfo& info);

// Both throw std::runtime_error when the file cannot be written. The CSV starts with the
// header block as '#' comment lines.
void writeCsv(const std::string& path, const RunInfo& info, const std::vector<Row>& rows);
void writeJson(const std::string& path, const RunInfo& info, const std::vector<Row>& rows);

// Host facts for the header block.
std::string osDescription();
std::string isoDateUtc();

}  // namespace convxbench
