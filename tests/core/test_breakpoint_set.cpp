// The dynamic program's ordered breakpoint set against std::multiset: random insertions (new
// extremes, near the ends, deep inside, repeated prices) and removals at both ends, in the
// workspace the solver gives it, filled to its limit of 5 T breakpoints so that blocks split
// (sorted and unsorted ones), unsorted blocks get sorted on reaching an end, the directory moves
// and the set compacts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "core/dispatch/soc_dynamic_program.hpp"

namespace gridbatch {
namespace {

using detail::dispatch::Breakpoint;
using detail::dispatch::BreakpointSet;

void expect_same(const BreakpointSet& set, const std::multiset<double>& ref) {
    ASSERT_EQ(set.n, static_cast<std::int64_t>(ref.size()));
    if (ref.empty()) return;
    EXPECT_EQ(set.min().nu, *ref.begin());
    EXPECT_EQ(set.max().nu, *ref.rbegin());
}

// Blocks in order (no price in a block above any in the next), each block's key at or below its
// prices, its first `end - tail` breakpoints sorted and starting at the key, the two end blocks
// fully sorted, counts adding up.
void expect_consistent(const BreakpointSet& set) {
    std::int64_t count = 0;
    double last = -HUGE_VAL;  // largest price of the blocks before
    for (std::int64_t k = set.db; k < set.de; ++k) {
        const auto& r = set.dir[k];
        ASSERT_LT(r.beg, r.end);
        ASSERT_LE(r.tail, r.end - r.beg);
        if (k == set.db || k == set.de - 1) {
            EXPECT_EQ(r.tail, 0);
        }
        const auto* s = set.slots(r);
        if (r.end - r.tail > r.beg) {
            EXPECT_EQ(r.key, s[r.beg].nu);
        }
        for (int i = r.beg + 1; i < r.end - r.tail; ++i) EXPECT_LE(s[i - 1].nu, s[i].nu);
        double hi = -HUGE_VAL;
        for (int i = r.beg; i < r.end; ++i) {
            EXPECT_LE(r.key, s[i].nu);
            EXPECT_LE(last, s[i].nu);
            hi = std::max(hi, s[i].nu);
        }
        if (k > set.db) {
            EXPECT_LE(last, r.key);
        }
        last = hi;
        count += r.end - r.beg;
    }
    EXPECT_EQ(count, set.n);
}

std::int64_t run_random(std::uint32_t seed, std::int64_t T, int rounds) {
    std::mt19937_64 rng(seed);
    std::vector<Breakpoint> work(static_cast<std::size_t>(detail::dispatch::workspace_items(T)));
    BreakpointSet set = BreakpointSet::make(work.data(), T);
    std::multiset<double> ref;
    const std::int64_t limit = 5 * T;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double rising = 500;  // deep insertions in increasing order leave half-full blocks
    for (int round = 0; round < rounds; ++round) {
        // Grow to the limit, then shrink, with a mix of operations.
        const bool grow = round % 2 == 0;
        for (std::int64_t op = 0; op < 12 * T; ++op) {
            const double r = u(rng);
            const bool insert = ref.empty() || (static_cast<std::int64_t>(ref.size()) < limit &&
                                                (grow ? r < 0.8 : r < 0.3));
            if (insert) {
                double x;
                const double kind = u(rng);
                if (ref.empty() || kind < 0.25) {
                    x = 1000 * u(rng);  // anywhere
                } else if (kind < 0.45) {
                    x = *ref.begin() - u(rng);  // new smallest
                } else if (kind < 0.65) {
                    x = *ref.rbegin() + u(rng);  // new largest
                } else if (kind < 0.75) {
                    x = std::floor(10 * u(rng)) * 100;  // repeated prices
                } else if (kind < 0.9) {
                    x = rising += 1e-6;
                } else {  // next to an existing breakpoint
                    auto it = ref.lower_bound(1000 * u(rng));
                    x = it == ref.end() ? *ref.rbegin() : *it;
                }
                // New extremes also through the end insertions the solver uses for crossings.
                const bool low = ref.empty() || x <= *ref.begin(),
                           high = ref.empty() || x >= *ref.rbegin();
                const double how = u(rng);
                if (low && how < 0.5)
                    set.push_front({x, 1.0});
                else if (high && how < 0.5)
                    set.push_back({x, 1.0});
                else
                    set.push({x, 1.0});
                ref.insert(x);
            } else if (u(rng) < 0.5) {
                const Breakpoint b = set.pop_min();
                EXPECT_EQ(b.nu, *ref.begin());
                ref.erase(ref.begin());
            } else {
                const Breakpoint b = set.pop_max();
                EXPECT_EQ(b.nu, *ref.rbegin());
                ref.erase(std::prev(ref.end()));
            }
            expect_same(set, ref);
            if (::testing::Test::HasFailure()) return set.compactions;
        }
        expect_consistent(set);
    }
    while (!ref.empty()) {  // drain in order
        const Breakpoint b = set.pop_min();
        EXPECT_EQ(b.nu, *ref.begin());
        ref.erase(ref.begin());
    }
    EXPECT_TRUE(set.empty());
    return set.compactions;
}

TEST(DispatchBreakpointSet, MatchesMultisetSmall) {
    for (std::uint32_t seed = 1; seed <= 20; ++seed) run_random(seed, 3, 6);
}

TEST(DispatchBreakpointSet, MatchesMultisetLarge) {
    std::int64_t compactions = 0;
    for (std::uint32_t seed = 1; seed <= 4; ++seed) compactions += run_random(seed, 400, 4);
    EXPECT_GT(compactions, 0);
}

// Deep insertions only, in increasing order, up to 5 T: every split leaves a half-full block
// behind, more blocks than the pool has, so the set must compact (and keep every breakpoint).
TEST(DispatchBreakpointSet, CompactsWhenBlocksRunOut) {
    const std::int64_t T = 200;
    std::vector<Breakpoint> work(static_cast<std::size_t>(detail::dispatch::workspace_items(T)));
    BreakpointSet set = BreakpointSet::make(work.data(), T);
    std::multiset<double> ref;
    set.push({0.0, 1.0});
    set.push({1.0, 1.0});
    ref.insert(0.0);
    ref.insert(1.0);
    for (int i = 0; static_cast<std::int64_t>(ref.size()) < 5 * T; ++i) {
        const double x = 0.5 + 1e-4 * i;
        set.push({x, 1.0});
        ref.insert(x);
    }
    EXPECT_GT(set.compactions, 0);
    expect_consistent(set);
    for (const double x : ref) EXPECT_EQ(set.pop_min().nu, x);
    EXPECT_TRUE(set.empty());
}

}  // namespace
}  // namespace gridbatch
