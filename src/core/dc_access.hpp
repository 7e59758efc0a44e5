// What the core's DC code (power flow, sensitivities, N-1) shares beyond the engine seam: the
// host-side data used to turn engine output into MATPOWER's generator results, and access to a
// DcPowerFlow's model and engine.
#pragma once

#include <string>
#include <vector>

#include "engine/dc_engine.hpp"
#include "gridbatch/dc_power_flow.hpp"

namespace gridbatch::detail {

// How the balance of each scenario is assigned to generators.
struct DcSlackData {
    std::vector<int> ref_bus;  // reference buses, ascending
    std::vector<int> ref_gen;  // the first active generator at each (MATPOWER's refgen)
    std::vector<std::vector<int>> ref_units;  // every active generator at each reference bus
    // B(r, :) of each reference bus, for MATPOWER's balance B(ref, :) Va - P(ref).
    std::vector<std::vector<std::pair<int, Real>>> ref_row;
    Vector gen_share;  // distributed slack: each active unit's share of its island's balance
    std::vector<int> gen_island;  // n_gen, -1 for inactive units
};

struct DcAccess {
    static const DcModel& model(const DcPowerFlow& pf) { return *pf.model_; }
    static DcEngine& engine(DcPowerFlow& pf) { return *pf.engine_; }
};

// Refuses (Error{invalid_input}) a batch of S scenarios whose results (va, pf, pg, slack and
// report) do not fit the host memory budget (core/memory.hpp).
void require_dc_result_memory(const Network& net, Index S);

// The buses of one island as "{87, 88, 89}" (external numbers, at most `limit` of them).
std::string bus_list(const Network& net, const std::vector<int>& buses, std::size_t limit = 20);

}  // namespace gridbatch::detail
