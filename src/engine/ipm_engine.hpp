// The interior point batched over the scenarios of one QP on a device: the seam of
// smooth_dispatch's CUDA engine. The CPU runs ipm_core.hpp's solve per scenario on its own threads
// (smooth_dispatch.cpp); the CUDA engine runs the same solve, one thread per scenario.
#pragma once

#include <memory>
#include <vector>

#include "core/ipm_qp.hpp"
#include "gridbatch/smooth_dispatch.hpp"

namespace gridbatch::detail {

class IpmEngine {
public:
    virtual ~IpmEngine() = default;
    // How many of `scenarios` scenarios of `qp` one solve() takes at most (device memory).
    virtual Index chunk_size(const BoundedQp& qp, Index scenarios) = 0;
    // q: n x C, l and u: the rows of A x C (one scenario per column, unscaled, as
    // BoundedQp::solve takes them); x: n x C answers, outcomes: C, as BoundedQp::solve's.
    virtual void solve(const BoundedQp& qp, const Matrix& q, const Matrix& l, const Matrix& u,
                       Matrix& x, std::vector<QpOutcome>& outcomes) = 0;
};

namespace cuda {
std::unique_ptr<IpmEngine> make_ipm_engine(int device);
}

// Throws Error for what smooth_dispatch() refuses (options, fleet and grid counts and values,
// series lengths, loads), naming the caller's scenarios: the sharded form runs it on the whole
// batch before its chunks.
void check_smooth_dispatch_inputs(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                                  const std::vector<GridConnection>& grids,
                                  const SmoothDispatchOptions& options);

// smooth_dispatch() once the backend is chosen: the interior point's first solve of every
// scenario on `device` (null: on the CPU threads, as everything else).
SmoothDispatchResult smooth_dispatch_on(const MatrixView& load,
                                        const std::vector<BatteryFleet>& fleets,
                                        const std::vector<GridConnection>& grids,
                                        const SmoothDispatchOptions& options, IpmEngine* device);

}  // namespace gridbatch::detail
