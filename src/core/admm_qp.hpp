// OSQP's ADMM for convex QPs  min 1/2 x'Px + q'x  s.t.  l <= Ax <= u  (Stellato et al., "OSQP:
// an operator splitting solver for quadratic programs", 2020), written for many QPs that share
// P and A and differ only in q, l and u: the modified Ruiz equilibration and the factorisation of
// the reduced KKT matrix P + sigma I + A' R A (Eigen's SimplicialLDLT) are computed once per
// (P, A, rho) and shared, read-only, by every solve and thread.
//
// Iteration (scaled problem, R = diag(rho_i), rho_i = 1e3 rho on equality rows as in OSQP):
//   (P + sigma I + A'RA) xt = sigma x - q + A'(R z - y),  zt = A xt
//   x <- alpha xt + (1 - alpha) x,  z <- clip(alpha zt + (1 - alpha) z + R^-1 y, l, u)
//   y <- y + R (alpha zt + (1 - alpha) z_old - z)
// Termination on OSQP's unscaled residuals; primal infeasibility on OSQP's certificate
// (A' dy ~ 0 and u' dy+ + l' dy- < 0); adaptive rho on OSQP's residual-ratio rule, with rho
// rounded to a grid of 10^(k/4) so that factorisations can be cached and reused.
#pragma once

#include <Eigen/SparseCholesky>
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "gridbatch/result.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch::detail {

using CscMatrix = Eigen::SparseMatrix<Real, Eigen::ColMajor, int>;

// Bounds at or beyond this are infinite (no constraint on that side).
constexpr Real kQpInfinity = 1e20;

struct QpSettings {
    Real rho = 0.1;
    Real sigma = 1e-6;
    Real alpha = 1.6;
    Real eps_abs = 1e-6;
    Real eps_rel = 1e-6;
    Real eps_primal_infeasible = 1e-7;
    int max_iterations = 20000;
    int check_every = 10;  // residuals cost two extra products: not every iteration
    bool adaptive_rho = true;
    int adapt_every = 100;  // iterations between rho updates (a new rho may refactorise)
    int scaling_iterations = 15;
    // Solution polishing (OSQP's): once both residuals are within polish_trigger times their
    // tolerances, guess the active set from (z, y) and solve the equality-constrained QP on it
    // directly; accepted when its residuals meet the tolerances. ADMM alone gets there slowly on
    // LP-like problems (the dispatch has no curvature in c and d); at most every polish_every
    // iterations, since each attempt factorises a KKT matrix.
    bool polish = true;
    Real polish_trigger = 1e3;
    int polish_every = 50;
    Real polish_delta = 1e-7;
    int polish_refinements = 3;
};

struct QpOutcome {
    Status status = Status::not_solved;
    int iterations = 0;
    Real primal_residual = 0;  // unscaled, inf-norm
    Real dual_residual = 0;
    bool polished = false;  // the answer is the polished solution
};

// Per-thread vectors of one solve; x and y (unscaled) hold the answer afterwards.
struct QpWorkspace {
    Vector x, y;  // unscaled solution and multipliers
    Vector xs, zs, ys, xt, zt, rhs, ax, px, aty, q, l, u, y_prev, rho_inv;
};

class ScaledQp {
public:
    // P: symmetric (both triangles stored); eq_row[i]: row i is an equality in every solve.
    ScaledQp(const CscMatrix& P, const CscMatrix& A, const std::vector<bool>& eq_row,
             const QpSettings& settings)
        : settings_(settings), eq_row_(eq_row) {
        const Index n = P.rows(), m = A.rows();
        P_ = P;
        A_ = A;
        D_ = Vector::Ones(n);
        E_ = Vector::Ones(m);
        // Modified Ruiz equilibration of [P A'; A 0]: columns of the KKT matrix to unit inf-norm.
        for (int it = 0; it < settings.scaling_iterations; ++it) {
            Vector col_x = Vector::Zero(n), col_z = Vector::Zero(m);
            for (Index j = 0; j < n; ++j) {
                for (CscMatrix::InnerIterator e(P_, j); e; ++e)
                    col_x[j] = std::max(col_x[j], std::abs(e.value()));
                for (CscMatrix::InnerIterator e(A_, j); e; ++e) {
                    col_x[j] = std::max(col_x[j], std::abs(e.value()));
                    col_z[e.row()] = std::max(col_z[e.row()], std::abs(e.value()));
                }
            }
            // OSQP's guard: columns that are (nearly) empty are left alone.
            const auto inv_sqrt = [](Real v) {
                return v < 1e-4 ? 1.0 : 1 / std::sqrt(std::min(v, 1e4));
            };
            Vector dx(n), dz(m);
            for (Index j = 0; j < n; ++j) dx[j] = inv_sqrt(col_x[j]);
            for (Index i = 0; i < m; ++i) dz[i] = inv_sqrt(col_z[i]);
            P_ = dx.asDiagonal() * P_ * dx.asDiagonal();
            A_ = dz.asDiagonal() * A_ * dx.asDiagonal();
            D_.array() *= dx.array();
            E_.array() *= dz.array();
        }
        // Cost scaling: mean column norm of P to 1 (q is per solve and left out).
        Real mean = 0;
        for (Index j = 0; j < n; ++j) {
            Real c = 0;
            for (CscMatrix::InnerIterator e(P_, j); e; ++e) c = std::max(c, std::abs(e.value()));
            mean += c;
        }
        mean /= std::max<Index>(n, 1);
        cost_ = mean > 1e-4 ? std::min(1 / mean, 1e4) : 1.0;
        P_ *= cost_;
        At_ = A_.transpose();
    }

    Index n() const { return P_.rows(); }
    Index m() const { return A_.rows(); }

    // Solves with the given (unscaled) q, l, u; answer in ws.x, ws.y.
    QpOutcome solve(const Vector& q, const Vector& l, const Vector& u, QpWorkspace& ws) const {
        const QpSettings& st = settings_;
        const Index n = this->n(), m = this->m();
        ws.q = cost_ * D_.cwiseProduct(q);
        ws.l.resize(m);
        ws.u.resize(m);
        for (Index i = 0; i < m; ++i) {
            ws.l[i] = l[i] <= -kQpInfinity ? -kQpInfinity : E_[i] * l[i];
            ws.u[i] = u[i] >= kQpInfinity ? kQpInfinity : E_[i] * u[i];
        }
        ws.xs = Vector::Zero(n);
        ws.zs = Vector::Zero(m);
        ws.ys = Vector::Zero(m);
        ws.ax = Vector::Zero(m);
        int level = rho_level(st.rho);
        const Factor* factor = &factorisation(level);
        set_rho_inv(level, ws);
        QpOutcome out;
        int last_polish = 0;
        for (int k = 1; k <= st.max_iterations; ++k) {
            ws.y_prev = ws.ys;
            // rhs = sigma x - q + A'(R z - y)
            ws.zt = ws.zs.cwiseQuotient(ws.rho_inv) - ws.ys;
            ws.rhs.noalias() = At_ * ws.zt;
            ws.rhs += st.sigma * ws.xs - ws.q;
            ws.xt = factor->solve(ws.rhs);
            ws.zt.noalias() = A_ * ws.xt;
            ws.xs = st.alpha * ws.xt + (1 - st.alpha) * ws.xs;
            ws.ax = st.alpha * ws.zt + (1 - st.alpha) * ws.ax;  // A x, kept without a product
            const Vector z_relaxed = st.alpha * ws.zt + (1 - st.alpha) * ws.zs;
            ws.zs = (z_relaxed + ws.rho_inv.cwiseProduct(ws.ys)).cwiseMax(ws.l).cwiseMin(ws.u);
            ws.ys += (z_relaxed - ws.zs).cwiseQuotient(ws.rho_inv);
            out.iterations = k;
            const bool check = k % st.check_every == 0 || k == st.max_iterations;
            const bool adapt = st.adaptive_rho && k % st.adapt_every == 0;
            if (!check && !adapt) continue;
            const Residuals res = residuals(ws.xs, ws.ax, ws.zs, ws.ys, ws);
            out.primal_residual = res.prim;
            out.dual_residual = res.dual;
            if (res.met()) {
                // The tolerances are relative to the largest entries; a polished answer, where
                // its active set is right, is exact to rounding.
                if (st.polish) polish(ws, out);
                out.status = Status::converged;
                break;
            }
            if (primal_infeasible(ws)) {
                out.status = Status::infeasible;
                break;
            }
            if (st.polish && k - last_polish >= st.polish_every &&
                res.prim <= st.polish_trigger * res.prim_tol &&
                res.dual <= st.polish_trigger * res.dual_tol) {
                last_polish = k;
                if (polish(ws, out)) {
                    out.status = Status::converged;
                    break;
                }
            }
            if (adapt && res.prim_ratio > 0 && res.dual_ratio > 0) {
                const int new_level =
                    rho_level(rho_of(level) * std::sqrt(res.prim_ratio / res.dual_ratio));
                if (std::abs(new_level - level) >= 3) {  // factor >= 10^(3/4) ~ 5.6, as OSQP's 5
                    level = new_level;
                    factor = &factorisation(level);
                    set_rho_inv(level, ws);
                }
            }
        }
        if (out.status == Status::not_solved) out.status = Status::max_iterations;
        ws.x = D_.cwiseProduct(ws.xs);
        ws.y = E_.cwiseProduct(ws.ys) / cost_;
        return out;
    }

private:
    using Factor = Eigen::SimplicialLDLT<CscMatrix, Eigen::Lower, Eigen::AMDOrdering<int>>;

    static int rho_level(Real rho) {
        rho = std::clamp(rho, 1e-6, 1e6);
        return static_cast<int>(std::lround(4 * std::log10(rho)));
    }
    static Real rho_of(int level) { return std::pow(10.0, level / 4.0); }

    void set_rho_inv(int level, QpWorkspace& ws) const {
        const Real rho = rho_of(level);
        ws.rho_inv.resize(m());
        for (Index i = 0; i < m(); ++i) ws.rho_inv[i] = 1 / (eq_row_[i] ? 1e3 * rho : rho);
    }

    // Shared, built on first use; entries are never removed, so references stay valid.
    const Factor& factorisation(int level) const {
        std::lock_guard<std::mutex> lock(mutex_);
        auto& slot = factors_[level];
        if (!slot) {
            const Real rho = rho_of(level);
            Vector r(m());
            for (Index i = 0; i < m(); ++i) r[i] = eq_row_[i] ? 1e3 * rho : rho;
            CscMatrix K = At_ * r.asDiagonal() * A_;
            K += P_;
            CscMatrix I(n(), n());
            I.setIdentity();
            K += settings_.sigma * I;
            slot = std::make_unique<Factor>(K);
        }
        return *slot;
    }

    struct Residuals {
        Real prim, dual, prim_tol, dual_tol;  // unscaled
        Real prim_ratio, dual_ratio;          // scaled, relative: the adaptive rho's input
        bool met() const { return prim <= prim_tol && dual <= dual_tol; }
    };

    // OSQP's residuals and tolerances of the scaled iterate (x, Ax, z, y).
    Residuals residuals(const Vector& xs, const Vector& ax, const Vector& zs, const Vector& ys,
                        QpWorkspace& ws) const {
        const QpSettings& st = settings_;
        const auto einv = E_.cwiseInverse();
        const auto dinv = D_.cwiseInverse();
        ws.px.noalias() = P_ * xs;
        ws.aty.noalias() = At_ * ys;
        Residuals r{};
        r.prim = (ax - zs).cwiseProduct(einv).lpNorm<Eigen::Infinity>();
        r.prim_tol =
            st.eps_abs + st.eps_rel * std::max(ax.cwiseProduct(einv).lpNorm<Eigen::Infinity>(),
                                               zs.cwiseProduct(einv).lpNorm<Eigen::Infinity>());
        r.dual = (ws.px + ws.q + ws.aty).cwiseProduct(dinv).lpNorm<Eigen::Infinity>() / cost_;
        r.dual_tol =
            st.eps_abs + st.eps_rel *
                             std::max({ws.px.cwiseProduct(dinv).lpNorm<Eigen::Infinity>(),
                                       ws.aty.cwiseProduct(dinv).lpNorm<Eigen::Infinity>(),
                                       ws.q.cwiseProduct(dinv).lpNorm<Eigen::Infinity>()}) /
                             cost_;
        r.prim_ratio =
            (ax - zs).lpNorm<Eigen::Infinity>() /
            std::max({ax.lpNorm<Eigen::Infinity>(), zs.lpNorm<Eigen::Infinity>(), 1e-30});
        r.dual_ratio = (ws.px + ws.q + ws.aty).lpNorm<Eigen::Infinity>() /
                       std::max({ws.px.lpNorm<Eigen::Infinity>(), ws.aty.lpNorm<Eigen::Infinity>(),
                                 ws.q.lpNorm<Eigen::Infinity>(), 1e-30});
        return r;
    }

    // OSQP's polish: rows guessed active from the ADMM iterate (lower: z - l < -y, upper:
    // u - z < y; equalities always), then [P + delta I, A_a'; A_a, -delta I] [x; y_a] = [-q; b_a]
    // with iterative refinement against delta = 0. On success ws.xs/ys/zs/ax hold it.
    bool polish(QpWorkspace& ws, QpOutcome& out) const {
        const QpSettings& st = settings_;
        const Index n = this->n(), m = this->m();
        std::vector<Index> rows;
        std::vector<Real> bound;
        for (Index i = 0; i < m; ++i) {
            const bool lower = ws.zs[i] - ws.l[i] < -ws.ys[i] && ws.l[i] > -kQpInfinity;
            const bool upper = ws.u[i] - ws.zs[i] < ws.ys[i] && ws.u[i] < kQpInfinity;
            if (lower || (!upper && eq_row_[i])) {
                rows.push_back(i);
                bound.push_back(ws.l[i]);
            } else if (upper) {
                rows.push_back(i);
                bound.push_back(ws.u[i]);
            }
        }
        const Index na = static_cast<Index>(rows.size());
        std::vector<Eigen::Triplet<Real, int>> kt, at;
        for (Index j = 0; j < n; ++j) {
            for (CscMatrix::InnerIterator e(P_, j); e; ++e)
                if (e.row() >= j)
                    kt.emplace_back(static_cast<int>(e.row()), static_cast<int>(j), e.value());
            kt.emplace_back(static_cast<int>(j), static_cast<int>(j), st.polish_delta);
        }
        for (Index k = 0; k < na; ++k) {
            for (CscMatrix::InnerIterator e(At_, rows[static_cast<std::size_t>(k)]); e; ++e) {
                kt.emplace_back(static_cast<int>(n + k), static_cast<int>(e.row()), e.value());
                at.emplace_back(static_cast<int>(k), static_cast<int>(e.row()), e.value());
            }
            kt.emplace_back(static_cast<int>(n + k), static_cast<int>(n + k), -st.polish_delta);
        }
        CscMatrix K(n + na, n + na), Aa(na, n);
        K.setFromTriplets(kt.begin(), kt.end());
        Aa.setFromTriplets(at.begin(), at.end());
        const Factor f(K);
        if (f.info() != Eigen::Success) return false;
        Vector rhs(n + na);
        rhs.head(n) = -ws.q;
        for (Index k = 0; k < na; ++k) rhs[n + k] = bound[static_cast<std::size_t>(k)];
        Vector sol = f.solve(rhs);
        for (int it = 0; it < st.polish_refinements; ++it) {
            Vector res(n + na);
            res.head(n) = rhs.head(n) - P_ * sol.head(n) - Aa.transpose() * sol.tail(na);
            res.tail(na) = rhs.tail(na) - Aa * sol.head(n);
            sol += f.solve(res);
        }
        if (!sol.allFinite()) return false;
        Vector x = sol.head(n), y = Vector::Zero(m);
        for (Index k = 0; k < na; ++k) y[rows[static_cast<std::size_t>(k)]] = sol[n + k];
        // Stationary and feasible is not enough: a multiplier of the wrong sign means the
        // guessed active set was wrong (the tolerance is the dual one, unscaled).
        Real wrong_sign = 0;
        for (Index k = 0; k < na; ++k) {
            const Index i = rows[static_cast<std::size_t>(k)];
            if (ws.l[i] == ws.u[i]) continue;
            const Real yi = y[i] * E_[i] / cost_;
            wrong_sign =
                std::max(wrong_sign, bound[static_cast<std::size_t>(k)] == ws.l[i] ? yi : -yi);
        }
        Vector ax = A_ * x;
        Vector z = ax.cwiseMax(ws.l).cwiseMin(ws.u);
        const Residuals res = residuals(x, ax, z, y, ws);
        if (!res.met() || wrong_sign > res.dual_tol) return false;
        ws.xs = x;
        ws.ys = y;
        ws.zs = z;
        ws.ax = ax;
        out.primal_residual = res.prim;
        out.dual_residual = res.dual;
        out.polished = true;
        return true;
    }

    // OSQP's certificate on dy = y_k - y_{k-1} (scaled, normalised by its unscaled inf-norm).
    bool primal_infeasible(QpWorkspace& ws) const {
        const Real eps = settings_.eps_primal_infeasible;
        ws.y_prev = ws.ys - ws.y_prev;
        const Real norm = ws.y_prev.cwiseProduct(E_).lpNorm<Eigen::Infinity>();
        if (!(norm > eps)) return false;
        ws.y_prev /= norm;
        Real support = 0;
        for (Index i = 0; i < m(); ++i) {
            const Real dy = ws.y_prev[i];
            if (dy > 0) {
                if (ws.u[i] >= kQpInfinity) {
                    if (dy * E_[i] > eps) return false;
                } else {
                    support += ws.u[i] * dy;
                }
            } else if (dy < 0) {
                if (ws.l[i] <= -kQpInfinity) {
                    if (-dy * E_[i] > eps) return false;
                } else {
                    support += ws.l[i] * dy;
                }
            }
        }
        if (!(support < -eps)) return false;
        ws.aty.noalias() = At_ * ws.y_prev;
        return ws.aty.cwiseQuotient(D_).lpNorm<Eigen::Infinity>() < eps;
    }

    QpSettings settings_;
    std::vector<bool> eq_row_;
    CscMatrix P_, A_, At_;
    Vector D_, E_;
    Real cost_ = 1;
    mutable std::mutex mutex_;
    mutable std::map<int, std::unique_ptr<Factor>> factors_;
};

}  // namespace gridbatch::detail
