// The CUDA AC engine: batched Newton-Raphson with every scenario's Jacobian on one shared
// pattern. Per iteration: one kernel assembles mismatch and Jacobian values of all active
// scenarios (values scenario-fastest), one kernel decides convergence, one compacts the active
// list (its length is the only value the host reads back), and one kernel factorises on the
// shared symbolic schedule (AMD ordering, static pivots; see core/lu_schedule.hpp), solves and
// updates the voltages, one thread per scenario, every elimination step coalesced across the warp.
//
// Fast-decoupled (XB and BX) runs on the same machinery: B' and B'' are factorised once per set of
// bus classes on the host (the same schedule code) and shared by every scenario, each thread
// solving its own right-hand side. A branch outage (AcEngineBatch::outage) is one more scenario on
// the same pattern: the kernels take its share of Ybus out of the four entries it touches, and
// the buses it cuts off become identity rows (ac::BranchCut, chunk_outages). The distributed
// slack adds one unknown (see NewtonLayout): with Newton and one reference bus, as AcOptions allows
// it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/lu_schedule.hpp"
#include "device_buffer.hpp"
#include "engine/ac_engine.hpp"
#include "kernels/ac_kernels.cuh"
#include "stream.hpp"

namespace gridbatch::detail::cuda {

// Host side of one set of bus classes: unknowns [Va(pv); Va(pq); Vm(pq)] and equations
// [P(pv); P(pq); Q(pq)] (MATPOWER's order), with a distributed slack also the total slack lambda
// as last unknown and the reference bus's P balance as last equation (as the CPU engine); the
// Jacobian pattern and its LU schedule, and where each Ybus entry's derivatives land.
struct NewtonLayout {
    NewtonLayout(const PreparedAcNetwork& net, const std::vector<std::int8_t>& bus_type);
    std::vector<int> pvpq, pq;
    int n_pvpq = 0, n = 0;
    int col_lambda = -1;
    // Per bus: its P / Q equation and its Va / Vm unknown (unpermuted), or -1.
    std::vector<int> eq_p, eq_q, col_a, col_m;
    std::vector<int> jac_row_ptr, jac_col;  // the Jacobian's pattern
    LuSchedule lu;
    std::vector<int> pos_pa, pos_pm, pos_qa, pos_qm;  // per Ybus entry, -1 where none
    std::vector<int> pos_lambda;                      // per bus: dP_i / d(lambda), or -1
    std::vector<int> p_row, q_row;                    // per bus, permuted equation or -1
    std::vector<int> unknown_bus, unknown_kind;       // per permuted unknown
};

// A real submatrix B(buses, buses) factorised on the host for the whole batch (fast-decoupled's B'
// and B''): its schedule, factor values (ok = false when a pivot was zero), the unknown's bus
// per permuted position and each bus's permuted position (-1 when not in `buses`).
struct FactoredMatrix {
    FactoredMatrix(const CsrMatrix& b, const std::vector<int>& buses, int n_bus);
    std::vector<int> row_of_bus;  // first: the schedule's construction fills it
    LuSchedule lu;
    std::vector<double> factor;
    bool ok = true;
    std::vector<int> unknown_bus;
};

// Host side of fast-decoupled for one set of bus classes: B'(pv+pq, pv+pq) and B''(pq, pq).
struct FdLayout {
    FdLayout(const PreparedAcNetwork& net, const std::vector<int>& pvpq,
             const std::vector<int>& pq);
    FactoredMatrix b_prime, b_double_prime;
};
// The pv+pq (MATPOWER's order) and pq buses of a vector of bus type codes.
void bus_classes(const std::vector<std::int8_t>& bus_type, std::vector<int>& pvpq,
                 std::vector<int>& pq);

// A chunk's branch outages (columns of `batch`) as the kernels take them: a cut per column
// (from = -1 where it has none), empty where no column has an outage; and the de-energised flags
// (n_bus x columns, scenario-fastest), empty where no outage cuts buses off.
struct ChunkOutages {
    std::vector<ac::BranchCut> cut;
    std::vector<unsigned char> dead;
};
ChunkOutages chunk_outages(const PreparedAcNetwork& net, const AcEngineBatch& batch,
                           const std::vector<Index>& columns);

class CudaAcEngine final : public AcEngine {
public:
    CudaAcEngine(std::shared_ptr<const PreparedAcNetwork> network, int device);
    ~CudaAcEngine() override;
    void solve(const AcEngineBatch& batch, AcEngineOutput& out) override;
    // The stream the engine's work runs on (for timing with events); null for the CPU fallback.
    cudaStream_t stream() const noexcept { return stream_ ? stream_->get() : nullptr; }
    // The LU of the prepared bus classes' Jacobian (size, fill, per-scenario work).
    const LuSchedule& default_schedule();

private:
    struct DeviceLayout;
    struct DeviceFdLayout;
    const DeviceLayout& layout_for(const std::vector<std::int8_t>& bus_type);
    const DeviceFdLayout& fd_layout_for(const std::vector<std::int8_t>& bus_type);
    void solve_group(const std::vector<std::int8_t>& bus_type, const AcEngineBatch& batch,
                     const std::vector<Index>& columns, AcEngineOutput& out);
    // One chunk: inputs to the device, `iterate` (Newton or fast-decoupled), outputs back.
    template <class Iterate>
    void solve_chunk(const AcEngineBatch& batch, const std::vector<Index>& columns,
                     AcEngineOutput& out, Iterate&& iterate);
    void iterate_newton(const DeviceLayout& layout, int count);
    void iterate_fd(const DeviceFdLayout& layout, int count);
    ac::BatchState batch_state(int count);
    bool distributed() const { return !net_->slack_participation.empty(); }

    std::shared_ptr<const PreparedAcNetwork> net_;
    int device_;
    std::optional<Stream> stream_;
    DeviceBuffer<int> y_row_ptr_, y_col_;
    DeviceBuffer<double> y_re_, y_im_, participation_;
    std::vector<std::int8_t> default_types_;
    std::map<std::vector<std::int8_t>, std::unique_ptr<DeviceLayout>> layouts_;
    std::map<std::vector<std::int8_t>, std::unique_ptr<DeviceFdLayout>> fd_layouts_;

    // AcPowerFlow::solve is const: callers on several threads take turns, as on the CPU engine,
    // since the layouts and the work space below are shared.
    std::mutex solve_mutex_;
    // Per-chunk work space, reused.
    DeviceBuffer<double> stage_, vm_, va_, p_spec_, q_spec_, lu_, x_, xq_, norm_, norm_q_,
        max_mismatch_, lambda_;
    DeviceBuffer<int> status_, iterations_, active_, next_active_, keep_, n_active_;
    DeviceBuffer<ac::BranchCut> cut_;
    DeviceBuffer<unsigned char> dead_;
};

}  // namespace gridbatch::detail::cuda
