#include "dispatch_kernels.cuh"
#include "launch.cuh"

namespace gridbatch::detail::cuda {
namespace {

__global__ void dispatch_kernel(const double* load, long long T, long long S, double h,
                                const dispatch::FleetParams* fleets, int method, double* battery,
                                double* soc, double* grid, dispatch::Breakpoint* work,
                                double* prices, dispatch::Outcome* outcomes, int* methods) {
    const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
    if (s >= S) return;
    dispatch::Outcome out;
    methods[s] = dispatch::solve_scenario(
        load + s, S, T, h, fleets[s], method, battery + s, soc + s, grid + s,
        work + s * dispatch::workspace_items(T), prices + s * dispatch::price_items(T), out);
    outcomes[s] = out;
}

__global__ void training_load_kernel(const dispatch::LoadParams* params, unsigned long long seed,
                                     long long first, long long T, long long S, double dt,
                                     double* out) {
    const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
    if (s >= S) return;
    dispatch::training_load(params[s], seed, first + s, T, dt, out + s, S);
}

// Few threads per block: one thread does a whole scenario, so spread scenarios over the SMs.
constexpr int kScenarioThreads = 64;

unsigned blocks_for(long long S) {
    return static_cast<unsigned>((S + kScenarioThreads - 1) / kScenarioThreads);
}

}  // namespace

void launch_dispatch(const double* load, long long T, long long S, double hours_per_step,
                     const dispatch::FleetParams* fleets, int method, double* battery, double* soc,
                     double* grid, dispatch::Breakpoint* work, double* prices,
                     dispatch::Outcome* outcomes, int* methods, cudaStream_t stream) {
    if (S == 0) return;
    dispatch_kernel<<<blocks_for(S), kScenarioThreads, 0, stream>>>(
        load, T, S, hours_per_step, fleets, method, battery, soc, grid, work, prices, outcomes,
        methods);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

void launch_training_load(const dispatch::LoadParams* params, unsigned long long seed,
                          long long first_scenario, long long T, long long S, double dt_seconds,
                          double* out, cudaStream_t stream) {
    if (S == 0) return;
    training_load_kernel<<<blocks_for(S), kScenarioThreads, 0, stream>>>(
        params, seed, first_scenario, T, S, dt_seconds, out);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

}  // namespace gridbatch::detail::cuda
