// The fleet-sizing search (core/fleet_sizing.hpp) against a dispatch written here whose outcome per
// (scenario, unit count) is a table: the answer for any number of columns per round equals the
// one-count-per-round search's, also where more units do hurt; where more units never hurt it is
// the smallest count that meets the limit; spare columns take fewer rounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/fleet_sizing.hpp"
#include "gridbatch/battery_dispatch.hpp"

namespace gridbatch {
namespace {

constexpr Real kLimit = 10;  // MW/min
constexpr Index kT = 180;    // steps of 1 s

// A load whose ramps are far above the limit, or (flat) within it; every scenario's its own.
Matrix loads(Index S, const std::vector<bool>& flat) {
    Matrix load(kT, S);
    for (Index s = 0; s < S; ++s)
        for (Index t = 0; t < kT; ++t)
            load(t, s) = static_cast<Real>(s) +
                         (flat[static_cast<std::size_t>(s)] || t % 60 < 30 ? 100 : 300);
    return load;
}

// Runs the search with a dispatch that meets the limit for (scenario, units) where
// meets[s][units]; counts rounds, and checks that no round holds more columns than the search
// may use (one per scenario, or `columns` where those are more).
struct Table {
    std::vector<std::vector<bool>> meets;  // [scenario][units], units 0..max_units
    BatteryUnit unit = battery_unit("megapack-2h");
    int rounds = 0;

    IndexVector search(const Matrix& load, Index max_units, Index columns,
                       const IndexVector& probe = {}) {
        rounds = 0;
        // Columns of a round's load are the scenarios' own: found back by their values.
        return detail::smallest_fleet(
            "test", load, unit, kLimit, max_units, 1.0, probe, columns,
            [&](const Matrix& sub, const std::vector<BatteryFleet>& fleets) {
                ++rounds;
                EXPECT_LE(sub.cols(), std::max(columns, load.cols()));
                DispatchResult r;
                r.report = ScenarioReport(sub.cols());
                r.grid_mw = Matrix::Zero(sub.rows(), sub.cols());
                for (Index c = 0; c < sub.cols(); ++c) {
                    Index s = 0;
                    while (!sub.col(c).isApprox(load.col(s))) ++s;
                    const auto units = static_cast<std::size_t>(std::lround(
                        fleets[static_cast<std::size_t>(c)].discharge_mw / unit.discharge_mw));
                    r.report.status[c] = static_cast<std::int8_t>(Status::converged);
                    if (!meets[static_cast<std::size_t>(s)][units])
                        r.grid_mw(sub.rows() / 2, c) = 1000;  // a step far above the limit
                }
                return r;
            });
    }
};

TEST(FleetSizing, SpareColumnsGiveTheOneColumnAnswerInFewerRounds) {
    std::mt19937 rng(5);
    const Index S = 3, max_units = 200;
    Table table;
    int fewer_rounds = 0;
    for (int rep = 0; rep < 40; ++rep) {
        // Scenario s meets the limit from answer[s] units on (none: past max_units); scenario 2's
        // load is flat, and some draws make it meet with no units.
        std::vector<Index> answer(S);
        table.meets.assign(S, std::vector<bool>(max_units + 1));
        for (Index s = 0; s < S; ++s) {
            answer[static_cast<std::size_t>(s)] =
                std::uniform_int_distribution<Index>(s == 2 ? 0 : 1, max_units + 1)(rng);
            for (Index n = 0; n <= max_units; ++n)
                table.meets[static_cast<std::size_t>(s)][static_cast<std::size_t>(n)] =
                    n >= answer[static_cast<std::size_t>(s)];
        }
        const Matrix load = loads(S, {false, false, true});
        const IndexVector probe = rep % 2 ? IndexVector{{answer[0] + 3, 1, 150}} : IndexVector{};
        for (const Index cols : {1, 2, 3, 5, 16}) {
            SCOPED_TRACE("rep " + std::to_string(rep) + ", columns " + std::to_string(cols));
            const IndexVector got = table.search(load, max_units, cols, probe);
            for (Index s = 0; s < S; ++s) {
                const Index a = answer[static_cast<std::size_t>(s)];
                EXPECT_EQ(got[s], a <= max_units ? a : -1) << "scenario " << s;
            }
        }
        // One scenario alone: rounds with 1, 2 and 16 columns.
        const Matrix one = load.leftCols(1);
        table.search(one, max_units, 1, {});
        const int plain = table.rounds;
        table.search(one, max_units, 2, {});
        const int two = table.rounds;
        EXPECT_LE(two, plain);
        fewer_rounds += two < plain;
        table.search(one, max_units, 16, {});
        EXPECT_LE(4 * (table.rounds - 1), plain + 3);  // 4 levels of the bisection per round
    }
    EXPECT_GT(fewer_rounds, 20);  // two columns take fewer rounds in most draws
}

// Where more units can hurt (a table of random outcomes), the answer is still the one-column
// search's: the tried counts are followed as one step at a time would follow them.
TEST(FleetSizing, AnswerDoesNotDependOnColumnsWhereMoreUnitsHurt) {
    std::mt19937 rng(9);
    const Index S = 2, max_units = 60;
    Table table;
    for (int rep = 0; rep < 60; ++rep) {
        table.meets.assign(S, std::vector<bool>(max_units + 1));
        for (auto& row : table.meets)
            for (std::size_t n = 0; n < row.size(); ++n) row[n] = rng() % 2 == 0;
        const Matrix load = loads(S, {rep % 3 == 0, false});
        const IndexVector probe = rep % 2 ? IndexVector{{7, 30}} : IndexVector{};
        const IndexVector plain = table.search(load, max_units, 1, probe);
        for (const Index cols : {2, 3, 4, 7, 64}) {
            EXPECT_EQ(table.search(load, max_units, cols, probe), plain)
                << "rep " << rep << ", columns " << cols;
        }
    }
}

}  // namespace
}  // namespace gridbatch

namespace gridbatch {
namespace {

// The per-minute ramp is |g(t + 60 s) - g(t)| at any step: a steady 1 MW/s ramp reads 60 MW/min
// whether dt divides a minute or not (a lag rounded to whole steps read 63 at dt = 7 s, 45 at
// 45 s, 300 at 300 s), a step change reads its height where dt divides a minute.
TEST(RampPerMinute, SteadyRampReadsItsRateAtAnyStep) {
    for (const Real dt : {0.1, 1.0, 7.0, 45.0, 60.0, 90.0, 120.0, 300.0, 3600.0}) {
        const Index T = std::max<Index>(3, static_cast<Index>(std::ceil(7200 / dt)));
        Vector g(T);
        for (Index t = 0; t < T; ++t) g[t] = 100 + static_cast<Real>(t) * dt;  // 1 MW/s
        EXPECT_NEAR(detail::max_ramp_per_minute(g, dt), 60, 1e-9) << "dt " << dt;
        DispatchResult r;
        r.grid_mw = g;
        r.battery_mw = Matrix::Zero(T, 1);
        r.soc_mwh = Matrix::Zero(T + 1, 1);
        const DispatchMetrics m = dispatch_metrics(g, r, {BatteryFleet{}}, dt, {});
        EXPECT_NEAR(m.max_ramp_mw_per_min[0], 60, 1e-9) << "dt " << dt;
        EXPECT_NEAR(m.max_ramp_mw_per_s[0], 1, 1e-9) << "dt " << dt;
    }
    Vector step = Vector::Constant(600, 100);
    step.tail(300).array() += 25;
    EXPECT_DOUBLE_EQ(detail::max_ramp_per_minute(step, 1.0), 25);
    EXPECT_DOUBLE_EQ(detail::max_ramp_per_minute(step, 15.0), 25);
    // Shorter than a minute: the largest change over the series' span.
    EXPECT_DOUBLE_EQ(detail::max_ramp_per_minute(step.head(310).tail(20), 1.0), 25);
    EXPECT_EQ(detail::max_ramp_per_minute(step.head(1), 1.0), 0);
}

// The sizing search uses the same measure: a steady ramp within the limit needs no battery at
// any dt (with whole-step lags it said "no fleet is enough" at dt = 7, 90, 120 or 300 s).
TEST(RampPerMinute, SizingNeedsNoFleetForARampWithinTheLimit) {
    const BatteryUnit unit{"ideal", 2.0, 1.0, 1.0, 1.0};
    for (const Real dt : {7.0, 90.0, 300.0}) {
        const auto T = static_cast<Index>(std::ceil(7200 / dt));
        Matrix load(T, 1);
        for (Index t = 0; t < T; ++t) load(t, 0) = 100 + static_cast<Real>(t) * dt;
        DispatchOptions o;
        o.dt_seconds = dt;
        EXPECT_EQ(size_fleet(load, unit, 60.06, 8, GridConnection{}, o)[0], 0) << "dt " << dt;
    }
}

// An empty horizon has no peak or spread (NaN) and nothing else; it read uninitialised memory.
TEST(RampPerMinute, EmptyHorizonMetrics) {
    DispatchResult r;
    r.grid_mw = Matrix::Zero(0, 2);
    r.battery_mw = Matrix::Zero(0, 2);
    r.soc_mwh = Matrix::Zero(1, 2);
    const DispatchMetrics m = dispatch_metrics(Matrix::Zero(0, 2), r, {BatteryFleet{}}, 1.0);
    for (Index s = 0; s < 2; ++s) {
        EXPECT_TRUE(std::isnan(m.peak_mw[s]) && std::isnan(m.std_mw[s]));
        EXPECT_EQ(m.max_ramp_mw_per_min[s], 0);
        EXPECT_EQ(m.losses_mwh[s], 0);
    }
}

}  // namespace
}  // namespace gridbatch
