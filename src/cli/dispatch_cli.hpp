// Helpers shared by `gridbatch profile` and `gridbatch smooth`: synthetic-load options and CSV
// series (a time_s column, then one column per scenario).
#pragma once

#include <set>
#include <string>

#include "cli/options.hpp"
#include "gridbatch/load_profiles.hpp"

namespace gridbatch::cli {

// Names of the generator options (valued), for Options' constructor.
std::set<std::string> generator_option_names();
std::string generator_usage();
// Horizon, step, seed and backend from --steps/--hours, --dt, --seed, --backend.
LoadProfileOptions generator_options(const Options& opt);
// The synthetic load (steps x --scenarios) of --gpus, --pue, --period ... (defaults:
// load_profiles.hpp). A bad value is named by its option; fewer than one scenario is refused
// (the library gives an empty result, on the command line it is a mistake in the options).
Matrix generated_load(const Options& opt, const LoadProfileOptions& o);

// Writes `series` (rows = time steps) with a time_s column of step * dt.
void write_series_csv(const std::string& path, const Eigen::Ref<const Matrix>& series,
                      double dt_seconds);
// A load series read from CSV: one row per step, one column per scenario (MW), and the step the
// file's time_s column gives (0 where it has none, or a single row).
struct LoadSeries {
    Matrix load;
    Real dt_seconds = 0;
};
// Reads a CSV written by write_series_csv, or any numeric CSV with a header row: one row per
// step, one column of MW per scenario; a first column whose name starts with "time" (any case)
// is not a load (time_s: seconds, evenly spaced). A header of numbers (a file without one) is an
// error naming line 1.
LoadSeries read_series_csv(const std::string& path);

}  // namespace gridbatch::cli
