// The `gridbatch pf --dc` and `gridbatch n1` commands, run as a program: files, headers and values
// against MATPOWER's references and the library.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/matpower.hpp"
#include "gridbatch/sensitivities.hpp"
#include "support/cases.hpp"

namespace gridbatch {
namespace {

namespace fs = std::filesystem;

class CliDcTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("gridbatch_cli_dc_" +
                std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Runs the program; returns its exit code, stdout+stderr in `output_`.
    int run(const std::string& args) {
        const fs::path log = dir_ / "log.txt";
        const std::string command =
            test::cli_command() + " " + args + " > \"" + log.string() + "\" 2>&1";
        const int status = std::system(command.c_str());
        std::ifstream in(log);
        output_.assign(std::istreambuf_iterator<char>(in), {});
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }

    fs::path dir_;
    std::string output_;
};

TEST_F(CliDcTest, SingleCaseWritesMatpowerFiles) {
    GRIDBATCH_REQUIRE_SHARED();
    const std::string name = "case30";
    ASSERT_EQ(run("pf " + test::case_path(name) + " --dc --backend cpu --out " + path("out")), 0)
        << output_;
    const test::Csv bus = test::read_csv(path("out/bus.csv"));
    const test::Csv branch = test::read_csv(path("out/branch.csv"));
    const test::Csv gen = test::read_csv(path("out/gen.csv"));
    EXPECT_EQ(bus.header, (std::vector<std::string>{"bus_id", "vm", "va_deg"}));
    EXPECT_EQ(branch.header,
              (std::vector<std::string>{"from", "to", "pf_mw", "qf_mvar", "pt_mw", "qt_mvar"}));
    EXPECT_EQ(gen.header, (std::vector<std::string>{"bus_id", "pg_mw", "qg_mvar"}));

    const test::Csv ref_bus = test::read_csv(test::ref_path(name, "dc_bus.csv"));
    const test::Csv ref_branch = test::read_csv(test::ref_path(name, "dc_branch.csv"));
    const test::Csv ref_gen = test::read_csv(test::ref_path(name, "dc_gen.csv"));
    auto expect_column = [](const test::Csv& got, const test::Csv& ref, const std::string& col) {
        const auto a = got.column(col), b = ref.column(col);
        ASSERT_EQ(a.size(), b.size()) << col;
        for (std::size_t i = 0; i < a.size(); ++i)
            EXPECT_NEAR(a[i], b[i], 1e-8) << col << " row " << i;
    };
    for (const char* c : {"bus_id", "vm", "va_deg"}) expect_column(bus, ref_bus, c);
    for (const char* c : {"from", "to", "pf_mw", "qf_mvar", "pt_mw", "qt_mvar"})
        expect_column(branch, ref_branch, c);
    for (const char* c : {"bus_id", "pg_mw", "qg_mvar"}) expect_column(gen, ref_gen, c);
}

TEST_F(CliDcTest, LoadScaleWritesScenarioMatrices) {
    GRIDBATCH_REQUIRE_SHARED();
    {
        std::ofstream scale(path("scale.csv"));
        scale << "scale\n0.8\n1\n1.25\n";
    }
    ASSERT_EQ(run("pf " + test::case_path("case57") + " --dc --load-scale " + path("scale.csv") +
                  " --out " + path("out")),
              0)
        << output_;
    EXPECT_NE(output_.find(", 3 scenarios on "), std::string::npos) << output_;
    const test::Csv va = test::read_csv(path("out/va_deg.csv"));
    const test::Csv pf = test::read_csv(path("out/pf_mw.csv"));
    const test::Csv summary = test::read_csv(path("out/summary.csv"));
    const test::Csv pg = test::read_csv(path("out/pg_mw.csv"));
    EXPECT_EQ(va.header, (std::vector<std::string>{"bus_id", "s0", "s1", "s2"}));
    EXPECT_EQ(pg.header, (std::vector<std::string>{"bus_id", "s0", "s1", "s2"}));
    EXPECT_EQ(pf.header, (std::vector<std::string>{"from", "to", "s0", "s1", "s2"}));
    EXPECT_EQ(summary.header, (std::vector<std::string>{"scenario", "converged", "iterations",
                                                        "max_mismatch", "status"}));
    ASSERT_EQ(summary.rows.size(), 3u);
    for (const auto& row : summary.rows) EXPECT_EQ(row[1], 1);

    // Scenario 1 (factor 1) is the case: MATPOWER's solution.
    const auto va_ref = test::read_csv(test::ref_path("case57", "dc_bus.csv")).column("va_deg");
    const auto pf_ref = test::read_csv(test::ref_path("case57", "dc_branch.csv")).column("pf_mw");
    const auto va1 = va.column("s1"), pf1 = pf.column("s1");
    ASSERT_EQ(va1.size(), va_ref.size());
    for (std::size_t i = 0; i < va1.size(); ++i) EXPECT_NEAR(va1[i], va_ref[i], 1e-8);
    ASSERT_EQ(pf1.size(), pf_ref.size());
    for (std::size_t i = 0; i < pf1.size(); ++i) EXPECT_NEAR(pf1[i], pf_ref[i], 1e-8);
    const auto pg_ref = test::read_csv(test::ref_path("case57", "dc_gen.csv")).column("pg_mw");
    const auto pg1 = pg.column("s1");
    ASSERT_EQ(pg1.size(), pg_ref.size());
    for (std::size_t g = 0; g < pg1.size(); ++g) EXPECT_NEAR(pg1[g], pg_ref[g], 1e-6);

    // Other scenarios: the library with the scaled loads.
    const Network net = read_matpower(test::case_path("case57"));
    DcOptions options;
    options.backend = Backend::cpu;
    const DcPowerFlowResult r = dc_power_flow(net, net.buses().pd * 1.25, options);
    const auto pf2 = pf.column("s2");
    for (Index k = 0; k < net.n_branch(); ++k) EXPECT_NEAR(pf2[k], r.pf(k, 0), 1e-9);
}

TEST_F(CliDcTest, N1WritesViolationsAndWorstLoading) {
    GRIDBATCH_REQUIRE_SHARED();
    {
        std::ofstream scale(path("scale.csv"));
        scale << "scale\n0.9\n1.1\n";
    }
    ASSERT_EQ(run("n1 " + test::case_path("case30") + " --load-scale " + path("scale.csv") +
                  " --threshold 70 --backend cpu --out " + path("out")),
              0)
        << output_;
    const test::Csv violations = test::read_csv(path("out/violations.csv"));
    const test::Csv worst = test::read_csv(path("out/worst.csv"));
    const test::Csv islanding = test::read_csv(path("out/islanding.csv"));

    const Network net = read_matpower(test::case_path("case30"));
    DcOptions options;
    options.backend = Backend::cpu;
    DcPowerFlow pf(net, options);
    Matrix pd(net.n_bus(), 2);
    pd.col(0) = net.buses().pd * 0.9;
    pd.col(1) = net.buses().pd * 1.1;
    N1Options n1;
    n1.threshold_percent = 70;
    const N1Result expected = n1_screen(pf, pd, n1);
    ASSERT_FALSE(expected.violations.empty());
    ASSERT_EQ(violations.rows.size(), expected.violations.size());
    const auto scenario = violations.column("scenario"), outage = violations.column("outage"),
               branch = violations.column("branch"), loading = violations.column("loading_pct"),
               from = violations.column("branch_from");
    for (std::size_t i = 0; i < expected.violations.size(); ++i) {
        const N1Violation& v = expected.violations[i];
        EXPECT_EQ(scenario[i], v.scenario);
        EXPECT_EQ(outage[i], v.outage);
        EXPECT_EQ(branch[i], v.branch);
        EXPECT_EQ(from[i], net.branches().from[v.branch]);
        EXPECT_NEAR(loading[i], v.loading_percent, 1e-9);
    }
    ASSERT_EQ(worst.rows.size(), 2u);
    const auto w = worst.column("worst_loading_pct");
    for (Index s = 0; s < 2; ++s) EXPECT_NEAR(w[s], expected.worst_loading_percent[s], 1e-9);
    EXPECT_EQ(islanding.rows.size(), expected.islanding.size());
    // The summary line counts in words ("1 islanding outage", not "1 islanding outages").
    EXPECT_NE(
        output_.find(": 2 scenarios x " + std::to_string(expected.screened.size()) +
                     " outages on cpu, " + std::to_string(expected.violations.size()) +
                     " loadings above 70% of rateA, " +
                     (expected.islanding.size() == 1
                          ? std::string("1 islanding outage;")
                          : std::to_string(expected.islanding.size()) + " islanding outages;")),
        std::string::npos)
        << output_;

    // --min-increase reaches the screening.
    ASSERT_EQ(run("n1 " + test::case_path("case30") + " --load-scale " + path("scale.csv") +
                  " --threshold 70 --min-increase 10 --backend cpu --out " + path("raised")),
              0)
        << output_;
    n1.min_increase_percent = 10;
    const N1Result raised = n1_screen(pf, pd, n1);
    EXPECT_LT(raised.violations.size(), expected.violations.size());
    EXPECT_EQ(test::read_csv(path("raised/violations.csv")).rows.size(), raised.violations.size());
}

TEST_F(CliDcTest, BadInputGivesOneLineErrors) {
    GRIDBATCH_REQUIRE_SHARED();
    EXPECT_EQ(run("pf " + test::case_path("case9") + " --out " + path("out")), 2);  // usage
    EXPECT_NE(output_.find("--dc"), std::string::npos) << output_;
    {
        std::ofstream scale(path("scale.csv"));
        scale << "factor\n1\n";
    }
    EXPECT_EQ(run("pf " + test::case_path("case9") + " --dc --load-scale " + path("scale.csv") +
                  " --out " + path("out")),
              1);
    EXPECT_NE(output_.find("no column 'scale'"), std::string::npos) << output_;
    {
        std::ofstream scale(path("scale.csv"));
        scale << "scale\n1\nabc\n";
    }
    EXPECT_EQ(run("pf " + test::case_path("case9") + " --dc --load-scale " + path("scale.csv") +
                  " --out " + path("out")),
              1);
    EXPECT_NE(output_.find("scale.csv:3: 'abc' is not a finite number"), std::string::npos)
        << output_;
    EXPECT_EQ(run("pf " + test::case_path("case9") + " --dc --backend gpu --out " + path("out")),
              1);
    EXPECT_NE(output_.find("unknown backend 'gpu'"), std::string::npos) << output_;
}

}  // namespace
}  // namespace gridbatch
