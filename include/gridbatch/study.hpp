// The data-centre grid study: a training campus at a point of interconnection (POI) of a
// transmission network, its synthetic load smoothed by a battery fleet, and every time step of
// every scenario run through a batched AC power flow — for four strategies side by side: no
// battery, the causal filter, the optimal dispatch (dispatch(): least variance of the grid draw
// about the scenario's mean) and the ramp-aware dispatch (smooth_dispatch() with its default
// objective: least squared ramps plus a slow level term). Also a fleet-sizing sweep of
// both dispatches, with the smallest fleet that meets a ramp limit under each, and a DC N-1
// screening of the worst time steps.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "gridbatch/backend.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/load_profiles.hpp"
#include "gridbatch/network.hpp"
#include "gridbatch/result.hpp"

namespace gridbatch {

struct StudyOptions {
    Index poi_bus = -1;        // external bus id; -1 = the built-in network's 161 kV POI
    Real campus_mw = 150;      // facility draw at full training load (IT x PUE)
    Real power_factor = 0.98;  // lagging, of the campus draw at the POI
    std::string unit = "megapack-2h";
    Real fleet_units = 168;
    Real import_limit_mw = HUGE_VAL;
    Real ramp_limit_mw_per_min = 0;  // sizing target; 0 = 5 % of campus_mw per minute
    Index steps = 3600;
    Real dt_seconds = 1.0;
    Index scenarios = 4;
    std::uint64_t seed = 1;
    Backend backend = Backend::automatic;
    int threads = 0;
    Index sizing_points = 9;    // fleet sizes in the sweep, from 0
    Real sizing_max_units = 0;  // sweep and search range; 0 = automatic (see run_study)
    // Worst time steps per strategy screened for N-1: by AC branch loading, or by the campus's
    // grid draw in a network without branch ratings.
    Index n1_steps = 3;
    bool n1_ac = true;      // those steps' AC contingencies too (every branch out in turn)
    Index ac_chunk = 4096;  // power flows per AC batch (bounds memory; whole time-series
                            // blocks: rounded up to a multiple of kTimeSeriesBlock)

    // Throws Error{invalid_input} naming the option (CLI spelling, e.g. "--campus-mw").
    void validate(const Network& net) const;
};

// Progress of a long run: stage name and fraction done in [0, 1].
using StudyProgress = std::function<void(const std::string& stage, double fraction)>;

enum class Strategy : std::uint8_t { none, filter, optimal, ramp_aware };
constexpr Strategy kStrategies[] = {Strategy::none, Strategy::filter, Strategy::optimal,
                                    Strategy::ramp_aware};
const char* to_string(Strategy strategy) noexcept;

struct StrategyOutcome {
    DispatchResult dispatch;  // battery, SoC, grid draw (T x S); "none": battery 0
    DispatchMetrics metrics;
    Matrix poi_vm;  // T x S, p.u. (NaN where the AC power flow did not converge)
    // T x S, highest branch loading, % of rateA (NaN: as poi_vm, or no branch has a rateA)
    Matrix max_loading;
    IndexVector ac_not_converged;  // S
    // S, over the converged steps (NaN where none converged; the step: NaN without two converged
    // steps in a row)
    Vector poi_vm_min, poi_vm_max, poi_max_dv_step;
    Vector peak_loading;  // S: the highest of max_loading over the converged steps, or NaN
    IndexVector voltage_violations;  // S: (bus, step) pairs outside Vmin/Vmax
};

struct VoltageViolation {
    Strategy strategy;
    Index scenario, step, bus;  // bus: external id
    Real vm;
};

struct StudyN1Row {
    Strategy strategy;
    Index scenario, step;
    Real base_max_loading;             // % (DC); NaN where no branch has a rateA
    Real worst_loading_percent;        // after the worst single-branch outage (DC); NaN as above
    Index worst_outage, worst_branch;  // branch rows, -1 if none
    Index n_violations;                // post-outage loadings above 100 %
    // AC contingencies of the step (options.n1_ac; else NaN and -1): every in-service branch out
    // in turn, a Newton power flow each (AcBatch::outage) from the step's solution.
    Real ac_worst_loading_percent = NAN;  // MVA at the worse end, % of rateA
    Index ac_worst_outage = -1, ac_worst_branch = -1;
    Real ac_min_poi_vm = NAN;  // p.u., lowest over the outages
    Index ac_min_poi_vm_outage = -1;
    Real ac_min_vm = NAN;                             // p.u., any bus, lowest over the outages
    Index ac_min_vm_bus = -1, ac_min_vm_outage = -1;  // bus: external id
    // Outages whose power flow failed; outages that cut buses off (solved with them de-energised);
    // among those, outages that cut the POI itself off (the campus loses its grid connection).
    Index ac_not_converged = 0, ac_islanding = 0, ac_poi_cut_off = 0;
};

struct SizingPoint {
    Real units;
    Vector max_ramp_mw_per_min;             // S, of the optimal dispatch
    Vector ramp_aware_max_ramp_mw_per_min;  // S, of the ramp-aware dispatch
};

struct StudyResult {
    StudyOptions options;
    Index poi_bus = -1;
    Matrix load_mw;                                    // T x S campus load
    std::vector<StrategyOutcome> outcomes;             // indexed by Strategy
    std::vector<VoltageViolation> voltage_violations;  // first 10,000
    std::vector<StudyN1Row> n1;
    std::vector<SizingPoint> sizing;
    IndexVector smallest_fleet;  // S: units meeting the ramp limit (-1: none up to the max)
    IndexVector ramp_aware_smallest_fleet;  // S: the same for the ramp-aware dispatch
    Real ramp_limit_mw_per_min = 0;
    Backend backend = Backend::cpu;
    double seconds = 0;
};

StudyResult run_study(const Network& net, const StudyOptions& options,
                      const StudyProgress& progress = {});

// Writes summary.csv, timeseries.csv, spectrum.csv, sizing.csv, voltage_violations.csv and n1.csv
// into `dir` (created if needed).
void write_study(const StudyResult& result, const Network& net, const std::string& dir);

// Welch power spectral density (Hann window, 50 % overlap, segments of the largest power of two
// up to `segment` and x's length) of the mean-removed series x sampled every dt seconds:
// frequencies (Hz) and PSD (x^2/Hz). Throws Error for fewer than kWelchMinSamples samples (or a
// segment shorter), a dt that is not finite and > 0, or a value that is not finite.
inline constexpr Index kWelchMinSamples = 4;  // the shortest Hann window that is not all zeros
std::pair<Vector, Vector> welch_psd(const Eigen::Ref<const Vector>& x, Real dt, Index segment);

}  // namespace gridbatch
