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
// The solve itself is ipm_core.hpp's (written once for both backends); this class builds what it
// shares across scenarios: E, the KKT pattern and the factorisation's schedule.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "admm_qp.hpp"
#include "core/ipm_core.hpp"
#include "core/memory.hpp"

namespace gridbatch::detail {

using IpmSettings = ipm::Settings;

static_assert(ipm::kConverged == static_cast<int>(Status::converged) &&
                  ipm::kMaxIterations == static_cast<int>(Status::max_iterations) &&
                  ipm::kInfeasible == static_cast<int>(Status::infeasible) &&
                  ipm::kNotSolved == static_cast<int>(Status::not_solved),
              "ipm_core's statuses are gridbatch::Status");
static_assert(ipm::kInfinity == kQpInfinity, "one bound at infinity for both QP solvers");

inline QpOutcome to_qp_outcome(const ipm::Outcome& o) {
    QpOutcome out;
    out.status = static_cast<Status>(o.status);
    out.iterations = o.iterations;
    out.primal_residual = o.primal_residual;
    out.dual_residual = o.dual_residual;
    return out;
}

// Per-thread state of one solve; x and y (unscaled) hold the answer afterwards. The buffers are
// left uninitialised (the solve writes every entry before reading it): zero-filling them cost
// ~8 % of an hour's solve.
struct IpmWorkspace {
    Vector x, y;
    std::unique_ptr<double[]> data;
    std::unique_ptr<std::uint8_t[]> flags;
    std::size_t doubles = 0, bytes = 0;  // their sizes
};

class BoundedQp {
public:
    // P: symmetric (both triangles stored); A and eq_row as ScaledQp's.
    BoundedQp(const CscMatrix& P, const CscMatrix& A, const std::vector<bool>& eq_row,
              const IpmSettings& settings)
        : settings_(settings), n_(P.rows()), P_(P) {
        P_.makeCompressed();
        const Index m_all = A.rows();
        eq_of_row_.assign(static_cast<std::size_t>(m_all), -1);
        bound_var_.assign(static_cast<std::size_t>(m_all), -1);
        bound_coef_.assign(static_cast<std::size_t>(m_all), 0);
        for (Index i = 0; i < m_all; ++i)
            if (eq_row[static_cast<std::size_t>(i)])
                eq_of_row_[static_cast<std::size_t>(i)] = static_cast<int>(m_++);
        std::vector<Eigen::Triplet<Real, int>> e;
        for (Index j = 0; j < A.cols(); ++j)
            for (CscMatrix::InnerIterator it(A, j); it; ++it) {
                const auto i = static_cast<std::size_t>(it.row());
                if (eq_of_row_[i] >= 0) {
                    e.emplace_back(eq_of_row_[i], static_cast<int>(j), it.value());
                } else {
                    if (bound_var_[i] >= 0 || it.value() == 0)
                        throw std::logic_error("BoundedQp: an inequality row is not a bound");
                    bound_var_[i] = static_cast<int>(j);
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
        E_.makeCompressed();
        Et_ = E_.transpose();
        Et_.makeCompressed();
        build_kkt_pattern();
        build_schedule();
        st_.n = static_cast<int>(n_);
        st_.m = static_cast<int>(m_);
        st_.rows = static_cast<int>(m_all);
        st_.eq_of_row = eq_of_row_.data();
        st_.bound_var = bound_var_.data();
        st_.bound_coef = bound_coef_.data();
        st_.row_scale = row_scale_.data();
        st_.p_ptr = P_.outerIndexPtr();
        st_.p_row = P_.innerIndexPtr();
        st_.p_val = P_.valuePtr();
        st_.p_max = P_.nonZeros() > 0 ? P_.coeffs().cwiseAbs().maxCoeff() : 0;
        st_.e_ptr = E_.outerIndexPtr();
        st_.e_row = E_.innerIndexPtr();
        st_.e_val = E_.valuePtr();
        st_.et_ptr = Et_.outerIndexPtr();
        st_.et_row = Et_.innerIndexPtr();
        st_.et_val = Et_.valuePtr();
        st_.k_ptr = kkt_.outerIndexPtr();
        st_.k_row = kkt_.innerIndexPtr();
        st_.k_val = kkt_.valuePtr();
        st_.order = order_.data();
        st_.pos = pos_.data();
        st_.l_ptr = l_ptr_.data();
        st_.l_row = l_row_.data();
        st_.s_ptr = s_ptr_.data();
        st_.s_col = s_col_.data();
        st_.s_pos = s_pos_.data();
    }
    BoundedQp(const BoundedQp&) = delete;  // st_ points into this object
    BoundedQp& operator=(const BoundedQp&) = delete;

    Index n() const { return n_; }
    const IpmSettings& settings() const { return settings_; }
    // What every scenario shares, as ipm_core.hpp reads it (pointers into this object).
    const ipm::Structure& structure() const { return st_; }
    // The KKT matrix's upper triangle in stored order (values: P unscaled, zero diagonal).
    const CscMatrix& kkt_pattern() const { return kkt_; }

    // Solves with the given (unscaled) q, l, u of the A form; answer in ws.x, ws.y (y: the
    // multipliers of the equality rows, in E's row order).
    // `regularization`: the smallest delta, if > 0 (else the settings').
    QpOutcome solve(const Vector& q, const Vector& l, const Vector& u, IpmWorkspace& ws,
                    Real regularization = 0) const {
        const auto doubles = static_cast<std::size_t>(
            ipm::Workspace<ipm::One>::doubles(st_, settings_.max_iterations));
        if (ws.doubles < doubles) {
            ws.data.reset(new double[doubles]);
            ws.doubles = doubles;
            populate(ws.data.get(), doubles * sizeof(double));
        }
        if (ws.bytes < static_cast<std::size_t>(n_)) {
            ws.flags.reset(new std::uint8_t[static_cast<std::size_t>(n_)]);
            ws.bytes = static_cast<std::size_t>(n_);
        }
        const ipm::Workspace<ipm::One> w(st_, settings_.max_iterations, ws.data.get(),
                                         ws.flags.get(), ipm::One{});
        const ipm::Outcome o =
            ipm::solve(st_, settings_, q.data(), l.data(), u.data(), w, regularization);
        ws.x = Eigen::Map<const Vector>(w.x.p, n_);
        ws.y = Eigen::Map<const Vector>(w.y.p, m_);
        return to_qp_outcome(o);
    }

private:
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
        order_.resize(static_cast<std::size_t>(N));
        for (Index i = 0; i < N; ++i) order_[static_cast<std::size_t>(i)] = static_cast<int>(i);
        std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) {
            return key[static_cast<std::size_t>(a)] < key[static_cast<std::size_t>(b)];
        });
        pos_.resize(static_cast<std::size_t>(N));
        for (Index i = 0; i < N; ++i)
            pos_[static_cast<std::size_t>(order_[static_cast<std::size_t>(i)])] =
                static_cast<int>(i);
        const auto at = [&](Index r, Index c, Real v) {  // upper triangle, stored order
            int pr = pos_[static_cast<std::size_t>(r)], pc = pos_[static_cast<std::size_t>(c)];
            if (pr > pc) std::swap(pr, pc);
            return Eigen::Triplet<Real, int>(pr, pc, v);
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
    }

    // The symbolic part of the up-looking LDL' (as Eigen's SimplicialLDLT: elimination tree,
    // then each row's pattern by walking it from the row's entries, in the order Eigen's numeric
    // factorisation visits them), done once instead of in every factorisation.
    void build_schedule() {
        const int N = static_cast<int>(kkt_.rows());
        const int* kp = kkt_.outerIndexPtr();
        const int* ki = kkt_.innerIndexPtr();
        std::vector<int> parent(static_cast<std::size_t>(N), -1), tags(static_cast<std::size_t>(N)),
            count(static_cast<std::size_t>(N), 0);
        for (int k = 0; k < N; ++k) {
            tags[static_cast<std::size_t>(k)] = k;
            for (int p = kp[k]; p < kp[k + 1]; ++p)
                for (int i = ki[p]; i < k && tags[static_cast<std::size_t>(i)] != k;
                     i = parent[static_cast<std::size_t>(i)]) {
                    if (parent[static_cast<std::size_t>(i)] == -1)
                        parent[static_cast<std::size_t>(i)] = k;
                    ++count[static_cast<std::size_t>(i)];
                    tags[static_cast<std::size_t>(i)] = k;
                }
        }
        l_ptr_.assign(static_cast<std::size_t>(N) + 1, 0);
        for (int k = 0; k < N; ++k)
            l_ptr_[static_cast<std::size_t>(k) + 1] =
                l_ptr_[static_cast<std::size_t>(k)] + count[static_cast<std::size_t>(k)];
        l_row_.assign(static_cast<std::size_t>(l_ptr_.back()), 0);
        s_ptr_.assign(1, 0);
        s_col_.clear();
        s_pos_.clear();
        std::vector<int> filled(static_cast<std::size_t>(N), 0),
            pattern(static_cast<std::size_t>(N));
        std::fill(tags.begin(), tags.end(), -1);
        for (int k = 0; k < N; ++k) {
            tags[static_cast<std::size_t>(k)] = k;
            int top = N;
            for (int p = kp[k]; p < kp[k + 1]; ++p) {
                int len = 0;
                for (int i = ki[p]; tags[static_cast<std::size_t>(i)] != k;
                     i = parent[static_cast<std::size_t>(i)]) {
                    pattern[static_cast<std::size_t>(len++)] = i;
                    tags[static_cast<std::size_t>(i)] = k;
                }
                while (len > 0)
                    pattern[static_cast<std::size_t>(--top)] =
                        pattern[static_cast<std::size_t>(--len)];
            }
            for (; top < N; ++top) {
                const auto i = static_cast<std::size_t>(pattern[static_cast<std::size_t>(top)]);
                const int at = l_ptr_[i] + filled[i]++;
                l_row_[static_cast<std::size_t>(at)] = k;
                s_col_.push_back(static_cast<int>(i));
                s_pos_.push_back(at);
            }
            s_ptr_.push_back(static_cast<int>(s_col_.size()));
        }
    }

    IpmSettings settings_;
    Index n_, m_ = 0;
    CscMatrix P_, E_, Et_, kkt_;
    Vector row_scale_;
    std::vector<int> eq_of_row_, bound_var_;
    std::vector<Real> bound_coef_;
    std::vector<int> pos_;    // stored position of each unknown (x, then E's rows)
    std::vector<int> order_;  // the unknown at each stored position
    std::vector<int> l_ptr_, l_row_, s_ptr_, s_col_, s_pos_;
    ipm::Structure st_;
};

}  // namespace gridbatch::detail
