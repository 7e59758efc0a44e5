// The battery-dispatch and training-load algorithms, written once for both backends: plain structs
// and raw strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU
// engine calls them with stride 1 (one scenario per column), the CUDA kernels with stride S
// (scenario-fastest, so neighbouring threads touch neighbouring addresses).
//
// Conventions (all per scenario):
//   b_t  battery power at the point of connection, MW, > 0 discharging, < 0 charging
//   g_t  grid draw = load_t - b_t, MW
//   E_t  stored energy, MWh, t = 0..T; E_{t+1} = a E_t - h psi(b_t), h = dt / 3600 h,
//        a = 1 - self_discharge * h, psi(b) = b / eta_d (b >= 0) or eta_c b (b < 0).
// Objective: sum_t h ((g_t - z)^2 + kappa |b_t|), z <= min_t load_t (see battery_dispatch.hpp). For
// a fixed total energy sum g^2 is the variance of the grid draw plus a constant; the taut string
// minimises every convex function of g at once.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/host_device.hpp"

namespace gridbatch::detail::dispatch {

constexpr double kInf = HUGE_VAL;

// fmin / fmax without their NaN rules, which keep g++ from inlining them (every input here is
// finite or infinite, never NaN: loads are checked on entry).
GRIDBATCH_HD inline double min_of(double a, double b) { return b < a ? b : a; }
GRIDBATCH_HD inline double max_of(double a, double b) { return b > a ? b : a; }

// ---------------------------------------------------------------------------------------------
// Counter-based random numbers: every draw is a pure function of (seed, scenario, stream,
// counter), so any thread can produce any value in any order and both backends agree.
GRIDBATCH_HD inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;  // splitmix64 (Steele, Lea, Flood 2014)
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
GRIDBATCH_HD inline double uniform01(std::uint64_t seed, std::int64_t scenario,
                                     std::uint32_t stream, std::int64_t counter) {
    std::uint64_t x = mix64(seed);
    x = mix64(x ^ static_cast<std::uint64_t>(scenario));
    x = mix64(x ^ stream);
    x = mix64(x ^ static_cast<std::uint64_t>(counter));
    return (static_cast<double>(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);  // in (0, 1)
}
GRIDBATCH_HD inline double normal01(std::uint64_t seed, std::int64_t scenario, std::uint32_t stream,
                                    std::int64_t counter) {
    const double u1 = uniform01(seed, scenario, stream, 2 * counter);
    const double u2 = uniform01(seed, scenario, stream, 2 * counter + 1);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);  // Box-Muller
}

// ---------------------------------------------------------------------------------------------
// Parameters as plain numbers (validated and converted by src/core/battery_dispatch.cpp).
struct FleetParams {
    double e_min, e_max, e_init;   // MWh
    double p_charge, p_discharge;  // MW, >= 0
    double eta_c, eta_d;           // in (0, 1]
    double decay;                  // a = 1 - self-discharge per step, in (0, 1]
    double kappa;                  // throughput cost, objective units per MWh
    double target;                 // z: objective pulls g towards it; <= every load (exactness)
    int terminal;                  // 0 equal, 1 at least initial, 2 free
    double g_min, g_max;           // grid draw limits, MW (g_min = 0 when export is forbidden)
};

struct Outcome {
    int status;          // 0 optimal, 4 infeasible (Status codes of result.hpp)
    std::int64_t step;   // first step whose limits cannot be met (T: terminal), -1 if none
    double violation;    // at that step: MW (power) or MWh (energy)
    int violation_kind;  // 0 none, 1 power (grid limit + battery power), 2 energy
    double objective;
    std::int64_t
        relaxed_steps;  // steps dispatched by the relaxation (charge and discharge at once)
};

GRIDBATCH_HD inline double stored_energy_drawn(double b, double h, const FleetParams& f) {
    return b >= 0 ? h * b / f.eta_d : h * f.eta_c * b;
}

// Feasible battery power range in one step from battery and grid limits.
GRIDBATCH_HD inline void power_range(double load, const FleetParams& f, double& lo, double& hi) {
    lo = max_of(-f.p_charge, load - f.g_max);
    hi = min_of(f.p_discharge, load - f.g_min);
}

// The optimal b for one step given the price nu of stored energy (MWh): minimises
// (L - z - b)^2 + kappa |b| + nu psi(b) / h over [lo, hi]. With d = L - z, the discharge branch
// b = d - (kappa + nu / eta_d) / 2 applies where positive (nu < nu_1) and the charge branch
// b = d + (kappa - nu eta_c) / 2 where negative (nu > nu_2). For d >= 0, nu_1 <= nu_2 and the
// response is the true minimiser, continuous and non-increasing in nu: the dynamic program is
// exact. For d < 0 (target above the load) the two overlap on (nu_2, nu_1); there we take their
// sum, the response of the convex relaxation (charging and discharging at once), and the dynamic
// program counts the steps whose optimal price falls there.
GRIDBATCH_HD inline double free_power(double nu, double d, const FleetParams& f) {
    const double dis = d - (f.kappa + nu / f.eta_d) * 0.5;
    const double ch = d + (f.kappa - nu * f.eta_c) * 0.5;
    return max_of(dis, 0.0) + min_of(ch, 0.0);
}
GRIDBATCH_HD inline double price_discharge_zero(double d, const FleetParams& f) {
    return f.eta_d * (2 * d - f.kappa);
}
GRIDBATCH_HD inline double price_charge_zero(double d, const FleetParams& f) {
    return (2 * d + f.kappa) / f.eta_c;
}
// A price at which free_power equals beta (free_power is piecewise linear with kinks at the two
// zero prices and -> +-inf at -+inf).
GRIDBATCH_HD inline double price_of_power(double beta, double d, const FleetParams& f) {
    const double n1 = price_discharge_zero(d, f), n2 = price_charge_zero(d, f);
    const double k1 = fmin(n1, n2), k2 = fmax(n1, n2);
    const double v1 = free_power(k1, d, f), v2 = free_power(k2, d, f);
    if (beta >= v1) return k1 - 2 * f.eta_d * (beta - v1);
    if (beta <= v2) return k2 - 2 * (beta - v2) / f.eta_c;
    return k1 + (beta - v1) * (k2 - k1) / (v2 - v1);
}
GRIDBATCH_HD inline double best_power(double nu, double load, double lo, double hi,
                                      const FleetParams& f) {
    return min_of(max_of(free_power(nu, load - f.target, f), lo), hi);
}

// One step's share of the objective at battery power b and grid draw g.
GRIDBATCH_HD inline double step_cost(double b, double g, double h, const FleetParams& f) {
    return h * ((g - f.target) * (g - f.target) + f.kappa * fabs(b));
}

GRIDBATCH_HD inline void finish_outcome(const double* load, std::int64_t stride, std::int64_t T,
                                        double h, const FleetParams& f, double* battery,
                                        double* soc, double* grid, Outcome& out) {
    double e = f.e_init, obj = 0;
    soc[0] = e;
    for (std::int64_t t = 0; t < T; ++t) {
        const double b = battery[t * stride];
        const double g = load[t * stride] - b;
        grid[t * stride] = g;
        e = f.decay * e - stored_energy_drawn(b, h, f);
        soc[(t + 1) * stride] = e;
        obj += step_cost(b, g, h, f);
    }
    out.objective = obj;
}

// ---------------------------------------------------------------------------------------------
// Taut string, lossless case (eta = 1, no self-discharge, no throughput cost): cumulative grid
// energy G_t must stay in the tube [C_t + e_min - e_init, C_t + e_max - e_init] around the
// cumulative load C_t and end at C_T (terminal SoC = initial). The shortest such path (funnel
// algorithm, O(T): every point enters and leaves each chain once) has piecewise constant slope g;
// slopes rise only where the path touches the ceiling (battery full) and fall only on the floor
// (battery empty), which is the optimality condition for every convex function of g. Power and
// grid limits are not part of it: the caller checks them and falls back to the dynamic program.
// Workspace: 4 (T + 2) doubles.
struct Point {
    double t, y;
};
GRIDBATCH_HD inline double slope(const Point& a, const Point& b) {
    return (b.y - a.y) / (b.t - a.t);
}

GRIDBATCH_HD inline void emit_segment(const Point& a, const Point& b, double h, double* battery,
                                      const double* load, std::int64_t stride) {
    const double g = slope(a, b) / h;
    const std::int64_t t0 = static_cast<std::int64_t>(a.t), t1 = static_cast<std::int64_t>(b.t);
    for (std::int64_t t = t0; t < t1; ++t) battery[t * stride] = load[t * stride] - g;
}

GRIDBATCH_HD inline void taut_string(const double* load, std::int64_t stride, std::int64_t T,
                                     double h, const FleetParams& f, double* battery, Point* upper,
                                     Point* lower) {
    // upper = ceiling chain (convex: slopes increase), lower = floor chain (concave).
    std::int64_t uh = 0, ut = 0, lh = 0, lt = 0;  // [head, tail) of each chain
    upper[ut++] = {0, 0};
    lower[lt++] = {0, 0};
    double cum = 0;
    for (std::int64_t t = 1; t <= T; ++t) {
        cum += h * load[(t - 1) * stride];
        const bool last = t == T;
        const Point b{static_cast<double>(t), last ? cum : cum + f.e_max - f.e_init};
        const Point a{static_cast<double>(t), last ? cum : cum + f.e_min - f.e_init};
        // Ceiling point below the floor chain: the string wraps the floor up to the tangent.
        while (lt - lh >= 2 && slope(lower[lh], b) <= slope(lower[lh], lower[lh + 1])) {
            emit_segment(lower[lh], lower[lh + 1], h, battery, load, stride);
            ++lh;
            uh = 0;
            ut = 0;
            upper[ut++] = lower[lh];
        }
        while (ut - uh >= 2 && slope(upper[ut - 2], upper[ut - 1]) >= slope(upper[ut - 1], b)) --ut;
        upper[ut++] = b;
        // Floor point above the ceiling chain: the string wraps the ceiling.
        while (ut - uh >= 2 && slope(upper[uh], a) >= slope(upper[uh], upper[uh + 1])) {
            emit_segment(upper[uh], upper[uh + 1], h, battery, load, stride);
            ++uh;
            lh = 0;
            lt = 0;
            lower[lt++] = upper[uh];
        }
        if (!last) {
            while (lt - lh >= 2 && slope(lower[lt - 2], lower[lt - 1]) <= slope(lower[lt - 1], a))
                --lt;
            lower[lt++] = a;
        }
    }
}

// True when a lossless solution is also optimal for the full problem: within every power and
// grid limit and, for a ">= initial" terminal, the final price 2 g is not negative.
GRIDBATCH_HD inline bool within_limits(const double* load, std::int64_t stride, std::int64_t T,
                                       const FleetParams& f, const double* battery) {
    for (std::int64_t t = 0; t < T; ++t) {
        double lo, hi;
        power_range(load[t * stride], f, lo, hi);
        const double b = battery[t * stride];
        if (b < lo || b > hi) return false;
    }
    if (f.terminal == 1 && T > 0 && load[(T - 1) * stride] - battery[(T - 1) * stride] < f.target)
        return false;
    return true;
}

// ---------------------------------------------------------------------------------------------
// Breakpoints ordered by price: a sorted list of blocks (a B-tree of height two). Each block holds
// up to kBlock breakpoints in the slots [beg, end) of its kBlock; a directory lists the blocks in
// order (no price in a block above any in the next) with a key per block, at or below all of its
// prices (the price of its first breakpoint when that one is sorted). Why not the min-max heap used
// before: over a day at 1 s (86,400 steps, a few thousand breakpoints alive) a step inserts ~6
// breakpoints and removes as many, every removal is at an end, 73 % of insertions are a new extreme
// and 93 % land within 64 places of an end. Here ends are O(1) on contiguous memory and a deep
// insertion is a binary search over the directory. Lazy order: only the two end blocks, where
// removals and the clamps happen, are kept sorted. A block in between takes a deep insertion by
// appending it to an unsorted tail (its last `tail` breakpoints; the ones before stay sorted), a
// full one is split by a branch-free partition around a pivot (the ninther of nine of its prices)
// instead of being sorted, and a block is sorted (tail by insertion, then a merge into a spare
// block that takes its place) only when it becomes an end. When X is rarely or never clamped
// (battery rarely full or empty, nothing removed, every insertion deep in a large set) most blocks
// are never sorted, which removed the slowdown against the heap there (kept sorted, ~1.2x the
// heap's time on 20,000 steps of a battery that is never full; lazy, ~0.8x). A clamp reaching an
// unsorted block sorts it, O(kBlock^2) at worst, about once per block's worth of removals. Memory:
// a block is split when full and freed when empty. When no block is free the list is compacted
// (blocks sorted, then every block but the last full, O(n kBlock)); with room for 6 T breakpoints
// and at most 5 T alive that leaves >= T / kBlock free blocks. Rare in practice (none over a day at
// 1 s with a normal battery, two with one that is never full).
struct Breakpoint {
    double nu, delta;  // position on the price axis, change of slope dX/dnu there
};

struct BlockRef {
    double key;                   // price (stored units) at or below all of the block's prices
    std::int32_t block;           // block index in the pool
    std::uint8_t beg, end, tail;  // live slots of the block; the last `tail` are unsorted
    std::uint8_t unused;
};
static_assert(sizeof(BlockRef) == sizeof(Breakpoint), "directory entries reuse breakpoint slots");

struct BreakpointSet {
    static constexpr int kBlock = 64;
    Breakpoint* pool;  // n_blocks blocks of kBlock
    BlockRef* dir;     // directory slots [0, dir_cap), live [db, de)
    std::int64_t n_blocks, dir_cap, db, de;
    std::int64_t fresh;      // blocks [fresh, n_blocks) never used
    std::int64_t free_head;  // freed blocks, linked through their first slot; -1: none
    std::int64_t n;
    std::int64_t compactions;
    std::int64_t scratch;  // a spare block for merging

    // Blocks for T steps, and workspace items in all (blocks and directory).
    GRIDBATCH_HD static std::int64_t blocks_for(std::int64_t T) {
        return (6 * T + 8 + kBlock - 1) / kBlock + 4;
    }
    GRIDBATCH_HD static std::int64_t items_for(std::int64_t T) {
        return blocks_for(T) * (kBlock + 2) + 2;
    }
    GRIDBATCH_HD static BreakpointSet make(Breakpoint* storage, std::int64_t T) {
        const std::int64_t nb = blocks_for(T), dc = 2 * nb + 2;
        return {storage, reinterpret_cast<BlockRef*>(storage + nb * kBlock),
                nb,      dc,
                dc / 2,  dc / 2,
                1,       -1,
                0,       0,
                0};
    }

    GRIDBATCH_HD bool empty() const { return n == 0; }
    GRIDBATCH_HD Breakpoint* slots(const BlockRef& r) const { return pool + r.block * kBlock; }
    GRIDBATCH_HD const Breakpoint& min() const { return slots(dir[db])[dir[db].beg]; }
    GRIDBATCH_HD const Breakpoint& max() const { return slots(dir[de - 1])[dir[de - 1].end - 1]; }

    GRIDBATCH_HD void release(std::int64_t b) {
        pool[b * kBlock].nu = static_cast<double>(free_head);
        free_head = b;
    }
    GRIDBATCH_HD Breakpoint pop_min() {
        BlockRef& r = dir[db];
        Breakpoint* s = slots(r);
        const Breakpoint x = s[r.beg++];
        --n;
        if (r.beg == r.end) {
            release(r.block);
            ++db;
            if (db < de) normalize(dir[db]);
        } else {
            r.key = s[r.beg].nu;
        }
        return x;
    }
    GRIDBATCH_HD Breakpoint pop_max() {
        BlockRef& r = dir[de - 1];
        const Breakpoint x = slots(r)[--r.end];
        --n;
        if (r.beg == r.end) {
            release(r.block);
            --de;
            if (db < de) normalize(dir[de - 1]);
        }
        return x;
    }

    // Every block but the last full, in place: blocks keep their pool slots.
    GRIDBATCH_HD void compact() {
        ++compactions;
        for (std::int64_t k = db; k < de; ++k) normalize(dir[k]);
        std::int64_t out = db;
        BlockRef cur = dir[db];
        for (std::int64_t k = db + 1;; ++k) {
            Breakpoint* c = slots(cur);
            if (cur.beg > 0) {  // move to the start of the block
                for (int i = cur.beg; i < cur.end; ++i) c[i - cur.beg] = c[i];
                cur.end = static_cast<std::uint8_t>(cur.end - cur.beg);
                cur.beg = 0;
            }
            if (k == de) break;
            BlockRef next = dir[k];
            const Breakpoint* s = slots(next);
            while (cur.end < kBlock && next.beg < next.end) c[cur.end++] = s[next.beg++];
            if (next.beg == next.end) {
                release(next.block);
                continue;
            }
            next.key = s[next.beg].nu;
            dir[out++] = cur;
            cur = next;
        }
        dir[out++] = cur;
        de = out;
    }
    GRIDBATCH_HD std::int64_t allocate() {
        if (free_head < 0 && fresh == n_blocks) compact();
        if (free_head >= 0) {
            const std::int64_t b = free_head;
            free_head = static_cast<std::int64_t>(pool[b * kBlock].nu);
            return b;
        }
        return fresh++;
    }
    // Moves the live directory to the middle of its slots.
    GRIDBATCH_HD void recentre() {
        const std::int64_t m = de - db, to = (dir_cap - m) / 2;
        if (to < db) {
            for (std::int64_t i = 0; i < m; ++i) dir[to + i] = dir[db + i];
        } else if (to > db) {
            for (std::int64_t i = m - 1; i >= 0; --i) dir[to + i] = dir[db + i];
        }
        db = to;
        de = to + m;
    }

    // hint: a directory index where a similar breakpoint went (any value; updated).
    GRIDBATCH_HD void push(Breakpoint x) {
        std::int64_t hint = -1;
        push(x, hint);
    }
    GRIDBATCH_HD void first(Breakpoint x) {
        if (db == de) {  // also after the last block was freed
            db = de = dir_cap / 2;
        }
        const std::int64_t b = allocate();
        pool[b * kBlock + kBlock / 2] = x;
        dir[de++] = {x.nu, static_cast<std::int32_t>(b), kBlock / 2, kBlock / 2 + 1, 0, 0};
    }
    GRIDBATCH_HD void push(Breakpoint x, std::int64_t& hint) {
        if (n++ == 0) {
            first(x);
            return;
        }
        if (x.nu <= dir[db].key) {  // new smallest
            --n;
            push_front(x);
            return;
        }
        BlockRef* r = &dir[de - 1];
        if (x.nu >= slots(*r)[r->end - 1].nu) {  // new largest
            --n;
            push_back(x);
            return;
        }
        push_inside(x, hint);
    }
    // x at or below every price (any set, empty included).
    GRIDBATCH_HD void push_front(Breakpoint x) {
        if (n++ == 0) {
            first(x);
            return;
        }
        {
            BlockRef* r = &dir[db];
            if (r->beg == 0) {
                const int cnt = r->end;
                if (cnt == kBlock) {  // full: a new first block, filled from its end
                    const std::int64_t b = allocate();
                    if (db == 0) recentre();
                    r = &dir[--db];
                    *r = {x.nu, static_cast<std::int32_t>(b), kBlock, kBlock, 0, 0};
                } else {  // room at the end only: move to the end of the block
                    Breakpoint* s = slots(*r);
                    for (int i = cnt - 1; i >= 0; --i) s[i + kBlock - cnt] = s[i];
                    r->beg = static_cast<std::uint8_t>(kBlock - cnt);
                    r->end = kBlock;
                }
            }
            slots(*r)[--r->beg] = x;
            r->key = x.nu;
        }
    }
    // x at or above every price (any set, empty included).
    GRIDBATCH_HD void push_back(Breakpoint x) {
        if (n++ == 0) {
            first(x);
            return;
        }
        {
            BlockRef* r = &dir[de - 1];
            if (r->end == kBlock) {
                const int cnt = kBlock - r->beg;
                if (cnt == kBlock) {  // full: a new last block, filled from its start
                    const std::int64_t b = allocate();
                    if (de == dir_cap) recentre();
                    r = &dir[de++];
                    *r = {x.nu, static_cast<std::int32_t>(b), 0, 0, 0, 0};
                } else {
                    Breakpoint* s = slots(*r);
                    for (int i = 0; i < cnt; ++i) s[i] = s[r->beg + i];
                    r->beg = 0;
                    r->end = static_cast<std::uint8_t>(cnt);
                }
            }
            slots(*r)[r->end++] = x;
        }
    }
    // min < x < max (n counted already): the block to take it is the last whose first price is
    // <= x.
    GRIDBATCH_HD void push_inside(Breakpoint x, std::int64_t& hint) {
        std::int64_t k = find(x.nu, hint);
        if (dir[k].end - dir[k].beg == kBlock) {
            const std::int64_t before = compactions;
            const std::int64_t b = allocate();
            if (compactions != before) k = find(x.nu, -1);
            if (dir[k].end - dir[k].beg == kBlock)
                k = split(k, b, x.nu);
            else
                release(b);
        }
        if (k == db || k == de - 1) {
            insert_into(dir[k], x);
        } else {  // not at an end: appended unsorted, sorted when the block becomes an end
            BlockRef& to = dir[k];
            Breakpoint* s = slots(to);
            if (to.end == kBlock) {
                for (int i = to.beg; i < to.end; ++i) s[i - to.beg] = s[i];
                to.end = static_cast<std::uint8_t>(to.end - to.beg);
                to.beg = 0;
            }
            s[to.end++] = x;
            ++to.tail;
        }
        hint = k;
    }
    // Sorts the block's unsorted tail (insertion) and merges it with the sorted rest through the
    // scratch block, which then takes the block's place.
    GRIDBATCH_HD void normalize(BlockRef& r) {
        if (r.tail == 0) return;
        Breakpoint* s = slots(r);
        const int m = r.end - r.tail;
        for (int i = m + 1; i < r.end; ++i) {
            const Breakpoint x = s[i];
            int j = i;
            for (; j > m && s[j - 1].nu > x.nu; --j) s[j] = s[j - 1];
            s[j] = x;
        }
        Breakpoint* t = pool + scratch * kBlock;
        int a = r.beg, b = m, o = r.beg;
        while (a < m && b < r.end) t[o++] = s[b].nu < s[a].nu ? s[b++] : s[a++];
        while (a < m) t[o++] = s[a++];
        while (b < r.end) t[o++] = s[b++];
        const std::int64_t old = r.block;
        r.block = static_cast<std::int32_t>(scratch);
        scratch = old;
        r.tail = 0;
        r.key = t[r.beg].nu;
    }
    // The last block whose first price is <= x, for min < x < max: galloping from the hint, then
    // branch-free halving.
    GRIDBATCH_HD std::int64_t find(double x, std::int64_t hint) const {
        if (de - db == 1 || x < dir[db + 1].key) return db;
        if (x >= dir[de - 1].key) return de - 1;
        std::int64_t lo = db + 1, hi = de - 1;  // dir[lo].key <= x < dir[hi].key
        if (hint > lo && hint < hi) {
            std::int64_t step = 1;
            if (dir[hint].key <= x) {
                lo = hint;
                while (lo + step < hi && dir[lo + step].key <= x) {
                    lo += step;
                    step *= 2;
                }
                if (lo + step < hi) hi = lo + step;
            } else {
                hi = hint;
                while (hi - step > lo && dir[hi - step].key > x) {
                    hi -= step;
                    step *= 2;
                }
                if (hi - step > lo) lo = hi - step;
            }
        }
        std::int64_t len = hi - lo;
        while (len > 1) {
            const std::int64_t half = len / 2;
            lo = dir[lo + half].key <= x ? lo + half : lo;
            len -= half;
        }
        return lo;
    }
    // Inserts x after the block's first breakpoint (x >= key), moving the breakpoints on the side
    // of x that is shorter (judged by the middle one) and has room.
    GRIDBATCH_HD static void insert_into_slots(Breakpoint* s, BlockRef& r, Breakpoint x) {
        if (r.end == kBlock || (r.beg > 0 && x.nu < s[(r.beg + r.end) / 2].nu)) {
            int i = --r.beg;
            while (i + 1 < r.end && s[i + 1].nu <= x.nu) {
                s[i] = s[i + 1];
                ++i;
            }
            s[i] = x;
        } else {
            int i = r.end++;
            while (s[i - 1].nu > x.nu) {  // stops at the first breakpoint at the latest
                s[i] = s[i - 1];
                --i;
            }
            s[i] = x;
        }
    }
    GRIDBATCH_HD void insert_into(BlockRef& r, Breakpoint x) { insert_into_slots(slots(r), r, x); }
    // Moves the upper half of the full block dir[k] to block b, listed after it; returns the
    // directory index of the half that takes price x.
    GRIDBATCH_HD std::int64_t split(std::int64_t k, std::int64_t b, double x) {
        if (dir[k].tail > 0) return split_unsorted(k, b, x);
        constexpr int half = kBlock / 2;
        Breakpoint* s = slots(dir[k]);
        Breakpoint* t = pool + b * kBlock;
        for (int i = 0; i < half; ++i) t[i] = s[half + i];
        dir[k].end = half;
        const BlockRef fresh_ref{t[0].nu, static_cast<std::int32_t>(b), 0, half, 0, 0};
        return link_after(k, fresh_ref, x);
    }
    // A full block with an unsorted part (never an end block) is partitioned instead, without
    // branches, around the median of three of its prices: the prices below go to the scratch block,
    // which takes the block's place, the others to block b; both stay unsorted.
    GRIDBATCH_HD std::int64_t split_unsorted(std::int64_t k, std::int64_t b, double x) {
        const Breakpoint* s = slots(dir[k]);
        Breakpoint* t = pool + b * kBlock;
        Breakpoint* low = pool + scratch * kBlock;
        double med[3];
        for (int g = 0; g < 3; ++g) {  // Tukey's ninther of nine evenly spread prices
            const double a = s[(3 * g + 1) * kBlock / 10].nu, c = s[(3 * g + 2) * kBlock / 10].nu,
                         e = s[(3 * g + 3) * kBlock / 10].nu;
            med[g] = max_of(min_of(a, c), min_of(max_of(a, c), e));
        }
        double pivot = max_of(min_of(med[0], med[1]), min_of(max_of(med[0], med[1]), med[2]));
        int nl = 0, nh = 0;
        for (int pass = 0; pass < 2; ++pass) {  // a second pass only when pivot is the smallest
            nl = nh = 0;
            double m = kInf;
            for (int i = 0; i < kBlock; ++i) {
                const Breakpoint y = s[i];
                const bool up = y.nu >= pivot;
                low[nl] = y;
                t[nh] = y;
                nl += up ? 0 : 1;
                nh += up ? 1 : 0;
                m = up ? min_of(m, y.nu) : m;
            }
            if (nl > 0) {
                pivot = m;
                break;
            }
            double above = kInf;  // the second smallest price
            for (int i = 0; i < kBlock; ++i)
                above = s[i].nu > pivot ? min_of(above, s[i].nu) : above;
            if (above == kInf) {  // all equal: split anywhere
                for (int i = 0; i < kBlock / 2; ++i) low[i] = s[i];
                for (int i = kBlock / 2; i < kBlock; ++i) t[i - kBlock / 2] = s[i];
                nl = nh = kBlock / 2;
                break;
            }
            pivot = above;
        }
        const std::int64_t old = dir[k].block;
        dir[k].block = static_cast<std::int32_t>(scratch);
        scratch = old;
        dir[k].beg = 0;
        dir[k].end = dir[k].tail = static_cast<std::uint8_t>(nl);
        const std::uint8_t cnt = static_cast<std::uint8_t>(nh);
        const BlockRef fresh_ref{pivot, static_cast<std::int32_t>(b), 0, cnt, cnt, 0};
        return link_after(k, fresh_ref, x);
    }
    // Lists fresh_ref after dir[k]; returns the directory index of the one of the two that takes
    // price x.
    GRIDBATCH_HD std::int64_t link_after(std::int64_t k, const BlockRef& fresh_ref, double x) {
        if (de == dir_cap || (db > 0 && k + 1 - db < de - k - 1)) {  // shift the front part
            for (std::int64_t i = db; i <= k; ++i) dir[i - 1] = dir[i];
            --db;
            dir[k] = fresh_ref;
            return x < fresh_ref.key ? k - 1 : k;
        }
        for (std::int64_t i = de; i > k + 1; --i) dir[i] = dir[i - 1];
        ++de;
        dir[k + 1] = fresh_ref;
        return x < fresh_ref.key ? k : k + 1;
    }
};

// ---------------------------------------------------------------------------------------------
// Exact one-state convex dynamic program in SoC for the general case (losses, self-discharge,
// throughput cost, battery and grid power limits). W_t(E) is the least cost of reaching energy E
// at step t; it is convex, and we keep the inverse of its derivative, X_t(nu) = the energy whose
// marginal cost is nu, a non-decreasing piecewise-linear function stored as breakpoints in a
// BreakpointSet. One step is X_{t+1}(nu) = a X_t(a nu) - s_t(nu) (s_t = energy drawn at price nu,
// <= 4 breakpoints, <= 5 in the relaxation) followed by clamping to [e_min, e_max], which removes
// breakpoints from either end (amortised O(1) per step, plus O(log n) for a breakpoint landing
// deep inside). Only the two clamp prices per step are kept; the backward pass clamps the final
// price into them and reads the dispatch off best_power(). Steps whose limits cannot be met are
// relaxed to the nearest achievable value and reported (first step, size).
// Workspace of one pass: BreakpointSet::items_for(T) breakpoints (~6.19 T + 330: blocks for 6 T
// breakpoints, a spare block for merging and their directory) and 2 (T + 1) doubles. At most 5 T
// breakpoints are alive (each step adds at most 5, a clamp removes at least one for the one it
// adds).
struct DpState {
    BreakpointSet set;
    double p, q;         // true nu = stored nu * p, true delta = stored delta * q (lazy decay)
    double ip, iq;       // 1 / p, 1 / q (kept alongside: no division per breakpoint)
    double left, right;  // X(-inf), X(+inf)
    // The step's own breakpoints, in increasing price, [fb, fe): the clamps take them from here
    // before they enter the set (about a third of them never do); room for a crossing at each end.
    // kind: the breakpoint's place in the step (0..4 as added, 5 and 6 the crossings), and hint the
    // directory index where the last one of each kind went: similar steps put them close together.
    Breakpoint fresh[10];
    int kind[10];
    int fb, fe, added;
    std::int64_t hint[7];
    GRIDBATCH_HD void add(Breakpoint x) {
        kind[fe] = added++;
        fresh[fe++] = x;
    }
};

// Per-solve constants of the hot loop (multiplications instead of divisions).
struct DpConstants {
    double inv_eta_c, two_eta_d, two_over_eta_c;
    double slope_discharge, slope_charge;  // dX/dnu where discharge (charge) is free
    double decay2;
};
GRIDBATCH_HD inline DpConstants dp_constants(double h, const FleetParams& f) {
    return {1.0 / f.eta_c,
            2.0 * f.eta_d,
            2.0 / f.eta_c,
            0.5 * h / (f.eta_d * f.eta_d),
            0.5 * h * f.eta_c * f.eta_c,
            f.decay * f.decay};
}

// Any step, including the overlap of the relaxation (n1 > n2, target above the load).
GRIDBATCH_HD inline void dp_add_step_general(DpState& st, double d, double lo, double hi, double h,
                                             const FleetParams& f) {
    // -s(nu) is piecewise linear with kinks among these prices; its slope on each piece is
    // evaluated exactly at the midpoint and the slope changes become breakpoints.
    const double n1 = price_discharge_zero(d, f), n2 = price_charge_zero(d, f);
    const double p_hi = price_of_power(hi, d, f), p_lo = price_of_power(lo, d, f);
    double c[5] = {p_hi, n1, n2, price_of_power(0.0, d, f), p_lo};
    for (int i = 0; i < 5; ++i) c[i] = fmin(fmax(c[i], p_hi), p_lo);
    for (int i = 1; i < 5; ++i)
        for (int j = i; j > 0 && c[j] < c[j - 1]; --j) {
            const double tmp = c[j];
            c[j] = c[j - 1];
            c[j - 1] = tmp;
        }
    double prev = 0;
    for (int i = 0; i < 5; ++i) {
        double slope = 0;
        if (i < 4 && c[i + 1] > c[i]) {
            const double m = 0.5 * (c[i] + c[i + 1]);
            const double b = free_power(m, d, f);
            if (b < hi && b > lo) {
                const double db = (m < n1 ? -0.5 / f.eta_d : 0.0) + (m > n2 ? -0.5 * f.eta_c : 0.0);
                slope = -h * db * (b > 0 ? 1.0 / f.eta_d : f.eta_c);
            }
        } else if (i < 4) {
            continue;  // empty piece: the slope change happens at the next distinct price
        }
        if (slope != prev) st.add({c[i] * st.ip, (slope - prev) * st.iq});
        prev = slope;
    }
}

GRIDBATCH_HD inline void dp_add_step(DpState& st, const DpConstants& k, double load, double lo,
                                     double hi, double h, const FleetParams& f) {
    st.left -= stored_energy_drawn(hi, h, f);
    st.right -= stored_energy_drawn(lo, h, f);
    const double d = load - f.target;
    const double n1 = f.eta_d * (2 * d - f.kappa), n2 = (2 * d + f.kappa) * k.inv_eta_c;
    if (n1 > n2) {
        dp_add_step_general(st, d, lo, hi, h, f);
        return;
    }
    // n1 <= n2: the response is hi .. 0 at slope -1 / (2 eta_d) on the discharge branch below n1,
    // 0 on [n1, n2] and 0 .. lo at slope -eta_c / 2 on the charge branch above n2, clamped to
    // [lo, hi]. X gains slope h / (2 eta_d^2) where discharge is free and h eta_c^2 / 2 where
    // charge is: two breakpoints each, in increasing order of price.
    const double dis_lo = lo > 0 ? lo : 0.0, ch_hi = hi < 0 ? hi : 0.0;
    if (hi > dis_lo) {
        st.add({(n1 - k.two_eta_d * hi) * st.ip, k.slope_discharge * st.iq});
        st.add({(n1 - k.two_eta_d * dis_lo) * st.ip, -k.slope_discharge * st.iq});
    }
    if (lo < ch_hi) {
        st.add({(n2 - k.two_over_eta_c * ch_hi) * st.ip, k.slope_charge * st.iq});
        st.add({(n2 - k.two_over_eta_c * lo) * st.ip, -k.slope_charge * st.iq});
    }
}

// Clamps X from below at `floor`; returns the price where X crosses it (-inf when X >= floor).
GRIDBATCH_HD inline double dp_clamp_low(DpState& st, double floor) {
    if (st.left >= floor) return -kInf;
    double val = st.left, sl = 0, prev = -kInf;
    for (;;) {
        const bool in_set =
            !st.set.empty() && (st.fb == st.fe || st.set.dir[st.set.db].key < st.fresh[st.fb].nu);
        if (!in_set && st.fb == st.fe) break;
        const Breakpoint bp = in_set ? st.set.min() : st.fresh[st.fb];
        const double nu = bp.nu * st.p;
        const double at = sl > 0 ? val + sl * (nu - prev) : val;
        if (at >= floor) {  // crossing before this breakpoint, which stays
            const double cross = sl > 0 ? prev + (floor - val) / sl : nu;
            st.fresh[--st.fb] = {cross * st.ip, sl * st.iq};
            st.kind[st.fb] = 5;
            st.left = floor;
            return cross;
        }
        if (in_set)
            st.set.pop_min();
        else
            ++st.fb;
        val = at;
        sl += bp.delta * st.q;
        prev = nu;
    }
    // Rounding left the function flat below the floor: it is the floor everywhere.
    st.left = st.right = floor;
    return kInf;
}

GRIDBATCH_HD inline double dp_clamp_high(DpState& st, double ceil) {
    if (st.right <= ceil) return kInf;
    double val = st.right, sl = 0, prev = kInf;
    for (;;) {
        const bool in_set =
            !st.set.empty() && (st.fb == st.fe || st.set.max().nu > st.fresh[st.fe - 1].nu);
        if (!in_set && st.fb == st.fe) break;
        const Breakpoint bp = in_set ? st.set.max() : st.fresh[st.fe - 1];
        const double nu = bp.nu * st.p;
        const double at = sl > 0 ? val - sl * (prev - nu) : val;
        if (at <= ceil) {
            const double cross = sl > 0 ? prev - (val - ceil) / sl : nu;
            st.kind[st.fe] = 6;
            st.fresh[st.fe++] = {cross * st.ip, -sl * st.iq};
            st.right = ceil;
            return cross;
        }
        if (in_set)
            st.set.pop_max();
        else
            --st.fe;
        val = at;
        sl -= bp.delta * st.q;  // slope to the left of this breakpoint
        prev = nu;
    }
    st.left = st.right = ceil;
    return -kInf;
}

// The price at which X reaches `target` (X is non-decreasing); empties the set.
GRIDBATCH_HD inline double dp_price_of(DpState& st, double target) {
    double val = st.left, sl = 0, prev = -kInf;
    while (!st.set.empty()) {
        const Breakpoint bp = st.set.pop_min();
        const double nu = bp.nu * st.p;
        const double at = sl > 0 ? val + sl * (nu - prev) : val;
        if (at >= target) return sl > 0 ? prev + (target - val) / sl : nu;
        val = at;
        sl += bp.delta * st.q;
        prev = nu;
    }
    return kInf;
}

// X(nu) at one price, without changing the set (linear scan; used once per solve).
GRIDBATCH_HD inline double dp_value_at(const DpState& st, double nu) {
    double x = st.left;
    const BreakpointSet& set = st.set;
    for (std::int64_t k = set.db; set.n > 0 && k < set.de; ++k) {
        const Breakpoint* s = set.slots(set.dir[k]);
        for (int i = set.dir[k].beg; i < set.dir[k].end; ++i) {
            const double at = s[i].nu * st.p;
            if (at < nu) x += s[i].delta * st.q * (nu - at);
        }
    }
    return x;
}

GRIDBATCH_HD inline void record(Outcome& out, std::int64_t step, double violation, int kind) {
    if (out.step >= 0) return;
    out.status = 4;
    out.step = step;
    out.violation = violation;
    out.violation_kind = kind;
}

// The forward pass over steps [0, T) of `load` from X_0 = f.e_init: leaves X_T in st and the clamp
// prices of the energy after each step in nu_lo[1..T], nu_hi[1..T].
GRIDBATCH_HD inline void dp_forward(const double* load, std::int64_t stride, std::int64_t T,
                                    double h, const FleetParams& f, DpState& st,
                                    Breakpoint* storage, double* nu_lo, double* nu_hi,
                                    Outcome& out) {
    st.set = BreakpointSet::make(storage, T);
    st.p = st.q = st.ip = st.iq = 1.0;
    st.left = st.right = f.e_init;
    for (std::int64_t& hint : st.hint) hint = -1;
    const DpConstants k = dp_constants(h, f);
    const double tol = 1e-9 * (1.0 + fabs(f.e_max));
    for (std::int64_t t = 0; t < T; ++t) {
        const double L = load[t * stride];
        double lo, hi;
        power_range(L, f, lo, hi);
        if (lo > hi) {
            record(out, t, lo - hi, 1);
            lo = hi;
        }
        if (f.decay != 1.0) {
            // p and q exactly as divisions and products of decay: reciprocals updated by
            // multiplication drift by an ulp per step, and the dispatch is sensitive to that drift
            // at the 1e-8 level over a day at 1 s.
            st.p /= f.decay;
            st.q *= k.decay2;
            st.ip = 1.0 / st.p;
            st.iq = 1.0 / st.q;
            st.left *= f.decay;
            st.right *= f.decay;
        }
        st.fb = st.fe = 2;
        st.added = 0;
        dp_add_step(st, k, L, lo, hi, h, f);
        double floor = f.e_min, ceil = f.e_max;
        if (st.right < floor) {
            if (floor - st.right > tol) record(out, t, floor - st.right, 2);
            floor = st.right;
        }
        if (st.left > ceil) {
            if (st.left - ceil > tol) record(out, t, st.left - ceil, 2);
            ceil = st.left;
        }
        nu_lo[t + 1] = dp_clamp_low(st, floor);
        nu_hi[t + 1] = dp_clamp_high(st, ceil);
        // The clamps' crossings (kinds 5 and 6) lie beyond everything left (checked: the change of
        // units can round them an ulp inside): straight to the ends.
        int b = st.fb, e = st.fe;
        if (b < e && st.kind[b] == 5 &&
            (st.set.empty() || st.fresh[b].nu <= st.set.dir[st.set.db].key))
            st.set.push_front(st.fresh[b++]);
        if (b < e && st.kind[e - 1] == 6 &&
            (st.set.empty() || st.fresh[e - 1].nu >= st.set.max().nu))
            st.set.push_back(st.fresh[--e]);
        for (int i = b; i < e; ++i) st.set.push(st.fresh[i], st.hint[st.kind[i]]);
    }
}

// The battery power of one step at price nu (counting the steps dispatched by the relaxation).
GRIDBATCH_HD inline double dp_step_power(double nu, double L, const FleetParams& f, Outcome& out) {
    double lo, hi;
    power_range(L, f, lo, hi);
    if (lo > hi) lo = hi;
    const double d = L - f.target;
    if (nu < price_discharge_zero(d, f) && nu > price_charge_zero(d, f)) ++out.relaxed_steps;
    return best_power(nu, L, lo, hi, f);
}

// Reads the dispatch of steps T-1 .. 0 off the clamp prices, from the price nu of the energy
// after step T-1.
GRIDBATCH_HD inline void dp_rollout(const double* load, std::int64_t stride, std::int64_t T,
                                    const FleetParams& f, double nu, const double* nu_lo,
                                    const double* nu_hi, double* battery, Outcome& out) {
    for (std::int64_t t = T - 1; t >= 0; --t) {
        nu = min_of(max_of(nu, nu_lo[t + 1]), nu_hi[t + 1]);
        battery[t * stride] = dp_step_power(nu, load[t * stride], f, out);
        nu *= f.decay;
    }
}

// The whole horizon in one pass. prices: 2 (T + 1) doubles.
GRIDBATCH_HD inline void dynamic_program(const double* load, std::int64_t stride, std::int64_t T,
                                         double h, const FleetParams& f, double* battery,
                                         Breakpoint* storage, double* prices, Outcome& out) {
    DpState st;
    double *nu_lo = prices, *nu_hi = prices + T + 1;
    dp_forward(load, stride, T, h, f, st, storage, nu_lo, nu_hi, out);
    const double tol = 1e-9 * (1.0 + fabs(f.e_max));
    // Terminal price: 0 for a free end (stored energy is worth nothing after the horizon).
    double nu = 0;
    if (f.terminal != 2) {
        const double x0 = dp_value_at(st, 0.0);
        if (f.terminal == 0 || x0 < f.e_init) {
            if (f.e_init > st.right + tol) record(out, T, f.e_init - st.right, 2);
            if (f.terminal == 0 && f.e_init < st.left - tol) record(out, T, st.left - f.e_init, 2);
            nu = f.e_init >= st.right  ? kInf
                 : f.e_init <= st.left ? -kInf
                                       : dp_price_of(st, f.e_init);
        }
    }
    dp_rollout(load, stride, T, f, nu, nu_lo, nu_hi, battery, out);
}

// ---------------------------------------------------------------------------------------------
// The dynamic program split in time, for two threads on one scenario. With the end SoC fixed
// (terminal equal) and no self-discharge, the problem read backwards in time is the same dynamic
// program: with E^_t = -E_t, E^ drops by h psi(b_t) over step t exactly as E does forwards, stays
// in [-e_max, -e_min] and starts from -e_init at T, and its cost to arrive is the forward
// problem's cost to go, whose derivative in E^ is the same price nu. So one forward pass over
// the first m = T / 2 steps and one over the last T - m steps taken in reverse (independent of
// each other) give X_m and X^_m; the optimal energy at m is where the two prices agree,
// X_m(nu) = -X^_m(nu), and each half's dispatch is read off its own clamp prices from that nu.
// Same optimum as the one pass. Where a half meets a limit it cannot keep, or the halves do not
// meet (the energy reachable from the start and that from which the end is reachable do not
// overlap), the caller runs the one pass, which says where and by how much.
// Workspace: half 0 takes the first BreakpointSet::items_for(m) breakpoints and the first
// 2 (m + 1) prices, half 1 the next; the one pass reuses them all.
constexpr std::int64_t kSplitMinSteps = 64;  // below this a second thread costs more than it saves
GRIDBATCH_HD inline bool dp_splits(std::int64_t T, const FleetParams& f) {
    return f.terminal == 0 && f.decay == 1.0 && T >= kSplitMinSteps;
}

// Workspace of one scenario: workspace_items(T) breakpoints (the taut string's chains reuse
// them) and price_items(T) doubles, for the one pass or the two halves.
GRIDBATCH_HD inline std::int64_t workspace_items(std::int64_t T) {
    const std::int64_t one = BreakpointSet::items_for(T),
                       two = BreakpointSet::items_for(T / 2) + BreakpointSet::items_for(T - T / 2);
    return one > two ? one : two;
}
GRIDBATCH_HD inline std::int64_t price_items(std::int64_t T) { return 2 * (T + 2); }

// The two halves' states, a cache line apart or more: two threads update them every step, and
// with the halves sharing a line each half of a lossy day took 7-8 ms instead of 4.5 ms.
struct DpHalves {
    struct alignas(64) Half {
        DpState st;
        Outcome out;
    };
    Half half[2];
    double nu;  // the price where they meet (dp_meet_halves); NaN where they do not
};

// Half 0: steps [0, m) forwards; half 1: steps [m, T) in reverse. Independent of each other.
GRIDBATCH_HD inline void dp_half(const double* load, std::int64_t stride, std::int64_t T, double h,
                                 const FleetParams& f, int half, Breakpoint* work, double* prices,
                                 DpHalves& hv) {
    const std::int64_t m = T / 2, n = T - m;
    Outcome& out = hv.half[half].out;
    out = {0, -1, 0.0, 0, 0.0, 0};
    if (half == 0) {
        dp_forward(load, stride, m, h, f, hv.half[0].st, work, prices, prices + m + 1, out);
        return;
    }
    FleetParams r = f;
    r.e_min = -f.e_max;
    r.e_max = -f.e_min;
    r.e_init = -f.e_init;
    double* p = prices + 2 * (m + 1);
    dp_forward(load + (T - 1) * stride, -stride, n, h, r, hv.half[1].st,
               work + BreakpointSet::items_for(m), p, p + n + 1, out);
}

// The price nu where X_m(nu) + X^_m(nu) = 0 (both non-decreasing; the walk merges their
// breakpoints and empties both sets); NaN where there is none. Prices are stored unscaled here
// (no self-discharge: p = q = 1).
GRIDBATCH_HD inline double dp_meet(DpState& a, DpState& b) {
    double val = a.left + b.left, sl = 0, prev = -kInf;
    if (val > 0) return NAN;
    for (;;) {
        const bool ea = a.set.empty(), eb = b.set.empty();
        if (ea && eb) break;
        const bool from_a = !ea && (eb || a.set.min().nu <= b.set.min().nu);
        const Breakpoint bp = from_a ? a.set.pop_min() : b.set.pop_min();
        const double at = sl > 0 ? val + sl * (bp.nu - prev) : val;
        if (at >= 0) return sl > 0 ? prev + (0 - val) / sl : bp.nu;
        val = at;
        sl += bp.delta;
        prev = bp.nu;
    }
    return a.right + b.right >= 0 ? kInf : NAN;
}

// Whether the halves meet (else the caller runs the one pass); sets hv.nu.
GRIDBATCH_HD inline bool dp_meet_halves(DpHalves& hv) {
    const bool failed = hv.half[0].out.step >= 0 || hv.half[1].out.step >= 0;
    hv.nu = failed ? NAN : dp_meet(hv.half[0].st, hv.half[1].st);
    return hv.nu == hv.nu;
}

// One half's dispatch, SoC, grid draw and share of the objective (in hv.half[half].out) once the
// halves meet. Half 0 writes soc[0..m] forwards from the initial SoC, half 1 soc[m+1..T] backwards
// from the end, which is the initial SoC too (the split's terminal condition is `equal`): the two
// need nothing of each other, so two threads can run them.
GRIDBATCH_HD inline void dp_finish_half(const double* load, std::int64_t stride, std::int64_t T,
                                        double h, const FleetParams& f, DpHalves& hv, int half,
                                        const double* prices, double* battery, double* soc,
                                        double* grid) {
    const std::int64_t m = T / 2, n = T - m;
    Outcome& out = hv.half[half].out;
    out = {0, -1, 0.0, 0, 0.0, 0};
    double obj = 0, e = f.e_init;
    const auto step = [&](std::int64_t t) {
        const double b = battery[t * stride], g = load[t * stride] - b;
        grid[t * stride] = g;
        obj += step_cost(b, g, h, f);
        return stored_energy_drawn(b, h, f);
    };
    if (half == 0) {
        dp_rollout(load, stride, m, f, hv.nu, prices, prices + m + 1, battery, out);
        soc[0] = e;
        for (std::int64_t t = 0; t < m; ++t) {
            e -= step(t);
            soc[(t + 1) * stride] = e;
        }
    } else {
        // The reverse pass clamped E_t (t >= m) at its step T - t.
        const double *lo = prices + 2 * (m + 1), *hi = lo + n + 1;
        double v = hv.nu;
        for (std::int64_t t = m; t < T; ++t) {
            v = min_of(max_of(v, lo[T - t]), hi[T - t]);
            battery[t * stride] = dp_step_power(v, load[t * stride], f, out);
        }
        soc[T * stride] = e;
        for (std::int64_t t = T - 1; t > m; --t) {
            e += step(t);
            soc[t * stride] = e;
        }
        step(m);
    }
    out.objective = obj;
}

// The scenario's outcome from its two finished halves.
GRIDBATCH_HD inline Outcome dp_joined(const DpHalves& hv) {
    return {0,
            -1,
            0.0,
            0,
            hv.half[0].out.objective + hv.half[1].out.objective,
            hv.half[0].out.relaxed_steps + hv.half[1].out.relaxed_steps};
}

// ---------------------------------------------------------------------------------------------
// One scenario end to end. method: 0 automatic (taut string when lossless and it keeps every
// limit, else the dynamic program), 1 taut string (lossless; ignores power and grid limits),
// 2 dynamic program. Returns the method used. `work` holds workspace_items(T) breakpoints and
// `prices` price_items(T) doubles. Callers with a spare thread run the steps themselves: dp_half(0)
// and dp_half(1) on two threads, dp_meet_halves on one, then dp_finish_half(0) and (1) on two, or
// dp_one_pass on one where the halves do not meet.

// Whether the taut string is tried first (else the dynamic program is the method).
GRIDBATCH_HD inline bool tries_taut_string(const FleetParams& f, int method) {
    const bool lossless = f.eta_c == 1.0 && f.eta_d == 1.0 && f.decay == 1.0 && f.kappa == 0.0;
    return method != 2 && lossless && f.terminal != 2;
}

// Whether solve_scenario goes straight to the dynamic program in halves, which a caller may run on
// two threads (see solve_scenario).
GRIDBATCH_HD inline bool runs_in_halves(std::int64_t T, const FleetParams& f, int method) {
    return !tries_taut_string(f, method) && dp_splits(T, f);
}

// The dynamic program in one pass, then SoC, grid draw and objective.
GRIDBATCH_HD inline void dp_one_pass(const double* load, std::int64_t stride, std::int64_t T,
                                     double h, const FleetParams& f, double* battery, double* soc,
                                     double* grid, Breakpoint* work, double* prices, Outcome& out) {
    out = {0, -1, 0.0, 0, 0.0, 0};
    dynamic_program(load, stride, T, h, f, battery, work, prices, out);
    finish_outcome(load, stride, T, h, f, battery, soc, grid, out);
}

GRIDBATCH_HD inline int solve_scenario(const double* load, std::int64_t stride, std::int64_t T,
                                       double h, const FleetParams& f, int method, double* battery,
                                       double* soc, double* grid, Breakpoint* work, double* prices,
                                       Outcome& out) {
    if (tries_taut_string(f, method)) {
        Point* chains = reinterpret_cast<Point*>(work);
        taut_string(load, stride, T, h, f, battery, chains, chains + (T + 2));
        if (method == 1 || within_limits(load, stride, T, f, battery)) {
            out = {0, -1, 0.0, 0, 0.0, 0};
            finish_outcome(load, stride, T, h, f, battery, soc, grid, out);
            return 1;
        }
    }
    if (dp_splits(T, f)) {
        DpHalves hv;
        for (int half = 0; half < 2; ++half) dp_half(load, stride, T, h, f, half, work, prices, hv);
        if (dp_meet_halves(hv)) {
            for (int half = 0; half < 2; ++half)
                dp_finish_half(load, stride, T, h, f, hv, half, prices, battery, soc, grid);
            out = dp_joined(hv);
            return 2;
        }
    }
    dp_one_pass(load, stride, T, h, f, battery, soc, grid, work, prices, out);
    return 2;
}

// ---------------------------------------------------------------------------------------------
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
