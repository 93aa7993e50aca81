// The find-db: the winners Find (and CONVX_FIND_MODE=auto) measured, kept across processes so
// that CONVX_ALGO_AUTO picks them. One text file per device and library version:
//
//   $XDG_CACHE_HOME/convx/finddb-<device key>-<version>.txt   (else $HOME/.cache/convx/...)
//   CONVX_FIND_DB=<file> uses that file instead; CONVX_FIND_DB=off disables it.
//
// Format (tab-separated; the problem string, which has spaces, comes last):
//
//   # convx find-db 1 convx <major.minor.patch>
//   <device key>\t<algo name>\t<time ms>\t<workspace bytes>\t<problem string>
//
// The first line says which library version wrote the file: a file of another version is not
// used (and is replaced on the next write); a file without it is no find-db and is never
// overwritten. Malformed lines are ignored with one warning per file and process, and left out of
// the rewritten file. Each file is read once per process and cached; a write re-reads the file
// under an advisory lock (<file>.lock, flock), merges this process's entries in, and replaces the
// file atomically (temporary file in the same directory + rename). I/O failures never fail a
// call: they are warned about once per file.
#pragma once

#include <cstddef>
#include <string>

#include "context.h"
#include "convx/convx.h"
#include "problem.h"

namespace convx {

struct FindDbEntry {
    convxConvAlgo_t algo = CONVX_ALGO_AUTO;
    double ms = 0;
    size_t workspace = 0;
};

// Who records: a Find call (only persisted when the db is on) or CONVX_FIND_MODE=auto (which,
// with CONVX_FIND_DB=off, still remembers its winners for the rest of the process).
enum class FindDbSource { Find, FindModeAuto };

// "0.1.0": the version the file belongs to.
std::string findDbVersion();
// The file this handle's entries live in; "" when CONVX_FIND_DB=off or no cache directory is known.
std::string findDbPath(const convxContext& h);

// The entry for this handle's device and p, if any (whether it still applies is the selector's
// business). Cheap after the first call per file: one hash lookup under a mutex.
bool findDbLookup(const convxContext& h, const Problem& p, FindDbEntry* e);
void findDbRecord(const convxContext& h, const Problem& p, const FindDbEntry& e, FindDbSource source);

// The same by file, device key and problem string (tests; path "" = the in-memory table).
bool findDbLookupAt(const std::string& path, const std::string& device, const std::string& problem, FindDbEntry* e);
void findDbRecordAt(const std::string& path, const std::string& device, const std::string& problem, const FindDbEntry& e);

// Tests: forgets every cached file and warning, as a new process would.
void findDbResetForTesting();

}  // namespace convx
