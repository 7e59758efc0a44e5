// Per-scenario outcome of a batched solve. Non-convergence is a Status here, never an exception.
#pragma once

#include "gridbatch/types.hpp"

namespace gridbatch {

enum class Status : std::int8_t {
    converged = 0,       // or "optimal" for dispatch
    max_iterations = 1,  // iteration limit reached without meeting the tolerance
    diverged = 2,        // the iterate blew up (non-finite or growing mismatch)
    singular = 3,        // a linear system could not be factorised
    // dispatch: the limits cannot be met; AC: Q-limit enforcement finds no generator left to
    // hold a voltage, or must switch one of several reference buses (AcOptions::enforce_q_limits)
    infeasible = 4,
    not_solved = 5,
    islanded = 6,  // AC, distributed slack: the branch outage cuts buses off (AcBatch::outage)
    // smooth_dispatch: the QP's answer charged and discharged at once, and the physical dispatch
    // made of it breaks a limit (limit_violation): not an optimum of the model
    relaxation_gap = 7,
};
const char* to_string(Status status) noexcept;

struct ScenarioReport {  // one entry per scenario
    FlagVector status;
    Eigen::VectorXi iterations;
    Vector max_mismatch;  // p.u. for power flow; solver residual otherwise

    explicit ScenarioReport(Index n_scenarios = 0)
        : status(FlagVector::Constant(n_scenarios, static_cast<std::int8_t>(Status::not_solved))),
          iterations(Eigen::VectorXi::Zero(n_scenarios)),
          max_mismatch(Vector::Zero(n_scenarios)) {}
    Index size() const { return status.size(); }
    Status at(Index s) const { return static_cast<Status>(status[s]); }
    Index n_converged() const { return (status.array() == 0).count(); }
    bool all_converged() const { return n_converged() == size(); }
};

}  // namespace gridbatch
