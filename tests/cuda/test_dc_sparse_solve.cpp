// The CUDA DC engine's sparse solve (one LU of B_red on the shared schedule, factorised on the
// host; each scenario one thread's substitutions on rows stored scenario-fastest): on the host
// with the very per-thread code the kernel runs, and on a device step by step, against the CPU
// engine's solve; and the engine itself on a device, where the dense inverse does not fit.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/dc_access.hpp"
#include "cuda/require_device.hpp"
#include "dc_engine_cuda.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/matpower.hpp"
#include "gridbatch/sensitivities.hpp"
#include "kernels/transpose.cuh"
#include "support/cases.hpp"
#include "support/expect_error.hpp"
#include "support/scoped_env.hpp"

namespace gridbatch::detail::cuda {
namespace {

// S random right-hand sides for a case's B_red, the CPU engine's solutions of them, and the
// sparse path's factor.
struct Reference {
    int n = 0;
    Matrix rhs, expected;
    ScheduledLu factor;
};
Reference reference(const std::string& name, long S) {
    const Network net = read_matpower(test::case_path(name));
    DcOptions options;
    options.backend = Backend::cpu;
    DcPowerFlow pf(net, options);
    const DcModel& model = DcAccess::model(pf);
    const int n = static_cast<int>(model.n_free());
    Matrix rhs(n, S);
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (long s = 0; s < S; ++s)
        for (int i = 0; i < n; ++i) rhs(i, s) = u(rng);
    Matrix expected = rhs;
    DcAccess::engine(pf).solve_reduced(expected.data(), n, S);
    return {n, std::move(rhs), std::move(expected), factor_on_schedule(model.b_reduced)};
}

class DcSparseSolve : public ::testing::TestWithParam<std::string> {};

TEST_P(DcSparseSolve, HostStepsMatchTheCpuEngine) {
    GRIDBATCH_REQUIRE_SHARED();
    const long S = 37;  // not a multiple of a warp
    const Reference ref = reference(GetParam(), S);
    const int n = ref.n;
    const Matrix& rhs = ref.rhs;
    const Matrix& expected = ref.expected;
    const ScheduledLu& f = ref.factor;
    const std::vector<int>& row_of = f.schedule.inverse_perm();
    std::vector<double> xt(static_cast<std::size_t>(n) * S);
    for (long s = 0; s < S; ++s)  // transpose into the factor's rows
        for (int i = 0; i < n; ++i) xt[static_cast<std::size_t>(row_of[i]) * S + s] = rhs(i, s);
    for (long s = 0; s < S; ++s)  // lu_solve_shared: thread s
        lu_solve_strided(f.schedule.host_view(), f.values.data(), xt.data() + s, 1, S);
    Matrix x(n, S);
    for (long s = 0; s < S; ++s)  // transpose back, beta = 0
        for (int i = 0; i < n; ++i) x(i, s) = xt[static_cast<std::size_t>(row_of[i]) * S + s];
    // Unrefined here (the engine refines once); B_red's condition allows 1e-9 of the largest.
    EXPECT_LT((x - expected).cwiseAbs().maxCoeff(), 1e-9 * expected.cwiseAbs().maxCoeff());
}

INSTANTIATE_TEST_SUITE_P(Cases, DcSparseSolve,
                         ::testing::Values("case118", "case2383wp", "case9241pegase"));

// The three device steps of one sparse solve, unrefined (refinement would hide an error in the
// first solve), against the CPU engine's solve: case2383wp with an odd count, and case9 with
// more scenarios than one grid holds tiles in y (65,535 x 32), so the back transpose's tile loop
// strides (the forward one puts scenarios in x; its y stride needs 2 million free buses and is
// checked by a one-off host emulation of the kernel's blocks when it was written, 65cb17d).
TEST(CudaDcEngine, SparseSolveStepsMatchTheCpuEngine) {
    GRIDBATCH_REQUIRE_DEVICE();
    GRIDBATCH_REQUIRE_SHARED();
    for (const auto& [case_name, S] : {std::pair<std::string, long>{"case2383wp", 37},
                                       std::pair<std::string, long>{"case9", 65535L * 32 + 37}}) {
        SCOPED_TRACE(case_name);
        const Reference ref = reference(case_name, S);
        const int n = ref.n;
        const Matrix& expected = ref.expected;
        const ScheduledLu& f = ref.factor;
        const cudaStream_t stream = nullptr;
        DeviceBuffer<int> row_ptr, col, diag, row_of;
        row_ptr.upload(f.schedule.row_ptr(), stream);
        col.upload(f.schedule.col(), stream);
        diag.upload(f.schedule.diag(), stream);
        row_of.upload(f.schedule.inverse_perm(), stream);
        DeviceBuffer<double> lu, b, xt(static_cast<std::size_t>(n) * S),
            x(static_cast<std::size_t>(n) * S);
        lu.upload(f.values, stream);
        b.resize(static_cast<std::size_t>(n) * S);
        b.upload(ref.rhs.data(), static_cast<std::size_t>(n) * S, stream);
        LuScheduleView factor;
        factor.n = n;
        factor.row_ptr = row_ptr.data();
        factor.col = col.data();
        factor.diag = diag.data();
        transpose(b.data(), n, S, nullptr, row_of.data(), 0.0, xt.data(), stream);
        dc::lu_solve_shared(factor, lu.data(), S, xt.data(), stream);
        transpose(xt.data(), S, n, row_of.data(), nullptr, 0.0, x.data(), stream);
        Matrix got(n, S);
        x.download(got.data(), static_cast<std::size_t>(n) * S, stream);
        EXPECT_LT((got - expected).cwiseAbs().maxCoeff(), 1e-9 * expected.cwiseAbs().maxCoeff());
        // beta = 1 adds the solve to what x holds: twice the solution.
        transpose(xt.data(), S, n, row_of.data(), nullptr, 1.0, x.data(), stream);
        x.download(got.data(), static_cast<std::size_t>(n) * S, stream);
        EXPECT_LT((got - 2 * expected).cwiseAbs().maxCoeff(),
                  2e-9 * expected.cwiseAbs().maxCoeff());
    }
}

// Under a 50 MB limit case2383wp's inverse (2 x 2382^2 doubles while inverting, 91 MB) does not
// fit: the engine takes the sparse solve and agrees with the CPU, power flow and PTDF; forced
// dense, it is refused.
TEST(CudaDcEngine, SparseSolveWhereTheInverseDoesNotFit) {
    GRIDBATCH_REQUIRE_DEVICE();
    GRIDBATCH_REQUIRE_SHARED();
    const Network net = read_matpower(test::case_path("case2383wp"));
    Matrix pd(net.n_bus(), 50);
    for (Index s = 0; s < pd.cols(); ++s) pd.col(s) = net.buses().pd * (0.8 + 0.01 * s);
    DcOptions cpu, gpu;
    cpu.backend = Backend::cpu;
    gpu.backend = Backend::cuda;
    DcPowerFlow on_cpu(net, cpu);
    const DcPowerFlowResult a = on_cpu.solve(pd);
    const test::ScopedEnv limit("GRIDBATCH_MEMORY_LIMIT", "50M");
    const test::ScopedEnv automatic("GRIDBATCH_DC_SOLVE", nullptr);
    DcPowerFlow sparse(net, gpu);
    const auto* engine = dynamic_cast<CudaDcEngine*>(&DcAccess::engine(sparse));
    ASSERT_NE(engine, nullptr);
    EXPECT_TRUE(engine->sparse());
    const DcPowerFlowResult b = sparse.solve(pd);
    EXPECT_TRUE(b.report.all_converged());
    EXPECT_LT((a.va - b.va).cwiseAbs().maxCoeff(), 1e-9 * (1 + a.va.cwiseAbs().maxCoeff()));
    EXPECT_LT((a.pf - b.pf).cwiseAbs().maxCoeff(), 1e-9 * (1 + a.pf.cwiseAbs().maxCoeff()));
    const Matrix ptdf_cpu = ptdf(on_cpu), ptdf_gpu = ptdf(sparse);
    EXPECT_LT((ptdf_cpu - ptdf_gpu).cwiseAbs().maxCoeff(), 1e-9);
    const test::ScopedEnv dense("GRIDBATCH_DC_SOLVE", "dense");
    test::expect_error([&] { DcPowerFlow refused(net, gpu); },
                       {"GRIDBATCH_DC_SOLVE=dense: inverting B_red"});
    const test::ScopedEnv unknown("GRIDBATCH_DC_SOLVE", "cholesky");
    test::expect_error([&] { DcPowerFlow refused(net, gpu); },
                       {"must be auto, dense or sparse (got 'cholesky')"});
}

}  // namespace
}  // namespace gridbatch::detail::cuda
