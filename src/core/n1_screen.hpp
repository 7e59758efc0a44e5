// N-1 screening in its steps, so that a caller can hand blocks of outages to different workers
// (distributed.cpp gives them to MPI ranks) and still get the one-process result: the plan fixes
// the blocks, every block's LODF columns and screening do not depend on the other blocks, and
// merging keeps the documented tie rule.
#pragma once

#include <vector>

#include "engine/dc_engine.hpp"
#include "gridbatch/sensitivities.hpp"

namespace gridbatch::detail {

struct N1Plan {
    std::vector<std::vector<Index>> blocks;  // outages screened, in blocks of outages_per_block
    std::vector<Index> islanding;            // outages skipped because they island the network
    Vector inv_rating;                       // n_branch: 1 / rateA (1/MW), 0 where unrated
    Real threshold = 1;                      // fraction of rateA
    Real min_increase = -HUGE_VAL;           // fraction of rateA over the base-case loading
};

// Checks the options and outages and splits the outages into blocks.
N1Plan plan_n1(const Network& net, const N1Options& options);

// Per-scenario state before any block: worst loading 0, no outage.
OutageScreenResult empty_screen(Index n_scenarios);

// Screens block `b` of the plan against the base cases' flows, accumulating into `screen`.
// `factors` is workspace (resized as needed).
void screen_block(DcPowerFlow& pf, const N1Plan& plan, std::size_t b, const DcPowerFlowResult& base,
                  Matrix& factors, OutageScreenResult& screen);

// Keeps `candidate` for scenario s if it beats the current worst (ties: the outage earlier in the
// plan, then the lower branch) — the engines' rule, which screen blocks in plan order and keep the
// first outage that reaches a loading. `position`: each outage's place in the plan, by branch.
void merge_worst(OutageScreenResult& screen, Index s, Real worst, Index outage, Index branch,
                 const std::vector<Index>& position);
// Each outage's place in the plan's blocks, by branch index (-1: not screened).
std::vector<Index> plan_positions(const N1Plan& plan, Index n_branch);

// The result: violations sorted by scenario, outage, branch; loadings in percent. `threads`: CPU
// threads for the sorting (0: every core).
N1Result finish_n1(const N1Plan& plan, DcPowerFlowResult base, OutageScreenResult screen,
                   int threads);

}  // namespace gridbatch::detail
