// The interior point's shared core (src/core/ipm_core.hpp): its LDL' is Eigen's SimplicialLDLT
// operation for operation, a solve with the scenarios interleaved (the layout a CUDA kernel runs,
// one thread per scenario) gives what the contiguous one (the CPU's) gives, and smooth_dispatch's
// device path (chunks by QP kind, hand-overs, polish) run with that layout on the host gives the
// CPU path's results bitwise.
#include <gtest/gtest.h>

#include <Eigen/SparseCholesky>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/ipm_qp.hpp"
#include "engine/ipm_engine.hpp"
#include "gridbatch/smooth_dispatch.hpp"

namespace gridbatch::detail {
namespace {

// A banded QP shaped like the dispatch's: per step t a charge-like a_t, a discharge-like b_t, a
// stored energy e_t (e_t = e_{t-1} + 0.9 a_t - 1.1 b_t, e_{-1} = 5) and a slack s_t >= 0 with
// a_t + s_t = p, the peak, one variable in every step's row (a dense KKT column); cost: ramps of
// e, a level term and random prices. Bounds per scenario from `rng`, as rows of A with
// coefficients 1 or -2 (a negative one with an infinite side: BoundedQp once turned x <= inf
// into x <= -inf there).
struct BandedQp {
    Index T, n, rows;
    CscMatrix P, A;
    std::vector<bool> eq;
    Index var(Index t, int k) const { return 4 * t + k; }
    explicit BandedQp(Index steps) : T(steps), n(4 * steps + 1), rows(2 * steps + n) {
        std::vector<Eigen::Triplet<Real, int>> p, a;
        const auto at = [](Index r, Index c, Real v) {
            return Eigen::Triplet<Real, int>(static_cast<int>(r), static_cast<int>(c), v);
        };
        for (Index t = 0; t < T; ++t) {
            p.push_back(at(var(t, 2), var(t, 2), 1e-3));
            if (t > 0) {  // (e_t - e_{t-1})^2
                p.push_back(at(var(t, 2), var(t, 2), 2));
                p.push_back(at(var(t - 1, 2), var(t - 1, 2), 2));
                p.push_back(at(var(t, 2), var(t - 1, 2), -2));
                p.push_back(at(var(t - 1, 2), var(t, 2), -2));
                a.push_back(at(2 * t, var(t - 1, 2), -1));
            }
            a.push_back(at(2 * t, var(t, 2), 1));
            a.push_back(at(2 * t, var(t, 0), -0.9));
            a.push_back(at(2 * t, var(t, 1), 1.1));
            a.push_back(at(2 * t + 1, var(t, 0), 1));
            a.push_back(at(2 * t + 1, var(t, 3), 1));
            a.push_back(at(2 * t + 1, n - 1, -1));
        }
        for (Index j = 0; j < n; ++j) a.push_back(at(2 * T + j, j, j % 3 == 1 ? -2.0 : 1.0));
        P.resize(n, n);
        P.setFromTriplets(p.begin(), p.end());
        A.resize(rows, n);
        A.setFromTriplets(a.begin(), a.end());
        eq.assign(static_cast<std::size_t>(rows), false);
        for (Index i = 0; i < 2 * T; ++i) eq[static_cast<std::size_t>(i)] = true;
    }
    // q, l, u of one scenario.
    void scenario(std::mt19937_64& rng, Vector& q, Vector& l, Vector& u) const {
        std::uniform_real_distribution<Real> U(0, 1);
        q = Vector::Zero(n);
        l = Vector::Zero(rows);
        u = Vector::Zero(rows);
        l[0] = u[0] = 5;  // e_0 - 0.9 a_0 + 1.1 b_0 = e_{-1}
        for (Index t = 0; t < T; ++t) {
            q[var(t, 0)] = 4 * U(rng) - 2;
            q[var(t, 1)] = 4 * U(rng) - 2;
        }
        q[n - 1] = 0.5;
        for (Index j = 0; j < n; ++j) {
            const Index i = 2 * T + j;
            const int kind = static_cast<int>(j == n - 1 ? 3 : j % 4);
            const Real c = j % 3 == 1 ? -2.0 : 1.0;  // the bound row's coefficient
            Real lo = 0, hi = kind == 2 ? 8 + 4 * U(rng) : kind == 3 ? kQpInfinity : 3 + 2 * U(rng);
            if (j == var(T / 2, 0)) hi = lo = 1;  // a fixed variable
            l[i] = c > 0 ? c * lo : (hi >= kQpInfinity ? -kQpInfinity : c * hi);
            u[i] = c > 0 ? (hi >= kQpInfinity ? kQpInfinity : c * hi) : c * lo;
        }
    }
};

TEST(IpmCore, FactorAndSolveAreEigensSimplicialLdltBitwise) {
    const BandedQp qp(150);
    const BoundedQp bq(qp.P, qp.A, qp.eq, IpmSettings{});
    const ipm::Structure& st = bq.structure();
    const Index N = st.n + st.m;
    // Quasi-definite values on the KKT pattern: random off-diagonal, positive diagonal for x,
    // negative for E's rows.
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<Real> U(-1, 1);
    CscMatrix K = bq.kkt_pattern();
    for (Index c = 0; c < N; ++c)
        for (int p = K.outerIndexPtr()[c]; p < K.outerIndexPtr()[c + 1]; ++p) {
            const int r = K.innerIndexPtr()[p];
            K.valuePtr()[p] = r != c ? U(rng) : st.order[c] < st.n ? 20 + U(rng) : -1e-3;
        }
    Eigen::SimplicialLDLT<CscMatrix, Eigen::Upper, Eigen::NaturalOrdering<int>> eigen(K);
    ASSERT_EQ(eigen.info(), Eigen::Success);

    std::vector<double> data(static_cast<std::size_t>(ipm::Workspace<ipm::One>::doubles(st, 80)));
    std::vector<std::uint8_t> flags(static_cast<std::size_t>(st.n));
    const ipm::Workspace<ipm::One> ws(st, 80, data.data(), flags.data(), ipm::One{});
    for (Index p = 0; p < K.nonZeros(); ++p) ws.kv[p] = K.valuePtr()[p];
    ASSERT_TRUE(ipm::ldl_factor(st, ws));

    const CscMatrix L = eigen.matrixL();  // unit lower, no stored diagonal... or with it
    const Vector D = eigen.vectorD();
    for (Index k = 0; k < N; ++k) EXPECT_EQ(ws.d[k], D[k]) << "D(" << k << ")";
    Index compared = 0;
    for (Index c = 0; c < N; ++c)
        for (CscMatrix::InnerIterator it(L, c); it; ++it) {
            if (it.row() == c) continue;
            // Our column c holds rows in increasing order, as Eigen's.
            int p = st.l_ptr[c];
            while (p < st.l_ptr[c + 1] && st.l_row[p] != it.row()) ++p;
            ASSERT_LT(p, st.l_ptr[c + 1]) << "L(" << it.row() << ", " << c << ") missing";
            EXPECT_EQ(ws.l[p], it.value()) << "L(" << it.row() << ", " << c << ")";
            ++compared;
        }
    EXPECT_EQ(compared, st.l_ptr[N]);  // same fill, no entry of ours without Eigen's

    Vector b(N);
    for (Index i = 0; i < N; ++i) b[i] = U(rng);
    const Vector x = eigen.solve(b);
    Vector v = b;
    ipm::ldl_solve(st, ws, ipm::Vec<ipm::One>{v.data(), ipm::One{}});
    for (Index i = 0; i < N; ++i) EXPECT_EQ(v[i], x[i]) << "solution " << i;
    // And it solves K v = b (the test's own check, not Eigen's).
    const Vector Kv = K.selfadjointView<Eigen::Upper>() * v;
    EXPECT_LT((Kv - b).lpNorm<Eigen::Infinity>(), 1e-10);
}

TEST(IpmCore, InterleavedScenariosSolveAsContiguousOnes) {
    const BandedQp qp(120);
    const BoundedQp bq(qp.P, qp.A, qp.eq, IpmSettings{});
    const ipm::Structure& st = bq.structure();
    const IpmSettings& set = bq.settings();
    constexpr long long S = 3;
    std::mt19937_64 rng(11);
    std::vector<Vector> q(S), l(S), u(S);
    for (long long s = 0; s < S; ++s) qp.scenario(rng, q[s], l[s], u[s]);
    // Scenario 2 infeasible: a bound row whose bounds cross.
    l[2][2 * qp.T + 5] = 2;
    u[2][2 * qp.T + 5] = 1;

    // Interleaved inputs and workspace: element i of scenario s at i * S + s.
    const auto interleave = [&](const std::vector<Vector>& v) {
        std::vector<double> out(static_cast<std::size_t>(v[0].size() * S));
        for (long long s = 0; s < S; ++s)
            for (Index i = 0; i < v[0].size(); ++i)
                out[static_cast<std::size_t>(i * S + s)] = v[static_cast<std::size_t>(s)][i];
        return out;
    };
    const std::vector<double> qi = interleave(q), li = interleave(l), ui = interleave(u);
    const long long doubles = ipm::Workspace<long long>::doubles(st, set.max_iterations);
    std::vector<double> data(static_cast<std::size_t>(doubles * S));
    std::vector<std::uint8_t> flags(static_cast<std::size_t>(st.n * S));

    for (long long s = 0; s < S; ++s) {
        IpmWorkspace contiguous;
        const QpOutcome one = bq.solve(q[s], l[s], u[s], contiguous);
        const ipm::Workspace<long long> ws(st, set.max_iterations, data.data() + s,
                                           flags.data() + s, S);
        const ipm::In<long long> qs{qi.data() + s, S}, ls{li.data() + s, S}, us{ui.data() + s, S};
        const ipm::Outcome strided = ipm::solve(st, set, qs, ls, us, ws);
        EXPECT_EQ(strided.status, static_cast<int>(one.status)) << "scenario " << s;
        EXPECT_EQ(strided.iterations, one.iterations) << "scenario " << s;
        EXPECT_EQ(strided.primal_residual, one.primal_residual) << "scenario " << s;
        EXPECT_EQ(strided.dual_residual, one.dual_residual) << "scenario " << s;
        for (Index j = 0; j < st.n; ++j) ASSERT_EQ(ws.x[j], contiguous.x[j]) << s << ", x " << j;
        for (Index i = 0; i < st.m; ++i) ASSERT_EQ(ws.y[i], contiguous.y[i]) << s << ", y " << i;
        if (s < 2) {
            EXPECT_EQ(one.status, Status::converged) << "scenario " << s;
            // Optimal: feasible to the tolerance (bounds and rows of A).
            const Vector ax = qp.A * contiguous.x;
            for (Index i = 0; i < qp.rows; ++i) {
                EXPECT_GE(ax[i], l[s][i] - 1e-7) << "row " << i;
                EXPECT_LE(ax[i], u[s][i] + 1e-7) << "row " << i;
            }
        } else {
            EXPECT_EQ(one.status, Status::infeasible);
        }
    }
}

// The CUDA engine's layout on the host: a chunk's scenarios interleaved (element i of scenario c
// at i * C + c), each solved by the code a device thread runs; at most two scenarios per chunk,
// so that the caller's chunking is exercised.
class HostIpmEngine final : public IpmEngine {
public:
    int calls = 0;
    Index chunk_size(const BoundedQp&, Index scenarios) override {
        return std::min<Index>(2, scenarios);
    }
    void solve(const BoundedQp& qp, const Matrix& q, const Matrix& l, const Matrix& u, Matrix& x,
               std::vector<QpOutcome>& outcomes) override {
        ++calls;
        const ipm::Structure& st = qp.structure();
        const long long C = q.cols();
        const Matrix qt = q.transpose(), lt = l.transpose(), ut = u.transpose();
        const long long doubles =
            ipm::Workspace<long long>::doubles(st, qp.settings().max_iterations);
        std::vector<double> data(static_cast<std::size_t>(doubles * C));
        std::vector<std::uint8_t> flags(static_cast<std::size_t>(st.n * C));
        outcomes.clear();
        for (long long c = 0; c < C; ++c) {
            const ipm::Workspace<long long> ws(st, qp.settings().max_iterations, data.data() + c,
                                               flags.data() + c, C);
            const ipm::In<long long> qc{qt.data() + c, C}, lc{lt.data() + c, C},
                uc{ut.data() + c, C};
            outcomes.push_back(to_qp_outcome(ipm::solve(st, qp.settings(), qc, lc, uc, ws)));
        }
        x = Eigen::Map<const Matrix>(data.data(), C, st.n).transpose();
    }
};

TEST(IpmCore, DevicePathOnTheHostGivesTheCpuPathsResults) {
    const Index T = 200, S = 5;
    Matrix load(T, S);
    for (Index s = 0; s < S; ++s)
        for (Index t = 0; t < T; ++t)
            load(t, s) = 150 + ((t / (2 + s)) % 2 ? 25.0 : -25.0) +
                         10 * std::sin(0.03 * static_cast<Real>(t) + static_cast<Real>(s));
    std::vector<BatteryFleet> fleets;
    for (Real units : {6.0, 10.0, 20.0, 8.0, 1.0})
        fleets.push_back(BatteryFleet::from_units(battery_unit("megapack-2h"), units));
    fleets[1].ramp_limit_mw_per_s = 3;  // a second QP kind, between scenarios of the first
    std::vector<GridConnection> grids(S);
    grids[4].import_limit_mw = load.col(4).maxCoeff() - 40;  // infeasible: handed over
    SmoothDispatchOptions options;
    options.threads = 2;
    const SmoothDispatchResult cpu = smooth_dispatch_on(load, fleets, grids, options, nullptr);
    HostIpmEngine engine;
    const SmoothDispatchResult dev = smooth_dispatch_on(load, fleets, grids, options, &engine);
    EXPECT_EQ(engine.calls, 3);  // kind 1: scenarios {0, 2}, {3, 4}; kind 2: {1}
    EXPECT_EQ(cpu.backend, Backend::cpu);
    EXPECT_EQ(dev.backend, Backend::cuda);
    EXPECT_EQ(cpu.report.at(4), Status::infeasible);
    for (Index s = 0; s < S; ++s) {
        SCOPED_TRACE("scenario " + std::to_string(s));
        if (s < 4) {
            EXPECT_EQ(cpu.report.at(s), Status::converged);
        }
        EXPECT_EQ(dev.report.at(s), cpu.report.at(s));
        EXPECT_EQ(dev.report.iterations[s], cpu.report.iterations[s]);
        EXPECT_EQ(dev.objective[s], cpu.objective[s]);
        EXPECT_EQ(dev.violation[s], cpu.violation[s]);
        EXPECT_EQ(dev.infeasible_step[s], cpu.infeasible_step[s]);
        EXPECT_EQ((dev.battery_mw.col(s) - cpu.battery_mw.col(s)).cwiseAbs().maxCoeff(), 0);
    }
}

}  // namespace
}  // namespace gridbatch::detail
