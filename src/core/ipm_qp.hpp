// Primal-dual interior point (Mehrotra's predictor-corrector) for convex QPs whose inequalities
// are bounds on single variables:
//   min 1/2 x'Px + q'x  s.t.  E x = b,  lb <= x <= ub   (lb, ub may be infinite; lb = ub fixes)
// taken in admm_qp.hpp's form l <= Ax <= u: the rows flagged equality make E, every other row
// must have one nonzero and bounds its variable (several rows on one variable intersect). Why a
// second solver: the dispatch QP is banded and LP-like (no curvature in charge and discharge), on
// which the ADMM needs thousands of iterations to reach 1e-6 while an interior point needs ~20-40
// Newton steps, each one sparse LDL' of the banded KKT matrix, and ends at 1e-9. The ADMM stays
// for what it does better: one factorisation shared by every scenario (the GPU-friendly form) and
// a certificate of infeasibility, which an infeasible-start interior point does not give.
//
// Newton system (w = -dy, Sigma = zl / (x - lb) + zu / (ub - x), delta a small regularisation
// that makes the matrix quasi-definite, so that LDL' exists in any symmetric order; the
// direction it perturbs is corrected by the next step, whose residuals are exact; iterative
// refinement only in the end game, where it matters):
//   [P + Sigma + delta I   E'      ] [dx]   [-r_d + (tau_l / s_l - zl) - (tau_u / s_u - zu)]
//   [E                     -delta I] [w ] = [b - E x                                      ]
// with r_d = Px + q - E'y - zl + zu, s_l = x - lb, s_u = ub - x, tau the centring targets.
// Rows of E are equilibrated (unit inf-norm) and the objective scaled (largest entry of P and q
// to 1) inside; answers are in the caller's units. The unknowns are stored in step order (each row
// of E after the last variable it touches, dense columns last), so the natural-order factor of a
// banded problem fills only its band.
#pragma once

#include <Eigen/SparseCholesky>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "admm_qp.hpp"

namespace gridbatch::detail {

struct IpmSettings {
    Real tolerance = 1e-9;  // relative primal and dual residuals and duality gap
    int max_iterations = 80;
    // 1e-10 lost pivots in the end game of degenerate problems (directions of 1e18, then a
    // stall: backup generation with a peak term; the elastic LP, whose g, r, v have no
    // curvature); of 300 random dispatch problems 1e-8 solved the most (1e-9 and 1e-7 fewer).
    Real regularization = 1e-10;
    int refinements = 2;  // per direction, once mu < refine_below * (its start)
    Real refine_below = 1e-6;
    Real step_fraction = 0.995;    // of the way to the boundary
    Real lost_pivot_step = 1e-10;  // a shorter step means a lost pivot: more regularisation
    // Give up on a stall: after stall_window steps that cut the primal residual by less than
    // stall_progress (a fraction), from step 2 stall_window + 5 on; 0: never.
    int stall_window = 10;
    Real stall_progress = 0.01;
};

// Per-thread state of one solve (the numeric factorisation included); x and y (unscaled) hold the
// answer afterwards.
struct IpmWorkspace {
    Vector x, y;
    Real cost = 1;        // objective scale of this solve
    Real delta = 0;       // regularisation of the current factorisation
    bool refine = false;  // refine the directions of this iteration
    Vector best_x, best_y;
    QpOutcome best;
    Vector lb, ub, zl, zu, b, q, rd, rp, rhs, sol, dx, dx_aff, dzl, dzl_aff, dzu, dzu_aff, px, ety,
        tau_l, tau_u, inv_sl, inv_su;
    std::vector<char> fixed, has_lb, has_ub;
    // The upper triangle: with no ordering Eigen then factorises it in place (the lower one it
    // copies first, which took ~6 % of a solve).
    Eigen::SimplicialLDLT<CscMatrix, Eigen::Upper, Eigen::NaturalOrdering<int>> ldlt;
    Vector rhs_stored, sol_stored, res_stored;  // in the KKT matrix's order
    CscMatrix kkt;
    const void* analysed_for = nullptr;
};

class BoundedQp {
public:
    // P: symmetric (both triangles stored); A and eq_row as ScaledQp's.
    BoundedQp(const CscMatrix& P, const CscMatrix& A, const std::vector<bool>& eq_row,
              const IpmSettings& settings)
        : settings_(settings), n_(P.rows()), P_(P) {
        const Index m_all = A.rows();
        eq_of_row_.assign(static_cast<std::size_t>(m_all), -1);
        bound_var_.assign(static_cast<std::size_t>(m_all), -1);
        bound_coef_.assign(static_cast<std::size_t>(m_all), 0);
        for (Index i = 0; i < m_all; ++i)
            if (eq_row[static_cast<std::size_t>(i)]) eq_of_row_[static_cast<std::size_t>(i)] = m_++;
        std::vector<Eigen::Triplet<Real, int>> e;
        for (Index j = 0; j < A.cols(); ++j)
            for (CscMatrix::InnerIterator it(A, j); it; ++it) {
                const auto i = static_cast<std::size_t>(it.row());
                if (eq_of_row_[i] >= 0) {
                    e.emplace_back(static_cast<int>(eq_of_row_[i]), static_cast<int>(j),
                                   it.value());
                } else {
                    if (bound_var_[i] >= 0 || it.value() == 0)
                        throw std::logic_error("BoundedQp: an inequality row is not a bound");
                    bound_var_[i] = j;
                    bound_coef_[i] = it.value();
                }
            }
        for (Index i = 0; i < m_all; ++i)
            if (eq_of_row_[static_cast<std::size_t>(i)] < 0 &&
                bound_var_[static_cast<std::size_t>(i)] < 0)
                throw std::logic_error("BoundedQp: an empty inequality row");
        E_.resize(m_, n_);
        E_.setFromTriplets(e.begin(), e.end());
        // Row equilibration of E.
        row_scale_ = Vector::Zero(m_);
        for (Index j = 0; j < n_; ++j)
            for (CscMatrix::InnerIterator it(E_, j); it; ++it)
                row_scale_[it.row()] = std::max(row_scale_[it.row()], std::abs(it.value()));
        for (Index i = 0; i < m_; ++i) row_scale_[i] = row_scale_[i] > 0 ? 1 / row_scale_[i] : 1;
        E_ = row_scale_.asDiagonal() * E_;
        Et_ = E_.transpose();
        p_max_ = P_.nonZeros() > 0 ? P_.coeffs().cwiseAbs().maxCoeff() : 0;
        build_kkt_pattern();
    }

    Index n() const { return n_; }

    // Solves with the given (unscaled) q, l, u of the A form; answer in ws.x, ws.y (y: the
    // multipliers of the equality rows, in E's row order).
    // `regularization`: the smallest delta, if > 0 (else the settings').
    QpOutcome solve(const Vector& q, const Vector& l, const Vector& u, IpmWorkspace& ws,
                    Real regularization = 0) const {
        const IpmSettings& st = settings_;
        const Real delta0 = regularization > 0 ? regularization : st.regularization;
        setup(q, l, u, ws);
        QpOutcome out;
        if (!bounds_consistent(ws)) {  // a variable's bounds cross: no interior
            out.status = Status::infeasible;
            ws.x = ws.lb.cwiseMax(-kQpInfinity).cwiseMin(ws.ub.cwiseMin(kQpInfinity));
            ws.y = Vector::Zero(m_);
            return out;
        }
        if (ws.analysed_for != this) {
            ws.kkt = kkt_;
            ws.ldlt.analyzePattern(ws.kkt);
            ws.analysed_for = this;
        }
        const Index nb = count_bounds(ws);
        const auto mean_of = [nb](Real gap) { return nb > 0 ? gap / static_cast<Real>(nb) : 0.0; };
        residuals(ws);
        const Real mu0 = mean_of(complementarity(ws));
        const Real prim0 = std::max(ws.rp.lpNorm<Eigen::Infinity>(), 1e-300);
        Real converged_gap = HUGE_VAL;
        int extra = 0;
        std::vector<Real> primal(static_cast<std::size_t>(st.max_iterations) + 1);
        for (int k = 0;; ++k) {
            const Real gap = complementarity(ws), mu = mean_of(gap);
            const Real obj = std::abs(0.5 * ws.x.dot(ws.px) + ws.q.dot(ws.x));
            out.primal_residual = ws.rp.lpNorm<Eigen::Infinity>();
            out.dual_residual = dual_norm(ws);
            out.iterations = k;
            if (!std::isfinite(out.primal_residual) || !std::isfinite(out.dual_residual) ||
                !std::isfinite(gap))
                break;
            const bool feasible =
                out.primal_residual <= st.tolerance * (1 + ws.b.lpNorm<Eigen::Infinity>()) &&
                out.dual_residual <= st.tolerance * (1 + dual_scale(ws));
            // A gap of tol relative to the objective leaves x off by ~sqrt(tol) of its scale
            // where the objective is flat (the level term): once there, go on while the steps
            // still shrink the gap (two or three more, quadratic convergence), and keep the last
            // iterate that met the tolerances.
            if (out.status == Status::converged && (!feasible || !(gap < 0.5 * converged_gap)))
                break;
            if (feasible && gap <= st.tolerance * (1 + obj)) {
                out.status = Status::converged;
                converged_gap = gap;
                keep(ws, out);
                if (gap <= 1e-6 * st.tolerance * (1 + obj) || extra++ == 4) break;
            }
            if (k == st.max_iterations) break;
            // An infeasible problem shows as a primal residual that stops falling while the steps
            // shrink to nothing (seen: 1e-5 steps and 0.1 % progress in 50 steps); a feasible one
            // that starts slowly still gains percents per step. Waiting costs the max_iterations.
            primal[static_cast<std::size_t>(k)] = out.primal_residual;
            if (st.stall_window > 0 && k >= 2 * st.stall_window + 5 &&
                out.primal_residual > 1e-3 * prim0 &&
                out.primal_residual >
                    (1 - st.stall_progress) * primal[static_cast<std::size_t>(k - st.stall_window)])
                break;
            // A pivot lost to cancellation (slacks near 0 make Sigma span many orders of
            // magnitude) fails the factorisation or, worse, gives a direction of ~1e18 whose step
            // to the boundary is nil (seen with the peak's dense column, with backup generation
            // and a peak term, and in the elastic LP, whose g, r, v have no curvature): then more
            // regularisation; the next step corrects the direction it perturbs. A larger
            // regularisation throughout would cost accuracy (the dual residual then stalled at
            // ~1e-9 on a plain dispatch).
            ws.refine = mu < st.refine_below * mu0;
            Real a = -1;
            for (Real delta = delta0; delta <= 1e-4; delta *= 100) {
                if (!factorise(ws, delta)) continue;
                a = step_direction(ws, mu, out.primal_residual / prim0 > mu / mu0, nb);
                if (a > st.lost_pivot_step) break;
            }
            if (a < 0) break;
            ws.y.noalias() -= a * ws.sol.tail(m_);  // dy = -w
            ws.x += a * ws.dx;
            ws.zl += a * ws.dzl;
            ws.zu += a * ws.dzu;
            for (Index j = 0; j < n_; ++j)  // rounding may land a hair outside
                if (!ws.fixed[j]) {
                    if (ws.has_lb[j]) ws.x[j] = std::max(ws.x[j], ws.lb[j] + tiny(ws.lb[j]));
                    if (ws.has_ub[j]) ws.x[j] = std::min(ws.x[j], ws.ub[j] - tiny(ws.ub[j]));
                }
            residuals(ws);
        }
        if (out.status == Status::converged) restore(ws, out);
        if (out.status == Status::not_solved) out.status = Status::max_iterations;
        ws.y = row_scale_.cwiseProduct(ws.y) / ws.cost;
        out.dual_residual /= ws.cost;
        return out;
    }

private:
    static void keep(IpmWorkspace& ws, const QpOutcome& out) {
        ws.best_x = ws.x;
        ws.best_y = ws.y;
        ws.best = out;
    }
    // Back to the kept iterate; the count stays that of the steps taken.
    static void restore(IpmWorkspace& ws, QpOutcome& out) {
        const int iterations = out.iterations;
        ws.x = ws.best_x;
        ws.y = ws.best_y;
        out = ws.best;
        out.iterations = iterations;
    }
    static Real tiny(Real v) { return 1e-300 + 1e-15 * std::abs(v); }

    // K's upper triangle: P + a diagonal for every x, E', -delta on y's diagonal.
    // Unknowns (x, then the rows of E) are stored in an order where each row of E follows the
    // last variable it touches: for a QP whose variables go step by step (the dispatch) the
    // matrix is then banded and LDL' in that natural order fills only the band, with contiguous
    // solves. A fill-reducing ordering (AMD) gave about the same fill but a permuted, cache-
    // unfriendly solve that took half the time of an iteration.
    void build_kkt_pattern() {
        // A dense column (in more than kDense rows, e.g. a peak variable in every step's row)
        // goes after everything and does not place rows: the factor then keeps its band plus
        // one dense row per such column.
        constexpr Index kDense = 64;
        const Index N = n_ + m_;
        std::vector<Index> key(static_cast<std::size_t>(N));
        for (Index j = 0; j < n_; ++j) {
            const bool dense = E_.col(j).nonZeros() > kDense;
            key[static_cast<std::size_t>(j)] = dense ? 2 * N + j : 2 * j;
        }
        for (Index i = 0; i < m_; ++i) key[static_cast<std::size_t>(n_ + i)] = -1;
        for (Index j = 0; j < n_; ++j) {
            if (E_.col(j).nonZeros() > kDense) continue;
            for (CscMatrix::InnerIterator it(E_, j); it; ++it) {
                Index& k = key[static_cast<std::size_t>(n_ + it.row())];
                k = std::max(k, 2 * j + 1);
            }
        }
        std::vector<Index> order(static_cast<std::size_t>(N));
        for (Index i = 0; i < N; ++i) order[static_cast<std::size_t>(i)] = i;
        std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) {
            return key[static_cast<std::size_t>(a)] < key[static_cast<std::size_t>(b)];
        });
        order_ = order;
        pos_.resize(static_cast<std::size_t>(N));
        for (Index i = 0; i < N; ++i)
            pos_[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = i;
        const auto at = [&](Index r, Index c, Real v) {  // upper triangle, stored order
            Index pr = pos_[static_cast<std::size_t>(r)], pc = pos_[static_cast<std::size_t>(c)];
            if (pr > pc) std::swap(pr, pc);
            return Eigen::Triplet<Real, int>(static_cast<int>(pr), static_cast<int>(pc), v);
        };
        std::vector<Eigen::Triplet<Real, int>> t;
        for (Index j = 0; j < n_; ++j) {
            t.push_back(at(j, j, 0.0));
            for (CscMatrix::InnerIterator it(P_, j); it; ++it)
                if (it.row() >= j) t.push_back(at(it.row(), j, it.value()));
            for (CscMatrix::InnerIterator it(E_, j); it; ++it)
                t.push_back(at(n_ + it.row(), j, it.value()));
        }
        for (Index i = 0; i < m_; ++i) t.push_back(at(n_ + i, n_ + i, 0.0));
        kkt_.resize(N, N);
        kkt_.setFromTriplets(t.begin(), t.end());
        kkt_.makeCompressed();
        diag_pos_.assign(static_cast<std::size_t>(N), -1);
        touches_.assign(static_cast<std::size_t>(n_), {});
        for (Index c = 0; c < N; ++c)
            for (Index p = kkt_.outerIndexPtr()[c]; p < kkt_.outerIndexPtr()[c + 1]; ++p) {
                const Index r = kkt_.innerIndexPtr()[p];
                const Index orig_r = order[static_cast<std::size_t>(r)];
                const Index orig_c = order[static_cast<std::size_t>(c)];
                if (r == c) {
                    diag_pos_[static_cast<std::size_t>(orig_c)] = p;
                    if (orig_c < n_) p_pos_.push_back(p);
                    continue;
                }
                if (orig_r < n_) touches_[static_cast<std::size_t>(orig_r)].push_back(p);
                if (orig_c < n_) touches_[static_cast<std::size_t>(orig_c)].push_back(p);
                if (orig_r < n_ && orig_c < n_) p_pos_.push_back(p);
            }
    }

    // Bounds from the inequality rows, equality right-hand sides, the starting point.
    void setup(const Vector& q, const Vector& l, const Vector& u, IpmWorkspace& ws) const {
        // Cost scaling: the largest entry of P and q to 1. The residual tolerances have an
        // absolute part; with the dispatch's weights (w_level ~ 1e-7 w_ramp) unscaled gradients
        // are so small that it would pass answers far from optimal, and a peak or backup cost
        // makes them so large that the start is far from centred.
        const Real c_max = std::max(p_max_, q.lpNorm<Eigen::Infinity>());
        ws.cost = c_max > 0 && std::isfinite(c_max) ? 1 / c_max : 1;
        ws.q = ws.cost * q;
        ws.lb = Vector::Constant(n_, -HUGE_VAL);
        ws.ub = Vector::Constant(n_, HUGE_VAL);
        ws.b.resize(m_);
        for (std::size_t i = 0; i < eq_of_row_.size(); ++i) {
            const auto ii = static_cast<Index>(i);
            if (eq_of_row_[i] >= 0) {
                ws.b[eq_of_row_[i]] = row_scale_[eq_of_row_[i]] * l[ii];
                continue;
            }
            const Index j = bound_var_[i];
            const Real c = bound_coef_[i];
            Real lo = l[ii] <= -kQpInfinity ? -HUGE_VAL : l[ii] / c;
            Real hi = u[ii] >= kQpInfinity ? HUGE_VAL : u[ii] / c;
            if (c < 0) std::swap(lo, hi);
            ws.lb[j] = std::max(ws.lb[j], lo);
            ws.ub[j] = std::min(ws.ub[j], hi);
        }
        ws.fixed.assign(static_cast<std::size_t>(n_), 0);
        ws.has_lb.assign(static_cast<std::size_t>(n_), 0);
        ws.has_ub.assign(static_cast<std::size_t>(n_), 0);
        ws.x.resize(n_);
        ws.zl = Vector::Zero(n_);
        ws.zu = Vector::Zero(n_);
        for (Index j = 0; j < n_; ++j) {
            const Real lo = ws.lb[j], hi = ws.ub[j];
            const bool fl = std::isfinite(lo), fh = std::isfinite(hi);
            if (fl && fh && hi - lo <= 1e-12 * (1 + std::abs(lo))) {
                ws.fixed[j] = 1;
                ws.x[j] = 0.5 * (lo + hi);
                continue;
            }
            ws.has_lb[j] = fl;
            ws.has_ub[j] = fh;
            // Start inside, away from the bounds by a part of the range (or by 1 when one-sided).
            if (fl && fh)
                ws.x[j] = 0.5 * (lo + hi);
            else if (fl)
                ws.x[j] = lo + 1;
            else if (fh)
                ws.x[j] = hi - 1;
            else
                ws.x[j] = 0;
        }
        // Multipliers that absorb the starting gradient (y = 0), each pair near s z = 1: with
        // z = 1 against a gradient of tens (a backup-generation cost) the iterates started badly
        // centred and crawled.
        ws.y = Vector::Zero(m_);
        const Vector grad = ws.cost * (P_ * ws.x) + ws.q;
        for (Index j = 0; j < n_; ++j) {
            if (ws.fixed[j]) continue;
            if (ws.has_lb[j])
                ws.zl[j] = std::max(grad[j], 0.0) + 1 / std::max(ws.x[j] - ws.lb[j], 1e-3);
            if (ws.has_ub[j])
                ws.zu[j] = std::max(-grad[j], 0.0) + 1 / std::max(ws.ub[j] - ws.x[j], 1e-3);
        }
    }

    static bool bounds_consistent(const IpmWorkspace& ws) {
        for (Index j = 0; j < ws.lb.size(); ++j)
            if (!(ws.lb[j] <= ws.ub[j] + 1e-12 * (1 + std::abs(ws.ub[j])))) return false;
        return true;
    }
    static Index count_bounds(const IpmWorkspace& ws) {
        Index nb = 0;
        for (std::size_t j = 0; j < ws.has_lb.size(); ++j) nb += ws.has_lb[j] + ws.has_ub[j];
        return nb;
    }
    // The complementarity gap after a step a along (dx, dzl, dzu).
    static Real gap_after(const IpmWorkspace& ws, Real a) {
        Real gap = 0;
        for (Index j = 0; j < ws.x.size(); ++j) {
            if (ws.has_lb[j])
                gap += (ws.x[j] + a * ws.dx[j] - ws.lb[j]) * (ws.zl[j] + a * ws.dzl[j]);
            if (ws.has_ub[j])
                gap += (ws.ub[j] - ws.x[j] - a * ws.dx[j]) * (ws.zu[j] + a * ws.dzu[j]);
        }
        return gap;
    }
    static Real complementarity(const IpmWorkspace& ws) {
        Real gap = 0;
        for (Index j = 0; j < ws.x.size(); ++j) {
            if (ws.has_lb[j]) gap += (ws.x[j] - ws.lb[j]) * ws.zl[j];
            if (ws.has_ub[j]) gap += (ws.ub[j] - ws.x[j]) * ws.zu[j];
        }
        return gap;
    }
    // r_d, r_p, Px, E'y at the current point.
    void residuals(IpmWorkspace& ws) const {
        ws.px.noalias() = P_ * ws.x;
        ws.px *= ws.cost;
        ws.ety.noalias() = Et_ * ws.y;
        ws.rd = ws.px + ws.q - ws.ety - ws.zl + ws.zu;
        ws.rp = ws.b;
        ws.rp.noalias() -= E_ * ws.x;
    }
    Real dual_norm(const IpmWorkspace& ws) const {
        Real r = 0;
        for (Index j = 0; j < n_; ++j)
            if (!ws.fixed[j]) r = std::max(r, std::abs(ws.rd[j]));
        return r;
    }
    Real dual_scale(const IpmWorkspace& ws) const {
        return std::max({ws.px.lpNorm<Eigen::Infinity>(), ws.q.lpNorm<Eigen::Infinity>(),
                         ws.ety.lpNorm<Eigen::Infinity>()});
    }

    // Numeric LDL' of the KKT matrix at the current point; a fixed variable's row and column
    // become the identity's (its step is 0).
    bool factorise(IpmWorkspace& ws, Real delta) const {
        ws.delta = delta;
        // 1 / slack, for Sigma and every direction of this iteration (divisions cost).
        ws.inv_sl.resize(n_);
        ws.inv_su.resize(n_);
        for (Index j = 0; j < n_; ++j) {
            ws.inv_sl[j] = ws.has_lb[j] ? 1 / (ws.x[j] - ws.lb[j]) : 0.0;
            ws.inv_su[j] = ws.has_ub[j] ? 1 / (ws.ub[j] - ws.x[j]) : 0.0;
        }
        Real* v = ws.kkt.valuePtr();
        std::copy(kkt_.valuePtr(), kkt_.valuePtr() + kkt_.nonZeros(), v);
        for (Index p : p_pos_) v[p] *= ws.cost;
        for (Index j = 0; j < n_; ++j) {
            Real& d = v[diag_pos_[static_cast<std::size_t>(j)]];
            if (ws.fixed[j]) {
                for (Index p : touches_[static_cast<std::size_t>(j)]) v[p] = 0;
                d = 1;
                continue;
            }
            Real sigma = 0;
            if (ws.has_lb[j]) sigma += ws.zl[j] * ws.inv_sl[j];
            if (ws.has_ub[j]) sigma += ws.zu[j] * ws.inv_su[j];
            d += sigma + delta;
        }
        for (Index i = 0; i < m_; ++i) v[diag_pos_[static_cast<std::size_t>(n_ + i)]] = -delta;
        ws.ldlt.factorize(ws.kkt);
        return ws.ldlt.info() == Eigen::Success;
    }

    // K x without the regularisation (stored order; K holds one triangle).
    void multiply_unregularised(const IpmWorkspace& ws, const Vector& x, Vector& out) const {
        const Real* v = ws.kkt.valuePtr();
        const auto* outer = ws.kkt.outerIndexPtr();
        const auto* inner = ws.kkt.innerIndexPtr();
        out.setZero(x.size());
        for (Index c = 0; c < x.size(); ++c)
            for (Index p = outer[c]; p < outer[c + 1]; ++p) {
                const Index r = inner[p];
                if (r == c) {
                    const Index u = order_[static_cast<std::size_t>(c)];
                    const Real reg = u >= n_ ? -ws.delta : ws.fixed[u] ? 0.0 : ws.delta;
                    out[r] += (v[p] - reg) * x[c];
                } else {
                    out[r] += v[p] * x[c];
                    out[c] += v[p] * x[r];
                }
            }
    }

    // Mehrotra's predictor-corrector direction at the current factorisation (dx, w in ws.sol,
    // dzl, dzu) and its step length. `lagging`: the infeasibility falls slower than mu.
    Real step_direction(IpmWorkspace& ws, Real mu, bool lagging, Index nb) const {
        const auto mean_of = [nb](Real gap) { return nb > 0 ? gap / static_cast<Real>(nb) : 0.0; };
        // Predictor (affine scaling, tau = 0).
        ws.tau_l.setZero(n_);
        ws.tau_u.setZero(n_);
        newton_direction(ws);
        ws.dzl_aff = ws.dzl;
        ws.dzu_aff = ws.dzu;
        ws.dx_aff = ws.dx;
        const Real a_aff = step_to_boundary(ws, 1.0);
        const Real mu_aff = mean_of(gap_after(ws, a_aff));
        Real sigma = mu > 0 ? std::pow(std::clamp(mu_aff / mu, 0.0, 1.0), 3) : 0;
        // Keep the infeasibility falling at least as fast as mu: otherwise the iterates reach
        // the boundary still infeasible and crawl (seen with backup generation riding its ramp
        // limit, the fleet's power limit and the import limit at once).
        if (lagging) sigma = std::max(sigma, 0.5);
        // Corrector: centring plus Mehrotra's second-order term.
        for (Index j = 0; j < n_; ++j) {
            if (ws.has_lb[j]) ws.tau_l[j] = sigma * mu - ws.dx_aff[j] * ws.dzl_aff[j];
            if (ws.has_ub[j]) ws.tau_u[j] = sigma * mu + ws.dx_aff[j] * ws.dzu_aff[j];
        }
        newton_direction(ws);
        Real a = step_to_boundary(ws, settings_.step_fraction);
        // Mehrotra's second-order term can make a step that raises the gap (seen as a two-step
        // cycle that stalled the dispatch QP); then centre without it.
        if (gap_after(ws, a) > (1 - 0.01 * a) * static_cast<Real>(nb) * mu) {
            for (Index j = 0; j < n_; ++j) {
                if (ws.has_lb[j]) ws.tau_l[j] = std::max(sigma, 0.1) * mu;
                if (ws.has_ub[j]) ws.tau_u[j] = std::max(sigma, 0.1) * mu;
            }
            newton_direction(ws);
            a = step_to_boundary(ws, settings_.step_fraction);
        }
        return a;
    }

    // dx, w (in ws.sol), dzl, dzu for the centring targets ws.tau_l, ws.tau_u.
    void newton_direction(IpmWorkspace& ws) const {
        ws.rhs.resize(n_ + m_);
        for (Index j = 0; j < n_; ++j) {
            if (ws.fixed[j]) {
                ws.rhs[j] = 0;
                continue;
            }
            Real r = -ws.rd[j];
            if (ws.has_lb[j]) r += ws.tau_l[j] * ws.inv_sl[j] - ws.zl[j];
            if (ws.has_ub[j]) r -= ws.tau_u[j] * ws.inv_su[j] - ws.zu[j];
            ws.rhs[j] = r;
        }
        ws.rhs.tail(m_) = ws.rp;
        const Index N = n_ + m_;
        ws.rhs_stored.resize(N);
        for (Index i = 0; i < N; ++i) ws.rhs_stored[pos_[static_cast<std::size_t>(i)]] = ws.rhs[i];
        ws.sol_stored = ws.ldlt.solve(ws.rhs_stored);
        // Iterative refinement against the unregularised matrix, in the end game: there Sigma
        // spans many orders of magnitude and delta's perturbation of the direction made the
        // dual residual grow step by step (a peak term with a battery ramp limit).
        for (int it = 0; ws.refine && it < settings_.refinements; ++it) {
            multiply_unregularised(ws, ws.sol_stored, ws.res_stored);
            ws.res_stored = ws.rhs_stored - ws.res_stored;
            if (!(ws.res_stored.lpNorm<Eigen::Infinity>() >
                  1e-12 * (1 + ws.rhs_stored.lpNorm<Eigen::Infinity>())))
                break;
            ws.sol_stored += ws.ldlt.solve(ws.res_stored);
        }
        ws.sol.resize(N);
        for (Index i = 0; i < N; ++i) ws.sol[i] = ws.sol_stored[pos_[static_cast<std::size_t>(i)]];
        ws.dx = ws.sol.head(n_);
        ws.dzl.setZero(n_);
        ws.dzu.setZero(n_);
        for (Index j = 0; j < n_; ++j) {
            if (ws.has_lb[j])
                ws.dzl[j] = (ws.tau_l[j] - ws.zl[j] * ws.dx[j]) * ws.inv_sl[j] - ws.zl[j];
            if (ws.has_ub[j])
                ws.dzu[j] = (ws.tau_u[j] + ws.zu[j] * ws.dx[j]) * ws.inv_su[j] - ws.zu[j];
        }
    }

    // The largest step in (0, 1] keeping slacks and multipliers positive, times `fraction`.
    static Real step_to_boundary(const IpmWorkspace& ws, Real fraction) {
        Real a = 1 / fraction;
        // Divide only where the step so far would cross (most entries do not).
        const auto limit = [&a](Real room, Real rate) {  // rate < 0 shrinks room
            if (rate < 0 && room < a * -rate) a = room / -rate;
        };
        for (Index j = 0; j < ws.x.size(); ++j) {
            const Real dx = ws.dx[j];
            if (ws.has_lb[j]) {
                limit(ws.x[j] - ws.lb[j], dx);
                limit(ws.zl[j], ws.dzl[j]);
            }
            if (ws.has_ub[j]) {
                limit(ws.ub[j] - ws.x[j], -dx);
                limit(ws.zu[j], ws.dzu[j]);
            }
        }
        return std::min(1.0, fraction * a);
    }

    IpmSettings settings_;
    Index n_, m_ = 0;
    CscMatrix P_, E_, Et_, kkt_;
    Vector row_scale_;
    Real p_max_ = 0;            // largest |P_ij|
    std::vector<Index> p_pos_;  // positions of P's entries in the KKT values
    std::vector<Index> eq_of_row_, bound_var_;
    std::vector<Real> bound_coef_;
    std::vector<Index> pos_;       // stored position of each unknown (x, then E's rows)
    std::vector<Index> order_;     // the unknown at each stored position
    std::vector<Index> diag_pos_;  // by unknown
    std::vector<std::vector<Index>> touches_;
};

}  // namespace gridbatch::detail
