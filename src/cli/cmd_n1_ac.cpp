// `gridbatch n1 CASE --ac [--load-scale FILE] [--outages FILE] [--threshold 100] [--enforce-q-lims]
// [--backend cpu|cuda|auto] [--threads N] --out DIR`, reached through cmd_n1(): AC contingency
// analysis, a full Newton power flow of every scenario with each in-service branch (or each one
// listed in --outages) out in turn (AcBatch::outage), beside the scenario's base case (outage -1).
// Each outage starts from its scenario's base-case solution, as a contingency analysis does
// (case2383wp: 2.9 instead of 6.0 Newton iterations per outage, 2.5x less time); the base case
// itself from the case. The work is ac_contingencies() (gridbatch/ac_contingencies.hpp), its
// chunks handed out over MPI ranks under mpirun; this writes its tables.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "cli/options.hpp"
#include "gridbatch/ac_contingencies.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::cli {

int run_ac_n1(const Options& opt, const Network& net, const Vector& factors) {
    const std::string dir = opt.require("out");
    AcOptions options;
    options.backend = parse_backend(opt.get("backend", "auto"));
    options.threads = static_cast<int>(opt.integer("threads", 0));
    options.enforce_q_limits = opt.flag("enforce-q-lims");
    AcContingencyOptions analysis;
    analysis.threshold_percent = opt.number("threshold", 100);
    if (analysis.threshold_percent < 0)
        throw Error(ErrorKind::invalid_input, "option --threshold must be >= 0 (% of rateA)");
    if (opt.has("min-increase")) throw UsageError("option --min-increase is for the DC screening");
    if (opt.has("outages")) {  // the files list them in branch order, as the DC screening does
        analysis.outages = read_outage_list(opt.get("outages", ""), net);
        std::sort(analysis.outages.begin(), analysis.outages.end());
    }
    const std::unique_ptr<Communicator> comm = progress_communicator("AC contingencies");
    options.device = device_for(*comm);
    const AcPowerFlow pf(net, options);
    const auto& bus = net.buses();
    const Matrix pd = bus.pd * factors.transpose(), qd = bus.qd * factors.transpose();
    const AcContingencyResult res = ac_contingencies(pf, AcBatch(pd, qd), analysis, *comm);
    if (comm->rank() != 0) return 0;

    make_output_dir(dir);
    CsvWriter summary(dir + "/contingencies.csv");
    summary.row({"scenario", "outage", "outage_from", "outage_to", "status", "iterations",
                 "max_loading_pct", "branch", "branch_from", "branch_to", "min_vm", "min_vm_bus",
                 "max_vm", "max_vm_bus", "buses_outside_vmin_vmax", "de_energized_buses",
                 "lost_load_mw", "lost_generation_mw"});
    for (const AcContingency& c : res.cases) {
        summary.cell(c.scenario);
        branch_cells(summary, net, c.outage);
        summary.cell(to_string(c.status)).cell(Index(c.iterations));
        if (c.max_loading_branch >= 0)
            summary.cell(c.max_loading_percent);
        else
            summary.cell("");
        branch_cells(summary, net, c.max_loading_branch);
        if (c.status == Status::converged) {
            summary.cell(c.min_vm).cell(bus.id[c.min_vm_bus]);
            summary.cell(c.max_vm).cell(bus.id[c.max_vm_bus]);
            summary.cell(c.buses_outside_limits);
        } else {
            summary.cell("").cell("").cell("").cell("").cell("");
        }
        summary.cell(c.de_energized_buses).cell(c.lost_load_mw).cell(c.lost_generation_mw);
        summary.end_row();
    }
    summary.close();

    CsvWriter worst(dir + "/worst.csv");
    worst.row({"scenario", "worst_loading_pct", "outage", "outage_from", "outage_to", "branch",
               "branch_from", "branch_to", "min_vm", "min_vm_bus", "min_vm_outage",
               "min_vm_outage_from", "min_vm_outage_to"});
    for (Index s = 0; s < factors.size(); ++s) {
        worst.cell(s);
        if (res.worst_outage[s] >= 0)
            worst.cell(res.worst_loading_percent[s]);
        else
            worst.cell("");
        branch_cells(worst, net, res.worst_outage[s]);
        branch_cells(worst, net, res.worst_branch[s]);
        if (res.lowest_vm_bus[s] >= 0)
            worst.cell(res.lowest_vm[s]).cell(bus.id[res.lowest_vm_bus[s]]);
        else
            worst.cell("").cell("");
        branch_cells(worst, net, res.lowest_vm_outage[s]);
        worst.end_row();
    }
    worst.close();

    CsvWriter islanding(dir + "/islanding.csv");
    islanding.row({"outage", "outage_from", "outage_to", "de_energized_buses", "lost_load_mw",
                   "lost_generation_mw"});
    for (std::size_t k = 0; k < res.outages.size(); ++k) {
        const AcContingency& c = res.at(0, static_cast<Index>(k));  // scenario 0's part
        if (!c.cuts_off()) continue;
        branch_cells(islanding, net, c.outage);
        islanding.cell(c.de_energized_buses).cell(c.lost_load_mw).cell(c.lost_generation_mw);
        islanding.end_row();
    }
    islanding.close();

    write_violations_csv(dir + "/violations.csv", net, res.violations);

    std::cout << "ac n1 of " << net.source() << ": " << counted(factors.size(), "scenario") << " x "
              << counted(res.outages.size(), "outage") << " (Newton) on " << to_string(pf.backend())
              << ", " << res.islanding.size() << " cutting buses off, " << res.not_converged
              << " not converged, " << counted(res.violations.size(), "loading") << " above "
              << analysis.threshold_percent
              << "% of rateA (MVA); wrote contingencies.csv, violations.csv, worst.csv, "
                 "islanding.csv to "
              << dir << "\n";
    return 0;
}

}  // namespace gridbatch::cli
