// Where the benchmarks find the MATPOWER cases: GRIDBATCH_SHARED_DIR, else the ../shared beside
// the checkout that the build was configured with.
#pragma once

#include <cstdlib>
#include <string>

inline std::string shared_dir() {
    if (const char* env = std::getenv("GRIDBATCH_SHARED_DIR")) return env;
    return GRIDBATCH_SHARED_DIR;
}
