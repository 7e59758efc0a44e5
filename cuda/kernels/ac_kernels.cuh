// Device kernels of the batched Newton-Raphson power flow. Per-scenario arrays are stored
// scenario-fastest: entry e of scenario s is at a[e * stride + s], so threads of a warp that
// handle consecutive scenarios touch consecutive addresses. `active` lists the scenarios still
// iterating (ascending), so converged ones cost nothing.
#pragma once

#include <cuda_runtime.h>

#include "newton_steps.hpp"

namespace gridbatch::detail::cuda::ac {

// Mismatch F = V conj(Ybus V) - S_spec of the active scenarios into x (permuted order), its max
// norm into norm[s], and the Jacobian values (MATPOWER's dSbus_dV, polar) into lu.
void assemble(const YbusView& y, const JacobianMap& map, const int* active, int n_active,
              const BatchState& state, cudaStream_t stream);

// Decides each active scenario's fate from its norm (and resets the norm for the next round):
// keep[t] = 1 while it must iterate on.
void check(const int* active, int n_active, double tolerance, int max_iterations,
           const BatchState& state, int* keep, cudaStream_t stream);

// Ordered compaction of `active` by `keep` into `next`; the new length into *n_next (device).
void compact(const int* active, const int* keep, int n_active, int* next, int* n_next,
             cudaStream_t stream);

// Per active scenario: zero the fill, factorise, solve for the Newton step, update Va/Vm and
// count the iteration; a zero pivot sets status singular.
void factor_solve_update(const Schedule& schedule, const int* active, int n_active,
                         const BatchState& state, cudaStream_t stream);

// Fast-decoupled: mismatch of the active scenarios still running (norms into fd.norm_p/norm_q,
// zero before), the convergence check after it, the check at the top of an iteration (keep[t] =
// 1 to go on), and a half-iteration with a factor shared by all scenarios.
void fd_mismatch(const YbusView& y, const FdMap& map, const int* active, int n_active,
                 const BatchState& state, const FdState& fd, cudaStream_t stream);
void fd_check_converged(const int* active, int n_active, double tolerance, bool singular_factors,
                        const BatchState& state, const FdState& fd, cudaStream_t stream);
void fd_check_continue(const int* active, int n_active, int max_iterations, const BatchState& state,
                       int* keep, cudaStream_t stream);
void fd_half_step(const LuScheduleView& lu, const double* factor, const int* unknown_bus, double* x,
                  double* v, const int* active, int n_active, const BatchState& state,
                  bool counts_iteration, cudaStream_t stream);

// normalise_polar (newton_steps.hpp) of n entries: the start voltages.
void normalise_start(double* vm, double* va, long long n, cudaStream_t stream);

// (vm, va) := (|V|, angle(V)) of V = vm e^{j va} for n entries: pfsoln's abs/angle of fdpf's V.
void polar_normalize(double* vm, double* va, long long n, cudaStream_t stream);

// a[i] = i for i < n.
void iota(int* a, int n, cudaStream_t stream);

}  // namespace gridbatch::detail::cuda::ac
