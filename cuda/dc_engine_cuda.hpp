// The CUDA DC engine. Declared here (not only behind the factory) so the GPU benchmark can time
// the device part with the batch resident, apart from the transfers.
//
// Why dense: B_red is factorised once (cuSOLVER getrf) and inverted on the device; every batch
// is then one cuBLAS DGEMM for the angles (n_free x n_free times n_free x S) and one sparse
// kernel for the flows (Bf has two entries per row). A DGEMM runs near the FP64 tensor-core peak
// with no sequential dependency, whereas sparse triangular solves with many right-hand sides
// proceed level by level and leave most of the GPU idle on meshed grids. The price is memory:
// n_free² doubles, 0.68 GB for case9241pegase (1.5 GB for case13659pegase, twice that while
// inverting), and 2 n_free² flops per scenario; batches are chunked to the free device memory,
// and a network whose inverse does not fit is refused with the sizes (the CPU engine solves it).
// Multiplying by a computed inverse loses accuracy with the condition number (large on real
// grids), so every solve takes one step of iterative refinement with the exact sparse B_red
// (r = b - B x, x += B⁻¹ r): a second DGEMM buys an error like a backward-stable solve's.
#pragma once

#include <memory>

#include "device_buffer.hpp"
#include "engine/dc_engine.hpp"
#include "kernels/dc_kernels.cuh"
#include "library_handles.hpp"

namespace gridbatch::detail::cuda {

class CudaDcEngine final : public DcEngine {
public:
    CudaDcEngine(std::shared_ptr<const DcModel> model, int device);

    Backend backend() const noexcept override { return Backend::cuda; }
    void solve(const DcBatchIn& in, const DcBatchOut& out) override;
    void solve_reduced(Real* x, Index ld, Index count) override;
    void branch_sensitivity(const Real* r, Index ld_r, Index count, Real* y, Index ld_y) override;
    void screen_outages(const OutageBlock& block, OutageScreenResult& result) override;
    std::size_t bytes_per_scenario() const noexcept override;

    // The three stages of solve() for one chunk of at most max_chunk() scenarios, for timing:
    // upload the inputs, compute on the device (asynchronous on stream()), download the outputs.
    void upload(const DcBatchIn& in, Index first, Index count);
    void compute(Index count, bool want_mismatch);
    void download(const DcBatchOut& out, Index first, Index count);
    Index max_chunk() const;
    cudaStream_t stream() const noexcept { return handles_.stream(); }

private:
    void activate() const;  // the engine's device for this thread
    // x = B_red⁻¹ rhs, refined once; r is work space of the same size.
    void solve_refined(const double* rhs, double* x, double* r, Index count);
    void gemm_inverse(const double* rhs, double* x, Index count, double beta);

    std::shared_ptr<const DcModel> model_;
    int device_;
    LibraryHandles handles_;
    int n_bus_, n_free_, n_branch_, n_gen_, n_island_;

    DeviceBuffer<double> b_inverse_;  // n_free x n_free, column-major
    DeviceBuffer<int> b_row_ptr_, b_col_, bf_row_ptr_, bf_col_;
    DeviceBuffer<double> b_val_, bf_val_;
    DeviceBuffer<int> free_bus_, reduced_index_, gen_ptr_, gen_index_, island_ptr_, island_bus_,
        island_;
    DeviceBuffer<double> rhs_offset_, va_fixed_, flow_offset_, p_fixed_, participation_, pg_case_;

    // Per-chunk work space, reused across chunks and calls.
    DeviceBuffer<double> pd_, pg_, p_, m_, rhs_, x_, r_, va_, pf_, mismatch_;
    bool have_pg_ = false;
};

}  // namespace gridbatch::detail::cuda
