#include "ipm_kernels.cuh"
#include "launch.cuh"

namespace gridbatch::detail::cuda {
namespace {

// Few threads per block: a batch is a few thousand scenarios at most (each needs megabytes of
// state), so small blocks spread it over every multiprocessor.
constexpr int kScenarioThreads = 32;

__global__ void ipm_kernel(ipm::Structure st, ipm::Settings set, const double* q, const double* l,
                           const double* u, long long S, double* work, std::uint8_t* flags,
                           ipm::Outcome* outcomes) {
    const long long s = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
    if (s >= S) return;
    const ipm::Workspace<long long> ws(st, set.max_iterations, work + s, flags + s, S);
    const ipm::In<long long> qs{q + s, S}, ls{l + s, S}, us{u + s, S};
    outcomes[s] = ipm::solve(st, set, qs, ls, us, ws);
}

}  // namespace

void launch_ipm(const ipm::Structure& st, const ipm::Settings& set, const double* q,
                const double* l, const double* u, long long S, double* work, std::uint8_t* flags,
                ipm::Outcome* outcomes, cudaStream_t stream) {
    if (S == 0) return;
    const auto blocks = static_cast<unsigned>((S + kScenarioThreads - 1) / kScenarioThreads);
    ipm_kernel<<<blocks, kScenarioThreads, 0, stream>>>(st, set, q, l, u, S, work, flags, outcomes);
    GRIDBATCH_CUDA_CHECK_LAUNCH();
}

}  // namespace gridbatch::detail::cuda
