// Linear sensitivities of the DC power flow and N-1 screening, computed with a DcPowerFlow's
// factorisation (and on its backend). Bus and branch arguments are internal indices, i.e. rows of
// the bus and branch tables (Network::internal_bus converts a bus number).
#pragma once

#include <cmath>
#include <vector>

#include "gridbatch/dc_power_flow.hpp"

namespace gridbatch {

// Which bus absorbs an injection in a PTDF.
struct PtdfSlack {
    // -1: the power flow's own slack (its reference buses, or its participation factors when it
    // uses a distributed slack); otherwise the bus that withdraws every injection of its island.
    Index bus = -1;
};

// PTDF(l, j): MW on branch l (from end) per MW injected at bus j and withdrawn at the slack. Each
// island has its own slack; a column is zero for the slack bus itself, for isolated buses, and
// for buses of other islands than the chosen slack bus's (there is no path for the transfer).
// Dense n_branch x n_bus: 8 n_branch n_bus bytes, use the row/column forms where it does not fit.
Matrix ptdf(DcPowerFlow& pf, PtdfSlack slack = {});
Matrix ptdf_columns(DcPowerFlow& pf, const std::vector<Index>& buses,
                    PtdfSlack slack = {});  // n_branch x buses.size()
Matrix ptdf_rows(DcPowerFlow& pf, const std::vector<Index>& branches,
                 PtdfSlack slack = {});  // branches.size() x n_bus

// LODF(l, k): change of the flow on branch l per MW that flowed on branch k before k's outage;
// LODF(k, k) = -1. Columns of inactive branches are zero. An outage that islands the network
// (a bridge of the graph of active branches: radial lines, single feeders) has no such factor:
// its column is zero and it is flagged in `islanding`.
struct Lodf {
    Matrix factors;               // n_branch x outages.size()
    std::vector<Index> outages;   // branch of each column
    std::vector<bool> islanding;  // per column
};
Lodf lodf(DcPowerFlow& pf);  // every branch
Lodf lodf(DcPowerFlow& pf, const std::vector<Index>& outages);

// Branches whose outage splits an island of the network (bridges of the active-branch graph).
std::vector<bool> islanding_branches(const Network& net);

struct N1Options {
    std::vector<Index>
        outages;  // branches to take out one at a time, each once; empty = every active one
    Real threshold_percent = 100;  // report post-outage loadings above this % of rateA
    // Report only loadings also above the branch's base-case loading plus this many percentage
    // points (0: only what the outage makes worse, dropping overloads it merely keeps); -inf:
    // every loading above the threshold. An increase within 1e-7 points is round-off of a flow
    // the outage leaves as it was, and counts as none. The worst loading per scenario is not
    // filtered.
    Real min_increase_percent = -HUGE_VAL;
    Index outages_per_block = 256;  // LODF columns held at once (memory: 8 n_branch x this)
};

struct N1Violation {
    Index scenario = 0;
    Index outage = 0;          // branch taken out
    Index branch = 0;          // overloaded branch
    Real loading_percent = 0;  // |post-outage flow| / rateA * 100
};

struct N1Result {
    // Sorted by scenario, outage, branch. Branches with rateA = 0 are unrated and never reported.
    std::vector<N1Violation> violations;
    // S: highest post-outage loading over outages and branches (NaN if no rated branch)
    Vector worst_loading_percent;
    IndexVector worst_outage, worst_branch;  // S: where it occurs, -1 if no rated branch
    std::vector<Index> screened;             // outages screened
    std::vector<Index> islanding;            // outages skipped because they island the network
    DcPowerFlowResult base;                  // the base cases' power flow
};

// N-1 screening of S base cases (bus loads pd, n_bus x S, MW; generation the case's Pg plus the
// power flow's slack) for single-branch outages, through LODFs in blocks of outages: memory is
// O(n_branch (S + block)), never S x outages x n_branch.
N1Result n1_screen(DcPowerFlow& pf, const MatrixView& pd, const N1Options& options = {});

}  // namespace gridbatch
