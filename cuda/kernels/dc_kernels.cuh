// Device kernels of the DC engine, behind host-callable launchers with raw pointers (no Eigen).
// Dense device arrays are column-major, one scenario per column, leading dimension = rows
// unless a `ld_*` says otherwise.
#pragma once

#include <cuda_runtime.h>

#include <cmath>

#include "batched_lu.hpp"

namespace gridbatch::detail::cuda::dc {

struct CsrView {  // device pointers
    int rows = 0;
    const int* row_ptr = nullptr;
    const int* col = nullptr;
    const double* val = nullptr;
};

// p(bus, s) = p_fixed[bus] - pd(bus, s) * inv_base + sum of pg(g, s) * inv_base over the active
// generators g at the bus (gen_ptr/gen_index: CSR bus -> generators, ascending, so the sum has a
// fixed order). ld_pg = 0 means one pg column for every scenario.
void bus_injections(int n_bus, int count, const double* p_fixed, const double* pd, long ld_pd,
                    const int* gen_ptr, const int* gen_index, const double* pg, long ld_pg,
                    double inv_base, double* p, cudaStream_t stream);

// m(i, s) = sum of p(bus, s) over island i's buses (island_ptr/island_bus: CSR island -> buses).
void island_sums(int n_island, int count, const int* island_ptr, const int* island_bus,
                 const double* p, int n_bus, double* m, cudaStream_t stream);

// rhs(k, s) = p(b, s) - participation[b] * m(island[b], s) + rhs_offset[k], b = free_bus[k];
// participation == nullptr: single slack (no spreading).
void reduced_rhs(int n_free, int count, const int* free_bus, const int* island,
                 const double* participation, const double* rhs_offset, const double* p, int n_bus,
                 const double* m, int n_island, double* rhs, cudaStream_t stream);

// va(bus, s) in degrees: x(reduced_index[bus], s) at free buses, va_fixed[bus] elsewhere.
void angles_deg(int n_bus, int count, const int* reduced_index, const double* va_fixed,
                const double* x, int n_free, double* va, cudaStream_t stream);

// y(l, s) = scale * (sum_p a(l, p) x(p, s) + offset[l]); offset may be nullptr.
void csr_times_dense(CsrView a, int count, const double* x, long ld_x, const double* offset,
                     double scale, double* y, long ld_y, cudaStream_t stream);

// r(k, s) = rhs(k, s) - (B x)(k, s), B square n x n (the residual of one refinement step).
void residual(CsrView b, int count, const double* x, const double* rhs, double* r,
              cudaStream_t stream);

// out[s] = max_k |(B x)(k, s) - rhs(k, s)|, B square n x n.
void residual_max(CsrView b, int count, const double* x, const double* rhs, double* out,
                  cudaStream_t stream);

// The sparse solve (see dc_engine_cuda.hpp): every scenario's column of xt (scenario-fastest rows,
// xt(k, s) at k count + s, in the factor's order) solved in place with one LU shared by all
// (values at lu[p]), one thread per scenario: the host-tested lu_solve_strided with the
// scenario's stride.
void lu_solve_shared(const LuScheduleView& factor, const double* lu, long count, double* xt,
                     cudaStream_t stream);

// dense(r, c) += a(r, c) for every stored entry (dense zeroed by the caller, column-major).
void scatter_csr(CsrView a, double* dense, long ld, cudaStream_t stream);
// The diagonal of an n x n column-major matrix set to 1 (the rest zeroed by the caller).
void set_unit_diagonal(int n, double* a, long ld, cudaStream_t stream);

// N-1 screening of one block (see OutageBlock in engine/dc_engine.hpp).
struct Violation {
    int scenario, outage_column, branch;
    double loading;
};
struct ScreenArgs {
    int n_branch = 0, n_scenarios = 0, n_outage = 0;
    const double* base_flow = nullptr;  // n_branch x S
    const double* lodf = nullptr;       // n_branch x n_outage
    const int* outage = nullptr;        // n_outage branch indices
    const double* inv_rating = nullptr;
    double threshold = 1;
    double min_increase = -HUGE_VAL;  // report only above the base-case loading plus this
    Violation* violations = nullptr;  // capacity entries
    unsigned long long* n_violations = nullptr;  // zeroed by the caller; may exceed capacity
    unsigned long long capacity = 0;
    double* worst = nullptr;  // n_outage x S (outage-major, scenario fastest): per (outage, s)
    int* worst_branch = nullptr;
};
void screen_outages(const ScreenArgs& args, cudaStream_t stream);
// Per scenario, the largest of `worst` over the block's outages, ties to the earlier outage
// column: best[s] (-1 when nothing was finite), best_outage[s] (its branch index),
// best_branch[s].
void reduce_worst(const ScreenArgs& args, double* best, int* best_outage, int* best_branch,
                  cudaStream_t stream);

}  // namespace gridbatch::detail::cuda::dc
