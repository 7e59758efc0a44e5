#include "cpu/block_lu.hpp"

#include <cmath>
#include <cstring>

namespace gridbatch::detail::cpu {
namespace {

// Two doubles in one register (SSE2 on x86-64, NEON on aarch64): a block row. The update is then
// 4 vector multiplies and 4 adds; GCC leaves the scalar form scalar.
using Pair = double __attribute__((vector_size(16)));
Pair load(const double* p) {
    Pair v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
void store(double* p, Pair v) { std::memcpy(p, &v, sizeof v); }

}  // namespace

BlockLuPattern::BlockLuPattern(int n, const std::vector<int>& row_ptr, const std::vector<int>& col)
    : schedule_(n, row_ptr, col), view_(schedule_.host_view()) {}

BlockLu::BlockLu(std::shared_ptr<const BlockLuPattern> pattern)
    : pattern_(std::move(pattern)),
      lu_(static_cast<std::size_t>(pattern_->size()), Block2{0, 0, 0, 0}),
      inverse_(static_cast<std::size_t>(pattern_->n())) {}

bool BlockLu::factor() {
    for (const int p : pattern_->fill()) lu_[static_cast<std::size_t>(p)] = {0, 0, 0, 0};
    const LuScheduleView& s = pattern_->view();
    Block2* lu = lu_.data();
    double least2 = HUGE_VAL, largest2 = 0;  // squares of the condition estimate's terms
    for (int i = 0; i < s.n; ++i) {
        // Row i of L and U, up-looking: L(i, k) = A(i, k) U(k, k)^-1, then row i of A minus
        // L(i, k) times row k of U, for each k < i in the pattern in turn.
        for (int t = s.row_step[i]; t < s.row_step[i + 1]; ++t) {
            const int k = s.step_row[t];
            Block2& x = lu[s.step_pos[t]];
            const Block2 q = inverse_[static_cast<std::size_t>(k)];
            const Block2 l = {x.a * q.a + x.b * q.c, x.a * q.b + x.b * q.d, x.c * q.a + x.d * q.c,
                              x.c * q.b + x.d * q.d};
            x = l;
            const int* target = s.dst + s.step_dst[t];  // target[m]: the m-th after the pivot
            const Block2* u = lu + s.diag[k] + 1;
            const int count = s.row_ptr[k + 1] - s.diag[k] - 1;
            const Pair la = {l.a, l.a}, lb = {l.b, l.b}, lc = {l.c, l.c}, ld = {l.d, l.d};
            for (int m = 0; m < count; ++m) {  // Z -= L Y, a row of Z at a time
                Block2& z = lu[target[m]];
                const Pair y0 = load(&u[m].a), y1 = load(&u[m].c);
                store(&z.a, load(&z.a) - (la * y0 + lb * y1));
                store(&z.c, load(&z.c) - (lc * y0 + ld * y1));
            }
        }
        const Block2 p = lu[s.diag[i]];
        const double det = p.a * p.d - p.b * p.c;
        const double norm2 = p.a * p.a + p.b * p.b + p.c * p.c + p.d * p.d;
        if (!(det != 0) || !std::isfinite(det) || !std::isfinite(norm2)) return false;
        const double r = 1.0 / det;
        inverse_[static_cast<std::size_t>(i)] = {p.d * r, -p.b * r, -p.c * r, p.a * r};
        // Squared, without sqrt; finite here, so plain comparisons (std::fmin's NaN rules made
        // it a library call).
        const double ratio2 = det / norm2 * det;
        least2 = ratio2 < least2 ? ratio2 : least2;
        largest2 = norm2 > largest2 ? norm2 : largest2;
    }
    return s.n == 0 || least2 > 1e-24 * largest2;
}

void BlockLu::solve(double* x) const {
    const LuScheduleView& s = pattern_->view();
    const Block2* lu = lu_.data();
    for (int i = 0; i < s.n; ++i) {  // L y = b (unit diagonal blocks)
        double y0 = x[2 * i], y1 = x[2 * i + 1];
        for (int p = s.row_ptr[i]; p < s.diag[i]; ++p) {
            const Block2& l = lu[p];
            const double x0 = x[2 * s.col[p]], x1 = x[2 * s.col[p] + 1];
            y0 -= l.a * x0 + l.b * x1;
            y1 -= l.c * x0 + l.d * x1;
        }
        x[2 * i] = y0;
        x[2 * i + 1] = y1;
    }
    for (int i = s.n - 1; i >= 0; --i) {  // U x = y
        double y0 = x[2 * i], y1 = x[2 * i + 1];
        for (int p = s.diag[i] + 1; p < s.row_ptr[i + 1]; ++p) {
            const Block2& u = lu[p];
            const double x0 = x[2 * s.col[p]], x1 = x[2 * s.col[p] + 1];
            y0 -= u.a * x0 + u.b * x1;
            y1 -= u.c * x0 + u.d * x1;
        }
        const Block2& q = inverse_[static_cast<std::size_t>(i)];
        x[2 * i] = q.a * y0 + q.b * y1;
        x[2 * i + 1] = q.c * y0 + q.d * y1;
    }
}

}  // namespace gridbatch::detail::cpu
