#include "ac_engine_cuda.hpp"

#include <algorithm>
#include <string>

#include "engine/device.hpp"
#include "gridbatch/error.hpp"
#include "kernels/transpose.cuh"

namespace gridbatch::detail::cuda {

namespace {

struct Classes {
    std::vector<int> pv, pq;
};
Classes classes(const std::vector<std::int8_t>& bus_type) {
    Classes c;
    for (int i = 0; i < static_cast<int>(bus_type.size()); ++i) {
        if (bus_type[i] == kPV) c.pv.push_back(i);
        if (bus_type[i] == kPQ) c.pq.push_back(i);
    }
    return c;
}

// The Jacobian's CSR pattern (equation rows, unknown columns) from Ybus and the layout's maps.
void jacobian_pattern(const CsrMatrix& y, const NewtonLayout& l,
                      const std::vector<Real>& participation, std::vector<int>& row_ptr,
                      std::vector<int>& col) {
    std::vector<std::vector<int>> rows(static_cast<std::size_t>(l.n));
    for (int i = 0; i < y.rows; ++i) {
        for (const int r : {l.eq_p[i], l.eq_q[i]}) {
            if (r < 0) continue;
            for (int q = y.row_ptr[i]; q < y.row_ptr[i + 1]; ++q) {
                const int j = y.col[q];
                if (l.col_a[j] >= 0) rows[r].push_back(l.col_a[j]);
                if (l.col_m[j] >= 0) rows[r].push_back(l.col_m[j]);
            }
        }
        if (l.col_lambda >= 0 && l.eq_p[i] >= 0 && participation[i] != 0)
            rows[l.eq_p[i]].push_back(l.col_lambda);
    }
    row_ptr.assign(1, 0);
    col.clear();
    for (auto& r : rows) {
        std::sort(r.begin(), r.end());
        col.insert(col.end(), r.begin(), r.end());
        row_ptr.push_back(static_cast<int>(col.size()));
    }
}

std::vector<int> unknown_columns(const std::vector<int>& buses, int first, int n_bus) {
    std::vector<int> col(static_cast<std::size_t>(n_bus), -1);
    for (int k = 0; k < static_cast<int>(buses.size()); ++k) col[buses[k]] = first + k;
    return col;
}

// Columns [first, first + count) when `columns` is such a range, else -1.
Index contiguous_start(const std::vector<Index>& columns) {
    for (std::size_t k = 1; k < columns.size(); ++k)
        if (columns[k] != columns[0] + static_cast<Index>(k)) return -1;
    return columns.empty() ? -1 : columns[0];
}

}  // namespace

NewtonLayout::NewtonLayout(const PreparedAcNetwork& net, const std::vector<std::int8_t>& bus_type)
    : lu([&] {
          const Classes c = classes(bus_type);
          pvpq = c.pv;
          pvpq.insert(pvpq.end(), c.pq.begin(), c.pq.end());
          pq = c.pq;
          n_pvpq = static_cast<int>(pvpq.size());
          n = n_pvpq + static_cast<int>(pq.size());
          col_a = unknown_columns(pvpq, 0, net.n_bus);
          col_m = unknown_columns(pq, n_pvpq, net.n_bus);
          eq_p = col_a;
          eq_q = col_m;
          const bool distributed = !net.slack_participation.empty();
          if (distributed) {
              for (int i = 0; i < net.n_bus; ++i)
                  if (bus_type[i] == kRef) eq_p[i] = n;
              col_lambda = n++;
          }
          jacobian_pattern(net.ybus, *this, net.slack_participation, jac_row_ptr, jac_col);
          return LuSchedule(n, jac_row_ptr, jac_col, distributed);
      }()) {
    const CsrMatrix& y = net.ybus;
    const auto nnz = static_cast<std::size_t>(y.nnz());
    const auto at = [&](int r, int k) { return r >= 0 && k >= 0 ? lu.position(r, k) : -1; };
    pos_pa.assign(nnz, -1);
    pos_pm.assign(nnz, -1);
    pos_qa.assign(nnz, -1);
    pos_qm.assign(nnz, -1);
    for (int i = 0; i < y.rows; ++i)
        for (int q = y.row_ptr[i]; q < y.row_ptr[i + 1]; ++q) {
            const int j = y.col[q];
            pos_pa[q] = at(eq_p[i], col_a[j]);
            pos_pm[q] = at(eq_p[i], col_m[j]);
            pos_qa[q] = at(eq_q[i], col_a[j]);
            pos_qm[q] = at(eq_q[i], col_m[j]);
        }
    const auto nb = static_cast<std::size_t>(net.n_bus);
    pos_lambda.assign(nb, -1);
    p_row.assign(nb, -1);
    q_row.assign(nb, -1);
    for (int i = 0; i < net.n_bus; ++i) {
        if (col_lambda >= 0 && net.slack_participation[i] != 0)
            pos_lambda[i] = at(eq_p[i], col_lambda);
        if (eq_p[i] >= 0) p_row[i] = lu.inverse_perm()[eq_p[i]];
        if (eq_q[i] >= 0) q_row[i] = lu.inverse_perm()[eq_q[i]];
    }
    unknown_bus.resize(static_cast<std::size_t>(n));
    unknown_kind.resize(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) {
        const int u = lu.perm()[k];
        unknown_kind[k] = u == col_lambda ? 2 : u < n_pvpq ? 0 : 1;
        unknown_bus[k] = u == col_lambda ? -1 : u < n_pvpq ? pvpq[u] : pq[u - n_pvpq];
    }
}

void bus_classes(const std::vector<std::int8_t>& bus_type, std::vector<int>& pvpq,
                 std::vector<int>& pq) {
    const Classes c = classes(bus_type);
    pvpq = c.pv;
    pvpq.insert(pvpq.end(), c.pq.begin(), c.pq.end());
    pq = c.pq;
}

FactoredMatrix::FactoredMatrix(const CsrMatrix& b, const std::vector<int>& buses, int n_bus)
    : lu([&] {
          row_of_bus = unknown_columns(buses, 0, n_bus);  // local index for now
          std::vector<int> row_ptr{0}, col;
          for (const int i : buses) {
              for (int q = b.row_ptr[i]; q < b.row_ptr[i + 1]; ++q)
                  if (row_of_bus[b.col[q]] >= 0) col.push_back(row_of_bus[b.col[q]]);
              row_ptr.push_back(static_cast<int>(col.size()));
          }
          return LuSchedule(static_cast<int>(buses.size()), row_ptr, col);
      }()) {
    factor.assign(static_cast<std::size_t>(lu.nnz()), 0.0);
    for (int r = 0; r < static_cast<int>(buses.size()); ++r) {
        const int i = buses[r];
        for (int q = b.row_ptr[i]; q < b.row_ptr[i + 1]; ++q) {
            const int c = row_of_bus[b.col[q]];
            if (c >= 0) factor[lu.position(r, c)] += b.re[q];
        }
    }
    ok = lu.n() == 0 || lu_factor_strided(lu.host_view(), factor.data(), 1);
    unknown_bus.resize(static_cast<std::size_t>(lu.n()));
    for (int k = 0; k < lu.n(); ++k) unknown_bus[k] = buses[lu.perm()[k]];
    for (int& r : row_of_bus)
        if (r >= 0) r = lu.inverse_perm()[r];
}

FdLayout::FdLayout(const PreparedAcNetwork& net, const std::vector<int>& pvpq,
                   const std::vector<int>& pq)
    : b_prime(net.b_prime, pvpq, net.n_bus), b_double_prime(net.b_double_prime, pq, net.n_bus) {}

namespace {

// An LuSchedule's arrays on the device.
struct DeviceLu {
    DeviceLu(const LuSchedule& lu, cudaStream_t stream)
        : n(lu.n()),
          row_ptr(lu.row_ptr(), stream),
          col(lu.col(), stream),
          diag(lu.diag(), stream),
          row_step(lu.row_step(), stream),
          step_pos(lu.step_pos(), stream),
          step_row(lu.step_row(), stream),
          step_dst(lu.step_dst(), stream),
          dst(lu.dst(), stream) {}
    LuScheduleView view() const {
        LuScheduleView v;
        v.n = n;
        v.row_ptr = row_ptr.data();
        v.col = col.data();
        v.diag = diag.data();
        v.row_step = row_step.data();
        v.step_pos = step_pos.data();
        v.step_row = step_row.data();
        v.step_dst = step_dst.data();
        v.dst = dst.data();
        return v;
    }
    int n;
    DeviceBuffer<int> row_ptr, col, diag, row_step, step_pos, step_row, step_dst, dst;
};

// A shared factor (fast-decoupled) on the device.
struct DeviceFactor {
    DeviceFactor(const FactoredMatrix& m, cudaStream_t stream)
        : lu(m.lu, stream),
          factor(m.factor, stream),
          unknown_bus(m.unknown_bus, stream),
          row_of_bus(m.row_of_bus, stream) {}
    DeviceLu lu;
    DeviceBuffer<double> factor;
    DeviceBuffer<int> unknown_bus, row_of_bus;
};

}  // namespace

// A NewtonLayout with its arrays on the device.
struct CudaAcEngine::DeviceLayout {
    DeviceLayout(const PreparedAcNetwork& net, const std::vector<std::int8_t>& bus_type,
                 cudaStream_t stream)
        : host(net, bus_type),
          lu(host.lu, stream),
          fill(host.lu.fill_positions(), stream),
          unknown_bus(host.unknown_bus, stream),
          unknown_kind(host.unknown_kind, stream),
          pvpq(host.pvpq, stream),
          pos_pa(host.pos_pa, stream),
          pos_pm(host.pos_pm, stream),
          pos_qa(host.pos_qa, stream),
          pos_qm(host.pos_qm, stream),
          p_row(host.p_row, stream),
          q_row(host.q_row, stream),
          pos_lambda(host.pos_lambda, stream) {}

    ac::Schedule schedule() const {
        ac::Schedule s;
        s.lu = lu.view();
        s.fill = fill.data();
        s.n_fill = static_cast<int>(fill.size());
        s.unknown_bus = unknown_bus.data();
        s.unknown_kind = unknown_kind.data();
        s.pvpq = pvpq.data();
        s.n_pvpq = host.n_pvpq;
        return s;
    }
    ac::JacobianMap map() const {
        return {pos_pa.data(), pos_pm.data(), pos_qa.data(),    pos_qm.data(),
                p_row.data(),  q_row.data(),  pos_lambda.data()};
    }
    std::size_t bytes_per_scenario(int n_bus) const {
        // Factor values, step, five bus vectors (state, specs, staging), the norm, the final
        // mismatch and the slack, per-scenario flags, and a branch outage's cut and flags.
        return sizeof(double) * (static_cast<std::size_t>(host.lu.nnz()) + host.n +
                                 5 * static_cast<std::size_t>(n_bus) + 3) +
               sizeof(int) * 6 + sizeof(ac::BranchCut) + static_cast<std::size_t>(n_bus);
    }

    NewtonLayout host;
    DeviceLu lu;
    DeviceBuffer<int> fill, unknown_bus, unknown_kind, pvpq;
    DeviceBuffer<int> pos_pa, pos_pm, pos_qa, pos_qm, p_row, q_row, pos_lambda;
};

// An FdLayout with its factors on the device.
struct CudaAcEngine::DeviceFdLayout {
    DeviceFdLayout(const PreparedAcNetwork& net, const std::vector<int>& pvpq,
                   const std::vector<int>& pq, cudaStream_t stream)
        : host(net, pvpq, pq),
          b_prime(host.b_prime, stream),
          b_double_prime(host.b_double_prime, stream) {}
    std::size_t bytes_per_scenario(int n_bus) const {
        return sizeof(double) *
                   (static_cast<std::size_t>(host.b_prime.lu.n() + host.b_double_prime.lu.n()) +
                    5 * static_cast<std::size_t>(n_bus) + 3) +
               sizeof(int) * 6;
    }

    FdLayout host;
    DeviceFactor b_prime, b_double_prime;
};

CudaAcEngine::CudaAcEngine(std::shared_ptr<const PreparedAcNetwork> network, int device)
    : net_(std::move(network)), device_(device) {
    // AcOptions::validate allows a distributed slack with Newton and one REF bus only, and no Q
    // limits that could move it: one P balance row, as the kernels have it.
    if (distributed() && (net_->method != AcMethod::newton || net_->ref.size() != 1))
        throw Error(ErrorKind::invalid_input,
                    "CUDA AC engine: a distributed slack needs Newton and one reference bus");
    GRIDBATCH_CUDA_CHECK(cudaSetDevice(device_));
    stream_.emplace();
    const cudaStream_t stream = stream_->get();
    y_row_ptr_.upload(net_->ybus.row_ptr, stream);
    y_col_.upload(net_->ybus.col, stream);
    y_re_.upload(net_->ybus.re, stream);
    y_im_.upload(net_->ybus.im, stream);
    if (distributed()) participation_.upload(net_->slack_participation, stream);
    default_types_.assign(static_cast<std::size_t>(net_->n_bus), 4);
    for (const int i : net_->ref) default_types_[i] = kRef;
    for (const int i : net_->pv) default_types_[i] = kPV;
    for (const int i : net_->pq) default_types_[i] = kPQ;
    if (net_->method == AcMethod::newton)
        layout_for(default_types_);
    else
        fd_layout_for(default_types_);
}

CudaAcEngine::~CudaAcEngine() = default;

const LuSchedule& CudaAcEngine::default_schedule() {
    const std::lock_guard<std::mutex> lock(solve_mutex_);
    GRIDBATCH_CUDA_CHECK(cudaSetDevice(device_));
    return layout_for(default_types_).host.lu;
}

const CudaAcEngine::DeviceLayout& CudaAcEngine::layout_for(
    const std::vector<std::int8_t>& bus_type) {
    auto it = layouts_.find(bus_type);
    if (it == layouts_.end()) {
        // Q-limit enforcement may produce a new class set per scenario and round; keep a few.
        if (layouts_.size() >= 64) layouts_.clear();
        it = layouts_
                 .emplace(bus_type, std::make_unique<DeviceLayout>(*net_, bus_type, stream_->get()))
                 .first;
    }
    return *it->second;
}

const CudaAcEngine::DeviceFdLayout& CudaAcEngine::fd_layout_for(
    const std::vector<std::int8_t>& bus_type) {
    auto it = fd_layouts_.find(bus_type);
    if (it == fd_layouts_.end()) {
        if (fd_layouts_.size() >= 64) fd_layouts_.clear();
        std::vector<int> pvpq, pq;
        bus_classes(bus_type, pvpq, pq);
        it = fd_layouts_
                 .emplace(bus_type,
                          std::make_unique<DeviceFdLayout>(*net_, pvpq, pq, stream_->get()))
                 .first;
    }
    return *it->second;
}

void CudaAcEngine::solve(const AcEngineBatch& batch, AcEngineOutput& out) {
    const std::lock_guard<std::mutex> lock(solve_mutex_);
    GRIDBATCH_CUDA_CHECK(cudaSetDevice(device_));
    const Index n_scenarios = batch.p_spec.cols();
    // Scenarios grouped by bus classes (one group unless Q limits changed some), in column order.
    // Branch outages share the group's layout: the pattern of Ybus less one branch is Ybus's.
    std::map<std::vector<std::int8_t>, std::vector<Index>> groups;
    for (Index s = 0; s < n_scenarios; ++s) {
        if (batch.bus_type == nullptr) {
            groups[default_types_].push_back(s);
        } else {
            const auto col = batch.bus_type->col(s);
            groups[std::vector<std::int8_t>(col.data(), col.data() + col.size())].push_back(s);
        }
    }
    for (const auto& [types, columns] : groups) solve_group(types, batch, columns, out);
}

ChunkOutages chunk_outages(const PreparedAcNetwork& net, const AcEngineBatch& batch,
                           const std::vector<Index>& columns) {
    ChunkOutages o;
    if (batch.outage == nullptr) return o;
    const auto c = columns.size();
    const auto nb = static_cast<std::size_t>(net.n_bus);
    for (std::size_t t = 0; t < c; ++t) {
        const int k = batch.outage[columns[t]];
        if (k < 0) continue;
        if (o.cut.empty()) o.cut.resize(c);
        const BranchAdmittance b = branch_admittance(net, k);
        ac::BranchCut& cut = o.cut[t];
        cut.from = b.from;
        cut.to = b.to;
        const int at[4] = {b.at_ff, b.at_ft, b.at_tf, b.at_tt};
        const Complex share[4] = {b.yff, b.yft, b.ytf, b.ytt};
        for (int j = 0; j < 4; ++j) {
            cut.at[j] = at[j];
            cut.re[j] = share[j].real();
            cut.im[j] = share[j].imag();
        }
        const std::vector<int>* off = batch.cut_off ? batch.cut_off[columns[t]] : nullptr;
        if (off == nullptr || off->empty()) continue;
        if (o.dead.empty()) o.dead.assign(nb * c, 0);
        for (const int i : *off) o.dead[static_cast<std::size_t>(i) * c + t] = 1;
    }
    return o;
}

void CudaAcEngine::solve_group(const std::vector<std::int8_t>& bus_type, const AcEngineBatch& batch,
                               const std::vector<Index>& columns, AcEngineOutput& out) {
    const bool newton = net_->method == AcMethod::newton;
    const DeviceLayout* layout = newton ? &layout_for(bus_type) : nullptr;
    const DeviceFdLayout* fd_layout = newton ? nullptr : &fd_layout_for(bus_type);
    const std::size_t per_scenario = newton ? layout->bytes_per_scenario(net_->n_bus)
                                            : fd_layout->bytes_per_scenario(net_->n_bus);
    const std::size_t held = stage_.bytes() + vm_.bytes() + va_.bytes() + p_spec_.bytes() +
                             q_spec_.bytes() + lu_.bytes() + x_.bytes() + xq_.bytes() +
                             norm_.bytes() + norm_q_.bytes() + max_mismatch_.bytes() +
                             lambda_.bytes() + cut_.bytes() + dead_.bytes();
    const std::size_t chunk =
        std::max<std::size_t>(1, device_chunk_budget(held) / 10 * 7 / per_scenario);
    for (std::size_t first = 0; first < columns.size(); first += chunk) {
        const std::vector<Index> part(columns.begin() + first,
                                      columns.begin() + std::min(columns.size(), first + chunk));
        if (newton)
            solve_chunk(batch, part, out, [&](int c) { iterate_newton(*layout, c); });
        else
            solve_chunk(batch, part, out, [&](int c) { iterate_fd(*fd_layout, c); });
    }
}

template <class Iterate>
void CudaAcEngine::solve_chunk(const AcEngineBatch& batch, const std::vector<Index>& columns,
                               AcEngineOutput& out, Iterate&& iterate) {
    const cudaStream_t stream = stream_->get();
    const int nb = net_->n_bus;
    const int c = static_cast<int>(columns.size());
    const std::size_t per_bus = static_cast<std::size_t>(nb) * c;
    const Index start = contiguous_start(columns);
    stage_.resize(per_bus);

    // Inputs: columns to the staging buffer (bus fastest), then transposed to scenario-fastest.
    std::vector<double> packed;
    const auto load = [&](const Eigen::Ref<const Matrix>& m, DeviceBuffer<double>& dst) {
        if (start >= 0) {
            GRIDBATCH_CUDA_CHECK(cudaMemcpy2DAsync(
                stage_.data(), nb * sizeof(double), m.data() + start * m.outerStride(),
                m.outerStride() * sizeof(double), nb * sizeof(double), c, cudaMemcpyHostToDevice,
                stream));
        } else {
            // The previous input's upload may still read `packed` (an asynchronous copy).
            if (!packed.empty()) GRIDBATCH_CUDA_CHECK(cudaStreamSynchronize(stream));
            packed.resize(per_bus);
            for (int t = 0; t < c; ++t)
                Eigen::Map<Vector>(packed.data() + static_cast<std::size_t>(t) * nb, nb) =
                    m.col(columns[t]);
            stage_.upload(packed.data(), per_bus, stream);
        }
        dst.resize(per_bus);
        transpose(stage_.data(), nb, c, nullptr, nullptr, 0.0, dst.data(), stream);
    };
    load(batch.vm0, vm_);
    load(batch.va0, va_);
    load(batch.p_spec, p_spec_);
    load(batch.q_spec, q_spec_);
    const ChunkOutages outages = chunk_outages(*net_, batch, columns);
    cut_.upload(outages.cut, stream);
    dead_.upload(outages.dead, stream);

    const std::size_t sc = static_cast<std::size_t>(c);
    max_mismatch_.resize(sc);
    max_mismatch_.fill_zero(stream);
    lambda_.resize(distributed() ? sc : 0);
    lambda_.fill_zero(stream);
    iterations_.resize(sc);
    iterations_.fill_zero(stream);
    const std::vector<int> running(sc, ac::kRunning);  // read by the stream until a download
    status_.upload(running, stream);
    active_.resize(sc);
    next_active_.resize(sc);
    keep_.resize(sc);
    n_active_.resize(1);
    ac::iota(active_.data(), c, stream);
    // Vm = |V|, Va in (-pi, pi] at every bus before the first step, as the CPU engine starts.
    ac::normalise_start(vm_.data(), va_.data(), static_cast<long long>(nb) * c, stream);

    iterate(c);

    // Outputs transposed back to bus-fastest columns.
    const auto store = [&](const DeviceBuffer<double>& src, Matrix& dst) {
        transpose(src.data(), c, nb, nullptr, nullptr, 0.0, stage_.data(), stream);
        if (start >= 0) {
            stage_.download(dst.data() + start * dst.rows(), per_bus, stream);
        } else {
            packed.resize(per_bus);
            stage_.download(packed.data(), per_bus, stream);
            for (int t = 0; t < c; ++t)
                dst.col(columns[t]) =
                    Eigen::Map<const Vector>(packed.data() + static_cast<std::size_t>(t) * nb, nb);
        }
    };
    store(vm_, out.vm);
    store(va_, out.va);
    const std::vector<int> status = status_.download(stream);
    const std::vector<int> iterations = iterations_.download(stream);
    const std::vector<double> mismatch = max_mismatch_.download(stream);
    const std::vector<double> lambda = lambda_.download(stream);
    for (int t = 0; t < c; ++t) {
        const Index s = columns[t];
        out.report.status[s] = static_cast<std::int8_t>(status[t]);
        out.report.iterations[s] = iterations[t];
        out.report.max_mismatch[s] = mismatch[t];
        out.slack[s] = lambda.empty() ? 0.0 : lambda[t];
    }
}

ac::BatchState CudaAcEngine::batch_state(int count) {
    ac::BatchState st;
    st.stride = count;
    st.vm = vm_.data();
    st.va = va_.data();
    st.p_spec = p_spec_.data();
    st.q_spec = q_spec_.data();
    st.lu = lu_.data();
    st.x = x_.data();
    st.norm = norm_.data();
    st.status = status_.data();
    st.iterations = iterations_.data();
    st.max_mismatch = max_mismatch_.data();
    if (distributed()) {
        st.lambda = lambda_.data();
        st.participation = participation_.data();
    }
    st.cut = cut_.data();  // null where the chunk has no outage
    st.dead = dead_.data();
    return st;
}

void CudaAcEngine::iterate_newton(const DeviceLayout& layout, int c) {
    const cudaStream_t stream = stream_->get();
    lu_.resize(static_cast<std::size_t>(layout.host.lu.nnz()) * c);
    x_.resize(static_cast<std::size_t>(layout.host.n) * c);
    norm_.resize(static_cast<std::size_t>(c));
    norm_.fill_zero(stream);
    const ac::BatchState st = batch_state(c);
    const ac::YbusView y{net_->n_bus, y_row_ptr_.data(), y_col_.data(), y_re_.data(), y_im_.data()};
    const ac::JacobianMap map = layout.map();
    const ac::Schedule schedule = layout.schedule();

    int n_active = c;
    while (n_active > 0) {
        ac::assemble(y, map, active_.data(), n_active, st, stream);
        ac::check(active_.data(), n_active, net_->tolerance, net_->max_iterations, st, keep_.data(),
                  stream);
        ac::compact(active_.data(), keep_.data(), n_active, next_active_.data(), n_active_.data(),
                    stream);
        std::swap(active_, next_active_);
        n_active_.download(&n_active, 1, stream);  // the iteration's one round trip
        if (n_active == 0) break;
        ac::factor_solve_update(schedule, active_.data(), n_active, st, stream);
    }
}

void CudaAcEngine::iterate_fd(const DeviceFdLayout& layout, int c) {
    const cudaStream_t stream = stream_->get();
    const std::size_t sc = static_cast<std::size_t>(c);
    x_.resize(static_cast<std::size_t>(layout.host.b_prime.lu.n()) * sc);
    xq_.resize(static_cast<std::size_t>(layout.host.b_double_prime.lu.n()) * sc);
    norm_.resize(sc);
    norm_.fill_zero(stream);
    norm_q_.resize(sc);
    norm_q_.fill_zero(stream);
    const ac::BatchState st = batch_state(c);
    const ac::FdState fd{x_.data(), xq_.data(), norm_.data(), norm_q_.data()};
    const ac::FdMap map{layout.b_prime.row_of_bus.data(), layout.b_double_prime.row_of_bus.data()};
    const ac::YbusView y{net_->n_bus, y_row_ptr_.data(), y_col_.data(), y_re_.data(), y_im_.data()};
    const bool singular = !layout.host.b_prime.ok || !layout.host.b_double_prime.ok;
    const bool has_pq = layout.host.b_double_prime.lu.n() > 0;
    const double tol = net_->tolerance;

    // fdpf: check the start, then per iteration a P half-step (angles, B') and a Q half-step
    // (magnitudes, B''), each followed by a mismatch and a convergence check. Scenarios that
    // converge after the P half skip the Q half; the active list is compacted once per iteration.
    int n_active = c;
    ac::fd_mismatch(y, map, active_.data(), n_active, st, fd, stream);
    ac::fd_check_converged(active_.data(), n_active, tol, singular, st, fd, stream);
    while (n_active > 0) {
        ac::fd_check_continue(active_.data(), n_active, net_->max_iterations, st, keep_.data(),
                              stream);
        ac::compact(active_.data(), keep_.data(), n_active, next_active_.data(), n_active_.data(),
                    stream);
        std::swap(active_, next_active_);
        n_active_.download(&n_active, 1, stream);  // the iteration's one round trip
        if (n_active == 0) break;
        ac::fd_half_step(layout.b_prime.lu.view(), layout.b_prime.factor.data(),
                         layout.b_prime.unknown_bus.data(), x_.data(), va_.data(), active_.data(),
                         n_active, st, true, stream);
        ac::fd_mismatch(y, map, active_.data(), n_active, st, fd, stream);
        ac::fd_check_converged(active_.data(), n_active, tol, false, st, fd, stream);
        if (!has_pq) continue;  // fdpf's Q half would re-evaluate the same mismatch
        ac::fd_half_step(layout.b_double_prime.lu.view(), layout.b_double_prime.factor.data(),
                         layout.b_double_prime.unknown_bus.data(), xq_.data(), vm_.data(),
                         active_.data(), n_active, st, false, stream);
        ac::fd_mismatch(y, map, active_.data(), n_active, st, fd, stream);
        ac::fd_check_converged(active_.data(), n_active, tol, false, st, fd, stream);
    }
    // fdpf keeps V = Vm e^{j Va} as formed; the result is its magnitude and angle.
    ac::polar_normalize(vm_.data(), va_.data(), static_cast<long long>(net_->n_bus) * c, stream);
}

std::unique_ptr<AcEngine> make_ac_engine(std::shared_ptr<const PreparedAcNetwork> network,
                                         int device) {
    const BackendStatus status = device_status();
    if (!status.available)
        throw Error(ErrorKind::backend_unavailable,
                    "the cuda backend was requested, but " + status.reason);
    check_device_index(device);
    return std::make_unique<CudaAcEngine>(std::move(network), device);
}

}  // namespace gridbatch::detail::cuda
