// AC batches and results cut into, and put together from, parts by scenario: for the callers that
// solve a batch in chunks (MPI shards, the Python bindings' interruptible chunks) and the time
// series' waves, so that every per-scenario field is listed once.
#pragma once

#include "gridbatch/ac_power_flow.hpp"

namespace gridbatch::detail {

// Scenarios [first, first + count) of every input of b, as views of b's arrays.
AcBatch slice(const AcBatch& b, Index first, Index count);

// A result for S scenarios of net with every per-scenario field sized and its values unset;
// reports not_solved, no Q-limited buses.
AcPowerFlowResult sized_result(const Network& net, Index S, Backend backend);

// Bytes an AC power flow holds per scenario while it solves a batch: the results (vm, va, pg, qg,
// four branch flows) and the batch state (loads, generator schedules, bus types).
double solve_bytes_per_scenario(const Network& net);

// Scenario j of part into scenario s of full (sized).
void copy_scenario(const AcPowerFlowResult& part, Index j, AcPowerFlowResult& full, Index s);

// Every scenario of part into scenarios [first, first + part.report.size()) of full (sized).
void place(AcPowerFlowResult&& part, AcPowerFlowResult& full, Index first);

}  // namespace gridbatch::detail
