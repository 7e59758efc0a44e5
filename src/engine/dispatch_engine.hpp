// The battery-dispatch seam: declared once, implemented by the CPU engine (src/cpu/) and the CUDA
// engine (cuda/). Both run the algorithms of core/dispatch/, a scenario on one thread or
// its dynamic program's two halves on two; inputs arrive validated and converted to plain
// per-scenario parameters.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/dispatch/fleet_model.hpp"
#include "core/dispatch/training_load.hpp"
#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/load_profiles.hpp"

namespace gridbatch::detail {

// Scenario s's method and outcome into the result's per-scenario fields.
inline void store_outcome(DispatchResult& out, Index s, int method, const dispatch::Outcome& o) {
    out.method[s] = static_cast<std::int8_t>(method);
    out.objective[s] = o.objective;
    out.report.status[s] = static_cast<std::int8_t>(o.status);
    out.infeasible_step[s] = o.step;
    out.violation[s] = o.violation;
    out.violation_kind[s] = static_cast<std::int8_t>(o.violation_kind);
    out.relaxed_steps[s] = o.relaxed_steps;
}

// A result for T steps and S scenarios, sized as DispatchEngine::solve() expects it.
inline DispatchResult allocate(Index T, Index S, Backend backend) {
    DispatchResult r;
    r.battery_mw.resize(T, S);
    r.soc_mwh.resize(T + 1, S);
    r.grid_mw.resize(T, S);
    r.objective = Vector::Zero(S);
    r.report = ScenarioReport(S);
    r.infeasible_step = IndexVector::Constant(S, -1);
    r.violation = Vector::Zero(S);
    r.violation_kind.setZero(S);
    r.method.setZero(S);
    r.relaxed_steps = IndexVector::Zero(S);
    r.backend = backend;
    return r;
}

class DispatchEngine {
public:
    virtual ~DispatchEngine() = default;
    // Fills out.battery_mw, soc_mwh, grid_mw, objective, report, infeasible_step, violation,
    // violation_kind and method (already sized T x S etc.). `fleets` has one entry per scenario;
    // method: 0 automatic, 1 taut string, 2 dynamic program.
    virtual void solve(const MatrixView& load, const std::vector<dispatch::FleetParams>& fleets,
                       double hours_per_step, int method, DispatchResult& out) = 0;
    // out is steps x S, one entry of `params` per scenario.
    virtual void training_load(const std::vector<dispatch::LoadParams>& params, std::uint64_t seed,
                               double dt_seconds, Matrix& out) = 0;
};

namespace cpu {
std::unique_ptr<DispatchEngine> make_dispatch_engine(int threads);
}
namespace cuda {
std::unique_ptr<DispatchEngine> make_dispatch_engine(int device);
}

// Throws Error for what dispatch() refuses (options, fleet and grid counts and values, loads),
// naming the caller's scenarios: the sharded form runs it on the whole batch before its chunks.
void check_dispatch_inputs(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                           const std::vector<GridConnection>& grids,
                           const DispatchOptions& options);

// Validated inputs as the engines take them: one FleetParams per scenario (the target from
// options.target and the load), and a generator's plain parameters (validated by the caller).
std::vector<dispatch::FleetParams> prepare(const MatrixView& load,
                                           const std::vector<BatteryFleet>& fleets,
                                           const std::vector<GridConnection>& grids,
                                           const DispatchOptions& options);
dispatch::LoadParams load_params(const TrainingLoadParameters& parameters);

// The engine for a resolved backend (cpu or cuda).
std::unique_ptr<DispatchEngine> make_dispatch_engine(Backend backend, int threads, int device);

}  // namespace gridbatch::detail
