// Battery dispatch and synthetic load on the device, running the algorithms of
// core/dispatch/ (the same code as the CPU engine): dispatch with two threads per scenario
// (one per half of the dynamic program), the load generator with one. Series are scenario-fastest
// (element (t, s) at t * S + s) so a warp's loads and stores of one time step are coalesced; each
// scenario's workspace is its own contiguous slice.
#pragma once

#include <cuda_runtime.h>

#include "core/dispatch/solve_scenario.hpp"
#include "core/dispatch/training_load.hpp"

namespace gridbatch::detail::cuda {

// load, battery, grid: T x S scenario-fastest; soc: (T + 1) x S; work: S slices of
// dispatch::workspace_items(T) breakpoints; prices: S slices of dispatch::price_items(T) doubles.
// halves: S entries, where the two threads of a scenario hand over the dynamic program's halves.
void launch_dispatch(const double* load, long long T, long long S, double hours_per_step,
                     const dispatch::FleetParams* fleets, int method, double* battery, double* soc,
                     double* grid, dispatch::Breakpoint* work, double* prices,
                     dispatch::DpHalves* halves, dispatch::Outcome* outcomes, int* methods,
                     cudaStream_t stream);

// out: T x S scenario-fastest; scenario numbers first_scenario .. first_scenario + S - 1 pick the
// random streams, so chunked generation equals one-shot generation.
void launch_training_load(const dispatch::LoadParams* params, unsigned long long seed,
                          long long first_scenario, long long T, long long S, double dt_seconds,
                          double* out, cudaStream_t stream);

}  // namespace gridbatch::detail::cuda
