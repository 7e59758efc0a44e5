#include "dispatch_kernels.cuh"
#include "launch.cuh"

namespace gridbatch::detail::cuda {
namespace {

// Two threads per scenario, in different warps so that they run side by side: the block's first
// warp runs the first halves (dp_half 0) of its kPairs scenarios, its second warp the second
// halves. After a barrier the first warp meets them (or runs the one pass where they do not meet,
// or all of solve_scenario where the dynamic program does not split); after another, each warp
// finishes its halves, and after a third the first warp joins them: the CPU engine's steps and
// arithmetic. Twice the threads of one per scenario: a batch that does not fill the device (a day
// at 1 s needs ~8 MB of workspace per scenario, so a chunk holds a few thousand) finishes in about
// half the time.
constexpr int kPairs = 32;

__global__ void dispatch_kernel(const double* load, long long T, long long S, double h,
                                const dispatch::FleetParams* fleets, int method, double* battery,
                                double* soc, double* grid, dispatch::Breakpoint* work,
                                double* prices, dispatch::DpHalves* halves,
                                dispatch::Outcome* outcomes, int* methods) {
    __shared__ bool joins[kPairs];
    const int half = static_cast<int>(threadIdx.x) / kPairs, lane = threadIdx.x % kPairs;
    const long long s = blockIdx.x * static_cast<long long>(kPairs) + lane;
    const bool here = s < S;  // no early return: every thread reaches the barriers
    const bool split = here && dispatch::runs_in_halves(T, fleets[s], method);
    dispatch::Breakpoint* w = here ? work + s * dispatch::workspace_items(T) : nullptr;
    double* p = here ? prices + s * dispatch::price_items(T) : nullptr;
    if (split) {
        dispatch::DpHalves hv;  // in local memory while it runs, then handed over
        dispatch::dp_half(load + s, S, T, h, fleets[s], half, w, p, hv);
        halves[s].half[half] = hv.half[half];
    }
    __syncthreads();
    if (half == 0) {
        joins[lane] = false;
        if (split) {
            dispatch::DpHalves hv = halves[s];  // the meet empties its sets: a copy
            joins[lane] = dispatch::dp_meet_halves(hv);
            halves[s].nu = hv.nu;
        }
        if (here && !joins[lane]) {
            dispatch::Outcome out;
            if (split) {
                dispatch::dp_one_pass(load + s, S, T, h, fleets[s], battery + s, soc + s, grid + s,
                                      w, p, out);
                methods[s] = 2;
            } else {
                methods[s] = dispatch::solve_scenario(load + s, S, T, h, fleets[s], method,
                                                      battery + s, soc + s, grid + s, w, p, out);
            }
            outcomes[s] = out;
        }
    }
    __syncthreads();
    const bool joined = joins[lane];
    if (joined)
        dispatch::dp_finish_half(load + s, S, T, h, fleets[s], halves[s], half, p, battery + s,
                                 soc + s, grid + s);
    __syncthreads();
    if (joined && half == 0) {
        outcomes[s] = dispatch::dp_joined(halves[s]);
        methods[s] = 2;
    }
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
                     dispatch::DpHalves* halves, dispatch::Outcome* outcomes, int* methods,
                     cudaStream_t stream) {
    if (S == 0) return;
    dispatch_kernel<<<static_cast<unsigned>((S + kPairs - 1) / kPairs), 2 * kPairs, 0, stream>>>(
        load, T, S, hours_per_step, fleets, method, battery, soc, grid, work, prices, halves,
        outcomes, methods);
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
