#include "dc_engine_cuda.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/invalid_input.hpp"
#include "engine/device.hpp"
#include "gridbatch/error.hpp"
#include "kernels/transpose.cuh"

namespace gridbatch::detail::cuda {

namespace {

int select_device(int device) {
    GRIDBATCH_CUDA_CHECK(cudaSetDevice(device));
    return device;
}

// CSR of "owner -> members" from each member's owner (-1: none), members ascending.
void group(const std::vector<int>& owner, int n_owner, std::vector<int>& ptr,
           std::vector<int>& members) {
    ptr.assign(static_cast<std::size_t>(n_owner) + 1, 0);
    for (const int o : owner)
        if (o >= 0) ++ptr[o + 1];
    for (int i = 0; i < n_owner; ++i) ptr[i + 1] += ptr[i];
    members.assign(static_cast<std::size_t>(ptr[n_owner]), 0);
    std::vector<int> next(ptr.begin(), ptr.end() - 1);
    for (int m = 0; m < static_cast<int>(owner.size()); ++m)
        if (owner[m] >= 0) members[next[owner[m]]++] = m;
}

template <class T>
void upload_columns(DeviceBuffer<T>& dst, const T* src, Index ld, Index rows, Index first,
                    Index count, cudaStream_t stream) {
    dst.resize(static_cast<std::size_t>(rows * count));
    if (rows == 0 || count == 0) return;
    GRIDBATCH_CUDA_CHECK(cudaMemcpy2DAsync(dst.data(), rows * sizeof(T), src + first * ld,
                                           ld * sizeof(T), rows * sizeof(T), count,
                                           cudaMemcpyHostToDevice, stream));
}

template <class T>
void download_columns(const DeviceBuffer<T>& src, T* dst, Index ld, Index rows, Index first,
                      Index count, cudaStream_t stream) {
    if (rows == 0 || count == 0 || dst == nullptr) return;
    GRIDBATCH_CUDA_CHECK(cudaMemcpy2DAsync(dst + first * ld, ld * sizeof(T), src.data(),
                                           rows * sizeof(T), rows * sizeof(T), count,
                                           cudaMemcpyDeviceToHost, stream));
}

struct SolverParams {
    cusolverDnParams_t params = nullptr;
    SolverParams() { GRIDBATCH_CUDA_LIB_CHECK(cusolverDnCreateParams(&params)); }
    ~SolverParams() { (void)cusolverDnDestroyParams(params); }
    SolverParams(const SolverParams&) = delete;
    SolverParams& operator=(const SolverParams&) = delete;
};

dc::CsrView view(const DeviceBuffer<int>& row_ptr, const DeviceBuffer<int>& col,
                 const DeviceBuffer<double>& val, int rows) {
    return {rows, row_ptr.data(), col.data(), val.data()};
}

}  // namespace

CudaDcEngine::CudaDcEngine(std::shared_ptr<const DcModel> model, int device)
    : model_(std::move(model)),
      device_(select_device(device)),
      n_bus_(static_cast<int>(model_->n_bus)),
      n_free_(static_cast<int>(model_->n_free())),
      n_branch_(static_cast<int>(model_->n_branch)),
      n_gen_(static_cast<int>(model_->n_gen)),
      n_island_(static_cast<int>(model_->n_island)) {
    const DcModel& m = *model_;
    const cudaStream_t stream = handles_.stream();
    b_row_ptr_.upload(m.b_reduced.row_ptr, stream);
    b_col_.upload(m.b_reduced.col_index, stream);
    b_val_.upload(m.b_reduced.values, stream);
    bf_row_ptr_.upload(m.bf_reduced.row_ptr, stream);
    bf_col_.upload(m.bf_reduced.col_index, stream);
    bf_val_.upload(m.bf_reduced.values, stream);
    free_bus_.upload(m.free_bus, stream);
    reduced_index_.upload(m.reduced_index, stream);
    island_.upload(m.island, stream);
    const auto upload_vector = [&](DeviceBuffer<double>& dst, const Vector& v) {
        dst.resize(static_cast<std::size_t>(v.size()));
        dst.upload(v.data(), static_cast<std::size_t>(v.size()), stream);
    };
    upload_vector(rhs_offset_, m.rhs_offset);
    upload_vector(va_fixed_, m.va_fixed);
    upload_vector(flow_offset_, m.flow_offset);
    upload_vector(p_fixed_, m.p_fixed);
    upload_vector(pg_case_, m.pg_case);
    if (m.distributed) upload_vector(participation_, m.participation);
    // Host sources of the asynchronous uploads stay as they are until the stream has them.
    std::vector<int> gen_ptr, gen_members, island_ptr, island_members;
    group(m.gen_bus, n_bus_, gen_ptr, gen_members);
    gen_ptr_.upload(gen_ptr, stream);
    gen_index_.upload(gen_members, stream);
    group(m.island, n_island_, island_ptr, island_members);
    island_ptr_.upload(island_ptr, stream);
    island_bus_.upload(island_members, stream);
    handles_.synchronize();  // before the host vectors go

    // Checked on every network, also where there is nothing to solve.
    const char* forced = std::getenv("GRIDBATCH_DC_SOLVE");
    const std::string mode = forced && *forced ? forced : "auto";
    if (mode != "auto" && mode != "dense" && mode != "sparse")
        throw Error(ErrorKind::invalid_input,
                    "GRIDBATCH_DC_SOLVE must be auto, dense or sparse (got '" + mode + "')");
    if (n_free_ == 0) return;
    // The dense inverse and the LU it is computed from live at once.
    const double dense_bytes =
        2.0 * sizeof(double) * static_cast<double>(n_free_) * static_cast<double>(n_free_);
    const double have = static_cast<double>(device_free_bytes());
    sparse_ = mode == "sparse" || (mode == "auto" && dense_bytes > 0.9 * have);
    if (sparse_) {
        factor_sparse();
        return;
    }
    if (dense_bytes > 0.9 * have)
        throw Error(ErrorKind::invalid_input,
                    "GRIDBATCH_DC_SOLVE=dense: inverting B_red (" + std::to_string(n_free_) +
                        " x " + std::to_string(n_free_) + ") needs " +
                        detail::num(dense_bytes / 1e9) + " GB of device memory, and " +
                        detail::num(have / 1e9) +
                        " GB are free; leave the choice to the engine "
                        "(auto: the sparse solve) or use the cpu backend");
    invert_dense();
}

ScheduledLu factor_on_schedule(const DcCsr& b) {
    ScheduledLu f{LuSchedule(b.rows, b.row_ptr, b.col_index), {}};
    f.values.assign(static_cast<std::size_t>(f.schedule.nnz()), 0.0);
    for (int i = 0; i < b.rows; ++i)
        for (int p = b.row_ptr[i]; p < b.row_ptr[i + 1]; ++p)
            f.values[static_cast<std::size_t>(f.schedule.position(i, b.col_index[p]))] +=
                b.values[p];
    if (!lu_factor_strided(f.schedule.host_view(), f.values.data(), 1))
        throw Error(ErrorKind::invalid_input, kDcZeroPivot);
    return f;
}

void CudaDcEngine::factor_sparse() {
    const ScheduledLu f = factor_on_schedule(model_->b_reduced);
    const cudaStream_t stream = handles_.stream();
    lu_row_ptr_.upload(f.schedule.row_ptr(), stream);
    lu_col_.upload(f.schedule.col(), stream);
    lu_diag_.upload(f.schedule.diag(), stream);
    row_of_.upload(f.schedule.inverse_perm(), stream);
    lu_values_.upload(f.values, stream);
    handles_.synchronize();  // before the host vectors go
}

void CudaDcEngine::invert_dense() {
    const cudaStream_t stream = handles_.stream();
    // Dense LU of B_red, then B_red⁻¹ = getrs(LU, I). The LU work space is freed on return.
    const std::size_t n = static_cast<std::size_t>(n_free_);
    DeviceBuffer<double> lu(n * n);
    lu.fill_zero(stream);
    dc::scatter_csr(view(b_row_ptr_, b_col_, b_val_, n_free_), lu.data(), n_free_, stream);
    b_inverse_.resize(n * n);
    b_inverse_.fill_zero(stream);
    dc::set_unit_diagonal(n_free_, b_inverse_.data(), n_free_, stream);

    SolverParams params;
    std::size_t device_bytes = 0, host_bytes = 0;
    GRIDBATCH_CUDA_LIB_CHECK(cusolverDnXgetrf_bufferSize(
        handles_.cusolver(), params.params, n_free_, n_free_, CUDA_R_64F, lu.data(), n_free_,
        CUDA_R_64F, &device_bytes, &host_bytes));
    DeviceBuffer<unsigned char> work(std::max<std::size_t>(device_bytes, 1));
    std::vector<unsigned char> host_work(std::max<std::size_t>(host_bytes, 1));
    DeviceBuffer<std::int64_t> pivots(n);
    DeviceBuffer<int> info(1);
    GRIDBATCH_CUDA_LIB_CHECK(cusolverDnXgetrf(handles_.cusolver(), params.params, n_free_, n_free_,
                                              CUDA_R_64F, lu.data(), n_free_, pivots.data(),
                                              CUDA_R_64F, work.data(), device_bytes,
                                              host_work.data(), host_bytes, info.data()));
    int status = 0;
    info.download(&status, 1, stream);
    // A positive status is the pivot's position after row exchanges, not a bus to name.
    if (status > 0) throw Error(ErrorKind::invalid_input, kDcZeroPivot);
    if (status < 0)
        throw Error(ErrorKind::device,
                    "cusolverDnXgetrf reported invalid argument " + std::to_string(-status));
    GRIDBATCH_CUDA_LIB_CHECK(cusolverDnXgetrs(
        handles_.cusolver(), params.params, CUBLAS_OP_N, n_free_, n_free_, CUDA_R_64F, lu.data(),
        n_free_, pivots.data(), CUDA_R_64F, b_inverse_.data(), n_free_, info.data()));
    info.download(&status, 1, stream);
    if (status != 0)
        throw Error(ErrorKind::device,
                    "cusolverDnXgetrs reported invalid argument " + std::to_string(-status));
}

void CudaDcEngine::activate() const { GRIDBATCH_CUDA_CHECK(cudaSetDevice(device_)); }

std::size_t CudaDcEngine::bytes_per_scenario() const noexcept {
    // pd, p, va (n_bus); rhs, x, r and for the sparse solve xt (n_free); pf (n_branch); pg;
    // island sums; mismatch.
    return sizeof(double) * (3 * static_cast<std::size_t>(n_bus_) +
                             (sparse_ ? 4 : 3) * static_cast<std::size_t>(n_free_) + n_branch_ +
                             n_gen_ + n_island_ + 1);
}

Index CudaDcEngine::max_chunk() const {
    activate();
    const std::size_t held = pd_.bytes() + pg_.bytes() + p_.bytes() + m_.bytes() + rhs_.bytes() +
                             x_.bytes() + r_.bytes() + va_.bytes() + pf_.bytes() +
                             mismatch_.bytes() + xt_.bytes();
    const std::size_t usable = device_chunk_budget(held) / 10 * 7;
    // The kernels count scenarios in int.
    return std::clamp<Index>(static_cast<Index>(usable / bytes_per_scenario()), 1,
                             std::numeric_limits<int>::max());
}

void CudaDcEngine::gemm_inverse(const double* rhs, double* x, Index count, double beta) {
    if (n_free_ == 0 || count == 0) return;
    const double one = 1.0;
    GRIDBATCH_CUDA_LIB_CHECK(cublasDgemm(handles_.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n_free_,
                                         static_cast<int>(count), n_free_, &one, b_inverse_.data(),
                                         n_free_, rhs, n_free_, &beta, x, n_free_));
}

void CudaDcEngine::solve_sparse(const double* b, double* x, Index count, double beta) {
    if (n_free_ == 0 || count == 0) return;
    const cudaStream_t stream = handles_.stream();
    xt_.resize(static_cast<std::size_t>(count) * n_free_);
    LuScheduleView factor;
    factor.n = n_free_;
    factor.row_ptr = lu_row_ptr_.data();
    factor.col = lu_col_.data();
    factor.diag = lu_diag_.data();
    // Into scenario-fastest rows in the factor's order (unknown i to row row_of[i]) and back.
    transpose(b, n_free_, count, nullptr, row_of_.data(), 0.0, xt_.data(), stream);
    dc::lu_solve_shared(factor, lu_values_.data(), count, xt_.data(), stream);
    transpose(xt_.data(), count, n_free_, row_of_.data(), nullptr, beta, x, stream);
}

void CudaDcEngine::solve_refined(const double* rhs, double* x, double* r, Index count) {
    if (sparse_)
        solve_sparse(rhs, x, count, 0.0);
    else
        gemm_inverse(rhs, x, count, 0.0);
    dc::residual(view(b_row_ptr_, b_col_, b_val_, n_free_), static_cast<int>(count), x, rhs, r,
                 handles_.stream());
    if (sparse_)
        solve_sparse(r, x, count, 1.0);
    else
        gemm_inverse(r, x, count, 1.0);
}

void CudaDcEngine::upload(const DcBatchIn& in, Index first, Index count) {
    activate();
    const cudaStream_t stream = handles_.stream();
    upload_columns(pd_, in.pd, in.ld_pd, n_bus_, first, count, stream);
    have_pg_ = in.pg != nullptr;
    if (have_pg_) upload_columns(pg_, in.pg, in.ld_pg, n_gen_, first, count, stream);
}

void CudaDcEngine::compute(Index count, bool want_mismatch) {
    activate();
    const cudaStream_t stream = handles_.stream();
    const int c = static_cast<int>(count);
    const std::size_t sc = static_cast<std::size_t>(count);
    p_.resize(sc * n_bus_);
    dc::bus_injections(n_bus_, c, p_fixed_.data(), pd_.data(), n_bus_, gen_ptr_.data(),
                       gen_index_.data(), have_pg_ ? pg_.data() : pg_case_.data(),
                       have_pg_ ? n_gen_ : 0, 1.0 / model_->base_mva, p_.data(), stream);
    m_.resize(sc * n_island_);
    dc::island_sums(n_island_, c, island_ptr_.data(), island_bus_.data(), p_.data(), n_bus_,
                    m_.data(), stream);
    rhs_.resize(sc * n_free_);
    dc::reduced_rhs(n_free_, c, free_bus_.data(), island_.data(),
                    model_->distributed ? participation_.data() : nullptr, rhs_offset_.data(),
                    p_.data(), n_bus_, m_.data(), n_island_, rhs_.data(), stream);
    x_.resize(sc * n_free_);
    r_.resize(sc * n_free_);
    solve_refined(rhs_.data(), x_.data(), r_.data(), count);
    va_.resize(sc * n_bus_);
    dc::angles_deg(n_bus_, c, reduced_index_.data(), va_fixed_.data(), x_.data(), n_free_,
                   va_.data(), stream);
    pf_.resize(sc * n_branch_);
    dc::csr_times_dense(view(bf_row_ptr_, bf_col_, bf_val_, n_branch_), c, x_.data(), n_free_,
                        flow_offset_.data(), model_->base_mva, pf_.data(), n_branch_, stream);
    if (want_mismatch) {
        mismatch_.resize(sc);
        dc::residual_max(view(b_row_ptr_, b_col_, b_val_, n_free_), c, x_.data(), rhs_.data(),
                         mismatch_.data(), stream);
    }
}

void CudaDcEngine::download(const DcBatchOut& out, Index first, Index count) {
    activate();
    const cudaStream_t stream = handles_.stream();
    download_columns(va_, out.va, out.ld_va, n_bus_, first, count, stream);
    download_columns(pf_, out.pf, out.ld_pf, n_branch_, first, count, stream);
    if (out.mismatch != nullptr) mismatch_.download(out.mismatch + first, count, stream);
    if (out.island_slack != nullptr && n_island_ > 0) {
        std::vector<double> m(static_cast<std::size_t>(n_island_) * count);
        m_.download(m.data(), m.size(), stream);
        for (Index s = 0; s < count; ++s)
            for (int i = 0; i < n_island_; ++i)
                out.island_slack[i + (first + s) * out.ld_island_slack] =
                    -m[i + s * n_island_] * model_->base_mva;
    }
    GRIDBATCH_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void CudaDcEngine::solve(const DcBatchIn& in, const DcBatchOut& out) {
    const Index chunk = max_chunk();
    for (Index first = 0; first < in.count; first += chunk) {
        const Index count = std::min(chunk, in.count - first);
        upload(in, first, count);
        compute(count, out.mismatch != nullptr);
        download(out, first, count);
    }
}

void CudaDcEngine::solve_reduced(Real* x, Index ld, Index count) {
    if (n_free_ == 0) return;
    activate();
    const cudaStream_t stream = handles_.stream();
    const Index chunk = max_chunk();
    for (Index first = 0; first < count; first += chunk) {
        const Index c = std::min(chunk, count - first);
        upload_columns(rhs_, x, ld, n_free_, first, c, stream);
        x_.resize(static_cast<std::size_t>(c) * n_free_);
        r_.resize(static_cast<std::size_t>(c) * n_free_);
        solve_refined(rhs_.data(), x_.data(), r_.data(), c);
        download_columns(x_, x, ld, n_free_, first, c, stream);
        GRIDBATCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
}

void CudaDcEngine::branch_sensitivity(const Real* r, Index ld_r, Index count, Real* y, Index ld_y) {
    activate();
    const cudaStream_t stream = handles_.stream();
    const Index chunk = max_chunk();
    for (Index first = 0; first < count; first += chunk) {
        const Index c = std::min(chunk, count - first);
        upload_columns(rhs_, r, ld_r, n_free_, first, c, stream);
        x_.resize(static_cast<std::size_t>(c) * n_free_);
        r_.resize(static_cast<std::size_t>(c) * n_free_);
        solve_refined(rhs_.data(), x_.data(), r_.data(), c);
        pf_.resize(static_cast<std::size_t>(c) * n_branch_);
        if (n_free_ == 0)
            pf_.fill_zero(stream);
        else
            dc::csr_times_dense(view(bf_row_ptr_, bf_col_, bf_val_, n_branch_), static_cast<int>(c),
                                x_.data(), n_free_, nullptr, 1.0, pf_.data(), n_branch_, stream);
        download_columns(pf_, y, ld_y, n_branch_, first, c, stream);
        GRIDBATCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
}

void CudaDcEngine::screen_outages(const OutageBlock& block, OutageScreenResult& result) {
    const Index S = block.n_scenarios, n_out = block.n_outage;
    if (S == 0 || n_out == 0) return;
    activate();
    const cudaStream_t stream = handles_.stream();
    DeviceBuffer<double> lodf, base_flow, worst, best;
    DeviceBuffer<int> outage(block.outage, static_cast<std::size_t>(n_out), stream);
    DeviceBuffer<double> inv_rating(block.inv_rating, static_cast<std::size_t>(n_branch_), stream);
    upload_columns(lodf, block.lodf, block.ld_lodf, n_branch_, 0, n_out, stream);
    DeviceBuffer<int> worst_branch, best_outage, best_branch;
    DeviceBuffer<unsigned long long> n_found(1);
    DeviceBuffer<dc::Violation> found(std::size_t{1} << 16);

    const std::size_t free_bytes = device_free_bytes();
    const std::size_t per_scenario =
        sizeof(double) * n_branch_ + (sizeof(double) + sizeof(int)) * (n_out + 1) + 2 * sizeof(int);
    const Index chunk = std::max<Index>(
        1, std::min<Index>(65535 * 8, static_cast<Index>(free_bytes / 2 / per_scenario)));

    for (Index first = 0; first < S; first += chunk) {
        const Index c = std::min(chunk, S - first);
        upload_columns(base_flow, block.base_flow, block.ld_base_flow, n_branch_, first, c, stream);
        worst.resize(static_cast<std::size_t>(n_out * c));
        worst_branch.resize(static_cast<std::size_t>(n_out * c));
        best.resize(static_cast<std::size_t>(c));
        best_outage.resize(static_cast<std::size_t>(c));
        best_branch.resize(static_cast<std::size_t>(c));
        dc::ScreenArgs args;
        args.n_branch = n_branch_;
        args.n_scenarios = static_cast<int>(c);
        args.n_outage = static_cast<int>(n_out);
        args.base_flow = base_flow.data();
        args.lodf = lodf.data();
        args.outage = outage.data();
        args.inv_rating = inv_rating.data();
        args.threshold = block.threshold;
        args.min_increase = block.min_increase;
        args.n_violations = n_found.data();
        args.worst = worst.data();
        args.worst_branch = worst_branch.data();
        unsigned long long count = 0;
        for (;;) {  // at most twice: a second pass when the violations overflowed the buffer
            args.violations = found.data();
            args.capacity = found.size();
            n_found.fill_zero(stream);
            dc::screen_outages(args, stream);
            n_found.download(&count, 1, stream);
            if (count <= found.size()) break;
            // A low threshold can find more violations than the device holds: a clear error
            // instead of a failed allocation (the CPU engine keeps them in host memory).
            const double need = static_cast<double>(count) * sizeof(dc::Violation);
            const double have = static_cast<double>(device_free_bytes() + found.bytes());
            if (need > 0.8 * have)
                throw Error(ErrorKind::invalid_input,
                            "N-1 screening on the GPU: scenarios " + std::to_string(first) + ".." +
                                std::to_string(first + c - 1) + " have " + std::to_string(count) +
                                " violations, " + detail::num(need / 1e9) +
                                " GB of device memory, of " + detail::num(have / 1e9) +
                                " GB free; raise the threshold or min_increase_percent, screen "
                                "fewer scenarios per call, or use the cpu backend");
            found.resize(static_cast<std::size_t>(count));
        }
        // Not value-initialised: a heavy screening brings back GBs, each byte written once.
        const std::unique_ptr<dc::Violation[]> host(new dc::Violation[count]);
        found.download(host.get(), count, stream);
        std::vector<OutageViolation>& piece = result.violations.emplace_back();
        piece.reserve(count);
        for (unsigned long long i = 0; i < count; ++i) {
            const dc::Violation& v = host[i];
            piece.push_back(
                {first + v.scenario, block.outage[v.outage_column], v.branch, v.loading});
        }

        dc::reduce_worst(args, best.data(), best_outage.data(), best_branch.data(), stream);
        const std::vector<double> b = best.download(stream);
        const std::vector<int> bo = best_outage.download(stream), bb = best_branch.download(stream);
        for (Index s = 0; s < c; ++s)
            if (b[s] > result.worst[first + s]) {  // strict, as the CPU engine: earlier blocks win
                result.worst[first + s] = b[s];
                result.worst_outage[first + s] = bo[s];
                result.worst_branch[first + s] = bb[s];
            }
    }
}

std::unique_ptr<DcEngine> make_dc_engine(std::shared_ptr<const DcModel> model, int device) {
    const BackendStatus status = device_status();
    if (!status.available)
        throw Error(ErrorKind::backend_unavailable,
                    "the cuda backend was requested, but " + status.reason);
    check_device_index(device);
    return std::make_unique<CudaDcEngine>(std::move(model), device);
}

}  // namespace gridbatch::detail::cuda
