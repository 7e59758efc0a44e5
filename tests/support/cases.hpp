// Where tests find what lies outside the test binary: ../shared (MATPOWER cases and reference
// solutions; tests that need it call require_shared() first, which skips visibly when it is
// absent) and the gridbatch program. Both can be moved by environment variables
// (GRIDBATCH_SHARED_DIR, GRIDBATCH_CLI), as on a GPU machine that runs a build made elsewhere.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "gridbatch/network.hpp"

namespace gridbatch::test {

std::string shared_dir();
bool have_shared();
std::string case_path(const std::string& name);  // e.g. "case118" -> .../cases/case118.m
std::string ref_path(const std::string& name,
                     const std::string& file);  // refs/matpower/<name>/<file>
// All case names in ../shared/cases, smallest file first.
std::vector<std::string> all_cases();
// The gridbatch command-line program (GRIDBATCH_CLI, else the one built with the tests), quoted
// for a shell command: on a GPU machine it lies wherever the checkout does.
std::string cli_command();

// A CSV with a header row of column names and numeric cells.
struct Csv {
    std::vector<std::string> header;
    std::vector<std::vector<double>> rows;       // NaN where a cell is not a number
    std::vector<std::vector<std::string>> text;  // the cells as written
    std::vector<double> column(const std::string& name) const;
    std::vector<std::string> text_column(const std::string& name) const;
};
Csv read_csv(const std::string& path);

// The reference's converged complex voltages (internal bus order = case row order).
ComplexVector ref_voltages(const std::string& name, const std::string& variant);

// A small hand-made case (3 buses) for tests that need no files.
std::string three_bus_case_text();

}  // namespace gridbatch::test

#define GRIDBATCH_REQUIRE_SHARED()                                                        \
    do {                                                                                  \
        if (!::gridbatch::test::have_shared())                                            \
            GTEST_SKIP() << "../shared not found at " << ::gridbatch::test::shared_dir(); \
    } while (0)
