// The exact one-state convex dynamic program in SoC (losses, self-discharge, throughput cost,
// power limits), in one pass or in two halves for two threads.
//
// Written once for both backends, as every header of core/dispatch/: plain structs and raw
// strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU engine calls
// them with stride 1 (one scenario per column), the CUDA kernels with stride S (scenario-fastest,
// so neighbouring threads touch neighbouring addresses).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/dispatch/breakpoint_set.hpp"
#include "core/dispatch/fleet_model.hpp"

namespace gridbatch::detail::dispatch {

// Exact one-state convex dynamic program in SoC for the general case (losses, self-discharge,
// throughput cost, battery and grid power limits). W_t(E) is the least cost of reaching energy E
// at step t; it is convex, and we keep the inverse of its derivative, X_t(nu) = the energy whose
// marginal cost is nu, a non-decreasing piecewise-linear function stored as breakpoints in a
// BreakpointSet. One step is X_{t+1}(nu) = a X_t(a nu) - s_t(nu) (s_t = energy drawn at price nu,
// <= 4 breakpoints, <= 5 in the relaxation) followed by clamping to [e_min, e_max], which removes
// breakpoints from either end (amortised O(1) per step, plus O(log n) for a breakpoint landing
// deep inside). Only the two clamp prices per step are kept; the backward pass clamps the final
// price into them and reads the dispatch off best_power(). Steps whose limits cannot be met are
// relaxed to the nearest achievable value and reported (first step, size).
// Workspace of one pass: BreakpointSet::items_for(T) breakpoints (~6.19 T + 330: blocks for 6 T
// breakpoints, a spare block for merging and their directory) and 2 (T + 1) doubles. At most 5 T
// breakpoints are alive (each step adds at most 5, a clamp removes at least one for the one it
// adds).
struct DpState {
    BreakpointSet set;
    double p, q;         // true nu = stored nu * p, true delta = stored delta * q (lazy decay)
    double ip, iq;       // 1 / p, 1 / q (kept alongside: no division per breakpoint)
    double left, right;  // X(-inf), X(+inf)
    // The step's own breakpoints, in increasing price, [fb, fe): the clamps take them from here
    // before they enter the set (about a third of them never do); room for a crossing at each end.
    // kind: the breakpoint's place in the step (0..4 as added, 5 and 6 the crossings), and hint the
    // directory index where the last one of each kind went: similar steps put them close together.
    Breakpoint fresh[10];
    int kind[10];
    int fb, fe, added;
    std::int64_t hint[7];
    GRIDBATCH_HD void add(Breakpoint x) {
        kind[fe] = added++;
        fresh[fe++] = x;
    }
};

// Per-solve constants of the hot loop (multiplications instead of divisions).
struct DpConstants {
    double inv_eta_c, two_eta_d, two_over_eta_c;
    double slope_discharge, slope_charge;  // dX/dnu where discharge (charge) is free
    double decay2;
};
GRIDBATCH_HD inline DpConstants dp_constants(double h, const FleetParams& f) {
    return {1.0 / f.eta_c,
            2.0 * f.eta_d,
            2.0 / f.eta_c,
            0.5 * h / (f.eta_d * f.eta_d),
            0.5 * h * f.eta_c * f.eta_c,
            f.decay * f.decay};
}

// Any step, including the overlap of the relaxation (n1 > n2, target above the load).
GRIDBATCH_HD inline void dp_add_step_general(DpState& st, double d, double lo, double hi, double h,
                                             const FleetParams& f) {
    // -s(nu) is piecewise linear with kinks among these prices; its slope on each piece is
    // evaluated exactly at the midpoint and the slope changes become breakpoints.
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
        if (slope != prev) st.add({c[i] * st.ip, (slope - prev) * st.iq});
        prev = slope;
    }
}

GRIDBATCH_HD inline void dp_add_step(DpState& st, const DpConstants& k, double load, double lo,
                                     double hi, double h, const FleetParams& f) {
    st.left -= stored_energy_drawn(hi, h, f);
    st.right -= stored_energy_drawn(lo, h, f);
    const double d = load - f.target;
    const double n1 = f.eta_d * (2 * d - f.kappa), n2 = (2 * d + f.kappa) * k.inv_eta_c;
    if (n1 > n2) {
        dp_add_step_general(st, d, lo, hi, h, f);
        return;
    }
    // n1 <= n2: the response is hi .. 0 at slope -1 / (2 eta_d) on the discharge branch below n1,
    // 0 on [n1, n2] and 0 .. lo at slope -eta_c / 2 on the charge branch above n2, clamped to
    // [lo, hi]. X gains slope h / (2 eta_d^2) where discharge is free and h eta_c^2 / 2 where
    // charge is: two breakpoints each, in increasing order of price.
    const double dis_lo = lo > 0 ? lo : 0.0, ch_hi = hi < 0 ? hi : 0.0;
    if (hi > dis_lo) {
        st.add({(n1 - k.two_eta_d * hi) * st.ip, k.slope_discharge * st.iq});
        st.add({(n1 - k.two_eta_d * dis_lo) * st.ip, -k.slope_discharge * st.iq});
    }
    if (lo < ch_hi) {
        st.add({(n2 - k.two_over_eta_c * ch_hi) * st.ip, k.slope_charge * st.iq});
        st.add({(n2 - k.two_over_eta_c * lo) * st.ip, -k.slope_charge * st.iq});
    }
}

// Clamps X from below at `floor`; returns the price where X crosses it (-inf when X >= floor).
GRIDBATCH_HD inline double dp_clamp_low(DpState& st, double floor) {
    if (st.left >= floor) return -kInf;
    double val = st.left, sl = 0, prev = -kInf;
    for (;;) {
        const bool in_set =
            !st.set.empty() && (st.fb == st.fe || st.set.dir[st.set.db].key < st.fresh[st.fb].nu);
        if (!in_set && st.fb == st.fe) break;
        const Breakpoint bp = in_set ? st.set.min() : st.fresh[st.fb];
        const double nu = bp.nu * st.p;
        const double at = sl > 0 ? val + sl * (nu - prev) : val;
        if (at >= floor) {  // crossing before this breakpoint, which stays
            const double cross = sl > 0 ? prev + (floor - val) / sl : nu;
            st.fresh[--st.fb] = {cross * st.ip, sl * st.iq};
            st.kind[st.fb] = 5;
            st.left = floor;
            return cross;
        }
        if (in_set)
            st.set.pop_min();
        else
            ++st.fb;
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
    for (;;) {
        const bool in_set =
            !st.set.empty() && (st.fb == st.fe || st.set.max().nu > st.fresh[st.fe - 1].nu);
        if (!in_set && st.fb == st.fe) break;
        const Breakpoint bp = in_set ? st.set.max() : st.fresh[st.fe - 1];
        const double nu = bp.nu * st.p;
        const double at = sl > 0 ? val - sl * (prev - nu) : val;
        if (at <= ceil) {
            const double cross = sl > 0 ? prev - (val - ceil) / sl : nu;
            st.kind[st.fe] = 6;
            st.fresh[st.fe++] = {cross * st.ip, -sl * st.iq};
            st.right = ceil;
            return cross;
        }
        if (in_set)
            st.set.pop_max();
        else
            --st.fe;
        val = at;
        sl -= bp.delta * st.q;  // slope to the left of this breakpoint
        prev = nu;
    }
    st.left = st.right = ceil;
    return -kInf;
}

// The price at which X reaches `target` (X is non-decreasing); empties the set.
GRIDBATCH_HD inline double dp_price_of(DpState& st, double target) {
    double val = st.left, sl = 0, prev = -kInf;
    while (!st.set.empty()) {
        const Breakpoint bp = st.set.pop_min();
        const double nu = bp.nu * st.p;
        const double at = sl > 0 ? val + sl * (nu - prev) : val;
        if (at >= target) return sl > 0 ? prev + (target - val) / sl : nu;
        val = at;
        sl += bp.delta * st.q;
        prev = nu;
    }
    return kInf;
}

// X(nu) at one price, without changing the set (linear scan; used once per solve).
GRIDBATCH_HD inline double dp_value_at(const DpState& st, double nu) {
    double x = st.left;
    const BreakpointSet& set = st.set;
    for (std::int64_t k = set.db; set.n > 0 && k < set.de; ++k) {
        const Breakpoint* s = set.slots(set.dir[k]);
        for (int i = set.dir[k].beg; i < set.dir[k].end; ++i) {
            const double at = s[i].nu * st.p;
            if (at < nu) x += s[i].delta * st.q * (nu - at);
        }
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

// The forward pass over steps [0, T) of `load` from X_0 = f.e_init: leaves X_T in st and the clamp
// prices of the energy after each step in nu_lo[1..T], nu_hi[1..T].
GRIDBATCH_HD inline void dp_forward(const double* load, std::int64_t stride, std::int64_t T,
                                    double h, const FleetParams& f, DpState& st,
                                    Breakpoint* storage, double* nu_lo, double* nu_hi,
                                    Outcome& out) {
    st.set = BreakpointSet::make(storage, T);
    st.p = st.q = st.ip = st.iq = 1.0;
    st.left = st.right = f.e_init;
    for (std::int64_t& hint : st.hint) hint = -1;
    const DpConstants k = dp_constants(h, f);
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
            // p and q exactly as divisions and products of decay: reciprocals updated by
            // multiplication drift by an ulp per step, and the dispatch is sensitive to that drift
            // at the 1e-8 level over a day at 1 s.
            st.p /= f.decay;
            st.q *= k.decay2;
            st.ip = 1.0 / st.p;
            st.iq = 1.0 / st.q;
            st.left *= f.decay;
            st.right *= f.decay;
        }
        st.fb = st.fe = 2;
        st.added = 0;
        dp_add_step(st, k, L, lo, hi, h, f);
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
        // The clamps' crossings (kinds 5 and 6) lie beyond everything left (checked: the change of
        // units can round them an ulp inside): straight to the ends.
        int b = st.fb, e = st.fe;
        if (b < e && st.kind[b] == 5 &&
            (st.set.empty() || st.fresh[b].nu <= st.set.dir[st.set.db].key))
            st.set.push_front(st.fresh[b++]);
        if (b < e && st.kind[e - 1] == 6 &&
            (st.set.empty() || st.fresh[e - 1].nu >= st.set.max().nu))
            st.set.push_back(st.fresh[--e]);
        for (int i = b; i < e; ++i) st.set.push(st.fresh[i], st.hint[st.kind[i]]);
    }
}

// The battery power of one step at price nu (counting the steps dispatched by the relaxation).
GRIDBATCH_HD inline double dp_step_power(double nu, double L, const FleetParams& f, Outcome& out) {
    double lo, hi;
    power_range(L, f, lo, hi);
    if (lo > hi) lo = hi;
    const double d = L - f.target;
    if (nu < price_discharge_zero(d, f) && nu > price_charge_zero(d, f)) ++out.relaxed_steps;
    return best_power(nu, L, lo, hi, f);
}

// Reads the dispatch of steps T-1 .. 0 off the clamp prices, from the price nu of the energy
// after step T-1.
GRIDBATCH_HD inline void dp_rollout(const double* load, std::int64_t stride, std::int64_t T,
                                    const FleetParams& f, double nu, const double* nu_lo,
                                    const double* nu_hi, double* battery, Outcome& out) {
    for (std::int64_t t = T - 1; t >= 0; --t) {
        nu = min_of(max_of(nu, nu_lo[t + 1]), nu_hi[t + 1]);
        battery[t * stride] = dp_step_power(nu, load[t * stride], f, out);
        nu *= f.decay;
    }
}

// The whole horizon in one pass. prices: 2 (T + 1) doubles.
GRIDBATCH_HD inline void dynamic_program(const double* load, std::int64_t stride, std::int64_t T,
                                         double h, const FleetParams& f, double* battery,
                                         Breakpoint* storage, double* prices, Outcome& out) {
    DpState st;
    double *nu_lo = prices, *nu_hi = prices + T + 1;
    dp_forward(load, stride, T, h, f, st, storage, nu_lo, nu_hi, out);
    const double tol = 1e-9 * (1.0 + fabs(f.e_max));
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
    dp_rollout(load, stride, T, f, nu, nu_lo, nu_hi, battery, out);
}

// ---------------------------------------------------------------------------------------------
// The dynamic program split in time, for two threads on one scenario. With the end SoC fixed
// (terminal equal) and no self-discharge, the problem read backwards in time is the same dynamic
// program: with E^_t = -E_t, E^ drops by h psi(b_t) over step t exactly as E does forwards, stays
// in [-e_max, -e_min] and starts from -e_init at T, and its cost to arrive is the forward
// problem's cost to go, whose derivative in E^ is the same price nu. So one forward pass over
// the first m = T / 2 steps and one over the last T - m steps taken in reverse (independent of
// each other) give X_m and X^_m; the optimal energy at m is where the two prices agree,
// X_m(nu) = -X^_m(nu), and each half's dispatch is read off its own clamp prices from that nu.
// Same optimum as the one pass. Where a half meets a limit it cannot keep, or the halves do not
// meet (the energy reachable from the start and that from which the end is reachable do not
// overlap), the caller runs the one pass, which says where and by how much.
// Workspace: half 0 takes the first BreakpointSet::items_for(m) breakpoints and the first
// 2 (m + 1) prices, half 1 the next; the one pass reuses them all.
constexpr std::int64_t kSplitMinSteps = 64;  // below this a second thread costs more than it saves
GRIDBATCH_HD inline bool dp_splits(std::int64_t T, const FleetParams& f) {
    return f.terminal == 0 && f.decay == 1.0 && T >= kSplitMinSteps;
}

// Workspace of one scenario: workspace_items(T) breakpoints (the taut string's chains reuse
// them) and price_items(T) doubles, for the one pass or the two halves.
GRIDBATCH_HD inline std::int64_t workspace_items(std::int64_t T) {
    const std::int64_t one = BreakpointSet::items_for(T),
                       two = BreakpointSet::items_for(T / 2) + BreakpointSet::items_for(T - T / 2);
    return one > two ? one : two;
}
GRIDBATCH_HD inline std::int64_t price_items(std::int64_t T) { return 2 * (T + 2); }

// The two halves' states, a cache line apart or more: two threads update them every step, and
// with the halves sharing a line each half of a lossy day took 7-8 ms instead of 4.5 ms.
struct DpHalves {
    struct alignas(64) Half {
        DpState st;
        Outcome out;
    };
    Half half[2];
    double nu;  // the price where they meet (dp_meet_halves); NaN where they do not
};

// Half 0: steps [0, m) forwards; half 1: steps [m, T) in reverse. Independent of each other.
GRIDBATCH_HD inline void dp_half(const double* load, std::int64_t stride, std::int64_t T, double h,
                                 const FleetParams& f, int half, Breakpoint* work, double* prices,
                                 DpHalves& hv) {
    const std::int64_t m = T / 2, n = T - m;
    Outcome& out = hv.half[half].out;
    out = {0, -1, 0.0, 0, 0.0, 0};
    if (half == 0) {
        dp_forward(load, stride, m, h, f, hv.half[0].st, work, prices, prices + m + 1, out);
        return;
    }
    FleetParams r = f;
    r.e_min = -f.e_max;
    r.e_max = -f.e_min;
    r.e_init = -f.e_init;
    double* p = prices + 2 * (m + 1);
    dp_forward(load + (T - 1) * stride, -stride, n, h, r, hv.half[1].st,
               work + BreakpointSet::items_for(m), p, p + n + 1, out);
}

// The price nu where X_m(nu) + X^_m(nu) = 0 (both non-decreasing; the walk merges their
// breakpoints and empties both sets); NaN where there is none. Prices are stored unscaled here
// (no self-discharge: p = q = 1).
GRIDBATCH_HD inline double dp_meet(DpState& a, DpState& b) {
    double val = a.left + b.left, sl = 0, prev = -kInf;
    if (val > 0) return NAN;
    for (;;) {
        const bool ea = a.set.empty(), eb = b.set.empty();
        if (ea && eb) break;
        const bool from_a = !ea && (eb || a.set.min().nu <= b.set.min().nu);
        const Breakpoint bp = from_a ? a.set.pop_min() : b.set.pop_min();
        const double at = sl > 0 ? val + sl * (bp.nu - prev) : val;
        if (at >= 0) return sl > 0 ? prev + (0 - val) / sl : bp.nu;
        val = at;
        sl += bp.delta;
        prev = bp.nu;
    }
    return a.right + b.right >= 0 ? kInf : NAN;
}

// Whether the halves meet (else the caller runs the one pass); sets hv.nu.
GRIDBATCH_HD inline bool dp_meet_halves(DpHalves& hv) {
    const bool failed = hv.half[0].out.step >= 0 || hv.half[1].out.step >= 0;
    hv.nu = failed ? NAN : dp_meet(hv.half[0].st, hv.half[1].st);
    return hv.nu == hv.nu;
}

// One half's dispatch, SoC, grid draw and share of the objective (in hv.half[half].out) once the
// halves meet. Half 0 writes soc[0..m] forwards from the initial SoC, half 1 soc[m+1..T] backwards
// from the end, which is the initial SoC too (the split's terminal condition is `equal`): the two
// need nothing of each other, so two threads can run them.
GRIDBATCH_HD inline void dp_finish_half(const double* load, std::int64_t stride, std::int64_t T,
                                        double h, const FleetParams& f, DpHalves& hv, int half,
                                        const double* prices, double* battery, double* soc,
                                        double* grid) {
    const std::int64_t m = T / 2, n = T - m;
    Outcome& out = hv.half[half].out;
    out = {0, -1, 0.0, 0, 0.0, 0};
    double obj = 0, e = f.e_init;
    const auto step = [&](std::int64_t t) {
        const double b = battery[t * stride], g = load[t * stride] - b;
        grid[t * stride] = g;
        obj += step_cost(b, g, h, f);
        return stored_energy_drawn(b, h, f);
    };
    if (half == 0) {
        dp_rollout(load, stride, m, f, hv.nu, prices, prices + m + 1, battery, out);
        soc[0] = e;
        for (std::int64_t t = 0; t < m; ++t) {
            e -= step(t);
            soc[(t + 1) * stride] = e;
        }
    } else {
        // The reverse pass clamped E_t (t >= m) at its step T - t.
        const double *lo = prices + 2 * (m + 1), *hi = lo + n + 1;
        double v = hv.nu;
        for (std::int64_t t = m; t < T; ++t) {
            v = min_of(max_of(v, lo[T - t]), hi[T - t]);
            battery[t * stride] = dp_step_power(v, load[t * stride], f, out);
        }
        soc[T * stride] = e;
        for (std::int64_t t = T - 1; t > m; --t) {
            e += step(t);
            soc[t * stride] = e;
        }
        step(m);
    }
    out.objective = obj;
}

// The scenario's outcome from its two finished halves.
GRIDBATCH_HD inline Outcome dp_joined(const DpHalves& hv) {
    return {0,
            -1,
            0.0,
            0,
            hv.half[0].out.objective + hv.half[1].out.objective,
            hv.half[0].out.relaxed_steps + hv.half[1].out.relaxed_steps};
}

}  // namespace gridbatch::detail::dispatch
