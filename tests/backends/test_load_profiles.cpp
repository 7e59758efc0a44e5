// Synthetic training load: determinism, scale, the waveform's period and duty cycle, checkpoints,
// failures, ramps, and errors; against closed-form expectations of the model, not our output.
#include <gtest/gtest.h>

#include <cmath>

#include "core/dispatch/training_load.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/load_profiles.hpp"
#include "support/backend_test.hpp"
#include "support/expect_error.hpp"

namespace gridbatch {
namespace {

// One job on every GPU, no randomness: a clean square wave.
TrainingLoadParameters square_wave(Real period, Real compute_share) {
    TrainingLoadParameters p;
    p.noise = 0;
    p.pue = 1;
    TrainingJob j;
    j.gpu_share = 1;
    j.iteration_period_s = period;
    j.period_jitter = 0;
    j.compute_share = compute_share;
    j.amplitude_jitter = 0;
    j.checkpoint_interval_s = 0;
    j.failures_per_hour = 0;
    p.jobs = {j};
    return p;
}

class LoadProfileTest : public test::BackendTest {};

TEST_P(LoadProfileTest, DeterministicGivenSeedAndDifferentAcrossScenarios) {
    LoadProfileOptions opt;
    opt.backend = backend();
    opt.steps = 2000;
    opt.dt_seconds = 0.1;
    opt.seed = 42;
    const Matrix a = training_load({TrainingLoadParameters{}}, 3, opt);
    opt.threads = 1;
    const Matrix b = training_load({TrainingLoadParameters{}}, 3, opt);
    EXPECT_EQ((a - b).cwiseAbs().maxCoeff(), 0.0);  // thread count does not matter
    opt.seed = 43;
    const Matrix c = training_load({TrainingLoadParameters{}}, 3, opt);
    EXPECT_GT((a - c).cwiseAbs().maxCoeff(), 1.0);
    EXPECT_GT((a.col(0) - a.col(1)).cwiseAbs().maxCoeff(), 1.0);
    // The CPU engine is the reference for every backend.
    opt.seed = 42;
    opt.backend = Backend::cpu;
    const Matrix ref = training_load({TrainingLoadParameters{}}, 3, opt);
    EXPECT_LT((a - ref).cwiseAbs().maxCoeff(), 1e-9 * ref.cwiseAbs().maxCoeff());
}

TEST_P(LoadProfileTest, FullLoadIsGpuCountTimesPowerTimesPue) {
    TrainingLoadParameters p = square_wave(1.0, 1.0);  // always computing
    p.pue = 1.25;
    LoadProfileOptions opt;
    opt.backend = backend();
    opt.steps = 100;
    const Matrix m = training_load({p}, 1, opt);
    EXPECT_NEAR(m.maxCoeff(), 100000 * 1.2e-3 * 1.25, 1e-9);  // 150 MW, the Colossus figure
    EXPECT_NEAR(m.minCoeff(), 150.0, 1e-9);
}

TEST_P(LoadProfileTest, SquareWaveHasThePeriodAndDutyCycle) {
    const Real period = 2.0, share = 0.6;
    const TrainingLoadParameters p = square_wave(period, share);
    LoadProfileOptions opt;
    opt.backend = backend();
    opt.steps = 6000;
    opt.dt_seconds = 0.1;
    const Matrix m = training_load({p}, 2, opt);
    const Real peak = 100000 * 1.2e-3, trough = peak * p.jobs[0].trough_level;
    const Index lag = static_cast<Index>(std::lround(period / opt.dt_seconds));
    for (Index s = 0; s < 2; ++s) {
        Index high = 0;
        for (Index t = 0; t < m.rows(); ++t) {
            const bool is_peak = std::abs(m(t, s) - peak) < 1e-9;
            EXPECT_TRUE(is_peak || std::abs(m(t, s) - trough) < 1e-9) << t;
            high += is_peak;
            if (t + lag < m.rows()) {
                EXPECT_NEAR(m(t + lag, s), m(t, s), 1e-9) << t;
            }
        }
        EXPECT_NEAR(static_cast<Real>(high) / m.rows(), share, 1.0 / lag + 1e-12);
    }
}

TEST_P(LoadProfileTest, CheckpointsFailuresAndRamps) {
    TrainingLoadParameters p = square_wave(1.0, 1.0);
    p.jobs[0].checkpoint_interval_s = 600;
    p.jobs[0].checkpoint_duration_s = 60;
    LoadProfileOptions opt;
    opt.backend = backend();
    opt.steps = 3600;
    const Real full = 100000 * 1.2e-3;
    Matrix m = training_load({p}, 1, opt);
    const Index at_checkpoint =
        ((m.array() - full * p.jobs[0].checkpoint_level).abs() < 1e-9).count();
    EXPECT_EQ(at_checkpoint, 360);  // 60 s out of every 600 s

    // Failures: idle for restart_outage_s after each; expected outage share for a Poisson
    // process with rate r per hour and outage d seconds is about 1 - exp(-r d / 3600).
    p = square_wave(1.0, 1.0);
    p.jobs[0].failures_per_hour = 4;
    p.jobs[0].restart_outage_s = 120;
    opt.steps = 36000;
    m = training_load({p}, 8, opt);
    const Real idle_share =
        static_cast<Real>(((m.array() - full * p.idle_level).abs() < 1e-9).count()) / m.size();
    const Real expected = 1 - std::exp(-4 * 120 / 3600.0);
    EXPECT_NEAR(idle_share, expected, 0.3 * expected);

    // Start ramp: idle before start, halfway through the ramp at start + ramp / 2.
    p = square_wave(1.0, 1.0);
    p.jobs[0].start_s = 100;
    p.jobs[0].ramp_s = 100;
    opt.steps = 400;
    m = training_load({p}, 1, opt);
    EXPECT_NEAR(m(50, 0), full * p.idle_level, 1e-9);
    EXPECT_NEAR(m(150, 0), full * (p.idle_level + 0.5 * (1 - p.idle_level)), 1e-9);
    EXPECT_NEAR(m(300, 0), full, 1e-9);
}

GRIDBATCH_INSTANTIATE_FOR_ALL_BACKENDS(LoadProfileTest);

TEST(LoadProfileInput, ErrorsNameFieldJobAndScenario) {
    std::vector<TrainingLoadParameters> ps(3);
    ps[2].jobs[1].compute_share = 1.5;
    test::expect_error([&] { training_load(ps, 3); }, {"compute_share", "job 1", "scenario 2"});
    ps[2].jobs[1].compute_share = 0.5;
    ps[0].pue = 0.9;
    EXPECT_THROW(training_load(ps, 3), Error);
    EXPECT_THROW(training_load(ps, 2), Error);  // 3 parameter sets for 2 scenarios
}

TEST(LoadProfileDefaults, SizedToColossus) {
    LoadProfileOptions opt;
    opt.backend = Backend::cpu;
    opt.steps = 3600;
    const Matrix m = training_load({TrainingLoadParameters{}}, 4, opt);
    // Peak near 150 MW, swings of tens of MW between compute and communication.
    EXPECT_GT(m.maxCoeff(), 120.0);
    EXPECT_LT(m.maxCoeff(), 170.0);
    Real swing = 0;
    for (Index t = 1; t < m.rows(); ++t) swing = std::max(swing, std::abs(m(t, 0) - m(t - 1, 0)));
    EXPECT_GT(swing, 30.0);
}

}  // namespace
}  // namespace gridbatch

namespace gridbatch {
namespace {

// The generator tracks failures slot by slot; check it against the stateless definition (a
// failure in any of the last ceil(outage / 60 s) + 1 one-minute slots covering the time), with
// steps longer than a slot too.
TEST(LoadProfileFailures, TrackedOutagesEqualTheCounterBasedDefinition) {
    namespace d = detail::dispatch;
    d::JobParams j{};
    j.failure_rate_per_h = 20;
    j.restart_outage_s = 150;
    for (const double dt : {0.5, 7.0, 95.0}) {
        d::JobState state = d::make_job_state(j);
        const double p = 1 - std::exp(-20 * 60 / 3600.0);
        Index outages = 0;
        for (Index t = 0; t * dt < 6 * 3600; ++t) {
            const double time = t * dt;
            bool expected = false;
            const Index slot = static_cast<Index>(std::floor(time / 60));
            for (Index k = std::max<Index>(0, slot - 3); k <= slot; ++k) {
                if (d::uniform01(9, 4, (1u << 8) | d::kFailSlot, k) >= p) continue;
                const double at = (k + d::uniform01(9, 4, (1u << 8) | d::kFailTime, k)) * 60;
                expected = expected || (time >= at && time < at + 150);
            }
            ASSERT_EQ(d::in_outage(state, j, 9, 4, 1, time), expected) << "dt " << dt << " t " << t;
            outages += expected;
        }
        EXPECT_GT(outages, 0);
    }
}

}  // namespace
}  // namespace gridbatch
