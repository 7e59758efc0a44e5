// The AC power-flow engine seam: declared once here, implemented in src/cpu/ (Eigen + KLU or
// SparseLU) and in cuda/ (or src/cuda_stub/, which throws). Everything an engine needs about the
// network is in PreparedAcNetwork as plain p.u. arrays (CSR with int32 indices, index lists), so a
// device engine can upload it without touching Eigen's solver types.
//
// Division of work: the core (src/core/ac_power_flow.cpp) validates input, builds each scenario's
// specified injections and start voltages, runs MATPOWER's Q-limit outer loop and computes
// generator outputs (pfsoln), branch flows and losses. An engine runs the inner iteration
// (newtonpf or fdpf) for a batch of scenarios and reports each scenario's outcome.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "gridbatch/network.hpp"
#include "gridbatch/result.hpp"
#include "gridbatch/types.hpp"

namespace gridbatch::detail {

// A sparse matrix in CSR form with int32 indices, complex values split into real and imaginary
// arrays (`im` is empty for real matrices). Column indices are sorted within each row and every
// diagonal entry of a square matrix is stored.
struct CsrMatrix {
    int rows = 0, cols = 0;
    std::vector<int> row_ptr;  // rows + 1
    std::vector<int> col;      // nnz
    std::vector<Real> re;      // nnz
    std::vector<Real> im;      // nnz, or empty
    int nnz() const { return static_cast<int>(col.size()); }
};

enum class AcMethod : std::uint8_t { newton, fast_decoupled };

// Bus classes as the engines store them: BusType's MATPOWER codes in 8 bits.
inline constexpr auto kPQ = static_cast<std::int8_t>(BusType::pq);
inline constexpr auto kPV = static_cast<std::int8_t>(BusType::pv);
inline constexpr auto kRef = static_cast<std::int8_t>(BusType::ref);

// Per-network data shared by every engine, built once by AcPowerFlow.
struct PreparedAcNetwork {
    int n_bus = 0, n_gen = 0, n_branch = 0;
    Real base_mva = 100;

    CsrMatrix ybus;  // n_bus x n_bus, p.u.
    CsrMatrix yf;    // n_branch x n_bus: I_f = Yf V (inactive branches: empty rows)
    CsrMatrix yt;    // n_branch x n_bus: I_t = Yt V
    std::vector<int> branch_from, branch_to;  // n_branch: internal bus indices

    // The case's bus classes as MATPOWER's bustypes(): ascending internal bus indices. A PV or REF
    // bus without an active generator is PQ; with no REF bus left, the first PV bus becomes REF.
    std::vector<int> ref, pv, pq;

    // Fast-decoupled matrices (makeB for the chosen variant), full n_bus x n_bus, real. Engines
    // take the submatrices B'(pv+pq, pv+pq) and B''(pq, pq) of the current bus classes.
    // Empty unless the algorithm is fast-decoupled.
    CsrMatrix b_prime, b_double_prime;

    // Distributed slack: participation factor of each bus (sums to 1), or empty for the single
    // reference-bus slack. With it the unknowns gain one scalar (the total slack, p.u.) and the
    // equations gain the active-power balance of the reference bus(es).
    std::vector<Real> slack_participation;

    AcMethod method = AcMethod::newton;
    Real tolerance = 1e-8;  // max |mismatch|, p.u.
    int max_iterations = 10;
    int threads = 0;  // CPU engine: 0 = all cores
};

// A branch's share of Ybus (MATPOWER's makeYbus): I_f = yff V_f + yft V_t, I_t = ytf V_f +
// ytt V_t, and the places of those four in ybus's values. A branch outage subtracts them.
struct BranchAdmittance {
    int from = -1, to = -1;
    Complex yff, yft, ytf, ytt;
    int at_ff = -1, at_ft = -1, at_tf = -1, at_tt = -1;  // indices into ybus.re and ybus.im
};
// Branch k's share, read off yf and yt (k must be in service).
BranchAdmittance branch_admittance(const PreparedAcNetwork& p, int k);

// One batch for an engine, scenarios in columns, host memory, all in p.u. and radians.
struct AcEngineBatch {
    // Specified bus injections S = (Cg Sg - Sd) / baseMVA, n_bus x S.
    Eigen::Ref<const Matrix> p_spec, q_spec;
    // Start voltages n_bus x S, generator setpoints already applied (MATPOWER's V0).
    Eigen::Ref<const Matrix> vm0, va0;
    // Bus classes per scenario (MATPOWER BusType codes, n_bus x S) when they differ from the
    // prepared network's (Q-limit enforcement turns PV buses into PQ, and may move the reference
    // bus); nullptr = the prepared classes for every scenario.
    const Eigen::Matrix<std::int8_t, Eigen::Dynamic, Eigen::Dynamic>* bus_type = nullptr;
    // Per scenario, the branch out of service (-1: none; AcBatch::outage); nullptr = none at all.
    // Engines solve with Ybus less that branch's share (branch_admittance).
    const int* outage = nullptr;
    // Per scenario, the buses its outage cuts off from every reference bus (null: none). They are
    // de-energised: their equations and unknowns drop out (identity rows, zero mismatch), their
    // voltages stay at the start. Engines that cannot do this take no such scenarios.
    const std::vector<int>* const* cut_off = nullptr;
};

// Engine results for the batch's scenarios, same column order. The caller sizes every member.
struct AcEngineOutput {
    Matrix vm, va;          // n_bus x S, p.u. and radians (MATPOWER's angle(V), in (-pi, pi])
    Vector slack;           // S: total distributed slack (p.u.); zero without distributed slack
    ScenarioReport report;  // status, iterations counted as MATPOWER counts, final max mismatch
};

class AcEngine {
public:
    virtual ~AcEngine() = default;
    // Runs newtonpf / fdpf on every scenario of `batch`. Non-convergence, divergence (non-finite
    // iterates) and singular Jacobians are per-scenario statuses; a scenario that stops is left
    // out of further iterations. Throws only for device failures.
    virtual void solve(const AcEngineBatch& batch, AcEngineOutput& out) = 0;
};

namespace cpu {
std::unique_ptr<AcEngine> make_ac_engine(std::shared_ptr<const PreparedAcNetwork> network);
}
namespace cuda {
// Throws Error{backend_unavailable} when the CUDA backend is not built (src/cuda_stub/) or
// `device` is not a device of this machine.
std::unique_ptr<AcEngine> make_ac_engine(std::shared_ptr<const PreparedAcNetwork> network,
                                         int device);
}  // namespace cuda

}  // namespace gridbatch::detail
