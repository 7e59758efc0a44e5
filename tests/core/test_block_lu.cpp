// The CPU engine's 2x2-block LU (cpu/block_lu.hpp): solves against a dense LU on a real network's
// bus graph, refuses singular and near-singular pivot blocks, zeroes its fill before each
// factorisation; and Newton on it gives KLU's answers (GRIDBATCH_AC_LU=klu), iteration for
// iteration, also where a scenario's block pivots fail and it goes on with KLU.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/matpower.hpp"
#include "support/cases.hpp"
#include "support/expect_error.hpp"
#include "support/scoped_env.hpp"

#ifdef GRIDBATCH_HAVE_AMD
#include "cpu/block_lu.hpp"
#endif

namespace gridbatch {
namespace {

#ifdef GRIDBATCH_HAVE_AMD
using detail::cpu::Block2;
using detail::cpu::BlockLu;
using detail::cpu::BlockLuPattern;

// A block matrix on the bus graph of a network (Ybus's pattern): CSR pattern and random blocks,
// diagonal blocks made dominant, so that static pivoting is safe.
struct BlockMatrix {
    int n = 0;
    std::vector<int> row_ptr{0}, col;
    std::vector<Block2> value;

    Eigen::MatrixXd dense() const {
        Eigen::MatrixXd a = Eigen::MatrixXd::Zero(2 * n, 2 * n);
        for (int i = 0; i < n; ++i)
            for (int p = row_ptr[i]; p < row_ptr[i + 1]; ++p) {
                const Block2& b = value[static_cast<std::size_t>(p)];
                a.block<2, 2>(2 * i, 2 * col[p]) << b.a, b.b, b.c, b.d;
            }
        return a;
    }
    void write(BlockLu& lu) const {
        for (int i = 0; i < n; ++i)
            for (int p = row_ptr[i]; p < row_ptr[i + 1]; ++p)
                lu.blocks()[lu.pattern().position(i, col[p])] = value[static_cast<std::size_t>(p)];
    }
};

BlockMatrix on_bus_graph(const Network& net, unsigned seed) {
    BlockMatrix m;
    m.n = static_cast<int>(net.n_bus());
    std::vector<std::vector<int>> adj(static_cast<std::size_t>(m.n));
    for (int i = 0; i < m.n; ++i) adj[i].push_back(i);
    for (Index l = 0; l < net.n_branch(); ++l) {
        const int f = net.branch_from()[l], t = net.branch_to()[l];
        adj[f].push_back(t);
        adj[t].push_back(f);
    }
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-1, 1);
    for (int i = 0; i < m.n; ++i) {
        std::sort(adj[i].begin(), adj[i].end());
        adj[i].erase(std::unique(adj[i].begin(), adj[i].end()), adj[i].end());
        for (int j : adj[i]) {
            m.col.push_back(j);
            m.value.push_back({u(rng), u(rng), u(rng), u(rng)});
            if (j == i) m.value.back() = {8 + u(rng), u(rng), u(rng), -8 + u(rng)};
        }
        m.row_ptr.push_back(static_cast<int>(m.col.size()));
    }
    return m;
}

// Solves with the block LU; b and the result in the matrix's own order.
Eigen::VectorXd block_solve(const BlockLu& lu, const Eigen::VectorXd& b) {
    const BlockLuPattern& p = lu.pattern();
    std::vector<double> x(b.size());
    for (int i = 0; i < p.n(); ++i) {
        x[2 * p.permuted(i)] = b[2 * i];
        x[2 * p.permuted(i) + 1] = b[2 * i + 1];
    }
    lu.solve(x.data());
    Eigen::VectorXd out(b.size());
    for (int i = 0; i < p.n(); ++i) {
        out[2 * i] = x[2 * p.permuted(i)];
        out[2 * i + 1] = x[2 * p.permuted(i) + 1];
    }
    return out;
}

TEST(BlockLu, SolvesLikeDenseLuOnARealBusGraphAndZeroesItsFill) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case300"));
    const BlockMatrix a = on_bus_graph(net, 1), b = on_bus_graph(net, 2);
    auto pattern = std::make_shared<BlockLuPattern>(a.n, a.row_ptr, a.col);
    EXPECT_GT(pattern->fill().size(), 0u) << "no fill: the test would not see stale fill";
    BlockLu lu(pattern);
    const Eigen::VectorXd rhs = Eigen::VectorXd::LinSpaced(2 * a.n, -1, 2);
    // Twice on the same storage: the second factorisation must not see the first one's fill.
    for (const BlockMatrix* m : {&a, &b}) {
        m->write(lu);
        ASSERT_TRUE(lu.factor());
        const Eigen::VectorXd want = m->dense().partialPivLu().solve(rhs);
        const Eigen::VectorXd got = block_solve(lu, rhs);
        EXPECT_LT((got - want).cwiseAbs().maxCoeff(), 1e-12 * want.cwiseAbs().maxCoeff());
    }
}

// Three buses in a path, 0 - 1 - 2, whose couplings are zero: the middle diagonal block is its
// own pivot block whatever the order.
BlockMatrix path_of_three(Block2 middle_pivot) {
    BlockMatrix m;
    m.n = 3;
    m.row_ptr = {0, 2, 5, 7};
    m.col = {0, 1, 0, 1, 2, 1, 2};
    const Block2 off{0, 0, 0, 0}, diag{4, 1, 1, 4};
    m.value = {diag, off, off, middle_pivot, off, off, diag};
    return m;
}

TEST(BlockLu, RefusesSingularNearSingularAndNonFinitePivots) {
    const BlockMatrix ok = path_of_three({4, 1, 1, 4});
    auto pattern = std::make_shared<BlockLuPattern>(ok.n, ok.row_ptr, ok.col);
    BlockLu lu(pattern);
    ok.write(lu);
    EXPECT_TRUE(lu.factor());
    // Singular, singular to 1e-14 (|det| / norm / largest norm ~4e-16), NaN, infinite.
    for (const Block2 bad : {Block2{1, 2, 2, 4}, Block2{1, 2, 2, 4 + 1e-14}, Block2{NAN, 1, 1, 4},
                             Block2{HUGE_VAL, 1, 1, 4}}) {
        path_of_three(bad).write(lu);
        EXPECT_FALSE(lu.factor()) << bad.a << " " << bad.b << " " << bad.c << " " << bad.d;
    }
    ok.write(lu);
    EXPECT_TRUE(lu.factor()) << "a refused matrix leaves the next factorisation unharmed";
}
#endif

// Newton with 2x2 blocks against Newton with KLU's partial pivoting: the same iterates up to
// rounding, so the same iteration counts and voltages to 1e-10, with and without Q limits.
TEST(BlockLuNewton, AgreesWithKluIterationForIteration) {
    GRIDBATCH_REQUIRE_SHARED();
#ifndef GRIDBATCH_HAVE_AMD
    GTEST_SKIP() << "built without SuiteSparse AMD: Newton has no block LU here";
#else
    for (const std::string name : {"case2383wp", "case9241pegase"}) {
        const Network net = read_matpower(test::case_path(name));
        const Index ns = 4;
        Matrix pd(net.n_bus(), ns), qd(net.n_bus(), ns), pg(net.n_gen(), ns);
        for (Index s = 0; s < ns; ++s) {
            const Real scale = 0.9 + 0.04 * static_cast<Real>(s);
            pd.col(s) = net.buses().pd * scale;
            qd.col(s) = net.buses().qd * scale;
            pg.col(s) = net.generators().pg * scale;
        }
        AcBatch batch(pd, qd);
        batch.pg.emplace(pg);
        // Q limits on and off; and a slack distributed by Pmax (a rank-one correction of the
        // block matrix, ac_engine_cpu.cpp; not combined with Q limits, which AcOptions refuses).
        for (const auto& [qlim, distributed] :
             {std::pair{false, false}, {true, false}, {false, true}}) {
            AcOptions o;
            o.backend = Backend::cpu;
            o.enforce_q_limits = qlim;
            if (distributed) o.slack = SlackMode::distributed;  // by Pmax
            const std::string what =
                name + (qlim ? ", Q limits" : "") + (distributed ? ", distributed slack" : "");
            const AcPowerFlowResult blocks = AcPowerFlow(net, o).solve(batch);
            const AcPowerFlowResult klu = [&] {
                const test::ScopedEnv env("GRIDBATCH_AC_LU", "klu");
                return AcPowerFlow(net, o).solve(batch);
            }();
            ASSERT_TRUE(klu.report.all_converged()) << what;
            EXPECT_EQ(blocks.report.status, klu.report.status) << what;
            EXPECT_EQ(blocks.report.iterations, klu.report.iterations) << what;
            EXPECT_LT((blocks.vm - klu.vm).cwiseAbs().maxCoeff(), 1e-10) << what;
            EXPECT_LT((blocks.va - klu.va).cwiseAbs().maxCoeff(), 1e-8) << what;  // degrees
            EXPECT_LT((blocks.slack_mw - klu.slack_mw).cwiseAbs().maxCoeff(), 1e-6) << what;
            // Rounding differs between the two LUs: equal bits would mean KLU ran both times.
            EXPECT_FALSE(blocks.vm == klu.vm) << what << ": the block LU did not run";
        }
    }
#endif
}

// case9 with a bus 10 between bus 4 (a line, x = 0.125) and bus 5 (a series capacitor,
// x = -0.125): the susceptances cancel exactly, and at the flat start bus 10's own 2x2 block is
// zero, a pivot no static order can take before its neighbours. AMD takes it there: it is listed
// first, and first among the buses of least degree. The Jacobian itself is regular (bus 10's
// angle enters buses 4's and 5's balances), and KLU's partial pivoting factorises it. The scenario
// must go on with KLU from its first factorisation: the same iterates, bit for bit, as Newton with
// KLU throughout.
TEST(BlockLuNewton, AScenarioWhoseBlockPivotFailsGoesOnWithKlu) {
    GRIDBATCH_REQUIRE_SHARED();
#ifndef GRIDBATCH_HAVE_AMD
    GTEST_SKIP() << "built without SuiteSparse AMD: Newton has no block LU here";
#else
    std::ifstream in(test::case_path("case9"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string last_bus = "9\t1\t125\t50\t0\t0\t1\t1\t0\t345\t1\t1.1\t0.9;\n";
    const std::string last_branch =
        "9\t4\t0.01\t0.085\t0.176\t250\t250\t250\t0\t0\t1\t-360\t360;\n";
    ASSERT_NE(text.find(last_bus), std::string::npos);
    ASSERT_NE(text.find(last_branch), std::string::npos);
    const std::string bus_table = "mpc.bus = [\n";
    ASSERT_NE(text.find(bus_table), std::string::npos);
    text.insert(text.find(bus_table) + bus_table.size(),
                "\t10\t1\t0\t0\t0\t0\t1\t1\t0\t345\t1\t1.1\t0.9;\n");
    text.insert(text.find(last_branch) + last_branch.size(),
                "\t4\t10\t0\t0.125\t0\t250\t250\t250\t0\t0\t1\t-360\t360;\n"
                "\t10\t5\t0\t-0.125\t0\t250\t250\t250\t0\t0\t1\t-360\t360;\n");
    const Network net = parse_matpower(text, "case9_series_capacitor.m");
    AcOptions o;
    o.backend = Backend::cpu;
    o.start = StartMode::flat;
    const AcPowerFlowResult blocks = AcPowerFlow(net, o).solve();
    const AcPowerFlowResult klu = [&] {
        const test::ScopedEnv env("GRIDBATCH_AC_LU", "klu");
        return AcPowerFlow(net, o).solve();
    }();
    ASSERT_EQ(klu.report.at(0), Status::converged);
    EXPECT_EQ(blocks.report.at(0), Status::converged);
    EXPECT_EQ(blocks.report.iterations, klu.report.iterations);
    EXPECT_TRUE(blocks.vm == klu.vm && blocks.va == klu.va)
        << "not KLU's iterates: did the block LU take bus 10's pivot (AMD ordered it later)?";
#endif
}

TEST(BlockLuNewton, UnknownLuNameIsAnErrorNamingTheChoices) {
    const test::ScopedEnv env("GRIDBATCH_AC_LU", "superlu");
    const Network net = parse_matpower(test::three_bus_case_text(), "three_bus.m");
    test::expect_error([&] { AcPowerFlow(net, AcOptions{}); },
                       {"GRIDBATCH_AC_LU", "superlu", "eigen"});
}

}  // namespace
}  // namespace gridbatch
