// The participation factors a distributed slack uses: the caller's, or by default Pmax of each
// generator (a negative Pmax counts as 0), so large units take a larger share, the usual proxy
// for governor droop. One per generator; the caller skips inactive ones.
#pragma once

#include <cmath>
#include <string>

#include "core/invalid_input.hpp"
#include "gridbatch/network.hpp"

namespace gridbatch::detail {

// Throws "<who>.participation has N entries; expected one per generator (M)", or names the
// first factor that is not finite and >= 0: "<who>.participation[g] (generator row g + 1, bus
// B) must be ...". One check for the DC and AC power flows.
inline void check_participation(const Network& net, const Vector& participation,
                                const std::string& who) {
    if (participation.size() != net.n_gen())
        fail(who + ".participation has " + std::to_string(participation.size()) +
             " entries; expected one per generator (" + std::to_string(net.n_gen()) + ")");
    for (Index g = 0; g < participation.size(); ++g)
        if (!(participation[g] >= 0) || !std::isfinite(participation[g]))
            fail(who + ".participation[" + std::to_string(g) + "] (generator row " +
                 std::to_string(g + 1) + ", bus " + std::to_string(net.generators().bus[g]) +
                 ") must be finite and >= 0 (got " + num(participation[g]) + ")");
}

inline Vector participation_factors(const Network& net, const Vector& participation) {
    return participation.size() ? participation : Vector(net.generators().pmax.cwiseMax(0.0));
}

}  // namespace gridbatch::detail
