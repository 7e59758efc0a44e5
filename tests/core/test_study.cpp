// The study on a short run: energy balance, SoC bounds, and its power-flow results against the
// AC solver run directly on the same injections.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"
#include "gridbatch/sensitivities.hpp"
#include "gridbatch/smooth_dispatch.hpp"
#include "gridbatch/study.hpp"
#include "support/cases.hpp"
#include "support/expect_error.hpp"

namespace gridbatch {
namespace {

StudyOptions short_run() {
    StudyOptions o;
    o.steps = 300;
    o.scenarios = 2;
    o.sizing_points = 3;
    o.n1_steps = 2;
    o.backend = Backend::cpu;
    o.ac_chunk = 97;  // several chunks, one of them partial
    return o;
}

class StudyShortRun : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        net_ = new Network(builtin_network());
        result_ = new StudyResult(run_study(*net_, short_run()));
    }
    static void TearDownTestSuite() {
        delete result_;
        delete net_;
    }
    static Network* net_;
    static StudyResult* result_;
};
Network* StudyShortRun::net_ = nullptr;
StudyResult* StudyShortRun::result_ = nullptr;

TEST_F(StudyShortRun, EnergyBalanceAndSocBoundsHoldEveryStep) {
    const StudyResult& r = *result_;
    const BatteryFleet fleet =
        BatteryFleet::from_units(battery_unit(r.options.unit), r.options.fleet_units);
    ASSERT_EQ(r.outcomes.size(), std::size(kStrategies));
    for (const auto& o : r.outcomes) {
        const DispatchResult& d = o.dispatch;
        ASSERT_EQ(d.grid_mw.rows(), r.options.steps);
        // campus load = grid draw + battery discharge - charge
        EXPECT_LT((r.load_mw - d.grid_mw - d.battery_mw).cwiseAbs().maxCoeff(), 1e-9);
        EXPECT_GE(d.soc_mwh.minCoeff(), fleet.soc_min * fleet.energy_mwh - 1e-9);
        EXPECT_LE(d.soc_mwh.maxCoeff(), fleet.soc_max * fleet.energy_mwh + 1e-9);
        EXPECT_LE(d.battery_mw.maxCoeff(), fleet.discharge_mw + 1e-9);
        EXPECT_GE(d.battery_mw.minCoeff(), -fleet.charge_mw - 1e-9);
        EXPECT_EQ(o.ac_not_converged.sum(), 0);
    }
    // The battery must make the grid draw smoother than the raw load.
    for (Index s = 0; s < r.options.scenarios; ++s)
        EXPECT_LT(r.outcomes[2].metrics.std_mw[s], r.outcomes[0].metrics.std_mw[s]);
}

// The ramp-aware dispatch minimises h [sum (g_t - g_{t-1})^2 + w_level sum (g_t - mean)^2]
// (smooth_dispatch's defaults) over the same limits as the optimal dispatch, whose grid draw is
// therefore no better under that objective; and the ramps it leaves are what it is for.
TEST_F(StudyShortRun, RampAwareDispatchIsOptimalForItsObjective) {
    const StudyResult& r = *result_;
    const Real h = r.options.dt_seconds / 3600;
    const Real w_level = SmoothDispatchOptions{}.effective_level_weight();
    const auto objective = [&](const DispatchResult& d, Index s) {
        const Real mean = r.load_mw.col(s).mean();
        Real ramps = 0, level = 0;
        for (Index t = 0; t < r.options.steps; ++t) {
            const Real g = d.grid_mw(t, s);
            if (t > 0) ramps += (g - d.grid_mw(t - 1, s)) * (g - d.grid_mw(t - 1, s));
            level += (g - mean) * (g - mean);
        }
        return h * (ramps + w_level * level);
    };
    const StrategyOutcome& ramp_aware = r.outcomes[static_cast<std::size_t>(Strategy::ramp_aware)];
    const StrategyOutcome& optimal = r.outcomes[static_cast<std::size_t>(Strategy::optimal)];
    for (Index s = 0; s < r.options.scenarios; ++s) {
        EXPECT_EQ(ramp_aware.dispatch.report.at(s), Status::converged);
        const Real mine = objective(ramp_aware.dispatch, s);
        EXPECT_NEAR(mine, ramp_aware.dispatch.objective[s], 1e-9 * (1 + mine));
        EXPECT_LE(mine, objective(optimal.dispatch, s) * (1 + 1e-9)) << "scenario " << s;
        EXPECT_LE(ramp_aware.metrics.max_ramp_mw_per_s[s], optimal.metrics.max_ramp_mw_per_s[s]);
        EXPECT_GE(r.ramp_aware_smallest_fleet[s], -1);
    }
    for (const SizingPoint& p : r.sizing)
        EXPECT_EQ(p.ramp_aware_max_ramp_mw_per_min.size(), r.options.scenarios);
    // The sweep's ramps are dispatch_metrics' measure: at no units, the load's.
    ASSERT_EQ(r.sizing.front().units, 0);
    const auto& none = r.outcomes[static_cast<std::size_t>(Strategy::none)].metrics;
    EXPECT_EQ(r.sizing.front().max_ramp_mw_per_min, none.max_ramp_mw_per_min);
    EXPECT_EQ(r.sizing.front().ramp_aware_max_ramp_mw_per_min, none.max_ramp_mw_per_min);
}

// The study solves each strategy's steps as time series (each step warm from the one before) in
// chunks of ac_chunk (97, rounded up to whole blocks of kTimeSeriesBlock): the same numbers,
// bitwise, as the AC solver on all the columns at once; and, within the solver's tolerance, what
// a solve from the case gives for single steps.
TEST_F(StudyShortRun, PowerFlowsEqualTheAcSolverOnTheSameInjections) {
    const StudyResult& r = *result_;
    const Network& net = *net_;
    const Index poi = net.internal_bus(r.poi_bus), T = r.options.steps, S = r.options.scenarios;
    const Real tan_phi = std::tan(std::acos(r.options.power_factor));
    const auto max_loading = [&](const AcPowerFlowResult& a, Index c) {
        Real worst = 0;
        for (Index l = 0; l < net.n_branch(); ++l)
            worst = std::max(worst, std::max(std::hypot(a.pf(l, c), a.qf(l, c)),
                                             std::hypot(a.pt(l, c), a.qt(l, c))) /
                                        net.branches().rate_a[l] * 100);
        return worst;
    };
    AcOptions ao;
    ao.backend = Backend::cpu;
    const AcPowerFlow from_case(net, ao);
    ao.start = StartMode::previous_step;
    const AcPowerFlow series(net, ao);
    for (Strategy k : kStrategies) {
        const StrategyOutcome& o = r.outcomes[static_cast<std::size_t>(k)];
        Matrix pd = net.buses().pd.replicate(1, T * S), qd = net.buses().qd.replicate(1, T * S);
        for (Index s = 0; s < S; ++s)
            for (Index t = 0; t < T; ++t) {
                pd(poi, s * T + t) += o.dispatch.grid_mw(t, s);
                qd(poi, s * T + t) += o.dispatch.grid_mw(t, s) * tan_phi;
            }
        const AcPowerFlowResult all = series.solve(pd, qd);
        ASSERT_TRUE(all.report.all_converged());
        for (Index s = 0; s < S; ++s)
            for (Index t = 0; t < T; ++t) {
                ASSERT_EQ(o.poi_vm(t, s), all.vm(poi, s * T + t)) << to_string(k) << " t=" << t;
                ASSERT_EQ(o.max_loading(t, s), max_loading(all, s * T + t));
            }
        for (Index s = 0; s < S; ++s)
            EXPECT_EQ(o.peak_loading[s], o.max_loading.col(s).maxCoeff()) << to_string(k);
        for (auto [t, s] : {std::pair<Index, Index>{0, 0}, {137, 1}, {299, 1}}) {
            const AcPowerFlowResult a =
                from_case.solve(pd.middleCols(s * T + t, 1), qd.middleCols(s * T + t, 1));
            ASSERT_EQ(a.report.at(0), Status::converged);
            EXPECT_NEAR(o.poi_vm(t, s), a.vm(poi, 0), 1e-8) << to_string(k) << " t=" << t;
            EXPECT_NEAR(o.max_loading(t, s), max_loading(a, 0), 1e-6);
        }
    }
}

// Each N-1 row is the DC screening of that step's injections (the POI draws the strategy's grid
// draw on top of the case's loads), run here on its own.
TEST_F(StudyShortRun, N1RowsEqualTheScreeningOfTheirStep) {
    const StudyResult& r = *result_;
    const Index poi = net_->internal_bus(r.poi_bus);
    DcOptions dc;
    dc.backend = r.options.backend;
    DcPowerFlow pf(*net_, dc);
    ASSERT_FALSE(r.n1.empty());
    Index violations = 0;
    for (const StudyN1Row& row : r.n1) {
        SCOPED_TRACE(std::string(to_string(row.strategy)) + ", scenario " +
                     std::to_string(row.scenario) + ", step " + std::to_string(row.step));
        Matrix pd = net_->buses().pd;
        pd(poi, 0) += r.outcomes[static_cast<std::size_t>(row.strategy)].dispatch.grid_mw(
            row.step, row.scenario);
        const N1Result n1 = n1_screen(pf, pd);
        EXPECT_NEAR(row.worst_loading_percent, n1.worst_loading_percent[0], 1e-9);
        EXPECT_EQ(row.worst_outage, n1.worst_outage[0]);
        EXPECT_EQ(row.worst_branch, n1.worst_branch[0]);
        EXPECT_EQ(row.n_violations, static_cast<Index>(n1.violations.size()));
        violations += row.n_violations;
    }
    EXPECT_GT(violations, 0);  // the counts are worth comparing: the campus overloads a circuit
}

// Each N-1 row's AC part is the AC contingencies of that step (the POI draws the strategy's grid
// draw at the study's power factor): every in-service branch out in turn, from the step's
// solution.
TEST_F(StudyShortRun, AcN1RowsEqualTheContingenciesOfTheirStep) {
    const StudyResult& r = *result_;
    const Network& net = *net_;
    const Index poi = net.internal_bus(r.poi_bus);
    const Real tan_phi = std::tan(std::acos(r.options.power_factor));
    std::vector<Index> outages;
    for (Index k = 0; k < net.n_branch(); ++k)
        if (net.branch_active(k)) outages.push_back(k);
    const auto n = static_cast<Index>(outages.size());
    const IndexVector out = Eigen::Map<const IndexVector>(outages.data(), n);
    AcOptions ao;
    ao.backend = Backend::cpu;
    const AcPowerFlow step_pf(net, ao);
    ao.start = StartMode::warm;
    const AcPowerFlow pf(net, ao);
    for (const StudyN1Row& row : r.n1) {
        SCOPED_TRACE(std::string(to_string(row.strategy)) + ", scenario " +
                     std::to_string(row.scenario) + ", step " + std::to_string(row.step));
        const Real g = r.outcomes[static_cast<std::size_t>(row.strategy)].dispatch.grid_mw(
            row.step, row.scenario);
        Matrix pd = net.buses().pd.replicate(1, n), qd = net.buses().qd.replicate(1, n);
        pd.row(poi).array() += g;
        qd.row(poi).array() += g * tan_phi;
        const AcPowerFlowResult step = step_pf.solve(pd.col(0), qd.col(0));
        ASSERT_EQ(step.report.at(0), Status::converged);
        const Matrix vm0 = step.vm.replicate(1, n), va0 = step.va.replicate(1, n);
        AcBatch batch(pd, qd);
        batch.vm0.emplace(vm0);
        batch.va0_deg.emplace(va0);
        batch.outage.emplace(out);
        const AcPowerFlowResult a = pf.solve(batch);
        Real worst = -1, lowest_poi = HUGE_VAL;
        Index worst_outage = -1, converged = 0;
        for (Index c = 0; c < n; ++c) {
            if (a.report.at(c) != Status::converged) continue;
            ++converged;
            for (Index l = 0; l < net.n_branch(); ++l) {
                const Real loading = std::max(std::hypot(a.pf(l, c), a.qf(l, c)),
                                              std::hypot(a.pt(l, c), a.qt(l, c))) /
                                     net.branches().rate_a[l] * 100;
                if (loading > worst) {
                    worst = loading;
                    worst_outage = out[c];
                }
            }
            lowest_poi = std::min(lowest_poi, a.vm(poi, c));
        }
        ASSERT_GT(converged, 0);
        EXPECT_EQ(row.ac_not_converged + row.ac_islanding, n - converged);
        EXPECT_NEAR(row.ac_worst_loading_percent, worst, 1e-9);
        EXPECT_EQ(row.ac_worst_outage, worst_outage);
        EXPECT_NEAR(row.ac_min_poi_vm, lowest_poi, 1e-12);
        EXPECT_LE(row.ac_min_vm, row.ac_min_poi_vm);
        // An outage moves the flows: the worst AC loading after one is above the step's own.
        EXPECT_GT(
            row.ac_worst_loading_percent,
            r.outcomes[static_cast<std::size_t>(row.strategy)].max_loading(row.step, row.scenario));
    }
}

// A POI fed by one radial branch (case118's bus 117, from bus 12): each N-1 step's AC
// contingencies count that outage as cutting the campus off, and the case's other radial outages
// as cutting buses off, all solved.
TEST(Study, AcN1CountsTheOutagesThatCutThePoiOff) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case118"));
    StudyOptions o;
    o.poi_bus = 117;
    o.campus_mw = 20;
    o.fleet_units = 10;
    o.steps = 60;
    o.scenarios = 1;
    o.n1_steps = 1;
    o.sizing_points = 2;
    o.backend = Backend::cpu;
    const StudyResult r = run_study(net, o);
    ASSERT_EQ(r.n1.size(), std::size(kStrategies));
    for (const StudyN1Row& row : r.n1) {
        EXPECT_EQ(row.ac_poi_cut_off, 1);
        EXPECT_EQ(row.ac_islanding, 9);  // case118's radial branches (docs/contingencies.md)
        EXPECT_EQ(row.ac_not_converged, 0);
        EXPECT_FALSE(std::isnan(row.ac_min_poi_vm));
    }
    // The command prints the N-1 block and warns that the POI's connection is not N-1 secure.
    const auto dir = std::filesystem::temp_directory_path() / "gridbatch_study_radial_poi";
    const std::string cmd = test::cli_command() + " study --case " + test::case_path("case118") +
                            " --poi 117 --campus-mw 20 --fleet 10 --steps 60 --scenarios 1 "
                            "--n1-steps 1 --sizing-points 2 --backend cpu --no-plots --out " +
                            dir.string() + " > " + dir.string() + ".txt 2> /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(dir.string() + ".txt");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("N-1 of each strategy's 1 worst steps"), std::string::npos) << text;
    EXPECT_NE(text.find("warning: 1 single-branch outage(s) cut the POI off"), std::string::npos)
        << text;
}

// A network without branch ratings (case14) has no loadings to report: NaN, not 0 %, and the
// N-1 steps are those of the largest grid draw (by loading they were all 0, so the first steps).
TEST(Study, NetworkWithoutRatingsReportsNoLoading) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case14"));
    StudyOptions o;
    o.poi_bus = 9;
    o.campus_mw = 30;
    o.steps = 120;
    o.scenarios = 1;
    o.n1_steps = 2;
    o.n1_ac = false;
    o.sizing_points = 2;
    o.backend = Backend::cpu;
    const StudyResult r = run_study(net, o);
    for (const StrategyOutcome& outcome : r.outcomes) {
        EXPECT_TRUE(outcome.max_loading.array().isNaN().all());
        EXPECT_TRUE(std::isnan(outcome.peak_loading[0]));
    }
    ASSERT_EQ(r.n1.size(), 2 * std::size(kStrategies));
    for (const StudyN1Row& row : r.n1) {
        EXPECT_TRUE(std::isnan(row.base_max_loading) && std::isnan(row.worst_loading_percent));
        const Matrix& grid = r.outcomes[static_cast<std::size_t>(row.strategy)].dispatch.grid_mw;
        // Among the largest draws of its strategy: none of the steps left out draws more.
        Index above = 0;
        for (Index t = 0; t < grid.rows(); ++t) above += grid(t, 0) > grid(row.step, 0);
        EXPECT_LT(above, 2) << to_string(row.strategy) << " step " << row.step;
    }
}

TEST_F(StudyShortRun, WritesEveryOutputFile) {
    const auto dir = std::filesystem::temp_directory_path() / "gridbatch_test_study";
    write_study(*result_, *net_, dir.string());
    for (const char* f : {"summary.csv", "timeseries.csv", "spectrum.csv", "sizing.csv",
                          "voltage_violations.csv", "n1.csv"})
        EXPECT_GT(std::filesystem::file_size(dir / f), 20u) << f;
    EXPECT_EQ(result_->n1.size(), std::size(kStrategies) * 2u);
    EXPECT_EQ(result_->sizing.size(), 3u);
}

// The sizing sweep batches several fleet sizes per call when scenarios are fewer than threads:
// the same numbers, bitwise, as one size per call.
TEST(Study, SizingDoesNotDependOnTheThreadCount) {
    const Network net = builtin_network();
    StudyOptions o = short_run();
    o.scenarios = 1;
    o.n1_steps = 0;
    o.sizing_points = 4;
    o.threads = 1;
    const StudyResult one = run_study(net, o);
    o.threads = 3;  // three sizes per call
    const StudyResult three = run_study(net, o);
    ASSERT_EQ(one.sizing.size(), 4u);
    for (std::size_t p = 0; p < one.sizing.size(); ++p) {
        EXPECT_EQ(one.sizing[p].units, three.sizing[p].units);
        EXPECT_EQ(one.sizing[p].max_ramp_mw_per_min, three.sizing[p].max_ramp_mw_per_min);
        EXPECT_EQ(one.sizing[p].ramp_aware_max_ramp_mw_per_min,
                  three.sizing[p].ramp_aware_max_ramp_mw_per_min);
    }
    EXPECT_GT(one.sizing.back().units, 0);
    EXPECT_EQ(one.smallest_fleet, three.smallest_fleet);
    EXPECT_EQ(one.ramp_aware_smallest_fleet, three.ramp_aware_smallest_fleet);
}

std::string error_of(const StudyOptions& o, const Network& net) {
    return test::error_of([&] { run_study(net, o); });
}

TEST(Study, BadOptionsNameTheOption) {
    const Network net = builtin_network();
    StudyOptions o = short_run();
    o.campus_mw = -5;
    EXPECT_NE(error_of(o, net).find("StudyOptions.campus_mw (--campus-mw) must be"),
              std::string::npos);
    o = short_run();
    o.poi_bus = 123456;
    EXPECT_NE(error_of(o, net).find("StudyOptions.poi_bus (--poi): bus 123456"), std::string::npos);
    o = short_run();
    o.fleet_units = -1;
    EXPECT_NE(error_of(o, net).find("--fleet"), std::string::npos);
    o = short_run();
    o.unit = "no-such-unit";
    EXPECT_NE(error_of(o, net).find("no-such-unit"), std::string::npos);
    // A small fleet cannot hold a 150 MW campus under a 60 MW import limit.
    o = short_run();
    o.fleet_units = 2;
    o.import_limit_mw = 60;
    const std::string msg = error_of(o, net);
    EXPECT_NE(msg.find("--fleet 2 x megapack-2h"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--import-limit 60 MW"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fails at step 0 by "), std::string::npos) << msg;
}

// A 4 GW campus at the built-in network's 161 kV POI is past what any power flow there can
// carry: every step is counted as not converged and left out of the voltage and loading figures,
// which are NaN (not 0, not the start's voltages), in the result and in summary.csv.
TEST(Study, StepsWhosePowerFlowFailsAreCountedAndLeftOut) {
    const Network net = builtin_network();
    StudyOptions o = short_run();
    o.campus_mw = 4000;
    o.steps = 30;
    o.scenarios = 1;
    const StudyResult r = run_study(net, o);
    for (const StrategyOutcome& k : r.outcomes) {
        EXPECT_EQ(k.ac_not_converged[0], o.steps);
        EXPECT_TRUE(k.poi_vm.array().isNaN().all());
        EXPECT_TRUE(std::isnan(k.poi_vm_min[0]));
        EXPECT_TRUE(std::isnan(k.poi_max_dv_step[0]));  // no pair of steps, not a step of 0
        EXPECT_TRUE(std::isnan(k.peak_loading[0]));
        EXPECT_EQ(k.voltage_violations[0], 0);
    }
    const std::string dir = ::testing::TempDir() + "gridbatch_study_failed_ac";
    write_study(r, net, dir);
    std::ifstream summary(dir + "/summary.csv");
    std::string header, row;
    std::getline(summary, header);
    std::getline(summary, row);
    const auto cell = [](const std::string& line, int k) {
        std::stringstream ss(line);
        std::string c;
        for (int i = 0; i <= k; ++i) std::getline(ss, c, ',');
        return c;
    };
    EXPECT_EQ(cell(header, 9), "poi_max_dv_step");
    EXPECT_EQ(cell(row, 9), "nan");
    EXPECT_EQ(cell(header, 10), "max_branch_loading_pct");
    EXPECT_EQ(cell(row, 10), "nan");
    EXPECT_EQ(cell(header, 12), "ac_not_converged");
    EXPECT_EQ(cell(row, 12), std::to_string(o.steps));
}

TEST(Study, WelchPsdIntegratesToTheVariance) {
    // Parseval: the one-sided PSD integrated over frequency equals the variance (Hann-windowed
    // Welch estimate of a stationary sine: within a few percent).
    const Index n = 8192;
    Vector x(n);
    for (Index i = 0; i < n; ++i) x[i] = 3.0 * std::sin(2 * M_PI * 0.125 * static_cast<Real>(i));
    const auto [f, p] = welch_psd(x, 1.0, 1024);
    const Real df = f[1] - f[0];
    EXPECT_NEAR(p.sum() * df, 4.5, 0.1);
    Index peak = 0;
    p.maxCoeff(&peak);
    EXPECT_NEAR(f[peak], 0.125, df);
    // The shortest series it takes, and the ones it refuses (a shorter Hann window is all zeros:
    // the estimate was NaN, and an empty series crashed).
    const auto [f4, p4] = welch_psd(x.head(4), 1.0, 1024);
    EXPECT_EQ(f4.size(), 3);
    EXPECT_TRUE(p4.allFinite());
    EXPECT_GT(p4.sum(), 0);
    test::expect_error([&] { welch_psd(x.head(3), 1.0, 1024); },
                       {"welch_psd needs segments of at least 4 samples (got 3 samples"});
    test::expect_error([&] { welch_psd(Vector(), 1.0, 1024); }, {"got 0 samples"});
    test::expect_error([&] { welch_psd(x, 1.0, 2); }, {"segment 2"});
    test::expect_error([&] { welch_psd(x, 0.0, 1024); }, {"dt must be finite and > 0 (got 0)"});
    Vector bad = x;
    bad[7] = NAN;
    test::expect_error([&] { welch_psd(bad, 1.0, 1024); }, {"welch_psd: x[7] is nan"});
}

}  // namespace
}  // namespace gridbatch
