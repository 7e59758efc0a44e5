#include "fleet_sizing.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/invalid_input.hpp"

namespace gridbatch::detail {

Real max_ramp(const Eigen::Ref<const Vector>& g, Index lag) {
    const Index T = g.size();
    if (T < 2) return 0;
    lag = std::min(lag, T - 1);
    Real r = 0;
    for (Index t = 0; t + lag < T; ++t) r = std::max(r, std::abs(g[t + lag] - g[t]));
    return r;
}

Index steps_per_minute(Real dt_seconds) {
    return std::max<Index>(1, std::lround(60.0 / dt_seconds));
}

IndexVector smallest_fleet(const std::string& what, const MatrixView& load, const BatteryUnit& unit,
                           Real ramp_limit_mw_per_min, Index max_units, Real dt_seconds,
                           const IndexVector& first_probe, const SizingDispatch& run) {
    require(ramp_limit_mw_per_min > 0, what, "ramp_limit_mw_per_min", ramp_limit_mw_per_min, "> 0");
    if (max_units < 1)
        fail(what + ": max_units must be >= 1 (got " + std::to_string(max_units) + ")");
    require(dt_seconds > 0 && std::isfinite(dt_seconds), what, "dt_seconds", dt_seconds, "> 0");
    const Index T = load.rows(), S = load.cols();
    if (first_probe.size() != 0 && first_probe.size() != S)
        fail(what + ": first_probe has " + std::to_string(first_probe.size()) +
             " entries; expected " + std::to_string(S) + " (one per scenario) or none");
    const Index lag = steps_per_minute(dt_seconds);
    const Real limit = ramp_limit_mw_per_min * (1 + 1e-12);

    // Per scenario: lo fails (-1: nothing known to), hi meets (max_units + 1: nothing known to),
    // and the counts to try before bisecting, in order: none where the load alone meets the ramp
    // limit (with no units the grid draws the load), the caller's probe, max_units (so that a
    // scenario no fleet can serve costs a round or two, not a bisection's worth of failing
    // solves).
    IndexVector lo = IndexVector::Constant(S, -1), hi = IndexVector::Constant(S, max_units + 1);
    std::vector<std::array<Index, 3>> planned(static_cast<std::size_t>(S));
    std::vector<int> planned_count(static_cast<std::size_t>(S), 0);
    for (Index s = 0; s < S; ++s) {
        auto& p = planned[static_cast<std::size_t>(s)];
        int& count = planned_count[static_cast<std::size_t>(s)];
        if (max_ramp(load.col(s), lag) <= limit)
            p[count++] = 0;
        else
            lo[s] = 0;
        if (first_probe.size() != 0 && first_probe[s] >= 1 && first_probe[s] < max_units)
            p[count++] = first_probe[s];
        p[count++] = max_units;
    }
    std::vector<int> tried(static_cast<std::size_t>(S), 0);  // planned counts consumed
    // The next count to try for scenario s, or -1 where its answer is known.
    const auto next = [&](Index s) -> Index {
        const auto& p = planned[static_cast<std::size_t>(s)];
        int& k = tried[static_cast<std::size_t>(s)];
        for (; k < planned_count[static_cast<std::size_t>(s)]; ++k)
            if (p[k] > lo[s] && p[k] < hi[s]) return p[k++];
        return hi[s] - lo[s] > 1 ? lo[s] + (hi[s] - lo[s]) / 2 : -1;
    };
    for (;;) {
        std::vector<Index> cols, units;
        for (Index s = 0; s < S; ++s) {
            const Index n = next(s);
            if (n < 0) continue;
            cols.push_back(s);
            units.push_back(n);
        }
        if (cols.empty()) break;
        const auto open = static_cast<Index>(cols.size());
        Matrix sub(T, open);
        std::vector<BatteryFleet> fleets;
        for (Index i = 0; i < open; ++i) {
            sub.col(i) = load.col(cols[i]);
            fleets.push_back(BatteryFleet::from_units(unit, static_cast<Real>(units[i])));
        }
        const DispatchResult r = run(sub, fleets);
        for (Index i = 0; i < open; ++i) {
            const bool ok =
                r.report.at(i) == Status::converged && max_ramp(r.grid_mw.col(i), lag) <= limit;
            (ok ? hi : lo)[cols[i]] = units[i];
        }
    }
    IndexVector answer(S);
    for (Index s = 0; s < S; ++s) answer[s] = hi[s] <= max_units ? hi[s] : -1;
    return answer;
}

}  // namespace gridbatch::detail
