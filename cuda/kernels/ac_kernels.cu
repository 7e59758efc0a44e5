#include <algorithm>
#include <cub/block/block_scan.cuh>

#include "ac_kernels.cuh"
#include "launch.cuh"

namespace gridbatch::detail::cuda::ac {

namespace {

// One thread per (active scenario, bus), scenarios fastest. The thread owns the P and Q rows of
// its bus, so every Jacobian entry has exactly one writer.
__global__ void assemble_kernel(YbusView y, JacobianMap map, const int* active, int n_active,
                                BatchState st) {
    const long long total = static_cast<long long>(n_active) * y.n_bus;
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<long long>(gridDim.x) * blockDim.x) {
        const long s = active[t % n_active];
        const int i = static_cast<int>(t / n_active);
        const double norm = assemble_bus(y, map, st, s, i);
        if (norm != 0.0) atomic_max_nonnegative(st.norm + s, fabs(norm));
    }
}

__global__ void check_kernel(const int* active, int n_active, double tolerance, int max_iterations,
                             BatchState st, int* keep) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n_active) keep[t] = check_scenario(st, active[t], tolerance, max_iterations) ? 1 : 0;
}

constexpr int kScanThreads = 1024;

__global__ void __launch_bounds__(kScanThreads)
    compact_kernel(const int* active, const int* keep, int n_active, int* next, int* n_next) {
    using Scan = cub::BlockScan<int, kScanThreads>;
    __shared__ typename Scan::TempStorage temp;
    __shared__ int base;
    if (threadIdx.x == 0) base = 0;
    __syncthreads();
    for (int first = 0; first < n_active; first += kScanThreads) {
        const int t = first + threadIdx.x;
        const int flag = t < n_active ? keep[t] : 0;
        int offset = 0, total = 0;
        Scan(temp).ExclusiveSum(flag, offset, total);
        if (flag) next[base + offset] = active[t];
        __syncthreads();  // everyone has read `base` and the scan storage
        if (threadIdx.x == 0) base += total;
        __syncthreads();
    }
    if (threadIdx.x == 0) *n_next = base;
}

// One thread per active scenario walks the shared schedule; consecutive threads are consecutive
// scenarios, so every load and store of an elimination step is coalesced across the warp.
__global__ void factor_solve_update_kernel(Schedule sch, const int* active, int n_active,
                                           BatchState st) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n_active) factor_solve_update_scenario(sch, st, active[t]);
}

__global__ void fd_mismatch_kernel(YbusView y, FdMap map, const int* active, int n_active,
                                   BatchState st, FdState fd) {
    const long long total = static_cast<long long>(n_active) * y.n_bus;
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < total;
         t += static_cast<long long>(gridDim.x) * blockDim.x) {
        const long s = active[t % n_active];
        if (st.status[s] != kRunning) continue;
        double np, nq;
        fd_mismatch_bus(y, map, st, fd, s, static_cast<int>(t / n_active), &np, &nq);
        if (np != 0.0) atomic_max_nonnegative(fd.norm_p + s, np);
        if (nq != 0.0) atomic_max_nonnegative(fd.norm_q + s, nq);
    }
}

__global__ void fd_check_converged_kernel(const int* active, int n_active, double tolerance,
                                          bool singular_factors, BatchState st, FdState fd) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n_active) fd_check_converged(st, fd, active[t], tolerance, singular_factors);
}

__global__ void fd_check_continue_kernel(const int* active, int n_active, int max_iterations,
                                         BatchState st, int* keep) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n_active) keep[t] = fd_check_continue(st, active[t], max_iterations) ? 1 : 0;
}

__global__ void fd_half_step_kernel(LuScheduleView lu, const double* factor, const int* unknown_bus,
                                    double* x, double* v, const int* active, int n_active,
                                    BatchState st, bool counts_iteration) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t < n_active) fd_half_step(lu, factor, unknown_bus, x, v, st, active[t], counts_iteration);
}

__global__ void normalise_start_kernel(double* vm, double* va, long long n) {
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < n;
         t += static_cast<long long>(gridDim.x) * blockDim.x)
        normalise_polar(vm + t, va + t);
}

__global__ void polar_normalize_kernel(double* vm, double* va, long long n) {
    for (long long t = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; t < n;
         t += static_cast<long long>(gridDim.x) * blockDim.x) {
        double sn, cs;
        sincos(va[t], &sn, &cs);
        const double re = vm[t] * cs, im = vm[t] * sn;
        vm[t] = hypot(re, im);
        va[t] = atan2(im, re);
    }
}

__global__ void iota_kernel(int* a, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
        a[i] = i;
}

}  // namespace

void assemble(const YbusView& y, const JacobianMap& map, const int* active, int n_active,
              const BatchState& state, cudaStream_t stream) {
    const long long total = static_cast<long long>(n_active) * y.n_bus;
    if (total == 0) return;
    assemble_kernel<<<grid_for(total), kThreads, 0, stream>>>(y, map, active, n_active, state);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void check(const int* active, int n_active, double tolerance, int max_iterations,
           const BatchState& state, int* keep, cudaStream_t stream) {
    if (n_active == 0) return;
    check_kernel<<<(n_active + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
        active, n_active, tolerance, max_iterations, state, keep);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void compact(const int* active, const int* keep, int n_active, int* next, int* n_next,
             cudaStream_t stream) {
    compact_kernel<<<1, kScanThreads, 0, stream>>>(active, keep, n_active, next, n_next);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void factor_solve_update(const Schedule& schedule, const int* active, int n_active,
                         const BatchState& state, cudaStream_t stream) {
    if (n_active == 0) return;
    // Small blocks spread few scenarios over many multiprocessors.
    constexpr int threads = 32;
    factor_solve_update_kernel<<<(n_active + threads - 1) / threads, threads, 0, stream>>>(
        schedule, active, n_active, state);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void fd_mismatch(const YbusView& y, const FdMap& map, const int* active, int n_active,
                 const BatchState& state, const FdState& fd, cudaStream_t stream) {
    const long long total = static_cast<long long>(n_active) * y.n_bus;
    if (total == 0) return;
    fd_mismatch_kernel<<<grid_for(total), kThreads, 0, stream>>>(y, map, active, n_active, state,
                                                                 fd);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void fd_check_converged(const int* active, int n_active, double tolerance, bool singular_factors,
                        const BatchState& state, const FdState& fd, cudaStream_t stream) {
    if (n_active == 0) return;
    fd_check_converged_kernel<<<(n_active + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
        active, n_active, tolerance, singular_factors, state, fd);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void fd_check_continue(const int* active, int n_active, int max_iterations, const BatchState& state,
                       int* keep, cudaStream_t stream) {
    if (n_active == 0) return;
    fd_check_continue_kernel<<<(n_active + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
        active, n_active, max_iterations, state, keep);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void fd_half_step(const LuScheduleView& lu, const double* factor, const int* unknown_bus, double* x,
                  double* v, const int* active, int n_active, const BatchState& state,
                  bool counts_iteration, cudaStream_t stream) {
    if (n_active == 0) return;
    constexpr int threads = 32;  // few scenarios still spread over many multiprocessors
    fd_half_step_kernel<<<(n_active + threads - 1) / threads, threads, 0, stream>>>(
        lu, factor, unknown_bus, x, v, active, n_active, state, counts_iteration);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void normalise_start(double* vm, double* va, long long n, cudaStream_t stream) {
    if (n == 0) return;
    normalise_start_kernel<<<grid_for(n), kThreads, 0, stream>>>(vm, va, n);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void polar_normalize(double* vm, double* va, long long n, cudaStream_t stream) {
    if (n == 0) return;
    polar_normalize_kernel<<<grid_for(n), kThreads, 0, stream>>>(vm, va, n);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void iota(int* a, int n, cudaStream_t stream) {
    if (n == 0) return;
    iota_kernel<<<grid_for(n), kThreads, 0, stream>>>(a, n);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

}  // namespace gridbatch::detail::cuda::ac
