// Battery dispatch and synthetic load on the CPU engine: scenarios x steps, lossless (taut string)
// and lossy (SoC dynamic program). Counters: steps/s = scenario-steps per second; bytes_per_second
// counts the floor of bytes that must move (read the load, write battery, SoC and grid draw:
// 32 B per scenario-step), so it compares directly with memory bandwidth. Grid: 1..1000 scenarios
// at 3,600 steps, 1..100 at 86,400 (1000 x 86,400 results alone are 2.8 GB), 1 at 864,000.
// LossyNeverFull: a battery so large it never reaches its SoC limits (the dynamic program's worst
// case for its set).
#include <benchmark/benchmark.h>

#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/load_profiles.hpp"

namespace {

using namespace gridbatch;

Matrix make_load(Index steps, Index scenarios) {
    LoadProfileOptions opt;
    opt.steps = steps;
    opt.backend = Backend::cpu;
    return training_load({TrainingLoadParameters{}}, scenarios, opt);
}

void run(benchmark::State& state, bool lossy, double energy_factor = 1) {
    const Index S = state.range(0), T = state.range(1);
    const Matrix load = make_load(T, S);
    BatteryFleet fleet = BatteryFleet::from_units(battery_unit("megapack-2h"), 40);
    fleet.energy_mwh *= energy_factor;
    if (!lossy) fleet.charge_efficiency = fleet.discharge_efficiency = 1;
    fleet.charge_mw = fleet.discharge_mw = lossy ? fleet.charge_mw : 1e4;  // lossless: pure string
    DispatchOptions opt;
    opt.backend = Backend::cpu;
    for (auto _ : state) {
        DispatchResult r = dispatch(load, {fleet}, {GridConnection{}}, opt);
        benchmark::DoNotOptimize(r.objective.data());
    }
    const double items = static_cast<double>(S) * static_cast<double>(T);
    state.counters["steps/s"] =
        benchmark::Counter(items, benchmark::Counter::kIsIterationInvariantRate);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(items) *
                            32);
}

void BM_DispatchLossless(benchmark::State& state) { run(state, false); }
void BM_DispatchLossy(benchmark::State& state) { run(state, true); }
// 1000 times the energy at the same power: never full or empty, so the dynamic program removes
// nothing and every breakpoint lands deep inside a set that only grows.
void BM_DispatchLossyNeverFull(benchmark::State& state) { run(state, true, 1000); }

void BM_TrainingLoad(benchmark::State& state) {
    const Index S = state.range(0), T = state.range(1);
    for (auto _ : state) {
        Matrix m = make_load(T, S);
        benchmark::DoNotOptimize(m.data());
    }
    const double items = static_cast<double>(S) * static_cast<double>(T);
    state.counters["steps/s"] =
        benchmark::Counter(items, benchmark::Counter::kIsIterationInvariantRate);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(items) *
                            8);
}

void grid(benchmark::internal::Benchmark* b) {
    for (int64_t s : {1, 10, 100, 1000}) b->Args({s, 3600});
    for (int64_t s : {1, 10, 100}) b->Args({s, 86400});
    b->Args({1, 864000});  // a day at 0.1 s
    b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_DispatchLossless)->Apply(grid);
BENCHMARK(BM_DispatchLossy)->Apply(grid);
BENCHMARK(BM_DispatchLossyNeverFull)
    ->Args({1, 20000})
    ->Args({1, 86400})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_TrainingLoad)->Apply(grid);

}  // namespace

BENCHMARK_MAIN();
