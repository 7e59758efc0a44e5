// The CUDA DC engine's device work with the batch resident on the GPU: CUDA events after a
// warm-up around compute() only (angles GEMM, flows, injections); uploads and downloads are timed
// apart and reported as counters. Achieved bandwidth is compared with a measured device-to-device
// copy (DeviceCopy). Cases from ../shared/cases (GRIDBATCH_SHARED_DIR); without a device, or in a
// build without CUDA, every benchmark is skipped with the reason and the program exits 0.
#include <benchmark/benchmark.h>

#include <cstdio>

#if __has_include("dc_engine_cuda.hpp")  // the CUDA internals are on the path iff CUDA is built

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/dc_access.hpp"
#include "dc_engine_cuda.hpp"
#include "device_timer.hpp"
#include "gridbatch/backend.hpp"
#include "gridbatch/dc_power_flow.hpp"
#include "gridbatch/matpower.hpp"
#include "shared_dir.hpp"

namespace {

using namespace gridbatch;
using detail::cuda::CudaDcEngine;

bool have_device(benchmark::State& state) {
    const BackendStatus status = backend_status(Backend::cuda);
    if (!status.available) state.SkipWithError(("skipped: " + status.reason).c_str());
    return status.available;
}

void device_copy(benchmark::State& state) {
    if (!have_device(state)) return;
    const std::size_t bytes = std::size_t{1} << 30;
    detail::cuda::DeviceBuffer<char> a(bytes), b(bytes);
    GRIDBATCH_CUDA_CHECK(cudaMemcpy(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice));  // warm
    DeviceTimer timer;
    double total_ms = 0;
    for (auto _ : state) {
        const float ms = timer.milliseconds(nullptr, [&] {
            GRIDBATCH_CUDA_CHECK(
                cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice));
        });
        total_ms += ms;
        state.SetIterationTime(ms / 1e3);
    }
    // A copy reads and writes every byte.
    state.counters["GB/s"] = 2.0 * bytes * state.iterations() / (total_ms / 1e3) / 1e9;
}
// Fixed iteration counts: one call per row, not a second with the setup (an inverse of up to
// 13,659 x 13,659 and gigabytes of upload) done again.
BENCHMARK(device_copy)
    ->Name("DeviceCopy/1GiB")
    ->UseManualTime()
    ->Iterations(50)
    ->Unit(benchmark::kMillisecond);

void batch(benchmark::State& state, const std::string& name, bool sparse) {
    if (!have_device(state)) return;
    const std::string path = shared_dir() + "/cases/" + name + ".m";
    if (!std::filesystem::exists(path)) return state.SkipWithError((path + " not found").c_str());
    const Network net = read_matpower(path);
    DcOptions options;
    options.backend = Backend::cuda;
    // The sparse rows force the sparse solve; the others keep whatever the caller set.
    const char* caller = std::getenv("GRIDBATCH_DC_SOLVE");
    const std::string before = caller ? caller : "";
    if (sparse) setenv("GRIDBATCH_DC_SOLVE", "sparse", 1);
    DcPowerFlow pf(net, options);
    if (sparse && caller) setenv("GRIDBATCH_DC_SOLVE", before.c_str(), 1);
    if (sparse && !caller) unsetenv("GRIDBATCH_DC_SOLVE");
    auto* engine = dynamic_cast<CudaDcEngine*>(&detail::DcAccess::engine(pf));
    if (engine == nullptr) return state.SkipWithError("the DC engine is not the CUDA engine");
    state.SetLabel(engine->sparse() ? "sparse solve" : "dense inverse");
    const Index S = state.range(0);
    if (engine->max_chunk() < S) return state.SkipWithError("batch does not fit in device memory");

    Matrix pd(net.n_bus(), S);
    for (Index s = 0; s < S; ++s)
        pd.col(s) = net.buses().pd * (0.7 + 0.6 * static_cast<Real>(s) / std::max<Index>(1, S));
    Matrix va(net.n_bus(), S), flows(net.n_branch(), S);
    detail::DcBatchIn in;
    in.count = S;
    in.pd = pd.data();
    in.ld_pd = pd.rows();
    detail::DcBatchOut out;
    out.va = va.data();
    out.ld_va = va.rows();
    out.pf = flows.data();
    out.ld_pf = flows.rows();

    DeviceTimer timer;
    const float upload_ms = timer.milliseconds(engine->stream(), [&] { engine->upload(in, 0, S); });
    // Angles and flows only, what the target times: without the residual check that
    // DcPowerFlow::solve adds (one more sparse product over the batch and a maximum per scenario).
    engine->compute(S, false);  // warm-up (cuBLAS picks its kernels on first use)
    double total_ms = 0;
    for (auto _ : state) {
        const float ms = timer.milliseconds(engine->stream(), [&] { engine->compute(S, false); });
        total_ms += ms;
        state.SetIterationTime(ms / 1e3);
    }
    const float download_ms =
        timer.milliseconds(engine->stream(), [&] { engine->download(out, 0, S); });

    const double nb = static_cast<double>(net.n_bus()),
                 nf = static_cast<double>(detail::DcAccess::model(pf).n_free()),
                 nl = static_cast<double>(net.n_branch());
    const double seconds = total_ms / 1e3 / static_cast<double>(state.iterations());
    // Bytes that must move per batch: loads in, injections, right-hand side and angles through
    // the two solves (solve and one refinement step) and the residual, angles and flows out;
    // dense: the inverse read once per DGEMM; sparse: each solve's two transposes (in and out of
    // the scenario-fastest rows), its substitutions' re-reads counted as cached.
    const double per_scenario = engine->sparse() ? 4 * nb + 15 * nf + nl : 4 * nb + 7 * nf + nl;
    const double bytes =
        8.0 * (static_cast<double>(S) * per_scenario + (engine->sparse() ? 0 : 2 * nf * nf));
    state.counters["scenarios/s"] = static_cast<double>(S) / seconds;
    state.counters["GB/s"] = bytes / seconds / 1e9;
    if (!engine->sparse())
        state.counters["GEMM_TFLOP/s"] = 4.0 * nf * nf * static_cast<double>(S) / seconds / 1e12;
    state.counters["upload_ms"] = upload_ms;
    state.counters["download_ms"] = download_ms;
}

void register_all() {
    // DcResident: the engine's own choice (dense wherever the inverse fits); DcResidentSparse:
    // the sparse solve forced, to choose between them by measurement.
    for (const bool sparse : {false, true})
        for (const char* name : {"case118", "case2383wp", "case9241pegase"})
            benchmark::RegisterBenchmark(
                (std::string(sparse ? "DcResidentSparse/" : "DcResident/") + name).c_str(),
                [name, sparse](benchmark::State& s) { batch(s, name, sparse); })
                ->Arg(1)
                ->Arg(100)
                ->Arg(1000)
                ->Arg(10000)
                ->UseManualTime()
                ->Iterations(20)
                ->Unit(benchmark::kMillisecond);
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
    std::puts("bench_dc_cuda: this build has no CUDA backend; nothing to measure");
    return 0;
}

#endif
