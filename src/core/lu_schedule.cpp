#include "core/lu_schedule.hpp"

#include <amd.h>

#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "gridbatch/error.hpp"

namespace gridbatch::detail {

namespace {

// Sorted, duplicate-free adjacency of A + Aᵀ including the diagonal.
std::vector<std::vector<int>> symmetric_pattern(int n, const std::vector<int>& row_ptr,
                                                const std::vector<int>& col) {
    std::vector<std::vector<int>> adj(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        adj[i].push_back(i);
        for (int p = row_ptr[i]; p < row_ptr[i + 1]; ++p) {
            const int j = col[p];
            if (j < 0 || j >= n)
                throw Error(ErrorKind::invalid_input,
                            "LuSchedule: column " + std::to_string(j) + " in row " +
                                std::to_string(i) + " is outside 0.." + std::to_string(n - 1));
            adj[i].push_back(j);
            adj[j].push_back(i);
        }
    }
    for (auto& row : adj) {
        std::sort(row.begin(), row.end());
        row.erase(std::unique(row.begin(), row.end()), row.end());
    }
    return adj;
}

std::vector<int> amd_permutation(int n, const std::vector<std::vector<int>>& adj) {
    std::vector<int> ptr(static_cast<std::size_t>(n) + 1, 0), idx;
    for (int i = 0; i < n; ++i) {
        ptr[i + 1] = ptr[i] + static_cast<int>(adj[i].size());
        idx.insert(idx.end(), adj[i].begin(), adj[i].end());
    }
    std::vector<int> perm(static_cast<std::size_t>(n));
    double control[AMD_CONTROL], info[AMD_INFO];
    amd_defaults(control);
    const int status = amd_order(n, ptr.data(), idx.data(), perm.data(), control, info);
    if (status != AMD_OK)
        throw Error(ErrorKind::device,
                    "LuSchedule: amd_order failed with status " + std::to_string(status));
    return perm;
}

}  // namespace

LuSchedule::LuSchedule(int n, const std::vector<int>& row_ptr, const std::vector<int>& col,
                       bool keep_last)
    : n_(n) {
    if (n < 0 || row_ptr.size() != static_cast<std::size_t>(n) + 1 ||
        col.size() != static_cast<std::size_t>(row_ptr.back()))
        throw Error(ErrorKind::invalid_input, "LuSchedule: CSR arrays do not describe an " +
                                                  std::to_string(n) + " x " + std::to_string(n) +
                                                  " matrix");
    const auto adj = symmetric_pattern(n, row_ptr, col);
    perm_ = n > 0 ? amd_permutation(n, adj) : std::vector<int>{};
    if (keep_last && n > 0) {
        perm_.erase(std::find(perm_.begin(), perm_.end(), n - 1));
        perm_.push_back(n - 1);
    }
    inverse_perm_.assign(static_cast<std::size_t>(n), 0);
    for (int k = 0; k < n; ++k) inverse_perm_[perm_[k]] = k;

    // Permuted symmetric pattern B = P (A + Aᵀ) Pᵀ, lower part per row.
    std::vector<std::vector<int>> lower(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k)
        for (const int j : adj[perm_[k]])
            if (inverse_perm_[j] < k) lower[k].push_back(inverse_perm_[j]);

    // Elimination tree (Liu, with path compression), then each row of L as the union of the
    // tree paths from its entries up to the row (the row subtree); U's rows are L's columns.
    std::vector<int> parent(static_cast<std::size_t>(n), -1),
        ancestor(static_cast<std::size_t>(n), -1);
    for (int k = 0; k < n; ++k)
        for (int i : lower[k])
            while (i != -1 && i < k) {
                const int next = ancestor[i];
                ancestor[i] = k;
                if (next == -1) parent[i] = k;
                i = next;
            }
    std::vector<std::vector<int>> l_rows(static_cast<std::size_t>(n)),
        u_rows(static_cast<std::size_t>(n));
    std::vector<int> mark(static_cast<std::size_t>(n), -1);
    for (int k = 0; k < n; ++k) {
        mark[k] = k;
        for (int i : lower[k])
            for (; i != -1 && mark[i] != k; i = parent[i]) {
                mark[i] = k;
                l_rows[k].push_back(i);
            }
        std::sort(l_rows[k].begin(), l_rows[k].end());
        for (const int i : l_rows[k]) u_rows[i].push_back(k);  // ascending k: sorted
    }

    row_ptr_.assign(static_cast<std::size_t>(n) + 1, 0);
    diag_.assign(static_cast<std::size_t>(n), 0);
    // Positions and schedule offsets are int (what the kernels index with): a factor or a
    // schedule past 2^31 entries is refused, not wrapped.
    const auto too_large = [](const char* what, std::size_t size) {
        throw Error(ErrorKind::invalid_input,
                    std::string("static-pivot LU: the factor needs more than 2^31 ") + what + " (" +
                        std::to_string(size) + "+), more than its int indices hold");
    };
    std::size_t factor_size = static_cast<std::size_t>(n);
    for (int i = 0; i < n; ++i) factor_size += l_rows[i].size() + u_rows[i].size();
    if (factor_size > static_cast<std::size_t>(INT_MAX)) too_large("nonzeros", factor_size);
    for (int i = 0; i < n; ++i) {
        col_.insert(col_.end(), l_rows[i].begin(), l_rows[i].end());
        diag_[i] = static_cast<int>(col_.size());
        col_.push_back(i);
        col_.insert(col_.end(), u_rows[i].begin(), u_rows[i].end());
        row_ptr_[i + 1] = static_cast<int>(col_.size());
    }

    // Up-looking schedule. The symbolic closure guarantees every target exists; a miss would be
    // a bug here, not bad input.
    row_step_.assign(static_cast<std::size_t>(n) + 1, 0);
    for (int i = 0; i < n; ++i) {
        for (int p = row_ptr_[i]; p < diag_[i]; ++p) {
            const int k = col_[p];
            if (dst_.size() > static_cast<std::size_t>(INT_MAX - n))
                too_large("multiply-adds", dst_.size());
            step_pos_.push_back(p);
            step_row_.push_back(k);
            step_dst_.push_back(static_cast<int>(dst_.size()));
            int q_i = p + 1;  // row i's columns are sorted, and so are row k's after its diagonal
            for (int q = diag_[k] + 1; q < row_ptr_[k + 1]; ++q) {
                while (q_i < row_ptr_[i + 1] && col_[q_i] < col_[q]) ++q_i;
                if (q_i == row_ptr_[i + 1] || col_[q_i] != col_[q])
                    throw std::logic_error("LuSchedule: symbolic factor is not closed");
                dst_.push_back(q_i);
            }
            flops_ += row_ptr_[k + 1] - diag_[k];
        }
        row_step_[i + 1] = static_cast<int>(step_pos_.size());
    }

    std::vector<char> in_a(col_.size(), 0);
    for (int i = 0; i < n; ++i)
        for (int p = row_ptr[i]; p < row_ptr[i + 1]; ++p) in_a[position(i, col[p])] = 1;
    for (int p = 0; p < nnz(); ++p)
        if (!in_a[p]) fill_.push_back(p);
}

int LuSchedule::position(int i, int j) const {
    const int r = inverse_perm_[i], c = inverse_perm_[j];
    const auto first = col_.begin() + row_ptr_[r], last = col_.begin() + row_ptr_[r + 1];
    const auto it = std::lower_bound(first, last, c);
    return (it != last && *it == c) ? static_cast<int>(it - col_.begin()) : -1;
}

LuScheduleView LuSchedule::host_view() const {
    LuScheduleView v;
    v.n = n_;
    v.row_ptr = row_ptr_.data();
    v.col = col_.data();
    v.diag = diag_.data();
    v.row_step = row_step_.data();
    v.step_pos = step_pos_.data();
    v.step_row = step_row_.data();
    v.step_dst = step_dst_.data();
    v.dst = dst_.data();
    return v;
}

}  // namespace gridbatch::detail
