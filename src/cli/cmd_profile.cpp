// `gridbatch profile [generator options] --out FILE`: synthetic AI-training load as CSV.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "cli/dispatch_cli.hpp"
#include "core/invalid_input.hpp"
#include "gridbatch/error.hpp"
#include "io/input_file.hpp"

namespace gridbatch::cli {

std::set<std::string> generator_option_names() {
    return {"scenarios",
            "steps",
            "hours",
            "dt",
            "seed",
            "gpus",
            "kw-per-gpu",
            "pue",
            "idle",
            "period",
            "compute-share",
            "trough",
            "checkpoint-every",
            "checkpoint-for",
            "checkpoint-level",
            "failures-per-hour",
            "restart-outage",
            "cooling-tau",
            "noise",
            "backend",
            "threads"};
}

std::string generator_usage() {
    return "  --scenarios N          scenarios (columns), default 1\n"
           "  --hours H | --steps T  horizon, default 1 hour\n"
           "  --dt SECONDS           step, default 1 (0.1 resolves the 0.2-3 Hz swings)\n"
           "  --seed N               random seed, default 1\n"
           "  --gpus N --kw-per-gpu KW --pue X --idle FRACTION --cooling-tau SECONDS --noise X\n"
           "  --period S --compute-share X --trough X       main job's iteration waveform\n"
           "  --checkpoint-every S --checkpoint-for S --checkpoint-level X\n"
           "  --failures-per-hour X --restart-outage S\n"
           "  --backend cpu|cuda|auto  --threads N (CPU threads; default 0, every core)\n";
}

namespace {

// Each parameter's option, for messages: the library names the parameter.
const std::vector<OptionOf> kParameterOptions = {{": gpu_count ", "gpus"},
                                                 {": it_kw_per_gpu ", "kw-per-gpu"},
                                                 {": pue ", "pue"},
                                                 {": idle_level ", "idle"},
                                                 {": cooling_time_constant_s ", "cooling-tau"},
                                                 {": noise ", "noise"},
                                                 {": iteration_period_s ", "period"},
                                                 {": compute_share ", "compute-share"},
                                                 {": trough_level ", "trough"},
                                                 {": checkpoint_interval_s ", "checkpoint-every"},
                                                 {": checkpoint_duration_s ", "checkpoint-for"},
                                                 {": checkpoint_level ", "checkpoint-level"},
                                                 {": failures_per_hour ", "failures-per-hour"},
                                                 {": restart_outage_s ", "restart-outage"}};

TrainingLoadParameters generator_parameters(const Options& opt) {
    TrainingLoadParameters p;
    p.gpu_count = opt.number("gpus", p.gpu_count);
    p.it_kw_per_gpu = opt.number("kw-per-gpu", p.it_kw_per_gpu);
    p.pue = opt.number("pue", p.pue);
    p.idle_level = opt.number("idle", p.idle_level);
    p.cooling_time_constant_s = opt.number("cooling-tau", p.cooling_time_constant_s);
    p.noise = opt.number("noise", p.noise);
    TrainingJob& j = p.jobs.at(0);
    j.iteration_period_s = opt.number("period", j.iteration_period_s);
    j.compute_share = opt.number("compute-share", j.compute_share);
    j.trough_level = opt.number("trough", j.trough_level);
    j.checkpoint_interval_s = opt.number("checkpoint-every", j.checkpoint_interval_s);
    j.checkpoint_duration_s = opt.number("checkpoint-for", j.checkpoint_duration_s);
    j.checkpoint_level = opt.number("checkpoint-level", j.checkpoint_level);
    j.failures_per_hour = opt.number("failures-per-hour", j.failures_per_hour);
    j.restart_outage_s = opt.number("restart-outage", j.restart_outage_s);
    return p;
}

}  // namespace

Matrix generated_load(const Options& opt, const LoadProfileOptions& o) {
    const Index scenarios = opt.integer("scenarios", 1);
    if (scenarios < 1)
        throw Error(ErrorKind::invalid_input,
                    "option --scenarios must be >= 1 (got " + std::to_string(scenarios) + ")");
    try {
        return training_load({generator_parameters(opt)}, scenarios, o);
    } catch (const Error& e) {
        rethrow_naming_option(e, kParameterOptions);
    }
}

LoadProfileOptions generator_options(const Options& opt) {
    LoadProfileOptions o;
    o.dt_seconds = opt.number("dt", 1.0);
    if (!(o.dt_seconds > 0)) throw Error(ErrorKind::invalid_input, "option --dt must be > 0");
    if (opt.has("steps") && opt.has("hours")) throw UsageError("give --hours or --steps, not both");
    o.steps = opt.has("steps")
                  ? opt.integer("steps", 0)
                  : static_cast<Index>(opt.number("hours", 1.0) * 3600.0 / o.dt_seconds + 0.5);
    // The library gives an empty profile for no steps; asked for on the command line, that is a
    // mistake in the options.
    if (o.steps < 1)
        throw Error(ErrorKind::invalid_input,
                    opt.has("steps") ? "option --steps must be >= 1"
                                     : "option --hours must give at least one step of --dt");
    const long seed = opt.integer("seed", 1);
    if (seed < 0)  // as study: a negative seed would wrap to a huge unsigned one
        throw Error(ErrorKind::invalid_input,
                    "option --seed must be >= 0 (got " + std::to_string(seed) + ")");
    o.seed = static_cast<std::uint64_t>(seed);
    o.backend = parse_backend(opt.get("backend", "auto"));
    o.threads = static_cast<int>(opt.integer("threads", 0));
    return o;
}

void write_series_csv(const std::string& path, const Eigen::Ref<const Matrix>& series,
                      double dt_seconds) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw Error(ErrorKind::io, "cannot write " + path);
    std::fprintf(f, "time_s");
    for (Index s = 0; s < series.cols(); ++s)
        std::fprintf(f, ",scenario_%ld", static_cast<long>(s));
    std::fprintf(f, "\n");
    for (Index t = 0; t < series.rows(); ++t) {
        std::fprintf(f, "%.10g", static_cast<double>(t) * dt_seconds);
        for (Index s = 0; s < series.cols(); ++s) std::fprintf(f, ",%.10g", series(t, s));
        std::fprintf(f, "\n");
    }
    if (std::fclose(f) != 0) throw Error(ErrorKind::io, "error writing " + path);
}

LoadSeries read_series_csv(const std::string& path) {
    std::ifstream in = detail::open_input_file(path, "CSV file");
    std::string line = read_header_line(in, path);
    // A header of numbers is a file without one: its first row of loads would be lost.
    const auto header = split_csv_line(line);
    if (std::all_of(header.begin(), header.end(), [](const std::string& cell) {
            Real v = 0;
            return parse_finite(cell, v);
        }))
        throw Error(ErrorKind::invalid_input,
                    path + ":1: '" + shown(line) +
                        "' is not a header: the first row names the columns (e.g. "
                        "time_s,scenario_0), the loads follow one row per step");
    // A first column named time... (any case: time_s as `profile` writes it, Time, timestamp)
    // holds time stamps, not a scenario's load; time_s gives the step in seconds.
    std::string first = header.front();
    std::transform(first.begin(), first.end(), first.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool has_time = first.rfind("time", 0) == 0, seconds = first == "time_s";
    std::vector<std::vector<double>> rows;
    std::vector<Real> times;
    std::vector<Index> time_line;
    // Every row has the header's width (require_header_width).
    const auto width = static_cast<Index>(header.size()) - (has_time ? 1 : 0);
    Index line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const auto cells = split_csv_line(line);
        const std::string where = path + ":" + std::to_string(line_no) + ": ";
        require_header_width(cells, header, where);
        std::vector<double> row;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            Real v = 0;
            const bool number = parse_finite(cells[c], v);
            if (c == 0 && has_time) {
                if (seconds && !number)
                    throw Error(
                        ErrorKind::invalid_input,
                        where + "'" + shown(cells[c]) + "' is not a time in seconds (time_s)");
                if (seconds) {
                    times.push_back(v);
                    time_line.push_back(line_no);
                }
                continue;
            }
            if (!number)
                throw Error(ErrorKind::invalid_input,
                            where + "'" + shown(cells[c]) + "' is not a finite number");
            row.push_back(v);
        }
        rows.push_back(std::move(row));
    }
    if (rows.empty() || width <= 0)
        throw Error(ErrorKind::invalid_input, path + ": no load values below the header");
    LoadSeries out;
    out.load.resize(static_cast<Index>(rows.size()), width);
    for (Index t = 0; t < out.load.rows(); ++t)
        for (Index s = 0; s < out.load.cols(); ++s) out.load(t, s) = rows[t][s];
    // The step of an evenly spaced time_s column: a load at 0.1 s read as 1 s steps would be
    // dispatched with ten times its energy. Each row must be one step after the row before it,
    // the step being the median of the rows' steps (a gap or an odd first row is named where it
    // is); the step used is the whole span's mean.
    if (times.size() >= 2) {
        std::vector<Real> steps(times.size() - 1);
        for (std::size_t k = 1; k < times.size(); ++k) steps[k - 1] = times[k] - times[k - 1];
        std::vector<Real> sorted = steps;
        const auto middle = (sorted.size() - 1) / 2;  // the lower median: of 1 and 2 s, 1 s
        std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(middle),
                         sorted.end());
        const Real typical = sorted[middle];
        for (std::size_t k = 1; k < times.size(); ++k) {
            const Real step = steps[k - 1];
            if (!(step > 0))
                throw Error(ErrorKind::invalid_input,
                            path + ":" + std::to_string(time_line[k]) + ": time_s " +
                                detail::num(times[k]) + " does not come after " +
                                detail::num(times[k - 1]) + ": the time_s column must increase");
            if (!(std::abs(step - typical) <= 1e-3 * typical))
                throw Error(ErrorKind::invalid_input,
                            path + ":" + std::to_string(time_line[k]) + ": time_s " +
                                detail::num(times[k]) + " is " + detail::num(step) +
                                " s after the row before it, where the rows are " +
                                detail::num(typical) +
                                " s apart: the rows must be one even step apart");
        }
        const Real dt = (times.back() - times.front()) / static_cast<Real>(times.size() - 1);
        out.dt_seconds = dt;
    }
    return out;
}

int cmd_profile(const Args& args) {
    auto names = generator_option_names();
    names.insert("out");
    const Options opt(args, {}, names);
    if (opt.flag("help")) {
        std::cout << "usage: gridbatch profile [options] --out FILE\n" << generator_usage();
        return 0;
    }
    const std::string out = opt.require("out");
    const LoadProfileOptions o = generator_options(opt);
    const Matrix load = generated_load(opt, o);
    const Index S = load.cols();
    write_series_csv(out, load, o.dt_seconds);
    std::cout << "wrote " << counted(load.rows(), "step") << " x " << counted(S, "scenario")
              << " to " << out << " (peak " << (load.size() ? load.maxCoeff() : 0.0) << " MW)\n";
    return 0;
}

}  // namespace gridbatch::cli
