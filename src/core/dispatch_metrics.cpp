// Per-scenario quality measures of a dispatch, and fleet sizing by batched bisection.
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <unsupported/Eigen/FFT>

#include "core/invalid_input.hpp"
#include "fleet_sizing.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {

DispatchMetrics dispatch_metrics(const MatrixView& load, const DispatchResult& result,
                                 const std::vector<BatteryFleet>& fleets, Real dt_seconds,
                                 const std::vector<std::pair<Real, Real>>& bands) {
    const Index T = load.rows(), S = load.cols();
    if (result.grid_mw.rows() != T || result.grid_mw.cols() != S)
        throw Error(ErrorKind::invalid_input,
                    "dispatch_metrics: result is " + std::to_string(result.grid_mw.rows()) + " x " +
                        std::to_string(result.grid_mw.cols()) + " but load is " +
                        std::to_string(T) + " x " + std::to_string(S));
    if (fleets.size() != 1 && static_cast<Index>(fleets.size()) != S)
        throw Error(ErrorKind::invalid_input, "dispatch_metrics: fleets has " +
                                                  std::to_string(fleets.size()) +
                                                  " entries; expected 1 or " + std::to_string(S));
    if (!(dt_seconds > 0) || !std::isfinite(dt_seconds))
        throw Error(ErrorKind::invalid_input,
                    "dispatch_metrics: dt_seconds must be finite and > 0 (got " +
                        detail::num(dt_seconds) + ")");
    for (const auto& b : bands)
        if (!(b.first >= 0 && b.second > b.first))
            throw Error(ErrorKind::invalid_input,
                        "dispatch_metrics: band [" + detail::num(b.first) + ", " +
                            detail::num(b.second) + "] Hz is not an interval of frequencies");
    DispatchMetrics m;
    m.bands = bands;
    // An empty horizon (T = 0) has no peak and no spread (NaN), and nothing else (0).
    m.peak_mw = Vector::Constant(S, std::numeric_limits<Real>::quiet_NaN());
    m.std_mw = m.peak_mw;
    m.max_ramp_mw_per_s = Vector::Zero(S);
    m.max_ramp_mw_per_min = Vector::Zero(S);
    m.throughput_mwh = Vector::Zero(S);
    m.equivalent_full_cycles = Vector::Zero(S);
    m.time_at_soc_limits_s = Vector::Zero(S);
    m.losses_mwh = Vector::Zero(S);
    m.band_energy = Matrix::Zero(static_cast<Index>(bands.size()), S);
    const Real h = dt_seconds / 3600.0;
    Eigen::FFT<Real> fft;
    std::vector<Real> x(static_cast<std::size_t>(T));
    std::vector<std::complex<Real>> spectrum;
    for (Index s = 0; s < S; ++s) {
        const BatteryFleet& f = fleets[fleets.size() == 1 ? 0 : s];
        const auto g = result.grid_mw.col(s);
        const auto b = result.battery_mw.col(s);
        const auto e = result.soc_mwh.col(s);
        if (T == 0) continue;
        m.peak_mw[s] = g.maxCoeff();
        if (T >= 2)
            m.max_ramp_mw_per_s[s] =
                (g.tail(T - 1) - g.head(T - 1)).cwiseAbs().maxCoeff() / dt_seconds;
        m.max_ramp_mw_per_min[s] = detail::max_ramp_per_minute(g, dt_seconds);
        const Real mean = g.mean();
        m.std_mw[s] = std::sqrt((g.array() - mean).square().sum() / static_cast<Real>(T));
        m.throughput_mwh[s] = b.cwiseAbs().sum() * h;
        m.equivalent_full_cycles[s] =
            f.energy_mwh > 0 ? m.throughput_mwh[s] / (2 * f.energy_mwh) : 0;
        const Real lo = f.soc_min * f.energy_mwh, hi = f.soc_max * f.energy_mwh;
        const Real tol = 1e-6 * (1 + f.energy_mwh);
        Index at_limit = 0;
        for (Index t = 1; t <= T; ++t) at_limit += (e[t] <= lo + tol || e[t] >= hi - tol) ? 1 : 0;
        m.time_at_soc_limits_s[s] = static_cast<Real>(at_limit) * dt_seconds;
        // Energy in minus energy stored; 0 - (...) keeps an idle battery's losses +0, not -0.
        m.losses_mwh[s] = 0.0 - b.sum() * h - (e[T] - e[0]);
        // One step has no oscillation (and Eigen's FFT of one sample crashed).
        if (bands.empty() || T < 2) continue;
        for (Index t = 0; t < T; ++t) x[t] = g[t] - mean;
        fft.fwd(spectrum, x);
        // One-sided spectrum: bins 1..T/2 stand for +-k; Parseval: sum |X_k|^2 / T = sum x^2.
        for (Index k = 0; k <= T / 2; ++k) {
            const Real freq = static_cast<Real>(k) / (static_cast<Real>(T) * dt_seconds);
            const Real weight = (k == 0 || 2 * k == T) ? 1.0 : 2.0;
            const Real power = weight * std::norm(spectrum[k]) / static_cast<Real>(T);
            for (std::size_t j = 0; j < bands.size(); ++j)
                if (freq >= bands[j].first && freq < bands[j].second)
                    m.band_energy(static_cast<Index>(j), s) += power;
        }
    }
    return m;
}

IndexVector size_fleet(const MatrixView& load, const BatteryUnit& unit, Real ramp_limit_mw_per_min,
                       Index max_units, const GridConnection& grid,
                       const DispatchOptions& options) {
    // One column per round and scenario: a dispatch takes milliseconds, and a lone scenario's
    // already runs on two threads (its dynamic program's halves).
    return detail::smallest_fleet("size_fleet", load, unit, ramp_limit_mw_per_min, max_units,
                                  options.dt_seconds, {}, 1,
                                  [&](const Matrix& l, const std::vector<BatteryFleet>& fleets) {
                                      return dispatch(l, fleets, {grid}, options);
                                  });
}

}  // namespace gridbatch
