// `gridbatch smooth --load FILE|--synthetic [generator options] --fleet N --unit NAME
//  [--ramp-limit MW_PER_MIN] [--objective variance|ramps] --out DIR`: optimal (or causal-filter)
// battery dispatch per scenario; writes battery_mw.csv, soc_mwh.csv, grid_mw.csv and metrics.csv
// into DIR (and backup_mw.csv with --backup-mw). `--objective ramps` is smooth_dispatch() (squared
// ramps and a slow level term, a QP; hard grid and battery ramp limits, backup generation, a peak
// term, price and target series), the default `variance` dispatch() (squared deviation from the
// target, exact).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "cli/dispatch_cli.hpp"
#include "core/invalid_input.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/smooth_dispatch.hpp"

namespace gridbatch::cli {
namespace {

TerminalCondition parse_terminal(const std::string& s) {
    if (s == "equal") return TerminalCondition::equal;
    if (s == "at-least-initial") return TerminalCondition::at_least_initial;
    if (s == "free") return TerminalCondition::free;
    throw Error(ErrorKind::invalid_input,
                "option --terminal: '" + s + "' (expected equal, at-least-initial or free)");
}

SmoothingTarget parse_target(const std::string& s) {
    if (s == "min") return SmoothingTarget::min_load;
    if (s == "mean") return SmoothingTarget::mean_load;
    if (s == "zero") return SmoothingTarget::zero;
    throw Error(ErrorKind::invalid_input,
                "option --target: '" + s + "' (expected min, mean or zero)");
}

DispatchMethod parse_method(const std::string& s) {
    if (s == "auto") return DispatchMethod::automatic;
    if (s == "taut-string") return DispatchMethod::taut_string;
    if (s == "dp") return DispatchMethod::dynamic_program;
    throw Error(ErrorKind::invalid_input,
                "option --method: '" + s + "' (expected auto, taut-string or dp)");
}

// The options that set the library parameters a bad value is named by (rethrow_naming_option).
const std::vector<OptionOf> kParameterOptions = {
    {": throughput_cost ", "throughput-cost"},
    {": import_limit_mw ", "import-limit"},
    {"CausalFilterOptions: time_constant_s ", "filter-tau"},
    {"RecedingHorizonOptions: forecast_noise ", "forecast-noise"},
    {"RecedingHorizonOptions: need 1 <= replan_every <= horizon_steps", "horizon/--replan-every"},
    {"size_fleet: max_units ", "max-units"},
    {": ramp_weight ", "ramp-weight"},
    {": level_time_constant_s ", "level-time-constant"},
    {": peak_weight ", "peak-weight"},
    {"SmoothDispatchOptions: ramp_limit_mw_per_s ", "grid-ramp"},
    {"fleet (shared): ramp_limit_mw_per_s ", "battery-ramp"},
    {": backup_mw ", "backup-mw"},
    {": backup_ramp_mw_per_s ", "backup-ramp"},
    {": backup_cost_per_mwh ", "backup-cost"}};

int smooth(const Args& args) {
    auto names = generator_option_names();
    for (const char* n : {"load",         "fleet",           "unit",
                          "ramp-limit",   "max-units",       "out",
                          "terminal",     "method",          "target",
                          "horizon",      "replan-every",    "forecast-noise",
                          "import-limit", "throughput-cost", "filter-tau",
                          "objective",    "ramp-weight",     "level-time-constant",
                          "backup-mw",    "backup-ramp",     "backup-cost",
                          "peak-weight",  "battery-ramp",    "grid-ramp",
                          "price",        "target-mw"})
        names.insert(n);
    const Options opt(args, {"synthetic", "export", "filter"}, names);
    if (opt.flag("help")) {
        std::cout
            << "usage: gridbatch smooth --load FILE|--synthetic [generator options] --fleet N\n"
               "         [--unit megapack-2h|megapack-4h] [--ramp-limit MW_PER_MIN] --out DIR\n"
               "  --fleet N                   units of --unit (default megapack-2h); 0: none\n"
               "  --load FILE                 CSV with a header row, one row per step, one\n"
               "                              column of MW per scenario; a first column named\n"
               "                              time... is not a load; time_s (seconds, as\n"
               "                              `profile` writes it) gives the step, else --dt S\n"
               "                              (default 1 s)\n"
               "  --terminal equal|at-least-initial|free   --method auto|taut-string|dp\n"
               "  --target mean|min|zero      draw the objective pulls towards (default mean)\n"
               "  --objective variance|ramps  squared deviation from the target (default; exact)\n"
               "                              or squared ramps plus a slow level term (a QP)\n"
               "  --ramp-weight W  --level-time-constant S  --peak-weight W   weights of\n"
               "                              --objective ramps (peak: per MW of the peak)\n"
               "  --grid-ramp MW_PER_S        hard limit on grid-draw change (--objective ramps)\n"
               "  --battery-ramp MW_PER_S     limit on battery power change (--objective ramps)\n"
               "  --price FILE                energy price per MWh of grid draw, one per step\n"
               "                              (CSV column 'price'; --objective ramps)\n"
               "  --target-mw FILE            the level term's target draw, one per step (CSV\n"
               "                              column 'target_mw'; --objective ramps; default:\n"
               "                              each scenario's mean load)\n"
               "  --backup-mw MW [--backup-ramp MW_PER_S] [--backup-cost PER_MWH]\n"
               "                              backup generation (--objective ramps)\n"
               "  --import-limit MW  --export  --throughput-cost X\n"
               "  --filter [--filter-tau S]   causal high-pass baseline instead of optimum\n"
               "  --horizon STEPS [--replan-every STEPS] [--forecast-noise X]   receding horizon\n"
               "  --max-units N               sizing bound with --ramp-limit (default 1000)\n"
               "  --backend cpu|cuda|auto     where the dispatch runs (with --objective ramps,\n"
               "                              the interior point; default auto)\n"
            << generator_usage();
        return 0;
    }
    if (opt.has("load") == opt.flag("synthetic"))
        throw UsageError("give exactly one of --load FILE and --synthetic");
    if (opt.has("load"))  // the generator's options would be ignored
        for (const std::string& o : generator_option_names())
            if (o != "dt" && o != "backend" && o != "threads" && opt.has(o))
                throw UsageError("option --" + o + ": only with --synthetic (the load comes from " +
                                 opt.get("load", "") + ")");
    if (!opt.has("fleet"))
        throw UsageError("option --fleet is required (units of --unit; 0 for no battery)");
    const std::string dir = opt.require("out");
    Matrix load;
    Real dt = opt.number("dt", 1.0);
    if (opt.flag("synthetic")) {
        const LoadProfileOptions o = generator_options(opt);
        load = generated_load(opt, o);
        dt = o.dt_seconds;
    } else {
        const std::string path = opt.get("load", "");
        LoadSeries series = read_series_csv(path);
        load = std::move(series.load);
        if (series.dt_seconds > 0) {
            if (opt.has("dt") && std::abs(dt - series.dt_seconds) > 1e-6 * series.dt_seconds)
                throw Error(ErrorKind::invalid_input,
                            "--dt " + opt.get("dt", "") + " s, but the time_s column of " + path +
                                " steps by " + detail::num(series.dt_seconds) + " s");
            dt = series.dt_seconds;
        }
    }
    const BatteryUnit unit = battery_unit(opt.get("unit", "megapack-2h"));
    const Real units = opt.number("fleet", 0);
    if (!(units >= 0)) throw Error(ErrorKind::invalid_input, "option --fleet must be >= 0");
    BatteryFleet fleet = BatteryFleet::from_units(unit, units);
    fleet.terminal = parse_terminal(opt.get("terminal", "equal"));
    fleet.throughput_cost = opt.number("throughput-cost", 0);
    GridConnection grid;
    grid.import_limit_mw = opt.number("import-limit", HUGE_VAL);
    grid.export_allowed = opt.flag("export");
    DispatchOptions dopt;
    dopt.dt_seconds = dt;
    dopt.method = parse_method(opt.get("method", "auto"));
    dopt.target = parse_target(opt.get("target", "mean"));
    dopt.backend = parse_backend(opt.get("backend", "auto"));
    dopt.threads = static_cast<int>(opt.integer("threads", 0));

    const std::string objective = opt.get("objective", "variance");
    if (objective != "variance" && objective != "ramps")
        throw Error(ErrorKind::invalid_input,
                    "option --objective: '" + objective + "' (expected variance or ramps)");
    const bool ramps = objective == "ramps";
    grid.backup_mw = opt.number("backup-mw", 0);
    grid.backup_ramp_mw_per_s = opt.number("backup-ramp", HUGE_VAL);
    grid.backup_cost_per_mwh = opt.number("backup-cost", 0);
    if (opt.flag("filter") && opt.has("horizon"))
        throw UsageError(
            "options --filter and --horizon: one dispatch at a time (the causal "
            "filter, or the receding horizon)");
    if (opt.has("filter-tau") && !opt.flag("filter"))
        throw UsageError("option --filter-tau: only with --filter");
    for (const char* o : {"replan-every", "forecast-noise"})
        if (opt.has(o) && !opt.has("horizon"))
            throw UsageError(std::string("option --") + o + ": only with --horizon");
    if (ramps && (opt.flag("filter") || opt.has("horizon")))
        throw UsageError(
            "option --objective ramps: not with --filter or --horizon (they follow the variance "
            "objective)");
    if (!ramps)
        for (const char* name :
             {"peak-weight", "battery-ramp", "grid-ramp", "price", "target-mw", "ramp-weight",
              "level-time-constant", "backup-mw", "backup-ramp", "backup-cost"})
            if (opt.has(name))
                throw UsageError(std::string("option --") + name + " needs --objective ramps");
    SmoothDispatchOptions sopt;
    sopt.dt_seconds = dt;
    sopt.ramp_weight = opt.number("ramp-weight", sopt.ramp_weight);
    sopt.level_time_constant_s = opt.number("level-time-constant", sopt.level_time_constant_s);
    sopt.peak_weight = opt.number("peak-weight", 0);
    sopt.ramp_limit_mw_per_s = opt.number("grid-ramp", HUGE_VAL);
    sopt.backend = dopt.backend;
    sopt.threads = dopt.threads;
    fleet.ramp_limit_mw_per_s = opt.number("battery-ramp", HUGE_VAL);
    // A series per step, from a CSV column; its length is checked here, naming the option.
    const auto per_step = [&](const char* name, const char* column) {
        const std::string path = opt.get(name, "");
        Vector v = read_csv_column(path, column);
        if (v.size() != load.rows())
            throw Error(ErrorKind::invalid_input, std::string("option --") + name + ": " + path +
                                                      " has " + std::to_string(v.size()) +
                                                      " values under '" + column +
                                                      "'; expected one per step of the load (" +
                                                      std::to_string(load.rows()) + ")");
        return v;
    };
    if (opt.has("price")) sopt.energy_price = per_step("price", "price");
    if (opt.has("target-mw")) sopt.target_mw = per_step("target-mw", "target_mw");

    // Under mpirun the optimal dispatch is sharded over the ranks; the causal filter, MPC and the
    // sizing run on rank 0 alone.
    const std::unique_ptr<Communicator> comm = launcher_communicator();
    const bool shard = comm && !opt.flag("filter") && !opt.has("horizon");
    if (comm && !shard && comm->rank() != 0) return 0;
    if (comm) dopt.device = sopt.device = device_for(*comm);
    DispatchResult r;
    Matrix backup;  // with --objective ramps
    if (opt.flag("filter")) {
        CausalFilterOptions f;
        f.time_constant_s = opt.number("filter-tau", f.time_constant_s);
        r = causal_filter(load, {fleet}, dt, f);
    } else if (opt.has("horizon")) {
        RecedingHorizonOptions mpc;
        mpc.horizon_steps = opt.integer("horizon", mpc.horizon_steps);
        mpc.replan_every = opt.integer("replan-every", std::min<long>(60, mpc.horizon_steps));
        mpc.forecast_noise = opt.number("forecast-noise", 0);
        r = receding_horizon(load, {fleet}, {grid}, mpc, dopt);
    } else if (ramps) {
        SmoothDispatchResult sr = shard ? smooth_dispatch(load, {fleet}, {grid}, sopt, *comm)
                                        : smooth_dispatch(load, {fleet}, {grid}, sopt);
        if (shard && comm->rank() != 0) return 0;
        backup = std::move(sr.backup_mw);
        r = std::move(sr);
    } else {
        r = shard ? dispatch(load, {fleet}, {grid}, dopt, *comm)
                  : dispatch(load, {fleet}, {grid}, dopt);
        if (shard && comm->rank() != 0) return 0;
    }
    const DispatchMetrics m = dispatch_metrics(load, r, {fleet}, dt);
    IndexVector needed;
    const bool sizing = opt.has("ramp-limit");
    if (sizing) {
        const Real limit = opt.number("ramp-limit", 0);
        if (!(limit > 0))
            throw Error(ErrorKind::invalid_input, "option --ramp-limit must be > 0 MW per minute");
        const Index max_units = opt.integer("max-units", 1000);
        // For the ramp objective, the variance objective's answer is a cheap first probe: the
        // same answer in fewer rounds of interior-point solves (dispatch() has no backup).
        const auto variance = [&] { return size_fleet(load, unit, limit, max_units, grid, dopt); };
        needed = ramps ? smallest_fleet_for_ramp(load, unit, limit, max_units, grid, sopt,
                                                 grid.backup_mw == 0 ? variance() : IndexVector())
                       : variance();
    }

    std::filesystem::create_directories(dir);
    write_series_csv(dir + "/battery_mw.csv", r.battery_mw, dt);
    write_series_csv(dir + "/soc_mwh.csv", r.soc_mwh, dt);
    write_series_csv(dir + "/grid_mw.csv", r.grid_mw, dt);
    if (grid.backup_mw > 0) write_series_csv(dir + "/backup_mw.csv", backup, dt);
    const std::string path = dir + "/metrics.csv";
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw Error(ErrorKind::io, "cannot write " + path);
    std::fprintf(f,
                 "scenario,status,infeasible_step,violation,load_peak_mw,load_std_mw,peak_mw,"
                 "max_ramp_mw_per_s,max_ramp_mw_per_min,std_mw,throughput_mwh,"
                 "equivalent_full_cycles,time_at_soc_limits_s,losses_mwh,objective,relaxed_steps");
    for (const auto& b : m.bands) std::fprintf(f, ",band_%g_%g_hz", b.first, b.second);
    if (sizing) std::fprintf(f, ",units_for_ramp_limit");
    std::fprintf(f, "\n");
    Index n_infeasible = 0, n_unsolved = 0;
    for (Index s = 0; s < load.cols(); ++s) {
        const auto col = load.col(s);
        const Real load_std =
            col.size() ? std::sqrt((col.array() - col.mean()).square().mean()) : 0.0;
        n_infeasible += r.report.at(s) == Status::infeasible;
        n_unsolved += r.report.at(s) != Status::converged && r.report.at(s) != Status::infeasible;
        std::fprintf(f,
                     "%ld,%s,%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%ld",
                     static_cast<long>(s),
                     r.report.at(s) == Status::converged ? "optimal" : to_string(r.report.at(s)),
                     static_cast<long>(r.infeasible_step[s]), r.violation[s],
                     col.size() ? col.maxCoeff() : 0.0, load_std, m.peak_mw[s],
                     m.max_ramp_mw_per_s[s], m.max_ramp_mw_per_min[s], m.std_mw[s],
                     m.throughput_mwh[s], m.equivalent_full_cycles[s], m.time_at_soc_limits_s[s],
                     m.losses_mwh[s], r.objective[s], static_cast<long>(r.relaxed_steps[s]));
        for (Index k = 0; k < m.band_energy.rows(); ++k)
            std::fprintf(f, ",%.9g", m.band_energy(k, s));
        if (sizing) std::fprintf(f, ",%ld", static_cast<long>(needed[s]));
        std::fprintf(f, "\n");
    }
    if (std::fclose(f) != 0) throw Error(ErrorKind::io, "error writing " + path);
    std::cout << "dispatched " << counted(load.cols(), "scenario") << " x "
              << counted(load.rows(), "step") << " (" << to_string(r.backend) << "), "
              << n_infeasible << " infeasible";
    if (n_unsolved) std::cout << ", " << n_unsolved << " not solved (status in metrics.csv)";
    std::cout << "; wrote " << dir << "/{battery_mw,soc_mwh,grid_mw,metrics}.csv\n";
    return n_infeasible || n_unsolved ? 3 : 0;
}

}  // namespace

int cmd_smooth(const Args& args) {
    try {
        return smooth(args);
    } catch (const Error& e) {
        rethrow_naming_option(e, kParameterOptions);
    }
}

}  // namespace gridbatch::cli
