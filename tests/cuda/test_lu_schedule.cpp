// The batched sparse LU's symbolic schedule, applied on the host with the very code the device
// runs (kernels/batched_lu.hpp), against Eigen's dense LU.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/lu_schedule.hpp"
#include "gridbatch/admittance.hpp"
#include "gridbatch/matpower.hpp"
#include "kernels/batched_lu.hpp"
#include "support/cases.hpp"

namespace gridbatch::detail::cuda {
namespace {

struct Csr {
    int n = 0;
    std::vector<int> row_ptr{0}, col;
    std::vector<double> val;
};

// A random unsymmetric sparse matrix with a dominant diagonal (so no pivoting is needed).
Csr random_matrix(int n, double density, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0), coin(0.0, 1.0);
    Csr a;
    a.n = n;
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
            if (i == j) {
                a.col.push_back(j);
                a.val.push_back(2.0 + n * density + u(rng));
            } else if (coin(rng) < density) {
                a.col.push_back(j);
                a.val.push_back(u(rng));
            }
        }
        a.row_ptr.push_back(static_cast<int>(a.col.size()));
    }
    return a;
}

Matrix dense(const Csr& a) {
    Matrix d = Matrix::Zero(a.n, a.n);
    for (int i = 0; i < a.n; ++i)
        for (int p = a.row_ptr[i]; p < a.row_ptr[i + 1]; ++p) d(i, a.col[p]) += a.val[p];
    return d;
}

// Scatters A into the factor layout of scenario s of a batch of `batch` (scenario-fastest).
void scatter(const LuSchedule& lu, const Csr& a, std::vector<double>& values, int s, int batch) {
    for (const int p : lu.fill_positions()) values[static_cast<std::size_t>(p) * batch + s] = 0.0;
    for (int i = 0; i < a.n; ++i)
        for (int p = a.row_ptr[i]; p < a.row_ptr[i + 1]; ++p)
            values[static_cast<std::size_t>(lu.position(i, a.col[p])) * batch + s] = 0.0;
    for (int i = 0; i < a.n; ++i)
        for (int p = a.row_ptr[i]; p < a.row_ptr[i + 1]; ++p)
            values[static_cast<std::size_t>(lu.position(i, a.col[p])) * batch + s] += a.val[p];
}

// Solves A x = b through the schedule for a batch of matrices sharing one pattern, each stored
// scenario-fastest as on the device, and compares with a dense LU per scenario.
void check_batch(const std::vector<Csr>& batch, double tolerance) {
    const Csr& first = batch.front();
    const LuSchedule lu(first.n, first.row_ptr, first.col);
    const int s_count = static_cast<int>(batch.size());
    std::vector<double> values(static_cast<std::size_t>(lu.nnz()) * s_count, -7.0);
    std::vector<double> x(static_cast<std::size_t>(first.n) * s_count);
    std::vector<Vector> rhs;
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (int s = 0; s < s_count; ++s) {
        scatter(lu, batch[s], values, s, s_count);
        rhs.push_back(Vector::NullaryExpr(first.n, [&] { return u(rng); }));
        for (int k = 0; k < first.n; ++k)
            x[static_cast<std::size_t>(k) * s_count + s] = rhs[s][lu.perm()[k]];
    }
    const LuScheduleView view = lu.host_view();
    for (int s = 0; s < s_count; ++s) {
        ASSERT_TRUE(lu_factor_strided(view, values.data() + s, s_count)) << "scenario " << s;
        lu_solve_strided(view, values.data() + s, x.data() + s, s_count, s_count);
        const Vector expected = dense(batch[s]).partialPivLu().solve(rhs[s]);
        for (int k = 0; k < first.n; ++k)
            EXPECT_NEAR(x[static_cast<std::size_t>(k) * s_count + s], expected[lu.perm()[k]],
                        tolerance * (1.0 + expected.cwiseAbs().maxCoeff()))
                << "scenario " << s << ", unknown " << lu.perm()[k];
    }
}

TEST(LuSchedule, RandomBatchMatchesDenseLu) {
    std::vector<Csr> batch;
    const Csr pattern = random_matrix(60, 0.05, 1);
    for (unsigned s = 0; s < 5; ++s) {
        Csr a = pattern;
        std::mt19937 rng(100 + s);
        std::uniform_real_distribution<double> u(-1.0, 1.0);
        for (int i = 0; i < a.n; ++i)
            for (int p = a.row_ptr[i]; p < a.row_ptr[i + 1]; ++p)
                a.val[p] = a.col[p] == i ? 2.0 + a.n * 0.05 + u(rng) : u(rng);
        batch.push_back(a);
    }
    check_batch(batch, 1e-12);
}

TEST(LuSchedule, PermutationIsAPermutationAndFillIsCounted) {
    const Csr a = random_matrix(40, 0.1, 2);
    const LuSchedule lu(a.n, a.row_ptr, a.col);
    std::vector<int> seen(a.n, 0);
    for (const int p : lu.perm()) ++seen.at(p);
    for (const int c : seen) EXPECT_EQ(c, 1);
    EXPECT_GE(lu.nnz(), static_cast<int>(a.col.size()));  // the pattern plus fill
    // Every entry of A (no duplicates here) has its own position; the rest is fill.
    EXPECT_EQ(a.col.size() + lu.fill_positions().size(), static_cast<std::size_t>(lu.nnz()));
    for (int i = 0; i < a.n; ++i)
        for (int p = a.row_ptr[i]; p < a.row_ptr[i + 1]; ++p)
            EXPECT_GE(lu.position(i, a.col[p]), 0);
}

TEST(LuSchedule, ZeroPivotIsReported) {
    Csr a;  // [[0, 1], [1, 0]]: singular without pivoting whatever the symmetric ordering
    a.n = 2;
    a.row_ptr = {0, 1, 2};
    a.col = {1, 0};
    a.val = {1.0, 1.0};
    const LuSchedule lu(a.n, a.row_ptr, a.col);
    std::vector<double> values(lu.nnz(), 0.0);
    scatter(lu, a, values, 0, 1);
    EXPECT_FALSE(lu_factor_strided(lu.host_view(), values.data(), 1));
}

TEST(LuSchedule, DcMatrixOfRealCase) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    const DcMatrices dc = make_dc_matrices(net);
    // B with the reference row and column replaced by the identity: nonsingular.
    const int n = static_cast<int>(net.n_bus()), ref = static_cast<int>(net.reference_bus());
    Csr a;
    a.n = n;
    for (int i = 0; i < n; ++i) {
        for (SparseMatrix::InnerIterator it(dc.bbus, i); it; ++it) {
            const int j = static_cast<int>(it.col());
            if (i == ref || j == ref) continue;
            a.col.push_back(j);
            a.val.push_back(it.value());
        }
        if (i == ref) {
            a.col.push_back(i);
            a.val.push_back(1.0);
        }
        a.row_ptr.push_back(static_cast<int>(a.col.size()));
    }
    check_batch({a}, 1e-10);
}

}  // namespace
}  // namespace gridbatch::detail::cuda
