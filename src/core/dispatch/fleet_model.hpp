// The battery fleet as the dispatch algorithms see it: its parameters as plain numbers, a
// scenario's outcome, one step's power range, its response to a price of stored energy, and its
// cost.
//
// Written once for both backends, as every header of core/dispatch/: plain structs and raw
// strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU engine calls
// them with stride 1 (one scenario per column), the CUDA kernels with stride S (scenario-fastest,
// so neighbouring threads touch neighbouring addresses).
//
// Conventions (all per scenario):
//   b_t  battery power at the point of connection, MW, > 0 discharging, < 0 charging
//   g_t  grid draw = load_t - b_t, MW
//   E_t  stored energy, MWh, t = 0..T; E_{t+1} = a E_t - h psi(b_t), h = dt / 3600 h,
//        a = 1 - self_discharge * h, psi(b) = b / eta_d (b >= 0) or eta_c b (b < 0).
// Objective: sum_t h ((g_t - z)^2 + kappa |b_t|), z the target (see battery_dispatch.hpp). For a
// fixed total energy sum g^2 is the variance of the grid draw plus a constant; the taut string
// minimises every convex function of g at once, exactly so where z <= min_t load_t.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/dispatch/min_max.hpp"

namespace gridbatch::detail::dispatch {

// Parameters as plain numbers (validated and converted by src/core/battery_dispatch.cpp).
struct FleetParams {
    double e_min, e_max, e_init;   // MWh
    double p_charge, p_discharge;  // MW, >= 0
    double eta_c, eta_d;           // in (0, 1]
    double decay;                  // a = 1 - self-discharge per step, in (0, 1]
    double kappa;                  // throughput cost, objective units per MWh
    double target;                 // z: objective pulls g towards it
    int terminal;                  // 0 equal, 1 at least initial, 2 free
    double g_min, g_max;           // grid draw limits, MW (g_min = 0 when export is forbidden)
};

struct Outcome {
    int status;          // 0 optimal, 4 infeasible (Status codes of result.hpp)
    std::int64_t step;   // first step whose limits cannot be met (T: terminal), -1 if none
    double violation;    // at that step: MW (power) or MWh (energy)
    int violation_kind;  // 0 none, 1 power (grid limit + battery power), 2 energy
    double objective;
    std::int64_t
        relaxed_steps;  // steps dispatched by the relaxation (charge and discharge at once)
};

GRIDBATCH_HD inline double stored_energy_drawn(double b, double h, const FleetParams& f) {
    return b >= 0 ? h * b / f.eta_d : h * f.eta_c * b;
}

// Feasible battery power range in one step from battery and grid limits.
GRIDBATCH_HD inline void power_range(double load, const FleetParams& f, double& lo, double& hi) {
    lo = max_of(-f.p_charge, load - f.g_max);
    hi = min_of(f.p_discharge, load - f.g_min);
}

// The optimal b for one step given the price nu of stored energy (MWh): minimises
// (L - z - b)^2 + kappa |b| + nu psi(b) / h over [lo, hi]. With d = L - z, the discharge branch
// b = d - (kappa + nu / eta_d) / 2 applies where positive (nu < nu_1) and the charge branch
// b = d + (kappa - nu eta_c) / 2 where negative (nu > nu_2). For d >= 0, nu_1 <= nu_2 and the
// response is the true minimiser, continuous and non-increasing in nu: the dynamic program is
// exact. For d < 0 (target above the load) the two overlap on (nu_2, nu_1); there we take their
// sum, the response of the convex relaxation (charging and discharging at once), and the dynamic
// program counts the steps whose optimal price falls there.
GRIDBATCH_HD inline double free_power(double nu, double d, const FleetParams& f) {
    const double dis = d - (f.kappa + nu / f.eta_d) * 0.5;
    const double ch = d + (f.kappa - nu * f.eta_c) * 0.5;
    return max_of(dis, 0.0) + min_of(ch, 0.0);
}
GRIDBATCH_HD inline double price_discharge_zero(double d, const FleetParams& f) {
    return f.eta_d * (2 * d - f.kappa);
}
GRIDBATCH_HD inline double price_charge_zero(double d, const FleetParams& f) {
    return (2 * d + f.kappa) / f.eta_c;
}
// A price at which free_power equals beta (free_power is piecewise linear with kinks at the two
// zero prices and -> +-inf at -+inf).
GRIDBATCH_HD inline double price_of_power(double beta, double d, const FleetParams& f) {
    const double n1 = price_discharge_zero(d, f), n2 = price_charge_zero(d, f);
    const double k1 = fmin(n1, n2), k2 = fmax(n1, n2);
    const double v1 = free_power(k1, d, f), v2 = free_power(k2, d, f);
    if (beta >= v1) return k1 - 2 * f.eta_d * (beta - v1);
    if (beta <= v2) return k2 - 2 * (beta - v2) / f.eta_c;
    return k1 + (beta - v1) * (k2 - k1) / (v2 - v1);
}
GRIDBATCH_HD inline double best_power(double nu, double load, double lo, double hi,
                                      const FleetParams& f) {
    return min_of(max_of(free_power(nu, load - f.target, f), lo), hi);
}

// One step's share of the objective at battery power b and grid draw g.
GRIDBATCH_HD inline double step_cost(double b, double g, double h, const FleetParams& f) {
    return h * ((g - f.target) * (g - f.target) + f.kappa * fabs(b));
}

GRIDBATCH_HD inline void finish_outcome(const double* load, std::int64_t stride, std::int64_t T,
                                        double h, const FleetParams& f, double* battery,
                                        double* soc, double* grid, Outcome& out) {
    double e = f.e_init, obj = 0;
    soc[0] = e;
    for (std::int64_t t = 0; t < T; ++t) {
        const double b = battery[t * stride];
        const double g = load[t * stride] - b;
        grid[t * stride] = g;
        e = f.decay * e - stored_energy_drawn(b, h, f);
        soc[(t + 1) * stride] = e;
        obj += step_cost(b, g, h, f);
    }
    out.objective = obj;
}

}  // namespace gridbatch::detail::dispatch
