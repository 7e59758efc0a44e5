// The CUDA AC engine's per-scenario steps (kernels/newton_steps.hpp: mismatch and Jacobian
// assembly, convergence check, factorisation on the shared LU schedule, update), run on the host
// over a batch in the device's scenario-fastest layout, as the kernels run them; compared with
// MATPOWER's solutions and with the CPU engine.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include "ac_engine_cuda.hpp"
#include "core/bridges.hpp"
#include "core/fast_decoupled_b.hpp"
#include "cuda/require_device.hpp"
#include "gridbatch/admittance.hpp"
#include "gridbatch/matpower.hpp"
#include "support/cases.hpp"

namespace gridbatch::detail::cuda {
namespace {

CsrMatrix to_csr(const ComplexSparseMatrix& m) {
    CsrMatrix out;
    out.rows = static_cast<int>(m.rows());
    out.cols = static_cast<int>(m.cols());
    out.row_ptr.assign(m.outerIndexPtr(), m.outerIndexPtr() + m.rows() + 1);
    out.col.assign(m.innerIndexPtr(), m.innerIndexPtr() + m.nonZeros());
    for (Index p = 0; p < m.nonZeros(); ++p) {
        out.re.push_back(m.valuePtr()[p].real());
        out.im.push_back(m.valuePtr()[p].imag());
    }
    return out;
}

// MATPOWER's bustypes: PV/REF buses without an active generator are PQ.
std::vector<std::int8_t> bus_types(const Network& net) {
    std::vector<int> gens(static_cast<std::size_t>(net.n_bus()), 0);
    for (Index g = 0; g < net.n_gen(); ++g)
        if (net.gen_active(g)) ++gens[net.gen_bus()[g]];
    std::vector<std::int8_t> t(static_cast<std::size_t>(net.n_bus()));
    for (Index i = 0; i < net.n_bus(); ++i) {
        t[i] = net.buses().type[i];
        if ((t[i] == 2 || t[i] == 3) && gens[i] == 0) t[i] = 1;
    }
    return t;
}

struct Problem {
    std::shared_ptr<PreparedAcNetwork> net = std::make_shared<PreparedAcNetwork>();
    std::vector<std::int8_t> types;
    Matrix p, q, vm0, va0;
};

// Scenario k scales every load by scale[k]; the start is the case's voltages with the
// generator setpoints applied, as runpf starts.
Problem make_problem(const Network& net, const std::vector<double>& scale) {
    Problem pr;
    PreparedAcNetwork& p = *pr.net;
    p.n_bus = static_cast<int>(net.n_bus());
    p.n_gen = static_cast<int>(net.n_gen());
    p.n_branch = static_cast<int>(net.n_branch());
    p.base_mva = net.base_mva();
    const Admittance adm = make_admittance(net);
    p.ybus = to_csr(adm.ybus);
    p.yf = to_csr(adm.yf);
    p.yt = to_csr(adm.yt);
    p.branch_from.assign(net.branch_from().data(), net.branch_from().data() + net.n_branch());
    p.branch_to.assign(net.branch_to().data(), net.branch_to().data() + net.n_branch());
    pr.types = bus_types(net);
    for (int i = 0; i < p.n_bus; ++i) {
        if (pr.types[i] == 3) p.ref.push_back(i);
        if (pr.types[i] == 2) p.pv.push_back(i);
        if (pr.types[i] == 1) p.pq.push_back(i);
    }
    const ComplexVector sbus = bus_injections(net);
    const auto S = static_cast<Index>(scale.size());
    const Index nb = net.n_bus();
    pr.p.resize(nb, S);
    pr.q.resize(nb, S);
    ComplexVector v0(nb);
    for (Index i = 0; i < nb; ++i)
        v0[i] = std::polar(net.buses().vm[i], net.buses().va[i] * M_PI / 180.0);
    for (Index g = 0; g < net.n_gen(); ++g) {
        const Index b = net.gen_bus()[g];
        if (net.gen_active(g) && pr.types[b] != 1)
            v0[b] = net.generators().vg[g] / std::abs(v0[b]) * v0[b];
    }
    pr.vm0 = v0.cwiseAbs().replicate(1, S);
    pr.va0 = v0.unaryExpr([](Complex c) { return std::arg(c); }).real().replicate(1, S);
    for (Index s = 0; s < S; ++s) {
        pr.p.col(s) = sbus.real() + (1.0 - scale[s]) * net.buses().pd / net.base_mva();
        pr.q.col(s) = sbus.imag() + (1.0 - scale[s]) * net.buses().qd / net.base_mva();
    }
    return pr;
}

struct HostResult {
    Matrix vm, va;
    std::vector<int> status, iterations;
    std::vector<double> mismatch, lambda;
};

// A problem's batch in the device's layout (scenario fastest: bus i of scenario s at i S + s),
// on the host, with the statuses and counters the steps keep.
struct HostBatch {
    int nb, S;
    std::vector<double> vm, va, ps, qs, mismatch;
    std::vector<int> status, iterations;
    explicit HostBatch(const Problem& pr)
        : nb(pr.net->n_bus),
          S(static_cast<int>(pr.p.cols())),
          vm(fastest(pr.vm0)),
          va(fastest(pr.va0)),
          ps(fastest(pr.p)),
          qs(fastest(pr.q)),
          mismatch(S, 0.0),
          status(S, ac::kRunning),
          iterations(S, 0) {
        // The engine's first step after the upload, for both methods.
        for (std::size_t t = 0; t < vm.size(); ++t) ac::normalise_polar(&vm[t], &va[t]);
    }
    // The state over these arrays; the method's own buffers are the caller's to set.
    ac::BatchState state() {
        ac::BatchState st;
        st.stride = S;
        st.vm = vm.data();
        st.va = va.data();
        st.p_spec = ps.data();
        st.q_spec = qs.data();
        st.status = status.data();
        st.iterations = iterations.data();
        st.max_mismatch = mismatch.data();
        return st;
    }

private:
    std::vector<double> fastest(const Matrix& m) const {
        std::vector<double> v(static_cast<std::size_t>(nb) * S);
        for (int s = 0; s < S; ++s)
            for (int i = 0; i < nb; ++i) v[static_cast<std::size_t>(i) * S + s] = m(i, s);
        return v;
    }
};

// solve_chunk of the CUDA engine with each kernel replaced by a loop over its threads; with the
// chunk's branch outages where given.
HostResult run_host(const Problem& pr, const NewtonLayout& layout,
                    const ChunkOutages* outages = nullptr) {
    const PreparedAcNetwork& net = *pr.net;
    HostBatch h(pr);
    const int nb = h.nb, S = h.S;
    std::vector<double>&vm = h.vm, &va = h.va;
    std::vector<int>&status = h.status, &iterations = h.iterations;
    std::vector<double> lu(static_cast<std::size_t>(layout.lu.nnz()) * S, NAN);
    std::vector<double> x(static_cast<std::size_t>(layout.n) * S), norm(S, 0.0);
    ac::BatchState st = h.state();
    st.lu = lu.data();
    st.x = x.data();
    st.norm = norm.data();
    std::vector<double> lambda(S, 0.0);
    if (!net.slack_participation.empty()) {
        st.lambda = lambda.data();
        st.participation = net.slack_participation.data();
    }
    if (outages != nullptr) {
        st.cut = outages->cut.empty() ? nullptr : outages->cut.data();
        st.dead = outages->dead.empty() ? nullptr : outages->dead.data();
    }
    const ac::YbusView y{nb, net.ybus.row_ptr.data(), net.ybus.col.data(), net.ybus.re.data(),
                         net.ybus.im.data()};
    const ac::JacobianMap map{layout.pos_pa.data(),    layout.pos_pm.data(), layout.pos_qa.data(),
                              layout.pos_qm.data(),    layout.p_row.data(),  layout.q_row.data(),
                              layout.pos_lambda.data()};
    ac::Schedule sch;
    sch.lu = layout.lu.host_view();
    sch.fill = layout.lu.fill_positions().data();
    sch.n_fill = static_cast<int>(layout.lu.fill_positions().size());
    sch.unknown_bus = layout.unknown_bus.data();
    sch.unknown_kind = layout.unknown_kind.data();
    sch.pvpq = layout.pvpq.data();
    sch.n_pvpq = layout.n_pvpq;

    std::vector<int> active(S);
    for (int s = 0; s < S; ++s) active[s] = s;
    while (!active.empty()) {
        for (const int s : active)
            for (int i = 0; i < nb; ++i) {  // the device's atomic max keeps NaN
                const double b = ac::assemble_bus(y, map, st, s, i);
                norm[s] =
                    std::isnan(norm[s]) || std::isnan(b) ? NAN : std::max(norm[s], std::fabs(b));
            }
        std::vector<int> next;
        for (const int s : active)
            if (ac::check_scenario(st, s, net.tolerance, net.max_iterations)) next.push_back(s);
        active = next;
        for (const int s : active) ac::factor_solve_update_scenario(sch, st, s);
    }
    HostResult r{Matrix(nb, S), Matrix(nb, S), status, iterations, h.mismatch, lambda};
    for (int s = 0; s < S; ++s)
        for (int i = 0; i < nb; ++i) {
            r.vm(i, s) = vm[static_cast<std::size_t>(i) * S + s];
            r.va(i, s) = va[static_cast<std::size_t>(i) * S + s];
        }
    return r;
}

// The library's B' and B'' for XB or BX, with fdpf's iteration limit.
void make_b(const Network& net, bool xb, PreparedAcNetwork& p) {
    make_fast_decoupled_b(net, xb ? AcAlgorithm::fast_decoupled_xb : AcAlgorithm::fast_decoupled_bx,
                          p);
    p.method = AcMethod::fast_decoupled;
    p.max_iterations = 30;
}

// iterate_fd of the CUDA engine with each kernel replaced by a loop over its threads.
HostResult run_host_fd(const Problem& pr, const FdLayout& layout) {
    const PreparedAcNetwork& net = *pr.net;
    HostBatch h(pr);
    const int nb = h.nb, S = h.S;
    std::vector<double>&vm = h.vm, &va = h.va;
    std::vector<int>& status = h.status;
    const FactoredMatrix &bp = layout.b_prime, &bpp = layout.b_double_prime;
    std::vector<double> xp(static_cast<std::size_t>(bp.lu.n()) * S),
        xq(static_cast<std::size_t>(bpp.lu.n()) * S), np(S, 0.0), nq(S, 0.0);
    const ac::BatchState st = h.state();
    const ac::FdState fd{xp.data(), xq.data(), np.data(), nq.data()};
    const ac::FdMap map{bp.row_of_bus.data(), bpp.row_of_bus.data()};
    const ac::YbusView y{nb, net.ybus.row_ptr.data(), net.ybus.col.data(), net.ybus.re.data(),
                         net.ybus.im.data()};
    const auto keep_nan_max = [](double& n, double x) {
        n = std::isnan(n) || std::isnan(x) ? NAN : std::max(n, x);
    };
    const auto mismatch_all = [&](const std::vector<int>& active) {
        for (const int s : active) {
            if (status[s] != ac::kRunning) continue;
            for (int i = 0; i < nb; ++i) {
                double a, b;
                ac::fd_mismatch_bus(y, map, st, fd, s, i, &a, &b);
                keep_nan_max(np[s], a);
                keep_nan_max(nq[s], b);
            }
        }
    };
    std::vector<int> active(S);
    for (int s = 0; s < S; ++s) active[s] = s;
    mismatch_all(active);
    for (const int s : active) ac::fd_check_converged(st, fd, s, net.tolerance, !bp.ok || !bpp.ok);
    while (!active.empty()) {
        std::vector<int> next;
        for (const int s : active)
            if (ac::fd_check_continue(st, s, net.max_iterations)) next.push_back(s);
        active = next;
        for (const int s : active)
            ac::fd_half_step(bp.lu.host_view(), bp.factor.data(), bp.unknown_bus.data(), xp.data(),
                             va.data(), st, s, true);
        mismatch_all(active);
        for (const int s : active) ac::fd_check_converged(st, fd, s, net.tolerance, false);
        if (bpp.lu.n() == 0) continue;
        for (const int s : active)
            ac::fd_half_step(bpp.lu.host_view(), bpp.factor.data(), bpp.unknown_bus.data(),
                             xq.data(), vm.data(), st, s, false);
        mismatch_all(active);
        for (const int s : active) ac::fd_check_converged(st, fd, s, net.tolerance, false);
    }
    HostResult r{Matrix(nb, S), Matrix(nb, S), status, h.iterations, h.mismatch, {}};
    for (int s = 0; s < S; ++s)
        for (int i = 0; i < nb; ++i) {
            const Complex v = std::polar(1.0, va[static_cast<std::size_t>(i) * S + s]) *
                              vm[static_cast<std::size_t>(i) * S + s];
            r.vm(i, s) = std::abs(v);
            r.va(i, s) = std::arg(v);
        }
    return r;
}

// An engine's solve of the problem (bus classes: the case's, or one column per scenario).
AcEngineOutput solve_with(
    AcEngine& engine, const Problem& pr,
    const Eigen::Matrix<std::int8_t, Eigen::Dynamic, Eigen::Dynamic>* types = nullptr) {
    const Index nb = pr.net->n_bus, S = pr.p.cols();
    AcEngineOutput out;
    out.vm.resize(nb, S);
    out.va.resize(nb, S);
    out.slack.resize(S);
    out.report = ScenarioReport(S);
    engine.solve(AcEngineBatch{pr.p, pr.q, pr.vm0, pr.va0, types}, out);
    return out;
}

int matpower_iterations(const std::string& name, const std::string& wanted) {
    std::ifstream in(test::shared_dir() + "/refs/matpower/summary.csv");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream row(line);
        std::string c, variant, cell;
        std::getline(row, c, ',');
        std::getline(row, variant, ',');
        if (c != name || variant != wanted) continue;
        for (int k = 0; k < 5; ++k) std::getline(row, cell, ',');
        return std::stoi(cell);
    }
    return -1;
}

class NewtonSteps : public ::testing::TestWithParam<std::string> {};

TEST_P(NewtonSteps, MatchMatpowerAndTheCpuEngine) {
    GRIDBATCH_REQUIRE_SHARED();
    const std::string name = GetParam();
    const Network net = read_matpower(test::case_path(name));
    // Scenario 1 is the case itself; scenario 3 is far past the nose of the PV curve.
    const Problem pr = make_problem(net, {0.9, 1.0, 1.1, 5.0});
    const NewtonLayout layout(*pr.net, pr.types);
    const HostResult host = run_host(pr, layout);

    const ComplexVector ref = test::ref_voltages(name, "nr");
    for (Index i = 0; i < net.n_bus(); ++i) {
        EXPECT_NEAR(host.vm(i, 1), std::abs(ref[i]), 1e-6) << name << " bus row " << i;
        EXPECT_NEAR(host.va(i, 1), std::arg(ref[i]), 1e-5 * M_PI / 180.0)
            << name << " bus row " << i;
    }
    EXPECT_EQ(host.status[1], ac::kConverged);
    EXPECT_EQ(host.iterations[1], matpower_iterations(name, "nr"));
    EXPECT_NE(host.status[3], ac::kConverged) << "5x load must not converge";

    const Index S = pr.p.cols();
    const AcEngineOutput out = solve_with(*cpu::make_ac_engine(pr.net), pr);
    for (Index s = 0; s < S; ++s) {
        // A diverging iterate is chaotic: rounding decides between NaN and the iteration limit.
        EXPECT_EQ(host.status[s] == ac::kConverged, out.report.at(s) == Status::converged)
            << "scenario " << s;
        if (out.report.at(s) != Status::converged) continue;
        EXPECT_EQ(host.iterations[s], out.report.iterations[s]) << "scenario " << s;
        EXPECT_LT((host.vm.col(s) - out.vm.col(s)).cwiseAbs().maxCoeff(), 1e-9) << "scenario " << s;
        EXPECT_LT((host.va.col(s) - out.va.col(s)).cwiseAbs().maxCoeff(), 1e-9) << "scenario " << s;
    }
}

// Every case with a reference: the shared schedule pivots statically (no row exchanges), which
// must hold on each real Jacobian.
INSTANTIATE_TEST_SUITE_P(Cases, NewtonSteps,
                         ::testing::Values("case9", "case14", "case30", "case39", "case57",
                                           "case118", "case300", "case1354pegase",
                                           "case_ACTIVSg2000", "case2383wp", "case2869pegase",
                                           "case9241pegase", "case_ACTIVSg10k", "case13659pegase"));

// Starts written in ways the solution must not show: every angle 2 pi higher (scenario 0), every
// angle 200 degrees higher (1: the reference bus, never updated, starts outside (-pi, pi]), a
// magnitude negated with its angle turned by pi (2). Newton and fast-decoupled report Vm = |V| and
// Va in (-pi, pi] at every bus, the reference bus included, with the CPU engine's iterations.
TEST(NewtonSteps, StartVoltagesAreNormalisedAsOnTheCpu) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case9"));
    for (const bool newton : {true, false}) {
        SCOPED_TRACE(newton ? "Newton" : "fast-decoupled XB");
        Problem pr = make_problem(net, {1.0, 1.0, 1.0});
        if (!newton) make_b(net, true, *pr.net);
        pr.va0.col(0).array() += 2 * M_PI;
        const int ref = pr.net->ref.front(), pq = pr.net->pq.front();
        pr.va0.col(1).array() += 200 * M_PI / 180;
        pr.vm0(pq, 2) = -pr.vm0(pq, 2);
        pr.va0(pq, 2) += M_PI;
        std::vector<int> pvpq, pq_buses;
        bus_classes(pr.types, pvpq, pq_buses);
        const HostResult host = newton ? run_host(pr, NewtonLayout(*pr.net, pr.types))
                                       : run_host_fd(pr, FdLayout(*pr.net, pvpq, pq_buses));

        const Index S = pr.p.cols();
        const AcEngineOutput out = solve_with(*cpu::make_ac_engine(pr.net), pr);
        for (Index s = 0; s < S; ++s) {
            ASSERT_EQ(host.status[s], ac::kConverged) << "scenario " << s;
            ASSERT_EQ(out.report.at(s), Status::converged) << "scenario " << s;
            EXPECT_EQ(host.iterations[s], out.report.iterations[s]) << "scenario " << s;
            EXPECT_LT((host.vm.col(s) - out.vm.col(s)).cwiseAbs().maxCoeff(), 1e-9)
                << "scenario " << s;
            EXPECT_LT((host.va.col(s) - out.va.col(s)).cwiseAbs().maxCoeff(), 1e-9)
                << "scenario " << s;
            EXPECT_GT(host.vm.col(s).minCoeff(), 0) << "scenario " << s;
            EXPECT_LE(host.va.col(s).cwiseAbs().maxCoeff(), M_PI) << "scenario " << s;
        }
        EXPECT_NEAR(host.va(ref, 1), std::remainder(pr.va0(ref, 1), 2 * M_PI), 1e-12);
        EXPECT_GT(pr.va0(ref, 1), M_PI);
    }
}

// The distributed slack: generators share the imbalance in proportion to Pmax.
// With and without a share at the reference bus: without one, the slack unknown's pivot comes
// from fill-in only (the schedule eliminates it last).
TEST(NewtonSteps, DistributedSlackMatchesTheCpuEngine) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    for (const bool reference_shares : {true, false}) {
        SCOPED_TRACE(reference_shares ? "reference bus shares" : "reference bus does not share");
        Problem pr = make_problem(net, {0.8, 1.0, 1.2});
        std::vector<Real>& a = pr.net->slack_participation;
        a.assign(static_cast<std::size_t>(net.n_bus()), 0.0);
        const Index ref = pr.net->ref.front();
        for (Index g = 0; g < net.n_gen(); ++g)
            if (net.gen_active(g) && (reference_shares || net.gen_bus()[g] != ref))
                a[net.gen_bus()[g]] += net.generators().pmax[g];
        const Real total = std::accumulate(a.begin(), a.end(), 0.0);
        for (Real& x : a) x /= total;
        ASSERT_EQ(a[ref] > 0, reference_shares);
        const NewtonLayout layout(*pr.net, pr.types);
        EXPECT_GE(layout.col_lambda, 0);
        const HostResult host = run_host(pr, layout);

        const Index S = pr.p.cols();
        const AcEngineOutput out = solve_with(*cpu::make_ac_engine(pr.net), pr);
        for (Index s = 0; s < S; ++s) {
            ASSERT_EQ(out.report.at(s), Status::converged);
            EXPECT_EQ(host.status[s], ac::kConverged);
            EXPECT_EQ(host.iterations[s], out.report.iterations[s]) << "scenario " << s;
            EXPECT_NEAR(host.lambda[s], out.slack[s], 1e-9) << "scenario " << s;
            EXPECT_LT((host.vm.col(s) - out.vm.col(s)).cwiseAbs().maxCoeff(), 1e-9);
            EXPECT_LT((host.va.col(s) - out.va.col(s)).cwiseAbs().maxCoeff(), 1e-9);
        }
        // Lighter load needs less generation: the slacks are ordered like the scalings.
        EXPECT_LT(host.lambda[0], host.lambda[1]);
        EXPECT_LT(host.lambda[1], host.lambda[2]);
    }
}

// Fast-decoupled with every PQ bus made PV: no B'' rows, so each iteration is a P half only.
TEST(FastDecoupledSteps, WithoutPqBusesMatchTheCpuEngine) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case9"));
    Problem pr = make_problem(net, {0.9, 1.0});
    make_b(net, true, *pr.net);
    for (auto& t : pr.types)
        if (t == 1) t = 2;  // PQ -> PV, MATPOWER's type codes as in bus_types()
    std::vector<int> pvpq, pq;
    bus_classes(pr.types, pvpq, pq);
    ASSERT_TRUE(pq.empty());
    const HostResult host = run_host_fd(pr, FdLayout(*pr.net, pvpq, pq));
    const Index S = pr.p.cols();
    Eigen::Matrix<std::int8_t, Eigen::Dynamic, Eigen::Dynamic> types(pr.net->n_bus, S);
    for (Index s = 0; s < S; ++s)
        for (int i = 0; i < pr.net->n_bus; ++i) types(i, s) = pr.types[static_cast<std::size_t>(i)];
    const AcEngineOutput out = solve_with(*cpu::make_ac_engine(pr.net), pr, &types);
    for (Index s = 0; s < S; ++s) {
        EXPECT_EQ(out.report.at(s), Status::converged) << "scenario " << s;
        EXPECT_EQ(host.status[s], static_cast<int>(out.report.status[s])) << "scenario " << s;
        EXPECT_EQ(host.iterations[s], out.report.iterations[s]) << "scenario " << s;
        EXPECT_NEAR(host.mismatch[s], out.report.max_mismatch[s], 1e-12) << "scenario " << s;
        EXPECT_LT((host.va.col(s) - out.va.col(s)).cwiseAbs().maxCoeff(), 1e-9);
    }
}

TEST(CudaAcEngine, DistributedSlackMatchesTheHostSteps) {
    GRIDBATCH_REQUIRE_SHARED();
    GRIDBATCH_REQUIRE_DEVICE();
    const Network net = read_matpower(test::case_path("case118"));
    Problem pr = make_problem(net, {0.8, 0.9, 1.0, 1.1, 1.2});
    std::vector<Real>& a = pr.net->slack_participation;
    a.assign(static_cast<std::size_t>(net.n_bus()), 0.0);
    for (Index g = 0; g < net.n_gen(); ++g)
        if (net.gen_active(g)) a[net.gen_bus()[g]] += net.generators().pmax[g];
    const Real total = std::accumulate(a.begin(), a.end(), 0.0);
    for (Real& x : a) x /= total;
    const HostResult host = run_host(pr, NewtonLayout(*pr.net, pr.types));
    const Index S = pr.p.cols();
    CudaAcEngine cuda_engine(pr.net, 0);
    const AcEngineOutput out = solve_with(cuda_engine, pr);
    for (Index s = 0; s < S; ++s) {
        ASSERT_EQ(out.report.at(s), Status::converged) << "scenario " << s;
        EXPECT_EQ(host.iterations[s], out.report.iterations[s]) << "scenario " << s;
        EXPECT_NEAR(host.lambda[s], out.slack[s], 1e-10) << "scenario " << s;
        EXPECT_LT((host.vm.col(s) - out.vm.col(s)).cwiseAbs().maxCoeff(), 1e-10);
    }
}

class FastDecoupledSteps : public ::testing::TestWithParam<std::string> {};

// XB and BX on the host-run device steps against the CPU engine (which is checked against
// MATPOWER's fdxb in the backend tests), and XB's iteration count against MATPOWER's.
TEST_P(FastDecoupledSteps, MatchTheCpuEngine) {
    GRIDBATCH_REQUIRE_SHARED();
    const std::string name = GetParam();
    const Network net = read_matpower(test::case_path(name));
    for (const bool xb : {true, false}) {
        Problem pr = make_problem(net, {0.9, 1.0, 1.1, 5.0});
        make_b(net, xb, *pr.net);
        std::vector<int> pvpq, pq;
        bus_classes(pr.types, pvpq, pq);
        const HostResult host = run_host_fd(pr, FdLayout(*pr.net, pvpq, pq));
        const ComplexVector ref = test::ref_voltages(name, "nr");
        EXPECT_EQ(host.status[1], ac::kConverged) << (xb ? "XB" : "BX");
        for (Index i = 0; i < net.n_bus(); ++i)
            EXPECT_NEAR(host.vm(i, 1), std::abs(ref[i]), 1e-6) << name << " bus row " << i;
        if (xb) {
            EXPECT_EQ(host.iterations[1], matpower_iterations(name, "fdxb"));
        }
        EXPECT_NE(host.status[3], ac::kConverged);

        const Index S = pr.p.cols();
        const AcEngineOutput out = solve_with(*cpu::make_ac_engine(pr.net), pr);
        for (Index s = 0; s < S; ++s) {
            EXPECT_EQ(host.status[s] == ac::kConverged, out.report.at(s) == Status::converged)
                << "scenario " << s;
            if (out.report.at(s) != Status::converged) continue;
            EXPECT_EQ(host.iterations[s], out.report.iterations[s]) << "scenario " << s;
            EXPECT_LT((host.vm.col(s) - out.vm.col(s)).cwiseAbs().maxCoeff(), 1e-9);
            EXPECT_LT((host.va.col(s) - out.va.col(s)).cwiseAbs().maxCoeff(), 1e-9);
        }
    }
}

// Every case with a reference but case_ACTIVSg10k, where MATPOWER's XB does not converge either
// (the backend tests check that the CPU engine reports it).
INSTANTIATE_TEST_SUITE_P(Cases, FastDecoupledSteps,
                         ::testing::Values("case9", "case14", "case30", "case39", "case57",
                                           "case118", "case300", "case1354pegase",
                                           "case_ACTIVSg2000", "case2383wp", "case2869pegase",
                                           "case9241pegase", "case13659pegase"));

// The device engine against the same steps run on the host: kernels, compaction, chunk
// plumbing and the grouping of scenarios by bus classes (non-contiguous columns).
TEST(CudaAcEngine, MatchesTheHostStepsOnMixedBusClasses) {
    GRIDBATCH_REQUIRE_SHARED();
    GRIDBATCH_REQUIRE_DEVICE();
    const Network net = read_matpower(test::case_path("case118"));
    std::vector<double> scale;
    for (int s = 0; s < 40; ++s) scale.push_back(s == 17 ? 5.0 : 0.7 + 0.015 * s);
    const Problem pr = make_problem(net, scale);
    const Index S = pr.p.cols(), nb = net.n_bus();
    // Odd scenarios see the first PV bus as PQ (as a Q-limit round would leave it).
    std::vector<std::int8_t> switched = pr.types;
    switched[pr.net->pv.front()] = 1;
    Eigen::Matrix<std::int8_t, Eigen::Dynamic, Eigen::Dynamic> types(nb, S);
    for (Index s = 0; s < S; ++s)
        for (Index i = 0; i < nb; ++i) types(i, s) = (s % 2 ? switched : pr.types)[i];

    CudaAcEngine engine(pr.net, 0);
    const AcEngineOutput out = solve_with(engine, pr, &types);

    for (const int parity : {0, 1}) {
        Problem sub = pr;
        std::vector<Index> cols;
        for (Index s = parity; s < S; s += 2) cols.push_back(s);
        const auto pick = [&](const Matrix& m) {
            Matrix r(nb, static_cast<Index>(cols.size()));
            for (std::size_t k = 0; k < cols.size(); ++k) r.col(k) = m.col(cols[k]);
            return r;
        };
        sub.p = pick(pr.p);
        sub.q = pick(pr.q);
        sub.vm0 = pick(pr.vm0);
        sub.va0 = pick(pr.va0);
        sub.types = parity ? switched : pr.types;
        const HostResult host = run_host(sub, NewtonLayout(*pr.net, sub.types));
        for (std::size_t k = 0; k < cols.size(); ++k) {
            const Index s = cols[k];
            EXPECT_EQ(host.status[k] == ac::kConverged, out.report.at(s) == Status::converged)
                << "scenario " << s;
            if (out.report.at(s) != Status::converged) continue;
            EXPECT_EQ(host.iterations[k], out.report.iterations[s]) << "scenario " << s;
            EXPECT_LT((host.vm.col(k) - out.vm.col(s)).cwiseAbs().maxCoeff(), 1e-10);
            EXPECT_LT((host.va.col(k) - out.va.col(s)).cwiseAbs().maxCoeff(), 1e-10);
        }
    }
    EXPECT_NE(out.report.at(17), Status::converged);
    EXPECT_EQ(out.report.n_converged(), S - 1);
}

TEST(CudaAcEngine, FastDecoupledMatchesTheHostSteps) {
    GRIDBATCH_REQUIRE_SHARED();
    GRIDBATCH_REQUIRE_DEVICE();
    const Network net = read_matpower(test::case_path("case118"));
    std::vector<double> scale;
    for (int s = 0; s < 40; ++s) scale.push_back(s == 5 ? 5.0 : 0.7 + 0.015 * s);
    Problem pr = make_problem(net, scale);
    make_b(net, true, *pr.net);
    std::vector<int> pvpq, pq;
    bus_classes(pr.types, pvpq, pq);
    const HostResult host = run_host_fd(pr, FdLayout(*pr.net, pvpq, pq));
    const Index S = pr.p.cols();
    CudaAcEngine cuda_engine(pr.net, 0);
    const AcEngineOutput out = solve_with(cuda_engine, pr);
    for (Index s = 0; s < S; ++s) {
        EXPECT_EQ(host.status[s] == ac::kConverged, out.report.at(s) == Status::converged)
            << "scenario " << s;
        if (out.report.at(s) != Status::converged) continue;
        EXPECT_EQ(host.iterations[s], out.report.iterations[s]) << "scenario " << s;
        EXPECT_LT((host.vm.col(s) - out.vm.col(s)).cwiseAbs().maxCoeff(), 1e-10);
        EXPECT_LT((host.va.col(s) - out.va.col(s)).cwiseAbs().maxCoeff(), 1e-10);
    }
    EXPECT_EQ(out.report.n_converged(), S - 1);
}

// A batch of branch outages of a case: scenario j takes branch outages[j] out (-1: none), with
// the buses it cuts off from the reference bus; the case's loads scaled by `scale`.
struct OutageBatch {
    Problem pr;
    std::vector<int> outage;
    std::vector<std::vector<int>> cut_off;
    std::vector<const std::vector<int>*> cut_off_of;
    OutageBatch(const Network& net, const std::vector<int>& outages, double scale)
        : pr(make_problem(net, std::vector<double>(outages.size(), scale))), outage(outages) {
        std::vector<char> reference(static_cast<std::size_t>(net.n_bus()), 0);
        for (const int r : pr.net->ref) reference[static_cast<std::size_t>(r)] = 1;
        const detail::BranchGraph graph(net);
        for (const int k : outage)
            cut_off.push_back(k < 0 ? std::vector<int>{} : graph.cut_off(k, reference));
        for (const auto& c : cut_off) cut_off_of.push_back(c.empty() ? nullptr : &c);
    }
    AcEngineBatch batch() const {
        return {pr.p, pr.q, pr.vm0, pr.va0, nullptr, outage.data(), cut_off_of.data()};
    }
    int cutting() const {
        return static_cast<int>(std::count_if(cut_off.begin(), cut_off.end(),
                                              [](const auto& c) { return !c.empty(); }));
    }
};

std::vector<int> in_service_branches(const Network& net, int every) {
    std::vector<int> k;
    for (Index b = 0; b < net.n_branch(); b += every)
        if (net.branch_active(b)) k.push_back(static_cast<int>(b));
    return k;
}

// Branch outages on the host-run device steps (ac::BranchCut taken out of Ybus in the kernels'
// code, de-energised buses as identity rows) against the CPU engine, which the backend suite
// checks against the case rebuilt without the branch. Every in-service branch of case118 (nine
// cut buses off) at two load levels, every 16th of case2383wp's (a fifth cut buses off), each batch
// with scenarios without an outage among them. Same statuses, iterations and voltages.
class NewtonOutages : public ::testing::TestWithParam<std::string> {};

TEST_P(NewtonOutages, MatchTheCpuEngine) {
    GRIDBATCH_REQUIRE_SHARED();
    const std::string name = GetParam();
    const Network net = read_matpower(test::case_path(name));
    const bool small = name == "case118";
    std::vector<int> outages = in_service_branches(net, small ? 1 : 16);
    for (std::size_t j = 0; j < outages.size(); j += 37) outages.insert(outages.begin() + j, -1);
    for (const double scale : small ? std::vector<double>{1.0, 1.1} : std::vector<double>{1.0}) {
        SCOPED_TRACE(name + " loads x " + std::to_string(scale));
        const OutageBatch ob(net, outages, scale);
        ASSERT_GT(ob.cutting(), small ? 8 : 25);
        const Index S = ob.pr.p.cols();
        std::vector<Index> columns(static_cast<std::size_t>(S));
        std::iota(columns.begin(), columns.end(), Index{0});
        const ChunkOutages chunk = chunk_outages(*ob.pr.net, ob.batch(), columns);
        ASSERT_EQ(chunk.cut.size(), columns.size());
        ASSERT_EQ(chunk.dead.size(), columns.size() * static_cast<std::size_t>(net.n_bus()));
        const HostResult host = run_host(ob.pr, NewtonLayout(*ob.pr.net, ob.pr.types), &chunk);

        AcEngineOutput out;
        out.vm.resize(net.n_bus(), S);
        out.va.resize(net.n_bus(), S);
        out.slack.resize(S);
        out.report = ScenarioReport(S);
        cpu::make_ac_engine(ob.pr.net)->solve(ob.batch(), out);
        int converged = 0, moved = 0;
        for (Index s = 0; s < S; ++s) {
            const int k = ob.outage[static_cast<std::size_t>(s)];
            EXPECT_EQ(host.status[s] == ac::kConverged, out.report.at(s) == Status::converged)
                << "outage " << k;
            if (out.report.at(s) != Status::converged) continue;
            ++converged;
            EXPECT_EQ(host.iterations[s], out.report.iterations[s]) << "outage " << k;
            EXPECT_LT((host.vm.col(s) - out.vm.col(s)).cwiseAbs().maxCoeff(), 1e-9)
                << "outage " << k;
            EXPECT_LT((host.va.col(s) - out.va.col(s)).cwiseAbs().maxCoeff(), 1e-9)
                << "outage " << k;
            // The de-energised buses keep their start.
            for (const int i : ob.cut_off[static_cast<std::size_t>(s)]) {
                EXPECT_EQ(host.vm(i, s), ob.pr.vm0(i, s)) << "outage " << k << " bus row " << i;
                EXPECT_EQ(host.va(i, s), ob.pr.va0(i, s)) << "outage " << k << " bus row " << i;
            }
            if (k >= 0 && (host.vm.col(s) - host.vm.col(0)).cwiseAbs().maxCoeff() > 1e-6) ++moved;
        }
        // Nearly all converge (case2383wp has a few outages that do not), and the outages change
        // the solution: the cut is applied, not ignored.
        EXPECT_GT(converged, static_cast<int>(S) * 9 / 10);
        EXPECT_GT(moved, converged * 8 / 10);
    }
}

INSTANTIATE_TEST_SUITE_P(Cases, NewtonOutages, ::testing::Values("case118", "case2383wp"));

// The device engine with branch outages against the same steps run on the host: every
// in-service branch of case118 and scenarios without one, in one batch.
TEST(CudaAcEngine, OutagesMatchTheHostSteps) {
    GRIDBATCH_REQUIRE_SHARED();
    GRIDBATCH_REQUIRE_DEVICE();
    const Network net = read_matpower(test::case_path("case118"));
    std::vector<int> outages = in_service_branches(net, 1);
    for (std::size_t j = 0; j < outages.size(); j += 37) outages.insert(outages.begin() + j, -1);
    const OutageBatch ob(net, outages, 1.0);
    const Index S = ob.pr.p.cols();
    std::vector<Index> columns(static_cast<std::size_t>(S));
    std::iota(columns.begin(), columns.end(), Index{0});
    const ChunkOutages chunk = chunk_outages(*ob.pr.net, ob.batch(), columns);
    const HostResult host = run_host(ob.pr, NewtonLayout(*ob.pr.net, ob.pr.types), &chunk);
    CudaAcEngine engine(ob.pr.net, 0);
    AcEngineOutput out;
    out.vm.resize(net.n_bus(), S);
    out.va.resize(net.n_bus(), S);
    out.slack.resize(S);
    out.report = ScenarioReport(S);
    engine.solve(ob.batch(), out);
    for (Index s = 0; s < S; ++s) {
        const int k = ob.outage[static_cast<std::size_t>(s)];
        ASSERT_EQ(host.status[s], static_cast<int>(out.report.status[s])) << "outage " << k;
        EXPECT_EQ(host.iterations[s], out.report.iterations[s]) << "outage " << k;
        if (host.status[s] != ac::kConverged) continue;
        EXPECT_LT((host.vm.col(s) - out.vm.col(s)).cwiseAbs().maxCoeff(), 1e-10) << "outage " << k;
        EXPECT_LT((host.va.col(s) - out.va.col(s)).cwiseAbs().maxCoeff(), 1e-10) << "outage " << k;
    }
}

// A chunk without outages hands the kernels nothing; one without cutting outages no flags.
TEST(ChunkOutages, EmptyWhereThereIsNothingToTakeOut) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    const OutageBatch none(net, {-1, -1}, 1.0);
    const std::vector<Index> columns{0, 1};
    EXPECT_TRUE(chunk_outages(*none.pr.net, none.batch(), columns).cut.empty());
    const OutageBatch meshed(net, {-1, 2}, 1.0);
    ASSERT_EQ(meshed.cutting(), 0);
    const ChunkOutages c = chunk_outages(*meshed.pr.net, meshed.batch(), columns);
    ASSERT_EQ(c.cut.size(), 2u);
    EXPECT_EQ(c.cut[0].from, -1);
    EXPECT_EQ(c.cut[1].from, net.branch_from()[2]);
    EXPECT_EQ(c.cut[1].to, net.branch_to()[2]);
    EXPECT_TRUE(c.dead.empty());
    // Only the chunk's columns, in the chunk's order.
    const ChunkOutages picked = chunk_outages(*meshed.pr.net, meshed.batch(), {1});
    ASSERT_EQ(picked.cut.size(), 1u);
    EXPECT_EQ(picked.cut[0].from, net.branch_from()[2]);
}

TEST(NewtonLayout, EveryJacobianEntryHasAPositionAndUnknownsMapBack) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    const Problem pr = make_problem(net, {1.0});
    const NewtonLayout l(*pr.net, pr.types);
    EXPECT_EQ(l.n, static_cast<int>(pr.net->pv.size() + 2 * pr.net->pq.size()));
    for (int k = 0; k < l.n; ++k) {  // each bus appears once as angle, pq buses once as magnitude
        const int bus = l.unknown_bus[k];
        EXPECT_EQ(l.unknown_kind[k] == 0 ? l.p_row[bus] : l.q_row[bus], k);
    }
    const CsrMatrix& y = pr.net->ybus;
    for (int i = 0; i < y.rows; ++i)
        for (int q = y.row_ptr[i]; q < y.row_ptr[i + 1]; ++q) {
            const int j = y.col[q];
            EXPECT_EQ(l.pos_pa[q] >= 0, l.p_row[i] >= 0 && l.p_row[j] >= 0);
            EXPECT_EQ(l.pos_qm[q] >= 0, l.q_row[i] >= 0 && l.q_row[j] >= 0);
        }
}

}  // namespace
}  // namespace gridbatch::detail::cuda
