#include "cpu/parallel.hpp"

#include <pthread.h>

#include <vector>

namespace gridbatch::detail::cpu {
namespace {

// A pool thread's mailbox: a task while it runs one, empty while it waits.
struct Worker {
    std::mutex m;
    std::condition_variable cv;
    std::function<void()> task;
};

// Pools and workers live as long as the process: worker threads are detached and may still be
// waiting when static destructors run.
class Pool {
public:
    void run(std::function<void()> task) {
        Worker* w = nullptr;
        {
            std::lock_guard<std::mutex> lock(m_);
            if (!idle_.empty()) {
                w = idle_.back();
                idle_.pop_back();
            }
        }
        if (!w) {
            w = new Worker;
            w->task = std::move(task);
            try {
                std::thread([this, w] { serve(w); }).detach();
            } catch (...) {
                delete w;
                throw;
            }
            return;
        }
        {
            std::lock_guard<std::mutex> lock(w->m);
            w->task = std::move(task);
        }
        w->cv.notify_one();
    }

private:
    void serve(Worker* w) {
        for (;;) {
            std::function<void()> task;
            {
                std::unique_lock<std::mutex> lock(w->m);
                w->cv.wait(lock, [w] { return static_cast<bool>(w->task); });
                task.swap(w->task);
            }
            task();
            task = nullptr;  // before this worker is offered again
            std::lock_guard<std::mutex> lock(m_);
            idle_.push_back(w);
        }
    }

    std::mutex m_;
    std::vector<Worker*> idle_;
};

std::atomic<Pool*> the_pool{nullptr};

Pool& pool() {
    static const bool registered = [] {
        // The child of a fork() has none of the parent's threads: it starts an empty pool (the
        // parent's is left as it is; its lock may even be held by a thread that is not there).
        pthread_atfork(nullptr, nullptr, [] { the_pool.store(new Pool); });
        the_pool.store(new Pool);
        return true;
    }();
    (void)registered;
    return *the_pool.load();
}

}  // namespace

void run_on_pool_thread(std::function<void()> task) { pool().run(std::move(task)); }

}  // namespace gridbatch::detail::cpu
