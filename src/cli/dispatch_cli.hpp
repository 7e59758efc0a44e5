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
// Parameters and options from --gpus, --pue, --period ... (defaults: load_profiles.hpp).
TrainingLoadParameters generator_parameters(const Options& opt);
LoadProfileOptions generator_options(const Options& opt);

// Writes `series` (rows = time steps) with a time_s column of step * dt.
void write_series_csv(const std::string& path, const Eigen::Ref<const Matrix>& series,
                      double dt_seconds);
// Reads a CSV written by write_series_csv (or any numeric CSV with a header row); a leading
// time_s / time column is dropped.
Matrix read_series_csv(const std::string& path);

}  // namespace gridbatch::cli
