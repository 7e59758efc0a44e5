// The exact lossless smoothing: the taut string through the tube of stored energy.
//
// Written once for both backends, as every header of core/dispatch/: plain structs and raw
// strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU engine calls
// them with stride 1 (one scenario per column), the CUDA kernels with stride S (scenario-fastest,
// so neighbouring threads touch neighbouring addresses).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/dispatch/fleet_model.hpp"

namespace gridbatch::detail::dispatch {

// Taut string, lossless case (eta = 1, no self-discharge, no throughput cost): cumulative grid
// energy G_t must stay in the tube [C_t + e_min - e_init, C_t + e_max - e_init] around the
// cumulative load C_t and end at C_T (terminal SoC = initial). The shortest such path (funnel
// algorithm, O(T): every point enters and leaves each chain once) has piecewise constant slope g;
// slopes rise only where the path touches the ceiling (battery full) and fall only on the floor
// (battery empty), which is the optimality condition for every convex function of g. Power and
// grid limits are not part of it: the caller checks them and falls back to the dynamic program.
// Workspace: 4 (T + 2) doubles.
struct Point {
    double t, y;
};
GRIDBATCH_HD inline double slope(const Point& a, const Point& b) {
    return (b.y - a.y) / (b.t - a.t);
}

GRIDBATCH_HD inline void emit_segment(const Point& a, const Point& b, double h, double* battery,
                                      const double* load, std::int64_t stride) {
    const double g = slope(a, b) / h;
    const std::int64_t t0 = static_cast<std::int64_t>(a.t), t1 = static_cast<std::int64_t>(b.t);
    for (std::int64_t t = t0; t < t1; ++t) battery[t * stride] = load[t * stride] - g;
}

GRIDBATCH_HD inline void taut_string(const double* load, std::int64_t stride, std::int64_t T,
                                     double h, const FleetParams& f, double* battery, Point* upper,
                                     Point* lower) {
    // upper = ceiling chain (convex: slopes increase), lower = floor chain (concave).
    std::int64_t uh = 0, ut = 0, lh = 0, lt = 0;  // [head, tail) of each chain
    upper[ut++] = {0, 0};
    lower[lt++] = {0, 0};
    double cum = 0;
    for (std::int64_t t = 1; t <= T; ++t) {
        cum += h * load[(t - 1) * stride];
        const bool last = t == T;
        const Point b{static_cast<double>(t), last ? cum : cum + f.e_max - f.e_init};
        const Point a{static_cast<double>(t), last ? cum : cum + f.e_min - f.e_init};
        // Ceiling point below the floor chain: the string wraps the floor up to the tangent.
        while (lt - lh >= 2 && slope(lower[lh], b) <= slope(lower[lh], lower[lh + 1])) {
            emit_segment(lower[lh], lower[lh + 1], h, battery, load, stride);
            ++lh;
            uh = 0;
            ut = 0;
            upper[ut++] = lower[lh];
        }
        while (ut - uh >= 2 && slope(upper[ut - 2], upper[ut - 1]) >= slope(upper[ut - 1], b)) --ut;
        upper[ut++] = b;
        // Floor point above the ceiling chain: the string wraps the ceiling.
        while (ut - uh >= 2 && slope(upper[uh], a) >= slope(upper[uh], upper[uh + 1])) {
            emit_segment(upper[uh], upper[uh + 1], h, battery, load, stride);
            ++uh;
            lh = 0;
            lt = 0;
            lower[lt++] = upper[uh];
        }
        if (!last) {
            while (lt - lh >= 2 && slope(lower[lt - 2], lower[lt - 1]) <= slope(lower[lt - 1], a))
                --lt;
            lower[lt++] = a;
        }
    }
}

// True when a lossless solution is also optimal for the full problem: within every power and
// grid limit and, for a ">= initial" terminal, the final price 2 g is not negative.
GRIDBATCH_HD inline bool within_limits(const double* load, std::int64_t stride, std::int64_t T,
                                       const FleetParams& f, const double* battery) {
    for (std::int64_t t = 0; t < T; ++t) {
        double lo, hi;
        power_range(load[t * stride], f, lo, hi);
        const double b = battery[t * stride];
        if (b < lo || b > hi) return false;
    }
    if (f.terminal == 1 && T > 0 && load[(T - 1) * stride] - battery[(T - 1) * stride] < f.target)
        return false;
    return true;
}

}  // namespace gridbatch::detail::dispatch
