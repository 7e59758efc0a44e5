// The symbolic side of a sparse LU with static pivoting: one fill-reducing ordering (AMD) and one
// symbolic factorisation per matrix pattern, shared by every scenario of every batch. Pivoting is
// the ordering only: power-flow Jacobians and B matrices have strong diagonals, and a zero or
// non-finite pivot is reported per scenario as a singular system rather than silently worked
// around. The CUDA engines factorise on it scalar by scalar (cuda/kernels/batched_lu.hpp), the
// CPU engine's Newton Jacobian in 2x2 blocks per bus (cpu/block_lu.hpp).
#pragma once

#include <vector>

namespace gridbatch::detail {

// The symbolic factorisation of a permuted matrix P A Pᵀ: rows of L (strict lower, unit
// diagonal) and U (upper with diagonal) stored together in CSR with sorted columns.
struct LuScheduleView {
    int n = 0;
    const int* row_ptr = nullptr;  // n + 1
    const int* col = nullptr;      // nnz
    const int* diag = nullptr;     // n: position of (i, i)
    // Up-looking elimination: row i uses steps [row_step[i], row_step[i + 1]), one per column
    // k < i of its L part, in ascending k. Step t divides lu[step_pos[t]] by the pivot of row
    // step_row[t] (= k) and subtracts that multiple of U(k, k+1:) from row i, the targets being
    // dst[step_dst[t] + m] for the m-th entry after the diagonal of row k.
    const int* row_step = nullptr;  // n + 1
    const int* step_pos = nullptr;
    const int* step_row = nullptr;
    const int* step_dst = nullptr;
    const int* dst = nullptr;
};

// One pattern's ordering and symbolic factorisation, and the schedule of its elimination.
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

}  // namespace gridbatch::detail
