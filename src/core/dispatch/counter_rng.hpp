// Counter-based random numbers for the synthetic training load.
//
// Written once for both backends, as every header of core/dispatch/: plain structs and raw
// strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU engine calls
// them with stride 1 (one scenario per column), the CUDA kernels with stride S (scenario-fastest,
// so neighbouring threads touch neighbouring addresses).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/host_device.hpp"

namespace gridbatch::detail::dispatch {

// Counter-based random numbers: every draw is a pure function of (seed, scenario, stream,
// counter), so any thread can produce any value in any order and both backends agree.
GRIDBATCH_HD inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;  // splitmix64 (Steele, Lea, Flood 2014)
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
GRIDBATCH_HD inline double uniform01(std::uint64_t seed, std::int64_t scenario,
                                     std::uint32_t stream, std::int64_t counter) {
    std::uint64_t x = mix64(seed);
    x = mix64(x ^ static_cast<std::uint64_t>(scenario));
    x = mix64(x ^ stream);
    x = mix64(x ^ static_cast<std::uint64_t>(counter));
    return (static_cast<double>(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);  // in (0, 1)
}
GRIDBATCH_HD inline double normal01(std::uint64_t seed, std::int64_t scenario, std::uint32_t stream,
                                    std::int64_t counter) {
    const double u1 = uniform01(seed, scenario, stream, 2 * counter);
    const double u2 = uniform01(seed, scenario, stream, 2 * counter + 1);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);  // Box-Muller
}

}  // namespace gridbatch::detail::dispatch
