// The data-centre study (include/gridbatch/study.hpp): profiles -> dispatch -> AC power flow of
// every step, reduced on the fly to what the study reports, so memory stays bounded by ac_chunk
// power flows whatever the horizon.
#include "gridbatch/study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <limits>
#include <locale>
#include <numeric>

#include "core/angles.hpp"
#include "core/fleet_sizing.hpp"
#include "core/invalid_input.hpp"
#include "cpu/parallel.hpp"
#include "gridbatch/ac_contingencies.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/distributed.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/sensitivities.hpp"
#include "gridbatch/smooth_dispatch.hpp"

namespace gridbatch {
namespace {

constexpr Real kNaN = std::numeric_limits<Real>::quiet_NaN();
constexpr std::size_t kMaxViolationRows = 10000;

[[noreturn]] void bad_option(const std::string& what) {
    throw Error(ErrorKind::invalid_input, what);
}

// "StudyOptions.steps (--steps) must be ...": the field for the library's callers, the option
// for the command line's.
[[noreturn]] void bad_field(const char* field, const char* option, const std::string& rest) {
    bad_option(std::string("StudyOptions.") + field + " (--" + option + ")" + rest);
}

Index resolve_poi(const Network& net, const StudyOptions& o) {
    const Index id = o.poi_bus >= 0 ? o.poi_bus : kBuiltinPoi161;
    if (!net.has_bus(id))
        bad_field(
            "poi_bus", "poi",
            ": bus " + std::to_string(id) + " is not in the network (" + net.source() + ")" +
                (o.poi_bus < 0 ? "; give --poi BUS for a case other than the built-in one" : ""));
    if (net.buses().type[net.internal_bus(id)] == static_cast<std::int8_t>(BusType::isolated))
        bad_field("poi_bus", "poi", ": bus " + std::to_string(id) + " is isolated (type 4)");
    return id;
}

// "none": the grid takes the load as it comes.
DispatchResult no_battery(const Matrix& load, const BatteryFleet& fleet) {
    DispatchResult r;
    r.grid_mw = load;
    r.battery_mw = Matrix::Zero(load.rows(), load.cols());
    r.soc_mwh =
        Matrix::Constant(load.rows() + 1, load.cols(), fleet.initial_soc * fleet.energy_mwh);
    r.objective = Vector::Zero(load.cols());
    r.report = ScenarioReport(load.cols());
    r.report.status.setZero();
    r.infeasible_step = IndexVector::Constant(load.cols(), -1);
    r.violation = Vector::Zero(load.cols());
    r.violation_kind = FlagVector::Zero(load.cols());
    r.method = FlagVector::Zero(load.cols());
    return r;
}

void fft_in_place(std::vector<std::complex<Real>>& a) {
    const std::size_t n = a.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
        std::size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const std::complex<Real> w = std::polar(1.0, -2 * detail::kPi / static_cast<Real>(len));
        for (std::size_t i = 0; i < n; i += len) {
            std::complex<Real> wk = 1;
            for (std::size_t k = 0; k < len / 2; ++k, wk *= w) {
                const auto u = a[i + k], v = a[i + k + len / 2] * wk;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
            }
        }
    }
}

}  // namespace

const char* to_string(Strategy strategy) noexcept {
    switch (strategy) {
        case Strategy::none:
            return "none";
        case Strategy::filter:
            return "filter";
        case Strategy::optimal:
            return "optimal";
        case Strategy::ramp_aware:
            return "ramp_aware";
    }
    return "unknown";
}

void StudyOptions::validate(const Network& net) const {
    auto positive = [](Real v, const char* field, const char* option) {
        if (!(v > 0) || !std::isfinite(v))
            bad_field(field, option, " must be a positive number (got " + detail::num(v) + ")");
    };
    positive(campus_mw, "campus_mw", "campus-mw");
    positive(dt_seconds, "dt_seconds", "dt");
    if (!(power_factor > 0 && power_factor <= 1))
        bad_field("power_factor", "power-factor",
                  " must be in (0, 1] (got " + detail::num(power_factor) + ")");
    if (!(fleet_units >= 0) || !std::isfinite(fleet_units))
        bad_field("fleet_units", "fleet",
                  " must be >= 0 units (got " + detail::num(fleet_units) + ")");
    if (!(import_limit_mw > 0))
        bad_field("import_limit_mw", "import-limit",
                  " must be > 0 MW (got " + detail::num(import_limit_mw) + ")");
    if (!(ramp_limit_mw_per_min >= 0) || !std::isfinite(ramp_limit_mw_per_min))
        bad_field("ramp_limit_mw_per_min", "ramp-limit",
                  " must be >= 0 MW/min (got " + detail::num(ramp_limit_mw_per_min) + ")");
    if (steps < kWelchMinSamples)  // the grid draw's spectrum needs them
        bad_field("steps", "steps",
                  " must be at least " + std::to_string(kWelchMinSamples) + " (got " +
                      std::to_string(steps) + ")");
    if (scenarios < 1)
        bad_field("scenarios", "scenarios",
                  " must be at least 1 (got " + std::to_string(scenarios) + ")");
    if (sizing_points < 2)
        bad_field("sizing_points", "sizing-points",
                  " must be at least 2 (got " + std::to_string(sizing_points) + ")");
    if (!(sizing_max_units >= 0))
        bad_field("sizing_max_units", "sizing-max",
                  " must be >= 0 units (got " + detail::num(sizing_max_units) + ")");
    if (n1_steps < 0)
        bad_field("n1_steps", "n1-steps", " must be >= 0 (got " + std::to_string(n1_steps) + ")");
    if (ac_chunk < 1)
        bad_option("StudyOptions.ac_chunk must be >= 1 (got " + std::to_string(ac_chunk) + ")");
    if (threads < 0)
        bad_field("threads", "threads",
                  " must be >= 0 (0 = all cores; got " + std::to_string(threads) + ")");
    if (poi_bus < -1)  // -1 alone means the built-in network's POI
        bad_field("poi_bus", "poi",
                  " must be a bus number of the case (got " + std::to_string(poi_bus) + ")");
    battery_unit(unit);  // throws naming the unknown unit and the known ones
    resolve_poi(net, *this);
}

std::pair<Vector, Vector> welch_psd(const Eigen::Ref<const Vector>& x, Real dt, Index segment) {
    if (x.size() < kWelchMinSamples || segment < kWelchMinSamples)
        throw Error(ErrorKind::invalid_input,
                    "welch_psd needs segments of at least " + std::to_string(kWelchMinSamples) +
                        " samples (got " + std::to_string(x.size()) + " samples, segment " +
                        std::to_string(segment) + ")");
    if (!(dt > 0) || !std::isfinite(dt))
        throw Error(ErrorKind::invalid_input,
                    "welch_psd: dt must be finite and > 0 (got " + detail::num(dt) + ")");
    for (Index i = 0; i < x.size(); ++i)
        if (!std::isfinite(x[i]))
            throw Error(ErrorKind::invalid_input,
                        "welch_psd: x[" + std::to_string(i) + "] is " + detail::num(x[i]));
    Index n = 1;
    while (n * 2 <= std::min(segment, x.size())) n *= 2;
    const Real mean = x.mean();
    Vector window(n);
    for (Index i = 0; i < n; ++i) window[i] = 0.5 - 0.5 * std::cos(2 * detail::kPi * i / (n - 1));
    const Real wss = window.squaredNorm();
    Vector psd = Vector::Zero(n / 2 + 1);
    Index count = 0;
    std::vector<std::complex<Real>> buf(static_cast<std::size_t>(n));
    for (Index start = 0; start + n <= x.size(); start += n / 2, ++count) {
        for (Index i = 0; i < n; ++i)
            buf[static_cast<std::size_t>(i)] = (x[start + i] - mean) * window[i];
        fft_in_place(buf);
        for (Index k = 0; k <= n / 2; ++k)
            psd[k] += std::norm(buf[static_cast<std::size_t>(k)]) * (k == 0 || k == n / 2 ? 1 : 2);
    }
    psd *= dt / (wss * static_cast<Real>(std::max<Index>(count, 1)));
    Vector freq(n / 2 + 1);
    for (Index k = 0; k <= n / 2; ++k) freq[k] = static_cast<Real>(k) / (static_cast<Real>(n) * dt);
    return {freq, psd};
}

namespace {

// Step c's AC contingencies (scenario c of `ac`, every in-service branch out in turn, the POI its
// only monitored bus) in the row's ac_* fields.
void ac_contingency_fields(const Network& net, const AcContingencyResult& ac, Index c,
                           StudyN1Row& row) {
    row.ac_worst_loading_percent = ac.worst_loading_percent[c];
    row.ac_worst_outage = ac.worst_outage[c];
    row.ac_worst_branch = ac.worst_branch[c];
    row.ac_min_vm = ac.lowest_vm[c];
    row.ac_min_vm_bus = ac.lowest_vm_bus[c] >= 0 ? net.buses().id[ac.lowest_vm_bus[c]] : -1;
    row.ac_min_vm_outage = ac.lowest_vm_outage[c];
    for (Index k = 0; k < static_cast<Index>(ac.outages.size()); ++k) {
        const AcContingency& x = ac.at(c, k);
        if (x.cuts_off()) ++row.ac_islanding;
        if (x.status != Status::converged) {
            if (x.status != Status::islanded) ++row.ac_not_converged;
            continue;
        }
        const Real vm = ac.monitored_vm(0, c * (1 + Index(ac.outages.size())) + 1 + k);
        if (std::isnan(vm)) {  // de-energised
            ++row.ac_poi_cut_off;
            continue;
        }
        if (std::isnan(row.ac_min_poi_vm) || vm < row.ac_min_poi_vm) {
            row.ac_min_poi_vm = vm;
            row.ac_min_poi_vm_outage = x.outage;
        }
    }
}

// The study; with `comm`, the AC power flows are sharded and ranks other than 0 stop after them.
StudyResult study(const Network& net, const StudyOptions& options, Communicator* comm,
                  const StudyProgress& progress) {
    const auto t0 = std::chrono::steady_clock::now();
    options.validate(net);
    const bool root = !comm || comm->rank() == 0;
    const int device = comm ? device_for(*comm) : 0;
    auto report = [&](const std::string& stage, double f) {
        if (progress && root) progress(stage, f);
    };
    StudyResult out;
    out.options = options;
    out.poi_bus = resolve_poi(net, options);
    const Index poi = net.internal_bus(out.poi_bus);
    const Index T = options.steps, S = options.scenarios;
    const Real dt = options.dt_seconds;
    out.ramp_limit_mw_per_min = options.ramp_limit_mw_per_min > 0 ? options.ramp_limit_mw_per_min
                                                                  : 0.05 * options.campus_mw;

    // 1. Campus load: the default parameters are a 150 MW site; scale the GPU count.
    report("load profiles", 0);
    TrainingLoadParameters params;
    params.gpu_count *= options.campus_mw / 150.0;
    LoadProfileOptions lp;
    lp.steps = T;
    lp.dt_seconds = dt;
    lp.seed = options.seed;
    lp.backend = options.backend;
    lp.threads = options.threads;
    lp.device = device;
    out.load_mw = training_load({params}, S, lp);

    // 2. Battery dispatch: causal filter, optimal and ramp-aware.
    report("battery dispatch", 0);
    const BatteryUnit unit = battery_unit(options.unit);
    const BatteryFleet fleet = BatteryFleet::from_units(unit, options.fleet_units);
    GridConnection grid;
    grid.import_limit_mw = options.import_limit_mw;
    DispatchOptions dopt;
    dopt.dt_seconds = dt;
    dopt.backend = options.backend;
    dopt.threads = options.threads;
    dopt.device = device;
    // Smooth towards each scenario's mean draw: with losses, the default target (sum of squared
    // draw) leaves a dead band of ~(1 - round trip) x draw that the grid would see as swings.
    dopt.target = SmoothingTarget::mean_load;
    SmoothDispatchOptions sopt;
    sopt.dt_seconds = dt;
    sopt.backend = options.backend;
    sopt.threads = options.threads;
    sopt.device = device;
    out.outcomes.resize(std::size(kStrategies));
    const auto outcome = [&out](Strategy k) -> StrategyOutcome& {
        return out.outcomes[static_cast<std::size_t>(k)];
    };
    outcome(Strategy::none).dispatch = no_battery(out.load_mw, fleet);
    outcome(Strategy::filter).dispatch = causal_filter(out.load_mw, {fleet}, dt);
    outcome(Strategy::optimal).dispatch = dispatch(out.load_mw, {fleet}, {grid}, dopt);
    const DispatchResult& opt = outcome(Strategy::optimal).dispatch;
    for (Index s = 0; s < S; ++s)
        if (opt.report.at(s) == Status::infeasible)
            bad_option("--fleet " + detail::num(options.fleet_units) + " x " + options.unit +
                       " cannot keep the grid draw within --import-limit " +
                       detail::num(options.import_limit_mw) + " MW: scenario " + std::to_string(s) +
                       (opt.infeasible_step[s] < T
                            ? " fails at step " + std::to_string(opt.infeasible_step[s])
                            : std::string(" fails at the end (terminal state of charge)")) +
                       " by " + detail::num(opt.violation[s]) +
                       (opt.violation_kind[s] == static_cast<std::int8_t>(Violation::energy)
                            ? " MWh"
                            : " MW"));
    // Feasible where the optimal dispatch is (the same limits, no hard ramp limit).
    report("ramp-aware dispatch", 0);
    outcome(Strategy::ramp_aware).dispatch = smooth_dispatch(out.load_mw, {fleet}, {grid}, sopt);
    for (auto& o : out.outcomes) o.metrics = dispatch_metrics(out.load_mw, o.dispatch, {fleet}, dt);

    // 3. AC power flow of every step, scenario and strategy, in chunks of columns. Columns are
    // time steps, scenario after scenario: each step starts from the one before. Newton
    // iterations per step in the default study: 2.6 (none), 1.3 (filter), 1.0 (optimal), 0.5
    // (ramp-aware) instead of 4 from the case; the study 7 -> 5 s. Chunks of whole blocks keep
    // the results independent of ac_chunk.
    AcOptions aopt;
    aopt.backend = options.backend;
    aopt.threads = options.threads;
    aopt.device = device;
    aopt.start = StartMode::previous_step;
    const Index ac_chunk = whole_time_series_blocks(options.ac_chunk);
    const AcPowerFlow acpf(net, aopt);
    out.backend = acpf.backend();
    const Real tan_phi = std::tan(std::acos(options.power_factor));
    const Index columns = T * S;
    const auto& bus = net.buses();
    const auto& br = net.branches();
    // Loadings are of rateA; a network without any (case14, case30) has none to report.
    const bool rated = ((br.rate_a.array() > 0) && (br.in_service.array() != 0)).any();
    const Index total = static_cast<Index>(std::size(kStrategies)) * columns;
    Index done = 0;
    for (Strategy k : kStrategies) {
        StrategyOutcome& o = out.outcomes[static_cast<std::size_t>(k)];
        o.poi_vm = Matrix::Constant(T, S, kNaN);
        o.max_loading = Matrix::Constant(T, S, kNaN);
        o.ac_not_converged = IndexVector::Zero(S);
        o.voltage_violations = IndexVector::Zero(S);
        const Matrix& g = o.dispatch.grid_mw;
        for (Index first = 0; first < columns; first += ac_chunk) {
            report("AC power flow (" + std::string(to_string(k)) + ")",
                   static_cast<double>(done) / static_cast<double>(total));
            const Index n = std::min(ac_chunk, columns - first);
            Matrix pd = bus.pd.replicate(1, n), qd = bus.qd.replicate(1, n);
            for (Index c = 0; c < n; ++c) {
                const Index col = first + c, s = col / T, t = col % T;
                pd(poi, c) += g(t, s);
                qd(poi, c) += g(t, s) * tan_phi;
            }
            const AcPowerFlowResult r =
                comm ? solve_sharded(acpf, AcBatch(pd, qd), *comm) : acpf.solve(pd, qd);
            done += n;
            if (!root) continue;  // its columns of r are only the ones it solved
            for (Index c = 0; c < n; ++c) {
                const Index col = first + c, s = col / T, t = col % T;
                if (r.report.at(c) != Status::converged) {
                    ++o.ac_not_converged[s];
                    continue;
                }
                o.poi_vm(t, s) = r.vm(poi, c);
                Real worst = rated ? 0 : kNaN;  // no rateA anywhere: no loading, not 0 %
                for (Index l = 0; l < net.n_branch(); ++l) {
                    if (br.rate_a[l] <= 0) continue;
                    worst = std::max(worst, loading_percent(r, l, c, br.rate_a[l]));
                }
                o.max_loading(t, s) = worst;
                for (Index i = 0; i < net.n_bus(); ++i) {
                    const Real vm = r.vm(i, c);
                    if (bus.type[i] == static_cast<std::int8_t>(BusType::isolated)) continue;
                    if (vm > bus.vmax[i] + 1e-9 || vm < bus.vmin[i] - 1e-9) {
                        ++o.voltage_violations[s];
                        if (out.voltage_violations.size() < kMaxViolationRows)
                            out.voltage_violations.push_back({k, s, t, bus.id[i], vm});
                    }
                }
            }
        }
        o.poi_vm_min.resize(S);
        o.poi_vm_max.resize(S);
        o.poi_max_dv_step.resize(S);
        o.peak_loading.resize(S);
        for (Index s = 0; s < S; ++s) {
            Real lo = HUGE_VAL, hi = -HUGE_VAL, step = -1, peak = -HUGE_VAL;
            for (Index t = 0; t < T; ++t) {
                const Real v = o.poi_vm(t, s);
                if (std::isnan(v)) continue;
                lo = std::min(lo, v);
                hi = std::max(hi, v);
                peak = std::max(peak, o.max_loading(t, s));
                if (t > 0 && !std::isnan(o.poi_vm(t - 1, s)))
                    step = std::max(step, std::abs(v - o.poi_vm(t - 1, s)));
            }
            o.poi_vm_min[s] = lo == HUGE_VAL ? kNaN : lo;
            o.poi_vm_max[s] = hi == -HUGE_VAL ? kNaN : hi;
            o.poi_max_dv_step[s] = step < 0 ? kNaN : step;
            o.peak_loading[s] = peak == -HUGE_VAL ? kNaN : peak;
        }
    }
    report("AC power flow", 1);
    if (!root) {
        out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return out;
    }

    // 4. N-1 (DC, and AC unless options.n1_ac is off) of each strategy's worst steps by AC
    // branch loading. The AC contingencies start from their step's solution from the case.
    if (options.n1_steps > 0) {
        report("N-1 screening", 0);
        AcOptions copt = aopt;
        copt.start = StartMode::from_case;
        const AcPowerFlow step_pf(net, copt);
        AcContingencyOptions analysis;
        analysis.monitored_buses = {poi};
        DcOptions dc_opt;
        dc_opt.backend = options.backend;
        dc_opt.threads = options.threads;
        dc_opt.device = device;
        DcPowerFlow dcpf(net, dc_opt);
        for (Strategy k : kStrategies) {
            const StrategyOutcome& o = out.outcomes[static_cast<std::size_t>(k)];
            std::vector<Index> cols(static_cast<std::size_t>(T * S));
            std::iota(cols.begin(), cols.end(), 0);
            // The worst steps by branch loading; without ratings, by the campus's grid draw.
            auto loading = [&](Index c) {
                if (!rated) return o.dispatch.grid_mw(c % T, c / T);
                const Real v = o.max_loading(c % T, c / T);
                return std::isnan(v) ? -1.0 : v;
            };
            const auto take = static_cast<std::ptrdiff_t>(std::min<Index>(options.n1_steps, T * S));
            std::partial_sort(cols.begin(), cols.begin() + take, cols.end(),
                              [&](Index a, Index b) { return loading(a) > loading(b); });
            cols.resize(static_cast<std::size_t>(take));
            Matrix pd = bus.pd.replicate(1, take), qd = bus.qd.replicate(1, take);
            for (Index c = 0; c < take; ++c) {
                const Index col = cols[static_cast<std::size_t>(c)];
                const Real grid_mw = o.dispatch.grid_mw(col % T, col / T);
                pd(poi, c) += grid_mw;
                qd(poi, c) += grid_mw * tan_phi;
            }
            const N1Result n1 = n1_screen(dcpf, pd);
            AcContingencyResult ac;
            if (options.n1_ac) ac = ac_contingencies(step_pf, AcBatch(pd, qd), analysis);
            std::vector<Index> violations(static_cast<std::size_t>(take), 0);
            for (const auto& v : n1.violations) ++violations[static_cast<std::size_t>(v.scenario)];
            for (Index c = 0; c < take; ++c) {
                const Index col = cols[static_cast<std::size_t>(c)];
                Real base = rated ? 0 : kNaN;
                for (Index l = 0; l < net.n_branch(); ++l)
                    if (br.rate_a[l] > 0)
                        base = std::max(base, std::abs(n1.base.pf(l, c)) / br.rate_a[l] * 100);
                StudyN1Row row{k,
                               col / T,
                               col % T,
                               base,
                               rated ? n1.worst_loading_percent[c] : kNaN,
                               n1.worst_outage[c],
                               n1.worst_branch[c],
                               violations[static_cast<std::size_t>(c)]};
                if (options.n1_ac) ac_contingency_fields(net, ac, c, row);
                out.n1.push_back(row);
            }
        }
    }

    // 5. Sizing: the smallest fleet meeting the ramp limit under the optimal and under the
    // ramp-aware dispatch, searched up to sizing_max_units (default: twice the larger of the
    // fleet and a fleet as powerful as the campus); then ramp against fleet size, swept up to
    // sizing_max_units (default: twice the largest smallest fleet found, so that the sweep
    // shows where the limit is met; the search range where none was).
    report("sizing", 0);
    const Real search_max =
        options.sizing_max_units > 0
            ? options.sizing_max_units
            : 2 * std::max(options.fleet_units, options.campus_mw / unit.discharge_mw);
    const auto search_units = static_cast<Index>(std::max(1.0, std::ceil(search_max)));
    out.smallest_fleet =
        size_fleet(out.load_mw, unit, out.ramp_limit_mw_per_min, search_units, grid, dopt);
    report("sizing (ramp-aware)", 0);
    // The optimal dispatch's answer is a close first probe for the ramp-aware one (the same
    // answer, fewer rounds of interior-point solves).
    out.ramp_aware_smallest_fleet = smallest_fleet_for_ramp(
        out.load_mw, unit, out.ramp_limit_mw_per_min, search_units, grid, sopt, out.smallest_fleet);
    const Index largest =
        std::max(out.smallest_fleet.maxCoeff(), out.ramp_aware_smallest_fleet.maxCoeff());
    const Real sweep_max = options.sizing_max_units > 0 ? options.sizing_max_units
                           : largest > 0                ? 2 * static_cast<Real>(largest)
                                                        : search_max;
    report("sizing sweep", 0);
    const Index points = options.sizing_points;
    for (Index p = 0; p < points; ++p) {
        const Real units =
            std::round(sweep_max * static_cast<Real>(p) / static_cast<Real>(points - 1));
        out.sizing.push_back({units, Vector(S), Vector(S)});
    }
    // Size 0 is the load as it comes.
    std::vector<std::size_t> sized;
    for (std::size_t p = 0; p < out.sizing.size(); ++p) {
        SizingPoint& point = out.sizing[p];
        if (point.units > 0) {
            sized.push_back(p);
            continue;
        }
        for (Index s = 0; s < S; ++s)
            point.max_ramp_mw_per_min[s] = point.ramp_aware_max_ramp_mw_per_min[s] =
                detail::max_ramp_per_minute(out.load_mw.col(s), dt);
    }
    // Several fleet sizes per call when there are fewer scenarios than cores: one scenario
    // alone would leave every core but one idle through a day-long QP per size. The columns are
    // solved independently, so the results are those of one call per size.
    const auto n_sized = static_cast<Index>(sized.size());
    const Index per_call =
        std::max<Index>(1, (detail::cpu::thread_count(options.threads, n_sized * S) + S - 1) / S);
    for (Index first = 0; first < n_sized; first += per_call) {
        const Index n = std::min(per_call, n_sized - first);
        Matrix loads(T, n * S);
        std::vector<BatteryFleet> fleets;
        for (Index i = 0; i < n; ++i) {
            loads.middleCols(i * S, S) = out.load_mw;
            const Real units = out.sizing[sized[static_cast<std::size_t>(first + i)]].units;
            fleets.insert(fleets.end(), static_cast<std::size_t>(S),
                          BatteryFleet::from_units(unit, units));
        }
        const Matrix grid_mw = dispatch(loads, fleets, {grid}, dopt).grid_mw;
        const Matrix ramp_aware_mw = smooth_dispatch(loads, fleets, {grid}, sopt).grid_mw;
        for (Index i = 0; i < n; ++i) {
            SizingPoint& point = out.sizing[sized[static_cast<std::size_t>(first + i)]];
            for (Index s = 0; s < S; ++s) {
                point.max_ramp_mw_per_min[s] =
                    detail::max_ramp_per_minute(grid_mw.col(i * S + s), dt);
                point.ramp_aware_max_ramp_mw_per_min[s] =
                    detail::max_ramp_per_minute(ramp_aware_mw.col(i * S + s), dt);
            }
        }
        report("sizing sweep", static_cast<double>(first + n) / static_cast<double>(n_sized));
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report("done", 1);
    return out;
}

}  // namespace

StudyResult run_study(const Network& net, const StudyOptions& options,
                      const StudyProgress& progress) {
    return study(net, options, nullptr, progress);
}

StudyResult run_study(const Network& net, const StudyOptions& options, Communicator& comm,
                      const StudyProgress& progress) {
    return study(net, options, &comm, progress);
}

void write_study(const StudyResult& r, const Network& net, const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(ErrorKind::io, dir + ": cannot create directory: " + ec.message());
    auto open = [&](const std::string& name) {
        std::ofstream f(fs::path(dir) / name);
        if (!f) throw Error(ErrorKind::io, (fs::path(dir) / name).string() + ": cannot write");
        f.imbue(std::locale::classic());  // a decimal point under any global C++ locale
        f << std::setprecision(10);
        return f;
    };
    const Index T = r.load_mw.rows(), S = r.load_mw.cols();
    const Real dt = r.options.dt_seconds;
    {
        auto f = open("summary.csv");
        f << "scenario,strategy,peak_mw,max_ramp_mw_per_s,max_ramp_mw_per_min,std_mw,"
             "band_0.1_20hz_mw2,poi_vm_min,poi_vm_max,poi_max_dv_step,max_branch_loading_pct,"
             "voltage_violations,ac_not_converged,soc_min_mwh,soc_max_mwh,throughput_mwh,"
             "equivalent_full_cycles,time_at_soc_limits_s,losses_mwh\n";
        for (Index s = 0; s < S; ++s)
            for (Strategy k : kStrategies) {
                const StrategyOutcome& o = r.outcomes[static_cast<std::size_t>(k)];
                const auto& m = o.metrics;
                const Index band = m.band_energy.rows() - 1;
                f << s << "," << to_string(k) << "," << m.peak_mw[s] << ","
                  << m.max_ramp_mw_per_s[s] << "," << m.max_ramp_mw_per_min[s] << "," << m.std_mw[s]
                  << "," << (band >= 0 ? m.band_energy(band, s) : 0.0) << "," << o.poi_vm_min[s]
                  << "," << o.poi_vm_max[s] << "," << o.poi_max_dv_step[s] << ","
                  << o.peak_loading[s] << "," << o.voltage_violations[s] << ","
                  << o.ac_not_converged[s] << "," << o.dispatch.soc_mwh.col(s).minCoeff() << ","
                  << o.dispatch.soc_mwh.col(s).maxCoeff() << "," << m.throughput_mwh[s] << ","
                  << m.equivalent_full_cycles[s] << "," << m.time_at_soc_limits_s[s] << ","
                  << m.losses_mwh[s] << "\n";
            }
    }
    {
        auto f = open("timeseries.csv");
        f << "scenario,time_s,campus_load_mw";
        for (Strategy k : kStrategies) f << ",grid_" << to_string(k) << "_mw";
        for (Strategy k : kStrategies)
            if (k != Strategy::none)
                f << ",battery_" << to_string(k) << "_mw,soc_" << to_string(k) << "_mwh";
        for (Strategy k : kStrategies) f << ",poi_vm_" << to_string(k);
        for (Strategy k : kStrategies) f << ",max_loading_" << to_string(k) << "_pct";
        f << "\n";
        for (Index s = 0; s < S; ++s)
            for (Index t = 0; t < T; ++t) {
                f << s << "," << static_cast<Real>(t) * dt << "," << r.load_mw(t, s);
                for (const auto& o : r.outcomes) f << "," << o.dispatch.grid_mw(t, s);
                for (Strategy k : kStrategies) {
                    if (k == Strategy::none) continue;
                    const DispatchResult& d = r.outcomes[static_cast<std::size_t>(k)].dispatch;
                    f << "," << d.battery_mw(t, s) << "," << d.soc_mwh(t + 1, s);
                }
                for (const auto& o : r.outcomes) f << "," << o.poi_vm(t, s);
                for (const auto& o : r.outcomes) f << "," << o.max_loading(t, s);
                f << "\n";
            }
    }
    {
        auto f = open("spectrum.csv");
        std::vector<std::pair<Vector, Vector>> psd;
        for (const auto& o : r.outcomes)
            psd.push_back(welch_psd(o.dispatch.grid_mw.col(0), dt, 1024));
        f << "freq_hz";
        for (Strategy k : kStrategies) f << ",psd_" << to_string(k);
        f << "\n";
        for (Index i = 0; i < psd[0].first.size(); ++i) {
            f << psd[0].first[i];
            for (const auto& p : psd) f << "," << p.second[i];
            f << "\n";
        }
    }
    {
        auto f = open("sizing.csv");
        f << "scenario,units,max_ramp_mw_per_min,ramp_aware_max_ramp_mw_per_min,"
             "ramp_limit_mw_per_min,smallest_fleet_units,ramp_aware_smallest_fleet_units\n";
        for (Index s = 0; s < S; ++s)
            for (const auto& p : r.sizing)
                f << s << "," << p.units << "," << p.max_ramp_mw_per_min[s] << ","
                  << p.ramp_aware_max_ramp_mw_per_min[s] << "," << r.ramp_limit_mw_per_min << ","
                  << r.smallest_fleet[s] << "," << r.ramp_aware_smallest_fleet[s] << "\n";
    }
    {
        auto f = open("voltage_violations.csv");
        f << "strategy,scenario,time_s,bus_id,vm\n";
        for (const auto& v : r.voltage_violations)
            f << to_string(v.strategy) << "," << v.scenario << "," << static_cast<Real>(v.step) * dt
              << "," << v.bus << "," << v.vm << "\n";
    }
    {
        auto f = open("n1.csv");
        f << "strategy,scenario,time_s,base_max_loading_pct,worst_post_outage_loading_pct,"
             "outage_from,outage_to,branch_from,branch_to,violations_over_100pct,"
             "ac_worst_post_outage_loading_pct,ac_outage_from,ac_outage_to,ac_branch_from,"
             "ac_branch_to,ac_min_poi_vm,ac_min_poi_vm_outage_from,ac_min_poi_vm_outage_to,"
             "ac_min_vm,ac_min_vm_bus,ac_min_vm_outage_from,ac_min_vm_outage_to,"
             "ac_not_converged,ac_islanding,ac_poi_cut_off\n";
        const auto& br = net.branches();
        // A branch's ends (two cells, empty where there is none) and a number (empty for NaN).
        const auto ends = [&](Index k) {
            if (k >= 0)
                f << br.from[k] << "," << br.to[k];
            else
                f << ",";
        };
        const auto value = [&](Real v) {
            if (!std::isnan(v)) f << v;
        };
        for (const auto& n : r.n1) {
            f << to_string(n.strategy) << "," << n.scenario << "," << static_cast<Real>(n.step) * dt
              << "," << n.base_max_loading << "," << n.worst_loading_percent << ",";
            ends(n.worst_outage);
            f << ",";
            ends(n.worst_branch);
            f << "," << n.n_violations << ",";
            value(n.ac_worst_loading_percent);
            f << ",";
            ends(n.ac_worst_outage);
            f << ",";
            ends(n.ac_worst_branch);
            f << ",";
            value(n.ac_min_poi_vm);
            f << ",";
            ends(n.ac_min_poi_vm_outage);
            f << ",";
            value(n.ac_min_vm);
            f << ",";
            if (n.ac_min_vm_bus >= 0) f << n.ac_min_vm_bus;
            f << ",";
            ends(n.ac_min_vm_outage);
            f << "," << n.ac_not_converged << "," << n.ac_islanding << "," << n.ac_poi_cut_off
              << "\n";
        }
    }
}

}  // namespace gridbatch
