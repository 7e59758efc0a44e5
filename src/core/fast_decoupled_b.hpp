// The fast-decoupled method's B' and B'' (MATPOWER 8's models), built once per network by
// AcPowerFlow. The host-run tests of the device steps build them with this same code.
#pragma once

#include "engine/ac_engine.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/network.hpp"

namespace gridbatch::detail {

// Fills p.b_prime and p.b_double_prime for `alg` (fast_decoupled_xb or fast_decoupled_bx).
void make_fast_decoupled_b(const Network& net, AcAlgorithm alg, PreparedAcNetwork& p);

}  // namespace gridbatch::detail
