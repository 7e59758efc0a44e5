// The CUDA AC engine (batched Newton-Raphson, or fast-decoupled XB) on its own: one solve of S
// scenarios from the case's start, those of bench_ac's CPU rows (loads and generation scaled by
// 0.9 to 1.1), timed with CUDA events on the engine's stream after
// a warm-up (inputs uploaded and voltages downloaded inside, as the engine always does). Reports
// power flows per second, time per Newton iteration and the factorisation's memory traffic against
// the measured device copy bandwidth (run bench_dc_cuda's DeviceCopy). Cases from ../shared/cases;
// without a device, or in a build without CUDA, every benchmark is skipped and the program exits 0.
//
// `AcContingenciesDevice/<case>`: bench_ac's AcContingencies_allcores on Backend::cuda, wall time
// of the whole ac_contingencies() call (every in-service branch out at the case's loads, each
// from the base case's solution; the kernels take the branch out of the shared Ybus).
#include <benchmark/benchmark.h>

#include <cstdio>

#if __has_include("ac_engine_cuda.hpp")  // the CUDA internals are on the path iff CUDA is built

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "ac_engine_cuda.hpp"
#include "device_timer.hpp"
#include "gridbatch/ac_contingencies.hpp"
#include "gridbatch/admittance.hpp"
#include "gridbatch/backend.hpp"
#include "gridbatch/matpower.hpp"
#include "shared_dir.hpp"

namespace {

using namespace gridbatch;
using namespace gridbatch::detail;

// The engine's input for the case: Ybus, MATPOWER's bus types, the case's start voltages with
// the generator setpoints, and injections with every load scaled per scenario.
struct Problem {
    std::shared_ptr<PreparedAcNetwork> net = std::make_shared<PreparedAcNetwork>();
    Matrix p, q, vm0, va0;
};

// MATPOWER's makeB for XB: B' without shunts, charging, taps and resistance; B'' without phase
// shifts; each -imag(Ybus) of the modified network.
CsrMatrix negative_susceptance(const Network& net) {
    const ComplexSparseMatrix y = make_admittance(net).ybus;
    CsrMatrix b;
    b.rows = b.cols = static_cast<int>(net.n_bus());
    b.row_ptr.assign(y.outerIndexPtr(), y.outerIndexPtr() + y.rows() + 1);
    b.col.assign(y.innerIndexPtr(), y.innerIndexPtr() + y.nonZeros());
    for (Index k = 0; k < y.nonZeros(); ++k) b.re.push_back(-y.valuePtr()[k].imag());
    return b;
}

void make_b_xb(const Network& net, PreparedAcNetwork& p) {
    BusTable bus = net.buses();
    BranchTable br = net.branches();
    bus.bs.setZero();
    br.b.setZero();
    br.tap.setOnes();
    br.r.setZero();
    p.b_prime =
        negative_susceptance(Network::from_tables(net.base_mva(), bus, net.generators(), br));
    br = net.branches();
    br.shift.setZero();
    p.b_double_prime = negative_susceptance(
        Network::from_tables(net.base_mva(), net.buses(), net.generators(), br));
    p.method = AcMethod::fast_decoupled;
    p.max_iterations = 30;
}

Problem make_problem(const Network& net, Index scenarios) {
    Problem pr;
    PreparedAcNetwork& p = *pr.net;
    p.n_bus = static_cast<int>(net.n_bus());
    p.n_gen = static_cast<int>(net.n_gen());
    p.n_branch = static_cast<int>(net.n_branch());
    p.base_mva = net.base_mva();
    const ComplexSparseMatrix y = make_admittance(net).ybus;
    p.ybus.rows = p.ybus.cols = p.n_bus;
    p.ybus.row_ptr.assign(y.outerIndexPtr(), y.outerIndexPtr() + y.rows() + 1);
    p.ybus.col.assign(y.innerIndexPtr(), y.innerIndexPtr() + y.nonZeros());
    for (Index k = 0; k < y.nonZeros(); ++k) {
        p.ybus.re.push_back(y.valuePtr()[k].real());
        p.ybus.im.push_back(y.valuePtr()[k].imag());
    }
    std::vector<int> gens(static_cast<std::size_t>(net.n_bus()), 0);
    for (Index g = 0; g < net.n_gen(); ++g)
        if (net.gen_active(g)) ++gens[net.gen_bus()[g]];
    for (int i = 0; i < p.n_bus; ++i) {
        const int t = net.buses().type[i];
        if ((t == 2 || t == 3) && gens[i] == 0)
            p.pq.push_back(i);
        else if (t == 3)
            p.ref.push_back(i);
        else if (t == 2)
            p.pv.push_back(i);
        else if (t == 1)
            p.pq.push_back(i);
    }
    ComplexVector v0(net.n_bus());
    for (Index i = 0; i < net.n_bus(); ++i)
        v0[i] = std::polar(net.buses().vm[i], net.buses().va[i] * 3.14159265358979323846 / 180.0);
    for (Index g = 0; g < net.n_gen(); ++g) {
        const Index b = net.gen_bus()[g];
        const int t = net.buses().type[b];
        if (net.gen_active(g) && (t == 2 || t == 3))
            v0[b] = net.generators().vg[g] / std::abs(v0[b]) * v0[b];
    }
    const ComplexVector sbus = bus_injections(net);
    pr.vm0 = v0.cwiseAbs().replicate(1, scenarios);
    pr.va0 = v0.unaryExpr([](Complex c) { return std::arg(c); }).real().replicate(1, scenarios);
    pr.p.resize(net.n_bus(), scenarios);
    pr.q.resize(net.n_bus(), scenarios);
    for (Index s = 0; s < scenarios; ++s) {
        // bench_ac scales Pd, Qd and Pg: P = scale (Pg - Pd), Q = Qg - scale Qd.
        const Real scale =
            scenarios > 1 ? 0.9 + 0.2 * static_cast<Real>(s) / static_cast<Real>(scenarios - 1) : 1;
        pr.p.col(s) = scale * sbus.real();
        pr.q.col(s) = sbus.imag() + (1.0 - scale) * net.buses().qd / net.base_mva();
    }
    return pr;
}

void solve(benchmark::State& state, const std::string& name, AcMethod method) {
    const BackendStatus device = backend_status(Backend::cuda);
    if (!device.available) return state.SkipWithError(("skipped: " + device.reason).c_str());
    const std::string path = shared_dir() + "/cases/" + name + ".m";
    if (!std::filesystem::exists(path)) return state.SkipWithError((path + " not found").c_str());
    const Network net = read_matpower(path);
    const Index S = state.range(0);
    Problem pr = make_problem(net, S);
    if (method == AcMethod::fast_decoupled) make_b_xb(net, *pr.net);
    cuda::CudaAcEngine engine(pr.net, 0);
    AcEngineOutput out;
    out.vm.resize(net.n_bus(), S);
    out.va.resize(net.n_bus(), S);
    out.slack.resize(S);
    out.report = ScenarioReport(S);
    const AcEngineBatch batch{pr.p, pr.q, pr.vm0, pr.va0, nullptr};
    engine.solve(batch, out);  // warm-up

    DeviceTimer timer;
    double total_ms = 0;
    for (auto _ : state) {
        const float ms = timer.milliseconds(engine.stream(), [&] { engine.solve(batch, out); });
        total_ms += ms;
        state.SetIterationTime(ms / 1e3);
    }

    const double seconds = total_ms / 1e3 / static_cast<double>(state.iterations());
    const int iterations = out.report.iterations.maxCoeff();
    const double scenario_iterations = out.report.iterations.cast<double>().sum();
    state.counters["pf/s"] = static_cast<double>(S) / seconds;
    state.counters["ms/iteration"] = 1e3 * seconds / std::max(1, iterations);
    state.counters["solver_iterations"] = iterations;
    state.counters["converged"] = static_cast<double>(out.report.n_converged());
    if (method == AcMethod::newton) {
        const LuSchedule& lu = engine.default_schedule();
        // Per scenario and iteration the factorisation reads a source and reads and writes a
        // target per multiply-add, and touches every factor entry at least once.
        const double lu_bytes =
            scenario_iterations * (24.0 * static_cast<double>(lu.flops()) + 8.0 * lu.nnz());
        state.counters["LU_GB/s"] = lu_bytes / seconds / 1e9;
        state.counters["LU_nnz"] = lu.nnz();
        state.counters["LU_flops"] = static_cast<double>(lu.flops());
    }
}

void contingencies(benchmark::State& state, const std::string& name) {
    const BackendStatus device = backend_status(Backend::cuda);
    if (!device.available) return state.SkipWithError(("skipped: " + device.reason).c_str());
    const std::string path = shared_dir() + "/cases/" + name + ".m";
    if (!std::filesystem::exists(path)) return state.SkipWithError((path + " not found").c_str());
    const Network net = read_matpower(path);
    AcOptions options;
    options.backend = Backend::cuda;
    const AcPowerFlow pf(net, options);
    const Matrix pd = net.buses().pd, qd = net.buses().qd;
    AcContingencyResult r = ac_contingencies(pf, AcBatch(pd, qd));  // warm-up
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        r = ac_contingencies(pf, AcBatch(pd, qd));
        state.SetIterationTime(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const auto n = static_cast<Index>(r.outages.size());
    double iterations = 0;
    for (Index k = 0; k < n; ++k) iterations += r.at(0, k).iterations;
    state.counters["solver_iterations"] = iterations / static_cast<double>(std::max<Index>(1, n));
    state.counters["contingencies_per_s"] =
        benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::to_string(n) + " outages, " + std::to_string(r.islanding.size()) +
                   " islanding, " + std::to_string(r.not_converged) + " not converged");
}

void register_all() {
    for (const char* name : {"case118", "case2383wp"})
        benchmark::RegisterBenchmark((std::string("AcContingenciesDevice/") + name).c_str(),
                                     [name](benchmark::State& s) { contingencies(s, name); })
            ->Iterations(3)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    for (const auto method : {AcMethod::newton, AcMethod::fast_decoupled})
        for (const char* name : {"case118", "case2383wp", "case9241pegase"}) {
            const std::string label =
                std::string(method == AcMethod::newton ? "AcNewtonEngine/" : "AcFdxbEngine/") +
                name;
            benchmark::RegisterBenchmark(
                label.c_str(), [name, method](benchmark::State& s) { solve(s, name, method); })
                ->Arg(1)
                ->Arg(100)
                ->Arg(1000)
                ->Arg(10000)
                ->Iterations(3)
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond);
        }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::AddCustomContext("gridbatch_device", gridbatch::build_info().cuda_device);
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

#else

int main() {
    std::puts("bench_ac_cuda: this build has no CUDA backend; nothing to measure");
    return 0;
}

#endif
