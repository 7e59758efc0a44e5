// When a Newton or fast-decoupled scenario has diverged: one threshold for the CPU engine and the
// CUDA kernels, so both stop the same scenario at the same iteration.
#pragma once

namespace gridbatch::detail {

// A mismatch this large (p.u.) never comes back: the scenario stops as diverged instead of
// running to the iteration limit (MATPOWER would iterate on; the outcome is the same failure).
inline constexpr double kDivergedMismatch = 1e10;

}  // namespace gridbatch::detail
