// The one Catch2 main of the convx test suite (each test source only includes catch.hpp).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstdlib>

// Hermetic: the suite never reads or writes the user's find-db (Find records its winners there,
// and a recorded winner would change what AUTO picks in later tests). The find-db tests point
// CONVX_FIND_DB at their own temporary files.
static const int g_noUserFindDb = (setenv("CONVX_FIND_DB", "off", 1), unsetenv("CONVX_FIND_MODE"), 0);
