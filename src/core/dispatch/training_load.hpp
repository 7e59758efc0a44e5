// The synthetic AI-training load of one scenario.
//
// Written once for both backends, as every header of core/dispatch/: plain structs and raw
// strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU engine calls
// them with stride 1 (one scenario per column), the CUDA kernels with stride S (scenario-fastest,
// so neighbouring threads touch neighbouring addresses).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/dispatch/counter_rng.hpp"
#include "core/dispatch/min_max.hpp"

namespace gridbatch::detail::dispatch {

// Synthetic AI-training load. Each job is synchronous data-parallel training: all its GPUs swing
// together between compute (peak) and communication (trough) every iteration, drop for
// checkpoints and failure restarts, and ramp at start and stop. Facility overhead (cooling)
// follows IT power through a first-order lag.
constexpr int kMaxJobs = 8;

struct JobParams {
    double share;                  // fraction of the site's GPUs
    double period_s;               // iteration period
    double period_jitter;          // relative spread of the period between scenarios
    double compute_share;          // fraction of the iteration at peak power
    double peak_level;             // GPU power at peak, fraction of IT power per GPU
    double trough_level;           // during communication, fraction of IT power per GPU
    double amplitude_jitter;       // relative std dev of the peak per iteration
    double start_s, stop_s;        // job window
    double ramp_s;                 // linear ramp at start and stop
    double checkpoint_interval_s;  // 0 = none
    double checkpoint_duration_s;
    double checkpoint_level;
    double failure_rate_per_h;  // Poisson rate of failures
    double restart_outage_s;    // idle time after a failure
};

struct LoadParams {
    double gpu_count;
    double it_kw_per_gpu;  // IT power per GPU at full load (GPU + host share + network), kW
    double idle_level;     // idle GPUs, fraction of it_kw_per_gpu
    double pue;
    double cooling_time_constant_s;
    double noise;  // white noise, relative std dev of IT power per step
    int n_jobs;
    JobParams jobs[kMaxJobs];
};

// Random streams (one per use, so adding one never shifts the others).
enum : std::uint32_t {
    kPhase = 1,
    kPeriod = 2,
    kAmplitude = 3,
    kFailSlot = 4,
    kFailTime = 5,
    kNoise = 6
};
constexpr double kFailureSlotS = 60.0;  // Poisson process discretised into 1-minute slots

// State of one job while time advances; results equal the stateless counter-based definition.
// Failures: each 1-minute slot is drawn once (does it hold a failure, and when); the job is in
// outage while the latest failure so far is less than restart_outage_s ago, which is what asking
// at any time alone whether a failure in one of the last ceil(outage / slot) + 1 slots covers it
// gives, with one draw per slot instead of several per step. Peak jitter: one draw per iteration.
struct JobState {
    double p;                       // probability of a failure in a slot
    std::int64_t slot;              // last slot drawn (-1: none)
    double pending;                 // failure in the current slot not reached yet (inf: none)
    double latest;                  // latest failure reached
    double amplitude_n, amplitude;  // last iteration whose peak was drawn, and its factor
};

GRIDBATCH_HD inline JobState make_job_state(const JobParams& j) {
    const bool on = j.failure_rate_per_h > 0 && j.restart_outage_s > 0;
    return {on ? 1.0 - exp(-j.failure_rate_per_h * kFailureSlotS / 3600.0) : 0.0,
            -1,
            kInf,
            -kInf,
            -kInf,
            1.0};
}

GRIDBATCH_HD inline bool in_outage(JobState& f, const JobParams& j, std::uint64_t seed,
                                   std::int64_t scenario, int job, double time) {
    if (f.p <= 0) return false;
    const std::int64_t slot = static_cast<std::int64_t>(floor(time / kFailureSlotS));
    const std::uint32_t stream = static_cast<std::uint32_t>(job) << 8;
    // Slots skipped by a long step: only those whose outage could still reach `time` matter.
    const std::int64_t back = static_cast<std::int64_t>(ceil(j.restart_outage_s / kFailureSlotS));
    std::int64_t k = f.slot + 1;
    if (k < slot - back) k = slot - back;
    if (k < 0) k = 0;
    for (; k <= slot; ++k) {
        if (f.pending <= time) f.latest = f.pending;
        f.pending = kInf;
        if (uniform01(seed, scenario, stream | kFailSlot, k) >= f.p) continue;
        f.pending = (static_cast<double>(k) + uniform01(seed, scenario, stream | kFailTime, k)) *
                    kFailureSlotS;
    }
    f.slot = slot;
    if (f.pending <= time) {
        f.latest = f.pending;
        f.pending = kInf;
    }
    return time >= f.latest && time < f.latest + j.restart_outage_s;
}

GRIDBATCH_HD inline double job_level(const JobParams& j, double idle, std::uint64_t seed,
                                     std::int64_t scenario, int job, double time, double period,
                                     double phase, JobState& state) {
    if (time < j.start_s || time >= j.stop_s + j.ramp_s) return idle;
    double ramp = 1.0;
    if (j.ramp_s > 0) {
        ramp = fmin(1.0, (time - j.start_s) / j.ramp_s);
        if (time >= j.stop_s) ramp = fmin(ramp, 1.0 - (time - j.stop_s) / j.ramp_s);
    } else if (time >= j.stop_s) {
        return idle;
    }
    double level;
    if (in_outage(state, j, seed, scenario, job, time)) {
        level = idle;
    } else if (j.checkpoint_interval_s > 0 &&
               fmod(time - j.start_s, j.checkpoint_interval_s) >=
                   j.checkpoint_interval_s - j.checkpoint_duration_s) {
        level = j.checkpoint_level;
    } else {
        const double x = time / period + phase;
        const double n = floor(x);
        if (x - n < j.compute_share) {
            if (n != state.amplitude_n) {  // one draw per iteration
                const std::uint32_t stream = (static_cast<std::uint32_t>(job) << 8) | kAmplitude;
                state.amplitude_n = n;
                state.amplitude = 1.0 + j.amplitude_jitter * normal01(seed, scenario, stream,
                                                                      static_cast<std::int64_t>(n));
            }
            level = j.peak_level * state.amplitude;
        } else {
            level = j.trough_level;
        }
    }
    return idle + ramp * (level - idle);
}

GRIDBATCH_HD inline void training_load(const LoadParams& p, std::uint64_t seed,
                                       std::int64_t scenario, std::int64_t T, double dt,
                                       double* out, std::int64_t stride) {
    double period[kMaxJobs], phase[kMaxJobs], share_sum = 0;
    JobState failures[kMaxJobs];
    for (int k = 0; k < p.n_jobs; ++k) {
        failures[k] = make_job_state(p.jobs[k]);
        const std::uint32_t s = static_cast<std::uint32_t>(k) << 8;
        const JobParams& j = p.jobs[k];
        period[k] = j.period_s *
                    (1.0 + j.period_jitter * (2 * uniform01(seed, scenario, s | kPeriod, 0) - 1));
        phase[k] = uniform01(seed, scenario, s | kPhase, 0);
        share_sum += j.share;
    }
    const double mw_per_gpu = p.it_kw_per_gpu / 1000.0;
    const double alpha = 1.0 - exp(-dt / p.cooling_time_constant_s);
    double overhead = 0;
    for (std::int64_t t = 0; t < T; ++t) {
        const double time = static_cast<double>(t) * dt;
        double level = (1.0 - share_sum) * p.idle_level;
        for (int k = 0; k < p.n_jobs; ++k)
            level += p.jobs[k].share * job_level(p.jobs[k], p.idle_level, seed, scenario, k, time,
                                                 period[k], phase[k], failures[k]);
        double it = p.gpu_count * mw_per_gpu * level;
        if (p.noise > 0) it *= 1.0 + p.noise * normal01(seed, scenario, kNoise, t);
        const double target = (p.pue - 1.0) * it;
        overhead = t == 0 ? target : overhead + alpha * (target - overhead);
        out[t * stride] = it + overhead;
    }
}

}  // namespace gridbatch::detail::dispatch
