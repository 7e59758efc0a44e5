// parallel_for: every chunk once, every worker on a thread of its own from the start (the
// dispatch engine's halves wait for each other), nested calls, exceptions, and a fork()ed child.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cpu/parallel.hpp"

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

}  // namespace
}  // namespace gridbatch
