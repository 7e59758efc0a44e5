// One way to refuse bad input in the dispatch and load-profile code: throw, print a number in the
// message, check a field.
#pragma once

#include <cmath>
#include <sstream>
#include <string>

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

}  // namespace gridbatch::detail
