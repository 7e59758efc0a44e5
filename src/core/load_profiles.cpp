// Synthetic training load front end: validation, conversion to plain parameters, backend choice.
#include "gridbatch/load_profiles.hpp"

#include <cmath>

#include "core/invalid_input.hpp"
#include "core/memory.hpp"
#include "engine/dispatch_engine.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {

using detail::require;

void TrainingLoadParameters::validate(const std::string& where) const {
    require(std::isfinite(gpu_count) && gpu_count >= 0, where, "gpu_count", gpu_count,
            "finite and >= 0");
    require(std::isfinite(it_kw_per_gpu) && it_kw_per_gpu >= 0, where, "it_kw_per_gpu",
            it_kw_per_gpu, "finite and >= 0");
    require(idle_level >= 0 && idle_level <= 1, where, "idle_level", idle_level, "in [0, 1]");
    require(std::isfinite(pue) && pue >= 1, where, "pue", pue, "finite and >= 1");
    require(std::isfinite(cooling_time_constant_s) && cooling_time_constant_s > 0, where,
            "cooling_time_constant_s", cooling_time_constant_s, "finite and > 0");
    require(noise >= 0 && noise < 0.2, where, "noise", noise, "in [0, 0.2)");
    if (jobs.size() > static_cast<std::size_t>(kMaxTrainingJobs))
        throw Error(ErrorKind::invalid_input, where + ": " + std::to_string(jobs.size()) +
                                                  " jobs; at most " +
                                                  std::to_string(kMaxTrainingJobs) + " supported");
    Real share = 0;
    for (std::size_t k = 0; k < jobs.size(); ++k) {
        const TrainingJob& j = jobs[k];
        const std::string w = where + ", job " + std::to_string(k);
        require(j.gpu_share > 0 && j.gpu_share <= 1, w, "gpu_share", j.gpu_share, "in (0, 1]");
        require(std::isfinite(j.iteration_period_s) && j.iteration_period_s > 0, w,
                "iteration_period_s", j.iteration_period_s, "finite and > 0");
        require(j.period_jitter >= 0 && j.period_jitter < 1, w, "period_jitter", j.period_jitter,
                "in [0, 1)");
        require(j.compute_share >= 0 && j.compute_share <= 1, w, "compute_share", j.compute_share,
                "in [0, 1]");
        require(j.peak_level >= 0 && j.peak_level <= 1.5, w, "peak_level", j.peak_level,
                "in [0, 1.5]");
        require(j.trough_level >= 0 && j.trough_level <= 1.5, w, "trough_level", j.trough_level,
                "in [0, 1.5]");
        require(j.amplitude_jitter >= 0 && j.amplitude_jitter < 0.3, w, "amplitude_jitter",
                j.amplitude_jitter, "in [0, 0.3)");
        require(std::isfinite(j.start_s), w, "start_s", j.start_s, "finite");
        require(j.stop_s >= j.start_s, w, "stop_s", j.stop_s, ">= start_s");
        require(std::isfinite(j.ramp_s) && j.ramp_s >= 0, w, "ramp_s", j.ramp_s, "finite and >= 0");
        require(std::isfinite(j.checkpoint_interval_s) && j.checkpoint_interval_s >= 0, w,
                "checkpoint_interval_s", j.checkpoint_interval_s, "finite and >= 0");
        require(
            j.checkpoint_duration_s >= 0 && (j.checkpoint_interval_s == 0 ||
                                             j.checkpoint_duration_s <= j.checkpoint_interval_s),
            w, "checkpoint_duration_s", j.checkpoint_duration_s,
            ">= 0 and <= checkpoint_interval_s");
        require(j.checkpoint_level >= 0 && j.checkpoint_level <= 1.5, w, "checkpoint_level",
                j.checkpoint_level, "in [0, 1.5]");
        require(std::isfinite(j.failures_per_hour) && j.failures_per_hour >= 0, w,
                "failures_per_hour", j.failures_per_hour, "finite and >= 0");
        require(std::isfinite(j.restart_outage_s) && j.restart_outage_s >= 0, w, "restart_outage_s",
                j.restart_outage_s, "finite and >= 0");
        share += j.gpu_share;
    }
    require(share <= 1 + 1e-12, where, "sum of jobs' gpu_share", share, "<= 1");
}

namespace detail {

dispatch::LoadParams load_params(const TrainingLoadParameters& p) {
    static_assert(dispatch::kMaxJobs == kMaxTrainingJobs, "one job limit for both structs");
    dispatch::LoadParams q{};
    q.gpu_count = p.gpu_count;
    q.it_kw_per_gpu = p.it_kw_per_gpu;
    q.idle_level = p.idle_level;
    q.pue = p.pue;
    q.cooling_time_constant_s = p.cooling_time_constant_s;
    q.noise = p.noise;
    q.n_jobs = static_cast<int>(p.jobs.size());
    for (std::size_t k = 0; k < p.jobs.size(); ++k) {
        // By name, not by position: the device struct's order is its own.
        const TrainingJob& j = p.jobs[k];
        dispatch::JobParams& d = q.jobs[k];
        d.share = j.gpu_share;
        d.period_s = j.iteration_period_s;
        d.period_jitter = j.period_jitter;
        d.compute_share = j.compute_share;
        d.peak_level = j.peak_level;
        d.trough_level = j.trough_level;
        d.amplitude_jitter = j.amplitude_jitter;
        d.start_s = j.start_s;
        d.stop_s = j.stop_s;
        d.ramp_s = j.ramp_s;
        d.checkpoint_interval_s = j.checkpoint_interval_s;
        d.checkpoint_duration_s = j.checkpoint_duration_s;
        d.checkpoint_level = j.checkpoint_level;
        d.failure_rate_per_h = j.failures_per_hour;
        d.restart_outage_s = j.restart_outage_s;
    }
    return q;
}

}  // namespace detail

Matrix training_load(const std::vector<TrainingLoadParameters>& parameters, Index n_scenarios,
                     const LoadProfileOptions& options) {
    require(options.steps >= 0, "LoadProfileOptions", "steps", static_cast<Real>(options.steps),
            ">= 0");
    require(std::isfinite(options.dt_seconds) && options.dt_seconds > 0, "LoadProfileOptions",
            "dt_seconds", options.dt_seconds, "finite and > 0");
    require(n_scenarios >= 0, "training_load", "n_scenarios", static_cast<Real>(n_scenarios),
            ">= 0");
    require(options.threads >= 0, "LoadProfileOptions", "threads", options.threads,
            ">= 0 (0 = all cores)");
    if (parameters.size() != 1 && static_cast<Index>(parameters.size()) != n_scenarios)
        throw Error(ErrorKind::invalid_input,
                    "training_load: parameters has " + std::to_string(parameters.size()) +
                        " entries; expected 1 (shared) or " + std::to_string(n_scenarios));
    detail::require_host_memory(
        8.0 * static_cast<double>(n_scenarios) * static_cast<double>(options.steps),
        "training_load of " + std::to_string(n_scenarios) + " scenarios x " +
            std::to_string(options.steps) + " steps");
    for (std::size_t i = 0; i < parameters.size(); ++i)
        parameters[i].validate(parameters.size() == 1
                                   ? "training load parameters (shared)"
                                   : "training load parameters of scenario " + std::to_string(i));
    std::vector<detail::dispatch::LoadParams> pods(static_cast<std::size_t>(n_scenarios));
    for (Index s = 0; s < n_scenarios; ++s)
        pods[s] = detail::load_params(parameters[parameters.size() == 1 ? 0 : s]);
    const Backend backend = resolve_backend(options.backend);
    Matrix out(options.steps, n_scenarios);
    auto engine = detail::make_dispatch_engine(backend, options.threads, options.device);
    engine->training_load(pods, options.seed, options.dt_seconds, out);
    return out;
}

}  // namespace gridbatch
