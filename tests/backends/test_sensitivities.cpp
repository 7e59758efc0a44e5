// PTDF and LODF checked against re-solving the DC power flow (injection changed, branch removed)
// on real cases; N-1 screening against brute force; islanding outages.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"
#include "gridbatch/sensitivities.hpp"
#include "support/backend_test.hpp"
#include "support/cases.hpp"

namespace gridbatch {
namespace {

class SensitivityTest : public test::DcBackendTest {};

Network without_branch(const Network& net, Index k) {
    BranchTable branches = net.branches();
    branches.in_service[k] = 0;
    return Network::from_tables(net.base_mva(), net.buses(), net.generators(), branches,
                                net.source());
}

// `count` indices spread over [0, n) that satisfy `keep`.
template <typename Keep>
std::vector<Index> sample(Index n, Index count, Keep keep) {
    std::vector<Index> out;
    for (Index i = 0, step = std::max<Index>(1, n / (3 * count)); i < n; i += step)
        if (keep(i) && static_cast<Index>(out.size()) < count) out.push_back(i);
    return out;
}

const char* kCases[] = {"case118", "case1354pegase", "case2383wp"};

TEST_P(SensitivityTest, PtdfColumnsMatchResolvingWithChangedInjection) {
    GRIDBATCH_REQUIRE_SHARED();
    const Real delta = 10;  // MW
    for (const char* name : kCases) {
        SCOPED_TRACE(name);
        const Network net = read_matpower(test::case_path(name));
        for (SlackMode mode : {SlackMode::single, SlackMode::distributed}) {
            SCOPED_TRACE(to_string(mode));
            DcPowerFlow pf(net, options(mode));
            const std::vector<Index> buses = sample(net.n_bus(), 5, [](Index) { return true; });
            const Matrix h = ptdf_columns(pf, buses);
            ASSERT_EQ(h.rows(), net.n_branch());
            Matrix pd(net.n_bus(), 1 + buses.size());
            pd.colwise() = net.buses().pd;
            for (std::size_t c = 0; c < buses.size(); ++c) pd(buses[c], 1 + c) -= delta;
            const DcPowerFlowResult r = pf.solve(pd);
            for (std::size_t c = 0; c < buses.size(); ++c) {
                const Vector change = (r.pf.col(1 + c) - r.pf.col(0)) / delta;
                EXPECT_LE((change - h.col(c)).cwiseAbs().maxCoeff(), 1e-8) << "bus " << buses[c];
            }
            // The row form is the same matrix.
            const std::vector<Index> branches =
                sample(net.n_branch(), 4, [&](Index k) { return net.branch_active(k); });
            const Matrix rows = ptdf_rows(pf, branches);
            for (std::size_t i = 0; i < branches.size(); ++i)
                for (std::size_t c = 0; c < buses.size(); ++c)
                    EXPECT_NEAR(rows(i, buses[c]), h(branches[i], c), 1e-10);
        }
    }
}

TEST_P(SensitivityTest, PtdfWithChosenSlackBus) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    DcPowerFlow pf(net, options());
    const Index slack = 40;
    const Real delta = 5;
    const Matrix full = ptdf(pf, {slack});
    ASSERT_EQ(full.cols(), net.n_bus());
    EXPECT_EQ(full.col(slack).cwiseAbs().maxCoeff(), 0);
    for (Index j : {Index{3}, Index{77}, Index{100}}) {
        Matrix pd(net.n_bus(), 2);
        pd.colwise() = net.buses().pd;
        pd(j, 1) -= delta;      // inject at j ...
        pd(slack, 1) += delta;  // ... withdraw at the slack bus
        const DcPowerFlowResult r = pf.solve(pd);
        const Vector change = (r.pf.col(1) - r.pf.col(0)) / delta;
        EXPECT_LE((change - full.col(j)).cwiseAbs().maxCoeff(), 1e-9) << "bus " << j;
        EXPECT_LE((ptdf_rows(pf, {7}, {slack}).row(0).transpose() - full.row(7).transpose())
                      .cwiseAbs()
                      .maxCoeff(),
                  1e-10);
    }
    EXPECT_THROW(ptdf_columns(pf, {net.n_bus()}), Error);
}

TEST_P(SensitivityTest, LodfMatchesResolvingWithBranchRemoved) {
    GRIDBATCH_REQUIRE_SHARED();
    for (const char* name : kCases) {
        SCOPED_TRACE(name);
        const Network net = read_matpower(test::case_path(name));
        DcPowerFlow pf(net, options());
        const DcPowerFlowResult base = pf.solve();
        const std::vector<bool> islanding = islanding_branches(net);
        const std::vector<Index> outages = sample(
            net.n_branch(), 6, [&](Index k) { return net.branch_active(k) && !islanding[k]; });
        ASSERT_EQ(outages.size(), 6u);
        const Lodf l = lodf(pf, outages);
        ASSERT_EQ(l.factors.cols(), 6);
        for (std::size_t c = 0; c < outages.size(); ++c) {
            const Index k = outages[c];
            EXPECT_FALSE(l.islanding[c]);
            EXPECT_EQ(l.factors(k, c), -1);
            const Network cut = without_branch(net, k);
            const DcPowerFlowResult after = DcPowerFlow(cut, options()).solve();
            const Vector predicted = base.pf.col(0) + l.factors.col(c) * base.pf(k, 0);
            const Real scale = std::max<Real>(1, base.pf.col(0).cwiseAbs().maxCoeff());
            EXPECT_LE((predicted - after.pf.col(0)).cwiseAbs().maxCoeff(), 1e-9 * scale)
                << "outage of branch " << k;
        }
    }
}

TEST_P(SensitivityTest, IslandingOutagesAreExactlyTheBridges) {
    GRIDBATCH_REQUIRE_SHARED();
    // Independent check: removing the branch leaves an island without the reference bus, which
    // the power flow rejects.
    const Network net = read_matpower(test::case_path("case118"));
    const std::vector<bool> islanding = islanding_branches(net);
    Index n_islanding = 0;
    for (Index k = 0; k < net.n_branch(); ++k) {
        bool splits = false;
        try {
            DcPowerFlow pf(without_branch(net, k), options());
        } catch (const Error&) {
            splits = true;
        }
        EXPECT_EQ(islanding[k], splits) << "branch " << k;
        n_islanding += splits;
    }
    EXPECT_GT(n_islanding, 0);  // case118 has radial branches: the test checks both answers

    DcPowerFlow pf(net, options());
    const Lodf all = lodf(pf);
    for (Index k = 0; k < net.n_branch(); ++k) {
        EXPECT_EQ(all.islanding[k], islanding[k]);
        EXPECT_TRUE(all.factors.col(k).allFinite());
        if (islanding[k]) {
            EXPECT_EQ(all.factors.col(k).cwiseAbs().maxCoeff(), 0);
        }
    }
}

TEST_P(SensitivityTest, N1ScreeningMatchesBruteForce) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case30"));
    // More scenarios than the CPU engine screens together (8), and not a multiple of that.
    const Index S = 11;
    Matrix pd(net.n_bus(), S);
    for (Index s = 0; s < S; ++s) pd.col(s) = net.buses().pd * (0.9 + 0.03 * s);
    const Real threshold = 60;
    DcPowerFlow pf(net, options());
    N1Options o;
    o.threshold_percent = threshold;
    o.outages_per_block = 7;  // several blocks
    const N1Result res = n1_screen(pf, pd, o);

    const std::vector<bool> islanding = islanding_branches(net);
    std::set<std::tuple<Index, Index, Index>> expected;
    std::vector<Index> expected_islanding;
    Vector worst = Vector::Zero(S);
    std::map<std::tuple<Index, Index, Index>, Real> loading;
    for (Index k = 0; k < net.n_branch(); ++k) {
        if (islanding[k]) {
            expected_islanding.push_back(k);
            continue;
        }
        const DcPowerFlowResult after = DcPowerFlow(without_branch(net, k), options()).solve(pd);
        for (Index s = 0; s < S; ++s)
            for (Index l = 0; l < net.n_branch(); ++l) {
                const Real rate = net.branches().rate_a[l];
                if (rate == 0 || l == k) continue;
                const Real percent = std::abs(after.pf(l, s)) / rate * 100;
                worst[s] = std::max(worst[s], percent);
                if (percent > threshold) {
                    expected.insert({s, k, l});
                    loading[{s, k, l}] = percent;
                }
            }
    }
    ASSERT_FALSE(expected.empty());  // the threshold makes the comparison meaningful
    EXPECT_FALSE(expected_islanding.empty());
    EXPECT_EQ(res.islanding, expected_islanding);
    std::set<std::tuple<Index, Index, Index>> got;
    for (const N1Violation& v : res.violations) {
        got.insert({v.scenario, v.outage, v.branch});
        const auto it = loading.find({v.scenario, v.outage, v.branch});
        if (it != loading.end()) {
            EXPECT_NEAR(v.loading_percent, it->second, 1e-8);
        }
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(res.violations.size(), expected.size());  // no violation twice
    EXPECT_TRUE(std::is_sorted(res.violations.begin(), res.violations.end(),
                               [](const N1Violation& a, const N1Violation& b) {
                                   return std::tie(a.scenario, a.outage, a.branch) <
                                          std::tie(b.scenario, b.outage, b.branch);
                               }));
    for (Index s = 0; s < S; ++s) {
        EXPECT_NEAR(res.worst_loading_percent[s], worst[s], 1e-8);
        ASSERT_GE(res.worst_outage[s], 0);
        const DcPowerFlowResult at_worst =
            DcPowerFlow(without_branch(net, res.worst_outage[s]), options()).solve(pd.col(s));
        EXPECT_NEAR(std::abs(at_worst.pf(res.worst_branch[s], 0)) /
                        net.branches().rate_a[res.worst_branch[s]] * 100,
                    worst[s], 1e-8);
    }

    // min_increase_percent keeps exactly the violations the outage raises by more than that
    // many points over the base case's loading of the same branch (brute force: base.pf).
    for (const Real points : {0.0, 5.0}) {
        SCOPED_TRACE("min_increase_percent " + std::to_string(points));
        N1Options raised = o;
        raised.min_increase_percent = points;
        const N1Result r = n1_screen(pf, pd, raised);
        // Loadings within rounding of the margin (a branch the outage does not touch keeps its
        // base loading exactly in the LODF and to ~1e-13 in the re-solve) are no increase: none
        // is reported (without the screening's round-off margin some were, at random).
        std::set<std::tuple<Index, Index, Index>> want, tie;
        for (const auto& [key, percent] : loading) {
            const auto [sc, k, l] = key;
            const Real base = std::abs(res.base.pf(l, sc)) / net.branches().rate_a[l] * 100;
            if (std::abs(percent - base - points) < 1e-8)
                tie.insert(key);
            else if (percent > base + points)
                want.insert(key);
        }
        std::set<std::tuple<Index, Index, Index>> kept;
        for (const N1Violation& v : r.violations) {
            EXPECT_FALSE(tie.count({v.scenario, v.outage, v.branch}))
                << "scenario " << v.scenario << ", outage " << v.outage << ", branch " << v.branch
                << ": unchanged by the outage";
            kept.insert({v.scenario, v.outage, v.branch});
        }
        EXPECT_EQ(kept, want);
        if (points == 0) {
            EXPECT_FALSE(tie.empty());  // the case has such branches
        }
        EXPECT_LT(want.size(), expected.size());  // the filter removes some here
        EXPECT_FALSE(want.empty());
        for (Index sc = 0; sc < S; ++sc)
            EXPECT_EQ(r.worst_loading_percent[sc], res.worst_loading_percent[sc]);
    }
    N1Options bad = o;
    bad.min_increase_percent = NAN;
    EXPECT_THROW(n1_screen(pf, pd, bad), Error);

    // Without violations to report, the worst loadings are still exact (the screening may skip
    // outages only by a bound).
    N1Options quiet = o;
    quiet.threshold_percent = 1e6;
    const N1Result none = n1_screen(pf, pd, quiet);
    EXPECT_TRUE(none.violations.empty());
    for (Index s = 0; s < S; ++s) {
        EXPECT_NEAR(none.worst_loading_percent[s], worst[s], 1e-8);
        EXPECT_EQ(none.worst_outage[s], res.worst_outage[s]);
        EXPECT_EQ(none.worst_branch[s], res.worst_branch[s]);
    }

    // On one CPU thread (the caller screens the chunks in turn) the same list and worst.
    DcOptions one_thread = options();
    one_thread.threads = 1;
    DcPowerFlow single(net, one_thread);
    const N1Result serial = n1_screen(single, pd, o);
    ASSERT_EQ(serial.violations.size(), res.violations.size());
    for (std::size_t v = 0; v < res.violations.size(); ++v) {
        const N1Violation &a = serial.violations[v], &b = res.violations[v];
        EXPECT_EQ(std::tie(a.scenario, a.outage, a.branch),
                  std::tie(b.scenario, b.outage, b.branch));
        EXPECT_NEAR(a.loading_percent, b.loading_percent, 1e-9);
    }
    EXPECT_EQ(serial.worst_outage, res.worst_outage);
    EXPECT_EQ(serial.worst_branch, res.worst_branch);

    // A chosen list of outages screens only those.
    N1Options some = o;
    some.outages = {1, 5};
    const N1Result part = n1_screen(pf, pd, some);
    EXPECT_EQ(part.screened, (std::vector<Index>{1, 5}));
    for (const N1Violation& v : part.violations) EXPECT_TRUE(v.outage == 1 || v.outage == 5);

    // The outages in descending order (each scenario's violations are then found out of order,
    // and across blocks): the same sorted list.
    N1Options reversed = o;
    reversed.outages = res.screened;
    std::reverse(reversed.outages.begin(), reversed.outages.end());
    const N1Result back = n1_screen(pf, pd, reversed);
    ASSERT_EQ(back.violations.size(), res.violations.size());
    for (std::size_t v = 0; v < res.violations.size(); ++v) {
        const N1Violation &a = back.violations[v], &b = res.violations[v];
        EXPECT_EQ(std::tie(a.scenario, a.outage, a.branch),
                  std::tie(b.scenario, b.outage, b.branch))
            << "violation " << v;
        EXPECT_NEAR(a.loading_percent, b.loading_percent, 1e-10);
    }
}

GRIDBATCH_INSTANTIATE_FOR_ALL_BACKENDS(SensitivityTest);

}  // namespace
}  // namespace gridbatch
