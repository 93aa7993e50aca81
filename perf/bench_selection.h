// convx-bench --selection-overhead: microseconds per CONVX_ALGO_AUTO selection (the selector
// alone, on Problems built once) with the measured heuristic, with a find-db hit, and with
// registry order only (CONVX_HEURISTIC=off), plus an explicit algorithm id for scale; and the
// heap allocations each makes (the bench counts operator new).
#pragma once

#include <string>
#include <vector>

namespace convxbench {

// problems: problem strings (parseProblem); backend "cpu" or "cuda". Returns the exit status.
int selectionOverhead(const std::string& backend, const std::vector<std::string>& problems, double minSeconds);

}  // namespace convxbench
