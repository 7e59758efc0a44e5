// The dynamic program's breakpoints ordered by price: a sorted list of blocks.
//
// Written once for both backends, as every header of core/dispatch/: plain structs and raw
// strided pointers, no Eigen, no allocation, `__host__ __device__` under nvcc. The CPU engine calls
// them with stride 1 (one scenario per column), the CUDA kernels with stride S (scenario-fastest,
// so neighbouring threads touch neighbouring addresses).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/dispatch/min_max.hpp"

namespace gridbatch::detail::dispatch {

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

}  // namespace gridbatch::detail::dispatch
