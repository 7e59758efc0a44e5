// Bridges of the graph of active branches: the branch outages that split the network.
#pragma once

#include <vector>

#include "gridbatch/network.hpp"

namespace gridbatch::detail {

// Per branch, true where taking it out splits an island of the network (a bridge; Tarjan's low
// links, iterative; a parallel branch is never one). With `reference` (per bus, nonzero for a
// reference bus), only the bridges that leave buses outside the power flow's reach count: one
// side holds no reference bus and at least one bus that is not isolated.
std::vector<bool> bridges(const Network& net, const std::vector<char>* reference = nullptr);

}  // namespace gridbatch::detail
