// Battery dispatch front end: presets, validation at the boundary, conversion to the plain
// per-scenario parameters of core/dispatch/fleet_model.hpp, backend choice.
#include "gridbatch/battery_dispatch.hpp"

#include <cmath>

#include "core/invalid_input.hpp"
#include "core/memory.hpp"
#include "engine/dispatch_engine.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {

using detail::fail;
using detail::num;
using detail::require;

BatteryUnit battery_unit(const std::string& name) {
    // Tesla Megapack 2 XL datasheet: 2-hour 1,927 kW / 3,854 kWh, 4-hour 979 kW / 3,916 kWh,
    // round trip ~92% (the planning figure; the 4-hour unit is quoted slightly higher).
    if (name == "megapack-2h" || name == "megapack2xl-2h") return {name, 3.854, 1.927, 1.927, 0.92};
    if (name == "megapack-4h" || name == "megapack2xl-4h") return {name, 3.916, 0.979, 0.979, 0.92};
    std::string known;
    for (const auto& n : battery_unit_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown battery unit '" + name + "' (known: " + known + ")");
}

std::vector<std::string> battery_unit_names() { return {"megapack-2h", "megapack-4h"}; }

BatteryFleet BatteryFleet::from_units(const BatteryUnit& unit, Real units) {
    require(std::isfinite(units) && units >= 0, "BatteryFleet::from_units", "units", units,
            "finite and >= 0");
    BatteryFleet f;
    f.energy_mwh = unit.energy_mwh * units;
    f.charge_mw = unit.charge_mw * units;
    f.discharge_mw = unit.discharge_mw * units;
    f.charge_efficiency = f.discharge_efficiency = std::sqrt(unit.round_trip_efficiency);
    f.soc_min = 0.05;
    f.soc_max = 0.95;
    f.initial_soc = 0.5;
    return f;
}

void BatteryFleet::validate(const std::string& where) const {
    require(std::isfinite(energy_mwh) && energy_mwh >= 0, where, "energy_mwh", energy_mwh,
            "finite and >= 0");
    require(std::isfinite(charge_mw) && charge_mw >= 0, where, "charge_mw", charge_mw,
            "finite and >= 0");
    require(std::isfinite(discharge_mw) && discharge_mw >= 0, where, "discharge_mw", discharge_mw,
            "finite and >= 0");
    require(charge_efficiency > 0 && charge_efficiency <= 1, where, "charge_efficiency",
            charge_efficiency, "in (0, 1]");
    require(discharge_efficiency > 0 && discharge_efficiency <= 1, where, "discharge_efficiency",
            discharge_efficiency, "in (0, 1]");
    require(self_discharge_per_hour >= 0 && self_discharge_per_hour < 1, where,
            "self_discharge_per_hour", self_discharge_per_hour, "in [0, 1)");
    require(soc_min >= 0 && soc_min <= 1, where, "soc_min", soc_min, "in [0, 1]");
    require(soc_max >= 0 && soc_max <= 1, where, "soc_max", soc_max, "in [0, 1]");
    if (soc_min > soc_max)
        fail(where + ": soc_min (" + num(soc_min) + ") is above soc_max (" + num(soc_max) + ")");
    require(initial_soc >= soc_min && initial_soc <= soc_max, where, "initial_soc", initial_soc,
            "within [soc_min, soc_max] = [" + num(soc_min) + ", " + num(soc_max) + "]");
    require(std::isfinite(throughput_cost) && throughput_cost >= 0, where, "throughput_cost",
            throughput_cost, "finite and >= 0");
    require(!std::isnan(ramp_limit_mw_per_s) && ramp_limit_mw_per_s > 0, where,
            "ramp_limit_mw_per_s", ramp_limit_mw_per_s, "> 0 (infinite for none)");
}

void GridConnection::validate(const std::string& where) const {
    require(!std::isnan(import_limit_mw) && import_limit_mw >= 0, where, "import_limit_mw",
            import_limit_mw, ">= 0");
    require(std::isfinite(backup_mw) && backup_mw >= 0, where, "backup_mw", backup_mw,
            "finite and >= 0");
    require(!std::isnan(backup_ramp_mw_per_s) && backup_ramp_mw_per_s > 0, where,
            "backup_ramp_mw_per_s", backup_ramp_mw_per_s, "> 0 (infinite for none)");
    require(std::isfinite(backup_cost_per_mwh) && backup_cost_per_mwh >= 0, where,
            "backup_cost_per_mwh", backup_cost_per_mwh, "finite and >= 0");
}

const char* to_string(DispatchMethod method) noexcept {
    switch (method) {
        case DispatchMethod::automatic:
            return "automatic";
        case DispatchMethod::taut_string:
            return "taut_string";
        case DispatchMethod::dynamic_program:
            return "dynamic_program";
    }
    return "unknown";
}

void DispatchOptions::validate() const {
    require(std::isfinite(dt_seconds) && dt_seconds > 0, "DispatchOptions", "dt_seconds",
            dt_seconds, "finite and > 0");
    require(threads >= 0, "DispatchOptions", "threads", threads, ">= 0 (0 = all cores)");
}

namespace detail {

std::unique_ptr<DispatchEngine> make_dispatch_engine(Backend backend, int threads, int device) {
    return backend == Backend::cuda ? cuda::make_dispatch_engine(device)
                                    : cpu::make_dispatch_engine(threads);
}

namespace {

dispatch::FleetParams convert(const BatteryFleet& f, const GridConnection& g, Real hours) {
    dispatch::FleetParams p;
    p.e_min = f.soc_min * f.energy_mwh;
    p.e_max = f.soc_max * f.energy_mwh;
    p.e_init = f.initial_soc * f.energy_mwh;
    p.p_charge = f.charge_mw;
    p.p_discharge = f.discharge_mw;
    p.eta_c = f.charge_efficiency;
    p.eta_d = f.discharge_efficiency;
    p.decay = 1.0 - f.self_discharge_per_hour * hours;
    p.kappa = f.throughput_cost;
    p.target = 0;
    p.terminal = static_cast<int>(f.terminal);
    p.g_min = g.export_allowed ? -HUGE_VAL : 0.0;
    p.g_max = g.import_limit_mw;
    return p;
}

}  // namespace

void check_dispatch_inputs(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                           const std::vector<GridConnection>& grids,
                           const DispatchOptions& options) {
    options.validate();
    const Index S = load.cols();
    check_fleets_and_grids(fleets, grids, S, "dispatch");
    for (std::size_t i = 0; i < fleets.size(); ++i)
        if (std::isfinite(fleets[i].ramp_limit_mw_per_s))
            fail(
                (fleets.size() == 1 ? "fleet (shared)" : "fleet of scenario " + std::to_string(i)) +
                ": ramp_limit_mw_per_s = " + num(fleets[i].ramp_limit_mw_per_s) +
                ": dispatch() does not model a battery ramp limit; smooth_dispatch() does");
    for (std::size_t i = 0; i < grids.size(); ++i)
        if (grids[i].backup_mw > 0)
            fail((grids.size() == 1 ? "grid connection (shared)"
                                    : "grid connection of scenario " + std::to_string(i)) +
                 ": backup_mw = " + num(grids[i].backup_mw) +
                 ": dispatch() does not model backup generation; smooth_dispatch() does");
    detail::check_site_load(load, "dispatch");
    if (options.method == DispatchMethod::taut_string)
        for (Index s = 0; s < S; ++s) {
            const BatteryFleet& f = fleets[fleets.size() == 1 ? 0 : s];
            if (!f.lossless() || f.terminal == TerminalCondition::free)
                fail(
                    "DispatchMethod::taut_string needs a lossless fleet (efficiencies 1, no "
                    "self-discharge, no throughput cost) with a terminal condition other than "
                    "free; scenario " +
                    std::to_string(s) + " has none");
        }
}

std::vector<dispatch::FleetParams> prepare(const MatrixView& load,
                                           const std::vector<BatteryFleet>& fleets,
                                           const std::vector<GridConnection>& grids,
                                           const DispatchOptions& options) {
    check_dispatch_inputs(load, fleets, grids, options);
    const Index S = load.cols();
    const Real hours = options.dt_seconds / 3600.0;
    std::vector<dispatch::FleetParams> params(static_cast<std::size_t>(S));
    for (Index s = 0; s < S; ++s) {
        params[s] =
            convert(fleets[fleets.size() == 1 ? 0 : s], grids[grids.size() == 1 ? 0 : s], hours);
        if (load.rows() > 0 && options.target == SmoothingTarget::min_load)
            params[s].target = load.col(s).minCoeff();
        if (load.rows() > 0 && options.target == SmoothingTarget::mean_load)
            params[s].target = load.col(s).mean();
    }
    return params;
}

}  // namespace detail

namespace {

// Loads beyond ~1e150 MW pass the finiteness check but square to infinity in the objective, where
// optimality means nothing: such a scenario is diverged, not optimal.
void flag_overflow(DispatchResult& out) {
    for (Index s = 0; s < out.report.size(); ++s)
        if (out.report.at(s) == Status::converged && !std::isfinite(out.objective[s]))
            out.report.status[s] = static_cast<std::int8_t>(Status::diverged);
}

}  // namespace

DispatchResult dispatch(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                        const std::vector<GridConnection>& grids, const DispatchOptions& options) {
    const auto params = detail::prepare(load, fleets, grids, options);
    const Backend backend = resolve_backend(options.backend);
    detail::require_host_memory(
        8.0 * static_cast<double>(load.cols()) * static_cast<double>(3 * load.rows() + 8),
        "dispatch of " + std::to_string(load.cols()) + " scenarios x " +
            std::to_string(load.rows()) + " steps");
    DispatchResult out = detail::allocate(load.rows(), load.cols(), backend);
    auto engine = detail::make_dispatch_engine(backend, options.threads, options.device);
    engine->solve(load, params, options.dt_seconds / 3600.0, static_cast<int>(options.method), out);
    flag_overflow(out);
    return out;
}

DispatchResult causal_filter(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                             Real dt_seconds, const CausalFilterOptions& options) {
    DispatchOptions dopt;
    dopt.dt_seconds = dt_seconds;
    require(options.time_constant_s > 0, "CausalFilterOptions", "time_constant_s",
            options.time_constant_s, "> 0");
    require(options.soc_gain_per_hour >= 0, "CausalFilterOptions", "soc_gain_per_hour",
            options.soc_gain_per_hour, ">= 0");
    const auto params = detail::prepare(load, fleets, {GridConnection{}}, dopt);
    const Index T = load.rows(), S = load.cols();
    DispatchResult out = detail::allocate(T, S, Backend::cpu);
    const Real h = dt_seconds / 3600.0;
    const Real alpha = 1.0 - std::exp(-dt_seconds / options.time_constant_s);
    for (Index s = 0; s < S; ++s) {
        const detail::dispatch::FleetParams& f = params[s];
        Real e = f.e_init, smooth = T > 0 ? load(0, s) : 0;
        for (Index t = 0; t < T; ++t) {
            const Real L = load(t, s);
            smooth += alpha * (L - smooth);
            // SoC feedback: draw more when below the set point, less when above.
            const Real target = smooth + options.soc_gain_per_hour * (f.e_init - e);
            Real b = L - target;
            // Power limits, then energy limits of this step (exactly, through the losses).
            b = std::min(std::max(b, -f.p_charge), f.p_discharge);
            const Real room_down = f.decay * e - f.e_min, room_up = f.e_max - f.decay * e;
            if (b > 0) b = std::min(b, std::max(0.0, room_down) * f.eta_d / h);
            if (b < 0) b = std::max(b, -std::max(0.0, room_up) / (f.eta_c * h));
            // Self-discharge alone takes a battery at its floor below it: charge just enough.
            if (room_down < 0) b = std::max(-f.p_charge, std::min(b, room_down / (f.eta_c * h)));
            out.battery_mw(t, s) = b;
            e = f.decay * e - detail::dispatch::stored_energy_drawn(b, h, f);
        }
        detail::dispatch::Outcome o{0, -1, 0, 0, 0, 0};
        detail::dispatch::finish_outcome(load.col(s).data(), 1, T, h, f,
                                         out.battery_mw.col(s).data(), out.soc_mwh.col(s).data(),
                                         out.grid_mw.col(s).data(), o);
        out.objective[s] = o.objective;
        out.report.status[s] = 0;
    }
    flag_overflow(out);
    return out;
}

}  // namespace gridbatch
