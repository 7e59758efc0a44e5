// The dispatch and load-generator kernels on the device, data resident there: the H100 targets of
// the dispatch issue (one day at 1 s, 86,400 steps, for 10,000 scenarios: the exact lossless
// dispatch in < 30 ms, with losses and power limits in < 100 ms, the synthetic load in < 10 ms).
// Timed with CUDA events around the kernels alone. Scenarios go in chunks that fit the device (a
// lossy day needs ~9 MB of dynamic-program workspace per scenario), each chunk's load generated
// untimed by the load kernel first, the chunks' kernel times summed. Floor: the bytes that must
// move, 8 B per scenario-step for the load, 32 B for a dispatch (read the load, write battery,
// SoC and grid draw), against bench_dc_cuda's measured device copy (~3.0 TB/s on an H100), in the
// GB/s counter. Without a device, or in a build without CUDA, everything is skipped and the
// program exits 0.
#include <benchmark/benchmark.h>

#include <cstdio>

#if __has_include("kernels/dispatch_kernels.cuh")  // the CUDA internals are on the path iff built

#include <algorithm>
#include <vector>

#include "device_buffer.hpp"
#include "device_timer.hpp"
#include "engine/device.hpp"
#include "engine/dispatch_engine.hpp"
#include "gridbatch/backend.hpp"
#include "kernels/dispatch_kernels.cuh"

namespace {

using namespace gridbatch;
using namespace gridbatch::detail;
using cuda::DeviceBuffer;

// A Colossus-sized site (the generator's defaults) and a 40-unit Megapack-2h fleet; lossless: the
// same fleet without losses and power limits (the taut string alone).
dispatch::FleetParams fleet_params(bool lossy) {
    BatteryFleet fleet = BatteryFleet::from_units(battery_unit("megapack-2h"), 40);
    if (!lossy) {
        fleet.charge_efficiency = fleet.discharge_efficiency = 1;
        fleet.charge_mw = fleet.discharge_mw = 1e4;
    }
    const Matrix probe = Matrix::Constant(1, 1, 100.0);  // target zero: the load is not used
    DispatchOptions options;
    options.target = SmoothingTarget::zero;
    return prepare(probe, {fleet}, {GridConnection{}}, options)[0];
}

void training_load(benchmark::State& state) {
    const BackendStatus device = backend_status(Backend::cuda);
    if (!device.available) return state.SkipWithError(("skipped: " + device.reason).c_str());
    const long long S = state.range(0), T = state.range(1);
    const std::vector<dispatch::LoadParams> params(static_cast<std::size_t>(S),
                                                   load_params(TrainingLoadParameters{}));
    DeviceBuffer<dispatch::LoadParams> d_params(params, nullptr);
    DeviceBuffer<double> d_load(static_cast<std::size_t>(S * T));
    DeviceTimer timer;
    cuda::launch_training_load(d_params.data(), 7, 0, T, S, 1.0, d_load.data(), nullptr);  // warm
    for (auto _ : state) {
        const float ms = timer.milliseconds(nullptr, [&] {
            cuda::launch_training_load(d_params.data(), 7, 0, T, S, 1.0, d_load.data(), nullptr);
        });
        state.SetIterationTime(ms / 1e3);
    }
    const double items = static_cast<double>(S) * static_cast<double>(T);
    state.counters["steps/s"] =
        benchmark::Counter(items, benchmark::Counter::kIsIterationInvariantRate);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * items * 8));
}

void dispatch_day(benchmark::State& state, bool lossy) {
    const BackendStatus device = backend_status(Backend::cuda);
    if (!device.available) return state.SkipWithError(("skipped: " + device.reason).c_str());
    const long long S = state.range(0), T = state.range(1);
    const dispatch::FleetParams fleet = fleet_params(lossy);
    const std::size_t per_scenario =
        sizeof(double) * static_cast<std::size_t>(5 * T + 1 + dispatch::price_items(T)) +
        sizeof(dispatch::Breakpoint) * static_cast<std::size_t>(dispatch::workspace_items(T)) +
        sizeof(dispatch::FleetParams) + sizeof(dispatch::LoadParams) + sizeof(dispatch::DpHalves) +
        sizeof(dispatch::Outcome) + sizeof(int);
    const long long C = cuda::scenarios_per_chunk(S, per_scenario);
    const std::vector<dispatch::FleetParams> fleets(static_cast<std::size_t>(C), fleet);
    const std::vector<dispatch::LoadParams> load_params_c(static_cast<std::size_t>(C),
                                                          load_params(TrainingLoadParameters{}));
    DeviceBuffer<dispatch::FleetParams> d_fleets(fleets, nullptr);
    DeviceBuffer<dispatch::LoadParams> d_load_params(load_params_c, nullptr);
    const auto CT = static_cast<std::size_t>(C * T);
    DeviceBuffer<double> d_load(CT), d_battery(CT), d_grid(CT),
        d_soc(static_cast<std::size_t>(C * (T + 1))),
        d_prices(static_cast<std::size_t>(C * dispatch::price_items(T)));
    DeviceBuffer<dispatch::Breakpoint> d_work(
        static_cast<std::size_t>(C * dispatch::workspace_items(T)));
    DeviceBuffer<dispatch::DpHalves> d_halves(static_cast<std::size_t>(C));
    DeviceBuffer<dispatch::Outcome> d_outcomes(static_cast<std::size_t>(C));
    DeviceBuffer<int> d_methods(static_cast<std::size_t>(C));
    DeviceTimer timer;
    const auto chunk = [&](long long first, long long count) {  // the load untimed, then timed
        cuda::launch_training_load(d_load_params.data(), 7, first, T, count, 1.0, d_load.data(),
                                   nullptr);
        return 1e-3 * timer.milliseconds(nullptr, [&] {
            cuda::launch_dispatch(d_load.data(), T, count, 1.0 / 3600, d_fleets.data(), 0,
                                  d_battery.data(), d_soc.data(), d_grid.data(), d_work.data(),
                                  d_prices.data(), d_halves.data(), d_outcomes.data(),
                                  d_methods.data(), nullptr);
        });
    };
    chunk(0, C);  // warm-up
    int optimal = 0;
    for (auto _ : state) {
        double seconds = 0;
        for (long long first = 0; first < S; first += C)
            seconds += chunk(first, std::min(C, S - first));
        state.SetIterationTime(seconds);
        // The last chunk's outcomes: its first S - first entries (a partial chunk leaves the
        // previous chunk's behind them).
        const std::vector<dispatch::Outcome> outcomes = d_outcomes.download(nullptr);
        const long long last = S - (S - 1) / C * C;
        optimal = static_cast<int>(std::count_if(outcomes.begin(), outcomes.begin() + last,
                                                 [](const auto& o) { return o.status == 0; }));
    }
    const double items = static_cast<double>(S) * static_cast<double>(T);
    state.counters["steps/s"] =
        benchmark::Counter(items, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["chunk"] = static_cast<double>(C);
    state.counters["optimal_in_last_chunk"] = optimal;
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * items * 32));
}

void BM_TrainingLoadDevice(benchmark::State& s) { training_load(s); }
void BM_DispatchLosslessDevice(benchmark::State& s) { dispatch_day(s, false); }
void BM_DispatchLossyDevice(benchmark::State& s) { dispatch_day(s, true); }

BENCHMARK(BM_TrainingLoadDevice)
    ->Args({1000, 86400})
    ->Args({10000, 86400})
    ->Args({100, 864000})
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DispatchLosslessDevice)
    ->Args({1, 86400})  // one scenario: a thread's latency
    ->Args({1000, 86400})
    ->Args({10000, 86400})
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DispatchLossyDevice)
    ->Args({1, 86400})
    ->Args({1000, 3600})
    ->Args({10000, 3600})
    ->Args({1000, 86400})
    ->Args({10000, 86400})
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::AddCustomContext("gridbatch_device", build_info().cuda_device);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

#else

int main() {
    std::puts("bench_dispatch_cuda: this build has no CUDA backend; nothing to measure");
    return 0;
}

#endif
