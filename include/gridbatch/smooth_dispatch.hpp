// Ramp-aware battery dispatch: the grid draw as smooth as the fleet allows, with optional hard
// ramp limit, batched over scenarios. Complements dispatch() (battery_dispatch.hpp), whose
// sum-g^2 optimum with losses is a two-level dead band: the grid draw jumps between ~g and
// ~eta g whenever the load swings, so its ramps stay large whatever the fleet size.
//
// Model per scenario (same layout and sign conventions as dispatch(): loads T x S, one scenario
// per column, b = d - c > 0 discharging): charge c_t in [0, charge_mw], discharge d_t in
// [0, discharge_mw] at the terminals, E_{t+1} = a E_t + h (eta_c c_t - d_t / eta_d),
// h = dt / 3600, a = 1 - self_discharge_per_hour h, soc_min <= E_t / energy_mwh <= soc_max, the
// fleet's terminal condition; backup generation u_t in [0, backup_mw] with
// |u_t - u_{t-1}| <= backup_ramp_mw_per_s dt (GridConnection; none by default);
// |b_t - b_{t-1}| <= the fleet's ramp_limit_mw_per_s dt (b = d - c; none by default); grid draw
// g_t = load_t - b_t - u_t with 0 <= g_t <= import_limit_mw (no lower limit if export_allowed)
// and, if ramp_limit_mw_per_s is finite, |g_t - g_{t-1}| <= ramp_limit_mw_per_s dt.
// Objective (MW^2 h, like dispatch()'s; weights combine):
//   h [ w_ramp sum_{t>=1} (g_t - g_{t-1})^2 + w_level sum_t (g_t - target_t)^2
//       + sum_t price_t g_t + throughput_cost sum_t (c_t + d_t) + backup_cost sum_t u_t ]
//   + peak_weight max_t g_t
// with target_t = options.target_mw[t] (default: the scenario's mean load) and price_t =
// options.energy_price[t] (default 0). The peak is an epigraph variable p >= g_t (one dense
// column; the KKT ordering puts it last, so the factor keeps its band plus one row).
// The level term keeps the problem well posed (without it a constant shift of g is free when the
// terminal condition is not binding) and pulls the grid towards the mean load: a deviation that
// lasts longer than level_time_constant_s costs more than the ramps that make it, so the default
// w_level = w_ramp (dt / level_time_constant_s)^2 only acts on time scales beyond an hour.
// With w_ramp = 0, a lossless fleet and terminal equal, this is dispatch()'s problem (sum g is
// then fixed, so sum (g - mean)^2 and sum g^2 differ by a constant).
//
// Solver: a convex QP in x = (c_t, d_t, E_{t+1}, g_t, r_t[, u_t, v_t, w_t, sigma_t]) interleaved
// by step (banded) [and p]. Two methods (SmoothDispatchSolver):
// - interior_point (default): Mehrotra's primal-dual predictor-corrector (src/core/ipm_qp.hpp),
//   ~20-40 Newton steps per scenario, each a sparse LDL' of the banded KKT matrix in step order
//   (no fill outside the band); stops at relative residuals and duality gap of ipm_tolerance
//   (1e-9), or early where the infeasibility stops falling (an infeasible scenario). A scenario
//   it does not solve goes to the elastic LP (below); if that finds it feasible after all (a
//   degenerate problem whose end game lost pivots: about 1 in 200 random feasible problems),
//   the interior point tries once more with more regularisation, and then the ADMM.
// - admm: OSQP's ADMM (src/core/admm_qp.hpp). Its KKT matrix depends only on the efficiencies,
//   self-discharge, weights, T and which optional rows exist — not on the loads, capacities or
//   limits — so it is factorised once per distinct (QP kind, rho) and shared by all scenarios
//   and all iterations: the form a GPU batch wants, but thousands of iterations on this LP-like
//   problem (no curvature in c and d). It stops on OSQP's residual tolerances (eps_abs, eps_rel);
//   once near them it tries OSQP's active-set polish (one extra KKT factorisation), which, when
//   it applies, makes the answer exact to rounding.
// Scenarios run in parallel, one per thread at a time, so results do not depend on the thread
// count. With Backend::cuda the interior point's first solve of every scenario runs on the device,
// one thread per scenario (the same code, src/core/ipm_core.hpp, without fused multiply-adds);
// the hand-overs below, the ADMM and the polish stay on the host.
// After either, the physics is enforced exactly: b = d - c clipped to the power limits, E
// recomputed by the loss model of dispatch() (psi(b)), b nudged where rounding would push E out
// of its window, u clipped to its range, g = load - b - u. SoC, power limits and energy balance
// then hold to rounding; what remains of grid, ramp, backup-ramp and battery-ramp limit
// violations (of the order of the solver's tolerance) is reported in limit_violation.
// Relaxation gap: c and d are separate variables, and the QP may charge and discharge in the same
// step to burn energy when that is cheaper than ramping (typically with terminal = equal, to end
// at E_0 without ramping down; or at soc_max). Such steps are counted in relaxed_steps; the
// netted dispatch then has energy left over, which is discharged by one constant extra power
// over the whole horizon (a constant shift of g: no extra ramp), so the result stays physical but
// is no longer certified optimal, and can cost far more or break a limit (a fleet that starts
// full, say). Such a scenario of a lossy fleet is solved again with one direction per step (no
// step can then do both): first every step in the direction of the first answer's net power,
// then, where at most 8 steps did both, each of those reversed in turn, kept where cheaper. The
// cheapest answer that keeps every limit is returned (the netted one where that is cheaper
// still); relaxed_steps still counts the steps the QP did both at: where it is > 0 the dispatch
// is physical but not certified optimal (on an audit's 12 small problems, checked against every
// direction pattern, 11 met the optimum and one was 1e-4 above it). (A lossless fleet burns
// nothing: its netted answer is the optimum.) Where the kept dispatch of such a scenario still
// breaks a limit beyond rounding, the status is relaxation_gap, never converged; an excess of a
// scenario without the gap is the solver's tolerance (limit_violation).
// Infeasible scenarios (a ramp or import limit the fleet cannot meet) are described by the
// elastic LP, whichever the solver: min z over the same physics (battery, backup) with every grid
// limit (import, export, grid ramp) relaxed by z MW, solved by the interior point. Then
// violation = z, the smallest relaxation that makes the scenario feasible (violation_kind power);
// infeasible_step = the first step whose limit needs all of z (the interior point ends near the
// analytic centre of the LP's optimal face, so that is a step that needs it in every min-max
// plan); and the dispatch returned is the optimum with the grid limits relaxed by z, so that
// limit_violation ~ z. Where the battery alone cannot be kept feasible (the LP has no solution)
// the ADMM's certificate of infeasibility stands, and infeasible_step, violation and
// violation_kind describe the first limit the polished dispatch breaks.
// Statuses: converged (optimal to the method's tolerances), max_iterations, infeasible,
// relaxation_gap (above).
#pragma once

#include <cmath>
#include <vector>

#include "gridbatch/battery_dispatch.hpp"

namespace gridbatch {

enum class SmoothDispatchSolver { interior_point, admm };

struct SmoothDispatchOptions {
    Real dt_seconds = 1.0;
    Real ramp_weight = 1.0;  // w_ramp, >= 0
    Real level_weight = -1;  // w_level; < 0: w_ramp (dt / level_time_constant_s)^2
    Real level_time_constant_s = 3600;
    Real ramp_limit_mw_per_s = HUGE_VAL;  // hard limit on |g_t - g_{t-1}| / dt; inf = none
    // Shared by every scenario, T entries each (empty: none / the scenario's mean load):
    Vector energy_price;   // objective units per MWh of grid draw (a market price series)
    Vector target_mw;      // the level term pulls g_t towards target_mw[t]
    Real peak_weight = 0;  // objective units per MW of the horizon's peak grid draw
    SmoothDispatchSolver solver = SmoothDispatchSolver::interior_point;
    // Interior point: relative primal and dual residuals and duality gap; Newton steps.
    Real ipm_tolerance = 1e-9;
    int ipm_max_iterations = 80;
    // ADMM (OSQP's meaning; tolerances in MW and MWh/h units of the unscaled problem); also used
    // where the interior point hands a scenario over.
    Real eps_abs = 1e-6;
    Real eps_rel = 1e-6;
    Real eps_infeasible = 1e-7;
    int max_iterations = 20000;
    Real rho = 0.1;
    bool adaptive_rho = true;
    int threads = 0;  // 0 = all cores
    // cuda: the interior point's solve of every scenario runs on the device (one thread per
    // scenario, the CPU's algorithm and arithmetic); what it hands over (see above), the ADMM
    // and the polish run on the host threads. The ADMM solver runs on the host whatever this is.
    Backend backend = Backend::automatic;
    int device = 0;  // CUDA engine

    Real effective_level_weight() const;
    // Throws Error{invalid_input} naming the field.
    void validate() const;
};

// DispatchResult (usable wherever dispatch()'s is, e.g. dispatch_metrics) plus what is specific
// to the QP solver. report.iterations: interior-point Newton steps or ADMM iterations (their sum
// where the interior point handed over); report.max_mismatch: unscaled primal residual;
// relaxed_steps: steps where the QP's answer charged and discharged at once (see above).
struct SmoothDispatchResult : DispatchResult {
    Matrix backup_mw;          // T x S, backup generation (zeros without it)
    Vector dual_residual;      // S, unscaled
    Vector limit_violation;    // S, largest grid-limit or ramp-limit excess after polish, MW
    Vector max_ramp_mw_per_s;  // S, of grid_mw
};

// Ramp-aware dispatch of every column of `load` (MW). `fleets` and `grids` have 1 entry (shared)
// or S entries (per scenario).
SmoothDispatchResult smooth_dispatch(const MatrixView& load,
                                     const std::vector<BatteryFleet>& fleets,
                                     const std::vector<GridConnection>& grids,
                                     const SmoothDispatchOptions& options = {});

// Smallest unit count in [0, max_units] per scenario whose smooth dispatch converges and keeps
// every |g(t + 60 s) - g(t)| within ramp_limit_mw_per_min (same measure as dispatch_metrics'
// max_ramp_mw_per_min); -1 where max_units is not enough. Bisection batched over scenarios (one
// smooth_dispatch call per round for all scenarios still open; fleets from
// BatteryFleet::from_units(unit, n), so all share one KKT factorisation). Assumes more units never
// hurt. `first_probe` (empty, or one count per scenario): tried first where it lies in
// [1, max_units); the answer does not depend on it, a close one saves rounds (size_fleet's answer
// for the same limit is a cheap one: 6 rounds instead of 10 in the default study). With fewer
// scenarios open than options.threads, a round also tries the counts the bisection would try
// next, one per spare thread (with the workspace of one scenario each, as a batch of that many
// scenarios would): fewer rounds, the same answer for any thread count.
IndexVector smallest_fleet_for_ramp(const MatrixView& load, const BatteryUnit& unit,
                                    Real ramp_limit_mw_per_min, Index max_units,
                                    const GridConnection& grid,
                                    const SmoothDispatchOptions& options = {},
                                    const IndexVector& first_probe = {});

}  // namespace gridbatch
