// AC power flow throughput: Newton-Raphson and fast-decoupled XB on case118, case2383wp and
// case9241pegase, batches of 1 .. 10,000 scenarios (loads and dispatch scaled 0.9 .. 1.1, like the
// steps of a time series), each started from the case like MATPOWER's runpf.
//
// Names: <Solver>/<case>/<batch>; `_1core` solvers run on one thread, the reference point for
// LightSim2Grid's published one-core time-series figures (about 38 us per power flow for case118,
// 8.8 ms for case9241pegase, KLU). Newton factorises its Jacobian in 2x2 blocks per bus
// (cpu/block_lu.hpp); `AcNewtonKLU_1core` is the same solve with KLU (GRIDBATCH_AC_LU=klu), the
// default until 2026-12-07, and `AcNewtonSparseLU_1core` with Eigen's SparseLU
// (GRIDBATCH_AC_LU=eigen). `AcNewtonDistributed_1core` shares the slack by Pmax (the block LU with
// a rank-one correction for the slack's unknown), `AcNewtonDistributedKLU_1core` the same with KLU.
//
// `AcContingencies_allcores/<case>`: AC N-1, every in-service branch out in turn at the case's
// loads, each from the base case's solution: ac_contingencies() as `gridbatch n1 --ac` and the
// study call it (the base case, chunks of 256 power flows, their summaries); outages that cut
// buses off are solved with those buses de-energised, and counted in the label ("islanding").
//
// Measured 2026-12-07 on the 2-core Intel Xeon VM, time series (AcNewtonTimeSeries_1core, 2.28
// iterations per power flow), case9241pegase: 8.9-9.0 ms per power flow with KLU, 5.3-6.0 ms with
// the block LU (KLU's refactorisation was 53 % of the time).
//
// Earlier, with KLU: measured 2026-11-23 on the 2-core development VM (2.6 GHz, shared with other
// builds, load average ~8, so wall times ran ~2.5-3x the process CPU time; one-core cost below is
// CPU time per power flow, batch of 100, Release, KLU 1.3.8, run-to-run noise about 10%):
//   Newton:  case118 38 us (3 iterations), case2383wp 2.8-3.0 ms (6), case9241pegase 17-20 ms (6)
//   FDXB:    case118 49 us (8.8),           case2383wp 2.0 ms (18), case9241pegase 12-13 ms (16.5)
//   Newton with Eigen's SparseLU: case118 150 us, case2383wp 22-27 ms, case9241pegase 140-155 ms.
//   Newton, time series (StartMode::previous_step): case118 28 us (2.1 iterations),
//            case2383wp 1.2 ms (2.3), case9241pegase 8.5 ms (2.3).
// So KLU (refactorised with fixed pivots, see ac_linear_solver.hpp) is 4x (case118) to 8x (the
// large cases) faster than SparseLU on power-flow Jacobians, and it was Newton's default wherever
// it was found until the block LU. Against LightSim2Grid's one-core time-series figures (38 us, 8.8
// ms on a laptop core) the warm-started time series is on par (28 us, 8.5 ms) on this slower,
// contended core; a cold start from the case costs 38 us and 17-20 ms. No quiet machine was
// available for this run, so the all-core rows show no scaling here.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gridbatch/ac_contingencies.hpp"
#include "gridbatch/ac_power_flow.hpp"
#include "gridbatch/matpower.hpp"
#include "shared_dir.hpp"

namespace {

using namespace gridbatch;

// Parsed once per process; null where the case is not under shared_dir().
const Network* load(const std::string& name) {
    static std::map<std::string, std::unique_ptr<Network>> cache;
    auto& slot = cache[name];
    const std::string path = shared_dir() + "/cases/" + name + ".m";
    if (!slot && std::filesystem::exists(path))
        slot = std::make_unique<Network>(read_matpower(path));
    return slot.get();
}

struct Scenarios {
    Matrix pd, qd, pg;
};
Scenarios scenarios(const Network& net, Index n) {
    Scenarios s{Matrix(net.n_bus(), n), Matrix(net.n_bus(), n), Matrix(net.n_gen(), n)};
    for (Index k = 0; k < n; ++k) {
        const Real scale = n > 1 ? 0.9 + 0.2 * static_cast<Real>(k) / static_cast<Real>(n - 1) : 1;
        s.pd.col(k) = net.buses().pd * scale;
        s.qd.col(k) = net.buses().qd * scale;
        s.pg.col(k) = net.generators().pg * scale;
    }
    return s;
}

// lu: the Jacobian's LU (GRIDBATCH_AC_LU), nullptr for the default.
void run(benchmark::State& state, const std::string& name, AcAlgorithm alg, int threads,
         const char* lu, StartMode start, SlackMode slack) {
    if (lu)
        setenv("GRIDBATCH_AC_LU", lu, 1);
    else
        unsetenv("GRIDBATCH_AC_LU");
    const Network* found = load(name);
    if (!found) return state.SkipWithError((name + " not found under " + shared_dir()).c_str());
    const Network& net = *found;
    const Index n = state.range(0);
    AcOptions options;
    options.backend = Backend::cpu;
    options.algorithm = alg;
    options.threads = threads;
    options.start = start;
    options.slack = slack;
    const AcPowerFlow pf(net, options);
    const Scenarios sc = scenarios(net, n);
    AcBatch batch(sc.pd, sc.qd);
    batch.pg.emplace(sc.pg);
    double seconds = 0;
    long solves = 0, iterations = 0, failed = 0;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        const AcPowerFlowResult r = pf.solve(batch);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        benchmark::DoNotOptimize(r.vm.data());
        solves += n;
        iterations += r.report.iterations.sum();
        failed += n - r.report.n_converged();
    }
    unsetenv("GRIDBATCH_AC_LU");
    state.counters["scenarios_per_s"] = static_cast<double>(solves) / seconds;
    state.counters["us_per_scenario"] = 1e6 * seconds / static_cast<double>(solves);
    state.counters["us_per_iteration"] = 1e6 * seconds / static_cast<double>(iterations);
    state.counters["solver_iterations"] =
        static_cast<double>(iterations) / static_cast<double>(solves);
    if (failed) state.SetLabel(std::to_string(failed) + " scenarios not converged");
}

void contingencies(benchmark::State& state, const std::string& name) {
    unsetenv("GRIDBATCH_AC_LU");
    const Network* found = load(name);
    if (!found) return state.SkipWithError((name + " not found under " + shared_dir()).c_str());
    const Network& net = *found;
    AcOptions options;
    options.backend = Backend::cpu;
    const AcPowerFlow pf(net, options);
    const Matrix pd = net.buses().pd, qd = net.buses().qd;
    Index n = 0, islanded = 0, failed = 0;
    double iterations = 0;
    for (auto _ : state) {
        const AcContingencyResult r = ac_contingencies(pf, AcBatch(pd, qd));
        benchmark::DoNotOptimize(r.cases.data());
        n = static_cast<Index>(r.outages.size());
        islanded = static_cast<Index>(r.islanding.size());
        failed = r.not_converged;
        // Per outage solved: every one but those a distributed slack cannot (Status::islanded);
        // outages that cut buses off are solved too (dividing by n - islanded overstated it).
        iterations = 0;
        Index solved = 0;
        for (Index k = 0; k < n; ++k)
            if (r.at(0, k).status != Status::islanded) {
                iterations += r.at(0, k).iterations;
                ++solved;
            }
        iterations /= static_cast<double>(std::max<Index>(1, solved));
    }
    state.counters["solver_iterations"] = iterations;
    state.counters["contingencies_per_s"] =
        benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::to_string(n) + " outages, " + std::to_string(islanded) + " islanding, " +
                   std::to_string(failed) + " not converged");
}

void register_all() {
    const bool quick = std::getenv("GRIDBATCH_BENCH_QUICK") != nullptr;
    struct Case {
        const char* name;
        std::vector<Index> batches;
    };
    const std::vector<Case> cases = {
        {"case118", quick ? std::vector<Index>{1, 100} : std::vector<Index>{1, 100, 1000, 10000}},
        {"case2383wp", quick ? std::vector<Index>{1} : std::vector<Index>{1, 100, 1000}},
        {"case9241pegase", quick ? std::vector<Index>{1} : std::vector<Index>{1, 100, 1000}},
    };
    struct Solver {
        const char* name;
        AcAlgorithm alg;
        int threads;
        const char* lu;
        StartMode start = StartMode::from_case;
        SlackMode slack = SlackMode::single;
    };
    const Solver solvers[] = {
        {"AcNewton_1core", AcAlgorithm::newton, 1, nullptr},
        {"AcFdxb_1core", AcAlgorithm::fast_decoupled_xb, 1, nullptr},
        {"AcNewton_allcores", AcAlgorithm::newton, 0, nullptr},
        {"AcFdxb_allcores", AcAlgorithm::fast_decoupled_xb, 0, nullptr},
        {"AcNewtonKLU_1core", AcAlgorithm::newton, 1, "klu"},
        {"AcNewtonSparseLU_1core", AcAlgorithm::newton, 1, "eigen"},
        // Each step warm-started from the one before, like LightSim2Grid's time series.
        {"AcNewtonTimeSeries_1core", AcAlgorithm::newton, 1, nullptr, StartMode::previous_step},
        {"AcNewtonTimeSeriesKLU_1core", AcAlgorithm::newton, 1, "klu", StartMode::previous_step},
        {"AcNewtonDistributed_1core", AcAlgorithm::newton, 1, nullptr, StartMode::from_case,
         SlackMode::distributed},
        {"AcNewtonDistributedKLU_1core", AcAlgorithm::newton, 1, "klu", StartMode::from_case,
         SlackMode::distributed},
    };
    for (const char* name : {"case118", "case2383wp"}) {
        if (quick && std::string(name) != "case118") continue;
        benchmark::RegisterBenchmark((std::string("AcContingencies_allcores/") + name).c_str(),
                                     [name](benchmark::State& st) { contingencies(st, name); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    }
    for (const Solver& s : solvers)
        for (const Case& c : cases)
            for (Index b : c.batches) {
                // Other LUs only for the comparison, not at every size.
                if ((s.lu || s.start == StartMode::previous_step ||
                     s.slack == SlackMode::distributed) &&
                    b != 100)
                    continue;
                // The 1,000-scenario runs of the big cases take long on one core; the
                // all-core runs give their throughput.
                if (s.threads == 1 && b >= 1000 && std::string(c.name) != "case118") continue;
                const std::string name = c.name;
                benchmark::RegisterBenchmark((std::string(s.name) + "/" + name).c_str(),
                                             [=](benchmark::State& st) {
                                                 run(st, name, s.alg, s.threads, s.lu, s.start,
                                                     s.slack);
                                             })
                    ->Arg(b)
                    ->Unit(benchmark::kMillisecond)
                    ->UseRealTime();
            }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
