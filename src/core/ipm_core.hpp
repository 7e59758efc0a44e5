// The interior point of ipm_qp.hpp, one scenario's solve, written once for both backends (as
// core/dispatch/ is): plain structs, raw pointers, no allocation, `__host__ __device__` under
// nvcc. BoundedQp (ipm_qp.hpp) builds the Structure, shared by every scenario of one QP kind, on
// the host. The CPU runs solve() with Step = One (a scenario's vectors contiguous); a kernel runs
// it with the stride S, one thread per scenario, element i of scenario s at i * S + s: every thread
// walks the same indices (the pattern is shared), so a warp's loads of one element are coalesced
// and its loads of the Structure are broadcasts.
//
// The LDL' factorisation is Eigen's SimplicialLDLT (natural order, upper triangle; the up-looking
// algorithm of Davis's LDL) with its symbolic part, the nonzero pattern of every row of L in
// elimination order, computed once per Structure instead of once per factorisation; the
// arithmetic is the same, operation for operation, so this factor equals Eigen's bitwise
// (tests/core/test_ipm_core.cpp).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/host_device.hpp"

namespace gridbatch::detail::ipm {

constexpr double kInfinity = 1e20;  // a bound at or beyond it is no bound (OSQP's convention)

// Solve statuses: the values of gridbatch::Status (static_assert in ipm_qp.hpp).
constexpr int kConverged = 0, kMaxIterations = 1, kInfeasible = 4, kNotSolved = 5;

struct Settings {
    double tolerance = 1e-9;  // relative primal and dual residuals and duality gap
    int max_iterations = 80;
    // 1e-10 lost pivots in the end game of degenerate problems (directions of 1e18, then a
    // stall: backup generation with a peak term; the elastic LP, whose g, r, v have no
    // curvature); of 300 random dispatch problems 1e-8 solved the most (1e-9 and 1e-7 fewer).
    double regularization = 1e-10;
    int refinements = 2;  // per direction, once mu < refine_below * (its start)
    double refine_below = 1e-6;
    double step_fraction = 0.995;    // of the way to the boundary
    double lost_pivot_step = 1e-10;  // a shorter step means a lost pivot: more regularisation
    // Give up on a stall: after stall_window steps that cut the primal residual by less than
    // stall_progress (a fraction), from step 2 stall_window + 5 on; 0: never.
    int stall_window = 10;
    double stall_progress = 0.01;
};

struct Outcome {
    int status = kNotSolved;
    int iterations = 0;
    double primal_residual = 0;  // unscaled, inf-norm
    double dual_residual = 0;
};

// What every scenario of one QP shares (see ipm_qp.hpp for the problem and the KKT system).
// Matrices are CSC with int indices: ptr (columns + 1), row, val.
struct Structure {
    int n = 0;     // variables
    int m = 0;     // equality rows (E)
    int rows = 0;  // rows of the caller's A (equalities and bounds), the length of l and u
    // Row i of A: the equality row eq_of_row[i] of E, or (eq_of_row[i] < 0) the bound
    // l_i <= bound_coef[i] x_{bound_var[i]} <= u_i.
    const int* eq_of_row = nullptr;
    const int* bound_var = nullptr;
    const double* bound_coef = nullptr;
    const double* row_scale = nullptr;             // m: E = diag(row_scale) * (A's equality rows)
    const int *p_ptr = nullptr, *p_row = nullptr;  // P, n x n, both triangles
    const double* p_val = nullptr;
    double p_max = 0;                              // largest |P_ij|
    const int *e_ptr = nullptr, *e_row = nullptr;  // E, m x n
    const double* e_val = nullptr;
    const int *et_ptr = nullptr, *et_row = nullptr;  // E', n x m
    const double* et_val = nullptr;
    // The KKT matrix's upper triangle in stored order (N = n + m unknowns: x, then E's rows),
    // with P unscaled and zeros on the diagonal; order[i]: the unknown at stored position i,
    // pos[u]: the stored position of unknown u.
    const int *k_ptr = nullptr, *k_row = nullptr;
    const double* k_val = nullptr;
    const int *order = nullptr, *pos = nullptr;
    // L's pattern (CSC, N columns, no diagonal) and the factorisation's schedule: row k of L has
    // its nonzeros in the columns s_col[s_ptr[k] .. s_ptr[k + 1]), in elimination order; L(k, i)
    // goes to l_val[s_pos], after the entries of column i that rows before k filled.
    const int *l_ptr = nullptr, *l_row = nullptr;
    const int *s_ptr = nullptr, *s_col = nullptr, *s_pos = nullptr;
};

// The stride of a scenario's vectors: One (contiguous, known at compile time) or a long long.
struct One {
    GRIDBATCH_HD constexpr operator long long() const { return 1; }
};

template <class Step>
struct Vec {
    double* p;
    Step step;
    GRIDBATCH_HD double& operator[](long long i) const { return p[i * step]; }
};

// A scenario's input vector (q, l, u) at a stride.
template <class Step>
struct In {
    const double* p;
    Step step;
    GRIDBATCH_HD double operator[](long long i) const { return p[i * step]; }
};

// Per bound flags of a variable.
enum : std::uint8_t { kFixed = 1, kHasLower = 2, kHasUpper = 4 };

// One scenario's state: doubles() doubles and n flag bytes, both at the scenario's stride.
template <class Step>
struct Workspace {
    // n: the iterate, its bounds and multipliers, residuals and directions.
    Vec<Step> x, best_x, lb, ub, zl, zu, q, rd, px, ety, dx, dx_aff, dzl, dzl_aff, dzu, dzu_aff,
        tau_l, tau_u, inv_sl, inv_su;
    Vec<Step> y, best_y, b, rp;        // m
    Vec<Step> rhs, sol, res, work, d;  // N, stored order; d: D of LDL'
    Vec<Step> kv, l;                   // the KKT values, L's values
    Vec<Step> primal;                  // max_iterations + 1: primal residual by step
    std::uint8_t* flags;
    Step step;
    GRIDBATCH_HD std::uint8_t& flag(long long j) const { return flags[j * step]; }

    GRIDBATCH_HD static long long doubles(const Structure& st, int max_iterations) {
        const long long n = st.n, m = st.m, N = n + m;
        return 20 * n + 4 * m + 5 * N + st.k_ptr[N] + st.l_ptr[N] + max_iterations + 1;
    }
    GRIDBATCH_HD Workspace(const Structure& st, int max_iterations, double* base,
                           std::uint8_t* flag_base, Step s)
        : flags(flag_base), step(s) {
        long long at = 0;
        const auto take = [&](long long len) {
            const Vec<Step> v{base + at * static_cast<long long>(s), s};
            at += len;
            return v;
        };
        const long long n = st.n, m = st.m, N = n + m;
        Vec<Step>* by_n[] = {&x,   &best_x,  &lb,    &ub,    &zl,     &zu,    &q,
                             &rd,  &px,      &ety,   &dx,    &dx_aff, &dzl,   &dzl_aff,
                             &dzu, &dzu_aff, &tau_l, &tau_u, &inv_sl, &inv_su};
        for (Vec<Step>* v : by_n) *v = take(n);
        y = take(m);
        best_y = take(m);
        b = take(m);
        rp = take(m);
        rhs = take(N);
        sol = take(N);
        res = take(N);
        work = take(N);
        d = take(N);
        kv = take(st.k_ptr[N]);
        l = take(st.l_ptr[N]);
        primal = take(max_iterations + 1);
    }
};

// ---------------------------------------------------------------------------------------------
// Small helpers with std::min / std::max's exact semantics (NaN: the first argument).
GRIDBATCH_HD inline double lesser(double a, double b) { return b < a ? b : a; }
GRIDBATCH_HD inline double greater(double a, double b) { return a < b ? b : a; }

// |v| and "v is finite" without library calls (std::isfinite is not a device function
// everywhere).
GRIDBATCH_HD inline double magnitude(double v) { return v < 0 ? -v : v; }
GRIDBATCH_HD inline bool finite(double v) { return v - v == 0; }

// Largest |v_i|; NaN if any is (a NaN iterate must stop the solve).
template <class V>
GRIDBATCH_HD double inf_norm(const V& v, long long len) {
    double r = 0;
    for (long long i = 0; i < len; ++i) {
        const double a = magnitude(v[i]);
        if (a != a) return a;
        if (a > r) r = a;
    }
    return r;
}

// out = M v for a CSC matrix M of `cols` columns (out has M's rows, `rows_out`).
template <class Step>
GRIDBATCH_HD void multiply(const int* ptr, const int* row, const double* val, long long cols,
                           long long rows_out, const Vec<Step>& v, const Vec<Step>& out) {
    for (long long i = 0; i < rows_out; ++i) out[i] = 0;
    for (long long j = 0; j < cols; ++j) {
        const double vj = v[j];
        for (int p = ptr[j]; p < ptr[j + 1]; ++p) out[row[p]] += val[p] * vj;
    }
}

// ---------------------------------------------------------------------------------------------
// LDL' of the values in ws.kv (false: a zero pivot), and the solve of L D L' v = v in place.
template <class Step>
GRIDBATCH_HD bool ldl_factor(const Structure& st, const Workspace<Step>& ws) {
    const long long N = st.n + st.m;
    for (long long k = 0; k < N; ++k) {
        ws.work[k] = 0;
        for (int p = st.k_ptr[k]; p < st.k_ptr[k + 1]; ++p) ws.work[st.k_row[p]] += ws.kv[p];
        double d = ws.work[k];
        ws.work[k] = 0;
        for (int e = st.s_ptr[k]; e < st.s_ptr[k + 1]; ++e) {
            const int i = st.s_col[e], at = st.s_pos[e];
            const double yi = ws.work[i];
            ws.work[i] = 0;
            for (int p = st.l_ptr[i]; p < at; ++p) ws.work[st.l_row[p]] -= ws.l[p] * yi;
            const double l_ki = yi / ws.d[i];
            d -= l_ki * yi;
            ws.l[at] = l_ki;
        }
        ws.d[k] = d;
        if (d == 0) return false;
    }
    return true;
}

template <class Step>
GRIDBATCH_HD void ldl_solve(const Structure& st, const Workspace<Step>& ws, const Vec<Step>& v) {
    const long long N = st.n + st.m;
    for (long long j = 0; j < N; ++j) {
        const double vj = v[j];
        if (vj != 0)
            for (int p = st.l_ptr[j]; p < st.l_ptr[j + 1]; ++p) v[st.l_row[p]] -= vj * ws.l[p];
    }
    for (long long j = 0; j < N; ++j) v[j] = (1 / ws.d[j]) * v[j];
    for (long long j = N - 1; j >= 0; --j) {
        double t = v[j];
        for (int p = st.l_ptr[j]; p < st.l_ptr[j + 1]; ++p) t -= ws.l[p] * v[st.l_row[p]];
        v[j] = t;
    }
}

// ---------------------------------------------------------------------------------------------
// The interior point's steps (ipm_qp.hpp explains the method).
template <class Step>
struct Solver {
    const Structure& st;
    const Settings& set;
    const Workspace<Step>& ws;
    long long n, m, N;
    double cost = 1;   // objective scale
    double delta = 0;  // regularisation of the current factorisation
    bool refine = false;

    GRIDBATCH_HD Solver(const Structure& s, const Settings& se, const Workspace<Step>& w)
        : st(s), set(se), ws(w), n(s.n), m(s.m), N(s.n + s.m) {}

    GRIDBATCH_HD bool fixed(long long j) const { return ws.flag(j) & kFixed; }
    GRIDBATCH_HD bool has_lb(long long j) const { return ws.flag(j) & kHasLower; }
    GRIDBATCH_HD bool has_ub(long long j) const { return ws.flag(j) & kHasUpper; }
    GRIDBATCH_HD static double tiny(double v) { return 1e-300 + 1e-15 * magnitude(v); }

    // Bounds from the bound rows, E's right-hand side, the cost scale and the starting point.
    template <class In>
    GRIDBATCH_HD void setup(const In& q, const In& l, const In& u) {
        // Cost scaling: the largest entry of P and q to 1. The residual tolerances have an
        // absolute part; with the dispatch's weights (w_level ~ 1e-7 w_ramp) unscaled gradients
        // are so small that it would pass answers far from optimal, and a peak or backup cost
        // makes them so large that the start is far from centred.
        const double c_max = greater(st.p_max, inf_norm(q, n));
        cost = c_max > 0 && finite(c_max) ? 1 / c_max : 1;
        for (long long j = 0; j < n; ++j) {
            ws.q[j] = cost * q[j];
            ws.lb[j] = -HUGE_VAL;
            ws.ub[j] = HUGE_VAL;
        }
        for (long long i = 0; i < st.rows; ++i) {
            const int e = st.eq_of_row[i];
            if (e >= 0) {
                ws.b[e] = st.row_scale[e] * l[i];
                continue;
            }
            const int j = st.bound_var[i];
            const double c = st.bound_coef[i];
            // l_i <= c x_j <= u_i; a negative c swaps the sides, infinite ones included.
            const bool no_l = l[i] <= -kInfinity, no_u = u[i] >= kInfinity;
            const double lo = c > 0 ? (no_l ? -HUGE_VAL : l[i] / c) : (no_u ? -HUGE_VAL : u[i] / c);
            const double hi = c > 0 ? (no_u ? HUGE_VAL : u[i] / c) : (no_l ? HUGE_VAL : l[i] / c);
            ws.lb[j] = greater(ws.lb[j], lo);
            ws.ub[j] = lesser(ws.ub[j], hi);
        }
        for (long long j = 0; j < n; ++j) {
            const double lo = ws.lb[j], hi = ws.ub[j];
            const bool fl = finite(lo), fh = finite(hi);
            ws.zl[j] = 0;
            ws.zu[j] = 0;
            if (fl && fh && hi - lo <= 1e-12 * (1 + magnitude(lo))) {
                ws.flag(j) = kFixed;
                ws.x[j] = 0.5 * (lo + hi);
                continue;
            }
            ws.flag(j) = static_cast<std::uint8_t>((fl ? kHasLower : 0) | (fh ? kHasUpper : 0));
            // Start inside, away from the bounds by a part of the range (or by 1 when one-sided).
            ws.x[j] = fl && fh ? 0.5 * (lo + hi) : fl ? lo + 1 : fh ? hi - 1 : 0;
        }
        // Multipliers that absorb the starting gradient (y = 0), each pair near s z = 1: with
        // z = 1 against a gradient of tens (a backup-generation cost) the iterates started badly
        // centred and crawled.
        for (long long i = 0; i < m; ++i) ws.y[i] = 0;
        multiply(st.p_ptr, st.p_row, st.p_val, n, n, ws.x, ws.px);
        for (long long j = 0; j < n; ++j) {
            if (fixed(j)) continue;
            const double grad = cost * ws.px[j] + ws.q[j];
            if (has_lb(j)) ws.zl[j] = greater(grad, 0.0) + 1 / greater(ws.x[j] - ws.lb[j], 1e-3);
            if (has_ub(j)) ws.zu[j] = greater(-grad, 0.0) + 1 / greater(ws.ub[j] - ws.x[j], 1e-3);
        }
    }

    GRIDBATCH_HD bool bounds_consistent() const {
        for (long long j = 0; j < n; ++j)
            if (!(ws.lb[j] <= ws.ub[j] + 1e-12 * (1 + magnitude(ws.ub[j])))) return false;
        return true;
    }
    GRIDBATCH_HD long long count_bounds() const {
        long long nb = 0;
        for (long long j = 0; j < n; ++j) nb += has_lb(j) + has_ub(j);
        return nb;
    }
    // The complementarity gap after a step a along (dx, dzl, dzu).
    GRIDBATCH_HD double gap_after(double a) const {
        double gap = 0;
        for (long long j = 0; j < n; ++j) {
            if (has_lb(j)) gap += (ws.x[j] + a * ws.dx[j] - ws.lb[j]) * (ws.zl[j] + a * ws.dzl[j]);
            if (has_ub(j)) gap += (ws.ub[j] - ws.x[j] - a * ws.dx[j]) * (ws.zu[j] + a * ws.dzu[j]);
        }
        return gap;
    }
    GRIDBATCH_HD double complementarity() const {
        double gap = 0;
        for (long long j = 0; j < n; ++j) {
            if (has_lb(j)) gap += (ws.x[j] - ws.lb[j]) * ws.zl[j];
            if (has_ub(j)) gap += (ws.ub[j] - ws.x[j]) * ws.zu[j];
        }
        return gap;
    }
    // r_d, r_p, Px, E'y at the current point.
    GRIDBATCH_HD void residuals() const {
        multiply(st.p_ptr, st.p_row, st.p_val, n, n, ws.x, ws.px);
        multiply(st.et_ptr, st.et_row, st.et_val, m, n, ws.y, ws.ety);
        for (long long j = 0; j < n; ++j) {
            ws.px[j] *= cost;
            ws.rd[j] = ws.px[j] + ws.q[j] - ws.ety[j] - ws.zl[j] + ws.zu[j];
        }
        for (long long i = 0; i < m; ++i) ws.rp[i] = ws.b[i];
        for (long long j = 0; j < n; ++j) {
            const double xj = ws.x[j];
            for (int p = st.e_ptr[j]; p < st.e_ptr[j + 1]; ++p)
                ws.rp[st.e_row[p]] -= st.e_val[p] * xj;
        }
    }
    GRIDBATCH_HD double dual_norm() const {
        double r = 0;
        for (long long j = 0; j < n; ++j)
            if (!fixed(j)) r = greater(r, magnitude(ws.rd[j]));
        return r;
    }
    GRIDBATCH_HD double dual_scale() const {
        return greater(greater(inf_norm(ws.px, n), inf_norm(ws.q, n)), inf_norm(ws.ety, n));
    }

    // Numeric LDL' of the KKT matrix at the current point; a fixed variable's row and column
    // become the identity's (its step is 0).
    GRIDBATCH_HD bool factorise(double reg) {
        delta = reg;
        // 1 / slack, for Sigma and every direction of this iteration (divisions cost).
        for (long long j = 0; j < n; ++j) {
            ws.inv_sl[j] = has_lb(j) ? 1 / (ws.x[j] - ws.lb[j]) : 0.0;
            ws.inv_su[j] = has_ub(j) ? 1 / (ws.ub[j] - ws.x[j]) : 0.0;
        }
        for (long long c = 0; c < N; ++c) {
            const int uc = st.order[c];
            for (int p = st.k_ptr[c]; p < st.k_ptr[c + 1]; ++p) {
                const int r = st.k_row[p], ur = st.order[r];
                double v = st.k_val[p];
                if (r == c) {
                    if (uc >= n) {
                        v = -delta;
                    } else if (fixed(uc)) {
                        v = 1;
                    } else {
                        double sigma = 0;
                        if (has_lb(uc)) sigma += ws.zl[uc] * ws.inv_sl[uc];
                        if (has_ub(uc)) sigma += ws.zu[uc] * ws.inv_su[uc];
                        v = v * cost + (sigma + delta);
                    }
                } else if ((ur < n && fixed(ur)) || (uc < n && fixed(uc))) {
                    v = 0;
                } else if (ur < n && uc < n) {
                    v *= cost;
                }
                ws.kv[p] = v;
            }
        }
        return ldl_factor(st, ws);
    }

    // out = K v without the regularisation (stored order; K holds one triangle).
    GRIDBATCH_HD void multiply_unregularised(const Vec<Step>& v, const Vec<Step>& out) const {
        for (long long i = 0; i < N; ++i) out[i] = 0;
        for (long long c = 0; c < N; ++c)
            for (int p = st.k_ptr[c]; p < st.k_ptr[c + 1]; ++p) {
                const int r = st.k_row[p];
                if (r == c) {
                    const int u = st.order[c];
                    const double reg = u >= n ? -delta : fixed(u) ? 0.0 : delta;
                    out[r] += (ws.kv[p] - reg) * v[c];
                } else {
                    out[r] += ws.kv[p] * v[c];
                    out[c] += ws.kv[p] * v[r];
                }
            }
    }

    // dx, w (ws.sol, stored order), dzl, dzu for the centring targets ws.tau_l, ws.tau_u.
    GRIDBATCH_HD void newton_direction() const {
        for (long long j = 0; j < n; ++j) {
            double r = 0;
            if (!fixed(j)) {
                r = -ws.rd[j];
                if (has_lb(j)) r += ws.tau_l[j] * ws.inv_sl[j] - ws.zl[j];
                if (has_ub(j)) r -= ws.tau_u[j] * ws.inv_su[j] - ws.zu[j];
            }
            ws.rhs[st.pos[j]] = r;
        }
        for (long long i = 0; i < m; ++i) ws.rhs[st.pos[n + i]] = ws.rp[i];
        for (long long i = 0; i < N; ++i) ws.sol[i] = ws.rhs[i];
        ldl_solve(st, ws, ws.sol);
        // Iterative refinement against the unregularised matrix, in the end game: there Sigma
        // spans many orders of magnitude and delta's perturbation of the direction made the
        // dual residual grow step by step (a peak term with a battery ramp limit).
        for (int it = 0; refine && it < set.refinements; ++it) {
            multiply_unregularised(ws.sol, ws.res);
            for (long long i = 0; i < N; ++i) ws.res[i] = ws.rhs[i] - ws.res[i];
            if (!(inf_norm(ws.res, N) > 1e-12 * (1 + inf_norm(ws.rhs, N)))) break;
            ldl_solve(st, ws, ws.res);
            for (long long i = 0; i < N; ++i) ws.sol[i] += ws.res[i];
        }
        for (long long j = 0; j < n; ++j) {
            const double dx = ws.sol[st.pos[j]];
            ws.dx[j] = dx;
            ws.dzl[j] = has_lb(j) ? (ws.tau_l[j] - ws.zl[j] * dx) * ws.inv_sl[j] - ws.zl[j] : 0.0;
            ws.dzu[j] = has_ub(j) ? (ws.tau_u[j] + ws.zu[j] * dx) * ws.inv_su[j] - ws.zu[j] : 0.0;
        }
    }

    // The largest step in (0, 1] keeping slacks and multipliers positive, times `fraction`.
    GRIDBATCH_HD double step_to_boundary(double fraction) const {
        double a = 1 / fraction;
        // Divide only where the step so far would cross (most entries do not).
        const auto limit = [&a](double room, double rate) {  // rate < 0 shrinks room
            if (rate < 0 && room < a * -rate) a = room / -rate;
        };
        for (long long j = 0; j < n; ++j) {
            const double dx = ws.dx[j];
            if (has_lb(j)) {
                limit(ws.x[j] - ws.lb[j], dx);
                limit(ws.zl[j], ws.dzl[j]);
            }
            if (has_ub(j)) {
                limit(ws.ub[j] - ws.x[j], -dx);
                limit(ws.zu[j], ws.dzu[j]);
            }
        }
        return lesser(1.0, fraction * a);
    }

    // Mehrotra's predictor-corrector direction at the current factorisation and its step length.
    // `lagging`: the infeasibility falls slower than mu.
    GRIDBATCH_HD double step_direction(double mu, bool lagging, long long nb) const {
        const auto mean_of = [nb](double gap) {
            return nb > 0 ? gap / static_cast<double>(nb) : 0.0;
        };
        // Predictor (affine scaling, tau = 0).
        for (long long j = 0; j < n; ++j) {
            ws.tau_l[j] = 0;
            ws.tau_u[j] = 0;
        }
        newton_direction();
        for (long long j = 0; j < n; ++j) {
            ws.dzl_aff[j] = ws.dzl[j];
            ws.dzu_aff[j] = ws.dzu[j];
            ws.dx_aff[j] = ws.dx[j];
        }
        const double a_aff = step_to_boundary(1.0);
        const double mu_aff = mean_of(gap_after(a_aff));
        const double ratio = mu > 0 ? lesser(greater(mu_aff / mu, 0.0), 1.0) : 0.0;
        // Mehrotra's (mu_aff / mu)^3 as two products: pow is a library call whose last bit
        // differs between glibc and CUDA, and this parameter steers the whole end game.
        double sigma = mu > 0 ? ratio * ratio * ratio : 0;
        // Keep the infeasibility falling at least as fast as mu: otherwise the iterates reach
        // the boundary still infeasible and crawl (seen with backup generation riding its ramp
        // limit, the fleet's power limit and the import limit at once).
        if (lagging) sigma = greater(sigma, 0.5);
        // Corrector: centring plus Mehrotra's second-order term.
        for (long long j = 0; j < n; ++j) {
            if (has_lb(j)) ws.tau_l[j] = sigma * mu - ws.dx_aff[j] * ws.dzl_aff[j];
            if (has_ub(j)) ws.tau_u[j] = sigma * mu + ws.dx_aff[j] * ws.dzu_aff[j];
        }
        newton_direction();
        double a = step_to_boundary(set.step_fraction);
        // Mehrotra's second-order term can make a step that raises the gap (seen as a two-step
        // cycle that stalled the dispatch QP); then centre without it.
        if (gap_after(a) > (1 - 0.01 * a) * static_cast<double>(nb) * mu) {
            for (long long j = 0; j < n; ++j) {
                if (has_lb(j)) ws.tau_l[j] = greater(sigma, 0.1) * mu;
                if (has_ub(j)) ws.tau_u[j] = greater(sigma, 0.1) * mu;
            }
            newton_direction();
            a = step_to_boundary(set.step_fraction);
        }
        return a;
    }

    GRIDBATCH_HD void keep() const {
        for (long long j = 0; j < n; ++j) ws.best_x[j] = ws.x[j];
        for (long long i = 0; i < m; ++i) ws.best_y[i] = ws.y[i];
    }
    GRIDBATCH_HD void restore() const {
        for (long long j = 0; j < n; ++j) ws.x[j] = ws.best_x[j];
        for (long long i = 0; i < m; ++i) ws.y[i] = ws.best_y[i];
    }
};

// Solves one scenario: q (n), l and u (st.rows) unscaled, read as In (a pointer or a Vec);
// the answer in ws.x and ws.y (y: the multipliers of E's rows, unscaled).
// `regularization`: the smallest delta, if > 0 (else the settings').
template <class Step, class In>
GRIDBATCH_HD Outcome solve(const Structure& st, const Settings& set, const In& q, const In& l,
                           const In& u, const Workspace<Step>& ws, double regularization = 0) {
    Solver<Step> s(st, set, ws);
    const long long n = st.n, m = st.m;
    const double delta0 = regularization > 0 ? regularization : set.regularization;
    s.setup(q, l, u);
    Outcome out;
    if (!s.bounds_consistent()) {  // a variable's bounds cross: no interior
        out.status = kInfeasible;
        for (long long j = 0; j < n; ++j)
            ws.x[j] = lesser(greater(ws.lb[j], -kInfinity), lesser(ws.ub[j], kInfinity));
        for (long long i = 0; i < m; ++i) ws.y[i] = 0;
        return out;
    }
    const long long nb = s.count_bounds();
    const auto mean_of = [nb](double gap) { return nb > 0 ? gap / static_cast<double>(nb) : 0.0; };
    s.residuals();
    const double mu0 = mean_of(s.complementarity());
    const double prim0 = greater(inf_norm(ws.rp, m), 1e-300);
    const double b_norm = inf_norm(ws.b, m);
    double converged_gap = HUGE_VAL;
    int extra = 0;
    Outcome best;
    for (int k = 0;; ++k) {
        const double gap = s.complementarity(), mu = mean_of(gap);
        double xpx = 0, qx = 0;
        for (long long j = 0; j < n; ++j) {
            xpx += ws.x[j] * ws.px[j];
            qx += ws.q[j] * ws.x[j];
        }
        const double obj = magnitude(0.5 * xpx + qx);
        out.primal_residual = inf_norm(ws.rp, m);
        out.dual_residual = s.dual_norm();
        out.iterations = k;
        if (!finite(out.primal_residual) || !finite(out.dual_residual) || !finite(gap)) break;
        const bool feasible = out.primal_residual <= set.tolerance * (1 + b_norm) &&
                              out.dual_residual <= set.tolerance * (1 + s.dual_scale());
        // A gap of tol relative to the objective leaves x off by ~sqrt(tol) of its scale where
        // the objective is flat (the level term): once there, go on while the steps still shrink
        // the gap (two or three more, quadratic convergence), and keep the last iterate that met
        // the tolerances.
        if (out.status == kConverged && (!feasible || !(gap < 0.5 * converged_gap))) break;
        if (feasible && gap <= set.tolerance * (1 + obj)) {
            out.status = kConverged;
            converged_gap = gap;
            s.keep();
            best = out;
            if (gap <= 1e-6 * set.tolerance * (1 + obj) || extra++ == 4) break;
        }
        if (k == set.max_iterations) break;
        // An infeasible problem shows as a primal residual that stops falling while the steps
        // shrink to nothing (seen: 1e-5 steps and 0.1 % progress in 50 steps); a feasible one
        // that starts slowly still gains percents per step. Waiting costs the max_iterations.
        ws.primal[k] = out.primal_residual;
        if (set.stall_window > 0 && k >= 2 * set.stall_window + 5 &&
            out.primal_residual > 1e-3 * prim0 &&
            out.primal_residual > (1 - set.stall_progress) * ws.primal[k - set.stall_window])
            break;
        // A pivot lost to cancellation (slacks near 0 make Sigma span many orders of magnitude)
        // fails the factorisation or, worse, gives a direction of ~1e18 whose step to the
        // boundary is nil (seen with the peak's dense column, with backup generation and a peak
        // term, and in the elastic LP, whose g, r, v have no curvature): then more
        // regularisation; the next step corrects the direction it perturbs. A larger
        // regularisation throughout would cost accuracy (the dual residual then stalled at ~1e-9
        // on a plain dispatch).
        s.refine = mu < set.refine_below * mu0;
        double a = -1;
        for (double delta = delta0; delta <= 1e-4; delta *= 100) {
            if (!s.factorise(delta)) continue;
            a = s.step_direction(mu, out.primal_residual / prim0 > mu / mu0, nb);
            if (a > set.lost_pivot_step) break;
        }
        if (a < 0) break;
        for (long long i = 0; i < m; ++i) ws.y[i] -= a * ws.sol[st.pos[n + i]];  // dy = -w
        for (long long j = 0; j < n; ++j) {
            double x = ws.x[j] + a * ws.dx[j];
            ws.zl[j] += a * ws.dzl[j];
            ws.zu[j] += a * ws.dzu[j];
            if (!s.fixed(j)) {  // rounding may land a hair outside
                if (s.has_lb(j)) x = greater(x, ws.lb[j] + Solver<Step>::tiny(ws.lb[j]));
                if (s.has_ub(j)) x = lesser(x, ws.ub[j] - Solver<Step>::tiny(ws.ub[j]));
            }
            ws.x[j] = x;
        }
        s.residuals();
    }
    if (out.status == kConverged) {  // back to the kept iterate; the count stays the steps taken
        s.restore();
        const int iterations = out.iterations;
        out = best;
        out.iterations = iterations;
    }
    if (out.status == kNotSolved) out.status = kMaxIterations;
    for (long long i = 0; i < m; ++i) ws.y[i] = st.row_scale[i] * ws.y[i] / s.cost;
    out.dual_residual /= s.cost;
    return out;
}

}  // namespace gridbatch::detail::ipm
