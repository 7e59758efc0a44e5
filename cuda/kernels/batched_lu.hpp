// Numeric sparse LU without pivoting on a fixed symbolic schedule, written once for the host
// and the device. Values are strided: entry p of one scenario's factor lives at lu[p * stride],
// so with the batch stored scenario-fastest (stride = S, pointer offset s) a warp of 32
// consecutive scenarios performs every elimination step as one coalesced load/store while the
// schedule itself (same for all scenarios) is a broadcast read. The host tests run exactly this
// code with stride 1 against a dense LU.
#pragma once

#include "core/host_device.hpp"
#include "core/lu_schedule.hpp"

namespace gridbatch::detail::cuda {

// Factorises in place; returns false (and stops) at a zero or non-finite pivot.
GRIDBATCH_HD_INLINE bool lu_factor_strided(const LuScheduleView& s, double* lu, long stride) {
    for (int i = 0; i < s.n; ++i) {
        for (int t = s.row_step[i]; t < s.row_step[i + 1]; ++t) {
            const int k = s.step_row[t];
            const int pk = s.diag[k];
            const double l =
                lu[static_cast<long>(s.step_pos[t]) * stride] / lu[static_cast<long>(pk) * stride];
            lu[static_cast<long>(s.step_pos[t]) * stride] = l;
            const int* target = s.dst + s.step_dst[t];  // target[m]: the m-th after the pivot
            const int first = pk + 1, end = s.row_ptr[k + 1];
            int m = 0;
            // Four updates at a time, all loads before any store: the targets (row i) and the
            // sources (row k) never overlap, and grouping the loads keeps four memory accesses
            // in flight per thread instead of one.
            for (; first + m + 3 < end; m += 4) {
                const long p = first + m;
                const long t0 = static_cast<long>(target[m]) * stride;
                const long t1 = static_cast<long>(target[m + 1]) * stride;
                const long t2 = static_cast<long>(target[m + 2]) * stride;
                const long t3 = static_cast<long>(target[m + 3]) * stride;
                const double s0 = lu[p * stride], s1 = lu[(p + 1) * stride];
                const double s2 = lu[(p + 2) * stride], s3 = lu[(p + 3) * stride];
                const double d0 = lu[t0], d1 = lu[t1], d2 = lu[t2], d3 = lu[t3];
                lu[t0] = d0 - l * s0;
                lu[t1] = d1 - l * s1;
                lu[t2] = d2 - l * s2;
                lu[t3] = d3 - l * s3;
            }
            for (; first + m < end; ++m)
                lu[static_cast<long>(target[m]) * stride] -=
                    l * lu[static_cast<long>(first + m) * stride];
        }
        const double pivot = lu[static_cast<long>(s.diag[i]) * stride];
        // `pivot - pivot != 0` is true for inf and NaN without <cmath> on either side.
        if (pivot == 0.0 || pivot - pivot != 0.0) return false;
    }
    return true;
}

// Solves (L U) x = b in place (b and x in the permuted order, same stride convention).
GRIDBATCH_HD_INLINE void lu_solve_strided(const LuScheduleView& s, const double* lu, double* x,
                                          long lu_stride, long x_stride) {
    for (int i = 0; i < s.n; ++i) {
        double sum = x[static_cast<long>(i) * x_stride];
        for (int p = s.row_ptr[i]; p < s.diag[i]; ++p)
            sum -= lu[static_cast<long>(p) * lu_stride] * x[static_cast<long>(s.col[p]) * x_stride];
        x[static_cast<long>(i) * x_stride] = sum;
    }
    for (int i = s.n - 1; i >= 0; --i) {
        double sum = x[static_cast<long>(i) * x_stride];
        for (int p = s.diag[i] + 1; p < s.row_ptr[i + 1]; ++p)
            sum -= lu[static_cast<long>(p) * lu_stride] * x[static_cast<long>(s.col[p]) * x_stride];
        x[static_cast<long>(i) * x_stride] = sum / lu[static_cast<long>(s.diag[i]) * lu_stride];
    }
}

}  // namespace gridbatch::detail::cuda
