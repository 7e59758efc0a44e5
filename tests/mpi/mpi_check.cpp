// Run under `mpirun -np N`: sharded DC and AC power flows, N-1 screening, dispatch and the study
// must equal the one-process results bitwise, and bad input in one rank's shard must end every
// rank with a clear message.
// Prints "N passed, M failed" on rank 0 and exits non-zero on any failure.
#include <cmath>
#include <iostream>
#include <limits>
#include <string>

#include "gridbatch/builtin_network.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/load_profiles.hpp"

using namespace gridbatch;

int main() {
    auto comm = mpi_communicator();
    int passed = 0, failed = 0;
    auto expect = [&](bool ok, const std::string& what) {
        if (comm->rank() != 0) return;
        (ok ? passed : failed)++;
        std::cout << (ok ? "[  PASSED  ] " : "[  FAILED  ] ") << what << std::endl;
    };

    const Network net = builtin_network();
    const Index S = 37;  // not a multiple of the chunk: the last chunk is partial
    Matrix pd(net.n_bus(), S), qd(net.n_bus(), S);
    for (Index s = 0; s < S; ++s) {
        const Real f = 0.7 + 0.6 * static_cast<Real>(s) / static_cast<Real>(S - 1);
        pd.col(s) = net.buses().pd * f;
        qd.col(s) = net.buses().qd * f;
    }

    DcOptions dco;
    dco.backend = Backend::cpu;
    dco.threads = 1;
    DcPowerFlow dc(net, dco);
    const DcPowerFlowResult dc_sharded = solve_sharded(dc, pd, *comm, 4);
    if (comm->rank() == 0) {
        const DcPowerFlowResult ref = dc.solve(pd);
        expect(dc_sharded.va == ref.va && dc_sharded.pf == ref.pf && dc_sharded.pg == ref.pg &&
                   dc_sharded.report.status == ref.report.status,
               "DC sharded over " + std::to_string(comm->size()) + " ranks == one process");
    }

    AcOptions aco;
    aco.backend = Backend::cpu;
    aco.threads = 1;
    aco.enforce_q_limits = true;
    const AcPowerFlow ac(net, aco);
    const AcPowerFlowResult ac_sharded = solve_sharded(ac, AcBatch(pd, qd), *comm, 5);
    if (comm->rank() == 0) {
        const AcPowerFlowResult ref = ac.solve(AcBatch(pd, qd));
        expect(
            ac_sharded.vm == ref.vm && ac_sharded.va == ref.va && ac_sharded.qf == ref.qf &&
                ac_sharded.qg == ref.qg && ac_sharded.loss_mw == ref.loss_mw &&
                ac_sharded.report.iterations == ref.report.iterations &&
                ac_sharded.q_limited_buses == ref.q_limited_buses,
            "AC (Q limits) sharded over " + std::to_string(comm->size()) + " ranks == one process");
    }

    // N-1: blocks of 7 outages over the ranks; the threshold is low enough that every scenario
    // has violations, so the merge of violation lists and worst loadings is exercised.
    N1Options n1o;
    n1o.threshold_percent = 60;
    n1o.outages_per_block = 7;
    const N1Result n1_sharded = n1_screen(dc, pd, n1o, *comm);
    if (comm->rank() == 0) {
        const N1Result ref = n1_screen(dc, pd, n1o);
        bool same = n1_sharded.violations.size() == ref.violations.size() &&
                    !ref.violations.empty() &&
                    n1_sharded.worst_loading_percent == ref.worst_loading_percent &&
                    n1_sharded.worst_outage == ref.worst_outage &&
                    n1_sharded.worst_branch == ref.worst_branch &&
                    n1_sharded.screened == ref.screened && n1_sharded.islanding == ref.islanding;
        for (std::size_t i = 0; same && i < ref.violations.size(); ++i) {
            const N1Violation &a = n1_sharded.violations[i], &b = ref.violations[i];
            same = a.scenario == b.scenario && a.outage == b.outage && a.branch == b.branch &&
                   a.loading_percent == b.loading_percent;
        }
        expect(same, "N-1 (" + std::to_string(ref.violations.size()) +
                         " violations) sharded over " + std::to_string(comm->size()) +
                         " ranks == one process");
    }

    // Dispatch: lossy fleet (dynamic program), per-scenario fleets, one infeasible scenario.
    LoadProfileOptions lpo;
    lpo.steps = 600;
    lpo.seed = 7;
    const Matrix load = training_load({TrainingLoadParameters{}}, 11, lpo);
    std::vector<BatteryFleet> fleets;
    for (Index s = 0; s < load.cols(); ++s)
        fleets.push_back(BatteryFleet::from_units(battery_unit("megapack-2h"), 20.0 + 5.0 * s));
    GridConnection grid;
    grid.import_limit_mw = load.maxCoeff() - 30;  // small fleets cannot shave the peak
    DispatchOptions dpo;
    dpo.backend = Backend::cpu;
    dpo.threads = 1;
    const DispatchResult d_sharded = dispatch(load, fleets, {grid}, dpo, *comm, 3);
    if (comm->rank() == 0) {
        const DispatchResult ref = dispatch(load, fleets, {grid}, dpo);
        expect(d_sharded.battery_mw == ref.battery_mw && d_sharded.soc_mwh == ref.soc_mwh &&
                   d_sharded.grid_mw == ref.grid_mw && d_sharded.objective == ref.objective &&
                   d_sharded.report.status == ref.report.status &&
                   d_sharded.infeasible_step == ref.infeasible_step &&
                   d_sharded.violation == ref.violation && d_sharded.method == ref.method,
               "dispatch (" + std::to_string((ref.report.status.array() != 0).count()) +
                   " infeasible) sharded over " + std::to_string(comm->size()) +
                   " ranks == one process");
    }

    // Ramp-aware (QP) dispatch: scenarios sharded, the QP-specific fields gathered too.
    SmoothDispatchOptions sdo;
    sdo.threads = 1;
    sdo.ramp_limit_mw_per_s = 0.5;
    const Matrix short_load = load.topRows(240).leftCols(5);
    const SmoothDispatchResult sd_sharded =
        smooth_dispatch(short_load, {fleets[0]}, {GridConnection{}}, sdo, *comm, 2);
    if (comm->rank() == 0) {
        const SmoothDispatchResult ref =
            smooth_dispatch(short_load, {fleets[0]}, {GridConnection{}}, sdo);
        expect(sd_sharded.grid_mw == ref.grid_mw && sd_sharded.soc_mwh == ref.soc_mwh &&
                   sd_sharded.report.iterations == ref.report.iterations &&
                   sd_sharded.dual_residual == ref.dual_residual &&
                   sd_sharded.max_ramp_mw_per_s == ref.max_ramp_mw_per_s &&
                   sd_sharded.relaxed_steps.size() == ref.relaxed_steps.size(),
               "smooth dispatch sharded over " + std::to_string(comm->size()) +
                   " ranks == one process");
    }

    // The study: AC power flows sharded, the rest on rank 0.
    StudyOptions so;
    so.steps = 120;
    so.scenarios = 2;
    so.backend = Backend::cpu;
    so.threads = 1;
    so.ac_chunk = 100;  // several collective rounds
    so.sizing_points = 3;
    const StudyResult st_sharded = run_study(net, so, *comm);
    if (comm->rank() == 0) {
        const StudyResult ref = run_study(net, so);
        bool same = st_sharded.n1.size() == ref.n1.size() &&
                    st_sharded.smallest_fleet == ref.smallest_fleet &&
                    st_sharded.ramp_aware_smallest_fleet == ref.ramp_aware_smallest_fleet;
        for (std::size_t k = 0; same && k < ref.outcomes.size(); ++k) {
            const StrategyOutcome &a = st_sharded.outcomes[k], &b = ref.outcomes[k];
            same = a.poi_vm == b.poi_vm && a.max_loading == b.max_loading &&
                   a.ac_not_converged == b.ac_not_converged &&
                   a.voltage_violations == b.voltage_violations;
        }
        for (std::size_t i = 0; same && i < ref.n1.size(); ++i)
            same = st_sharded.n1[i].worst_loading_percent == ref.n1[i].worst_loading_percent &&
                   st_sharded.n1[i].step == ref.n1[i].step;
        expect(same,
               "study sharded over " + std::to_string(comm->size()) + " ranks == one process");
    }

    // Bad input in one shard: every rank must throw, naming the failing rank and scenario.
    Matrix bad = pd;
    bad(3, 29) = std::numeric_limits<Real>::quiet_NaN();
    std::string message;
    try {
        solve_sharded(dc, bad, *comm, 4);
    } catch (const Error& e) {
        message = e.what();
    }
    int all_threw = !message.empty(), everyone = 0;
    everyone = static_cast<int>(comm->max_over_ranks(all_threw ? 0 : 1)) == 0;
    expect(everyone && message.find("rank ") != std::string::npos &&
               message.find("scenario") != std::string::npos,
           "a NaN in one shard ends every rank with: " + message);

    if (comm->rank() == 0) std::cout << passed << " passed, " << failed << " failed" << std::endl;
    return comm->max_over_ranks(failed) > 0 ? 1 : 0;
}
