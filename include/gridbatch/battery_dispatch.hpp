// Battery dispatch for load smoothing at a data-centre point of connection, batched over
// scenarios.
//
// Layout: loads are a T x S column-major Matrix, one scenario per column (time runs down a
// column), like every other batch in gridbatch; all time series in results use the same layout.
// The CUDA engine transposes to scenario-fastest on upload so its one-thread-per-scenario kernels
// read and write coalesced, and transposes back on download.
//
// Sign conventions: battery power b > 0 discharges into the site, < 0 charges; grid draw
// g = load - b (MW); stored energy E in MWh, E_0 = initial, E_{t+1} = a E_t - h psi(b_t) with
// h = dt / 3600 (hours), a = 1 - self_discharge_per_hour * h and psi(b) = b / eta_discharge for
// b >= 0, eta_charge * b for b < 0 (losses on both sides; the battery never charges and
// discharges in the same step because it has one net power per step).
//
// Objective (per scenario): sum_t h ((g_t - z)^2 + throughput_cost |b_t|), in MW^2 h, with the
// target z chosen by DispatchOptions::target: 0 (default, sum of squared draw), the scenario's
// smallest load, or its mean load. For lossy fleets prefer min_load (exact) or mean_load
// (smoothest), see below. With the energy over the horizon fixed, sum (g - z)^2 is the variance of
// the grid draw plus a constant, so this is "as flat as possible"; in the lossless case the optimum
// (the taut string) minimises every convex function of g at once, including the peak, and does not
// depend on z. With losses z matters: moving energy from high to low phases costs
// (1 - eta_c eta_d) of it, so the optimum leaves a residual swing with
// (g_high - z) / (g_low - z) = 1 / (eta_c eta_d): z = 0 leaves ~8% of the mean draw at 92% round
// trip, z = min load less, z = mean load almost none (on the default 150 MW training profile at
// 0.1 s: std of grid draw 4.7 / 2.5 / 0.04 MW).
// Exactness: while z <= load at every step (min_load, zero) the problem is convex in stored
// energy and the dynamic program returns its exact optimum; the battery never charges and
// discharges in the same step (one net power per step). With mean_load, steps whose load is
// below z have a non-convex cost in stored energy; the dynamic program then solves a
// convexification (the charge and discharge responses added where both would be active), counts
// in DispatchResult::relaxed_steps the steps whose optimal price falls in that range, and is
// otherwise a dispatch satisfying the true problem's optimality conditions step by step, not a
// certified global optimum. Use min_load when certified optimality matters, mean_load for the
// smoothest draw.
//
// Solvers, both exact:
//  * taut_string: lossless fleets (efficiencies 1, no self-discharge, no throughput cost, terminal
//    equal or at-least-initial). O(T). It knows the SoC window only: power and grid limits (and,
//    with at-least-initial, an end below the target) are checked afterwards, and a string that
//    breaks one is replaced by the dynamic program's dispatch, asked for by name or by
//    `automatic` alike (DispatchResult::method says which ran).
//  * dynamic_program: everything in the model (losses, self-discharge, throughput cost, battery
//    and grid power limits): a one-state convex dynamic program in SoC, O(T log T). With the end
//    SoC fixed (terminal equal) and no self-discharge it runs as two independent halves, the first
//    forwards and the second backwards in time, joined where their prices agree (about 13 % more
//    work than one pass); the CPU engine gives each half its own thread where cores outnumber
//    scenarios, so one day-long scenario takes about half the time. Same arithmetic either way:
//    results do not depend on the thread count.
// Infeasible scenarios (e.g. load above import limit plus fleet power for longer than the energy
// allows) get Status::infeasible with the first step and size of the violation; the returned
// dispatch then respects every limit except the violated ones, which are relaxed only as far as
// needed. Errors (Error{invalid_input}) are for bad inputs: NaN/Inf or negative loads, efficiency
// outside (0, 1], negative capacity, SoC window crossed — naming the parameter and scenario.
#pragma once

#include <string>
#include <vector>

#include "gridbatch/backend.hpp"
#include "gridbatch/result.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch {

// One battery unit as sold. Presets (see battery_unit()):
//  "megapack-2h": 1.927 MW / 3.854 MWh, "megapack-4h": 0.979 MW / 3.916 MWh (Tesla Megapack 2 XL
//  public datasheet / Megapack design page figures, AC at the unit terminals). Round-trip
//  efficiency: the same datasheet quotes about 92% for the 2-hour unit and slightly more for the
//  4-hour unit; we use 0.92 for both, split evenly as sqrt(0.92) ~= 0.959 per direction.
//  Self-discharge: Li-ion (LFP) loses well under 0.1%/day when idle; the datasheets give no figure,
//  so the presets use 0 and leave it as a parameter. SoC window 5%..95% and initial 50% are
//  planning assumptions, not datasheet values.
struct BatteryUnit {
    std::string name;
    Real energy_mwh = 0;
    Real charge_mw = 0;
    Real discharge_mw = 0;
    Real round_trip_efficiency = 1;
};
// Throws Error naming the preset and the known ones when `name` is unknown.
BatteryUnit battery_unit(const std::string& name);
std::vector<std::string> battery_unit_names();

enum class TerminalCondition : std::uint8_t { equal, at_least_initial, free };

// A fleet at one point of connection (the whole fleet acts as one battery).
struct BatteryFleet {
    Real energy_mwh = 0;  // usable capacity at SoC 1
    Real charge_mw = 0;   // limit at the point of connection
    Real discharge_mw = 0;
    Real charge_efficiency = 1;  // (0, 1]
    Real discharge_efficiency = 1;
    Real self_discharge_per_hour = 0;  // fraction of stored energy lost per hour, [0, 1)
    Real soc_min = 0;                  // fractions of energy_mwh, 0 <= soc_min <= soc_max <= 1
    Real soc_max = 1;
    Real initial_soc = 0.5;  // within [soc_min, soc_max]
    TerminalCondition terminal = TerminalCondition::equal;
    Real throughput_cost = 0;  // per MWh through the terminals (objective units MW^2 h / MWh)
    // Limit on the change of battery power, MW/s; only smooth_dispatch() models it (dispatch()
    // refuses a finite one).
    Real ramp_limit_mw_per_s = HUGE_VAL;

    // `units` copies of `unit` (fractional counts allowed for sizing); efficiencies are the
    // square root of the round trip each way; SoC window 5%..95%, initial 50%.
    static BatteryFleet from_units(const BatteryUnit& unit, Real units);
    bool lossless() const {
        return charge_efficiency == 1 && discharge_efficiency == 1 &&
               self_discharge_per_hour == 0 && throughput_cost == 0;
    }
    // Throws Error{invalid_input} naming the field and `where` (e.g. "fleet of scenario 3").
    void validate(const std::string& where) const;
};

struct GridConnection {
    Real import_limit_mw = HUGE_VAL;  // upper limit on grid draw
    bool export_allowed = false;      // false: grid draw >= 0
    // Backup generation at the site (gas turbines): output in [0, backup_mw], changing by at
    // most backup_ramp_mw_per_s per second, at backup_cost_per_mwh (objective units per MWh).
    // Only smooth_dispatch() models it; dispatch() refuses backup_mw > 0.
    Real backup_mw = 0;
    Real backup_ramp_mw_per_s = HUGE_VAL;
    Real backup_cost_per_mwh = 0;
    // Throws Error{invalid_input} naming the field and `where`.
    void validate(const std::string& where) const;
};

enum class DispatchMethod : std::uint8_t { automatic, taut_string, dynamic_program };
enum class SmoothingTarget : std::uint8_t { zero, min_load, mean_load };
const char* to_string(DispatchMethod method) noexcept;

struct DispatchOptions {
    Real dt_seconds = 1.0;
    DispatchMethod method = DispatchMethod::automatic;
    SmoothingTarget target = SmoothingTarget::zero;
    Backend backend = Backend::automatic;
    int threads = 0;  // CPU engine; 0 = all cores
    int device = 0;   // CUDA engine
    void validate() const;
};

// Why a scenario is infeasible.
enum class Violation : std::int8_t { none = 0, power = 1, energy = 2 };

struct DispatchResult {
    Matrix battery_mw;            // T x S, > 0 discharging
    Matrix soc_mwh;               // (T + 1) x S, row 0 = initial
    Matrix grid_mw;               // T x S, load - battery
    Vector objective;             // S, sum_t h ((g - z)^2 + throughput_cost |b|), z the target
    ScenarioReport report;        // status: converged (= optimal), infeasible, or diverged (the
                                  // objective overflows: loads beyond ~1e150 MW); iterations unused
    IndexVector infeasible_step;  // S, first step whose limits cannot be met (T: the terminal
                                  // condition), -1 if none
    Vector violation;             // S, at that step: MW (power) or MWh (energy); 0 if feasible
    Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1> violation_kind;  // Violation codes
    Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1> method;          // DispatchMethod actually used
    IndexVector relaxed_steps;  // S, steps dispatched by the relaxation (see above); 0 = exact
    Backend backend = Backend::cpu;
};

// Optimal dispatch for every column of `load` (MW). `fleets` and `grids` have 1 entry (shared)
// or S entries (per scenario).
DispatchResult dispatch(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                        const std::vector<GridConnection>& grids,
                        const DispatchOptions& options = {});

// Causal baseline (no look-ahead): the grid follows a first-order low-pass of the load with time
// constant `time_constant_s`, nudged towards the SoC set point (initial SoC) with gain
// `soc_gain_per_hour` (1/h), and the battery covers the rest within its power and energy limits;
// what it cannot cover goes to the grid. Status is converged (diverged only where the objective
// overflows, as in dispatch()); limits of the grid connection are not enforced by a filter (see
// the metrics).
struct CausalFilterOptions {
    Real time_constant_s = 600;
    Real soc_gain_per_hour = 1.0;
};
DispatchResult causal_filter(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                             Real dt_seconds, const CausalFilterOptions& options = {});

// Receding horizon (MPC): every `replan_every` steps, plan the next `horizon_steps` with
// dispatch() on a forecast of the load (the actual load times 1 + forecast_noise * N(0, 1),
// counter-based random numbers from `seed`; the current step is known exactly), starting from
// the SoC reached so far and ending the window at that same SoC (terminal condition equal), then
// apply the first `replan_every` steps of the plan. Battery limits and the SoC window hold
// exactly whatever the forecast error; the grid draw takes the forecast error. One batched
// dispatch() call per re-plan covers all scenarios. Status: infeasible if any window was.
struct RecedingHorizonOptions {
    Index horizon_steps = 3600;
    Index replan_every = 60;
    Real forecast_noise = 0;
    std::uint64_t seed = 1;
    ChunkHook before_replan;  // optional: progress or cancellation between re-plans
};
DispatchResult receding_horizon(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                                const std::vector<GridConnection>& grids,
                                const RecedingHorizonOptions& mpc,
                                const DispatchOptions& options = {});

// Per-scenario quality of a dispatch. Frequency bands in Hz; band energy = sum of |DFT|^2 of the
// mean-removed grid draw over the band, scaled by Parseval so that the bands of [0, Nyquist]
// add up to T * variance (MW^2 per sample).
// max_ramp_mw_per_s: largest |g(t + dt) - g(t)| / dt; max_ramp_mw_per_min: largest
// |g(t + 60 s) - g(t)|, g linear between samples where dt does not divide a minute (a steady
// 1 MW/s ramp reads 60 at any dt), over the whole series where it is shorter than a minute.
// T = 0: peak_mw and std_mw NaN, the rest 0.
struct DispatchMetrics {
    Vector peak_mw, max_ramp_mw_per_s, max_ramp_mw_per_min, std_mw;
    Vector throughput_mwh;          // sum |b| h
    Vector equivalent_full_cycles;  // throughput / (2 * energy_mwh)
    Vector time_at_soc_limits_s;    // within 1e-6 of soc_min or soc_max
    Vector losses_mwh;              // energy in from grid - energy to load - stored increase
    Matrix band_energy;             // bands x S
    std::vector<std::pair<Real, Real>> bands;
};
DispatchMetrics dispatch_metrics(const MatrixView& load, const DispatchResult& result,
                                 const std::vector<BatteryFleet>& fleets, Real dt_seconds,
                                 const std::vector<std::pair<Real, Real>>& bands = {
                                     {0.0001, 0.01}, {0.01, 0.1}, {0.1, 20.0}});

// Smallest unit count (<= max_units) per scenario whose optimal dispatch keeps every grid ramp
// within `ramp_limit_mw_per_min` (|g(t + 60 s) - g(t)|), by bisection run batched over all
// scenarios at once; -1 where even max_units is not enough. Fleets are BatteryFleet::from_units.
IndexVector size_fleet(const MatrixView& load, const BatteryUnit& unit, Real ramp_limit_mw_per_min,
                       Index max_units, const GridConnection& grid,
                       const DispatchOptions& options = {});

}  // namespace gridbatch
