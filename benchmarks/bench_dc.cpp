// DC power flow, factorisation and N-1 screening throughput. Cases come from ../shared/cases
// (GRIDBATCH_SHARED_DIR, or the environment variable of that name); a missing case skips its
// benchmarks with a message. Backend from GRIDBATCH_BENCH_BACKEND (cpu, cuda or auto; default
// cpu), CPU threads from GRIDBATCH_BENCH_THREADS. Scenarios are load scalings of the case, one per
// column.
//   bench_dc --benchmark_filter=Batch    # scenarios/s for 1 .. 10,000 scenarios
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/matpower.hpp"
#include "gridbatch/sensitivities.hpp"
#include "shared_dir.hpp"

namespace {

using namespace gridbatch;

Backend bench_backend() {
    const char* env = std::getenv("GRIDBATCH_BENCH_BACKEND");
    return env ? parse_backend(env) : Backend::cpu;
}

// Parsed once per process.
const Network* network(const std::string& name) {
    static std::map<std::string, std::unique_ptr<Network>> cache;
    auto it = cache.find(name);
    if (it != cache.end()) return it->second.get();
    const std::string path = shared_dir() + "/cases/" + name + ".m";
    std::unique_ptr<Network> net;
    if (std::filesystem::exists(path)) net = std::make_unique<Network>(read_matpower(path));
    return (cache[name] = std::move(net)).get();
}

// The case, or null with the row skipped: the backend under test is unavailable (no device: a
// skipped row, not an aborted program whose JSON holds nothing), or the case is not there.
const Network* ready(benchmark::State& state, const std::string& name) {
    const BackendStatus status = backend_status(bench_backend());
    if (!status.available) {
        state.SkipWithError(("skipped: " + status.reason).c_str());
        return nullptr;
    }
    const Network* net = network(name);
    if (!net) state.SkipWithError((name + " not found under " + shared_dir()).c_str());
    return net;
}

Matrix scaled_loads(const Network& net, Index scenarios) {
    Matrix pd(net.n_bus(), scenarios);
    for (Index s = 0; s < scenarios; ++s)
        pd.col(s) =
            net.buses().pd * (0.7 + 0.6 * static_cast<Real>(s) / std::max<Index>(1, scenarios));
    return pd;
}

// GRIDBATCH_BENCH_THREADS: CPU threads (default: every core).
DcOptions options() {
    DcOptions o;
    o.backend = bench_backend();
    if (const char* env = std::getenv("GRIDBATCH_BENCH_THREADS")) o.threads = std::atoi(env);
    return o;
}

// Angles and branch flows for S scenarios with the factorisation reused (built outside the loop).
void batch(benchmark::State& state, const std::string& name) {
    const Network* net = ready(state, name);
    if (!net) return;
    const Index S = state.range(0);
    DcPowerFlow pf(*net, options());
    const Matrix pd = scaled_loads(*net, S);
    for (auto _ : state) {
        DcPowerFlowResult r = pf.solve(pd);
        benchmark::DoNotOptimize(r.pf.data());
    }
    state.counters["scenarios/s"] =
        benchmark::Counter(static_cast<double>(S), benchmark::Counter::kIsIterationInvariantRate);
    // Bytes that must move at least once: Pd in, angles and flows out.
    state.counters["bytes"] =
        static_cast<double>(sizeof(Real) * S * (2 * net->n_bus() + net->n_branch()));
    state.SetLabel(std::string(to_string(pf.backend())) + ", " + std::to_string(net->n_bus()) +
                   " buses");
}

void factorise(benchmark::State& state, const std::string& name) {
    const Network* net = ready(state, name);
    if (!net) return;
    for (auto _ : state) {
        DcPowerFlow pf(*net, options());
        benchmark::DoNotOptimize(&pf);
    }
}

// N-1 screening of every branch outage for S load scalings (LODF blocks + screening).
void n1(benchmark::State& state, const std::string& name) {
    const Network* net = ready(state, name);
    if (!net) return;
    const Index S = state.range(0);
    DcPowerFlow pf(*net, options());
    const Matrix pd = scaled_loads(*net, S);
    Index outages = 0;
    std::size_t violations = 0;
    for (auto _ : state) {
        const N1Result r = n1_screen(pf, pd);
        outages = static_cast<Index>(r.screened.size());
        violations = r.violations.size();
    }
    state.counters["scenarios/s"] =
        benchmark::Counter(static_cast<double>(S), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["post-outage flows/s"] =
        benchmark::Counter(static_cast<double>(S * outages * net->n_branch()),
                           benchmark::Counter::kIsIterationInvariantRate);
    state.counters["violations"] = static_cast<double>(violations);
    state.SetLabel(std::to_string(outages) + " outages");
}

void lodf_dense(benchmark::State& state, const std::string& name) {
    const Network* net = ready(state, name);
    if (!net) return;
    DcPowerFlow pf(*net, options());
    for (auto _ : state) {
        const Lodf l = lodf(pf);
        benchmark::DoNotOptimize(l.factors.data());
    }
}

BENCHMARK_CAPTURE(factorise, case118, "case118")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(factorise, case2383wp, "case2383wp")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(factorise, case9241pegase, "case9241pegase")->Unit(benchmark::kMillisecond);

BENCHMARK_CAPTURE(batch, case118, "case118")
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(batch, case2383wp, "case2383wp")
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// 10,000 scenarios of case9241pegase hold 2.8 GB of input and output.
BENCHMARK_CAPTURE(batch, case9241pegase, "case9241pegase")
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(batch, case9241pegase, "case9241pegase")
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

BENCHMARK_CAPTURE(lodf_dense, case2383wp, "case2383wp")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(n1, case2383wp, "case2383wp")
    ->Arg(1)
    ->Arg(100)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(n1, case2383wp, "case2383wp")
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
