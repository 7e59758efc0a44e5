// Sparse LU of a matrix of 2x2 blocks with static pivoting on its diagonal blocks, for Newton's
// Jacobian on the bus graph: one block per Ybus entry (i, k) between buses with a P equation,
// [dP_i/dVa_k dP_i/dVm_k; dQ_i/dVa_k dQ_i/dVm_k]. The symbolic factorisation is LuSchedule's over
// the buses (AMD on the bus graph); each update is one 2x2 product, 8 multiply-adds for one index,
// where a scalar sparse LU reads an index per multiply-add. Diagonal blocks are inverted exactly,
// which a scalar static pivot order would not do for a bus's P/Q pair.
//
// Measured on case9241pegase's Jacobian (17,036 unknowns; one core of the 2-core Intel Xeon VM):
// 1.0 ms per factorisation, against 2.0 ms for KLU's refactorisation (ac_linear_solver.hpp).
#pragma once

#include <memory>
#include <vector>

#include "core/lu_schedule.hpp"

namespace gridbatch::detail::cpu {

struct Block2 {
    double a, b, c, d;  // [a b; c d]
};

// The pattern of a block matrix and its symbolic factorisation, shared by every worker.
class BlockLuPattern {
public:
    // CSR pattern of an n x n block matrix (duplicates allowed, any order within a row).
    BlockLuPattern(int n, const std::vector<int>& row_ptr, const std::vector<int>& col);
    BlockLuPattern(const BlockLuPattern&) = delete;
    BlockLuPattern& operator=(const BlockLuPattern&) = delete;

    int n() const { return schedule_.n(); }
    // Blocks in the factor (the matrix's and the fill).
    int size() const { return schedule_.nnz(); }
    // Position in the factor of block (i, j) of the pattern (original indices).
    int position(int i, int j) const { return schedule_.position(i, j); }
    // Where block row i is in the factor's order (solve() takes its vectors in that order).
    int permuted(int i) const { return schedule_.inverse_perm()[static_cast<std::size_t>(i)]; }
    const LuScheduleView& view() const { return view_; }
    const std::vector<int>& fill() const { return schedule_.fill_positions(); }

private:
    LuSchedule schedule_;
    LuScheduleView view_;
};

// One worker's numeric factorisation on a shared pattern.
class BlockLu {
public:
    explicit BlockLu(std::shared_ptr<const BlockLuPattern> pattern);

    const BlockLuPattern& pattern() const { return *pattern_; }
    // The factor's storage: the caller writes every block of the matrix (all four entries) at
    // pattern().position(i, j), then calls factor(), which zeroes the fill first.
    Block2* blocks() { return lu_.data(); }
    // Factorises in place. False where a pivot block is singular or not finite, or where the
    // pivots' reciprocal condition estimate (smallest pivot block's least singular value, bounded
    // below by |det| / Frobenius norm, over the largest pivot block's norm) is below 1e-12, the
    // bound SparseLu applies to KLU's pivots: the caller then factorises with partial pivoting.
    bool factor();
    // Solves in place with the last successful factorisation: x has 2 entries per block row, in
    // the factor's order (pattern().permuted(i)).
    void solve(double* x) const;

private:
    std::shared_ptr<const BlockLuPattern> pattern_;
    std::vector<Block2> lu_, inverse_;  // the factor; the inverse of each pivot block
};

}  // namespace gridbatch::detail::cpu
