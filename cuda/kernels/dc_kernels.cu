#include <cooperative_groups.h>
#include <cooperative_groups/reduce.h>

#include <algorithm>
#include <cub/block/block_reduce.cuh>

#include "core/angles.hpp"
#include "dc_kernels.cuh"
#include "launch.cuh"

namespace gridbatch::detail::cuda::dc {

namespace {

namespace cg = cooperative_groups;

__global__ void bus_injections_kernel(int n_bus, int count, const double* p_fixed, const double* pd,
                                      long ld_pd, const int* gen_ptr, const int* gen_index,
                                      const double* pg, long ld_pg, double inv_base, double* p) {
    const long long total = static_cast<long long>(n_bus) * count;
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<long long>(gridDim.x) * blockDim.x) {
        const int bus = static_cast<int>(t % n_bus);
        const long s = static_cast<long>(t / n_bus);
        double gen = 0;
        for (int q = gen_ptr[bus]; q < gen_ptr[bus + 1]; ++q) gen += pg[gen_index[q] + s * ld_pg];
        p[bus + s * n_bus] = p_fixed[bus] + (gen - pd[bus + s * ld_pd]) * inv_base;
    }
}

constexpr int kReduceThreads = 128;

__global__ void island_sums_kernel(int n_island, int n_scenarios, const int* island_ptr,
                                   const int* island_bus, const double* p, int n_bus, double* m) {
    using Reduce = cub::BlockReduce<double, kReduceThreads>;
    __shared__ typename Reduce::TempStorage temp;
    // Blocks grid-strided over (island, scenario) pairs: a grid holds at most 2^31 - 1 blocks.
    for (long long b = blockIdx.x; b < static_cast<long long>(n_island) * n_scenarios;
         b += gridDim.x) {
        const int island = static_cast<int>(b % n_island);
        const long s = static_cast<long>(b / n_island);
        double sum = 0;
        for (int q = island_ptr[island] + threadIdx.x; q < island_ptr[island + 1]; q += blockDim.x)
            sum += p[island_bus[q] + s * n_bus];
        const double total = Reduce(temp).Sum(sum);
        if (threadIdx.x == 0) m[island + s * n_island] = total;
        __syncthreads();  // before the next pair reuses the reduction's storage
    }
}

__global__ void reduced_rhs_kernel(int n_free, int count, const int* free_bus, const int* island,
                                   const double* participation, const double* rhs_offset,
                                   const double* p, int n_bus, const double* m, int n_island,
                                   double* rhs) {
    const long long total = static_cast<long long>(n_free) * count;
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<long long>(gridDim.x) * blockDim.x) {
        const int k = static_cast<int>(t % n_free);
        const long s = static_cast<long>(t / n_free);
        const int bus = free_bus[k];
        double value = p[bus + s * n_bus] + rhs_offset[k];
        if (participation != nullptr) value -= participation[bus] * m[island[bus] + s * n_island];
        rhs[k + s * n_free] = value;
    }
}

__global__ void angles_kernel(int n_bus, int count, const int* reduced_index,
                              const double* va_fixed, const double* x, int n_free, double* va) {
    const long long total = static_cast<long long>(n_bus) * count;
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<long long>(gridDim.x) * blockDim.x) {
        const int bus = static_cast<int>(t % n_bus);
        const long s = static_cast<long>(t / n_bus);
        const int k = reduced_index[bus];
        va[bus + s * n_bus] = kRadToDeg * (k >= 0 ? x[k + s * n_free] : va_fixed[bus]);
    }
}

// One thread per (row, scenario), rows fastest: writes are coalesced and the gathered x entries
// of one column sit close together (network rows touch neighbouring buses).
__global__ void csr_times_dense_kernel(CsrView a, int count, const double* x, long ld_x,
                                       const double* offset, double scale, double* y, long ld_y) {
    const long long total = static_cast<long long>(a.rows) * count;
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<long long>(gridDim.x) * blockDim.x) {
        const int row = static_cast<int>(t % a.rows);
        const long s = static_cast<long>(t / a.rows);
        double sum = offset != nullptr ? offset[row] : 0.0;
        for (int q = a.row_ptr[row]; q < a.row_ptr[row + 1]; ++q)
            sum += a.val[q] * x[a.col[q] + s * ld_x];
        y[row + s * ld_y] = scale * sum;
    }
}

__global__ void residual_kernel(CsrView b, int count, const double* x, const double* rhs,
                                double* r) {
    const long long total = static_cast<long long>(b.rows) * count;
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<long long>(gridDim.x) * blockDim.x) {
        const int row = static_cast<int>(t % b.rows);
        const long s = static_cast<long>(t / b.rows);
        double sum = rhs[row + s * b.rows];
        for (int q = b.row_ptr[row]; q < b.row_ptr[row + 1]; ++q)
            sum -= b.val[q] * x[b.col[q] + s * b.rows];
        r[row + s * b.rows] = sum;
    }
}

__global__ void residual_max_kernel(CsrView b, int count, const double* x, const double* rhs,
                                    double* out) {
    const long long total = static_cast<long long>(b.rows) * count;
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<long long>(gridDim.x) * blockDim.x) {
        const int row = static_cast<int>(t % b.rows);
        const long s = static_cast<long>(t / b.rows);
        double sum = -rhs[row + s * b.rows];
        for (int q = b.row_ptr[row]; q < b.row_ptr[row + 1]; ++q)
            sum += b.val[q] * x[b.col[q] + s * b.rows];
        // Consecutive threads are rows of one scenario: the lanes that share a scenario take
        // their maximum first, so a warp makes one atomic per scenario instead of 32 queued on
        // one address. The maximum is over bit patterns, as atomic_max_nonnegative's, so a NaN
        // survives it.
        const cg::coalesced_group same =
            cg::labeled_partition(cg::coalesced_threads(), static_cast<unsigned>(s));
        const unsigned long long bits =
            cg::reduce(same, static_cast<unsigned long long>(__double_as_longlong(fabs(sum))),
                       cg::greater<unsigned long long>());
        if (same.thread_rank() == 0)
            atomic_max_nonnegative(out + s, __longlong_as_double(static_cast<long long>(bits)));
    }
}

__global__ void scatter_csr_kernel(CsrView a, double* dense, long ld) {
    for (int row = blockIdx.x * blockDim.x + threadIdx.x; row < a.rows;
         row += gridDim.x * blockDim.x)
        for (int q = a.row_ptr[row]; q < a.row_ptr[row + 1]; ++q)
            dense[row + a.col[q] * ld] += a.val[q];
}

__global__ void unit_diagonal_kernel(int n, double* a, long ld) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        a[i + i * ld] = 1.0;
}

// Larger loading wins; equal loadings go to the lower branch index.
__device__ __forceinline__ bool better(double value, int branch, double best, int best_branch) {
    return value > best || (value == best && branch < best_branch);
}

constexpr int kScreenThreads = 256;
constexpr int kScreenTile = 8;  // scenarios per block: each LODF entry is loaded once for all

// Block (outage column j, scenarios [s0, s0 + tile)): every branch l of every scenario in the
// tile; post-outage flows exist only in registers.
__global__ void __launch_bounds__(kScreenThreads) screen_kernel(ScreenArgs a) {
    __shared__ double base_out[kScreenTile];
    __shared__ double warp_best[kScreenThreads / 32][kScreenTile];
    __shared__ int warp_branch[kScreenThreads / 32][kScreenTile];
    const int j = blockIdx.x;
    const int s0 = blockIdx.y * kScreenTile;
    const int tile = min(kScreenTile, a.n_scenarios - s0);
    const int out_branch = a.outage[j];
    if (threadIdx.x < tile)
        base_out[threadIdx.x] =
            a.base_flow[out_branch + static_cast<long>(s0 + threadIdx.x) * a.n_branch];
    __syncthreads();

    double best[kScreenTile];
    int best_branch[kScreenTile];
#pragma unroll
    for (int u = 0; u < kScreenTile; ++u) {
        best[u] = -1.0;
        best_branch[u] = 0x7fffffff;
    }
    const double* lodf = a.lodf + static_cast<long>(j) * a.n_branch;
    for (int l = threadIdx.x; l < a.n_branch; l += blockDim.x) {
        const double factor = lodf[l];
        const double inv_rating = a.inv_rating[l];
#pragma unroll
        for (int u = 0; u < kScreenTile; ++u) {
            if (u >= tile) break;
            const long s = s0 + u;
            const double base = a.base_flow[l + s * a.n_branch];
            const double post = base + factor * base_out[u];
            const double loading = fabs(post) * inv_rating;
            if (better(loading, l, best[u], best_branch[u])) {  // l ascends: keeps the lowest
                best[u] = loading;
                best_branch[u] = l;
            }
            if (loading > a.threshold && loading > fabs(base) * inv_rating + a.min_increase) {
                // The violating lanes of a warp take consecutive slots with one atomic (a heavy
                // screening finds tens of millions, each an atomic on one counter).
                const cg::coalesced_group found = cg::coalesced_threads();
                unsigned long long first = 0;
                if (found.thread_rank() == 0)
                    first = atomicAdd(a.n_violations, found.num_threads());
                const unsigned long long slot = found.shfl(first, 0) + found.thread_rank();
                if (slot < a.capacity)
                    a.violations[slot] = Violation{static_cast<int>(s), j, l, loading};
            }
        }
    }
    // Block-wide arg-max per scenario: warp shuffles, then one warp over the warps' results.
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
#pragma unroll
    for (int u = 0; u < kScreenTile; ++u) {
        double v = best[u];
        int b = best_branch[u];
        for (int offset = 16; offset > 0; offset /= 2) {
            const double ov = __shfl_down_sync(0xffffffffu, v, offset);
            const int ob = __shfl_down_sync(0xffffffffu, b, offset);
            if (better(ov, ob, v, b)) {
                v = ov;
                b = ob;
            }
        }
        if (lane == 0) {
            warp_best[warp][u] = v;
            warp_branch[warp][u] = b;
        }
    }
    __syncthreads();
    if (threadIdx.x < tile) {
        const int u = threadIdx.x;
        double v = warp_best[0][u];
        int b = warp_branch[0][u];
        for (int w = 1; w < kScreenThreads / 32; ++w)
            if (better(warp_best[w][u], warp_branch[w][u], v, b)) {
                v = warp_best[w][u];
                b = warp_branch[w][u];
            }
        const long at = static_cast<long>(j) * a.n_scenarios + s0 + u;
        a.worst[at] = v;
        a.worst_branch[at] = b;
    }
}

__global__ void reduce_worst_kernel(ScreenArgs a, double* best, int* best_outage,
                                    int* best_branch) {
    const int s = blockIdx.x * blockDim.x + threadIdx.x;
    if (s >= a.n_scenarios) return;
    // Outages in block order with a strict comparison: ties go to the earlier column, as on the
    // CPU (and to the lower outage branch when the block lists outages ascending).
    double v = -1.0;
    int o = -1, b = -1;
    for (int j = 0; j < a.n_outage; ++j) {
        const long at = static_cast<long>(j) * a.n_scenarios + s;
        if (a.worst[at] > v) {
            v = a.worst[at];
            o = a.outage[j];
            b = a.worst_branch[at];
        }
    }
    best[s] = v;
    best_outage[s] = o;
    best_branch[s] = b;
}

// Few threads per block: one thread solves a whole scenario, so spread them over the SMs.
constexpr int kSolveThreads = 64;

__global__ void lu_solve_shared_kernel(LuScheduleView factor, const double* lu, long count,
                                       double* xt) {
    const long s = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
    if (s < count) lu_solve_strided(factor, lu, xt + s, 1, count);
}

}  // namespace

void bus_injections(int n_bus, int count, const double* p_fixed, const double* pd, long ld_pd,
                    const int* gen_ptr, const int* gen_index, const double* pg, long ld_pg,
                    double inv_base, double* p, cudaStream_t stream) {
    const long long total = static_cast<long long>(n_bus) * count;
    if (total == 0) return;
    bus_injections_kernel<<<grid_for(total), kThreads, 0, stream>>>(
        n_bus, count, p_fixed, pd, ld_pd, gen_ptr, gen_index, pg, ld_pg, inv_base, p);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void island_sums(int n_island, int count, const int* island_ptr, const int* island_bus,
                 const double* p, int n_bus, double* m, cudaStream_t stream) {
    const long long blocks = static_cast<long long>(n_island) * count;
    if (blocks == 0) return;
    island_sums_kernel<<<static_cast<unsigned>(std::min(blocks, (1LL << 31) - 1)), kReduceThreads,
                         0, stream>>>(n_island, count, island_ptr, island_bus, p, n_bus, m);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void reduced_rhs(int n_free, int count, const int* free_bus, const int* island,
                 const double* participation, const double* rhs_offset, const double* p, int n_bus,
                 const double* m, int n_island, double* rhs, cudaStream_t stream) {
    const long long total = static_cast<long long>(n_free) * count;
    if (total == 0) return;
    reduced_rhs_kernel<<<grid_for(total), kThreads, 0, stream>>>(
        n_free, count, free_bus, island, participation, rhs_offset, p, n_bus, m, n_island, rhs);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void angles_deg(int n_bus, int count, const int* reduced_index, const double* va_fixed,
                const double* x, int n_free, double* va, cudaStream_t stream) {
    const long long total = static_cast<long long>(n_bus) * count;
    if (total == 0) return;
    angles_kernel<<<grid_for(total), kThreads, 0, stream>>>(n_bus, count, reduced_index, va_fixed,
                                                            x, n_free, va);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void csr_times_dense(CsrView a, int count, const double* x, long ld_x, const double* offset,
                     double scale, double* y, long ld_y, cudaStream_t stream) {
    const long long total = static_cast<long long>(a.rows) * count;
    if (total == 0) return;
    csr_times_dense_kernel<<<grid_for(total), kThreads, 0, stream>>>(a, count, x, ld_x, offset,
                                                                     scale, y, ld_y);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void residual(CsrView b, int count, const double* x, const double* rhs, double* r,
              cudaStream_t stream) {
    const long long total = static_cast<long long>(b.rows) * count;
    if (total == 0) return;
    residual_kernel<<<grid_for(total), kThreads, 0, stream>>>(b, count, x, rhs, r);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void residual_max(CsrView b, int count, const double* x, const double* rhs, double* out,
                  cudaStream_t stream) {
    if (count == 0) return;
    GRIDBATCH_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(double) * count, stream));
    const long long total = static_cast<long long>(b.rows) * count;
    if (total == 0) return;
    residual_max_kernel<<<grid_for(total), kThreads, 0, stream>>>(b, count, x, rhs, out);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void scatter_csr(CsrView a, double* dense, long ld, cudaStream_t stream) {
    if (a.rows == 0) return;
    scatter_csr_kernel<<<grid_for(a.rows), kThreads, 0, stream>>>(a, dense, ld);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void set_unit_diagonal(int n, double* a, long ld, cudaStream_t stream) {
    if (n == 0) return;
    unit_diagonal_kernel<<<grid_for(n), kThreads, 0, stream>>>(n, a, ld);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void screen_outages(const ScreenArgs& args, cudaStream_t stream) {
    if (args.n_outage == 0 || args.n_scenarios == 0) return;
    const dim3 grid(static_cast<unsigned>(args.n_outage),
                    static_cast<unsigned>((args.n_scenarios + kScreenTile - 1) / kScreenTile));
    screen_kernel<<<grid, kScreenThreads, 0, stream>>>(args);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void reduce_worst(const ScreenArgs& args, double* best, int* best_outage, int* best_branch,
                  cudaStream_t stream) {
    if (args.n_scenarios == 0) return;
    reduce_worst_kernel<<<(args.n_scenarios + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
        args, best, best_outage, best_branch);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void lu_solve_shared(const LuScheduleView& factor, const double* lu, long count, double* xt,
                     cudaStream_t stream) {
    if (factor.n == 0 || count == 0) return;
    const auto blocks = static_cast<unsigned>((count + kSolveThreads - 1) / kSolveThreads);
    lu_solve_shared_kernel<<<blocks, kSolveThreads, 0, stream>>>(factor, lu, count, xt);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

}  // namespace gridbatch::detail::cuda::dc
