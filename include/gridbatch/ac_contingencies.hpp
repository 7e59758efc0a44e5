// AC contingency analysis: for S base cases, a full Newton power flow with each listed branch out
// of service in turn (AcBatch::outage), each outage starting from its base case's solution as a
// contingency analysis does. What the DC N-1 screening (sensitivities.hpp) cannot say: voltages
// after the outage, MVA loadings with reactive flows, outages after which no solution exists.
// Power flows go in chunks of `chunk` and each leaves only its summary, so memory grows with
// S x outages summaries, never with S x outages full results.
#pragma once

#include <cmath>
#include <vector>

#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/result.hpp"
#include "gridbatch/sensitivities.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch {

struct AcContingencyOptions {
    std::vector<Index>
        outages;  // branch rows (from 0) to take out, each once; empty = every active one
    Real threshold_percent = 100;  // report MVA loadings above this % of rateA
    // Bus rows whose Vm is kept for every case (a point of interconnection, say).
    std::vector<Index> monitored_buses;
    // Power flows solved at once (memory: their full results; MPI ranks take chunks in turn).
    // 0: 256 on the CPU; on a GPU as many as 512 MB of inputs and full results hold (at least
    // 256), so that one launch covers thousands of outages.
    Index chunk = 0;
};

// One power flow of the analysis: scenario `scenario` with branch `outage` out (-1: the base
// case). Bus and branch fields are rows of the network's tables, -1 where there is none; values
// are NaN unless the power flow converged.
struct AcContingency {
    Index scenario = 0;
    Index outage = -1;
    Status status = Status::not_solved;
    int iterations = 0;
    Real max_loading_percent = NAN;  // highest MVA loading (worse end) over rated branches
    Index max_loading_branch = -1;
    Real min_vm = NAN, max_vm = NAN;  // over buses energised and not isolated, p.u.
    Index min_vm_bus = -1, max_vm_bus = -1;
    Index buses_outside_limits = 0;  // Vm outside [Vmin, Vmax]
    // The part the outage cut off from every reference bus (de-energised, AcBatch::outage): its
    // buses, their load and the schedule of their generators, MW.
    Index de_energized_buses = 0;
    Real lost_load_mw = 0, lost_generation_mw = 0;

    // Whether the outage cut buses off (de-energised them, or was not solved for it).
    bool cuts_off() const { return status == Status::islanded || de_energized_buses > 0; }
};

struct AcContingencyResult {
    std::vector<Index> outages;  // analysed, in the order given
    // Per scenario its base case, then its outages in `outages` order: (S (1 + outages)) rows.
    std::vector<AcContingency> cases;
    // Vm of options.monitored_buses (rows) in each case (columns, as `cases`), p.u.; NaN unless
    // converged.
    Matrix monitored_vm;
    // MVA loadings above the threshold, sorted by scenario, outage, branch; a scenario's base
    // case first (outage -1).
    std::vector<N1Violation> violations;
    // Per scenario, over its converged outages: the highest loading and where (-1: none), the
    // lowest Vm and where.
    Vector worst_loading_percent;
    IndexVector worst_outage, worst_branch;
    Vector lowest_vm;
    IndexVector lowest_vm_bus, lowest_vm_outage;
    // Outages that cut buses off from every reference bus (de-energised; with a distributed
    // slack not solved, Status::islanded).
    std::vector<Index> islanding;
    Index not_converged = 0;  // cases, base or outage, that did not converge (nor island)
    AcPowerFlowResult base;   // the base cases' power flows

    const AcContingency& at(Index scenario, Index k) const {  // k: index into outages, -1: base
        return cases[static_cast<std::size_t>(scenario * (1 + static_cast<Index>(outages.size())) +
                                              k + 1)];
    }
};

// The analysis of the base cases `base` (no outage set; its loads, setpoints and, for
// StartMode::warm, start) with pf's options. Newton only. Throws Error for bad options (naming
// the outage or bus entry); a case that does not converge is its Status.
AcContingencyResult ac_contingencies(const AcPowerFlow& pf, const AcBatch& base,
                                     const AcContingencyOptions& options = {});

}  // namespace gridbatch
