// `gridbatch n1 CASE [--load-scale FILE] [--threshold 100] [--min-increase POINTS]
// [--backend cpu|cuda|auto] [--threads N] --out DIR`: DC N-1 screening of every in-service branch
// outage (--min-increase: report only loadings the outage raises by more than POINTS); with --ac,
// AC contingency analysis (cmd_n1_ac.cpp). Branches are named by their 0-based row in mpc.branch
// (parallel branches share from/to) and their ends.
#include <cmath>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "cli/options.hpp"
#include "gridbatch/sensitivities.hpp"

namespace gridbatch::cli {
int cmd_n1(const Args& args) {
    const Options opt(
        args, {"ac", "enforce-q-lims"},
        {"load-scale", "outages", "threshold", "min-increase", "backend", "threads", "out"});
    const char* usage =
        "usage: gridbatch n1 CASE [--ac [--enforce-q-lims]] [--load-scale FILE] [--outages FILE] "
        "[--threshold PERCENT] [--min-increase PERCENT_POINTS] [--backend cpu|cuda|auto] "
        "[--threads N] --out DIR";
    if (opt.flag("help")) {
        std::cout << usage << "\n";
        return 0;
    }
    if (opt.positional().size() != 1) throw UsageError(usage);
    const Network net = load_case(opt.positional()[0]);
    if (opt.flag("ac"))
        return run_ac_n1(opt, net,
                         opt.has("load-scale") ? read_csv_column(opt.get("load-scale", ""), "scale")
                                               : Vector::Ones(1));
    if (opt.flag("enforce-q-lims")) throw UsageError("option --enforce-q-lims needs --ac");
    const std::string dir = opt.require("out");
    DcOptions options;
    options.backend = parse_backend(opt.get("backend", "auto"));
    options.threads = static_cast<int>(opt.integer("threads", 0));
    N1Options n1;
    n1.threshold_percent = opt.number("threshold", 100);
    if (n1.threshold_percent < 0)
        throw Error(ErrorKind::invalid_input, "option --threshold must be >= 0 (% of rateA)");
    n1.min_increase_percent = opt.number("min-increase", -HUGE_VAL);
    if (opt.has("outages")) n1.outages = read_outage_list(opt.get("outages", ""), net);
    const Vector factors = opt.has("load-scale")
                               ? read_csv_column(opt.get("load-scale", ""), "scale")
                               : Vector::Ones(1);
    const std::unique_ptr<Communicator> comm = progress_communicator("N-1 screening");
    options.device = device_for(*comm);
    DcPowerFlow pf(net, options);
    const N1Result res = n1_screen(pf, scale_columns(net.buses().pd, factors), n1, *comm);
    if (comm->rank() != 0) return 0;  // rank 0 has the whole result and writes it
    make_output_dir(dir);

    write_violations_csv(dir + "/violations.csv", net, res.violations);

    CsvWriter worst(dir + "/worst.csv");
    worst.row({"scenario", "worst_loading_pct", "outage", "outage_from", "outage_to", "branch",
               "branch_from", "branch_to"});
    for (Index s = 0; s < res.worst_loading_percent.size(); ++s) {
        worst.cell(s).cell(res.worst_loading_percent[s]);
        branch_cells(worst, net, res.worst_outage[s]);
        branch_cells(worst, net, res.worst_branch[s]);
        worst.end_row();
    }
    worst.close();

    CsvWriter islanding(dir + "/islanding.csv");
    islanding.row({"outage", "outage_from", "outage_to"});
    for (Index k : res.islanding) {
        branch_cells(islanding, net, k);
        islanding.end_row();
    }
    islanding.close();

    std::cout << "n1 screening of " << net.source() << ": " << counted(factors.size(), "scenario")
              << " x " << counted(res.screened.size(), "outage") << " on "
              << to_string(res.base.backend) << ", " << counted(res.violations.size(), "loading")
              << " above " << n1.threshold_percent << "% of rateA, "
              << counted(res.islanding.size(), "islanding outage")
              << "; wrote violations.csv, worst.csv, "
                 "islanding.csv to "
              << dir << "\n";
    return 0;
}

}  // namespace gridbatch::cli
