// Receding-horizon dispatch: repeated batched dispatch() over sliding windows.
#include <algorithm>
#include <cmath>

#include "core/dispatch/counter_rng.hpp"
#include "core/invalid_input.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {

DispatchResult receding_horizon(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                                const std::vector<GridConnection>& grids,
                                const RecedingHorizonOptions& mpc, const DispatchOptions& options) {
    if (mpc.horizon_steps < 1 || mpc.replan_every < 1 || mpc.replan_every > mpc.horizon_steps)
        throw Error(ErrorKind::invalid_input,
                    "RecedingHorizonOptions: need 1 <= replan_every <= horizon_steps (got " +
                        std::to_string(mpc.replan_every) + " and " +
                        std::to_string(mpc.horizon_steps) + ")");
    if (!(mpc.forecast_noise >= 0 && mpc.forecast_noise < 1))
        throw Error(ErrorKind::invalid_input,
                    "RecedingHorizonOptions: forecast_noise must be in [0, 1) (got " +
                        detail::num(mpc.forecast_noise) + ")");
    const Index T = load.rows(), S = load.cols();
    // Validates everything once (and gives the result's shape) on an empty horizon.
    DispatchResult out = dispatch(load.topRows(0), fleets, grids, options);
    out.battery_mw.resize(T, S);
    out.grid_mw.resize(T, S);
    out.soc_mwh.resize(T + 1, S);
    std::vector<BatteryFleet> window(static_cast<std::size_t>(S));
    Vector energy(S);
    for (Index s = 0; s < S; ++s) {
        window[s] = fleets[fleets.size() == 1 ? 0 : s];
        energy[s] = window[s].initial_soc * window[s].energy_mwh;
        window[s].terminal = TerminalCondition::equal;
        out.soc_mwh(0, s) = energy[s];
    }
    const Index n_replans = (T + mpc.replan_every - 1) / mpc.replan_every;
    for (Index start = 0; start < T; start += mpc.replan_every) {
        if (mpc.before_replan) mpc.before_replan(start / mpc.replan_every, n_replans);
        const Index W = std::min(mpc.horizon_steps, T - start);
        const Index apply = std::min(mpc.replan_every, W);
        Matrix forecast = load.middleRows(start, W);
        if (mpc.forecast_noise > 0)
            for (Index s = 0; s < S; ++s)
                for (Index t = 1; t < W; ++t)
                    forecast(t, s) = std::max(
                        0.0, forecast(t, s) * (1 + mpc.forecast_noise *
                                                       detail::dispatch::normal01(
                                                           mpc.seed, s, 7, start * 1000003 + t)));
        for (Index s = 0; s < S; ++s) {
            BatteryFleet& f = window[s];
            // Rounding may leave the carried SoC a hair outside the window.
            f.initial_soc = f.energy_mwh > 0
                                ? std::min(f.soc_max, std::max(f.soc_min, energy[s] / f.energy_mwh))
                                : f.initial_soc;
        }
        const DispatchResult plan = dispatch(forecast, window, grids, options);
        for (Index s = 0; s < S; ++s) {
            out.battery_mw.block(start, s, apply, 1) = plan.battery_mw.block(0, s, apply, 1);
            out.soc_mwh.block(start + 1, s, apply, 1) = plan.soc_mwh.block(1, s, apply, 1);
            energy[s] = plan.soc_mwh(apply, s);
            if (plan.report.at(s) == Status::infeasible && out.infeasible_step[s] < 0) {
                out.report.status[s] = static_cast<std::int8_t>(Status::infeasible);
                out.infeasible_step[s] = start + std::min(plan.infeasible_step[s], W - 1);
                out.violation[s] = plan.violation[s];
                out.violation_kind[s] = plan.violation_kind[s];
            }
            out.relaxed_steps[s] += plan.relaxed_steps[s];
            out.method[s] = std::max(out.method[s], plan.method[s]);
        }
    }
    const Real h = options.dt_seconds / 3600.0;
    for (Index s = 0; s < S; ++s) {
        const BatteryFleet& f = fleets[fleets.size() == 1 ? 0 : s];
        const auto L = load.col(s);
        const Real z = T == 0                                         ? 0.0
                       : options.target == SmoothingTarget::min_load  ? L.minCoeff()
                       : options.target == SmoothingTarget::mean_load ? L.mean()
                                                                      : 0.0;
        out.grid_mw.col(s) = L - out.battery_mw.col(s);
        out.objective[s] = h * ((out.grid_mw.col(s).array() - z).square().sum() +
                                f.throughput_cost * out.battery_mw.col(s).cwiseAbs().sum());
        if (out.report.at(s) != Status::infeasible)
            out.report.status[s] = static_cast<std::int8_t>(Status::converged);
    }
    return out;
}

}  // namespace gridbatch
