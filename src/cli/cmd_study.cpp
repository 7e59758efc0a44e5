// `gridbatch study [options] --out DIR`: the data-centre grid study end to end (study.hpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <iterator>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/invalid_input.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/study.hpp"

namespace gridbatch::cli {
namespace {

constexpr const char* kUsage =
    "usage: gridbatch study [--case FILE --poi BUS] [--campus-mw 150] [--fleet 168]\n"
    "         [--unit megapack-2h|megapack-4h] [--hours 1 | --steps N] [--dt 1]\n"
    "         [--scenarios 4] [--seed 1] [--ramp-limit MW_PER_MIN] [--import-limit MW]\n"
    "         [--power-factor 0.98] [--sizing-max UNITS] [--sizing-points 9] [--n1-steps 3]\n"
    "         [--no-n1-ac] [--backend cpu|cuda|auto] [--threads N] [--no-plots] --out DIR\n"
    "  --n1-steps N   each strategy's N worst steps (by AC branch loading) get a DC N-1\n"
    "                 screening and AC contingencies (every branch out in turn; --no-n1-ac: DC\n"
    "                 only, for large cases where the AC power flows take long)";

std::string plot_script() {
    for (const char* p : {GRIDBATCH_PLOT_SCRIPT_INSTALLED, GRIDBATCH_PLOT_SCRIPT})
        if (std::filesystem::exists(p)) return p;
    return "";
}

std::string python() {
    if (const char* env = std::getenv("GRIDBATCH_PYTHON")) return env;
    return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

}  // namespace

int cmd_study(const Args& args) {
    const Options opt(args, {"no-plots", "no-n1-ac"},
                      {"case", "poi", "campus-mw", "fleet", "unit", "hours", "steps", "dt",
                       "scenarios", "seed", "ramp-limit", "import-limit", "power-factor",
                       "sizing-max", "sizing-points", "n1-steps", "backend", "threads", "out"});
    if (opt.flag("help")) {
        std::cout << kUsage << "\n";
        return 0;
    }
    if (!opt.positional().empty())
        throw UsageError("unexpected argument '" + opt.positional()[0] + "'");
    const std::string out_dir = opt.require("out");
    if (opt.has("case") && !opt.has("poi"))
        throw UsageError("--case needs --poi BUS (the campus's bus id)");
    const Network net = load_case(opt.get("case", "builtin"));

    StudyOptions so;
    so.poi_bus = opt.integer("poi", -1);
    so.campus_mw = opt.number("campus-mw", so.campus_mw);
    so.fleet_units = opt.number("fleet", so.fleet_units);
    so.unit = opt.get("unit", so.unit);
    so.dt_seconds = opt.number("dt", so.dt_seconds);
    if (!(so.dt_seconds > 0))  // before --hours is divided by it
        throw Error(ErrorKind::invalid_input,
                    "--dt must be a positive number (got " + detail::num(so.dt_seconds) + ")");
    if (opt.has("steps") && opt.has("hours")) throw UsageError("give --hours or --steps, not both");
    so.steps =
        opt.has("steps")
            ? opt.integer("steps", 0)
            : static_cast<Index>(std::llround(opt.number("hours", 1.0) * 3600.0 / so.dt_seconds));
    if (!opt.has("steps") && so.steps < kWelchMinSamples)  // the library names --steps
        throw Error(ErrorKind::invalid_input,
                    "--hours must give at least " + std::to_string(kWelchMinSamples) +
                        " steps of --dt (got " + std::to_string(so.steps) + ")");
    so.scenarios = opt.integer("scenarios", so.scenarios);
    const long seed = opt.integer("seed", 1);
    if (seed < 0) throw Error(ErrorKind::invalid_input, "--seed must be >= 0");
    so.seed = static_cast<std::uint64_t>(seed);
    // 0 means automatic to the library; given on the command line, 0 is a limit, and none
    // can be met: refused, where it silently meant the automatic one.
    for (const char* o : {"ramp-limit", "sizing-max"})
        if (opt.has(o) && !(opt.number(o, 0) > 0))
            throw Error(
                ErrorKind::invalid_input,
                std::string("--") + o + " must be > 0 (leave it out for the automatic one)");
    so.ramp_limit_mw_per_min = opt.number("ramp-limit", 0);
    so.import_limit_mw = opt.number("import-limit", HUGE_VAL);
    so.power_factor = opt.number("power-factor", so.power_factor);
    so.sizing_max_units = opt.number("sizing-max", 0);
    so.sizing_points = opt.integer("sizing-points", so.sizing_points);
    so.n1_steps = opt.integer("n1-steps", so.n1_steps);
    so.n1_ac = !opt.flag("no-n1-ac");
    so.backend = parse_backend(opt.get("backend", "auto"));
    so.threads = static_cast<int>(opt.integer("threads", 0));

    if (launcher_rank() == 0)
        std::cerr << "gridbatch study: " << net.source() << " (" << net.n_bus()
                  << " buses), POI bus " << (so.poi_bus >= 0 ? so.poi_bus : kBuiltinPoi161) << ", "
                  << so.campus_mw << " MW campus, " << so.fleet_units << " x " << so.unit << ", "
                  << counted(so.steps, "step") << " of " << so.dt_seconds << " s, "
                  << counted(so.scenarios, "scenario") << "\n";
    std::string last_stage;
    int last_percent = -1;
    const StudyProgress progress = [&](const std::string& stage, double f) {
        const int percent = static_cast<int>(f * 100);
        if (stage == last_stage && percent < last_percent + 10 && percent != 100) return;
        last_stage = stage;
        last_percent = percent;
        std::cerr << "  [" << std::setw(3) << percent << "%] " << stage << "\n";
    };
    // Under mpirun the AC power flows are sharded; rank 0 finishes the study and writes it.
    const std::unique_ptr<Communicator> comm = launcher_communicator();
    const StudyResult r = comm ? run_study(net, so, *comm, progress) : run_study(net, so, progress);
    if (comm && comm->rank() != 0) return 0;
    write_study(r, net, out_dir);

    std::cout << "backend: " << to_string(r.backend) << ", " << std::fixed << std::setprecision(1)
              << r.seconds << " s, "
              << static_cast<Index>(std::size(kStrategies)) * so.steps * so.scenarios
              << " AC power flows\n\n";
    // Right-aligned columns, each after a space: a value wider than its column (a 1e9 MW campus)
    // shifts the row rather than running into its neighbour.
    auto column = [](int width) { return std::setw(width - 1); };
    std::cout << std::left << std::setw(9) << "scenario" << std::setw(11) << "strategy"
              << std::right << ' ' << column(10) << "peak MW" << ' ' << column(13) << "ramp MW/min"
              << ' ' << column(10) << "std MW" << ' ' << column(12) << "POI Vmin" << ' '
              << column(12) << "POI max dV" << ' ' << column(12) << "max load %" << ' '
              << column(10) << "V viol" << ' ' << column(10) << "cycles" << ' ' << column(8)
              << "AC fail"
              << "\n";
    Index not_converged = 0;
    for (Index s = 0; s < so.scenarios; ++s)
        for (Strategy k : kStrategies) {
            const StrategyOutcome& o = r.outcomes[static_cast<std::size_t>(k)];
            std::cout << std::left << std::setw(9) << s << std::setw(11) << to_string(k)
                      << std::right << std::setprecision(1) << ' ' << column(10)
                      << o.metrics.peak_mw[s] << ' ' << column(13)
                      << o.metrics.max_ramp_mw_per_min[s] << ' ' << column(10)
                      << o.metrics.std_mw[s] << std::setprecision(4) << ' ' << column(12)
                      << o.poi_vm_min[s] << std::setprecision(5) << ' ' << column(12)
                      << o.poi_max_dv_step[s] << std::setprecision(1) << ' ' << column(12)
                      << o.peak_loading[s] << ' ' << column(10) << o.voltage_violations[s]
                      << std::setprecision(2) << ' ' << column(10)
                      << o.metrics.equivalent_full_cycles[s] << ' ' << column(8)
                      << o.ac_not_converged[s] << "\n";
            not_converged += o.ac_not_converged[s];
        }
    if (not_converged > 0)
        std::cout << "\nwarning: " << not_converged
                  << " AC power flows did not converge (AC fail: steps per row); voltages, "
                     "loadings and violations cover the converged steps only (nan: none)\n";
    if (!r.n1.empty()) {  // per strategy, the worst over its N-1 steps (every row in n1.csv)
        std::cout << "\nN-1 of each strategy's " << so.n1_steps
                  << " worst steps: worst post-outage loading (DC, AC MVA), lowest post-outage "
                     "voltage\n";
        Index poi_cut_off = 0;
        for (Strategy k : kStrategies) {
            Real dc = NAN, ac = NAN, vm = NAN;
            Index failed = 0;
            const auto worse = [](Real& acc, Real v, bool higher) {
                if (!std::isnan(v) && (std::isnan(acc) || (higher ? v > acc : v < acc))) acc = v;
            };
            for (const StudyN1Row& n : r.n1) {
                if (n.strategy != k) continue;
                worse(dc, n.worst_loading_percent, true);
                worse(ac, n.ac_worst_loading_percent, true);
                worse(vm, n.ac_min_vm, false);
                poi_cut_off = std::max(poi_cut_off, n.ac_poi_cut_off);
                failed += n.ac_not_converged;
            }
            // An outage whose power flow failed has no voltages: the lowest voltage is of the
            // others, and may hide a collapse; say so on the line.
            std::cout << "  " << std::left << std::setw(11) << to_string(k) << std::right
                      << std::setprecision(1) << std::setw(8) << dc << " %" << std::setw(8) << ac
                      << " %" << std::setprecision(4) << std::setw(10) << vm << " p.u.";
            if (failed > 0)
                std::cout << "  (" << counted(failed, "outage power flow")
                          << " did not converge: ac_not_converged in n1.csv)";
            std::cout << "\n";
        }
        if (poi_cut_off > 0)
            std::cout << "warning: " << poi_cut_off
                      << " single-branch outage(s) cut the POI off from every reference bus: the "
                         "campus's connection is not N-1 secure (n1.csv, ac_poi_cut_off)\n";
    }
    std::cout << "\nsizing: smallest fleet keeping ramps within " << std::setprecision(1)
              << r.ramp_limit_mw_per_min << " MW/min, by scenario:\n";
    for (const auto& [name, units] : {std::pair{"optimal", &r.smallest_fleet},
                                      std::pair{"ramp_aware", &r.ramp_aware_smallest_fleet}}) {
        std::cout << "  " << std::left << std::setw(11) << name << std::right;
        for (Index s = 0; s < so.scenarios; ++s)
            std::cout << " "
                      << ((*units)[s] >= 0 ? std::to_string((*units)[s]) : std::string("> max"));
        std::cout << " units\n";
    }
    std::cout << "outputs: " << out_dir << "/{summary,timeseries,spectrum,sizing,"
              << "voltage_violations,n1}.csv\n";

    if (!opt.flag("no-plots")) {
        const std::string script = plot_script();
        const std::string cmd = python() + " \"" + script + "\" \"" + out_dir + "\"";
        if (script.empty() || std::system(cmd.c_str()) != 0)
            std::cerr << "gridbatch study: plots not drawn (needs python3 with numpy and "
                         "matplotlib; the CSV files are complete)\n";
    }
    return 0;
}

}  // namespace gridbatch::cli
