// The physics every dispatch result must obey, checked from the battery power alone: shared by
// the tests of dispatch() and smooth_dispatch().
#pragma once

#include "gridbatch/battery_dispatch.hpp"

namespace gridbatch::test {

struct PhysicalTolerance {
    Real grid = 1e-9;        // MW over the import limit or under zero without export
    Real terminal = 1e-9;    // terminal condition, relative to 1 + the fleet's MWh
    bool soc_window = true;  // check the SoC window and the terminal condition at all
};

// Scenario s: grid draw = load - battery power, the battery's power limits, the grid's import
// (and, without export, zero) limit, the SoC recomputed step by step with dispatch()'s loss model
// (efficiencies and self-discharge), the SoC window and the terminal condition. SoC and balance
// to 1e-9 (relative to 1 + the fleet's MWh, resp. the load).
void expect_physical(const MatrixView& load, const DispatchResult& r, const BatteryFleet& f,
                     const GridConnection& g, Real dt_seconds, Index s,
                     const PhysicalTolerance& tol = {});

}  // namespace gridbatch::test
