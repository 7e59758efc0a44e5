// The CUDA DC engine. Declared here (not only behind the factory) so the GPU benchmark can time
// the device part with the batch resident, apart from the transfers.
//
// Two ways to solve B_red x = rhs for a batch, both refined once with the exact sparse B_red
// (r = rhs - B x, x += solve(r)), so the error is like a backward-stable solve's.
//   dense (default where the inverse fits in 90 % of the free device memory): B_red is factorised
//   (cuSOLVER getrf) and inverted once; a batch is then a cuBLAS DGEMM (n_free x n_free times
//   n_free x S) per solve, near the FP64 tensor-core peak with no sequential dependency, at
//   2 n_free² flops per scenario and n_free² doubles of memory (0.68 GB for case9241pegase,
//   twice that while inverting).
//   sparse (where the inverse does not fit, or GRIDBATCH_DC_SOLVE=sparse): one LU of B_red on the
//   AC engine's shared schedule (AMD, static pivots: B_red is symmetric with a dominant
//   diagonal), factorised on the host; each scenario is one thread's forward and back
//   substitution, its values scenario-fastest so that a warp reads 32 scenarios' entries at once.
//   ~4 nnz(LU) flops per scenario and memory linear in the network: it serves any size.
// Which is faster at which size has not been measured yet (no GPU run): bench_dc_cuda times both
// (DcResident and DcResidentSparse). GRIDBATCH_DC_SOLVE=dense|sparse|auto forces a path.
#pragma once

#include <memory>
#include <vector>

#include "core/lu_schedule.hpp"
#include "device_buffer.hpp"
#include "engine/dc_engine.hpp"
#include "kernels/dc_kernels.cuh"
#include "library_handles.hpp"

namespace gridbatch::detail::cuda {

// B_red's LU on the shared schedule, factorised on the host: the sparse path's factor (values at
// the schedule's positions). Throws Error{invalid_input, kDcZeroPivot} at a zero pivot.
struct ScheduledLu {
    LuSchedule schedule;
    std::vector<double> values;
};
ScheduledLu factor_on_schedule(const DcCsr& b);

class CudaDcEngine final : public DcEngine {
public:
    CudaDcEngine(std::shared_ptr<const DcModel> model, int device);

    Backend backend() const noexcept override { return Backend::cuda; }
    void solve(const DcBatchIn& in, const DcBatchOut& out) override;
    void solve_reduced(Real* x, Index ld, Index count) override;
    void branch_sensitivity(const Real* r, Index ld_r, Index count, Real* y, Index ld_y) override;
    void screen_outages(const OutageBlock& block, OutageScreenResult& result) override;
    // Device memory per scenario of solve(): what max_chunk() sizes chunks by.
    std::size_t bytes_per_scenario() const noexcept;

    // The three stages of solve() for one chunk of at most max_chunk() scenarios, for timing:
    // upload the inputs, compute on the device (asynchronous on stream()), download the outputs.
    void upload(const DcBatchIn& in, Index first, Index count);
    void compute(Index count, bool want_mismatch);
    void download(const DcBatchOut& out, Index first, Index count);
    Index max_chunk() const;
    cudaStream_t stream() const noexcept { return handles_.stream(); }
    bool sparse() const noexcept { return sparse_; }

private:
    void activate() const;  // the engine's device for this thread
    void invert_dense();
    void factor_sparse();
    // x = beta x + B_red⁻¹ b through the sparse factor (b and x column-major, ld n_free).
    void solve_sparse(const double* b, double* x, Index count, double beta);
    // x = B_red⁻¹ rhs, refined once; r is work space of the same size.
    void solve_refined(const double* rhs, double* x, double* r, Index count);
    void gemm_inverse(const double* rhs, double* x, Index count, double beta);

    std::shared_ptr<const DcModel> model_;
    int device_;
    LibraryHandles handles_;
    int n_bus_, n_free_, n_branch_, n_gen_, n_island_;

    bool sparse_ = false;
    DeviceBuffer<double> b_inverse_;  // dense: n_free x n_free, column-major
    // sparse: the schedule's arrays, its factor values, and row_of[i]: where unknown i's row is
    // in the factor's order (the schedule's inverse permutation).
    DeviceBuffer<int> lu_row_ptr_, lu_col_, lu_diag_, row_of_;
    DeviceBuffer<double> lu_values_;
    DeviceBuffer<int> b_row_ptr_, b_col_, bf_row_ptr_, bf_col_;
    DeviceBuffer<double> b_val_, bf_val_;
    DeviceBuffer<int> free_bus_, reduced_index_, gen_ptr_, gen_index_, island_ptr_, island_bus_,
        island_;
    DeviceBuffer<double> rhs_offset_, va_fixed_, flow_offset_, p_fixed_, participation_, pg_case_;

    // Per-chunk work space, reused across chunks and calls.
    DeviceBuffer<double> pd_, pg_, p_, m_, rhs_, x_, r_, va_, pf_, mismatch_, xt_;
    bool have_pg_ = false;
};

}  // namespace gridbatch::detail::cuda
