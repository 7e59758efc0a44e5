// AC contingencies (AcBatch::outage), on every backend: a scenario with branch k out equals the
// AC power flow of the case with branch k out of service, built independently as its own network
// (its own Ybus, bus classes and Jacobian pattern); where that case is refused for an island
// without a reference bus, the outage de-energises exactly that island (NaN voltages) and equals
// the case with its buses isolated too; ac_contingencies() summarises the same power flows; bad
// outage lists and options are errors naming the entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "gridbatch/ac_contingencies.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"
#include "support/backend_test.hpp"
#include "support/cases.hpp"
#include "support/expect_error.hpp"
#include "support/scoped_env.hpp"

namespace gridbatch {
namespace {

Network without_branch(const Network& net, Index k) {
    BranchTable br = net.branches();
    br.in_service[k] = 0;
    return Network::from_tables(net.base_mva(), net.buses(), net.generators(), br,
                                net.source() + " without branch " + std::to_string(k));
}

// The buses of `net` in a connected part (active branches) without a REF bus (union-find; the
// library finds them by other means).
std::vector<Index> buses_without_reference(const Network& net) {
    std::vector<Index> parent(static_cast<std::size_t>(net.n_bus()));
    for (Index i = 0; i < net.n_bus(); ++i) parent[static_cast<std::size_t>(i)] = i;
    const auto find = [&](Index i) {
        while (parent[static_cast<std::size_t>(i)] != i) i = parent[static_cast<std::size_t>(i)];
        return i;
    };
    for (Index k = 0; k < net.n_branch(); ++k)
        if (net.branch_active(k))
            parent[static_cast<std::size_t>(find(net.branch_from()[k]))] = find(net.branch_to()[k]);
    std::vector<char> has_ref(parent.size(), 0);
    for (Index i = 0; i < net.n_bus(); ++i)
        if (net.buses().type[i] == static_cast<std::int8_t>(BusType::ref))
            has_ref[static_cast<std::size_t>(find(i))] = 1;
    std::vector<Index> out;
    for (Index i = 0; i < net.n_bus(); ++i)
        if (net.buses().type[i] != static_cast<std::int8_t>(BusType::isolated) &&
            !has_ref[static_cast<std::size_t>(find(i))])
            out.push_back(i);
    return out;
}

// `net` with `buses` isolated (their branches and generators out, as MATPOWER's ext2int does).
Network with_isolated(const Network& net, const std::vector<Index>& buses) {
    BusTable bus = net.buses();
    for (Index i : buses) bus.type[i] = static_cast<std::int8_t>(BusType::isolated);
    return Network::from_tables(net.base_mva(), bus, net.generators(), net.branches(),
                                net.source() + ", cut-off buses isolated");
}

class AcContingencyTest : public test::BackendTest {
protected:
    AcOptions options(bool q_limits = false) const {
        AcOptions o;
        o.backend = backend();
        o.enforce_q_limits = q_limits;
        o.threads = 2;
        return o;
    }

    // Every outage of `outages` as one batch at the case's loads, each scenario against the solve
    // of the case without that branch; where that leaves buses without a reference bus, without
    // them too (isolated: the de-energised part).
    // Returns how many outages cut buses off.
    Index expect_equal_to_cases_without(const Network& net, const std::vector<Index>& outages,
                                        bool q_limits) {
        const auto ns = static_cast<Index>(outages.size());
        const Matrix pd = net.buses().pd.replicate(1, ns), qd = net.buses().qd.replicate(1, ns);
        IndexVector out(ns);
        for (Index s = 0; s < ns; ++s) out[s] = outages[static_cast<std::size_t>(s)];
        AcBatch batch(pd, qd);
        batch.outage.emplace(out);
        const AcPowerFlowResult r = AcPowerFlow(net, options(q_limits)).solve(batch);
        Index solved = 0, islanding = 0;
        for (Index s = 0; s < ns; ++s) {
            const Index k = out[s];
            SCOPED_TRACE(net.source() + ", outage of branch " + std::to_string(k));
            Network cut = without_branch(net, k);
            const std::vector<Index> dead = buses_without_reference(cut);
            std::vector<char> live(static_cast<std::size_t>(net.n_bus()), 1);
            for (Index i : dead) live[static_cast<std::size_t>(i)] = 0;
            if (!dead.empty()) {
                const std::string refused =
                    test::error_of([&] { AcPowerFlow(cut, options(q_limits)).solve(); });
                EXPECT_NE(refused.find("form an island without a"), std::string::npos) << refused;
                cut = with_isolated(cut, dead);
                ++islanding;
                for (Index i : dead)
                    EXPECT_TRUE(std::isnan(r.vm(i, s)) && std::isnan(r.va(i, s))) << "bus " << i;
            }
            const AcPowerFlowResult one = AcPowerFlow(cut, options(q_limits)).solve();
            ++solved;
            EXPECT_EQ(r.report.at(s), one.report.at(0));
            if (r.report.at(s) != one.report.at(0) || one.report.at(0) != Status::converged)
                continue;
            EXPECT_EQ(r.report.iterations[s], one.report.iterations[0]);
            for (Index i = 0; i < net.n_bus(); ++i) {
                if (!live[static_cast<std::size_t>(i)]) continue;
                EXPECT_NEAR(r.vm(i, s), one.vm(i, 0), 1e-9) << "bus " << i;
                EXPECT_NEAR(r.va(i, s), one.va(i, 0), 1e-7) << "bus " << i;
            }
            EXPECT_LT((r.pg.col(s) - one.pg.col(0)).cwiseAbs().maxCoeff(), 1e-6);
            EXPECT_LT((r.qg.col(s) - one.qg.col(0)).cwiseAbs().maxCoeff(), 1e-6);
            for (const auto& [mine, theirs] :
                 {std::pair{&r.pf, &one.pf}, {&r.qf, &one.qf}, {&r.pt, &one.pt}, {&r.qt, &one.qt}})
                EXPECT_LT((mine->col(s) - theirs->col(0)).cwiseAbs().maxCoeff(), 1e-6);
            EXPECT_EQ(r.pf(k, s), 0.0);
            EXPECT_EQ(r.qt(k, s), 0.0);
            EXPECT_NEAR(r.loss_mw[s], one.loss_mw[0], 1e-6);
            EXPECT_EQ(r.q_limited_buses[static_cast<std::size_t>(s)], one.q_limited_buses[0]);
        }
        EXPECT_GT(solved, 0);
        RecordProperty(net.source() + (q_limits ? " q-limits" : "") + " islanding",
                       std::to_string(islanding));
        return islanding;
    }
};

// Every in-service branch of case118, one scenario each: the radial ones cut a bus off.
TEST_P(AcContingencyTest, EveryOutageOfCase118EqualsTheCaseWithoutThatBranch) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    std::vector<Index> outages;
    for (Index k = 0; k < net.n_branch(); ++k)
        if (net.branch_active(k)) outages.push_back(k);
    EXPECT_GT(expect_equal_to_cases_without(net, outages, false), 0);
    EXPECT_GT(expect_equal_to_cases_without(net, outages, true), 0);
    // The scalar LU's Jacobian (identity rows of the cut-off buses) as well as the blocks'.
    const test::ScopedEnv klu("GRIDBATCH_AC_LU", "klu");
    EXPECT_GT(expect_equal_to_cases_without(net, outages, false), 0);
}

// A larger network (the block LU with the outage's zero blocks, parallel branches), every 60th
// branch.
TEST_P(AcContingencyTest, SampledOutagesOfCase2383wpEqualTheCasesWithoutThem) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case2383wp"));
    std::vector<Index> outages;
    for (Index k = 0; k < net.n_branch(); k += 60)
        if (net.branch_active(k)) outages.push_back(k);
    EXPECT_GT(expect_equal_to_cases_without(net, outages, false), 0);
}

// Scenarios without an outage (-1) beside ones with: the same as the plain solve, bit for bit,
// whatever the thread count.
TEST_P(AcContingencyTest, ScenariosWithoutAnOutageAreThePlainSolve) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    const Matrix pd = net.buses().pd.replicate(1, 4), qd = net.buses().qd.replicate(1, 4);
    IndexVector out(4);
    out << -1, 5, -1, 7;
    AcBatch batch(pd, qd);
    batch.outage.emplace(out);
    AcOptions o = options();
    const AcPowerFlowResult plain = AcPowerFlow(net, o).solve();
    for (int threads : {1, 2}) {
        o.threads = threads;
        const AcPowerFlowResult r = AcPowerFlow(net, o).solve(batch);
        for (Index s : {0, 2}) {
            EXPECT_EQ(r.vm.col(s), plain.vm.col(0));
            EXPECT_EQ(r.pf.col(s), plain.pf.col(0));
        }
        EXPECT_NE(r.vm.col(1), plain.vm.col(0));
        EXPECT_NE(r.vm.col(3), r.vm.col(1));
    }
}

// With a distributed slack the generators an outage cuts off would change every share: such a
// scenario is Status::islanded (NaN), the others solved.
TEST_P(AcContingencyTest, DistributedSlackLeavesCutOffOutagesUnsolved) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    Index cutting = -1, meshed = -1;
    for (Index k = 0; k < net.n_branch() && (cutting < 0 || meshed < 0); ++k) {
        const bool cuts = !buses_without_reference(without_branch(net, k)).empty();
        (cuts ? cutting : meshed) = k;
    }
    ASSERT_GE(cutting, 0);
    const Matrix pd = net.buses().pd.replicate(1, 2), qd = net.buses().qd.replicate(1, 2);
    IndexVector out(2);
    out << cutting, meshed;
    AcBatch batch(pd, qd);
    batch.outage.emplace(out);
    AcOptions o = options();
    o.slack = SlackMode::distributed;
    const AcPowerFlowResult r = AcPowerFlow(net, o).solve(batch);
    EXPECT_EQ(r.report.at(0), Status::islanded);
    EXPECT_TRUE(r.vm.col(0).array().isNaN().all() && r.pg.col(0).array().isNaN().all());
    EXPECT_EQ(r.report.at(1), Status::converged);
    EXPECT_TRUE(r.vm.col(1).allFinite());
}

TEST_P(AcContingencyTest, BadOutageListsNameTheEntry) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    const Matrix pd = net.buses().pd.replicate(1, 2), qd = net.buses().qd.replicate(1, 2);
    const AcPowerFlow pf(net, options());
    const auto error_with = [&](const IndexVector& out, const AcOptions& o) {
        AcBatch batch(pd, qd);
        batch.outage.emplace(out);
        return test::error_of([&] { AcPowerFlow(net, o).solve(batch); });
    };
    IndexVector three(3);
    three << -1, -1, -1;
    EXPECT_NE(error_with(three, options())
                  .find("AcBatch.outage has 3 entries; expected one per "
                        "scenario (2)"),
              std::string::npos);
    IndexVector far(2);
    far << 0, net.n_branch();
    EXPECT_NE(error_with(far, options())
                  .find("AcBatch.outage[1] = 186: the network has 186 "
                        "branches (0..185, or -1 for none)"),
              std::string::npos);
    IndexVector below(2);
    below << -2, 0;
    EXPECT_NE(error_with(below, options()).find("AcBatch.outage[0] = -2"), std::string::npos);
    AcOptions fd = options();
    fd.algorithm = AcAlgorithm::fast_decoupled_xb;
    IndexVector ok(2);
    ok << 3, -1;
    EXPECT_NE(error_with(ok, fd).find("AcBatch.outage (branch outages) needs AcAlgorithm::newton"),
              std::string::npos);
    // A branch the case already has out of service.
    const Network cut = without_branch(net, 3);
    AcBatch batch(pd, qd);
    batch.outage.emplace(ok);
    const std::string msg = test::error_of([&] { AcPowerFlow(cut, options()).solve(batch); });
    EXPECT_NE(msg.find("AcBatch.outage[0] = 3: branch 3 (bus"), std::string::npos) << msg;
    EXPECT_NE(msg.find("is out of service in the case"), std::string::npos) << msg;
}

// ac_contingencies() on case118 (radial outages; every branch rated 150 MVA here, the case has no
// ratings) with two load levels, setpoints of its own and chunks that straddle scenarios: every
// case's summary, the monitored voltages, the violations and the worst per scenario against the
// full results of the same power flows solved as one plain batch and summarised here.
TEST_P(AcContingencyTest, AnalysisSummarisesEveryPowerFlow) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network case118 = read_matpower(test::case_path("case118"));
    BranchTable rated = case118.branches();
    rated.rate_a.setConstant(150);
    const Network net = Network::from_tables(case118.base_mva(), case118.buses(),
                                             case118.generators(), rated, "case118, rated");
    const auto& bus = net.buses();
    const Index S = 2, nb = net.n_bus();
    Matrix pd(nb, S), qd(nb, S), pg(net.n_gen(), S);
    pd << bus.pd, 1.05 * bus.pd;
    qd << bus.qd, 1.05 * bus.qd;
    pg << net.generators().pg, 1.02 * net.generators().pg;
    AcBatch base(pd, qd);
    base.pg.emplace(pg);
    std::vector<Index> outages;
    for (Index k = net.n_branch() - 1; k >= 0; --k)  // descending: the order given is kept
        if (net.branch_active(k)) outages.push_back(k);
    AcContingencyOptions o;
    o.outages = outages;
    o.threshold_percent = 70;
    o.monitored_buses = {0, nb - 1};
    o.chunk = 7;
    const AcPowerFlow pf(net, options());
    const AcContingencyResult res = ac_contingencies(pf, base, o);

    // The same power flows as one batch: base cases from the case, outages warm from them.
    const AcPowerFlowResult b = pf.solve(base);
    const auto n_out = static_cast<Index>(outages.size()), n = S * (1 + n_out);
    Matrix apd(nb, n), aqd(nb, n), apg(net.n_gen(), n), vm0(nb, n), va0(nb, n);
    IndexVector out(n);
    for (Index s = 0; s < S; ++s)
        for (Index k = -1; k < n_out; ++k) {
            const Index j = s * (1 + n_out) + 1 + k;
            apd.col(j) = pd.col(s);
            aqd.col(j) = qd.col(s);
            apg.col(j) = pg.col(s);
            out[j] = k < 0 ? -1 : outages[static_cast<std::size_t>(k)];
            ASSERT_EQ(b.report.at(s), Status::converged);
            vm0.col(j) = k < 0 ? bus.vm : Vector(b.vm.col(s));
            va0.col(j) = k < 0 ? bus.va : Vector(b.va.col(s));
        }
    AcBatch all(apd, aqd);
    all.pg.emplace(apg);
    all.vm0.emplace(vm0);
    all.va0_deg.emplace(va0);
    all.outage.emplace(out);
    const AcPowerFlowResult r = pf.solve(all, StartMode::warm);

    EXPECT_EQ(res.outages, outages);
    ASSERT_EQ(static_cast<Index>(res.cases.size()), n);
    ASSERT_EQ(res.monitored_vm.rows(), 2);
    ASSERT_EQ(res.monitored_vm.cols(), n);
    std::vector<std::tuple<Index, Index, Index>> over;  // (scenario, outage, branch)
    std::vector<Index> islanding;
    Index not_converged = 0;
    for (Index j = 0; j < n; ++j) {
        const Index s = j / (1 + n_out), k = j % (1 + n_out) - 1;
        SCOPED_TRACE("scenario " + std::to_string(s) + ", outage " + std::to_string(out[j]));
        const AcContingency& c = res.at(s, k);
        EXPECT_EQ(&c, &res.cases[static_cast<std::size_t>(j)]);
        EXPECT_EQ(c.scenario, s);
        EXPECT_EQ(c.outage, out[j]);
        ASSERT_EQ(c.status, r.report.at(j));
        // The de-energised part: buses without a voltage, their load and generators' schedule.
        Index dead = 0;
        Real lost_load = 0, lost_generation = 0;
        for (Index i = 0; i < nb; ++i)
            if (std::isnan(r.vm(i, j))) {
                ++dead;
                lost_load += pd(i, s);
                for (Index g = 0; g < net.n_gen(); ++g)
                    if (net.gen_bus()[g] == i && net.gen_active(g)) lost_generation += pg(g, s);
            }
        EXPECT_EQ(c.de_energized_buses, dead);
        EXPECT_NEAR(c.lost_load_mw, lost_load, 1e-9);
        EXPECT_NEAR(c.lost_generation_mw, lost_generation, 1e-9);
        if (dead > 0 && s == 0) islanding.push_back(out[j]);
        if (c.status != Status::converged) {
            if (c.status != Status::islanded) ++not_converged;
            EXPECT_TRUE(std::isnan(c.min_vm) && std::isnan(res.monitored_vm(0, j)));
            continue;
        }
        EXPECT_EQ(c.iterations, r.report.iterations[j]);
        Real worst = -1, lo = HUGE_VAL, hi = -HUGE_VAL;
        Index outside = 0;
        for (Index l = 0; l < net.n_branch(); ++l) {
            const Real rate = net.branches().rate_a[l];
            if (!(rate > 0)) continue;
            const Real mva =
                std::max(std::hypot(r.pf(l, j), r.qf(l, j)), std::hypot(r.pt(l, j), r.qt(l, j)));
            worst = std::max(worst, 100 * mva / rate);
            if (100 * mva / rate > 70) over.emplace_back(s, out[j], l);
        }
        for (Index i = 0; i < nb; ++i) {
            if (bus.type[i] == static_cast<std::int8_t>(BusType::isolated)) continue;
            lo = std::min(lo, r.vm(i, j));
            hi = std::max(hi, r.vm(i, j));
            if (r.vm(i, j) < bus.vmin[i] || r.vm(i, j) > bus.vmax[i]) ++outside;
        }
        EXPECT_NEAR(c.max_loading_percent, worst, 1e-9);
        EXPECT_NEAR(loading_percent(r, c.max_loading_branch, j,
                                    net.branches().rate_a[c.max_loading_branch]),
                    worst, 1e-9);
        EXPECT_NEAR(c.min_vm, lo, 1e-12);
        EXPECT_NEAR(r.vm(c.min_vm_bus, j), lo, 1e-12);
        EXPECT_NEAR(c.max_vm, hi, 1e-12);
        EXPECT_NEAR(r.vm(c.max_vm_bus, j), hi, 1e-12);
        EXPECT_EQ(c.buses_outside_limits, outside);
        for (const auto& [m, i] : {std::pair<Index, Index>{0, 0}, {1, nb - 1}}) {
            if (std::isnan(r.vm(i, j)))
                EXPECT_TRUE(std::isnan(res.monitored_vm(m, j)));
            else
                EXPECT_NEAR(res.monitored_vm(m, j), r.vm(i, j), 1e-12);
        }
    }
    // case118's radial branches cut buses off: solved without them.
    EXPECT_GT(islanding.size(), 0u);
    for (Index k = 0; k < n_out; ++k)
        if (res.at(0, k).de_energized_buses > 0) {
            EXPECT_EQ(res.at(0, k).status, Status::converged) << outages[std::size_t(k)];
            EXPECT_GT(res.at(0, k).lost_load_mw + res.at(0, k).lost_generation_mw, 0);
        }
    EXPECT_EQ(res.islanding, islanding);
    EXPECT_EQ(res.not_converged, not_converged);
    std::sort(over.begin(), over.end());
    ASSERT_GT(over.size(), 0u);
    ASSERT_EQ(res.violations.size(), over.size());
    for (std::size_t i = 0; i < over.size(); ++i) {
        const N1Violation& v = res.violations[i];
        EXPECT_EQ(std::tuple(v.scenario, v.outage, v.branch), over[i]);
    }
    for (Index s = 0; s < S; ++s) {
        Real worst = -1, lowest = HUGE_VAL;
        for (Index k = 0; k < n_out; ++k) {
            const AcContingency& c = res.at(s, k);
            if (c.status != Status::converged) continue;
            worst = std::max(worst, c.max_loading_percent);
            lowest = std::min(lowest, c.min_vm);
        }
        EXPECT_EQ(res.worst_loading_percent[s], worst);
        EXPECT_EQ(res.at(s, std::find(outages.begin(), outages.end(), res.worst_outage[s]) -
                                outages.begin())
                      .max_loading_branch,
                  res.worst_branch[s]);
        EXPECT_EQ(res.lowest_vm[s], lowest);
    }
    EXPECT_NE(res.worst_loading_percent[0], res.worst_loading_percent[1]);

    // Chunks of any size give the same result, the automatic size (0) too.
    for (const Index chunk : {Index{1000}, Index{0}}) {
        o.chunk = chunk;
        const AcContingencyResult whole = ac_contingencies(pf, base, o);
        for (Index j = 0; j < n; ++j) {
            const AcContingency &x = res.cases[static_cast<std::size_t>(j)],
                                &y = whole.cases[static_cast<std::size_t>(j)];
            EXPECT_EQ(x.status, y.status) << "chunk " << chunk;
            EXPECT_EQ(x.iterations, y.iterations) << "chunk " << chunk;
            if (x.status == Status::converged) {
                EXPECT_EQ(x.max_loading_percent, y.max_loading_percent) << "chunk " << chunk;
            }
        }
        EXPECT_EQ(whole.violations.size(), res.violations.size()) << "chunk " << chunk;
    }
}

// The branch taken out carries nothing, nor do de-energised ones: the worst-loaded branch is
// another energised one, or none (-1, NaN) where no rated branch is left energised. (Case9's
// outage of 1-4 cut the rest off from the reference and named branch 1-4 at 0 %.)
TEST_P(AcContingencyTest, TheBranchTakenOutIsNeverTheWorstLoaded) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case9"));
    const AcPowerFlow pf(net, options());
    const AcContingencyResult res = ac_contingencies(pf, AcBatch(net.buses().pd, net.buses().qd));
    for (Index k = 0; k < static_cast<Index>(res.outages.size()); ++k) {
        const AcContingency& c = res.at(0, k);
        SCOPED_TRACE("outage " + std::to_string(c.outage));
        if (c.status != Status::converged) continue;
        EXPECT_NE(c.max_loading_branch, c.outage);
        if (c.max_loading_branch < 0) {
            EXPECT_TRUE(std::isnan(c.max_loading_percent));
        } else {
            EXPECT_GT(c.max_loading_percent, 0);
        }
    }
}

TEST_P(AcContingencyTest, AnalysisRefusesBadOptionsNamingThem) {
    const Network net = builtin_network();
    const Matrix pd = net.buses().pd, qd = net.buses().qd;
    const AcPowerFlow pf(net, options());
    const auto run = [&](const AcContingencyOptions& o) {
        return [&pf, &pd, &qd, o] { ac_contingencies(pf, AcBatch(pd, qd), o); };
    };
    AcContingencyOptions o;
    o.threshold_percent = NAN;
    test::expect_error(run(o), {"AcContingencyOptions.threshold_percent", "nan"});
    o = {};
    o.threshold_percent = -1;
    test::expect_error(run(o), {"AcContingencyOptions.threshold_percent", ">= 0"});
    o = {};
    o.chunk = -1;
    test::expect_error(run(o), {"AcContingencyOptions.chunk must be >= 0 (0 = automatic; got -1)"});
    o = {};
    o.outages = {0, net.n_branch()};
    test::expect_error(run(o), {"AcContingencyOptions.outages[1] = " +
                                std::to_string(net.n_branch()) + ": the network has"});
    o.outages = {-1};
    test::expect_error(run(o), {"AcContingencyOptions.outages[0] = -1"});
    o = {};
    o.monitored_buses = {net.n_bus()};
    test::expect_error(
        run(o), {"AcContingencyOptions.monitored_buses[0] = " + std::to_string(net.n_bus())});
    // A branch the case already has out of service.
    const Network cut = without_branch(net, 3);
    o = {};
    o.outages = {5, 3};
    test::expect_error([&] { ac_contingencies(AcPowerFlow(cut, options()), AcBatch(pd, qd), o); },
                       {"AcContingencyOptions.outages[1] = 3: branch 3 (bus", "out of service"});
    AcOptions fd = options();
    fd.algorithm = AcAlgorithm::fast_decoupled_xb;
    test::expect_error([&] { ac_contingencies(AcPowerFlow(net, fd), AcBatch(pd, qd)); },
                       {"ac_contingencies needs Newton"});
    AcBatch with_outage(pd, qd);
    const IndexVector one = IndexVector::Constant(1, 2);
    with_outage.outage.emplace(one);
    test::expect_error([&] { ac_contingencies(pf, with_outage); },
                       {"AcBatch.outage must be unset"});
}

GRIDBATCH_INSTANTIATE_FOR_ALL_BACKENDS(AcContingencyTest);

// The rows of a CSV file after its header, as text cells.
std::vector<std::vector<std::string>> csv_rows(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::vector<std::string>> rows;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::stringstream ls(line);
        for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(cell);
        if (!line.empty() && line.back() == ',') cells.emplace_back();
        rows.push_back(cells);
    }
    return rows;
}

// `gridbatch n1 --ac` on the built-in network (rated branches): contingencies.csv holds the base
// case (from the case) and every outage (from the base case's solution) with the library's status
// and lowest voltage, violations.csv every rated loading (MVA at the worse end) above the
// threshold (its network is meshed: islanding.csv is empty).
TEST(AcContingencyCli, WritesWhatTheLibraryComputes) {
    const Network net = builtin_network();
    const std::string dir = ::testing::TempDir() + "gridbatch_n1_ac";
    const std::string cmd = test::cli_command() + " n1 builtin --ac --threshold 40 --threads 2" +
                            " --backend cpu --out " + dir + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::vector<Index> outages{-1};
    for (Index k = 0; k < net.n_branch(); ++k)
        if (net.branch_active(k)) outages.push_back(k);
    const auto ns = static_cast<Index>(outages.size());
    IndexVector out = Eigen::Map<const IndexVector>(outages.data(), ns);
    const Matrix pd = net.buses().pd.replicate(1, ns), qd = net.buses().qd.replicate(1, ns);
    AcOptions o;
    o.backend = Backend::cpu;
    const AcPowerFlowResult base = AcPowerFlow(net, o).solve();
    ASSERT_EQ(base.report.at(0), Status::converged);
    Matrix vm0 = base.vm.replicate(1, ns), va0 = base.va.replicate(1, ns);
    vm0.col(0) = net.buses().vm;
    va0.col(0) = net.buses().va;
    AcBatch batch(pd, qd);
    batch.vm0.emplace(vm0);
    batch.va0_deg.emplace(va0);
    batch.outage.emplace(out);
    o.start = StartMode::warm;
    const AcPowerFlowResult r = AcPowerFlow(net, o).solve(batch);
    EXPECT_EQ(r.vm.col(0), base.vm.col(0));

    const auto rows = csv_rows(dir + "/contingencies.csv");
    ASSERT_EQ(static_cast<Index>(rows.size()), ns);
    Index violations = 0;
    for (Index j = 0; j < ns; ++j) {
        const auto& row = rows[static_cast<std::size_t>(j)];
        ASSERT_EQ(row.size(), 18u);
        EXPECT_EQ(row[1], j == 0 ? "" : std::to_string(outages[static_cast<std::size_t>(j)]));
        EXPECT_EQ(row[4], to_string(r.report.at(j)));
        EXPECT_EQ(row[15], "0");
        if (r.report.at(j) != Status::converged) continue;
        Real lowest = HUGE_VAL;  // over the buses inside the power flow
        for (Index i = 0; i < net.n_bus(); ++i)
            if (net.buses().type[i] != static_cast<std::int8_t>(BusType::isolated))
                lowest = std::min(lowest, r.vm(i, j));
        EXPECT_NEAR(std::stod(row[10]), lowest, 1e-12);
        for (Index k = 0; k < net.n_branch(); ++k) {
            const Real rate = net.branches().rate_a[k];
            if (!(rate > 0)) continue;
            const Real mva =
                std::max(std::hypot(r.pf(k, j), r.qf(k, j)), std::hypot(r.pt(k, j), r.qt(k, j)));
            if (100 * mva / rate > 40) ++violations;
        }
    }
    EXPECT_GT(violations, 0);
    EXPECT_EQ(static_cast<Index>(csv_rows(dir + "/violations.csv").size()), violations);
    EXPECT_TRUE(csv_rows(dir + "/islanding.csv").empty());
    EXPECT_EQ(csv_rows(dir + "/worst.csv").size(), 1u);

    // --outages: the listed outages' rows of the full run, after the base, in branch order.
    const std::string listed = dir + "_listed";
    std::filesystem::create_directories(listed);
    std::ofstream(listed + "/outages.csv") << "outage\n"
                                           << outages[9] << "\n"
                                           << outages[2] << "\n";
    const std::string cmd_listed = test::cli_command() + " n1 builtin --ac --threshold 40 " +
                                   "--backend cpu --outages " + listed + "/outages.csv --out " +
                                   listed + " > /dev/null";
    ASSERT_EQ(std::system(cmd_listed.c_str()), 0) << cmd_listed;
    const auto some = csv_rows(listed + "/contingencies.csv");
    ASSERT_EQ(some.size(), 3u);
    EXPECT_EQ(some[0], rows[0]);
    EXPECT_EQ(some[1], rows[2]);
    EXPECT_EQ(some[2], rows[9]);
}

// On case118, islanding.csv lists the outages that cut buses off, with the part they cut off:
// the buses, load and generation that lose their voltage in the library's power flow.
TEST(AcContingencyCli, ListsTheOutagesThatCutBusesOff) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    const std::string dir = ::testing::TempDir() + "gridbatch_n1_ac_118";
    const std::string cmd = test::cli_command() + " n1 " + test::case_path("case118") +
                            " --ac --backend cpu --out " + dir + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::vector<Index> outages;
    for (Index k = 0; k < net.n_branch(); ++k)
        if (net.branch_active(k)) outages.push_back(k);
    const auto n = static_cast<Index>(outages.size());
    const AcPowerFlowResult base = AcPowerFlow(net).solve();
    const Matrix pd = net.buses().pd.replicate(1, n), qd = net.buses().qd.replicate(1, n);
    const Matrix vm0 = base.vm.replicate(1, n), va0 = base.va.replicate(1, n);
    const IndexVector out = Eigen::Map<const IndexVector>(outages.data(), n);
    AcBatch batch(pd, qd);
    batch.vm0.emplace(vm0);
    batch.va0_deg.emplace(va0);
    batch.outage.emplace(out);
    const AcPowerFlowResult r = AcPowerFlow(net).solve(batch, StartMode::warm);
    std::vector<std::vector<std::string>> expected;
    for (Index j = 0; j < n; ++j) {
        Index dead = 0;
        Real load = 0, generation = 0;
        for (Index i = 0; i < net.n_bus(); ++i) {
            if (!std::isnan(r.vm(i, j))) continue;
            ++dead;
            load += net.buses().pd[i];
            for (Index g = 0; g < net.n_gen(); ++g)
                if (net.gen_bus()[g] == i && net.gen_active(g))
                    generation += net.generators().pg[g];
        }
        if (dead == 0) continue;
        const Index k = outages[static_cast<std::size_t>(j)];
        expected.push_back({std::to_string(k), std::to_string(net.branches().from[k]),
                            std::to_string(net.branches().to[k]), std::to_string(dead)});
        EXPECT_EQ(r.report.at(j), Status::converged) << "outage " << k;
        EXPECT_GT(load + generation, 0) << "outage " << k;
    }
    const auto rows = csv_rows(dir + "/islanding.csv");
    ASSERT_EQ(rows.size(), expected.size());
    EXPECT_GT(rows.size(), 0u);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        ASSERT_EQ(rows[i].size(), 6u);
        EXPECT_EQ(std::vector<std::string>(rows[i].begin(), rows[i].begin() + 4), expected[i]);
    }
}

}  // namespace
}  // namespace gridbatch
