// The DC seam: what a backend engine gets (DcModel, prepared once on the host by
// src/core/dc_power_flow.cpp from the Network) and what it must do (DcEngine), declared once and
// implemented in src/cpu/ and cuda/. Everything here is plain data: CSR arrays with 32-bit
// indices, p.u. vectors and column-major host arrays with a leading dimension, so a CUDA engine
// can upload it as is. Inputs are validated by the core before an engine sees them (shapes,
// finiteness, islands); engines check nothing twice.
//
// The reduced system. Every bus is one of
//   - free: its angle is an unknown; `reduced_index[bus]` is its position in the reduced system,
//   - fixed: a reference bus (angle fixed at the case's Va) or an isolated bus (type 4, not part
//     of the system; its angle is reported as the case's Va).
// With x = Va(free) (radians), MATPOWER's rundcpf is
//   P     = p_fixed + (Cg * Pg - Pd) / baseMVA                  (n_bus, p.u.)
//   B_red * x = P(free) + rhs_offset                            (rhs_offset = -B(free, ref) Va_ref)
//   Va    = x at free buses, va_fixed elsewhere
//   Pf    = (bf_reduced * x + flow_offset) * baseMVA            (MW; Pt = -Pf)
// B_red is symmetric and, because every island holds a reference bus (checked by the core),
// nonsingular; it is positive definite whenever all branch reactances are positive.
//
// Distributed slack (model.distributed): before the solve each island's total injection
// m_i = sum of P over the island's buses is spread back over it, P -= participation * m_island,
// so the reference buses take no balancing power. In both modes the engine reports
// island_slack(i, s) = -m_i * baseMVA, the generation the island needs on top of its schedule.
#pragma once

#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

#include "gridbatch/backend.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch::detail {

// Compressed sparse rows, 32-bit indices (cuSPARSE's CSR), host memory, column indices sorted
// within each row. (Named apart from ac_engine.hpp's complex CsrMatrix: one name per definition.)
struct DcCsr {
    int rows = 0, cols = 0;
    std::vector<int> row_ptr;  // rows + 1
    std::vector<int> col_index;
    std::vector<Real> values;
};

struct DcModel {
    Index n_bus = 0, n_branch = 0, n_gen = 0;
    Real base_mva = 100;

    std::vector<int> free_bus;       // n_free: bus of each reduced unknown, ascending
    std::vector<int> reduced_index;  // n_bus: position in free_bus, -1 for fixed buses
    DcCsr b_reduced;                 // n_free x n_free: B(free, free), both triangles stored
    DcCsr bf_reduced;                // n_branch x n_free: Bf(:, free); inactive branches: empty
    Vector rhs_offset;               // n_free
    Vector va_fixed;                 // n_bus: radians at fixed buses, 0 at free buses
    Vector flow_offset;              // n_branch, p.u.: Bf(:, fixed) Va_fixed + Pfinj
    Vector p_fixed;                  // n_bus, p.u.: -Pbusinj - Gs / baseMVA (0 at isolated)

    std::vector<int> gen_bus;  // n_gen: bus of each active generator, -1 when inactive
    Vector pg_case;            // n_gen, MW: scheduled Pg of active generators, 0 otherwise

    std::vector<int> island;  // n_bus: island of each bus, -1 for isolated buses
    Index n_island = 0;
    bool distributed = false;
    Vector participation;  // n_bus: share of its island's mismatch taken at each bus
                           // (sums to 1 over each island); zero when !distributed

    Index n_free() const { return static_cast<Index>(free_bus.size()); }
};

// One batch of scenarios in and out: column-major host arrays, scenario s is column s, `ld_*` is
// the distance between columns (>= rows). Input pointers are only read.
struct DcBatchIn {
    Index count = 0;  // scenarios
    const Real* pd = nullptr;
    Index ld_pd = 0;  // n_bus x count, MW
    const Real* pg = nullptr;
    Index ld_pg = 0;  // n_gen x count, MW; nullptr: model.pg_case for every scenario
};
struct DcBatchOut {
    Real* va = nullptr;
    Index ld_va = 0;  // n_bus x count, degrees
    Real* pf = nullptr;
    Index ld_pf = 0;  // n_branch x count, MW
    Real* island_slack = nullptr;
    Index ld_island_slack = 0;  // n_island x count, MW
    Real* mismatch = nullptr;   // count: max |B_red x - rhs| per scenario (p.u.), a check of the
                                // solve's accuracy; nullptr: not wanted
};

// Post-outage screening of one block of outages (N-1), for base flows F (n_branch x S, MW) and
// line-outage distribution factors L (n_branch x n_outage, column j for outage branch
// outage[j]; L(outage[j], j) = -1, so the outaged branch itself ends at zero flow):
//   post(l, s) = F(l, s) + L(l, j) * F(outage[j], s)
//   loading(l, s) = |post(l, s)| * inv_rating[l]        (a fraction; inv_rating = 0: unrated)
// Engines must not materialise S x n_outage x n_branch values.
struct OutageBlock {
    Index n_scenarios = 0;
    const Real* base_flow = nullptr;
    Index ld_base_flow = 0;
    Index n_outage = 0;
    const int* outage = nullptr;  // branch index of each column of lodf
    const Real* lodf = nullptr;
    Index ld_lodf = 0;
    const Real* inv_rating = nullptr;  // n_branch, 1 / rateA in 1/MW, 0 for unrated branches
    Real threshold = 1;                // report loading > threshold (fraction, 1 = 100 %)
    Real min_increase = -HUGE_VAL;     // ... and > base-case loading + min_increase
};
struct OutageViolation {
    Index scenario = 0, outage = 0, branch = 0;  // outage and branch: branch indices
    Real loading = 0;                            // fraction of rateA
};
// Accumulated over blocks: `worst*` keep, per scenario, the largest loading seen so far (ties go
// to the outage earlier in the plan, then the lower branch index); `violations` are appended in
// pieces, in any order (one list grown to millions of entries copied itself, and mapped fresh
// pages, at every doubling: half of an N-1 screening's time).
struct OutageScreenResult {
    std::vector<std::vector<OutageViolation>> violations;
    Vector worst;  // S, fraction; initialised by the caller (0 or the base case)
    IndexVector worst_outage, worst_branch;  // S; -1 where nothing was seen
};

// What both engines throw (Error{invalid_input}) when B_red has a zero pivot, which the core's
// checks cannot rule out: branches whose reactances cancel (a negative one, series compensation)
// leave a bus connected in the graph but not in B.
inline constexpr const char* kDcZeroPivot =
    "DC matrix B could not be factorised (a zero pivot: check for branches with zero or negative "
    "reactance)";

class DcEngine {
public:
    virtual ~DcEngine() = default;
    virtual Backend backend() const noexcept = 0;

    // The DC power flow of a batch (see the file comment).
    virtual void solve(const DcBatchIn& in, const DcBatchOut& out) = 0;

    // x := B_red^{-1} x for `count` right-hand sides (n_free x count, leading dimension ld).
    virtual void solve_reduced(Real* x, Index ld, Index count) = 0;

    // y := bf_reduced * B_red^{-1} * r: branch flow changes (p.u.) for reduced injections r
    // (n_free x count); y is n_branch x count. Columns of PTDF and LODF come from here.
    virtual void branch_sensitivity(const Real* r, Index ld_r, Index count, Real* y,
                                    Index ld_y) = 0;

    // Adds the block's violations and updates the per-scenario worst loadings.
    virtual void screen_outages(const OutageBlock& block, OutageScreenResult& result) = 0;
};

namespace cpu {
// Factorises B_red (sparse LDL^T) once; `threads` = 0 uses every core.
std::unique_ptr<DcEngine> make_dc_engine(std::shared_ptr<const DcModel> model, int threads);
}  // namespace cpu

namespace cuda {
// Uploads the model and factorises on the device. The stub (no CUDA built) throws
// Error{backend_unavailable}.
std::unique_ptr<DcEngine> make_dc_engine(std::shared_ptr<const DcModel> model, int device);
}  // namespace cuda

}  // namespace gridbatch::detail
