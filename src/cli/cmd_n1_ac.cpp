// `gridbatch n1 CASE --ac [--load-scale FILE] [--outages FILE] [--threshold 100] [--enforce-q-lims]
// [--backend cpu|cuda|auto] [--threads N] --out DIR`, reached through cmd_n1(): AC contingency
// analysis, a full Newton power flow of every scenario with each in-service branch (or each one
// listed in --outages) out in turn (AcBatch::outage), beside the scenario's base case (outage -1).
// Each outage starts from its scenario's base-case solution, as a contingency analysis does
// (case2383wp: 2.9 instead of 6.0 Newton iterations per outage, 2.5x less time); the base case
// itself from the case. Cases go in chunks of a few hundred power flows (handed out over MPI ranks
// under mpirun) and each chunk leaves only its summary rows, so memory does not grow with the
// number of outages.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/csv.hpp"
#include "cli/options.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch::cli {
namespace {

// One (scenario, outage) case's summary, as gathered from the ranks: scenario, outage (-1: the
// base case), status, iterations, worst loading (% of rateA, MVA at the worse end) and its branch
// (-1: none rated), lowest and highest Vm with their buses, buses outside [Vmin, Vmax].
constexpr int kCaseFields = 11;
// One branch loading above the threshold: scenario, outage, branch, loading %.
constexpr int kViolationFields = 4;

}  // namespace

int run_ac_n1(const Options& opt, const Network& net, const Vector& factors) {
    const std::string dir = opt.require("out");
    AcOptions options;
    options.backend = parse_backend(opt.get("backend", "auto"));
    options.threads = static_cast<int>(opt.integer("threads", 0));
    options.enforce_q_limits = opt.flag("enforce-q-lims");
    const Real threshold = opt.number("threshold", 100);
    if (threshold < 0)
        throw Error(ErrorKind::invalid_input, "option --threshold must be >= 0 (% of rateA)");
    if (opt.has("min-increase"))
        throw Error(ErrorKind::invalid_input, "option --min-increase is for the DC screening");
    const std::unique_ptr<Communicator> comm = progress_communicator("AC contingencies");
    options.device = device_for(*comm);
    const AcPowerFlow from_case(net, options);
    options.start = StartMode::warm;
    const AcPowerFlow pf(net, options);
    const auto& bus = net.buses();
    // Every rank solves the base cases: the outages' start.
    Matrix pd_base = bus.pd * factors.transpose(), qd_base = bus.qd * factors.transpose();
    const AcPowerFlowResult base = from_case.solve(pd_base, qd_base);

    std::vector<Index> outages{-1};  // the base case first
    if (opt.has("outages")) {
        const std::vector<Index> listed = read_outage_list(opt.get("outages", ""), net);
        outages.insert(outages.end(), listed.begin(), listed.end());
    } else {
        for (Index k = 0; k < net.n_branch(); ++k)
            if (net.branch_active(k)) outages.push_back(k);
    }
    const auto per_scenario = static_cast<Index>(outages.size());
    const Index total = factors.size() * per_scenario;
    constexpr Index kChunk = 256;
    const Index n_chunks = (total + kChunk - 1) / kChunk;
    const auto& rate = net.branches().rate_a;

    std::vector<Real> cases, violations;
    std::string failure;
    comm->begin_chunks(n_chunks);
    for (Index c = comm->next_chunk(); c >= 0; c = comm->next_chunk()) {
        if (!failure.empty()) continue;  // hand the chunks out, then say why on every rank
        const Index first = c * kChunk, count = std::min(kChunk, total - first);
        Matrix pd(net.n_bus(), count), qd(net.n_bus(), count), vm0(net.n_bus(), count),
            va0(net.n_bus(), count);
        IndexVector outage(count);
        for (Index j = 0; j < count; ++j) {
            const Index q = first + j, s = q / per_scenario;
            pd.col(j) = pd_base.col(s);
            qd.col(j) = qd_base.col(s);
            outage[j] = outages[static_cast<std::size_t>(q % per_scenario)];
            const bool warm = outage[j] >= 0 && base.report.at(s) == Status::converged;
            vm0.col(j) = warm ? Vector(base.vm.col(s)) : bus.vm;
            va0.col(j) = warm ? Vector(base.va.col(s)) : bus.va;
        }
        AcBatch batch(pd, qd);
        batch.vm0.emplace(vm0);
        batch.va0_deg.emplace(va0);
        batch.outage.emplace(outage);
        AcPowerFlowResult r;
        try {
            r = pf.solve(batch);
        } catch (const Error& e) {
            failure = e.what();
            continue;
        }
        for (Index j = 0; j < count; ++j) {
            const Index q = first + j, s = q / per_scenario;
            Real worst = -1;
            Index worst_branch = -1, low = 0, high = 0, outside = 0;
            const bool converged = r.report.at(j) == Status::converged;
            if (converged) {
                for (Index k = 0; k < net.n_branch(); ++k) {
                    if (!(rate[k] > 0)) continue;
                    const Real loading = loading_percent(r, k, j, rate[k]);
                    if (loading > worst) {
                        worst = loading;
                        worst_branch = k;
                    }
                    if (loading > threshold)
                        violations.insert(violations.end(),
                                          {Real(s), Real(outage[j]), Real(k), loading});
                }
                for (Index i = 0; i < net.n_bus(); ++i) {
                    if (bus.type[i] == static_cast<std::int8_t>(BusType::isolated)) continue;
                    if (r.vm(i, j) < r.vm(low, j)) low = i;
                    if (r.vm(i, j) > r.vm(high, j)) high = i;
                    if (r.vm(i, j) < bus.vmin[i] || r.vm(i, j) > bus.vmax[i]) ++outside;
                }
            }
            cases.insert(
                cases.end(),
                {Real(s), Real(outage[j]), Real(r.report.status[j]), Real(r.report.iterations[j]),
                 converged ? worst : NAN, Real(worst_branch), converged ? r.vm(low, j) : NAN,
                 Real(low), converged ? r.vm(high, j) : NAN, Real(high), Real(outside)});
        }
    }
    comm->check(failure);
    cases = comm->gather_concat(cases);
    violations = comm->gather_concat(violations);
    if (comm->rank() != 0) return 0;

    // Rows in scenario and outage order, whichever rank solved them.
    const auto rows = [](const std::vector<Real>& flat, int fields) {
        std::vector<const Real*> out;
        for (std::size_t i = 0; i < flat.size(); i += static_cast<std::size_t>(fields))
            out.push_back(flat.data() + i);
        std::sort(out.begin(), out.end(), [fields](const Real* a, const Real* b) {
            return std::lexicographical_compare(a, a + std::min(fields, 3), b,
                                                b + std::min(fields, 3));
        });
        return out;
    };
    make_output_dir(dir);
    CsvWriter summary(dir + "/contingencies.csv");
    summary.row({"scenario", "outage", "outage_from", "outage_to", "status", "iterations",
                 "max_loading_pct", "branch", "branch_from", "branch_to", "min_vm", "min_vm_bus",
                 "max_vm", "max_vm_bus", "buses_outside_vmin_vmax"});
    CsvWriter worst(dir + "/worst.csv");
    worst.row({"scenario", "worst_loading_pct", "outage", "outage_from", "outage_to", "branch",
               "branch_from", "branch_to", "min_vm", "min_vm_bus", "min_vm_outage",
               "min_vm_outage_from", "min_vm_outage_to"});
    CsvWriter islanding(dir + "/islanding.csv");
    islanding.row({"outage", "outage_from", "outage_to"});
    Index not_converged = 0, n_islanding = 0;
    const auto case_rows = rows(cases, kCaseFields);
    for (std::size_t at = 0; at < case_rows.size();) {
        // One scenario's rows: its base case, then its outages.
        const Real scenario = case_rows[at][0];
        Real worst_loading = -1, lowest = NAN;
        Index worst_outage = -1, worst_branch = -1, lowest_bus = -1, lowest_outage = -1;
        for (; at < case_rows.size() && case_rows[at][0] == scenario; ++at) {
            const Real* c = case_rows[at];
            const auto outage = static_cast<Index>(c[1]);
            const auto status = static_cast<Status>(static_cast<int>(c[2]));
            if (status == Status::islanded && scenario == 0) {
                branch_cells(islanding, net, outage);
                islanding.end_row();
                ++n_islanding;
            }
            if (status != Status::converged && status != Status::islanded) ++not_converged;
            summary.cell(static_cast<Index>(c[0]));
            branch_cells(summary, net, outage);
            summary.cell(to_string(status)).cell(static_cast<Index>(c[3]));
            const bool solved = status == Status::converged;
            if (solved && c[5] >= 0)
                summary.cell(c[4]);
            else
                summary.cell("");
            branch_cells(summary, net, solved ? static_cast<Index>(c[5]) : -1);
            if (solved) {
                summary.cell(c[6]).cell(bus.id[static_cast<Index>(c[7])]);
                summary.cell(c[8]).cell(bus.id[static_cast<Index>(c[9])]);
                summary.cell(static_cast<Index>(c[10]));
            } else {
                summary.cell("").cell("").cell("").cell("").cell("");
            }
            summary.end_row();
            if (!solved || outage < 0) continue;
            if (c[5] >= 0 && c[4] > worst_loading) {
                worst_loading = c[4];
                worst_outage = outage;
                worst_branch = static_cast<Index>(c[5]);
            }
            if (std::isnan(lowest) || c[6] < lowest) {
                lowest = c[6];
                lowest_bus = static_cast<Index>(c[7]);
                lowest_outage = outage;
            }
        }
        worst.cell(static_cast<Index>(scenario));
        if (worst_outage >= 0)
            worst.cell(worst_loading);
        else
            worst.cell("");
        branch_cells(worst, net, worst_outage);
        branch_cells(worst, net, worst_branch);
        if (lowest_bus >= 0)
            worst.cell(lowest).cell(bus.id[lowest_bus]);
        else
            worst.cell("").cell("");
        branch_cells(worst, net, lowest_outage);
        worst.end_row();
    }
    summary.close();
    worst.close();
    islanding.close();

    CsvWriter over(dir + "/violations.csv");
    over.row({"scenario", "outage", "outage_from", "outage_to", "branch", "branch_from",
              "branch_to", "loading_pct"});
    const auto violation_rows = rows(violations, kViolationFields);
    for (const Real* v : violation_rows) {
        over.cell(static_cast<Index>(v[0]));
        branch_cells(over, net, static_cast<Index>(v[1]));
        branch_cells(over, net, static_cast<Index>(v[2]));
        over.cell(v[3]);
        over.end_row();
    }
    over.close();

    std::cout << "ac n1 of " << net.source() << ": " << factors.size() << " scenarios x "
              << per_scenario - 1 << " outages (Newton) on " << to_string(pf.backend()) << ", "
              << n_islanding << " islanding, " << not_converged << " not converged, "
              << violation_rows.size() << " loadings above " << threshold
              << "% of rateA (MVA); wrote contingencies.csv, violations.csv, worst.csv, "
                 "islanding.csv to "
              << dir << "\n";
    return 0;
}

}  // namespace gridbatch::cli
