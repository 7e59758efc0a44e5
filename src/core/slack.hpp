// The participation factors a distributed slack uses: the caller's, or by default Pmax of each
// generator (a negative Pmax counts as 0), so large units take a larger share, the usual proxy
// for governor droop. One per generator; the caller skips inactive ones.
#pragma once

#include "gridbatch/network.hpp"

namespace gridbatch::detail {

inline Vector participation_factors(const Network& net, const Vector& participation) {
    return participation.size() ? participation : Vector(net.generators().pmax.cwiseMax(0.0));
}

}  // namespace gridbatch::detail
