#include "core/bridges.hpp"

#include <algorithm>
#include <utility>

#include "gridbatch/error.hpp"

namespace gridbatch::detail {

void require_outage(const Network& net, Index k, const std::string& entry, bool none_allowed) {
    if (k < (none_allowed ? -1 : 0) || k >= net.n_branch())
        throw Error(ErrorKind::invalid_input,
                    entry + ": the network has " + std::to_string(net.n_branch()) +
                        " branches (0.." + std::to_string(net.n_branch() - 1) +
                        (none_allowed ? ", or -1 for none)" : ")"));
    if (k >= 0 && !net.branch_active(k))
        throw Error(ErrorKind::invalid_input,
                    entry + ": branch " + std::to_string(k) + " (bus " +
                        std::to_string(net.buses().id[net.branch_from()[k]]) + " - bus " +
                        std::to_string(net.buses().id[net.branch_to()[k]]) +
                        ") is out of service in the case");
}

BranchGraph::BranchGraph(const Network& net)
    : net_(net), adj_(static_cast<std::size_t>(net.n_bus())) {
    for (Index k = 0; k < net.n_branch(); ++k)
        if (net.branch_active(k)) {
            const int f = net.branch_from()[k], t = net.branch_to()[k];
            adj_[static_cast<std::size_t>(f)].emplace_back(t, static_cast<int>(k));
            adj_[static_cast<std::size_t>(t)].emplace_back(f, static_cast<int>(k));
        }
}

std::vector<bool> BranchGraph::bridges(const std::vector<char>* reference) const {
    const Network& net = net_;
    const auto& adj = adj_;
    const Index nb = net.n_bus(), nl = net.n_branch();
    std::vector<bool> bridge(nl, false);
    std::vector<int> order(nb, -1), low(nb, 0);
    // Per bus, the reference buses and the buses inside the power flow in its DFS subtree.
    std::vector<int> refs(nb, 0), inside(nb, 0);
    for (Index i = 0; i < nb; ++i) {
        refs[i] = reference && (*reference)[static_cast<std::size_t>(i)] ? 1 : 0;
        inside[i] = net.buses().type[i] == static_cast<std::int8_t>(BusType::isolated) ? 0 : 1;
    }
    struct Frame {
        int bus, via;  // via: branch used to reach bus
        std::size_t next;
    };
    std::vector<Frame> stack;
    std::vector<std::pair<int, int>> found;  // (branch, bus below it) in the current island
    int counter = 0;
    for (Index root = 0; root < nb; ++root) {
        if (order[root] >= 0) continue;
        found.clear();
        order[root] = low[root] = counter++;
        stack.push_back({static_cast<int>(root), -1, 0});
        while (!stack.empty()) {
            Frame& top = stack.back();
            if (top.next < adj[top.bus].size()) {
                const auto [to, branch] = adj[top.bus][top.next++];
                if (branch == top.via) continue;
                if (order[to] < 0) {
                    order[to] = low[to] = counter++;
                    stack.push_back({to, branch, 0});
                } else {
                    low[top.bus] = std::min(low[top.bus], order[to]);
                }
                continue;
            }
            const Frame done = top;
            stack.pop_back();
            if (stack.empty()) break;
            const int parent = stack.back().bus;
            low[parent] = std::min(low[parent], low[done.bus]);
            refs[parent] += refs[done.bus];
            inside[parent] += inside[done.bus];
            if (low[done.bus] > order[parent]) found.emplace_back(done.via, done.bus);
        }
        for (const auto& [k, below] : found) {
            const bool orphan_below = refs[below] == 0 && inside[below] > 0;
            const bool orphan_above = refs[below] == refs[root] && inside[root] > inside[below];
            bridge[k] = !reference || orphan_below || orphan_above;
        }
    }
    return bridge;
}

std::vector<int> BranchGraph::cut_off(Index k, const std::vector<char>& reference) const {
    // One side, by breadth-first search without branch k; the other where that one holds a
    // reference bus.
    std::vector<char> seen(adj_.size(), 0);
    std::vector<int> side;
    const auto search = [&](int from) {
        side.assign(1, from);
        seen[static_cast<std::size_t>(from)] = 1;
        bool has_reference = reference[static_cast<std::size_t>(from)] != 0;
        for (std::size_t at = 0; at < side.size(); ++at)
            for (const auto& [to, branch] : adj_[static_cast<std::size_t>(side[at])]) {
                if (branch == k || seen[static_cast<std::size_t>(to)]) continue;
                seen[static_cast<std::size_t>(to)] = 1;
                has_reference = has_reference || reference[static_cast<std::size_t>(to)] != 0;
                side.push_back(to);
            }
        return !has_reference;
    };
    const int from = net_.branch_from()[k], to = net_.branch_to()[k];
    bool orphan = search(to);
    if (!orphan && !seen[static_cast<std::size_t>(from)]) orphan = search(from);
    if (!orphan) return {};
    std::vector<int> out;
    for (int i : side)
        if (net_.buses().type[i] != static_cast<std::int8_t>(BusType::isolated)) out.push_back(i);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace gridbatch::detail
