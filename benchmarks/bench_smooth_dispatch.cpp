// Ramp-aware dispatch (smooth_dispatch: the interior point by default, OSQP-style ADMM with one
// shared KKT factorisation for comparison) on training-like loads with a lossy Megapack fleet:
// 1..16 scenarios x 3,600 steps (one hour at 1 s) and one scenario x 86,400 steps (a day); and
// the cost of an infeasible scenario (one unit against a 0.01 MW/s grid ramp limit: the
// interior point's early stop, the elastic LP and the relaxed QP). Backend from
// GRIDBATCH_BENCH_BACKEND (cpu, cuda or auto; default cpu); with cuda (the interior point's solves
// on the device, one thread per scenario; building the QPs, the hand-overs and the polish on the
// host) the batches are 100 and 1,000 hours and 100 days instead.
//
// Names: SmoothDispatch/<steps>/<scenarios>/<threads>/<solver: 0 interior point, 1 ADMM>/
// <infeasible: 0 or 1>. Counters: steps/s (scenario-steps per second), iterations (mean Newton
// steps or ADMM iterations per scenario), converged and infeasible (shares of scenarios).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>

#include "gridbatch/smooth_dispatch.hpp"

namespace {

using namespace gridbatch;

// Compute/all-reduce square wave on a slow swell, 150 MW mean, different per scenario.
Matrix training_load(Index T, Index S) {
    Matrix load(T, S);
    for (Index s = 0; s < S; ++s) {
        const Index period = 2 + s % 3;
        const Real swing = 20 + 2 * static_cast<Real>(s % 7);
        for (Index t = 0; t < T; ++t)
            load(t, s) = 150 + ((t / period) % 2 ? swing : -swing) +
                         15 * std::sin(6.283 * static_cast<Real>(t) / 900 + static_cast<Real>(s));
    }
    return load;
}

Backend bench_backend() {
    const char* env = std::getenv("GRIDBATCH_BENCH_BACKEND");
    return env ? parse_backend(env) : Backend::cpu;
}

void smooth(benchmark::State& state) {
    const BackendStatus status = backend_status(bench_backend());
    if (!status.available) return state.SkipWithError(("skipped: " + status.reason).c_str());
    const Index T = state.range(0), S = state.range(1);
    const Matrix load = training_load(T, S);
    const bool infeasible = state.range(4) != 0;
    BatteryFleet fleet = BatteryFleet::from_units(battery_unit("megapack-2h"), infeasible ? 1 : 25);
    fleet.terminal = TerminalCondition::at_least_initial;
    SmoothDispatchOptions options;
    if (infeasible) options.ramp_limit_mw_per_s = 0.01;
    options.threads = static_cast<int>(state.range(2));
    options.backend = bench_backend();
    options.solver =
        state.range(3) ? SmoothDispatchSolver::admm : SmoothDispatchSolver::interior_point;
    Real iterations = 0, converged = 0, infeasible_share = 0;
    for (auto _ : state) {
        const SmoothDispatchResult r = smooth_dispatch(load, {fleet}, {GridConnection{}}, options);
        benchmark::DoNotOptimize(r.grid_mw.data());
        iterations = r.report.iterations.cast<Real>().mean();
        converged = static_cast<Real>(r.report.n_converged()) / static_cast<Real>(S);
        infeasible_share =
            static_cast<Real>(
                (r.report.status.array() == static_cast<std::int8_t>(Status::infeasible)).count()) /
            static_cast<Real>(S);
    }
    state.counters["steps/s"] = benchmark::Counter(static_cast<double>(T * S),
                                                   benchmark::Counter::kIsIterationInvariantRate);
    state.counters["solver_iterations"] = iterations;
    state.counters["converged"] = converged;
    state.counters["infeasible"] = infeasible_share;
}

void register_all() {
    auto* b = benchmark::RegisterBenchmark("SmoothDispatch", smooth);
    b->ArgNames({"steps", "scenarios", "threads", "admm", "infeasible"});
    if (bench_backend() == Backend::cuda)
        b->Args({3600, 100, 0, 0, 0})->Args({3600, 1000, 0, 0, 0})->Args({86400, 100, 0, 0, 0});
    else
        b->Args({3600, 1, 1, 0, 0})
            ->Args({3600, 4, 1, 0, 0})
            ->Args({3600, 4, 0, 0, 0})
            ->Args({3600, 16, 0, 0, 0})
            ->Args({86400, 1, 1, 0, 0})
            ->Args({3600, 1, 1, 1, 0})
            ->Args({3600, 1, 1, 0, 1});
    b->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (bench_backend() == Backend::cuda)
        benchmark::AddCustomContext("gridbatch_device", build_info().cuda_device);
    register_all();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
