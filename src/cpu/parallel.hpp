// Scenarios spread over threads. Each scenario is handled entirely by one thread, so results do
// not depend on the thread count (bitwise deterministic).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "gridbatch/types.hpp"

namespace gridbatch::detail::cpu {

inline int thread_count(int requested, Index work_items) {
    int n = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
    n = std::max(1, n);
    return static_cast<int>(std::min<Index>(n, std::max<Index>(1, work_items)));
}

// Runs `task` on a thread of the process's pool: an idle one, else a new one that the pool keeps.
// Every call gets a thread of its own at once. Why a pool: a
// thread created per call was often placed on its creator's core and started only at the next
// scheduler tick (~4 ms on the 2-core VM behind our numbers), leaving the caller to run alone;
// an idle pool thread wakes where it last ran, in ~20 us. After fork() the child starts an empty
// pool (the parent's threads do not exist there). Throws std::system_error where a thread cannot
// be started.
void run_on_pool_thread(std::function<void()> task);

// Waits until count_down() was called `count` times.
class Latch {
public:
    explicit Latch(int count) : count_(count) {}
    void count_down(int n = 1) {
        // Notified under the lock: the waiter, once it sees zero, may destroy the latch.
        std::lock_guard<std::mutex> lock(m_);
        count_ -= n;
        if (count_ <= 0) cv_.notify_all();
    }
    void wait() {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [this] { return count_ <= 0; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int count_;
};

// Calls body(worker, begin, end) on chunks of [0, count) of at most `chunk` items, handed out
// dynamically (per-scenario cost differs, e.g. non-converging scenarios), `worker` in
// [0, threads) so each thread can keep its own workspace; worker 0 is the caller. Every worker
// runs on its own thread from the start, where the system starts one: where it refuses (EAGAIN at
// a process or memory limit), the workers already running do every chunk, so a body must never
// wait for another chunk. One thread takes the same chunks in order: a body may size its work by
// the chunk (the DC engine solves a chunk's scenarios interleaved). The first exception is
// rethrown after all threads finish.
template <typename Body>
void parallel_for(Index count, int threads, Index chunk, Body&& body) {
    chunk = std::max<Index>(chunk, 1);
    threads = thread_count(threads, (count + chunk - 1) / chunk);
    if (threads <= 1) {
        for (Index begin = 0; begin < count; begin += chunk)
            body(0, begin, std::min(count, begin + chunk));
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
    Latch helpers(threads - 1);
    int started = 1;
    try {
        for (; started < threads; ++started)
            run_on_pool_thread([&work, &helpers, worker = started] {
                work(worker);
                helpers.count_down();
            });
    } catch (...) {  // no thread (or no memory) for worker `started` and after
        helpers.count_down(threads - started);
    }
    work(0);
    helpers.wait();
    if (error) std::rethrow_exception(error);
}

}  // namespace gridbatch::detail::cpu
