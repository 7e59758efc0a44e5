// The CUDA DC engine's sparse solve (one LU of B_red on the shared schedule, factorised on the
// host; each scenario one thread's substitutions on rows stored scenario-fastest), run on the
// host with the very per-thread code the kernel runs, against the CPU engine's solve; and the
// engine itself on a device, where the dense inverse does not fit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/dc_access.hpp"
#include "cuda/require_device.hpp"
#include "dc_engine_cuda.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"
#include "support/cases.hpp"

namespace gridbatch::detail::cuda {
namespace {

class DcSparseSolve : public ::testing::TestWithParam<std::string> {};

TEST_P(DcSparseSolve, HostStepsMatchTheCpuEngine) {
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path(GetParam()));
    DcOptions options;
    options.backend = Backend::cpu;
    DcPowerFlow pf(net, options);
    const DcModel& model = DcAccess::model(pf);
    const int n = static_cast<int>(model.n_free());
    const long S = 37;  // not a multiple of a warp
    Matrix rhs(n, S);
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (long s = 0; s < S; ++s)
        for (int i = 0; i < n; ++i) rhs(i, s) = u(rng);
    Matrix expected = rhs;
    DcAccess::engine(pf).solve_reduced(expected.data(), n, S);

    const ScheduledLu f = factor_on_schedule(model.b_reduced);
    const std::vector<int>& row_of = f.schedule.inverse_perm();
    std::vector<double> xt(static_cast<std::size_t>(n) * S);
    for (long s = 0; s < S; ++s)  // to_scenario_rows
        for (int i = 0; i < n; ++i) xt[static_cast<std::size_t>(row_of[i]) * S + s] = rhs(i, s);
    for (long s = 0; s < S; ++s)  // lu_solve_shared: thread s
        lu_solve_strided(f.schedule.host_view(), f.values.data(), xt.data() + s, 1, S);
    Matrix x(n, S);
    for (long s = 0; s < S; ++s)  // from_scenario_rows, beta = 0
        for (int i = 0; i < n; ++i) x(i, s) = xt[static_cast<std::size_t>(row_of[i]) * S + s];
    // Unrefined here (the engine refines once); B_red's condition allows 1e-9 of the largest.
    EXPECT_LT((x - expected).cwiseAbs().maxCoeff(), 1e-9 * expected.cwiseAbs().maxCoeff());
}

INSTANTIATE_TEST_SUITE_P(Cases, DcSparseSolve,
                         ::testing::Values("case118", "case2383wp", "case9241pegase"));

// Under a 50 MB limit case2383wp's inverse (2 x 2382^2 doubles while inverting, 91 MB) does not
// fit: the engine takes the sparse solve and agrees with the CPU; forced dense, it is refused.
TEST(CudaDcEngine, SparseSolveWhereTheInverseDoesNotFit) {
    GRIDBATCH_REQUIRE_DEVICE();
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case2383wp"));
    Matrix pd(net.n_bus(), 50);
    for (Index s = 0; s < pd.cols(); ++s) pd.col(s) = net.buses().pd * (0.8 + 0.01 * s);
    DcOptions cpu, gpu;
    cpu.backend = Backend::cpu;
    gpu.backend = Backend::cuda;
    const DcPowerFlowResult a = DcPowerFlow(net, cpu).solve(pd);
    setenv("GRIDBATCH_MEMORY_LIMIT", "50M", 1);
    DcPowerFlow sparse(net, gpu);
    EXPECT_TRUE(dynamic_cast<CudaDcEngine&>(DcAccess::engine(sparse)).sparse());
    const DcPowerFlowResult b = sparse.solve(pd);
    setenv("GRIDBATCH_DC_SOLVE", "dense", 1);
    try {
        DcPowerFlow dense(net, gpu);
        ADD_FAILURE() << "expected an Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("GB of device memory"), std::string::npos) << e.what();
    }
    unsetenv("GRIDBATCH_DC_SOLVE");
    unsetenv("GRIDBATCH_MEMORY_LIMIT");
    EXPECT_TRUE(b.report.all_converged());
    EXPECT_LT((a.va - b.va).cwiseAbs().maxCoeff(), 1e-9 * (1 + a.va.cwiseAbs().maxCoeff()));
    EXPECT_LT((a.pf - b.pf).cwiseAbs().maxCoeff(), 1e-9 * (1 + a.pf.cwiseAbs().maxCoeff()));
}

}  // namespace
}  // namespace gridbatch::detail::cuda
