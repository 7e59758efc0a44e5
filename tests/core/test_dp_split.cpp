// The dynamic program split in time (a forward pass over the first half, a reverse pass over the
// second, joined where their prices agree) against the one pass over the whole horizon: the same
// optimum on random lossy instances (losses, throughput cost, battery and grid power limits that
// bind, targets above the load), the one pass's report where limits cannot be met, and the same
// numbers, bitwise, whether a scenario's halves run on one thread or two, and whether a scenario's
// series are contiguous (the CPU engine) or interleaved with other scenarios' (the CUDA kernel).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/dispatch/solve_scenario.hpp"
#include "gridbatch/battery_dispatch.hpp"

namespace gridbatch {
namespace {

namespace dp = detail::dispatch;

struct Instance {
    std::vector<double> load;
    dp::FleetParams f;
};

// A random walk with square-wave swings (training-like), and a fleet whose limits bind.
Instance random_instance(std::mt19937& rng, std::int64_t T) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    Instance in;
    in.load.resize(static_cast<std::size_t>(T));
    double base = 100;
    const int period = 2 + static_cast<int>(u(rng) * 20);
    for (std::int64_t t = 0; t < T; ++t) {
        base = std::max(20.0, base + 4 * (u(rng) - 0.5));
        in.load[static_cast<std::size_t>(t)] = base + ((t / period) % 2 ? 30.0 : -30.0);
    }
    dp::FleetParams& f = in.f;
    const double e = 0.2 + 3 * u(rng);  // MWh: from often full or empty to rarely
    f.e_min = 0.1 * e;
    f.e_max = 0.9 * e;
    f.e_init = (0.2 + 0.6 * u(rng)) * e;
    f.p_charge = 10 + 40 * u(rng);
    f.p_discharge = 10 + 40 * u(rng);
    f.eta_c = 0.85 + 0.15 * u(rng);
    f.eta_d = 0.85 + 0.15 * u(rng);
    f.decay = 1.0;
    f.kappa = u(rng) < 0.5 ? 0.0 : 20 * u(rng);
    f.target = u(rng) < 0.25 ? 60.0 : 0.0;  // 60 MW lies above some loads: the relaxation
    f.terminal = 0;
    f.g_min = 0;
    f.g_max = u(rng) < 0.5 ? HUGE_VAL : 150.0;
    return in;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Series and outcome of one solve, with the workspace it ran in: NaN to begin with, as the CPU
// engine leaves it uninitialised (the solvers write before they read).
struct Solved {
    explicit Solved(std::int64_t T)
        : battery(static_cast<std::size_t>(T)),
          soc(static_cast<std::size_t>(T + 1)),
          grid(static_cast<std::size_t>(T)),
          work(static_cast<std::size_t>(dp::workspace_items(T)), {kNaN, kNaN}),
          prices(static_cast<std::size_t>(dp::price_items(T)), kNaN) {}
    std::vector<double> battery, soc, grid;
    dp::Outcome out{0, -1, 0.0, 0, 0.0, 0};
    std::vector<dp::Breakpoint> work;
    std::vector<double> prices;
};

Solved one_pass(const Instance& in, double h) {
    const auto T = static_cast<std::int64_t>(in.load.size());
    Solved s(T);
    dp::dynamic_program(in.load.data(), 1, T, h, in.f, s.battery.data(), s.work.data(),
                        s.prices.data(), s.out);
    dp::finish_outcome(in.load.data(), 1, T, h, in.f, s.battery.data(), s.soc.data(), s.grid.data(),
                       s.out);
    return s;
}

// The split as solve_scenario runs it; `joined` says whether the halves meet (else solve_scenario
// runs the one pass).
Solved split(const Instance& in, double h, bool& joined) {
    const auto T = static_cast<std::int64_t>(in.load.size());
    Solved s(T);
    EXPECT_TRUE(dp::dp_splits(T, in.f));
    dp::DpHalves hv;
    for (int half = 0; half < 2; ++half)
        dp::dp_half(in.load.data(), 1, T, h, in.f, half, s.work.data(), s.prices.data(), hv);
    joined = dp::dp_meet_halves(hv);
    dp::Outcome out;
    const int used =
        dp::solve_scenario(in.load.data(), 1, T, h, in.f, 2, s.battery.data(), s.soc.data(),
                           s.grid.data(), s.work.data(), s.prices.data(), out);
    EXPECT_EQ(used, 2);
    s.out = out;
    return s;
}

TEST(DispatchSplit, SameOptimumAsOnePass) {
    std::mt19937 rng(7);
    const double h = 1.0 / 60;  // one-minute steps: a few MWh fill and empty within the horizon
    int joined_count = 0, relaxed = 0;
    for (const std::int64_t T : {64, 65, 301, 1000, 4001}) {
        for (int rep = 0; rep < 12; ++rep) {
            const Instance in = random_instance(rng, T);
            const Solved a = one_pass(in, h);
            bool joined = false;
            const Solved b = split(in, h, joined);
            SCOPED_TRACE("T " + std::to_string(T) + " rep " + std::to_string(rep));
            ASSERT_EQ(a.out.status, b.out.status);
            if (!joined) {  // the one pass ran: its numbers and report, bitwise
                EXPECT_EQ(a.battery, b.battery);
                EXPECT_EQ(a.out.step, b.out.step);
                EXPECT_EQ(a.out.violation, b.out.violation);
                continue;
            }
            ++joined_count;
            relaxed += b.out.relaxed_steps > 0;
            EXPECT_EQ(a.out.status, 0);
            EXPECT_NEAR(b.out.objective, a.out.objective, 1e-9 * std::fabs(a.out.objective));
            EXPECT_EQ(a.out.relaxed_steps, b.out.relaxed_steps);
            // The halves' SoC run forwards from the start and backwards from the end: every
            // step's energy balance, the middle one included.
            double db = 0, soc_out = 0, balance = 0;
            for (std::size_t t = 0; t < a.battery.size(); ++t) {
                db = std::max(db, std::fabs(a.battery[t] - b.battery[t]));
                soc_out = std::max({soc_out, in.f.e_min - b.soc[t + 1], b.soc[t + 1] - in.f.e_max});
                balance =
                    std::max(balance, std::fabs(b.soc[t] - b.soc[t + 1] -
                                                dp::stored_energy_drawn(b.battery[t], h, in.f)));
                EXPECT_EQ(b.grid[t], in.load[t] - b.battery[t]);
            }
            EXPECT_LT(db, 1e-7);  // MW
            EXPECT_LT(soc_out, 1e-9);
            EXPECT_LT(balance, 1e-10);  // MWh: the halves round in opposite directions
            EXPECT_NEAR(b.soc.back(), in.f.e_init, 1e-9);  // terminal: equal
        }
    }
    EXPECT_GT(joined_count, 40);  // most instances are feasible and take the split
    EXPECT_GT(relaxed, 0);        // and some of them need the relaxation
}

// Energy that cannot last: the halves do not meet (or a half fails), the one pass runs and says
// where.
TEST(DispatchSplit, InfeasibleFallsBackToTheOnePassReport) {
    Instance in;
    in.load.assign(200, 100.0);
    for (std::size_t t = 60; t < 200; ++t) in.load[t] = 180.0;  // 80 MW above the 100 MW import
    in.f = {0.1, 0.9, 0.5, 50, 100, 0.95, 0.95, 1.0, 0.0, 0.0, 0, 0, 100.0};
    const double h = 1.0 / 60;
    const Solved a = one_pass(in, h);
    bool joined = true;
    const Solved b = split(in, h, joined);
    EXPECT_FALSE(joined);
    EXPECT_EQ(b.out.status, 4);
    EXPECT_EQ(a.out.step, b.out.step);
    EXPECT_GE(b.out.step, 60);
    EXPECT_EQ(a.out.violation, b.out.violation);
    EXPECT_GT(b.out.violation, 0);
}

// One scenario's halves run on two threads where there are spare cores, on one otherwise: the same
// numbers, bitwise, for one scenario and for a batch.
TEST(DispatchSplit, ResultsDoNotDependOnTheThreadCount) {
    std::mt19937 rng(3);
    const Index T = 3001;  // long enough for the halves to get threads of their own
    Matrix load(T, 3);
    for (Index s = 0; s < 3; ++s) {
        const Instance in = random_instance(rng, T);
        for (Index t = 0; t < T; ++t) load(t, s) = in.load[static_cast<std::size_t>(t)];
    }
    BatteryFleet fleet = BatteryFleet::from_units(battery_unit("megapack-2h"), 1);
    DispatchOptions o;
    o.backend = Backend::cpu;
    o.dt_seconds = 60;
    for (const Index S : {1, 3}) {
        const Matrix l = load.leftCols(S);
        o.threads = 1;
        const DispatchResult one = dispatch(l, {fleet}, {GridConnection{}}, o);
        for (const int threads : {2, 4, 7}) {
            o.threads = threads;
            const DispatchResult many = dispatch(l, {fleet}, {GridConnection{}}, o);
            EXPECT_EQ(one.battery_mw, many.battery_mw) << S << " scenarios, " << threads;
            EXPECT_EQ(one.objective, many.objective);
        }
    }
}

// The CUDA kernel runs solve_scenario on interleaved series (step t of scenario s at t * S + s);
// the CPU engine on contiguous ones. Every path (taut string within and beyond the limits, the
// halves that meet, the one pass where they do not) gives the same numbers, bitwise, both ways.
TEST(DispatchSplit, InterleavedScenariosGiveTheContiguousResultsBitwise) {
    std::mt19937 rng(11);
    const std::int64_t T = 3001;
    const double h = 1.0 / 60;
    std::vector<Instance> in;
    for (int k = 0; k < 4; ++k) in.push_back(random_instance(rng, T));
    for (int k = 0; k < 2; ++k) {  // lossless: the taut string first
        Instance lossless = random_instance(rng, T);
        lossless.f.eta_c = lossless.f.eta_d = 1;
        lossless.f.kappa = 0;
        lossless.f.target = 0;
        if (k == 1) {  // within the limits
            lossless.f.p_charge = lossless.f.p_discharge = 1e4;
            lossless.f.g_max = HUGE_VAL;
        }
        in.push_back(lossless);
    }
    Instance short_of_energy;  // the halves do not meet: the one pass and its report
    short_of_energy.load.assign(static_cast<std::size_t>(T), 100.0);
    for (std::int64_t t = 600; t < T; ++t) short_of_energy.load[static_cast<std::size_t>(t)] = 180;
    short_of_energy.f = {0.1, 0.9, 0.5, 50, 100, 0.95, 0.95, 1.0, 0.0, 0.0, 0, 0, 100.0};
    in.push_back(short_of_energy);
    const auto S = static_cast<std::int64_t>(in.size());
    const auto at = [S](std::int64_t t, std::int64_t s) {
        return static_cast<std::size_t>(t * S + s);
    };

    std::vector<double> load(at(T, 0)), battery(at(T, 0)), soc(at(T + 1, 0)), grid(at(T, 0));
    for (std::int64_t s = 0; s < S; ++s)
        for (std::int64_t t = 0; t < T; ++t)
            load[at(t, s)] = in[s].load[static_cast<std::size_t>(t)];
    std::set<int> paths;
    for (const int method : {0, 2}) {
        for (std::int64_t s = 0; s < S; ++s) {
            SCOPED_TRACE("scenario " + std::to_string(s) + ", method " + std::to_string(method));
            Solved one(T), many(T);
            const int used_one = dp::solve_scenario(
                in[s].load.data(), 1, T, h, in[s].f, method, one.battery.data(), one.soc.data(),
                one.grid.data(), one.work.data(), one.prices.data(), one.out);
            const int used_many = dp::solve_scenario(
                load.data() + s, S, T, h, in[s].f, method, battery.data() + s, soc.data() + s,
                grid.data() + s, many.work.data(), many.prices.data(), many.out);
            EXPECT_EQ(used_one, used_many);
            paths.insert(10 * used_one + one.out.status);
            for (std::int64_t t = 0; t < T; ++t) {
                ASSERT_EQ(one.battery[static_cast<std::size_t>(t)], battery[at(t, s)]) << t;
                ASSERT_EQ(one.grid[static_cast<std::size_t>(t)], grid[at(t, s)]) << t;
            }
            for (std::int64_t t = 0; t <= T; ++t)
                ASSERT_EQ(one.soc[static_cast<std::size_t>(t)], soc[at(t, s)]) << t;
            EXPECT_EQ(one.out.status, many.out.status);
            EXPECT_EQ(one.out.step, many.out.step);
            EXPECT_EQ(one.out.violation, many.out.violation);
            EXPECT_EQ(one.out.violation_kind, many.out.violation_kind);
            EXPECT_EQ(one.out.objective, many.out.objective);
            EXPECT_EQ(one.out.relaxed_steps, many.out.relaxed_steps);
        }
    }
    // Both solvers ran, and both to an optimum and to an infeasibility report.
    EXPECT_TRUE(paths.count(10) && paths.count(20) && paths.count(24))
        << ::testing::PrintToString(paths);
}

}  // namespace
}  // namespace gridbatch
