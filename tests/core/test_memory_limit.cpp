// A batch whose results do not fit the host memory budget is refused up front, naming what it
// needs and what there is; GRIDBATCH_MEMORY_LIMIT stands in for a small machine. On a GPU the
// same limit caps the device memory the CUDA engines chunk by, so their chunked paths run here.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>

#include "core/memory.hpp"
#include "cuda/require_device.hpp"
#include "engine/device.hpp"
#include "gridbatch/ac_contingencies.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/builtin_network.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/load_profiles.hpp"
#include "gridbatch/sensitivities.hpp"
#include "support/expect_error.hpp"
#include "support/scoped_env.hpp"

namespace gridbatch {
namespace {

Matrix scaled(const Vector& column, Index scenarios) { return column.replicate(1, scenarios); }

// Scenario s scales every load by 0.8 + 0.4 s / (S - 1): every column differs.
Matrix ramped(const Vector& column, Index scenarios) {
    Matrix m(column.size(), scenarios);
    for (Index s = 0; s < scenarios; ++s)
        m.col(s) = column * (0.8 + 0.4 * static_cast<Real>(s) / static_cast<Real>(scenarios - 1));
    return m;
}

Real max_abs_diff(const Matrix& a, const Matrix& b) {
    EXPECT_EQ(a.rows(), b.rows());
    EXPECT_EQ(a.cols(), b.cols());
    return (a - b).cwiseAbs().maxCoeff();
}

// The violations of a screening are as many as its threshold lets through: a list outgrowing the
// memory is refused with what to change, block by block as it grows (it grew to the OOM killer).
TEST(MemoryLimit, N1ViolationListThatOutgrowsTheLimitIsRefused) {
    const Network net = builtin_network();
    DcOptions dco;
    dco.backend = Backend::cpu;
    DcPowerFlow dc(net, dco);
    const Matrix pd = ramped(net.buses().pd, 40);
    N1Options every;
    every.threshold_percent = 0;  // every rated branch in every outage: ~40 x 170 x 170
    every.outages_per_block = 16;
    const N1Result all = n1_screen(dc, pd, every);
    ASSERT_GT(all.violations.size(), 100000u);
    const test::ScopedEnv limit("GRIDBATCH_MEMORY_LIMIT", "2M");
    test::expect_error(
        [&] { n1_screen(dc, pd, every); },
        {"N-1 screening: the list of the ", " violations found by block ", "raise threshold"});
    N1Options usual = every;
    usual.threshold_percent = 90;  // a few violations: within the limit
    EXPECT_EQ(n1_screen(dc, pd, usual).worst_loading_percent, all.worst_loading_percent);
}

TEST(MemoryLimit, AcContingencyViolationListThatOutgrowsTheLimitIsRefused) {
    const Network net = builtin_network();
    AcOptions aco;
    aco.backend = Backend::cpu;
    const AcPowerFlow ac(net, aco);
    const Matrix pd = ramped(net.buses().pd, 3), qd = ramped(net.buses().qd, 3);
    AcContingencyOptions every;
    every.threshold_percent = 0;
    every.chunk = 64;
    const AcContingencyResult all = ac_contingencies(ac, AcBatch(pd, qd), every);
    ASSERT_GT(all.violations.size(), 50000u);  // x (4 doubles + a 32-byte N1Violation) > 3 MB
    const test::ScopedEnv limit("GRIDBATCH_MEMORY_LIMIT", "3M");
    test::expect_error([&] { ac_contingencies(ac, AcBatch(pd, qd), every); },
                       {"ac_contingencies: the list of the ", " violations found by contingency ",
                        "raise threshold_percent"});
    AcContingencyOptions usual = every;
    usual.threshold_percent = 90;
    EXPECT_EQ(ac_contingencies(ac, AcBatch(pd, qd), usual).worst_loading_percent,
              all.worst_loading_percent);
}

TEST(MemoryLimit, LargeBatchesAreRefusedSmallOnesRun) {
    const Network net = builtin_network();
    const test::ScopedEnv limit("GRIDBATCH_MEMORY_LIMIT",
                                "2M");  // about 600 DC or 300 AC scenarios of the built-in network
    DcOptions dco;
    dco.backend = Backend::cpu;
    DcPowerFlow dc(net, dco);
    test::expect_error([&] { dc.solve(scaled(net.buses().pd, 5000)); },
                       {"DC power flow of 5000 scenarios needs", "GRIDBATCH_MEMORY_LIMIT"});
    EXPECT_EQ(dc.solve(scaled(net.buses().pd, 20)).report.n_converged(), 20);

    AcOptions aco;
    aco.backend = Backend::cpu;
    const AcPowerFlow ac(net, aco);
    test::expect_error(
        [&] { ac.solve(scaled(net.buses().pd, 5000), scaled(net.buses().qd, 5000)); },
        {"AC power flow of 5000 scenarios needs", "0.002 GB is the limit"});
    EXPECT_EQ(ac.solve(scaled(net.buses().pd, 10), scaled(net.buses().qd, 10)).report.n_converged(),
              10);

    LoadProfileOptions lpo;
    lpo.steps = 3600;
    lpo.backend = Backend::cpu;
    test::expect_error([&] { training_load({TrainingLoadParameters{}}, 100, lpo); },
                       {"training_load of 100 scenarios x 3600 steps needs"});
    const Matrix load = training_load({TrainingLoadParameters{}}, 2, lpo);
    DispatchOptions dpo;
    dpo.backend = Backend::cpu;
    const BatteryFleet fleet = BatteryFleet::from_units(battery_unit("megapack-2h"), 50);
    EXPECT_EQ(dispatch(load, {fleet}, {GridConnection{}}, dpo).report.n_converged(), 2);
    const Matrix many = load.replicate(1, 40);
    test::expect_error([&] { dispatch(many, {fleet}, {GridConnection{}}, dpo); },
                       {"dispatch of 80 scenarios x 3600 steps needs"});
}

// The CUDA engines size each chunk from chunk_budget(free, held, limit) * 0.7, where `held` is
// what their chunk buffers hold from the call before. Called again and again on one engine, as
// the Q-limit rounds and N-1 blocks do, the chunk must stay within the limit; before, the limit
// capped only the free part and the held buffers came on top (up to 2.3x the limit).
TEST(MemoryLimit, RepeatedChunksStayWithinTheLimit) {
    using detail::cuda::chunk_budget;
    const std::size_t per_scenario = 1000, limit = 2'000'000;
    for (const std::size_t free_bytes : {std::size_t{500'000}, std::size_t{80'000'000'000}}) {
        std::size_t held = 0;
        for (int call = 0; call < 20; ++call) {
            const std::size_t chunk = chunk_budget(free_bytes, held, limit) / 10 * 7 / per_scenario;
            EXPECT_LE(chunk * per_scenario, limit / 10 * 7) << "call " << call;
            EXPECT_GE(chunk, 1u);
            held = chunk * per_scenario;  // the buffers a chunk of that size leaves behind
        }
    }
    // Without a limit the held buffers count: they are given back when the chunk is resized.
    EXPECT_EQ(chunk_budget(1'000, 500, 0), 1'500u);
    EXPECT_EQ(chunk_budget(1'000, 500, 1'200), 1'200u);
    EXPECT_EQ(chunk_budget(1'000, 500, 9'000), 1'500u);
}

// Under a 2 MB limit the CUDA DC engine holds ~230 scenarios of the built-in network at once, the
// N-1 screening ~230 per block and the AC engine fewer than 100: these batches take several
// chunks each, whose results must land in their own columns.
TEST(MemoryLimit, CudaEnginesInChunksAgreeWithTheCpu) {
    GRIDBATCH_REQUIRE_DEVICE();
    const Network net = builtin_network();
    const test::ScopedEnv limit("GRIDBATCH_MEMORY_LIMIT", "2M");
    const Index S_dc = 500, S_ac = 150;
    DcOptions cpu_dc, cuda_dc;
    cpu_dc.backend = Backend::cpu;
    cuda_dc.backend = Backend::cuda;
    DcPowerFlow dc_cpu(net, cpu_dc), dc_cuda(net, cuda_dc);
    const Matrix pd = ramped(net.buses().pd, S_dc);
    const DcPowerFlowResult a = dc_cpu.solve(pd), b = dc_cuda.solve(pd);
    ASSERT_EQ(b.backend, Backend::cuda);
    EXPECT_EQ(b.report.n_converged(), S_dc);
    EXPECT_LT(max_abs_diff(a.va, b.va), 1e-9 * (1 + a.va.cwiseAbs().maxCoeff()));
    EXPECT_LT(max_abs_diff(a.pf, b.pf), 1e-9 * (1 + a.pf.cwiseAbs().maxCoeff()));

    N1Options n1o;
    n1o.threshold_percent = 60;
    const N1Result na = n1_screen(dc_cpu, pd, n1o), nb = n1_screen(dc_cuda, pd, n1o);
    ASSERT_FALSE(na.violations.empty());
    ASSERT_EQ(na.violations.size(), nb.violations.size());
    for (std::size_t i = 0; i < na.violations.size(); ++i) {
        const N1Violation &x = na.violations[i], &y = nb.violations[i];
        ASSERT_EQ(std::tie(x.scenario, x.outage, x.branch),
                  std::tie(y.scenario, y.outage, y.branch))
            << "violation " << i;
        EXPECT_NEAR(x.loading_percent, y.loading_percent, 1e-7) << "violation " << i;
    }
    EXPECT_LT(max_abs_diff(na.worst_loading_percent, nb.worst_loading_percent), 1e-7);
    EXPECT_EQ(na.worst_outage, nb.worst_outage);
    EXPECT_EQ(na.worst_branch, nb.worst_branch);

    AcOptions cpu_ac, cuda_ac;
    cpu_ac.backend = Backend::cpu;
    cuda_ac.backend = Backend::cuda;
    const Matrix p = ramped(net.buses().pd, S_ac), q = ramped(net.buses().qd, S_ac);
    const AcPowerFlowResult c = AcPowerFlow(net, cpu_ac).solve(p, q);
    const AcPowerFlowResult d = AcPowerFlow(net, cuda_ac).solve(p, q);
    ASSERT_EQ(d.backend, Backend::cuda);
    EXPECT_EQ(c.report.n_converged(), S_ac);
    EXPECT_EQ(c.report.status, d.report.status);
    EXPECT_EQ(c.report.iterations, d.report.iterations);
    EXPECT_LT(max_abs_diff(c.vm, d.vm), 1e-9);
    EXPECT_LT(max_abs_diff(c.va, d.va), 1e-7);
}

TEST(MemoryLimit, DeviceAllocationFailureSaysWhatItAskedAndWhatWasFree) {
    const std::string m =
        detail::device_allocation_failure(3'000'000'000, 512'000'000, 80'000'000'000);
    for (const char* part : {"a device allocation of 3 GB failed: 0.512 GB of the GPU's 80 GB",
                             "smaller batch", "the cpu backend"})
        EXPECT_NE(m.find(part), std::string::npos) << part << " in: " << m;
}

// A container's memory limit (its cgroup's), not the machine's free memory, is what the kernel
// enforces: the budget is the room under it, the tightest of the process's cgroup and its
// ancestors.
TEST(MemoryLimit, CgroupRoomIsTheTightestLimitLessUsage) {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(::testing::TempDir()) / "gridbatch_cgroup_test";
    fs::remove_all(root);
    auto write = [](const fs::path& file, const std::string& text) {
        fs::create_directories(file.parent_path());
        std::ofstream(file) << text;
    };
    // v2: a limit on the parent (8 GB, 3 GB used) and one on the leaf (6 GB, 1 GB used).
    const fs::path v2 = root / "v2";
    write(root / "v2.cgroup", "0::/box/job\n");
    write(v2 / "memory.max", "max\n");
    write(v2 / "box/memory.max", "8000000000\n");
    write(v2 / "box/memory.current", "3000000000\n");
    write(v2 / "box/job/memory.max", "6000000000\n");
    write(v2 / "box/job/memory.current", "1000000000\n");
    EXPECT_EQ(detail::cgroup_room((root / "v2.cgroup").string(), v2.string()), 5'000'000'000u);
    write(v2 / "box/job/memory.current", "5500000000\n");
    EXPECT_EQ(detail::cgroup_room((root / "v2.cgroup").string(), v2.string()), 500'000'000u);
    // v1: the memory controller's hierarchy; "no limit" is a huge number there.
    const fs::path v1 = root / "v1";
    write(root / "v1.cgroup", "5:cpu,cpuacct:/x\n4:memory:/ctr\n0::/\n");
    write(v1 / "memory/memory.limit_in_bytes", "9223372036854771712\n");
    write(v1 / "memory/ctr/memory.limit_in_bytes", "2000000000\n");
    write(v1 / "memory/ctr/memory.usage_in_bytes", "500000000\n");
    EXPECT_EQ(detail::cgroup_room((root / "v1.cgroup").string(), v1.string()), 1'500'000'000u);
    // No limit anywhere, or no cgroup file: no cap.
    write(root / "free.cgroup", "0::/\n");
    EXPECT_EQ(detail::cgroup_room((root / "free.cgroup").string(), v2.string()), detail::kNoLimit);
    EXPECT_EQ(detail::cgroup_room((root / "absent").string(), v2.string()), detail::kNoLimit);
    fs::remove_all(root);
}

TEST(MemoryLimit, ABadLimitIsNamed) {
    const Network net = builtin_network();
    const test::ScopedEnv limit("GRIDBATCH_MEMORY_LIMIT", "lots");
    DcOptions dco;
    dco.backend = Backend::cpu;
    DcPowerFlow dc(net, dco);
    test::expect_error([&] { dc.solve(scaled(net.buses().pd, 2)); },
                       {"GRIDBATCH_MEMORY_LIMIT='lots' is not a size"});
}

}  // namespace
}  // namespace gridbatch
