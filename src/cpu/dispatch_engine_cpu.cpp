// CPU dispatch engine: scenarios over threads, each scenario solved in place on its own columns
// (stride 1) with a per-thread workspace. With fewer scenarios than threads and a long horizon, the
// dynamic program's two halves (dp_half) of each scenario run on two threads; the arithmetic is
// that of solve_scenario either way, so results do not depend on the thread count.
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "core/dispatch/solve_scenario.hpp"
#include "core/memory.hpp"
#include "cpu/parallel.hpp"
#include "engine/dispatch_engine.hpp"

namespace gridbatch::detail::cpu {
namespace {

// Workspace left uninitialised: the solvers write before they read, and the dynamic program
// touches only the few blocks it uses (zero-filling ~6 T breakpoints cost ~5 % of a day-long lossy
// solve, and the prices' 2 T doubles about as much again).
struct Workspace {
    std::unique_ptr<dispatch::Breakpoint[]> work;
    std::unique_ptr<double[]> prices;
    void reserve(Index T) {
        if (work) return;
        work.reset(
            new dispatch::Breakpoint[static_cast<std::size_t>(dispatch::workspace_items(T))]);
        prices.reset(new double[static_cast<std::size_t>(dispatch::price_items(T))]);
    }
};

// The pages of scenarios [begin, end)'s result columns, mapped before they are written: 100 days
// lossless 449 -> 291 ms, lossy 808 -> 655 ms on the 2-core VM. Not where one scenario's halves
// run on two threads: each half mapping its own prices and results there gained nothing
// measurable on a lossy day at 1 s or at 0.1 s.
void populate_results(DispatchResult& out, Index begin, Index end) {
    for (Matrix* m : {&out.battery_mw, &out.soc_mwh, &out.grid_mw})
        populate(m->col(begin).data(),
                 sizeof(double) * static_cast<std::size_t>(m->rows() * (end - begin)));
}

class DispatchEngineCpu final : public DispatchEngine {
public:
    explicit DispatchEngineCpu(int threads) : threads_(threads) {}

    void solve(const MatrixView& load, const std::vector<dispatch::FleetParams>& fleets,
               double hours_per_step, int method, DispatchResult& out) override {
        const Index T = load.rows(), S = load.cols();
        // Halves on threads of their own only where cores outnumber scenarios and the horizon
        // is long enough to pay for starting a thread (~30 us against ~45 ns per step saved).
        constexpr Index kHalvesOnThreadsMinSteps = 1024;
        const bool spare = thread_count(threads_, 2 * S) > S && T >= kHalvesOnThreadsMinSteps;
        const int n_threads = thread_count(threads_, spare ? 2 * S : S);
        if (!spare) {
            std::vector<Workspace> ws(static_cast<std::size_t>(n_threads));
            for (Workspace& w : ws) w.reserve(T);
            parallel_for(S, n_threads, 1, [&](int worker, Index begin, Index end) {
                Workspace& w = ws[static_cast<std::size_t>(worker)];
                populate_results(out, begin, end);
                for (Index s = begin; s < end; ++s) {
                    dispatch::Outcome o;
                    const int used = dispatch::solve_scenario(
                        load.col(s).data(), 1, T, hours_per_step, fleets[s], method,
                        out.battery_mw.col(s).data(), out.soc_mwh.col(s).data(),
                        out.grid_mw.col(s).data(), w.work.get(), w.prices.get(), o);
                    store_outcome(out, s, used, o);
                }
            });
            return;
        }
        // A spare thread per scenario: its two halves as two tasks where the dynamic program
        // splits. The task that finishes its half second meets the halves; then each task
        // finishes its own half (the first waits for the meet, about as long as the halves'
        // times differ) and the last to finish joins them. Where the halves do not meet, the
        // task that found it runs the one pass alone; where the program does not split, the
        // first task runs all of solve_scenario. A task claims its half before it starts; the
        // first to finish waits only for a half that another thread has claimed, and runs an
        // unclaimed one itself (then the scenario is this thread's alone): parallel_for may have
        // fewer threads than planned, and nothing may wait for a task no thread has taken.
        std::vector<Workspace> ws(static_cast<std::size_t>(S));
        std::vector<dispatch::DpHalves> halves(static_cast<std::size_t>(S));
        std::unique_ptr<std::atomic<int>[]> claimed(new std::atomic<int>[2 * S]);
        std::unique_ptr<std::atomic<int>[]> done(new std::atomic<int>[S]);
        std::unique_ptr<std::atomic<int>[]> met(new std::atomic<int>[S]);  // 0 not yet, 1, 2 no
        for (Index s = 0; s < S; ++s) {
            ws[static_cast<std::size_t>(s)].reserve(T);
            claimed[2 * s].store(0);
            claimed[2 * s + 1].store(0);
            done[s].store(0);
            met[s].store(0);
        }
        parallel_for(2 * S, n_threads, 1, [&](int, Index begin, Index end) {
            for (Index i = begin; i < end; ++i) {
                if (claimed[i].exchange(1, std::memory_order_acq_rel)) continue;  // run below
                const Index s = i / 2;
                const int half = static_cast<int>(i % 2);
                Workspace& w = ws[static_cast<std::size_t>(s)];
                const double* l = load.col(s).data();
                double *battery = out.battery_mw.col(s).data(), *soc = out.soc_mwh.col(s).data(),
                       *grid = out.grid_mw.col(s).data();
                dispatch::Outcome o;
                if (!dispatch::runs_in_halves(T, fleets[s], method)) {
                    if (half == 0)
                        store_outcome(out, s,
                                      dispatch::solve_scenario(l, 1, T, hours_per_step, fleets[s],
                                                               method, battery, soc, grid,
                                                               w.work.get(), w.prices.get(), o),
                                      o);
                    continue;
                }
                auto& hv = halves[static_cast<std::size_t>(s)];
                dispatch::dp_half(l, 1, T, hours_per_step, fleets[s], half, w.work.get(),
                                  w.prices.get(), hv);
                const bool first = done[s].fetch_add(1, std::memory_order_acq_rel) == 0;
                const bool alone = first && !claimed[i ^ 1].exchange(1, std::memory_order_acq_rel);
                if (alone)
                    dispatch::dp_half(l, 1, T, hours_per_step, fleets[s], 1 - half, w.work.get(),
                                      w.prices.get(), hv);
                if (first && !alone) {
                    while (met[s].load(std::memory_order_acquire) == 0) std::this_thread::yield();
                    if (met[s].load(std::memory_order_relaxed) == 2) continue;
                } else if (dispatch::dp_meet_halves(hv)) {
                    met[s].store(1, std::memory_order_release);
                } else {
                    met[s].store(2, std::memory_order_release);
                    dispatch::dp_one_pass(l, 1, T, hours_per_step, fleets[s], battery, soc, grid,
                                          w.work.get(), w.prices.get(), o);
                    store_outcome(out, s, 2, o);
                    continue;
                }
                dispatch::dp_finish_half(l, 1, T, hours_per_step, fleets[s], hv, half,
                                         w.prices.get(), battery, soc, grid);
                if (alone) {
                    dispatch::dp_finish_half(l, 1, T, hours_per_step, fleets[s], hv, 1 - half,
                                             w.prices.get(), battery, soc, grid);
                    store_outcome(out, s, 2, dispatch::dp_joined(hv));
                } else if (done[s].fetch_add(1, std::memory_order_acq_rel) == 3) {
                    store_outcome(out, s, 2, dispatch::dp_joined(hv));
                }
            }
        });
    }

    void training_load(const std::vector<dispatch::LoadParams>& params, std::uint64_t seed,
                       double dt_seconds, Matrix& out) override {
        const Index T = out.rows(), S = out.cols();
        parallel_for(S, threads_, 1, [&](int, Index begin, Index end) {
            populate(out.col(begin).data(),
                     sizeof(double) * static_cast<std::size_t>(T * (end - begin)));
            for (Index s = begin; s < end; ++s)
                dispatch::training_load(params[s], seed, s, T, dt_seconds, out.col(s).data(), 1);
        });
    }

private:
    int threads_;
};

}  // namespace

std::unique_ptr<DispatchEngine> make_dispatch_engine(int threads) {
    return std::make_unique<DispatchEngineCpu>(threads);
}

}  // namespace gridbatch::detail::cpu
