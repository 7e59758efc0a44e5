// The synthetic training load in the CUDA kernel's layout: the generator written once for both
// backends (core/dispatch/training_load.hpp) run on interleaved series (step t of scenario s at t *
// S + s) gives, bitwise, the series the CPU engine writes one scenario per column. Runs on the
// host; the kernel itself needs a GPU.
#include <gtest/gtest.h>

#include <vector>

#include "core/dispatch/training_load.hpp"
#include "engine/dispatch_engine.hpp"
#include "gridbatch/load_profiles.hpp"

namespace gridbatch {
namespace {

TEST(TrainingLoadLayout, InterleavedScenariosGiveTheContiguousSeriesBitwise) {
    // Three scenarios that differ: the default campus (two jobs), a noisy one whose main job fails
    // often and checkpoints every 10 minutes, and one with a third job that starts and stops with
    // ramps.
    std::vector<TrainingLoadParameters> params(3);
    params[1].noise = 0.05;
    params[1].jobs[0].failures_per_hour = 20;
    params[1].jobs[0].checkpoint_interval_s = 600;
    params[2].jobs[0].gpu_share = 0.5;
    params[2].jobs.push_back(params[2].jobs[0]);
    TrainingJob& third = params[2].jobs.back();
    third.gpu_share = 0.4;
    third.iteration_period_s = 0.7;
    third.start_s = 300;
    third.stop_s = 3000;
    third.ramp_s = 120;
    LoadProfileOptions opt;
    opt.steps = 3600;
    opt.seed = 17;
    opt.backend = Backend::cpu;
    const Matrix contiguous = training_load(params, 3, opt);

    const Index S = 3, T = opt.steps;
    std::vector<double> interleaved(static_cast<std::size_t>(S * T));
    for (Index s = 0; s < S; ++s)
        detail::dispatch::training_load(detail::load_params(params[static_cast<std::size_t>(s)]),
                                        opt.seed, s, T, opt.dt_seconds, interleaved.data() + s, S);
    for (Index s = 0; s < S; ++s)
        for (Index t = 0; t < T; ++t)
            ASSERT_EQ(interleaved[static_cast<std::size_t>(t * S + s)], contiguous(t, s))
                << "scenario " << s << ", step " << t;
    // The scenarios differ (else the comparison would not see a mixed-up stride).
    EXPECT_NE(contiguous.col(0), contiguous.col(1));
    EXPECT_NE(contiguous.col(1), contiguous.col(2));
}

}  // namespace
}  // namespace gridbatch
