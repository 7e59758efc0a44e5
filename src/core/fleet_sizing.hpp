// Fleet sizing for a ramp limit, shared by size_fleet (the optimal dispatch) and
// smallest_fleet_for_ramp (the ramp-aware one), and the ramp measure they, dispatch_metrics and
// the study report.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "gridbatch/battery_dispatch.hpp"

namespace gridbatch::detail {

// Largest |g(t + 60 s) - g(t)| over the steps t of a series sampled every dt_seconds, g linear
// between samples: the change over whole steps where dt divides a minute, and for any dt a
// steady ramp's per-minute rate (a lag rounded to whole steps read 63 MW/min for 1 MW/s at
// dt = 7 s, 300 at dt = 300 s). A series shorter than a minute: its largest change over its
// span; 0 below 2 steps.
Real max_ramp_per_minute(const Eigen::Ref<const Vector>& g, Real dt_seconds);

// The dispatch of scenarios whose loads are the columns of `load`, fleet i for column i.
using SizingDispatch =
    std::function<DispatchResult(const Matrix& load, const std::vector<BatteryFleet>& fleets)>;

// Smallest unit count in [0, max_units] per scenario (column of `load`) whose dispatch converges
// and keeps every per-minute grid ramp within the limit; -1 where max_units is not enough.
// Bisection batched over scenarios, one `run` per round for the scenarios still open; assumes
// more units never hurt. Each scenario is tried first with first_probe[s] where that is in
// [1, max_units) (else with max_units), then, where that failed, with max_units: the answer does
// not depend on the probe, a close one saves rounds. A scenario whose load alone meets the ramp
// limit is tried with no units first (the dispatch still has to meet the grid's limits).
// `columns`: how many columns `run` solves in about the time of one (its threads). Where fewer
// scenarios are open, a round also tries, for each, the counts the search would try next (the
// first nodes of its decision tree, breadth first, as many as the columns left allow): one
// scenario on 2 threads takes about 1.5 steps of the bisection per round, on 16 threads 4. The
// search then follows the tried counts as one step at a time would: the answer is the same for
// any `columns`, also where more units do hurt. `what` names the caller in errors.
IndexVector smallest_fleet(const std::string& what, const MatrixView& load, const BatteryUnit& unit,
                           Real ramp_limit_mw_per_min, Index max_units, Real dt_seconds,
                           const IndexVector& first_probe, Index columns,
                           const SizingDispatch& run);

}  // namespace gridbatch::detail
