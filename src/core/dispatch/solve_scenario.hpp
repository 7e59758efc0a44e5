// One scenario's dispatch end to end: the taut string where it is exact, else the dynamic
// program.
//
// Written once for both backends, as every header of core/dispatch/: plain structs and raw
// strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU engine calls
// them with stride 1 (one scenario per column), the CUDA kernels with stride S (scenario-fastest,
// so neighbouring threads touch neighbouring addresses).
#pragma once

#include <cstdint>

#include "core/dispatch/fleet_model.hpp"
#include "core/dispatch/soc_dynamic_program.hpp"
#include "core/dispatch/taut_string.hpp"

namespace gridbatch::detail::dispatch {

// One scenario end to end. method: 0 automatic (taut string when lossless and it keeps every
// limit, else the dynamic program), 1 taut string (the caller has checked the fleet is lossless;
// as automatic, a string that breaks a limit is not the optimum and the dynamic program replaces
// it), 2 dynamic program. Returns the method used. `work` holds workspace_items(T) breakpoints and
// `prices` price_items(T) doubles. Callers with a spare thread run the steps themselves: dp_half(0)
// and dp_half(1) on two threads, dp_meet_halves on one, then dp_finish_half(0) and (1) on two, or
// dp_one_pass on one where the halves do not meet.

// Whether the taut string is tried first (else the dynamic program is the method).
GRIDBATCH_HD inline bool tries_taut_string(const FleetParams& f, int method) {
    const bool lossless = f.eta_c == 1.0 && f.eta_d == 1.0 && f.decay == 1.0 && f.kappa == 0.0;
    return method != 2 && lossless && f.terminal != 2;
}

// Whether solve_scenario goes straight to the dynamic program in halves, which a caller may run on
// two threads (see solve_scenario).
GRIDBATCH_HD inline bool runs_in_halves(std::int64_t T, const FleetParams& f, int method) {
    return !tries_taut_string(f, method) && dp_splits(T, f);
}

// The dynamic program in one pass, then SoC, grid draw and objective.
GRIDBATCH_HD inline void dp_one_pass(const double* load, std::int64_t stride, std::int64_t T,
                                     double h, const FleetParams& f, double* battery, double* soc,
                                     double* grid, Breakpoint* work, double* prices, Outcome& out) {
    out = {0, -1, 0.0, 0, 0.0, 0};
    dynamic_program(load, stride, T, h, f, battery, work, prices, out);
    finish_outcome(load, stride, T, h, f, battery, soc, grid, out);
}

GRIDBATCH_HD inline int solve_scenario(const double* load, std::int64_t stride, std::int64_t T,
                                       double h, const FleetParams& f, int method, double* battery,
                                       double* soc, double* grid, Breakpoint* work, double* prices,
                                       Outcome& out) {
    if (tries_taut_string(f, method)) {
        Point* chains = reinterpret_cast<Point*>(work);
        taut_string(load, stride, T, h, f, battery, chains, chains + (T + 2));
        if (within_limits(load, stride, T, f, battery)) {
            out = {0, -1, 0.0, 0, 0.0, 0};
            finish_outcome(load, stride, T, h, f, battery, soc, grid, out);
            return 1;
        }
    }
    if (dp_splits(T, f)) {
        DpHalves hv;
        for (int half = 0; half < 2; ++half) dp_half(load, stride, T, h, f, half, work, prices, hv);
        if (dp_meet_halves(hv)) {
            for (int half = 0; half < 2; ++half)
                dp_finish_half(load, stride, T, h, f, hv, half, prices, battery, soc, grid);
            out = dp_joined(hv);
            return 2;
        }
    }
    dp_one_pass(load, stride, T, h, f, battery, soc, grid, work, prices, out);
    return 2;
}

}  // namespace gridbatch::detail::dispatch
