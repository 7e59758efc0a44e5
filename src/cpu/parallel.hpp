// Scenarios spread over threads. Each scenario is handled entirely by one thread, so results do
// not depend on the thread count (bitwise deterministic).
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

#include "gridbatch/types.hpp"

namespace gridbatch::detail::cpu {

inline int thread_count(int requested, Index work_items) {
    int n = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
    n = std::max(1, n);
    return static_cast<int>(std::min<Index>(n, std::max<Index>(1, work_items)));
}

// Calls body(worker, begin, end) on chunks of [0, count) handed out dynamically (per-scenario
// cost differs, e.g. non-converging scenarios), `worker` in [0, threads) so each thread can keep
// its own workspace. The first exception is rethrown after all threads finish.
template <typename Body>
void parallel_for(Index count, int threads, Index chunk, Body&& body) {
    threads = thread_count(threads, (count + chunk - 1) / std::max<Index>(chunk, 1));
    if (threads <= 1) {
        if (count > 0) body(0, Index{0}, count);
        return;
    }
    std::atomic<Index> next{0};
    std::exception_ptr error;
    std::atomic<bool> failed{false};
    auto work = [&](int worker) {
        try {
            for (;;) {
                const Index begin = next.fetch_add(chunk);
                if (begin >= count || failed.load()) return;
                body(worker, begin, std::min(count, begin + chunk));
            }
        } catch (...) {
            if (!failed.exchange(true)) error = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
}

}  // namespace gridbatch::detail::cpu
