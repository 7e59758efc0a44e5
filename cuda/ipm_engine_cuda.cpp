// CUDA interior point (host side): the QP's shared Structure uploaded once per solve, scenarios
// transposed to scenario-fastest on upload, one kernel launch per chunk, x and the outcomes back.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "check.hpp"
#include "device_buffer.hpp"
#include "engine/device.hpp"
#include "engine/ipm_engine.hpp"
#include "kernels/ipm_kernels.cuh"
#include "stream.hpp"

namespace gridbatch::detail::cuda {
namespace {

// The Structure's arrays on the device, and the Structure that points at them.
class DeviceStructure {
public:
    DeviceStructure(const ipm::Structure& h, cudaStream_t stream) : st_(h) {
        const std::size_t n = static_cast<std::size_t>(h.n), m = static_cast<std::size_t>(h.m),
                          rows = static_cast<std::size_t>(h.rows), N = n + m;
        st_.eq_of_row = put(ints_, h.eq_of_row, rows, stream);
        st_.bound_var = put(ints_, h.bound_var, rows, stream);
        st_.bound_coef = put(reals_, h.bound_coef, rows, stream);
        st_.row_scale = put(reals_, h.row_scale, m, stream);
        st_.p_ptr = put(ints_, h.p_ptr, n + 1, stream);
        st_.p_row = put(ints_, h.p_row, nnz(h.p_ptr, n), stream);
        st_.p_val = put(reals_, h.p_val, nnz(h.p_ptr, n), stream);
        st_.e_ptr = put(ints_, h.e_ptr, n + 1, stream);
        st_.e_row = put(ints_, h.e_row, nnz(h.e_ptr, n), stream);
        st_.e_val = put(reals_, h.e_val, nnz(h.e_ptr, n), stream);
        st_.et_ptr = put(ints_, h.et_ptr, m + 1, stream);
        st_.et_row = put(ints_, h.et_row, nnz(h.et_ptr, m), stream);
        st_.et_val = put(reals_, h.et_val, nnz(h.et_ptr, m), stream);
        st_.k_ptr = put(ints_, h.k_ptr, N + 1, stream);
        st_.k_row = put(ints_, h.k_row, nnz(h.k_ptr, N), stream);
        st_.k_val = put(reals_, h.k_val, nnz(h.k_ptr, N), stream);
        st_.order = put(ints_, h.order, N, stream);
        st_.pos = put(ints_, h.pos, N, stream);
        st_.l_ptr = put(ints_, h.l_ptr, N + 1, stream);
        st_.l_row = put(ints_, h.l_row, nnz(h.l_ptr, N), stream);
        st_.s_ptr = put(ints_, h.s_ptr, N + 1, stream);
        st_.s_col = put(ints_, h.s_col, nnz(h.s_ptr, N), stream);
        st_.s_pos = put(ints_, h.s_pos, nnz(h.s_ptr, N), stream);
    }
    const ipm::Structure& device() const { return st_; }

private:
    static std::size_t nnz(const int* ptr, std::size_t columns) {
        return static_cast<std::size_t>(ptr[columns]);
    }
    template <class T>
    static const T* put(std::vector<DeviceBuffer<T>>& keep, const T* host, std::size_t count,
                        cudaStream_t stream) {
        keep.emplace_back(host, count, stream);
        return keep.back().data();
    }
    ipm::Structure st_;
    std::vector<DeviceBuffer<int>> ints_;
    std::vector<DeviceBuffer<double>> reals_;
};

class IpmEngineCuda final : public IpmEngine {
public:
    explicit IpmEngineCuda(int device) : stream_(device) {}
    IpmEngineCuda(const IpmEngineCuda&) = delete;
    IpmEngineCuda& operator=(const IpmEngineCuda&) = delete;

    // The Structure is small beside the scenarios' state.
    Index chunk_size(const BoundedQp& qp, Index scenarios) override {
        stream_.activate();
        const ipm::Structure& st = qp.structure();
        const std::size_t per_scenario =
            sizeof(double) * static_cast<std::size_t>(ipm::Workspace<long long>::doubles(
                                                          st, qp.settings().max_iterations) +
                                                      st.n + 2 * st.rows) +
            static_cast<std::size_t>(st.n) + sizeof(ipm::Outcome);
        return scenarios_per_chunk(scenarios, per_scenario);
    }

    void solve(const BoundedQp& qp, const Matrix& q, const Matrix& l, const Matrix& u, Matrix& x,
               std::vector<QpOutcome>& outcomes) override {
        stream_.activate();
        const ipm::Structure& st = qp.structure();
        const Index C = q.cols();
        const DeviceStructure d_st(st, stream_.get());
        // Transposed: C x n column-major is n x C scenario-fastest.
        const Matrix qt = q.transpose(), lt = l.transpose(), ut = u.transpose();
        DeviceBuffer<double> d_q(qt.data(), static_cast<std::size_t>(qt.size()), stream_.get());
        DeviceBuffer<double> d_l(lt.data(), static_cast<std::size_t>(lt.size()), stream_.get());
        DeviceBuffer<double> d_u(ut.data(), static_cast<std::size_t>(ut.size()), stream_.get());
        const long long doubles =
            ipm::Workspace<long long>::doubles(st, qp.settings().max_iterations);
        DeviceBuffer<double> d_work(static_cast<std::size_t>(doubles * C));
        DeviceBuffer<std::uint8_t> d_flags(static_cast<std::size_t>(st.n * C));
        DeviceBuffer<ipm::Outcome> d_out(static_cast<std::size_t>(C));
        launch_ipm(d_st.device(), qp.settings(), d_q.data(), d_l.data(), d_u.data(), C,
                   d_work.data(), d_flags.data(), d_out.data(), stream_.get());
        Matrix xt(C, st.n);  // x is the workspace's first vector
        d_work.download(xt.data(), static_cast<std::size_t>(xt.size()), stream_.get());
        x = xt.transpose();
        std::vector<ipm::Outcome> out(static_cast<std::size_t>(C));
        d_out.download(out.data(), out.size(), stream_.get());
        outcomes.clear();
        for (const ipm::Outcome& o : out) outcomes.push_back(to_qp_outcome(o));
    }

private:
    Stream stream_;
};

}  // namespace

std::unique_ptr<IpmEngine> make_ipm_engine(int device) {
    check_device_index(device);
    return std::make_unique<IpmEngineCuda>(device);
}

}  // namespace gridbatch::detail::cuda
