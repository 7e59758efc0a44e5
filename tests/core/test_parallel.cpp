// parallel_for: every chunk once, every worker on a thread of its own from the start, nested
// calls, exceptions, a fork()ed child, and a system that starts no more threads (the dispatch
// engine's halves, which wait for each other, then run on the threads there are).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cpu/parallel.hpp"
#include "gridbatch/battery_dispatch.hpp"

namespace gridbatch {
namespace {

using detail::cpu::parallel_for;

// Every worker arrives, then waits (up to 20 s) until `threads` have: true if they all did.
bool all_run_at_once(int threads) {
    std::atomic<int> arrived{0};
    std::atomic<bool> together{true};
    parallel_for(threads, threads, 1, [&](int, Index, Index) {
        arrived.fetch_add(1);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (arrived.load() < threads)
            if (std::chrono::steady_clock::now() > until) {
                together = false;
                return;
            } else {
                std::this_thread::yield();
            }
    });
    return together.load();
}

TEST(ParallelFor, EveryChunkOnceOfAtMostChunkItemsAndWorkersInRange) {
    for (int threads : {1, 2, 3, 5})
        for (Index chunk : {1, 3, 7})
            for (Index count : {0, 1, 2, 10, 50}) {
                SCOPED_TRACE(std::to_string(threads) + " threads, chunk " + std::to_string(chunk) +
                             ", count " + std::to_string(count));
                std::vector<std::atomic<int>> seen(static_cast<std::size_t>(count));
                std::atomic<int> bad_worker{0};
                parallel_for(count, threads, chunk, [&](int worker, Index begin, Index end) {
                    // At most `chunk` items per call, also on one thread (bodies size their
                    // work by it).
                    if (worker < 0 || worker >= threads || begin >= end || end - begin > chunk)
                        ++bad_worker;
                    for (Index i = begin; i < end; ++i) ++seen[static_cast<std::size_t>(i)];
                });
                EXPECT_EQ(bad_worker.load(), 0);
                for (auto& s : seen) EXPECT_EQ(s.load(), 1);
            }
}

TEST(ParallelFor, WorkersRunAtOnceAlsoNestedAndRepeated) {
    for (int round = 0; round < 3; ++round) EXPECT_TRUE(all_run_at_once(4));
    // Inside each worker of an outer call, an inner call whose workers must run at once too: the
    // pool's threads are busy with the outer call, so the inner one gets new ones.
    std::atomic<int> inner_ok{0};
    parallel_for(3, 3, 1, [&](int, Index, Index) { inner_ok += all_run_at_once(3) ? 1 : 0; });
    EXPECT_EQ(inner_ok.load(), 3);
}

TEST(ParallelFor, TheFirstExceptionReachesTheCaller) {
    std::atomic<int> ran{0};
    EXPECT_THROW(parallel_for(100, 4, 1,
                              [&](int, Index begin, Index) {
                                  ++ran;
                                  if (begin == 5) throw std::runtime_error("scenario 5");
                              }),
                 std::runtime_error);
    EXPECT_GE(ran.load(), 6);
    EXPECT_TRUE(all_run_at_once(4));  // the pool still works
}

TEST(ParallelFor, WorksInAForkedChild) {
    EXPECT_TRUE(all_run_at_once(2));  // the parent's pool has threads now
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        alarm(30);  // a hang fails the test instead of blocking it
        _exit(all_run_at_once(3) ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
}

// As an unprivileged user at RLIMIT_NPROC 1 (the system answers EAGAIN to a new thread):
// parallel_for does every chunk on the caller's thread, and the dispatch engine, which planned
// each scenario's two halves on two threads, gives the one-thread answer. Runs in a fork()ed child:
// 0 passed, 1 a chunk not run once, 2 dispatch differs, 3 something threw, 77/78 no such limit.
int run_without_new_threads() {
    if (getuid() == 0 && setuid(65534) != 0) return 77;
    const rlimit one{1, 1};
    if (setrlimit(RLIMIT_NPROC, &one) != 0) return 77;
    try {
        std::thread([] {}).join();
        return 78;  // the limit does not hold here
    } catch (const std::system_error&) {
    }
    try {
        std::vector<int> seen(50, 0);
        parallel_for(50, 4, 1, [&](int, Index begin, Index end) {
            for (Index i = begin; i < end; ++i) ++seen[static_cast<std::size_t>(i)];
        });
        for (int v : seen)
            if (v != 1) return 1;
        const Index T = 3001;
        Matrix load(T, 3);
        for (Index s = 0; s < 3; ++s)
            for (Index t = 0; t < T; ++t)
                load(t, s) = 100 + 10 * s + ((t / (7 + s)) % 2 ? 30.0 : -30.0);
        const BatteryFleet fleet = BatteryFleet::from_units(battery_unit("megapack-2h"), 10);
        DispatchOptions one_thread;
        one_thread.backend = Backend::cpu;
        one_thread.dt_seconds = 60;
        one_thread.threads = 1;
        DispatchOptions four = one_thread;
        four.threads = 4;  // more threads than scenarios: the halves on threads of their own
        for (Index S : {1, 3}) {
            const MatrixView l = load.leftCols(S);
            const DispatchResult a = dispatch(l, {fleet}, {GridConnection{}}, one_thread);
            const DispatchResult b = dispatch(l, {fleet}, {GridConnection{}}, four);
            if (a.battery_mw != b.battery_mw || a.objective != b.objective) return 2;
        }
    } catch (...) {
        return 3;
    }
    return 0;
}

TEST(ParallelFor, NoThreadsToStartLeavesTheCallersThread) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        alarm(60);  // a hang (a half waiting for a task no thread takes) fails the test
        _exit(run_without_new_threads());
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status))
        << "the child did not exit (a hang ends at SIGALRM): status " << status;
    if (WEXITSTATUS(status) == 77 || WEXITSTATUS(status) == 78)
        GTEST_SKIP() << "cannot stop this process starting threads (setuid or RLIMIT_NPROC)";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "see run_without_new_threads";
}

}  // namespace
}  // namespace gridbatch
