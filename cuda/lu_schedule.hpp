// Host side of the batched sparse LU: one fill-reducing ordering (AMD) and one symbolic
// factorisation per matrix pattern, shared by every scenario of every batch. Pivoting is static
// (the ordering only): power-flow Jacobians and B matrices have strong diagonals, and a zero or
// non-finite pivot is reported per scenario as a singular system rather than silently worked
// around.
#pragma once

#include <vector>

#include "kernels/batched_lu.hpp"

namespace gridbatch::detail::cuda {

class LuSchedule {
public:
    // `row_ptr`/`col`: CSR pattern of an n x n matrix A (duplicates allowed, any column order).
    // The factor pattern is that of P (A + Aᵀ) Pᵀ, so any A with that pattern factorises on it.
    // `keep_last`: the last unknown is eliminated last whatever AMD says (a structurally zero
    // diagonal, such as the distributed-slack unknown's, gets its pivot from the fill then).
    LuSchedule(int n, const std::vector<int>& row_ptr, const std::vector<int>& col,
               bool keep_last = false);

    int n() const { return n_; }
    int nnz() const { return static_cast<int>(col_.size()); }
    // Multiply-adds of one numeric factorisation (the per-scenario work).
    long long flops() const { return flops_; }
    // perm[k] = original index of permuted row/column k; inverse_perm is its inverse.
    const std::vector<int>& perm() const { return perm_; }
    const std::vector<int>& inverse_perm() const { return inverse_perm_; }
    // Position in the factor of A's entry (i, j) (original indices); -1 never happens for
    // entries of A's pattern.
    int position(int i, int j) const;
    // Factor positions not in A's pattern (fill-in): they must be zeroed before factorising.
    const std::vector<int>& fill_positions() const { return fill_; }

    // Arrays in the layout of LuScheduleView, for upload.
    const std::vector<int>& row_ptr() const { return row_ptr_; }
    const std::vector<int>& col() const { return col_; }
    const std::vector<int>& diag() const { return diag_; }
    const std::vector<int>& row_step() const { return row_step_; }
    const std::vector<int>& step_pos() const { return step_pos_; }
    const std::vector<int>& step_row() const { return step_row_; }
    const std::vector<int>& step_dst() const { return step_dst_; }
    const std::vector<int>& dst() const { return dst_; }
    // A view on the host arrays (for host factorisation and tests).
    LuScheduleView host_view() const;

private:
    int n_ = 0;
    long long flops_ = 0;
    std::vector<int> perm_, inverse_perm_;
    std::vector<int> row_ptr_, col_, diag_;
    std::vector<int> row_step_, step_pos_, step_row_, step_dst_, dst_;
    std::vector<int> fill_;
};

}  // namespace gridbatch::detail::cuda
