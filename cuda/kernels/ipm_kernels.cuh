// The interior point of core/ipm_core.hpp on the device, one thread per scenario: the CPU's
// algorithm and arithmetic. Every scenario's inputs and state are interleaved (element i of
// scenario s at i * S + s), so the threads of a warp, which walk the same indices of the shared
// pattern, make coalesced accesses.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/ipm_core.hpp"

namespace gridbatch::detail::cuda {

// st: the shared Structure with device pointers. q: n x S, l and u: st.rows x S; work:
// ipm::Workspace<long long>::doubles(st, set.max_iterations) x S doubles, flags: n x S bytes
// (all interleaved). Afterwards the first n x S doubles of work are the answers x; outcomes: S.
void launch_ipm(const ipm::Structure& st, const ipm::Settings& set, const double* q,
                const double* l, const double* u, long long S, double* work, std::uint8_t* flags,
                ipm::Outcome* outcomes, cudaStream_t stream);

}  // namespace gridbatch::detail::cuda
