// The battery-dispatch and training-load algorithms, written once for both backends: plain structs
// and raw strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU
// engine calls them with stride 1 (one scenario per column), the CUDA kernels with stride S
// (scenario-fastest, so neighbouring threads touch neighbouring addresses).
//
// Conventions (all per scenario):
//   b_t  battery power at the point of connection, MW, > 0 discharging, < 0 charging
//   g_t  grid draw = load_t - b_t, MW
//   E_t  stored energy, MWh, t = 0..T; E_{t+1} = a E_t - h psi(b_t), h = dt / 3600 h,
//        a = 1 - self_discharge * h, psi(b) = b / eta_d (b >= 0) or eta_c b (b < 0).
// Objective: sum_t h ((g_t - z)^2 + kappa |b_t|), z <= min_t load_t (see battery_dispatch.hpp). For
// a fixed total energy sum g^2 is the variance of the grid draw plus a constant; the taut string
// minimises every convex function of g at once.
#pragma once

#include <cmath>
#include <cstdint>

#ifdef __CUDACC__
#define GRIDBATCH_HD __host__ __device__
#else
#define GRIDBATCH_HD
#endif

namespace gridbatch::detail::dispatch {

constexpr double kInf = HUGE_VAL;

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Parameters as plain numbers (validated and converted by src/core/battery_dispatch.cpp).
struct FleetParams {
    double e_min, e_max, e_init;   // MWh
    double p_charge, p_discharge;  // MW, >= 0
    double eta_c, eta_d;           // in (0, 1]
    double decay;                  // a = 1 - self-discharge per step, in (0, 1]
    double kappa;                  // throughput cost, objective units per MWh
    double target;                 // z: objective pulls g towards it; <= every load (exactness)
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
    lo = fmax(-f.p_charge, load - f.g_max);
    hi = fmin(f.p_discharge, load - f.g_min);
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
    return fmax(dis, 0.0) + fmin(ch, 0.0);
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
    return fmin(fmax(free_power(nu, load - f.target, f), lo), hi);
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
        obj += h * ((g - f.target) * (g - f.target) + f.kappa * fabs(b));
    }
    out.objective = obj;
}

// ---------------------------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------------------------
// Min-max heap (Atkinson et al. 1986) of breakpoints: both ends in O(log n), a flat array.
struct Breakpoint {
    double nu, delta;  // position on the price axis, change of slope dX/dnu there
};

struct MinMaxHeap {
    Breakpoint* a;
    std::int64_t n;

    GRIDBATCH_HD static bool min_level(std::int64_t i) {  // level floor(log2(i + 1)) even
#ifdef __CUDA_ARCH__
        const int level = 63 - __clzll(static_cast<long long>(i + 1));
#else
        const int level = 63 - __builtin_clzll(static_cast<unsigned long long>(i + 1));
#endif
        return (level & 1) == 0;
    }
    GRIDBATCH_HD void swap(std::int64_t i, std::int64_t j) {
        const Breakpoint t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
    GRIDBATCH_HD void push(Breakpoint x) {
        std::int64_t i = n++;
        a[i] = x;
        if (i == 0) return;
        const std::int64_t p = (i - 1) / 2;
        const bool is_min = min_level(i);
        if (is_min ? a[i].nu > a[p].nu : a[i].nu < a[p].nu) {
            swap(i, p);
            i = p;
            bubble(i, !is_min);
        } else {
            bubble(i, is_min);
        }
    }
    GRIDBATCH_HD void bubble(std::int64_t i, bool is_min) {
        while (i > 2) {
            const std::int64_t gp = ((i - 1) / 2 - 1) / 2;
            if (is_min ? a[i].nu < a[gp].nu : a[i].nu > a[gp].nu) {
                swap(i, gp);
                i = gp;
            } else {
                return;
            }
        }
    }
    GRIDBATCH_HD void trickle(std::int64_t i) {
        const bool is_min = min_level(i);
        for (;;) {
            const std::int64_t c = 2 * i + 1;
            if (c >= n) return;
            // extreme among children and grandchildren
            std::int64_t m = c;
            const std::int64_t cand[6] = {c + 1, 2 * c + 1, 2 * c + 2, 2 * c + 3, 2 * c + 4, -1};
            for (int k = 0; cand[k] >= 0; ++k) {
                const std::int64_t j = cand[k];
                if (j >= n) continue;
                if (is_min ? a[j].nu < a[m].nu : a[j].nu > a[m].nu) m = j;
            }
            if (m > c + 1) {  // grandchild
                if (is_min ? a[m].nu < a[i].nu : a[m].nu > a[i].nu) {
                    swap(m, i);
                    const std::int64_t p = (m - 1) / 2;
                    if (is_min ? a[m].nu > a[p].nu : a[m].nu < a[p].nu) swap(m, p);
                    i = m;
                } else {
                    return;
                }
            } else {
                if (is_min ? a[m].nu < a[i].nu : a[m].nu > a[i].nu) swap(m, i);
                return;
            }
        }
    }
    GRIDBATCH_HD const Breakpoint& min() const { return a[0]; }
    GRIDBATCH_HD const Breakpoint& max() const {
        return n == 1 ? a[0] : (n > 2 && a[2].nu > a[1].nu) ? a[2] : a[1];
    }
    GRIDBATCH_HD Breakpoint pop_min() {
        const Breakpoint r = a[0];
        a[0] = a[--n];
        if (n > 0) trickle(0);
        return r;
    }
    GRIDBATCH_HD Breakpoint pop_max() {
        if (n == 1) return a[--n];
        const std::int64_t i = (n > 2 && a[2].nu > a[1].nu) ? 2 : 1;
        const Breakpoint r = a[i];
        a[i] = a[--n];
        if (i < n) trickle(i);
        return r;
    }
};

// ---------------------------------------------------------------------------------------------
// Exact one-state convex dynamic program in SoC for the general case (losses, self-discharge,
// throughput cost, battery and grid power limits). W_t(E) is the least cost of reaching energy E
// at step t; it is convex, and we keep the inverse of its derivative, X_t(nu) = the energy whose
// marginal cost is nu, a non-decreasing piecewise-linear function stored as breakpoints in a
// min-max heap. One step is X_{t+1}(nu) = a X_t(a nu) - s_t(nu) (s_t = energy drawn at price nu,
// <= 4 breakpoints) followed by clamping to [e_min, e_max], which pops breakpoints from either end
// (amortised O(log T) per step). Only the two clamp prices per step are kept; the backward pass
// clamps the final price into them and reads the dispatch off best_power(). Steps whose limits
// cannot be met are relaxed to the nearest achievable value and reported (first step, size).
// Workspace: (6 T + 8) breakpoints and 2 (T + 1) doubles.
struct DpState {
    MinMaxHeap heap;
    double p, q;         // true nu = stored nu * p, true delta = stored delta * q (lazy decay)
    double left, right;  // X(-inf), X(+inf)
};

GRIDBATCH_HD inline void dp_add_step(DpState& st, double load, double lo, double hi, double h,
                                     const FleetParams& f) {
    st.left -= stored_energy_drawn(hi, h, f);
    st.right -= stored_energy_drawn(lo, h, f);
    // -s(nu) is piecewise linear with kinks among these prices; its slope on each piece is
    // evaluated exactly at the midpoint and the slope changes become breakpoints.
    const double d = load - f.target;
    const double n1 = price_discharge_zero(d, f), n2 = price_charge_zero(d, f);
    const double p_hi = price_of_power(hi, d, f), p_lo = price_of_power(lo, d, f);
    double c[5] = {p_hi, n1, n2, price_of_power(0.0, d, f), p_lo};
    for (int i = 0; i < 5; ++i) c[i] = fmin(fmax(c[i], p_hi), p_lo);
    for (int i = 1; i < 5; ++i)
        for (int j = i; j > 0 && c[j] < c[j - 1]; --j) {
            const double tmp = c[j];
            c[j] = c[j - 1];
            c[j - 1] = tmp;
        }
    double prev = 0;
    for (int i = 0; i < 5; ++i) {
        double slope = 0;
        if (i < 4 && c[i + 1] > c[i]) {
            const double m = 0.5 * (c[i] + c[i + 1]);
            const double b = free_power(m, d, f);
            if (b < hi && b > lo) {
                const double db = (m < n1 ? -0.5 / f.eta_d : 0.0) + (m > n2 ? -0.5 * f.eta_c : 0.0);
                slope = -h * db * (b > 0 ? 1.0 / f.eta_d : f.eta_c);
            }
        } else if (i < 4) {
            continue;  // empty piece: the slope change happens at the next distinct price
        }
        if (slope != prev) st.heap.push({c[i] / st.p, (slope - prev) / st.q});
        prev = slope;
    }
}

// Clamps X from below at `floor`; returns the price where X crosses it (-inf when X >= floor).
GRIDBATCH_HD inline double dp_clamp_low(DpState& st, double floor) {
    if (st.left >= floor) return -kInf;
    double val = st.left, sl = 0, prev = -kInf;
    while (st.heap.n > 0) {
        const Breakpoint bp = st.heap.min();
        const double nu = bp.nu * st.p;
        const double at = sl > 0 ? val + sl * (nu - prev) : val;
        if (at >= floor) {  // crossing before this breakpoint, which stays
            const double cross = sl > 0 ? prev + (floor - val) / sl : nu;
            st.heap.push({cross / st.p, sl / st.q});
            st.left = floor;
            return cross;
        }
        st.heap.pop_min();
        val = at;
        sl += bp.delta * st.q;
        prev = nu;
    }
    // Rounding left the function flat below the floor: it is the floor everywhere.
    st.left = st.right = floor;
    return kInf;
}

GRIDBATCH_HD inline double dp_clamp_high(DpState& st, double ceil) {
    if (st.right <= ceil) return kInf;
    double val = st.right, sl = 0, prev = kInf;
    while (st.heap.n > 0) {
        const Breakpoint bp = st.heap.max();
        const double nu = bp.nu * st.p;
        const double at = sl > 0 ? val - sl * (prev - nu) : val;
        if (at <= ceil) {
            const double cross = sl > 0 ? prev - (val - ceil) / sl : nu;
            st.heap.push({cross / st.p, -sl / st.q});
            st.right = ceil;
            return cross;
        }
        st.heap.pop_max();
        val = at;
        sl -= bp.delta * st.q;  // slope to the left of this breakpoint
        prev = nu;
    }
    st.left = st.right = ceil;
    return -kInf;
}

// The price at which X reaches `target` (X is non-decreasing); destroys the heap.
GRIDBATCH_HD inline double dp_price_of(DpState& st, double target) {
    double val = st.left, sl = 0, prev = -kInf;
    while (st.heap.n > 0) {
        const Breakpoint bp = st.heap.pop_min();
        const double nu = bp.nu * st.p;
        const double at = sl > 0 ? val + sl * (nu - prev) : val;
        if (at >= target) return sl > 0 ? prev + (target - val) / sl : nu;
        val = at;
        sl += bp.delta * st.q;
        prev = nu;
    }
    return kInf;
}

// X(nu) at one price, without changing the heap order (linear scan; used once per solve).
GRIDBATCH_HD inline double dp_value_at(const DpState& st, double nu) {
    double x = st.left;
    for (std::int64_t i = 0; i < st.heap.n; ++i) {
        const double at = st.heap.a[i].nu * st.p;
        if (at < nu) x += st.heap.a[i].delta * st.q * (nu - at);
    }
    return x;
}

GRIDBATCH_HD inline void record(Outcome& out, std::int64_t step, double violation, int kind) {
    if (out.step >= 0) return;
    out.status = 4;
    out.step = step;
    out.violation = violation;
    out.violation_kind = kind;
}

GRIDBATCH_HD inline void dynamic_program(const double* load, std::int64_t stride, std::int64_t T,
                                         double h, const FleetParams& f, double* battery,
                                         Breakpoint* heap_storage, double* nu_lo, double* nu_hi,
                                         Outcome& out) {
    DpState st{{heap_storage, 0}, 1.0, 1.0, f.e_init, f.e_init};
    const double tol = 1e-9 * (1.0 + fabs(f.e_max));
    for (std::int64_t t = 0; t < T; ++t) {
        const double L = load[t * stride];
        double lo, hi;
        power_range(L, f, lo, hi);
        if (lo > hi) {
            record(out, t, lo - hi, 1);
            lo = hi;
        }
        if (f.decay != 1.0) {
            st.p /= f.decay;
            st.q *= f.decay * f.decay;
            st.left *= f.decay;
            st.right *= f.decay;
        }
        dp_add_step(st, L, lo, hi, h, f);
        double floor = f.e_min, ceil = f.e_max;
        if (st.right < floor) {
            if (floor - st.right > tol) record(out, t, floor - st.right, 2);
            floor = st.right;
        }
        if (st.left > ceil) {
            if (st.left - ceil > tol) record(out, t, st.left - ceil, 2);
            ceil = st.left;
        }
        nu_lo[t + 1] = dp_clamp_low(st, floor);
        nu_hi[t + 1] = dp_clamp_high(st, ceil);
    }
    // Terminal price: 0 for a free end (stored energy is worth nothing after the horizon).
    double nu = 0;
    if (f.terminal != 2) {
        const double x0 = dp_value_at(st, 0.0);
        if (f.terminal == 0 || x0 < f.e_init) {
            if (f.e_init > st.right + tol) record(out, T, f.e_init - st.right, 2);
            if (f.terminal == 0 && f.e_init < st.left - tol) record(out, T, st.left - f.e_init, 2);
            nu = f.e_init >= st.right  ? kInf
                 : f.e_init <= st.left ? -kInf
                                       : dp_price_of(st, f.e_init);
        }
    }
    for (std::int64_t t = T - 1; t >= 0; --t) {
        nu = fmin(fmax(nu, nu_lo[t + 1]), nu_hi[t + 1]);
        const double L = load[t * stride];
        double lo, hi;
        power_range(L, f, lo, hi);
        if (lo > hi) lo = hi;
        battery[t * stride] = best_power(nu, L, lo, hi, f);
        const double d = L - f.target;
        if (nu > price_charge_zero(d, f) && nu < price_discharge_zero(d, f)) ++out.relaxed_steps;
        nu *= f.decay;
    }
}

// ---------------------------------------------------------------------------------------------
// One scenario end to end. method: 0 automatic (taut string when lossless and it keeps every
// limit, else the dynamic program), 1 taut string (lossless; ignores power and grid limits),
// 2 dynamic program. Returns the method used. `work` holds workspace_items(T) breakpoints (the
// taut string's chains reuse it) and `prices` 2 (T + 1) doubles.
GRIDBATCH_HD inline std::int64_t workspace_items(std::int64_t T) { return 6 * T + 8; }

GRIDBATCH_HD inline int solve_scenario(const double* load, std::int64_t stride, std::int64_t T,
                                       double h, const FleetParams& f, int method, double* battery,
                                       double* soc, double* grid, Breakpoint* work, double* prices,
                                       Outcome& out) {
    out = {0, -1, 0.0, 0, 0.0, 0};
    const bool lossless = f.eta_c == 1.0 && f.eta_d == 1.0 && f.decay == 1.0 && f.kappa == 0.0;
    int used = 2;
    if (method != 2 && lossless && f.terminal != 2) {
        Point* chains = reinterpret_cast<Point*>(work);
        taut_string(load, stride, T, h, f, battery, chains, chains + (T + 2));
        if (method == 1 || within_limits(load, stride, T, f, battery)) used = 1;
    }
    if (used == 2)
        dynamic_program(load, stride, T, h, f, battery, work, prices, prices + T + 1, out);
    finish_outcome(load, stride, T, h, f, battery, soc, grid, out);
    return used;
}

// ---------------------------------------------------------------------------------------------
// Synthetic AI-training load. Each job is synchronous data-parallel training: all its GPUs swing
// together between compute (peak) and communication (trough) every iteration, drop for
// checkpoints and failure restarts, and ramp at start and stop. Facility overhead (cooling)
// follows IT power through a first-order lag.
constexpr int kMaxJobs = 8;

struct JobParams {
    double share;                  // fraction of the site's GPUs
    double period_s;               // iteration period
    double period_jitter;          // relative spread of the period between scenarios
    double compute_share;          // fraction of the iteration at peak power
    double peak_level;             // GPU power at peak, fraction of IT power per GPU
    double trough_level;           // during communication, fraction of IT power per GPU
    double amplitude_jitter;       // relative std dev of the peak per iteration
    double start_s, stop_s;        // job window
    double ramp_s;                 // linear ramp at start and stop
    double checkpoint_interval_s;  // 0 = none
    double checkpoint_duration_s;
    double checkpoint_level;
    double failure_rate_per_h;  // Poisson rate of failures
    double restart_outage_s;    // idle time after a failure
};

struct LoadParams {
    double gpu_count;
    double it_kw_per_gpu;  // IT power per GPU at full load (GPU + host share + network), kW
    double idle_level;     // idle GPUs, fraction of it_kw_per_gpu
    double pue;
    double cooling_time_constant_s;
    double noise;  // white noise, relative std dev of IT power per step
    int n_jobs;
    JobParams jobs[kMaxJobs];
};

// Random streams (one per use, so adding one never shifts the others).
enum : std::uint32_t {
    kPhase = 1,
    kPeriod = 2,
    kAmplitude = 3,
    kFailSlot = 4,
    kFailTime = 5,
    kNoise = 6
};
constexpr double kFailureSlotS = 60.0;  // Poisson process discretised into 1-minute slots

// State of one job while time advances; results equal the stateless counter-based definition.
// Failures: each 1-minute slot is drawn once (does it hold a failure, and when); the job is in
// outage while the latest failure so far is less than restart_outage_s ago, which is what asking
// at any time alone whether a failure in one of the last ceil(outage / slot) + 1 slots covers it
// gives, with one draw per slot instead of several per step. Peak jitter: one draw per iteration.
struct JobState {
    double p;                       // probability of a failure in a slot
    std::int64_t slot;              // last slot drawn (-1: none)
    double pending;                 // failure in the current slot not reached yet (inf: none)
    double latest;                  // latest failure reached
    double amplitude_n, amplitude;  // last iteration whose peak was drawn, and its factor
};

GRIDBATCH_HD inline JobState make_job_state(const JobParams& j) {
    const bool on = j.failure_rate_per_h > 0 && j.restart_outage_s > 0;
    return {on ? 1.0 - exp(-j.failure_rate_per_h * kFailureSlotS / 3600.0) : 0.0,
            -1,
            kInf,
            -kInf,
            -kInf,
            1.0};
}

GRIDBATCH_HD inline bool in_outage(JobState& f, const JobParams& j, std::uint64_t seed,
                                   std::int64_t scenario, int job, double time) {
    if (f.p <= 0) return false;
    const std::int64_t slot = static_cast<std::int64_t>(floor(time / kFailureSlotS));
    const std::uint32_t stream = static_cast<std::uint32_t>(job) << 8;
    // Slots skipped by a long step: only those whose outage could still reach `time` matter.
    const std::int64_t back = static_cast<std::int64_t>(ceil(j.restart_outage_s / kFailureSlotS));
    std::int64_t k = f.slot + 1;
    if (k < slot - back) k = slot - back;
    if (k < 0) k = 0;
    for (; k <= slot; ++k) {
        if (f.pending <= time) f.latest = f.pending;
        f.pending = kInf;
        if (uniform01(seed, scenario, stream | kFailSlot, k) >= f.p) continue;
        f.pending = (static_cast<double>(k) + uniform01(seed, scenario, stream | kFailTime, k)) *
                    kFailureSlotS;
    }
    f.slot = slot;
    if (f.pending <= time) {
        f.latest = f.pending;
        f.pending = kInf;
    }
    return time >= f.latest && time < f.latest + j.restart_outage_s;
}

GRIDBATCH_HD inline double job_level(const JobParams& j, double idle, std::uint64_t seed,
                                     std::int64_t scenario, int job, double time, double period,
                                     double phase, JobState& state) {
    if (time < j.start_s || time >= j.stop_s + j.ramp_s) return idle;
    double ramp = 1.0;
    if (j.ramp_s > 0) {
        ramp = fmin(1.0, (time - j.start_s) / j.ramp_s);
        if (time >= j.stop_s) ramp = fmin(ramp, 1.0 - (time - j.stop_s) / j.ramp_s);
    } else if (time >= j.stop_s) {
        return idle;
    }
    double level;
    if (in_outage(state, j, seed, scenario, job, time)) {
        level = idle;
    } else if (j.checkpoint_interval_s > 0 &&
               fmod(time - j.start_s, j.checkpoint_interval_s) >=
                   j.checkpoint_interval_s - j.checkpoint_duration_s) {
        level = j.checkpoint_level;
    } else {
        const double x = time / period + phase;
        const double n = floor(x);
        if (x - n < j.compute_share) {
            if (n != state.amplitude_n) {  // one draw per iteration
                const std::uint32_t stream = (static_cast<std::uint32_t>(job) << 8) | kAmplitude;
                state.amplitude_n = n;
                state.amplitude = 1.0 + j.amplitude_jitter * normal01(seed, scenario, stream,
                                                                      static_cast<std::int64_t>(n));
            }
            level = j.peak_level * state.amplitude;
        } else {
            level = j.trough_level;
        }
    }
    return idle + ramp * (level - idle);
}

GRIDBATCH_HD inline void training_load(const LoadParams& p, std::uint64_t seed,
                                       std::int64_t scenario, std::int64_t T, double dt,
                                       double* out, std::int64_t stride) {
    double period[kMaxJobs], phase[kMaxJobs], share_sum = 0;
    JobState failures[kMaxJobs];
    for (int k = 0; k < p.n_jobs; ++k) {
        failures[k] = make_job_state(p.jobs[k]);
        const std::uint32_t s = static_cast<std::uint32_t>(k) << 8;
        const JobParams& j = p.jobs[k];
        period[k] = j.period_s *
                    (1.0 + j.period_jitter * (2 * uniform01(seed, scenario, s | kPeriod, 0) - 1));
        phase[k] = uniform01(seed, scenario, s | kPhase, 0);
        share_sum += j.share;
    }
    const double mw_per_gpu = p.it_kw_per_gpu / 1000.0;
    const double alpha = 1.0 - exp(-dt / p.cooling_time_constant_s);
    double overhead = 0;
    for (std::int64_t t = 0; t < T; ++t) {
        const double time = static_cast<double>(t) * dt;
        double level = (1.0 - share_sum) * p.idle_level;
        for (int k = 0; k < p.n_jobs; ++k)
            level += p.jobs[k].share * job_level(p.jobs[k], p.idle_level, seed, scenario, k, time,
                                                 period[k], phase[k], failures[k]);
        double it = p.gpu_count * mw_per_gpu * level;
        if (p.noise > 0) it *= 1.0 + p.noise * normal01(seed, scenario, kNoise, t);
        const double target = (p.pue - 1.0) * it;
        overhead = t == 0 ? target : overhead + alpha * (target - overhead);
        out[t * stride] = it + overhead;
    }
}

}  // namespace gridbatch::detail::dispatch
