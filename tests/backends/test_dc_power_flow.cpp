// DC power flow against MATPOWER's rundcpf, batch consistency, distributed slack and bad input,
// on every backend.
#include <cmath>
#include <limits>
#include <string>

#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"
#include "support/backend_test.hpp"
#include "support/cases.hpp"
#include "support/expect_error.hpp"

namespace gridbatch {
namespace {

class DcPowerFlowTest : public test::DcBackendTest {};

// Every bus: flow out over its branches = generation - load - shunt conductance (MW). An
// independent check of angles, flows and generator results together (phase-shifter injections
// cancel: they are part of both Bf Va + Pfinj and B Va + Pbusinj).
void expect_bus_balance(const Network& net, const Matrix& pd, const DcPowerFlowResult& r,
                        Real tol) {
    for (Index s = 0; s < r.size(); ++s) {
        Vector out = Vector::Zero(net.n_bus());
        for (Index k = 0; k < net.n_branch(); ++k) {
            out[net.branch_from()[k]] += r.pf(k, s);
            out[net.branch_to()[k]] -= r.pf(k, s);
        }
        Vector net_injection = -pd.col(s);
        for (Index i = 0; i < net.n_bus(); ++i) {
            if (net.buses().type[i] == static_cast<std::int8_t>(BusType::isolated))
                net_injection[i] = 0;
            else
                net_injection[i] -= net.buses().gs[i];
        }
        for (Index g = 0; g < net.n_gen(); ++g)
            if (net.gen_active(g)) net_injection[net.gen_bus()[g]] += r.pg(g, s);
        for (Index i = 0; i < net.n_bus(); ++i)
            ASSERT_NEAR(out[i], net_injection[i], tol)
                << "bus " << net.buses().id[i] << ", scenario " << s;
    }
}

// Largest |x - ref| beyond the rounding of the reference files, which carry 12 significant
// digits (half a unit of the 12th digit is up to 5e-12 |ref|: 6e-9 MW on a 1200 MW flow).
::testing::AssertionResult error_beyond_print(const Vector& x, const std::vector<double>& ref,
                                              Real tol) {
    if (static_cast<std::size_t>(x.size()) != ref.size())
        return ::testing::AssertionFailure()
               << "sizes differ: " << x.size() << " vs " << ref.size();
    Index worst = 0;
    Real excess = -1;
    for (Index i = 0; i < x.size(); ++i) {
        const Real e = std::abs(x[i] - ref[i]) - 5e-12 * std::abs(ref[i]);
        if (e > excess) excess = e, worst = i;
    }
    if (excess <= tol) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "row " << worst << ": " << x[worst] << " vs reference " << ref[worst]
           << " (error beyond print rounding " << excess << " > " << tol << ")";
}

TEST_P(DcPowerFlowTest, MatchesMatpowerRundcpfOnEveryCase) {
    GRIDBATCH_REQUIRE_SHARED();
    const auto cases = test::all_cases();
    ASSERT_FALSE(cases.empty());
    for (const std::string& name : cases) {
        SCOPED_TRACE(name);
        const Network net = read_matpower(test::case_path(name));
        DcPowerFlow pf(net, options());
        const DcPowerFlowResult r = pf.solve();
        ASSERT_EQ(r.size(), 1);
        EXPECT_TRUE(r.report.all_converged());
        EXPECT_EQ(r.backend, backend());

        const test::Csv bus = test::read_csv(test::ref_path(name, "dc_bus.csv"));
        const auto va = bus.column("va_deg");
        ASSERT_EQ(static_cast<Index>(va.size()), net.n_bus());
        EXPECT_TRUE(error_beyond_print(r.va.col(0), va, 1e-8)) << "va (degrees)";

        const test::Csv branch = test::read_csv(test::ref_path(name, "dc_branch.csv"));
        const auto pf_ref = branch.column("pf_mw");
        const auto pt_ref = branch.column("pt_mw");
        ASSERT_EQ(static_cast<Index>(pf_ref.size()), net.n_branch());
        // case13659pegase sits at double precision's floor: one step of iterative refinement
        // moves its flows by 2.6e-8 MW (angles by 2.4e-9 degrees) without lowering the residual,
        // so MATPOWER's own flows there carry ~1e-8 MW of rounding (measured: 1.06e-8 apart).
        const Real flow_tol = name == "case13659pegase" ? 3e-8 : 1e-8;
        EXPECT_TRUE(error_beyond_print(r.pf.col(0), pf_ref, flow_tol)) << "pf (MW)";
        EXPECT_TRUE(error_beyond_print(-r.pf.col(0), pt_ref, flow_tol)) << "pt (MW)";

        const test::Csv gen = test::read_csv(test::ref_path(name, "dc_gen.csv"));
        const auto pg_ref = gen.column("pg_mw");
        ASSERT_EQ(static_cast<Index>(pg_ref.size()), net.n_gen());
        EXPECT_TRUE(error_beyond_print(r.pg.col(0), pg_ref, 1e-8)) << "pg (MW)";
        EXPECT_LT(r.report.max_mismatch[0], 1e-9);
    }
}

Matrix scaled_loads(const Network& net, const Vector& scale) {
    Matrix pd(net.n_bus(), scale.size());
    for (Index s = 0; s < scale.size(); ++s) pd.col(s) = net.buses().pd * scale[s];
    return pd;
}

TEST_P(DcPowerFlowTest, BatchColumnsEqualSingleSolves) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case300"));
    const Vector scale = Vector::LinSpaced(37, 0.7, 1.3);  // > one CPU chunk of scenarios
    const Matrix pd = scaled_loads(net, scale);
    DcPowerFlow pf(net, options());
    const DcPowerFlowResult batch = pf.solve(pd);
    ASSERT_EQ(batch.size(), scale.size());
    for (Index s = 0; s < scale.size(); s += 6) {
        const DcPowerFlowResult one = pf.solve(pd.col(s));
        EXPECT_LE((batch.va.col(s) - one.va.col(0)).cwiseAbs().maxCoeff(), 1e-10) << s;
        EXPECT_LE((batch.pf.col(s) - one.pf.col(0)).cwiseAbs().maxCoeff(), 1e-10) << s;
        EXPECT_LE((batch.pg.col(s) - one.pg.col(0)).cwiseAbs().maxCoeff(), 1e-10) << s;
        EXPECT_NEAR(batch.slack_mw[s], one.slack_mw[0], 1e-10);
    }
    expect_bus_balance(net, pd, batch, 1e-7);
    // The slack covers the load change: total generation = total load + shunt losses.
    const Real gs = net.buses().gs.sum();
    for (Index s = 0; s < scale.size(); ++s)
        EXPECT_NEAR(batch.pg.col(s).sum(), pd.col(s).sum() + gs, 1e-7);

    // A view on columns of a larger matrix (outer stride) is read without copying.
    Matrix wide(net.n_bus() + 5, 4);
    wide.topRows(net.n_bus()) = pd.leftCols(4);
    const DcPowerFlowResult strided = pf.solve(wide.topRows(net.n_bus()));
    EXPECT_LE((strided.pf - batch.pf.leftCols(4)).cwiseAbs().maxCoeff(), 1e-10);
}

TEST_P(DcPowerFlowTest, ResultsDoNotDependOnThreadCount) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    const Matrix pd = scaled_loads(net, Vector::LinSpaced(100, 0.5, 1.5));
    DcOptions one = options(), two = options();
    one.threads = 1;
    two.threads = 2;
    const DcPowerFlowResult a = DcPowerFlow(net, one).solve(pd);
    const DcPowerFlowResult b = DcPowerFlow(net, two).solve(pd);
    EXPECT_EQ(a.va, b.va);
    EXPECT_EQ(a.pf, b.pf);
}

TEST_P(DcPowerFlowTest, GeneratorSchedulePerScenario) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case57"));
    const Matrix pd = scaled_loads(net, Vector::LinSpaced(3, 0.9, 1.1));
    Matrix pg(net.n_gen(), 3);
    for (Index s = 0; s < 3; ++s) pg.col(s) = net.generators().pg * (0.8 + 0.1 * s);
    DcPowerFlow pf(net, options());
    const DcPowerFlowResult r = pf.solve(pd, pg);
    expect_bus_balance(net, pd, r, 1e-7);
    // Only the reference generator moves off its schedule.
    const Index ref_gen = [&] {
        for (Index g = 0; g < net.n_gen(); ++g)
            if (net.gen_bus()[g] == net.reference_bus()) return g;
        return Index{-1};
    }();
    ASSERT_GE(ref_gen, 0);
    for (Index s = 0; s < 3; ++s)
        for (Index g = 0; g < net.n_gen(); ++g)
            if (g != ref_gen) {
                EXPECT_EQ(r.pg(g, s), pg(g, s));
            }
}

TEST_P(DcPowerFlowTest, DistributedSlackSharesBalanceByPmax) {
    GRIDBATCH_REQUIRE_SHARED();
    for (const std::string name : {"case118", "case_ACTIVSg2000"}) {
        SCOPED_TRACE(name);
        const Network net = read_matpower(test::case_path(name));
        const Matrix pd = scaled_loads(net, Vector::LinSpaced(5, 0.8, 1.2));
        DcPowerFlow pf(net, options(SlackMode::distributed));
        const DcPowerFlowResult r = pf.solve(pd);
        EXPECT_TRUE(r.report.all_converged());
        expect_bus_balance(net, pd, r, 1e-6);
        const auto& gen = net.generators();
        Real pmax_total = 0;
        for (Index g = 0; g < net.n_gen(); ++g)
            if (net.gen_active(g)) pmax_total += gen.pmax[g];
        for (Index s = 0; s < r.size(); ++s) {
            Real added = 0;
            for (Index g = 0; g < net.n_gen(); ++g) {
                if (!net.gen_active(g)) {
                    EXPECT_EQ(r.pg(g, s), gen.pg[g]);
                    continue;
                }
                added += r.pg(g, s) - gen.pg[g];
                EXPECT_NEAR(r.pg(g, s) - gen.pg[g], r.slack_mw[s] * gen.pmax[g] / pmax_total, 1e-7);
            }
            EXPECT_NEAR(added, r.slack_mw[s], 1e-6);
            EXPECT_NEAR(r.pg.col(s).sum(), pd.col(s).sum() + net.buses().gs.sum(), 1e-6);
        }
    }
}

TEST_P(DcPowerFlowTest, DistributedSlackWithOwnFactors) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case9"));
    DcOptions o = options(SlackMode::distributed);
    o.participation = Vector::Zero(net.n_gen());
    o.participation[2] = 1;  // one unit takes the whole balance
    const Matrix pd = net.buses().pd * 1.1;
    const DcPowerFlowResult r = DcPowerFlow(net, o).solve(pd);
    expect_bus_balance(net, pd, r, 1e-8);
    EXPECT_EQ(r.pg(0, 0), net.generators().pg[0]);
    EXPECT_EQ(r.pg(1, 0), net.generators().pg[1]);
    EXPECT_NEAR(r.pg(2, 0) - net.generators().pg[2], r.slack_mw[0], 1e-9);

    o.participation = Vector::Zero(net.n_gen());
    test::expect_error([&] { DcPowerFlow bad(net, o); }, {"sum to 0"});
    o.participation = Vector::Constant(2, 1.0);
    EXPECT_THROW(DcPowerFlow(net, o), Error);
}

// Buses 1-3 a ring with the reference bus; buses 4 and 5 connected to each other only; bus 6
// isolated (type 4).
std::string island_case(bool island_has_ref) {
    return std::string(R"(function mpc = islands
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
  1 3 0  0  0 0 1 1 0 230 1 1.1 0.9;
  2 1 50 10 0 0 1 1 0 230 1 1.1 0.9;
  3 2 40 5  0 0 1 1 0 230 1 1.1 0.9;
  4 )") + (island_has_ref ? "3" : "1") +
           R"( 20 0  0 0 1 1 -7 230 1 1.1 0.9;
  5 1 10 0  0 0 1 1 0 230 1 1.1 0.9;
  6 4 0  0  0 0 1 1 5 230 1 1.1 0.9;
];
mpc.gen = [
  1 50 0 100 -100 1 100 1 200 0;
  3 45 0 100 -100 1 100 1 200 0;
  4 30 0 100 -100 1 100 1 200 0;
];
mpc.branch = [
  1 2 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;
  2 3 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;
  1 3 0.02 0.2 0.04 100 100 100 0 0 1 -360 360;
  4 5 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;
  5 6 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;
];
)";
}

TEST_P(DcPowerFlowTest, IslandWithoutReferenceNamesItsBuses) {
    const Network net = parse_matpower(island_case(false), "islands.m");
    test::expect_error([&] { DcPowerFlow pf(net, options()); },
                       {"buses {4, 5} form an island without a reference"});
}

TEST_P(DcPowerFlowTest, SeveralIslandsEachWithReference) {
    const Network net = parse_matpower(island_case(true), "islands.m");
    DcPowerFlow pf(net, options());
    const Matrix pd = net.buses().pd;
    const DcPowerFlowResult r = pf.solve(pd);
    expect_bus_balance(net, pd, r, 1e-9);
    EXPECT_NEAR(r.va(3, 0), -7, 1e-12);  // the second reference keeps its case angle
    EXPECT_NEAR(r.va(5, 0), 5, 1e-12);   // isolated bus: case angle
    EXPECT_EQ(r.pf(4, 0), 0);            // branch to the isolated bus is inactive
    EXPECT_NEAR(r.pf(3, 0), 10, 1e-9);   // bus 5's load comes over branch 4-5
    EXPECT_NEAR(r.pg(2, 0), 30, 1e-9);   // island {4, 5}: 30 MW of load
    // Loads 90 + 30 MW against schedules 95 + 30 MW: the first island's reference unit gives 5 MW.
    EXPECT_NEAR(r.pg(0, 0), 45, 1e-9);
    EXPECT_NEAR(r.slack_mw[0], -5, 1e-9);

    const DcPowerFlowResult d = DcPowerFlow(net, options(SlackMode::distributed)).solve(pd);
    expect_bus_balance(net, pd, d, 1e-9);
    EXPECT_NEAR(d.pg(2, 0), 30, 1e-9);  // each island balances itself
}

// MATPOWER's bustypes: a REF bus without an in-service generator is not a reference; the first
// PV bus with one takes its place and keeps its case angle.
TEST_P(DcPowerFlowTest, ReferenceFallsBackToFirstPvBus) {
    std::string text = test::three_bus_case_text();
    const std::string bus3 = "  3 2 40 5  0 0 1 1 0 230 1 1.1 0.9;";
    const std::string gen1 = "  1 50 0 100 -100 1.02 100 1 200 0;";
    ASSERT_NE(text.find(bus3), std::string::npos);
    ASSERT_NE(text.find(gen1), std::string::npos);
    text.replace(text.find(bus3), bus3.size(), "  3 2 40 5  0 0 1 1 4 230 1 1.1 0.9;");
    text.replace(text.find(gen1), gen1.size(), "  1 50 0 100 -100 1.02 100 0 200 0;");  // off
    const Network net = parse_matpower(text, "fallback.m");
    const Matrix pd = net.buses().pd;
    const DcPowerFlowResult r = DcPowerFlow(net, options()).solve(pd);
    EXPECT_NEAR(r.va(2, 0), 4, 1e-12);
    expect_bus_balance(net, pd, r, 1e-9);
    EXPECT_NEAR(r.pg(1, 0), pd.sum(), 1e-9);  // the unit at bus 3 serves all load
    EXPECT_EQ(r.pg(0, 0), 0);  // the unit that is off produces nothing (as AC reports it)
    // Nor does a schedule given for it change that, or anything else.
    const DcPowerFlowResult given =
        DcPowerFlow(net, options()).solve(pd, Matrix::Constant(2, 1, 7));
    EXPECT_EQ(given.pg(0, 0), 0);
    EXPECT_NEAR(given.pg(1, 0), pd.sum(), 1e-9);
}

// Two lines 1-2 whose reactances cancel (+0.1 and -0.1, a series capacitor): bus 2 is connected
// in the graph, so no island check catches it, but its row of B is zero. Both engines refuse with
// the same message instead of returning angles from a zero pivot.
TEST_P(DcPowerFlowTest, ReactancesThatCancelAreAZeroPivot) {
    std::string text = test::three_bus_case_text();
    const std::string line23 = "  2 3 0.01 0.1 0.02 100 100 100 0 0 1 -360 360;";
    ASSERT_NE(text.find(line23), std::string::npos);
    text.replace(text.find(line23), line23.size(),
                 "  1 2 0.01 -0.1 0.02 100 100 100 0 0 1 -360 360;");
    const Network net = parse_matpower(text, "cancel.m");
    test::expect_error([&] { DcPowerFlow pf(net, options()); },
                       {"could not be factorised (a zero pivot"});
}

TEST_P(DcPowerFlowTest, NonFiniteInjectionNamesScenarioAndBus) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case14"));
    DcPowerFlow pf(net, options());
    Matrix pd = scaled_loads(net, Vector::Constant(5, 1.0));
    pd(6, 3) = std::numeric_limits<Real>::quiet_NaN();
    test::expect_error([&] { pf.solve(pd); }, {"scenario 3 has NaN at bus 7"});
    pd(6, 3) = std::numeric_limits<Real>::infinity();
    EXPECT_THROW(pf.solve(pd), Error);
    Matrix pg = Matrix::Zero(net.n_gen(), 5);
    pg(1, 2) = -std::numeric_limits<Real>::infinity();
    pd(6, 3) = 0;
    test::expect_error([&] { pf.solve(pd, pg); }, {"scenario 2 has Inf at generator 1"});
    test::expect_error([&] { pf.solve(pd.topRows(10)); },
                       {"pd has 10 rows but the network has 14 buses"});
}

GRIDBATCH_INSTANTIATE_FOR_ALL_BACKENDS(DcPowerFlowTest);

}  // namespace
}  // namespace gridbatch
