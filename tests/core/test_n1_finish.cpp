// detail::finish_n1: the violations the engines hand over in pieces, in scenario runs (the CPU
// engine's workers) or in any order (the GPU's atomics, MPI ranks), come out as one list sorted by
// scenario, outage and branch, with loadings in percent, whichever way they came.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <tuple>
#include <vector>

#include "core/n1_screen.hpp"

namespace gridbatch {
namespace {

using Pieces = std::vector<std::vector<detail::OutageViolation>>;

std::vector<N1Violation> finish(Index scenarios, Pieces pieces) {
    detail::OutageScreenResult screen = detail::empty_screen(scenarios);
    screen.violations = std::move(pieces);
    DcPowerFlowResult base;
    return detail::finish_n1(detail::N1Plan{}, std::move(base), std::move(screen), 0).violations;
}

// Cuts `all` into pieces of random sizes, empty ones included.
Pieces cut(const std::vector<detail::OutageViolation>& all, std::mt19937& rng) {
    Pieces pieces(1);
    for (const auto& v : all) {
        while (rng() % 5 == 0) pieces.emplace_back();
        pieces.back().push_back(v);
    }
    pieces.emplace_back();
    return pieces;
}

TEST(FinishN1, SortedListWhetherViolationsComeInScenarioRunsOrInAnyOrder) {
    constexpr Index kScenarios = 6;
    std::mt19937 rng(11);
    // Two blocks of outages (0..9, 10..19) screened by two workers each (scenarios 0..2, 3..5);
    // within a worker, scenario by scenario, outage by outage, branch by branch.
    std::vector<detail::OutageViolation> runs;
    std::vector<N1Violation> expected;
    for (int block = 0; block < 2; ++block)
        for (int worker = 0; worker < 2; ++worker)
            for (Index s = 3 * worker; s < 3 * worker + 3; ++s)
                for (Index k = 10 * block; k < 10 * block + 10; ++k)
                    for (Index l = 0; l < 30; ++l)
                        if (rng() % 3 == 0) {
                            const Real loading = 1 + (rng() % 1000) / 1000.0;
                            runs.push_back({s, k, l, loading});
                            expected.push_back({s, k, l, loading * 100});
                        }
    std::sort(expected.begin(), expected.end(), [](const N1Violation& a, const N1Violation& b) {
        return std::tie(a.scenario, a.outage, a.branch) < std::tie(b.scenario, b.outage, b.branch);
    });
    const auto same = [&](const std::vector<N1Violation>& got) {
        ASSERT_EQ(got.size(), expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(std::tie(got[i].scenario, got[i].outage, got[i].branch),
                      std::tie(expected[i].scenario, expected[i].outage, expected[i].branch))
                << i;
            EXPECT_EQ(got[i].loading_percent, expected[i].loading_percent) << i;
        }
    };
    // In scenario runs, as the CPU engine gives them.
    same(finish(kScenarios, cut(runs, rng)));
    // In any order.
    std::vector<detail::OutageViolation> shuffled = runs;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    same(finish(kScenarios, cut(shuffled, rng)));
    // Scenarios descending.
    std::vector<detail::OutageViolation> descending = runs;
    std::stable_sort(descending.begin(), descending.end(),
                     [](const auto& a, const auto& b) { return a.scenario > b.scenario; });
    same(finish(kScenarios, cut(descending, rng)));
    // Nothing found; scenarios without violations in between.
    EXPECT_TRUE(finish(kScenarios, Pieces(3)).empty());
    std::vector<detail::OutageViolation> sparse;
    for (const auto& v : runs)
        if (v.scenario == 1 || v.scenario == 4) sparse.push_back(v);
    const std::vector<N1Violation> got = finish(kScenarios, cut(sparse, rng));
    EXPECT_EQ(got.size(), sparse.size());
    EXPECT_TRUE(std::all_of(got.begin(), got.end(), [](const N1Violation& v) {
        return v.scenario == 1 || v.scenario == 4;
    }));
}

}  // namespace
}  // namespace gridbatch

namespace gridbatch {
namespace {

// MPI ranks' worst outages merge as one process keeps them: ties go to the outage earlier in the
// plan (the caller's order, which the engines screen in), then the lower branch; the merge
// preferred the lower branch index of the outage, which differs for a list out of order.
TEST(MergeWorst, TiesGoToTheOutageEarlierInThePlan) {
    detail::N1Plan plan;
    plan.blocks = {{5, 2}, {7}};
    const std::vector<Index> position = detail::plan_positions(plan, 8);
    EXPECT_EQ(position, (std::vector<Index>{-1, -1, 1, -1, -1, 0, -1, 2}));
    detail::OutageScreenResult screen = detail::empty_screen(1);
    detail::merge_worst(screen, 0, 1.2, 2, 4, position);
    detail::merge_worst(screen, 0, 1.2, 5, 6, position);
    EXPECT_EQ(std::make_tuple(screen.worst_outage[0], screen.worst_branch[0]),
              std::make_tuple(Index(5), Index(6)));
    detail::merge_worst(screen, 0, 1.2, 2, 0, position);  // later in the plan: not kept
    detail::merge_worst(screen, 0, 1.2, 5, 3, position);  // same outage, lower branch
    EXPECT_EQ(std::make_tuple(screen.worst_outage[0], screen.worst_branch[0]),
              std::make_tuple(Index(5), Index(3)));
    detail::merge_worst(screen, 0, 1.3, 7, 1, position);
    EXPECT_EQ(screen.worst_outage[0], 7);
    EXPECT_EQ(screen.worst[0], 1.3);
}

}  // namespace
}  // namespace gridbatch
