// The one Catch2 main of the convx test suite (each test source only includes catch.hpp).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
