// Infinity, and minimum and maximum without fmin's and fmax's NaN rules, for the dispatch
// algorithms.
//
// Written once for both backends, as every header of core/dispatch/: plain structs and raw
// strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU engine calls
// them with stride 1 (one scenario per column), the CUDA kernels with stride S (scenario-fastest,
// so neighbouring threads touch neighbouring addresses).
#pragma once

#include <cmath>

#include "core/host_device.hpp"

namespace gridbatch::detail::dispatch {

constexpr double kInf = HUGE_VAL;

// fmin / fmax without their NaN rules, which keep g++ from inlining them (every input here is
// finite or infinite, never NaN: loads are checked on entry).
GRIDBATCH_HD inline double min_of(double a, double b) { return b < a ? b : a; }
GRIDBATCH_HD inline double max_of(double a, double b) { return b > a ? b : a; }

}  // namespace gridbatch::detail::dispatch
