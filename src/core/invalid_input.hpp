// One way to refuse bad input in the dispatch and load-profile code: throw, print a number in the
// message, check a field.
#pragma once

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch::detail {

[[noreturn]] inline void fail(const std::string& message) {
    throw Error(ErrorKind::invalid_input, message);
}

// A number as a stream prints it ("0.5", "1e+20"; std::to_string would give "0.500000").
inline std::string num(Real v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

// Throws "<where>: <field> must be <expected> (got <value>)" unless `ok`.
inline void require(bool ok, const std::string& where, const std::string& field, Real value,
                    const std::string& expected) {
    if (!ok) fail(where + ": " + field + " must be " + expected + " (got " + num(value) + ")");
}

// Throws "<who>: load[step t, scenario s] is <v>; ..." at the first load that is not finite or
// is negative (smoothing needs a site load). One check for dispatch, smooth_dispatch and their
// sharded and chunked forms, which run it on the whole batch first so that the scenario number is
// the caller's.
inline void check_site_load(const MatrixView& load, const std::string& who) {
    for (Index s = 0; s < load.cols(); ++s)
        for (Index t = 0; t < load.rows(); ++t) {
            const Real v = load(t, s);
            if (!std::isfinite(v) || v < 0)
                fail(who + ": load[step " + std::to_string(t) + ", scenario " + std::to_string(s) +
                     "] is " + num(v) +
                     (v < 0 ? " MW; smoothing needs a non-negative site load"
                            : "; loads must be finite"));
        }
}

// Throws "<who>: fleets has n entries; expected 1 (shared) or S (one per scenario)" (and for
// grids), then the first fleet or grid connection that is not valid, named as its scenario's.
// One check for dispatch and smooth_dispatch.
inline void check_fleets_and_grids(const std::vector<BatteryFleet>& fleets,
                                   const std::vector<GridConnection>& grids, Index S,
                                   const std::string& who) {
    for (auto [n, what] : {std::pair{fleets.size(), "fleets"}, {grids.size(), "grids"}})
        if (n != 1 && static_cast<Index>(n) != S)
            fail(who + ": " + what + " has " + std::to_string(n) +
                 " entries; expected 1 (shared) or " + std::to_string(S) + " (one per scenario)");
    for (std::size_t i = 0; i < fleets.size(); ++i)
        fleets[i].validate(fleets.size() == 1 ? "fleet (shared)"
                                              : "fleet of scenario " + std::to_string(i));
    for (std::size_t i = 0; i < grids.size(); ++i)
        grids[i].validate(grids.size() == 1 ? "grid connection (shared)"
                                            : "grid connection of scenario " + std::to_string(i));
}

}  // namespace gridbatch::detail
