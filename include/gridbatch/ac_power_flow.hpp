// Batched AC power flow: Newton-Raphson (polar, power mismatch; MATPOWER's runpf default) and
// fast-decoupled XB / BX, with MATPOWER's generator reactive-limit enforcement and an optional
// distributed slack. Prepare once per network (AcPowerFlow's constructor), then solve any number
// of batches; each scenario (column) converges, or fails, on its own.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "gridbatch/backend.hpp"
#include "gridbatch/network.hpp"
#include "gridbatch/result.hpp"
#include "gridbatch/slack.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch {

namespace detail {
struct PreparedAcNetwork;
class AcEngine;
}  // namespace detail

enum class AcAlgorithm : std::uint8_t { newton, fast_decoupled_xb, fast_decoupled_bx };
const char* to_string(AcAlgorithm algorithm) noexcept;

// Where the iteration starts. MATPOWER's runpf starts from the case (from_case); every start then
// puts the generator voltage setpoints at PV and reference buses, as runpf does.
enum class StartMode : std::uint8_t {
    flat,       // Vm = 1, Va = 0
    from_case,  // the bus table's Vm, Va
    from_dc,    // Vm = 1, Va from a DC power flow of each scenario
    warm,       // AcBatch::vm0 / va0_deg, e.g. the previous step of a time series
    // Columns are the steps of a time series: each starts from the solution of the step before
    // (from the case where that one did not converge). Steps go in blocks of kTimeSeriesBlock
    // consecutive columns, each block's first step from the case, so blocks run in parallel and
    // results do not depend on the thread count.
    previous_step,
};

// StartMode::previous_step's block of steps. A batch solved in parts that start at multiples of
// it gives the results of the whole batch solved at once.
inline constexpr Index kTimeSeriesBlock = 16;
// n rounded up to whole blocks: a chunk size that keeps a time series' results those of one call.
inline constexpr Index whole_time_series_blocks(Index n) {
    return (n + kTimeSeriesBlock - 1) / kTimeSeriesBlock * kTimeSeriesBlock;
}

struct AcOptions {
    Backend backend = Backend::automatic;
    int threads = 0;  // CPU: 0 = all cores
    int device = 0;   // CUDA engine
    AcAlgorithm algorithm = AcAlgorithm::newton;
    // Newton: max |mismatch| of P and Q in p.u. (MATPOWER's default). Fast-decoupled, as
    // MATPOWER's fdpf tests it: max |mismatch| / Vm, so a converged answer's mismatch itself may
    // exceed it by the factor max Vm (1.02e-8 at Vm 1.02). report.max_mismatch holds the measure
    // that was tested.
    Real tolerance = 1e-8;
    int max_iterations = 0;  // 0 = MATPOWER's default: 10 for Newton, 30 for fast-decoupled
    StartMode start = StartMode::from_case;
    // MATPOWER's pf.enforce_q_lims = 1: after a converged solve, every generator outside its
    // reactive limits is fixed at the limit and its bus becomes PQ; repeat until none is. As in
    // runpf, a reference bus switched so loses its voltage setpoint (its Vm floats), the first
    // remaining PV bus becomes the reference and takes up the imbalance (the old reference
    // generator keeps the Pg of the solve before the switch), and the angles are shifted at the
    // end so the original reference bus keeps its angle. A scenario stops as Status::infeasible
    // where every remaining generator is outside the same limit, where no bus is left to be the
    // reference, or where one of several reference buses must switch (runpf stops with an error
    // there); its voltages are those of the last solve, its generators at their limits.
    bool enforce_q_limits = false;
    // As DcOptions: `single`, the reference bus takes the whole imbalance; `distributed`, the
    // active generators share it in proportion to `participation`, one factor >= 0 per generator
    // (row of the gen table, any positive scale; empty = Pmax of each active generator, negative
    // Pmax counting as 0). Distributed: Newton only, one REF bus, not with enforce_q_limits.
    SlackMode slack = SlackMode::single;
    Vector participation;

    // Throws Error naming the option ("AcOptions.tolerance must be > 0 (got -1)").
    void validate(const Network& net) const;
};

// One batch of scenarios, one per column, borrowed from the caller (no copy for contiguous
// column-major data). Anything not given comes from the case. Optional inputs are set with
// emplace (an Eigen::Ref cannot be reassigned): `batch.pg.emplace(pg_matrix);`.
struct AcBatch {
    AcBatch(MatrixView pd_mw, MatrixView qd_mvar) : pd(pd_mw), qd(qd_mvar) {}
    MatrixView pd;                      // n_bus x S, MW
    MatrixView qd;                      // n_bus x S, MVAr
    std::optional<MatrixView> pg;       // n_gen x S, MW
    std::optional<MatrixView> vg;       // n_gen x S, voltage setpoints, p.u.
    std::optional<MatrixView> vm0;      // n_bus x S, p.u. (StartMode::warm)
    std::optional<MatrixView> va0_deg;  // n_bus x S, degrees (StartMode::warm)
    // AC contingencies: S entries, the branch (row of the branch table, from 0) out of service in
    // each scenario, or -1 for none (Newton). The outaged branch's flows are 0. An outage that
    // cuts buses off from every reference bus (a radial branch, a bridge between islands)
    // de-energises them, as contingency analysis does: their Vm and Va are NaN, their branches
    // carry 0, their generators trip (Pg = Qg = 0) and their loads are lost; the reference bus
    // takes up the difference. With a distributed slack, whose shares that would change, such a
    // scenario is not solved: Status::islanded, its results NaN.
    std::optional<Eigen::Ref<const IndexVector>> outage;
    Index size() const { return pd.cols(); }
};

struct AcPowerFlowResult {
    Matrix vm, va;              // n_bus x S: p.u., degrees
    Matrix pg, qg;              // n_gen x S: MW, MVAr (0 for inactive generators)
    Matrix pf, qf, pt, qt;      // n_branch x S: MW, MVAr (0 for inactive branches)
    Vector loss_mw, loss_mvar;  // S: sum over branches of Sf + St
    Vector slack_mw;            // S: total distributed slack (0 without one)
    ScenarioReport report;      // status, iterations (as MATPOWER counts), max mismatch p.u.
    // Per scenario, external ids of the buses switched from PV (or REF) to PQ by Q-limit
    // enforcement, in the order MATPOWER switches them.
    std::vector<std::vector<Index>> q_limited_buses;
    Backend backend = Backend::cpu;  // the one that ran
};

// Branch k's loading in scenario s of r: the larger apparent power of its two ends (MVA, MATPOWER's
// flow limit) as a percentage of rate_mva.
inline Real loading_percent(const AcPowerFlowResult& r, Index k, Index s, Real rate_mva) {
    return std::max(std::hypot(r.pf(k, s), r.qf(k, s)), std::hypot(r.pt(k, s), r.qt(k, s))) /
           rate_mva * 100;
}

class AcPowerFlow {
public:
    // Builds Ybus, the bus classes, the Jacobian pattern with its symbolic analysis (or the
    // factorised B' and B'' for fast-decoupled) and the engine. Throws Error for invalid options,
    // a network without PV/REF buses, or an unavailable backend.
    explicit AcPowerFlow(const Network& net, AcOptions options = {});
    ~AcPowerFlow();
    AcPowerFlow(AcPowerFlow&&) noexcept;
    AcPowerFlow& operator=(AcPowerFlow&&) noexcept;

    // Throws only for bad input (shapes, NaN/Inf naming scenario and bus/generator); numerical
    // trouble in a scenario is its Status.
    AcPowerFlowResult solve(const AcBatch& batch) const;
    // The batch from `start` instead of options().start (a contingency analysis starts its
    // outages warm from the base cases it solved from the case).
    AcPowerFlowResult solve(const AcBatch& batch, StartMode start) const;
    AcPowerFlowResult solve(MatrixView pd_mw, MatrixView qd_mvar) const;
    // The case's own loads and dispatch, one scenario.
    AcPowerFlowResult solve() const;

    Backend backend() const noexcept { return backend_; }
    const AcOptions& options() const noexcept { return options_; }
    const Network& network() const noexcept { return net_; }

private:
    AcPowerFlowResult solve_batch(const AcBatch& batch, StartMode start) const;
    AcPowerFlowResult solve_time_series(const AcBatch& batch) const;

    Network net_;
    AcOptions options_;
    Backend backend_ = Backend::cpu;
    std::shared_ptr<const detail::PreparedAcNetwork> prepared_;
    std::unique_ptr<detail::AcEngine> engine_;
};

// One-shot form.
AcPowerFlowResult ac_power_flow(const Network& net, const AcBatch& batch,
                                const AcOptions& options = {});

}  // namespace gridbatch
