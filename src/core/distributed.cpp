// Sharded solves over any Communicator, and the one-process communicator.
#include "gridbatch/distributed.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "core/ac_result_parts.hpp"
#include "core/dc_access.hpp"
#include "core/memory.hpp"
#include "core/n1_screen.hpp"
#include "core/run_chunks.hpp"
#include "engine/device.hpp"
#include "engine/dispatch_engine.hpp"
#include "engine/ipm_engine.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {
namespace {

class LocalCommunicator final : public Communicator {
public:
    explicit LocalCommunicator(ChunkHook before_chunk) : before_chunk_(std::move(before_chunk)) {}
    int rank() const noexcept override { return 0; }
    int size() const noexcept override { return 1; }
    int local_rank() const noexcept override { return 0; }
    void begin_chunks(Index n_chunks) override {
        n_chunks_ = n_chunks;
        next_ = 0;
    }
    Index next_chunk() override {
        if (next_ >= n_chunks_) return -1;
        if (before_chunk_) before_chunk_(next_, n_chunks_);
        return next_++;
    }
    void gather_columns(Matrix&, const ColumnRanges&) override {}
    std::vector<Real> gather_concat(const std::vector<Real>& values) override { return values; }
    Index max_over_ranks(Index value) override { return value; }
    void check(const Error* local_error) override {
        if (local_error) throw *local_error;
    }

private:
    ChunkHook before_chunk_;
    Index n_chunks_ = 0, next_ = 0;
};

// What to put before an error from the chunk of scenarios [first, first + count) of S: nothing
// where the chunk is the whole batch (its scenario numbers are the caller's), else the range.
std::string chunk_context(Index first, Index count, Index S) {
    if (first == 0 && count == S) return "";
    return "in scenarios " + std::to_string(first) + ".." + std::to_string(first + count - 1) +
           " (the message numbers them from 0): ";
}

// Per-scenario report <-> a 3 x S matrix, so it travels like any other result column.
Matrix report_matrix(const ScenarioReport& r) {
    Matrix m(3, r.size());
    m.row(0) = r.status.cast<Real>().transpose();
    m.row(1) = r.iterations.cast<Real>().transpose();
    m.row(2) = r.max_mismatch.transpose();
    return m;
}
void set_report(ScenarioReport& r, const Matrix& m) {
    r.status = m.row(0).transpose().cast<std::int8_t>();
    r.iterations = m.row(1).transpose().cast<int>();
    r.max_mismatch = m.row(2).transpose();
}

void gather_vector(Communicator& comm, Vector& v, const ColumnRanges& mine) {
    Matrix m = v.transpose();
    comm.gather_columns(m, mine);
    v = m.row(0).transpose();
}

}  // namespace

std::unique_ptr<Communicator> local_communicator(ChunkHook before_chunk) {
    return std::make_unique<LocalCommunicator>(std::move(before_chunk));
}

int device_for(const Communicator& comm) noexcept {
    const int count = detail::cuda::device_count();
    return count > 0 ? comm.local_rank() % count : 0;
}

bool launched_by_mpi() noexcept {
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
        if (std::getenv(var)) return true;
    return false;
}

int launcher_rank() noexcept {
    for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"})
        if (const char* v = std::getenv(var)) return std::atoi(v);
    return 0;
}

DcPowerFlowResult solve_sharded(DcPowerFlow& pf, const MatrixView& pd, Communicator& comm,
                                Index chunk) {
    const Index S = pd.cols();
    const Network& net = pf.network();
    detail::require_dc_result_memory(net, S);
    DcPowerFlowResult out;
    out.va = Matrix::Zero(net.n_bus(), S);
    out.pf = Matrix::Zero(net.n_branch(), S);
    out.pg = Matrix::Zero(net.n_gen(), S);
    out.slack_mw = Vector::Zero(S);
    Matrix report = report_matrix(ScenarioReport(S));
    out.backend = pf.backend();
    const ColumnRanges mine = detail::run_chunks(comm, S, chunk, [&](Index first, Index count) {
        DcPowerFlowResult r;
        try {
            r = pf.solve(pd.middleCols(first, count));
        } catch (const Error& e) {
            throw Error(e.kind(), chunk_context(first, count, S) + e.what());
        }
        out.va.middleCols(first, count) = r.va;
        out.pf.middleCols(first, count) = r.pf;
        out.pg.middleCols(first, count) = r.pg;
        out.slack_mw.segment(first, count) = r.slack_mw;
        report.middleCols(first, count) = report_matrix(r.report);
    });
    for (Matrix* m : {&out.va, &out.pf, &out.pg, &report}) comm.gather_columns(*m, mine);
    gather_vector(comm, out.slack_mw, mine);
    set_report(out.report, report);
    return out;
}

AcPowerFlowResult solve_sharded(const AcPowerFlow& pf, const AcBatch& batch, Communicator& comm,
                                Index chunk) {
    const Index S = batch.size();
    const Network& net = pf.network();
    detail::require_host_memory(
        8.0 * static_cast<double>(S) *
            static_cast<double>(2 * net.n_bus() + 2 * net.n_gen() + 4 * net.n_branch() + 6),
        "AC power flow of " + std::to_string(S) + " scenarios");
    AcPowerFlowResult out = detail::sized_result(net, S, pf.backend());
    if (pf.options().start == StartMode::previous_step && chunk > 0)
        chunk = whole_time_series_blocks(chunk);
    const ColumnRanges mine = detail::run_chunks(comm, S, chunk, [&](Index first, Index count) {
        AcPowerFlowResult r;
        try {
            r = pf.solve(detail::slice(batch, first, count));
        } catch (const Error& e) {
            throw Error(e.kind(), chunk_context(first, count, S) + e.what());
        }
        detail::place(std::move(r), out, first);
    });
    Matrix report = report_matrix(out.report);
    for (Matrix* m :
         {&out.vm, &out.va, &out.pg, &out.qg, &out.pf, &out.qf, &out.pt, &out.qt, &report})
        comm.gather_columns(*m, mine);
    for (Vector* v : {&out.loss_mw, &out.loss_mvar, &out.slack_mw}) gather_vector(comm, *v, mine);
    set_report(out.report, report);

    // Q-limited bus lists: padded with -1 to the longest list over all ranks.
    Index longest = 0;
    for (const auto& q : out.q_limited_buses) longest = std::max<Index>(longest, Index(q.size()));
    longest = comm.max_over_ranks(longest);
    if (longest > 0) {
        Matrix lists = Matrix::Constant(longest, S, -1);
        for (Index s = 0; s < S; ++s) {
            const auto& q = out.q_limited_buses[static_cast<std::size_t>(s)];
            for (std::size_t i = 0; i < q.size(); ++i) lists(Index(i), s) = Real(q[i]);
        }
        comm.gather_columns(lists, mine);
        for (Index s = 0; s < S; ++s) {
            auto& q = out.q_limited_buses[static_cast<std::size_t>(s)];
            q.clear();
            for (Index i = 0; i < longest && lists(i, s) >= 0; ++i) q.push_back(Index(lists(i, s)));
        }
    }
    return out;
}

N1Result n1_screen(DcPowerFlow& pf, const MatrixView& pd, const N1Options& options,
                   Communicator& comm) {
    const detail::N1Plan plan = detail::plan_n1(pf.network(), options);
    DcPowerFlowResult base = pf.solve(pd);
    const Index S = base.size();
    detail::OutageScreenResult screen = detail::empty_screen(S);
    Matrix factors;
    detail::run_chunks(comm, static_cast<Index>(plan.blocks.size()), 1, [&](Index b, Index) {
        detail::screen_block(pf, plan, static_cast<std::size_t>(b), base, factors, screen);
    });

    // Violations as (scenario, outage, branch, loading) quadruples; worst per scenario as
    // (worst, outage, branch) triples. Indices are exact in a double.
    std::vector<Real> found;
    std::size_t count = 0;
    for (const auto& piece : screen.violations) count += piece.size();
    found.reserve(4 * count);
    for (const auto& piece : screen.violations)
        for (const auto& v : piece)
            for (Real x : {Real(v.scenario), Real(v.outage), Real(v.branch), v.loading})
                found.push_back(x);
    std::vector<Real> worst;
    worst.reserve(static_cast<std::size_t>(3 * S));
    for (Index s = 0; s < S; ++s)
        for (Real x : {screen.worst[s], Real(screen.worst_outage[s]), Real(screen.worst_branch[s])})
            worst.push_back(x);
    const std::vector<Real> all_found = comm.gather_concat(found);
    const std::vector<Real> all_worst = comm.gather_concat(worst);
    const bool root = comm.rank() == 0;
    detail::OutageScreenResult merged = detail::empty_screen(root ? S : 0);
    if (root) {
        std::vector<detail::OutageViolation>& piece = merged.violations.emplace_back();
        piece.reserve(all_found.size() / 4);
        for (std::size_t i = 0; i + 3 < all_found.size(); i += 4)
            piece.push_back({Index(all_found[i]), Index(all_found[i + 1]), Index(all_found[i + 2]),
                             all_found[i + 3]});
        const std::vector<Index> position =
            detail::plan_positions(plan, pf.network().branches().size());
        for (std::size_t i = 0; i + 2 < all_worst.size(); i += 3) {
            const Index s = static_cast<Index>((i / 3) % static_cast<std::size_t>(S));
            detail::merge_worst(merged, s, all_worst[i], Index(all_worst[i + 1]),
                                Index(all_worst[i + 2]), position);
        }
    }
    return detail::finish_n1(plan, std::move(base), std::move(merged), pf.options().threads);
}

namespace {

// The per-scenario scalars of a dispatch result (every S-vector, as doubles: indices and codes
// are exact), so that they travel as the columns of one matrix. A field left empty by the solver
// travels as zeros and comes back empty.
template <typename F>
void for_each_scalar(DispatchResult& r, F&& f) {
    f(r.objective);
    f(r.report.status);
    f(r.report.iterations);
    f(r.report.max_mismatch);
    f(r.infeasible_step);
    f(r.violation);
    f(r.violation_kind);
    f(r.method);
    f(r.relaxed_steps);
}
template <typename F>
void for_each_scalar(SmoothDispatchResult& r, F&& f) {
    for_each_scalar(static_cast<DispatchResult&>(r), f);
    f(r.dual_residual);
    f(r.limit_violation);
    f(r.max_ramp_mw_per_s);
}

// The time series of a dispatch result (T or T + 1 rows, one column per scenario).
template <typename F>
void for_each_series(DispatchResult& r, F&& f) {
    f(r.battery_mw, 0);
    f(r.soc_mwh, 1);
    f(r.grid_mw, 0);
}
template <typename F>
void for_each_series(SmoothDispatchResult& r, F&& f) {
    for_each_series(static_cast<DispatchResult&>(r), f);
    f(r.backup_mw, 0);
}

// Scenario sharding of a dispatch-like solve: solve(load, fleets, grids) on each chunk, once the
// caller has checked the whole batch (fleet and grid counts included).
template <typename Result, typename Solve>
Result dispatch_sharded(const char* name, const MatrixView& load,
                        const std::vector<BatteryFleet>& fleets,
                        const std::vector<GridConnection>& grids, Communicator& comm, Index chunk,
                        Solve&& solve) {
    const Index T = load.rows(), S = load.cols();
    detail::require_host_memory(8.0 * static_cast<double>(S) * static_cast<double>(3 * T + 16),
                                std::string(name) + " of " + std::to_string(S) + " scenarios x " +
                                    std::to_string(T) + " steps");
    Result out;
    for_each_series(out, [&](Matrix& m, Index extra_rows) { m = Matrix::Zero(T + extra_rows, S); });
    int n_scalars = 0;
    for_each_scalar(out, [&](auto&) { ++n_scalars; });
    Matrix per = Matrix::Zero(n_scalars, S);
    std::vector<bool> present(static_cast<std::size_t>(n_scalars), false);
    auto part_of = [&](const auto& v, Index first, Index count) {
        using V = std::decay_t<decltype(v)>;
        return v.size() == 1 ? v : V(v.begin() + first, v.begin() + first + count);
    };
    const ColumnRanges mine = detail::run_chunks(comm, S, chunk, [&](Index first, Index count) {
        Result r;
        try {
            r = solve(load.middleCols(first, count), part_of(fleets, first, count),
                      part_of(grids, first, count));
        } catch (const Error& e) {
            throw Error(e.kind(), chunk_context(first, count, S) + e.what());
        }
        out.backend = r.backend;
        std::vector<const Matrix*> parts;
        for_each_series(r, [&](const Matrix& m, Index) { parts.push_back(&m); });
        std::size_t i = 0;
        for_each_series(out, [&](Matrix& m, Index) { m.middleCols(first, count) = *parts[i++]; });
        int k = 0;
        for_each_scalar(r, [&](auto& v) {
            if (v.size() == count) {
                per.row(k).segment(first, count) = v.template cast<Real>().transpose();
                present[static_cast<std::size_t>(k)] = true;
            }
            ++k;
        });
    });
    for_each_series(out, [&](Matrix& m, Index) { comm.gather_columns(m, mine); });
    comm.gather_columns(per, mine);
    // A field is present if any rank's solver filled it (the same solver on every rank).
    for (int k = 0; k < n_scalars; ++k)
        present[static_cast<std::size_t>(k)] =
            comm.max_over_ranks(present[static_cast<std::size_t>(k)] ? 1 : 0) > 0;
    int k = 0;
    for_each_scalar(out, [&](auto& v) {
        using V = std::decay_t<decltype(v)>;
        if (present[static_cast<std::size_t>(k)])
            v = per.row(k).transpose().template cast<typename V::Scalar>();
        ++k;
    });
    return out;
}

}  // namespace

DispatchResult dispatch(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                        const std::vector<GridConnection>& grids, const DispatchOptions& options,
                        Communicator& comm, Index chunk) {
    detail::check_dispatch_inputs(load, fleets, grids, options);  // the caller's numbers
    return dispatch_sharded<DispatchResult>(
        "dispatch", load, fleets, grids, comm, chunk,
        [&](const MatrixView& l, const std::vector<BatteryFleet>& f,
            const std::vector<GridConnection>& g) { return dispatch(l, f, g, options); });
}

SmoothDispatchResult smooth_dispatch(const MatrixView& load,
                                     const std::vector<BatteryFleet>& fleets,
                                     const std::vector<GridConnection>& grids,
                                     const SmoothDispatchOptions& options, Communicator& comm,
                                     Index chunk) {
    detail::check_smooth_dispatch_inputs(load, fleets, grids, options);  // as dispatch's
    return dispatch_sharded<SmoothDispatchResult>(
        "smooth_dispatch", load, fleets, grids, comm, chunk,
        [&](const MatrixView& l, const std::vector<BatteryFleet>& f,
            const std::vector<GridConnection>& g) { return smooth_dispatch(l, f, g, options); });
}

}  // namespace gridbatch
