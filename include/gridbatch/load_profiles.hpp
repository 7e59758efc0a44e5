// Synthetic electrical load of an AI-training campus, batched over scenarios.
//
// Model: each training job runs synchronous data-parallel training, so all its GPUs swing
// together every iteration between a compute phase (peak power) and a communication phase
// (trough), with per-iteration amplitude jitter; checkpoints drop the job to a lower level for a
// while at a fixed interval; failures arrive as a Poisson process (discretised in 1-minute slots,
// at most one per slot, uniform time inside it) and idle the job for a restart outage; jobs ramp
// linearly at start and stop. GPUs not in any job idle. Facility overhead (PUE - 1) times IT
// power passes through a first-order lag (cooling reacts in minutes, not seconds).
//
// Determinism: every random number is splitmix64 of (seed, scenario, stream, counter): the
// values do not depend on thread count, order of evaluation or backend (the CUDA engine generates
// the same series in place, up to last-bit differences of exp/log/cos between libm and CUDA).
//
// Defaults are sized to xAI's Colossus as publicly reported in 2024: ~100,000 H100 GPUs and
// ~150 MW at the grid connection. IT power per GPU 1.2 kW = H100 SXM 700 W TDP (NVIDIA datasheet)
// plus its share of host CPUs, memory, NICs and switches (DGX H100: 10.2 kW max for 8 GPUs,
// NVIDIA); PUE 1.25 gives 100,000 x 1.2 kW x 1.25 = 150 MW at full load.
//
// Output: T x S column-major Matrix, one scenario per column, MW.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gridbatch/backend.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch {

struct TrainingJob {
    Real gpu_share = 0.9;           // fraction of the site's GPUs in this job, (0, 1]
    Real iteration_period_s = 2.0;  // 0.3 .. 5 s is typical for large models
    Real period_jitter = 0.1;       // periods vary by +-10% between scenarios
    Real compute_share = 0.7;       // fraction of an iteration at peak
    Real peak_level = 1.0;          // fraction of IT power per GPU
    Real trough_level = 0.45;       // during all-reduce
    Real amplitude_jitter = 0.02;   // relative std dev of the peak per iteration
    Real start_s = 0;               // job runs in [start_s, stop_s), ramps over ramp_s
    Real stop_s = HUGE_VAL;
    Real ramp_s = 0;
    Real checkpoint_interval_s = 1800;  // 0 = no checkpoints
    Real checkpoint_duration_s = 60;
    Real checkpoint_level = 0.3;
    Real failures_per_hour = 0.5;  // Poisson rate (large jobs fail every few hours)
    Real restart_outage_s = 300;
};

struct TrainingLoadParameters {
    Real gpu_count = 100000;
    Real it_kw_per_gpu = 1.2;
    Real idle_level = 0.15;  // idle GPU+host, fraction of it_kw_per_gpu
    Real pue = 1.25;
    Real cooling_time_constant_s = 300;
    Real noise = 0.002;  // white noise on IT power per step (relative std dev)
    std::vector<TrainingJob> jobs{
        TrainingJob{}, TrainingJob{0.08, 0.8, 0.1, 0.6, 0.95, 0.5, 0.03, 0, HUGE_VAL, 0, 3600, 30,
                                   0.35, 0.2, 180}};
    // Throws Error{invalid_input} naming the field, the job and `where`.
    void validate(const std::string& where) const;
};
constexpr int kMaxTrainingJobs = 8;

struct LoadProfileOptions {
    Index steps = 3600;
    Real dt_seconds = 1.0;  // 1 s or 0.1 s (swings at 0.2-3 Hz need the latter)
    std::uint64_t seed = 1;
    Backend backend = Backend::automatic;
    int threads = 0;
    int device = 0;  // CUDA engine
};

// `parameters` has 1 entry (shared by all scenarios; they still differ through the random
// streams) or n_scenarios entries. Returns steps x n_scenarios, MW.
Matrix training_load(const std::vector<TrainingLoadParameters>& parameters, Index n_scenarios,
                     const LoadProfileOptions& options = {});

}  // namespace gridbatch
