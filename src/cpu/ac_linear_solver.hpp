// Scalar sparse LU for the AC engine's square systems (fast-decoupled's B' and B''; Newton's
// Jacobian where the block LU of block_lu.hpp is not used or fails), in CSC form: the symbolic
// analysis (fill-reducing ordering) is done once per pattern and shared, the numeric
// factorisation once per matrix value set. KLU (SuiteSparse) when it was found at configure time,
// Eigen's SparseLU otherwise or when asked for.
//
// Measured (bench_ac, one thread, Newton): KLU is 4x (case118) to 8x (case2383wp,
// case9241pegase) faster than SparseLU on power-flow Jacobians; see benchmarks/bench_ac.cpp.
#pragma once

#include <Eigen/SparseCore>
#include <Eigen/SparseLU>
#include <memory>
#include <vector>

#ifdef GRIDBATCH_HAVE_KLU
#include <klu.h>
#endif

#include "gridbatch/types.hpp"

namespace gridbatch::detail::cpu {

// A square CSC pattern.
struct CscPattern {
    int n = 0;
    std::vector<int> col_ptr, row;
    int nnz() const { return static_cast<int>(row.size()); }
};

enum class LuKind : std::uint8_t { klu, eigen };

inline LuKind default_lu_kind() {
#ifdef GRIDBATCH_HAVE_KLU
    return LuKind::klu;
#else
    return LuKind::eigen;
#endif
}

// The analysis of one pattern, read-only after construction, shared by every worker's LU.
class LuSymbolic {
public:
    LuSymbolic(std::shared_ptr<const CscPattern> pattern, LuKind kind)
        : pattern_(std::move(pattern)), kind_(kind) {
#ifdef GRIDBATCH_HAVE_KLU
        if (kind_ == LuKind::klu) {
            klu_defaults(&common_);
            symbolic_ = klu_analyze(pattern_->n, const_cast<int*>(pattern_->col_ptr.data()),
                                    const_cast<int*>(pattern_->row.data()), &common_);
        }
#endif
    }
    ~LuSymbolic() {
#ifdef GRIDBATCH_HAVE_KLU
        if (symbolic_) klu_free_symbolic(&symbolic_, &common_);
#endif
    }
    LuSymbolic(const LuSymbolic&) = delete;
    LuSymbolic& operator=(const LuSymbolic&) = delete;

    const CscPattern& pattern() const { return *pattern_; }
    LuKind kind() const { return kind_; }
#ifdef GRIDBATCH_HAVE_KLU
    // KLU's factor/refactor/solve only read the symbolic object, so one serves every thread.
    klu_symbolic* klu() const { return symbolic_; }
#endif

private:
    std::shared_ptr<const CscPattern> pattern_;
    LuKind kind_;
#ifdef GRIDBATCH_HAVE_KLU
    klu_common common_{};
    klu_symbolic* symbolic_ = nullptr;
#endif
};

// One worker's numeric LU of matrices with the pattern of `symbolic`.
class SparseLu {
public:
    explicit SparseLu(std::shared_ptr<const LuSymbolic> symbolic) : symbolic_(std::move(symbolic)) {
        const CscPattern& p = symbolic_->pattern();
#ifdef GRIDBATCH_HAVE_KLU
        if (symbolic_->kind() == LuKind::klu) {
            klu_defaults(&common_);
            common_.scale = -1;  // no scaling and no input checks: patterns are ours
            return;
        }
#endif
        matrix_.resize(p.n, p.n);
        matrix_.resizeNonZeros(p.nnz());
        std::copy(p.col_ptr.begin(), p.col_ptr.end(), matrix_.outerIndexPtr());
        std::copy(p.row.begin(), p.row.end(), matrix_.innerIndexPtr());
        eigen_.isSymmetric(false);
        eigen_.analyzePattern(matrix_);
    }
    ~SparseLu() { release(); }
    SparseLu(const SparseLu&) = delete;
    SparseLu& operator=(const SparseLu&) = delete;

    // Factorises the matrix with these values (pattern order). KLU refactorises with the pivot
    // order it holds (the reference's, see below) and falls back to a fresh factorisation when
    // that order has become poor. False when the matrix is singular.
    bool factor(const Real* values) {
        const CscPattern& p = symbolic_->pattern();
#ifdef GRIDBATCH_HAVE_KLU
        if (symbolic_->kind() == LuKind::klu) {
            if (!symbolic_->klu()) return false;
            auto* ap = const_cast<int*>(p.col_ptr.data());
            auto* ai = const_cast<int*>(p.row.data());
            auto* ax = const_cast<Real*>(values);
            if (reset_) {
                reset_ = false;
                release();
                if (!reference_.empty()) {
                    numeric_ = klu_factor(ap, ai, reference_.data(), symbolic_->klu(), &common_);
                    from_reference_ = numeric_ != nullptr && common_.status == KLU_OK;
                    if (!from_reference_) reference_.clear();  // fresh pivots from now on
                }
            }
            if (numeric_ && klu_refactor(ap, ai, ax, symbolic_->klu(), numeric_, &common_) &&
                klu_rcond(symbolic_->klu(), numeric_, &common_) && common_.rcond > 1e-12)
                return true;
            release();
            from_reference_ = false;
            numeric_ = klu_factor(ap, ai, ax, symbolic_->klu(), &common_);
            return numeric_ != nullptr && common_.status == KLU_OK;
        }
#endif
        std::copy(values, values + p.nnz(), matrix_.valuePtr());
        eigen_.factorize(matrix_);
        return eigen_.info() == Eigen::Success;
    }

    // KLU refactorises with the pivot order of an earlier factorisation. Every scenario starts
    // from the pivots of this reference matrix (values in pattern order), so its result does not
    // depend on which scenarios the worker solved before: results stay independent of the thread
    // count. A factorisation with fresh pivots (when the reference order has become poor) lasts
    // until the scenario ends.
    void set_pivot_reference(std::vector<Real> values) {
        reference_ = std::move(values);
        reset_ = true;
    }
    void begin_scenario() {
        if (!from_reference_) reset_ = true;
    }

    // Solves in place with the last successful factorisation.
    void solve(Real* rhs) {
        const int n = symbolic_->pattern().n;
#ifdef GRIDBATCH_HAVE_KLU
        if (symbolic_->kind() == LuKind::klu) {
            klu_solve(symbolic_->klu(), numeric_, n, 1, rhs, &common_);
            return;
        }
#endif
        Eigen::Map<Vector> b(rhs, n);
        b = eigen_.solve(b).eval();
    }

private:
    void release() {
#ifdef GRIDBATCH_HAVE_KLU
        if (numeric_) klu_free_numeric(&numeric_, &common_);
#endif
    }

    std::shared_ptr<const LuSymbolic> symbolic_;
    std::vector<Real> reference_;
    bool reset_ = true, from_reference_ = false;
    Eigen::SparseMatrix<Real, Eigen::ColMajor, int> matrix_;
    Eigen::SparseLU<Eigen::SparseMatrix<Real, Eigen::ColMajor, int>, Eigen::COLAMDOrdering<int>>
        eigen_;
#ifdef GRIDBATCH_HAVE_KLU
    klu_common common_{};
    klu_numeric* numeric_ = nullptr;
#endif
};

}  // namespace gridbatch::detail::cpu
