// Batched DC power flow with MATPOWER's rundcpf conventions: B and Bf from makeBdc, bus
// injections P = (Cg Pg - Pd) / baseMVA - Pbusinj - Gs / baseMVA, reference-bus angles from the
// case, Pf = Bf Va + Pfinj, Pt = -Pf, and the first active generator at each reference bus takes
// the balance. The reduced B is factorised once when a DcPowerFlow is built; every solve() then
// reuses it for any number of scenarios (one scenario per column).
#pragma once

#include <memory>

#include "gridbatch/backend.hpp"
#include "gridbatch/network.hpp"
#include "gridbatch/result.hpp"
#include "gridbatch/slack.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch {

namespace detail {
struct DcModel;
class DcEngine;
struct DcAccess;
struct DcSlackData;
}  // namespace detail

struct DcOptions {
    Backend backend = Backend::automatic;
    int threads = 0;  // CPU engine: 0 = every core
    int device = 0;   // CUDA engine
    SlackMode slack = SlackMode::single;
    // Distributed slack: one factor >= 0 per generator (inactive generators are ignored); empty =
    // the default, Pmax of each active generator (negative Pmax counts as 0), so large units take a
    // larger share (the usual governor-droop proxy). Each island's factors must not all be zero.
    Vector participation;

    // Throws Error naming the field (and generator) that is wrong for `net`.
    void validate(const Network& net) const;
};

struct DcPowerFlowResult {
    Matrix va;              // n_bus x S, degrees (isolated buses keep the case's angle)
    Matrix pf;              // n_branch x S, MW at the from end; Pt = -Pf, reactive flows are 0
    Matrix pg;              // n_gen x S, MW: schedule plus the slack share (0 for inactive units)
    Vector slack_mw;        // S: total balancing generation added to the schedule
    ScenarioReport report;  // DC has no iterations: converged, 1 iteration, and max_mismatch =
                            // max |B x - P| of the reduced system (p.u.), a solve-accuracy check
    Backend backend = Backend::cpu;  // the one that ran
    Index size() const { return va.cols(); }
};

// One object serves one thread at a time (an engine may keep device buffers between solves); use
// one DcPowerFlow per thread to solve from several threads.
class DcPowerFlow {
public:
    // Validates the network for DC (every island needs a reference bus: Error naming the buses of
    // one that has none) and factorises. Throws Error{backend_unavailable} for a backend that
    // cannot run.
    explicit DcPowerFlow(const Network& net, DcOptions options = {});
    ~DcPowerFlow();
    DcPowerFlow(DcPowerFlow&&) noexcept;
    DcPowerFlow& operator=(DcPowerFlow&&) noexcept;

    // Bus active loads `pd` (n_bus x S, MW), generator outputs the case's Pg. Throws Error for a
    // wrong shape or a non-finite entry, naming the scenario and bus.
    DcPowerFlowResult solve(const MatrixView& pd);
    // Also the generators' scheduled Pg per scenario (n_gen x S, MW).
    DcPowerFlowResult solve(const MatrixView& pd, const MatrixView& pg);
    // The case itself: one scenario with the case's Pd and Pg.
    DcPowerFlowResult solve();

    Backend backend() const noexcept;
    const Network& network() const noexcept;
    const DcOptions& options() const noexcept { return options_; }

private:
    friend struct detail::DcAccess;  // sensitivities reuse the model and the factorisation
    DcPowerFlowResult run(const MatrixView& pd, const MatrixView* pg);

    DcOptions options_;
    std::shared_ptr<const Network> network_;
    std::shared_ptr<const detail::DcModel> model_;
    std::shared_ptr<const detail::DcSlackData> slack_;
    std::unique_ptr<detail::DcEngine> engine_;
};

// One-shot form: builds a DcPowerFlow and solves one batch.
DcPowerFlowResult dc_power_flow(const Network& net, const MatrixView& pd,
                                const DcOptions& options = {});

}  // namespace gridbatch
