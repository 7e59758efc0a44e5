#include "fleet_sizing.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/invalid_input.hpp"

namespace gridbatch::detail {

Real max_ramp_per_minute(const Eigen::Ref<const Vector>& g, Real dt_seconds) {
    const Index T = g.size();
    if (T < 2) return 0;
    // A minute in steps: whole steps plus a fraction where dt does not divide 60 s (not for
    // round-off: 60 / 0.1 is 599.999...).
    const Real steps = 60.0 / dt_seconds, nearest = std::round(steps);
    const bool exact = std::abs(steps - nearest) <= 1e-9 * steps;
    auto whole = static_cast<Index>(exact ? nearest : std::floor(steps));
    Real frac = exact ? 0.0 : steps - std::floor(steps);
    if (whole + (frac > 0 ? 1 : 0) > T - 1) {  // a series shorter than a minute: its whole span
        whole = T - 1;
        frac = 0;
    }
    Real r = 0;
    for (Index t = 0; t + whole + (frac > 0 ? 1 : 0) < T; ++t) {
        Real end = g[t + whole];
        if (frac > 0) end += frac * (g[t + whole + 1] - end);
        r = std::max(r, std::abs(end - g[t]));
    }
    return r;
}

namespace {

// Where one scenario's search stands: lo fails (-1: nothing known to), hi meets (max_units + 1:
// nothing known to), `tried` of its planned counts consumed.
struct Search {
    Index lo, hi;
    int tried = 0;
};

// The counts a scenario tries before bisecting, in order (see smallest_fleet).
struct Plan {
    std::array<Index, 3> counts{};
    int size = 0;
    // The next count to try from `at`, which it advances past the planned counts it consumes;
    // -1 where the answer is known.
    Index next(Search& at) const {
        for (; at.tried < size; ++at.tried)
            if (counts[at.tried] > at.lo && counts[at.tried] < at.hi) return counts[at.tried++];
        return at.hi - at.lo > 1 ? at.lo + (at.hi - at.lo) / 2 : -1;
    }
};

// The first `width` counts of the search's decision tree from `at`, breadth first.
std::vector<Index> counts_ahead(const Plan& plan, const Search& at, Index width) {
    std::vector<Index> counts;
    std::vector<Search> queue{at};
    for (std::size_t i = 0; i < queue.size() && static_cast<Index>(counts.size()) < width; ++i) {
        Search after = queue[i];
        const Index n = plan.next(after);
        if (n < 0) continue;
        if (std::find(counts.begin(), counts.end(), n) == counts.end()) counts.push_back(n);
        Search met = after, failed = after;
        met.hi = n;
        failed.lo = n;
        queue.push_back(met);
        queue.push_back(failed);
    }
    return counts;
}

}  // namespace

IndexVector smallest_fleet(const std::string& what, const MatrixView& load, const BatteryUnit& unit,
                           Real ramp_limit_mw_per_min, Index max_units, Real dt_seconds,
                           const IndexVector& first_probe, Index columns,
                           const SizingDispatch& run) {
    require(ramp_limit_mw_per_min > 0, what, "ramp_limit_mw_per_min", ramp_limit_mw_per_min, "> 0");
    if (max_units < 1)
        fail(what + ": max_units must be >= 1 (got " + std::to_string(max_units) + ")");
    require(dt_seconds > 0 && std::isfinite(dt_seconds), what, "dt_seconds", dt_seconds, "> 0");
    check_site_load(load, what);  // the searches dispatch subsets: name the caller's scenario
    const Index T = load.rows(), S = load.cols();
    if (first_probe.size() != 0 && first_probe.size() != S)
        fail(what + ": first_probe has " + std::to_string(first_probe.size()) +
             " entries; expected " + std::to_string(S) + " (one per scenario) or none");
    const Real limit = ramp_limit_mw_per_min * (1 + 1e-12);

    // The counts to try before bisecting, in order: none where the load alone meets the ramp
    // limit (with no units the grid draws the load), the caller's probe, max_units (so that a
    // scenario no fleet can serve costs a round or two, not a bisection's worth of failing
    // solves).
    std::vector<Search> search(static_cast<std::size_t>(S), Search{-1, max_units + 1});
    std::vector<Plan> plan(static_cast<std::size_t>(S));
    for (Index s = 0; s < S; ++s) {
        Plan& p = plan[static_cast<std::size_t>(s)];
        if (max_ramp_per_minute(load.col(s), dt_seconds) <= limit)
            p.counts[p.size++] = 0;
        else
            search[static_cast<std::size_t>(s)].lo = 0;
        if (first_probe.size() != 0 && first_probe[s] >= 1 && first_probe[s] < max_units)
            p.counts[p.size++] = first_probe[s];
        p.counts[p.size++] = max_units;
    }
    for (;;) {
        std::vector<Index> open;
        for (Index s = 0; s < S; ++s) {
            Search at = search[static_cast<std::size_t>(s)];
            if (plan[static_cast<std::size_t>(s)].next(at) >= 0) open.push_back(s);
        }
        if (open.empty()) break;
        // Each open scenario's counts to try this round, the spare columns shared out.
        const auto n_open = static_cast<Index>(open.size());
        std::vector<Index> cols, units;
        std::vector<std::size_t> first_of(open.size() + 1, 0);
        for (Index i = 0; i < n_open; ++i) {
            const Index s = open[static_cast<std::size_t>(i)];
            const Index width = std::max<Index>(1, columns / n_open + (i < columns % n_open));
            for (const Index n : counts_ahead(plan[static_cast<std::size_t>(s)],
                                              search[static_cast<std::size_t>(s)], width)) {
                cols.push_back(s);
                units.push_back(n);
            }
            first_of[static_cast<std::size_t>(i) + 1] = units.size();
        }
        const auto m = static_cast<Index>(cols.size());
        Matrix sub(T, m);
        std::vector<BatteryFleet> fleets;
        for (Index i = 0; i < m; ++i) {
            sub.col(i) = load.col(cols[static_cast<std::size_t>(i)]);
            fleets.push_back(BatteryFleet::from_units(
                unit, static_cast<Real>(units[static_cast<std::size_t>(i)])));
        }
        const DispatchResult r = run(sub, fleets);
        // Each scenario's search follows its tried counts, one step at a time, as far as they go.
        for (Index i = 0; i < n_open; ++i) {
            const Index s = open[static_cast<std::size_t>(i)];
            const Plan& p = plan[static_cast<std::size_t>(s)];
            Search& at = search[static_cast<std::size_t>(s)];
            for (;;) {
                Search after = at;
                const Index n = p.next(after);
                std::size_t c = first_of[static_cast<std::size_t>(i)];
                while (c < first_of[static_cast<std::size_t>(i) + 1] && units[c] != n) ++c;
                if (n < 0 || c == first_of[static_cast<std::size_t>(i) + 1]) break;
                const auto col = static_cast<Index>(c);
                const bool ok = r.report.at(col) == Status::converged &&
                                max_ramp_per_minute(r.grid_mw.col(col), dt_seconds) <= limit;
                (ok ? after.hi : after.lo) = n;
                at = after;
            }
        }
    }
    IndexVector answer(S);
    for (Index s = 0; s < S; ++s) {
        const Index hi = search[static_cast<std::size_t>(s)].hi;
        answer[s] = hi <= max_units ? hi : -1;
    }
    return answer;
}

}  // namespace gridbatch::detail
