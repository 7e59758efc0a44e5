// CPU dispatch engine: scenarios over threads, each scenario solved in place on its own columns
// (stride 1) with a per-thread workspace, so results do not depend on the thread count.
#include <memory>
#include <vector>

#include "cpu/parallel.hpp"
#include "engine/dispatch_engine.hpp"

namespace gridbatch::detail::cpu {
namespace {

class DispatchEngineCpu final : public DispatchEngine {
public:
    explicit DispatchEngineCpu(int threads) : threads_(threads) {}

    void solve(const MatrixView& load, const std::vector<dispatch::FleetParams>& fleets,
               double hours_per_step, int method, DispatchResult& out) override {
        const Index T = load.rows(), S = load.cols();
        const int n_threads = thread_count(threads_, S);
        // Workspace left uninitialised: the solvers write before they read, and the dynamic
        // program touches only the few blocks it uses (zero-filling ~6 T breakpoints cost ~5 % of a
        // day-long lossy solve).
        std::vector<std::unique_ptr<dispatch::Breakpoint[]>> work(n_threads);
        std::vector<std::vector<double>> prices(n_threads);
        parallel_for(S, n_threads, 1, [&](int worker, Index begin, Index end) {
            auto& w = work[worker];
            auto& p = prices[worker];
            w.reset(
                new dispatch::Breakpoint[static_cast<std::size_t>(dispatch::workspace_items(T))]);
            p.resize(static_cast<std::size_t>(2 * (T + 1)));
            for (Index s = begin; s < end; ++s) {
                dispatch::Outcome o;
                const int used = dispatch::solve_scenario(
                    load.col(s).data(), 1, T, hours_per_step, fleets[s], method,
                    out.battery_mw.col(s).data(), out.soc_mwh.col(s).data(),
                    out.grid_mw.col(s).data(), w.get(), p.data(), o);
                out.method[s] = static_cast<std::int8_t>(used);
                out.objective[s] = o.objective;
                out.report.status[s] = static_cast<std::int8_t>(o.status);
                out.infeasible_step[s] = o.step;
                out.violation[s] = o.violation;
                out.violation_kind[s] = static_cast<std::int8_t>(o.violation_kind);
                out.relaxed_steps[s] = o.relaxed_steps;
            }
        });
    }

    void training_load(const std::vector<dispatch::LoadParams>& params, std::uint64_t seed,
                       double dt_seconds, Matrix& out) override {
        const Index T = out.rows(), S = out.cols();
        parallel_for(S, threads_, 1, [&](int, Index begin, Index end) {
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
