// Launch helpers shared by the kernel files.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>

#include "../check.hpp"

namespace gridbatch::detail::cuda {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over `total` elements; capped because each thread loops anyway.
inline unsigned grid_for(long long total, int threads = kThreads) {
    const long long blocks = (total + threads - 1) / threads;
    return static_cast<unsigned>(std::max<long long>(1, std::min<long long>(blocks, 1 << 20)));
}

// Kernel launches report configuration errors only through cudaGetLastError.
#define GRIDBATCH_CUDA_CHECK_LAUNCH() GRIDBATCH_CUDA_CHECK(cudaGetLastError())

// Non-negative doubles order like their bit patterns, so a max over |values| can use the integer
// atomicMax; NaN (positive payload) sorts above infinity and so survives as "not finite".
__device__ __forceinline__ void atomic_max_nonnegative(double* address, double value) {
    atomicMax(reinterpret_cast<unsigned long long*>(address),
              static_cast<unsigned long long>(__double_as_longlong(value)));
}

}  // namespace gridbatch::detail::cuda
