// DcPowerFlow: validation, the reduced system (DcModel) built once from the Network with
// MATPOWER's conventions (bustypes, makeBdc, rundcpf), engine dispatch, and generator results.
#include "gridbatch/dc_power_flow.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "core/angles.hpp"
#include "core/dc_access.hpp"
#include "core/invalid_input.hpp"
#include "core/memory.hpp"
#include "core/slack.hpp"
#include "engine/dc_engine.hpp"
#include "gridbatch/admittance.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {
namespace detail {

void require_dc_result_memory(const Network& net, Index S) {
    require_host_memory(8.0 * static_cast<double>(S) *
                            static_cast<double>(net.n_bus() + net.n_branch() + net.n_gen() + 4),
                        "DC power flow of " + std::to_string(S) + " scenarios");
}

std::string bus_list(const Network& net, const std::vector<int>& buses, std::size_t limit) {
    std::ostringstream out;
    out << "{";
    for (std::size_t i = 0; i < buses.size() && i < limit; ++i)
        out << (i ? ", " : "") << net.buses().id[buses[i]];
    if (buses.size() > limit) out << ", ... " << buses.size() - limit << " more";
    out << "}";
    return out.str();
}

namespace {

int find_root(std::vector<int>& parent, int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

// MATPOWER's bustypes(): REF buses with an active generator; when there is none, the first PV
// bus with one.
std::vector<int> reference_buses(const Network& net) {
    std::vector<char> has_gen(net.n_bus(), 0);
    for (Index g = 0; g < net.n_gen(); ++g)
        if (net.gen_active(g)) has_gen[net.gen_bus()[g]] = 1;
    const auto& type = net.buses().type;
    std::vector<int> ref;
    for (Index i = 0; i < net.n_bus(); ++i)
        if (type[i] == static_cast<std::int8_t>(BusType::ref) && has_gen[i])
            ref.push_back(static_cast<int>(i));
    for (Index i = 0; ref.empty() && i < net.n_bus(); ++i)
        if (type[i] == static_cast<std::int8_t>(BusType::pv) && has_gen[i])
            ref.push_back(static_cast<int>(i));
    if (ref.empty())
        throw Error(ErrorKind::invalid_input,
                    net.source() +
                        ": no reference bus for the DC power flow: no REF or PV bus has an "
                        "in-service generator");
    return ref;
}

struct Built {
    std::shared_ptr<DcModel> model;
    std::shared_ptr<DcSlackData> slack;
};

Built build(const Network& net, const DcOptions& options) {
    const Index nb = net.n_bus(), nl = net.n_branch(), ng = net.n_gen();
    const DcMatrices dc = make_dc_matrices(net);
    const auto& bus = net.buses();
    auto m = std::make_shared<DcModel>();
    auto sl = std::make_shared<DcSlackData>();
    m->n_bus = nb;
    m->n_branch = nl;
    m->n_gen = ng;
    m->base_mva = net.base_mva();

    std::vector<char> isolated(nb, 0), is_ref(nb, 0);
    for (Index i = 0; i < nb; ++i)
        isolated[i] = bus.type[i] == static_cast<std::int8_t>(BusType::isolated);
    sl->ref_bus = reference_buses(net);
    for (int r : sl->ref_bus) is_ref[r] = 1;

    // Islands: connected components of the active branches over the non-isolated buses.
    std::vector<int> parent(nb);
    std::iota(parent.begin(), parent.end(), 0);
    for (Index k = 0; k < nl; ++k)
        if (net.branch_active(k)) {
            const int a = find_root(parent, net.branch_from()[k]);
            const int b = find_root(parent, net.branch_to()[k]);
            if (a != b) parent[std::max(a, b)] = std::min(a, b);
        }
    m->island.assign(nb, -1);
    std::vector<int> root_island(nb, -1);
    std::vector<std::vector<int>> members;
    for (Index i = 0; i < nb; ++i) {
        if (isolated[i]) continue;
        const int r = find_root(parent, static_cast<int>(i));
        if (root_island[r] < 0) {
            root_island[r] = static_cast<int>(members.size());
            members.emplace_back();
        }
        m->island[i] = root_island[r];
        members[root_island[r]].push_back(static_cast<int>(i));
    }
    m->n_island = static_cast<Index>(members.size());
    std::vector<char> island_has_ref(members.size(), 0);
    for (int r : sl->ref_bus) island_has_ref[m->island[r]] = 1;
    for (std::size_t c = 0; c < members.size(); ++c)
        if (!island_has_ref[c])
            throw Error(ErrorKind::invalid_input,
                        net.source() + ": DC matrix is singular: buses " +
                            bus_list(net, members[c]) +
                            " form an island without a reference bus (connect them, make one a "
                            "REF bus with a generator, or mark them isolated, type 4)");

    // Free and fixed buses.
    m->reduced_index.assign(nb, -1);
    m->va_fixed = Vector::Zero(nb);
    for (Index i = 0; i < nb; ++i) {
        if (isolated[i] || is_ref[i]) {
            m->va_fixed[i] = bus.va[i] * detail::kDegToRad;
        } else {
            m->reduced_index[i] = static_cast<int>(m->free_bus.size());
            m->free_bus.push_back(static_cast<int>(i));
        }
    }
    const int nf = static_cast<int>(m->free_bus.size());

    // B(free, free), and the fixed angles moved to the right-hand side. Column indices stay
    // sorted: reduced_index is increasing.
    m->rhs_offset = Vector::Zero(nf);
    DcCsr& b = m->b_reduced;
    b.rows = b.cols = nf;
    b.row_ptr.assign(1, 0);
    for (int r = 0; r < nf; ++r) {
        const int i = m->free_bus[r];
        for (SparseMatrix::InnerIterator it(dc.bbus, i); it; ++it) {
            const int j = static_cast<int>(it.col());
            if (m->reduced_index[j] >= 0) {
                b.col_index.push_back(m->reduced_index[j]);
                b.values.push_back(it.value());
            } else {
                m->rhs_offset[r] -= it.value() * m->va_fixed[j];
            }
        }
        b.row_ptr.push_back(static_cast<int>(b.col_index.size()));
    }
    for (int r : sl->ref_bus) {
        std::vector<std::pair<int, Real>> row;
        for (SparseMatrix::InnerIterator it(dc.bbus, r); it; ++it)
            row.emplace_back(static_cast<int>(it.col()), it.value());
        sl->ref_row.push_back(std::move(row));
    }

    DcCsr& bf = m->bf_reduced;
    bf.rows = static_cast<int>(nl);
    bf.cols = nf;
    bf.row_ptr.assign(1, 0);
    m->flow_offset = dc.pfinj;
    for (Index k = 0; k < nl; ++k) {
        for (SparseMatrix::InnerIterator it(dc.bf, k); it; ++it) {
            const int j = static_cast<int>(it.col());
            if (m->reduced_index[j] >= 0) {
                bf.col_index.push_back(m->reduced_index[j]);
                bf.values.push_back(it.value());
            } else {
                m->flow_offset[k] += it.value() * m->va_fixed[j];
            }
        }
        bf.row_ptr.push_back(static_cast<int>(bf.col_index.size()));
    }

    m->p_fixed = Vector::Zero(nb);
    for (Index i = 0; i < nb; ++i)
        if (!isolated[i]) m->p_fixed[i] = -dc.pbusinj[i] - bus.gs[i] / net.base_mva();

    m->gen_bus.assign(ng, -1);
    m->pg_case = Vector::Zero(ng);
    sl->gen_island.assign(ng, -1);
    for (Index g = 0; g < ng; ++g)
        if (net.gen_active(g)) {
            m->gen_bus[g] = net.gen_bus()[g];
            m->pg_case[g] = net.generators().pg[g];
            sl->gen_island[g] = m->island[m->gen_bus[g]];
        }
    for (int r : sl->ref_bus) {  // reference buses have an active generator (bustypes)
        std::vector<int> units;
        for (Index g = 0; g < ng; ++g)
            if (m->gen_bus[g] == r) units.push_back(static_cast<int>(g));
        sl->ref_gen.push_back(units.front());
        sl->ref_units.push_back(std::move(units));
    }

    m->distributed = options.slack == SlackMode::distributed;
    m->participation = Vector::Zero(nb);
    sl->gen_share = Vector::Zero(ng);
    if (m->distributed) {
        const Vector factor = participation_factors(net, options.participation);
        Vector total = Vector::Zero(m->n_island);
        for (Index g = 0; g < ng; ++g)
            if (sl->gen_island[g] >= 0) total[sl->gen_island[g]] += factor[g];
        for (std::size_t c = 0; c < members.size(); ++c)
            if (!(total[c] > 0))
                throw Error(ErrorKind::invalid_input,
                            std::string("DcOptions: distributed slack: the participation factors") +
                                (options.participation.size() ? "" : " (default: Pmax)") +
                                " of the in-service generators in the island of buses " +
                                bus_list(net, members[c]) + " sum to 0");
        for (Index g = 0; g < ng; ++g)
            if (sl->gen_island[g] >= 0) {
                sl->gen_share[g] = factor[g] / total[sl->gen_island[g]];
                m->participation[m->gen_bus[g]] += sl->gen_share[g];
            }
    }
    return {m, sl};
}

void check_finite(const MatrixView& x, const char* what, const char* element, const Network& net,
                  bool per_bus) {
    for (Index s = 0; s < x.cols(); ++s)
        for (Index i = 0; i < x.rows(); ++i) {
            const Real v = x(i, s);
            if (std::isfinite(v)) continue;
            std::ostringstream out;
            out << what << ": scenario " << s << " has " << (std::isnan(v) ? "NaN" : "Inf")
                << " at " << element << " ";
            if (per_bus)
                out << net.buses().id[i] << " (row " << i << ")";
            else
                out << i << " (at bus " << net.generators().bus[i] << ")";
            throw Error(ErrorKind::invalid_input, out.str());
        }
}

}  // namespace
}  // namespace detail

void DcOptions::validate(const Network& net) const {
    if (threads < 0)
        throw Error(ErrorKind::invalid_input,
                    "DcOptions.threads must be >= 0 (got " + std::to_string(threads) + ")");
    if (participation.size() == 0) return;
    if (slack != SlackMode::distributed)
        throw Error(ErrorKind::invalid_input,
                    "DcOptions.participation is given but DcOptions.slack is single; set it to "
                    "distributed to share the slack");
    detail::check_participation(net, participation, "DcOptions");
}

DcPowerFlow::DcPowerFlow(const Network& net, DcOptions options)
    : options_(std::move(options)), network_(std::make_shared<const Network>(net)) {
    options_.validate(net);
    auto built = detail::build(net, options_);
    model_ = built.model;
    slack_ = built.slack;
    const Backend backend = resolve_backend(options_.backend);
    engine_ = backend == Backend::cuda ? detail::cuda::make_dc_engine(model_, options_.device)
                                       : detail::cpu::make_dc_engine(model_, options_.threads);
}

DcPowerFlow::~DcPowerFlow() = default;
DcPowerFlow::DcPowerFlow(DcPowerFlow&&) noexcept = default;
DcPowerFlow& DcPowerFlow::operator=(DcPowerFlow&&) noexcept = default;

Backend DcPowerFlow::backend() const noexcept { return engine_->backend(); }
const Network& DcPowerFlow::network() const noexcept { return *network_; }

DcPowerFlowResult DcPowerFlow::solve(const MatrixView& pd) { return run(pd, nullptr); }
DcPowerFlowResult DcPowerFlow::solve(const MatrixView& pd, const MatrixView& pg) {
    return run(pd, &pg);
}
DcPowerFlowResult DcPowerFlow::solve() {
    const Matrix pd = network_->buses().pd;
    return run(pd, nullptr);
}

DcPowerFlowResult DcPowerFlow::run(const MatrixView& pd, const MatrixView* pg) {
    const Network& net = *network_;
    const detail::DcModel& m = *model_;
    const detail::DcSlackData& sl = *slack_;
    const Index nb = net.n_bus(), ng = net.n_gen(), S = pd.cols();
    if (pd.rows() != nb)
        throw Error(ErrorKind::invalid_input,
                    "pd has " + std::to_string(pd.rows()) + " rows but the network has " +
                        std::to_string(nb) + " buses (expected " + std::to_string(nb) + " x S)");
    if (pg && (pg->rows() != ng || pg->cols() != S))
        throw Error(ErrorKind::invalid_input,
                    "pg is " + std::to_string(pg->rows()) + " x " + std::to_string(pg->cols()) +
                        " but pd has " + std::to_string(S) + " scenarios and the network " +
                        std::to_string(ng) + " generators (expected " + std::to_string(ng) + " x " +
                        std::to_string(S) + ")");
    detail::check_finite(pd, "pd", "bus", net, true);
    if (pg) detail::check_finite(*pg, "pg", "generator", net, false);
    detail::require_dc_result_memory(net, S);

    DcPowerFlowResult res;
    res.backend = backend();
    res.va.resize(nb, S);
    res.pf.resize(net.n_branch(), S);
    Matrix island_slack(m.n_island, S);
    Vector mismatch(S);
    detail::DcBatchIn in;
    in.count = S;
    in.pd = pd.data();
    in.ld_pd = pd.outerStride();
    if (pg) {
        in.pg = pg->data();
        in.ld_pg = pg->outerStride();
    }
    detail::DcBatchOut out;
    out.va = res.va.data();
    out.ld_va = nb;
    out.pf = res.pf.data();
    out.ld_pf = net.n_branch();
    out.island_slack = island_slack.data();
    out.ld_island_slack = m.n_island;
    out.mismatch = mismatch.data();
    if (S > 0) engine_->solve(in, out);

    // Generators: the schedule, then the balance as MATPOWER assigns it (single) or shared.
    res.pg.resize(ng, S);
    for (Index s = 0; s < S; ++s)
        for (Index g = 0; g < ng; ++g)
            res.pg(g, s) = m.gen_bus[g] < 0 ? 0.0  // out of service: no output, as AC reports
                           : pg             ? (*pg)(g, s)
                                            : m.pg_case[g];
    res.slack_mw = Vector::Zero(S);
    for (Index s = 0; s < S; ++s) {
        if (m.distributed) {
            for (Index g = 0; g < ng; ++g)
                if (sl.gen_island[g] >= 0)
                    res.pg(g, s) += sl.gen_share[g] * island_slack(sl.gen_island[g], s);
            res.slack_mw[s] = island_slack.col(s).sum();
            continue;
        }
        for (std::size_t k = 0; k < sl.ref_bus.size(); ++k) {
            const int r = sl.ref_bus[k];
            Real p = m.p_fixed[r] - pd(r, s) / m.base_mva;  // P(ref), p.u.
            for (int g : sl.ref_units[k]) p += (pg ? (*pg)(g, s) : m.pg_case[g]) / m.base_mva;
            Real bva = 0;
            for (const auto& [j, v] : sl.ref_row[k]) bva += v * res.va(j, s) * detail::kDegToRad;
            const Real extra = (bva - p) * m.base_mva;
            res.pg(sl.ref_gen[k], s) += extra;
            res.slack_mw[s] += extra;
        }
    }

    res.report = ScenarioReport(S);
    for (Index s = 0; s < S; ++s) {
        // The factorisation succeeded (the solver would not exist otherwise): a non-finite result
        // of finite injections is an overflow, the linear model's values beyond double range.
        const bool finite =
            res.va.col(s).allFinite() && res.pf.col(s).allFinite() && res.pg.col(s).allFinite();
        res.report.status[s] =
            static_cast<std::int8_t>(finite ? Status::converged : Status::diverged);
        res.report.iterations[s] = 1;
        res.report.max_mismatch[s] = mismatch[s];
    }
    return res;
}

DcPowerFlowResult dc_power_flow(const Network& net, const MatrixView& pd,
                                const DcOptions& options) {
    DcPowerFlow pf(net, options);
    return pf.solve(pd);
}

}  // namespace gridbatch
