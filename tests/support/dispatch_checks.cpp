#include "support/dispatch_checks.hpp"

#include <gtest/gtest.h>

namespace gridbatch::test {

void expect_physical(const MatrixView& load, const DispatchResult& r, const BatteryFleet& f,
                     const GridConnection& g, Real dt_seconds, Index s,
                     const PhysicalTolerance& tol) {
    constexpr Real kTol = 1e-9;
    const Real h = dt_seconds / 3600, a = 1 - f.self_discharge_per_hour * h;
    const Real scale = 1 + f.energy_mwh;
    Real e = f.initial_soc * f.energy_mwh;
    EXPECT_NEAR(r.soc_mwh(0, s), e, kTol * scale);
    for (Index t = 0; t < load.rows(); ++t) {
        const Real b = r.battery_mw(t, s);
        EXPECT_NEAR(r.grid_mw(t, s), load(t, s) - b, kTol * (1 + load(t, s))) << "step " << t;
        EXPECT_LE(b, f.discharge_mw + kTol) << "step " << t;
        EXPECT_GE(b, -f.charge_mw - kTol) << "step " << t;
        EXPECT_LE(r.grid_mw(t, s), g.import_limit_mw + tol.grid) << "step " << t;
        if (!g.export_allowed) {
            EXPECT_GE(r.grid_mw(t, s), -tol.grid) << "step " << t;
        }
        e = a * e - (b > 0 ? h * b / f.discharge_efficiency : h * f.charge_efficiency * b);
        EXPECT_NEAR(r.soc_mwh(t + 1, s), e, kTol * scale) << "step " << t;
        if (!tol.soc_window) continue;
        EXPECT_GE(e, f.soc_min * f.energy_mwh - kTol * scale) << "step " << t;
        EXPECT_LE(e, f.soc_max * f.energy_mwh + kTol * scale) << "step " << t;
    }
    if (!tol.soc_window) return;
    const Real e0 = f.initial_soc * f.energy_mwh;
    if (f.terminal == TerminalCondition::equal) {
        EXPECT_NEAR(e, e0, tol.terminal * scale);
    }
    if (f.terminal == TerminalCondition::at_least_initial) {
        EXPECT_GE(e, e0 - tol.terminal * scale);
    }
}

}  // namespace gridbatch::test
