// Branch outages on the graph of active branches: which branches can be taken out, which outages
// split the network (bridges), and which buses an outage cuts off from every reference bus.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "gridbatch/network.hpp"

namespace gridbatch::detail {

// Throws Error unless k is a branch row of net in service (or -1, "none", where allowed), naming
// `entry` (e.g. "AcBatch.outage[3] = 7") and the branch.
void require_outage(const Network& net, Index k, const std::string& entry, bool none_allowed);

class BranchGraph {
public:
    explicit BranchGraph(const Network& net);

    // Per branch, true where taking it out splits an island of the network (a bridge; Tarjan's
    // low links, iterative; a parallel branch is never one). With `reference` (per bus, nonzero
    // for a reference bus), only the bridges that leave buses outside the power flow's reach
    // count: one side holds no reference bus and at least one bus that is not isolated.
    std::vector<bool> bridges(const std::vector<char>* reference = nullptr) const;

    // The buses, not isolated, on the side of branch k without a reference bus once k is out
    // (ascending); empty where both sides keep one.
    std::vector<int> cut_off(Index k, const std::vector<char>& reference) const;

private:
    const Network& net_;
    std::vector<std::vector<std::pair<int, int>>> adj_;  // per bus: (neighbour, branch)
};

}  // namespace gridbatch::detail
