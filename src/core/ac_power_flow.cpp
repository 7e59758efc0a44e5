// AcPowerFlow: per-network preparation (Ybus, bus classes, makeB), per-batch input checks and
// start voltages, MATPOWER's Q-limit outer loop (runpf) and solution post-processing (pfsoln)
// around a backend engine that runs the inner newtonpf / fdpf iteration.
#include "gridbatch/ac_power_flow.hpp"

#include <Eigen/SparseLU>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include "core/ac_result_parts.hpp"
#include "core/angles.hpp"
#include "core/bridges.hpp"
#include "core/fast_decoupled_b.hpp"
#include "core/invalid_input.hpp"
#include "core/memory.hpp"
#include "core/slack.hpp"
#include "core/unit_phasor.hpp"
#include "cpu/parallel.hpp"
#include "engine/ac_engine.hpp"
#include "gridbatch/admittance.hpp"
#include "gridbatch/error.hpp"

namespace gridbatch {
namespace {

using detail::kDegToRad;
using detail::kPi;
using detail::kPQ;
using detail::kPV;
using detail::kRef;
constexpr Real kQLimitViolation = 5e-6;  // MATPOWER's opf.violation, used by runpf's Q limits
constexpr auto kIsolated = static_cast<std::int8_t>(BusType::isolated);

using TypeMatrix = Eigen::Matrix<std::int8_t, Eigen::Dynamic, Eigen::Dynamic>;
using FlagMatrix = Eigen::Matrix<std::int8_t, Eigen::Dynamic, Eigen::Dynamic>;

detail::CsrMatrix to_csr(const ComplexSparseMatrix& m) {
    detail::CsrMatrix out;
    out.rows = static_cast<int>(m.rows());
    out.cols = static_cast<int>(m.cols());
    out.row_ptr.assign(m.outerIndexPtr(), m.outerIndexPtr() + m.rows() + 1);
    out.col.assign(m.innerIndexPtr(), m.innerIndexPtr() + m.nonZeros());
    out.re.resize(static_cast<std::size_t>(m.nonZeros()));
    out.im.resize(static_cast<std::size_t>(m.nonZeros()));
    for (Index p = 0; p < m.nonZeros(); ++p) {
        out.re[static_cast<std::size_t>(p)] = m.valuePtr()[p].real();
        out.im[static_cast<std::size_t>(p)] = m.valuePtr()[p].imag();
    }
    return out;
}

// -imag(Ybus) as a real CSR matrix: MATPOWER's makeB builds B' and B'' this way.
detail::CsrMatrix negative_susceptance(const ComplexSparseMatrix& y) {
    detail::CsrMatrix out = to_csr(y);
    for (std::size_t p = 0; p < out.re.size(); ++p) out.re[p] = -out.im[p];
    out.im.clear();
    return out;
}

// MATPOWER's bustypes() on one scenario's bus table types and generator states, written back as
// effective types: PV/REF buses without an active generator are PQ; without a REF bus the first
// PV bus becomes REF. Isolated buses stay isolated (ext2int removes them in MATPOWER).
// Returns false when there is neither a REF nor a PV bus.
bool effective_types(const Network& net, const std::int8_t* table_type, const std::int8_t* gen_on,
                     std::int8_t* out) {
    const Index nb = net.n_bus();
    std::vector<char> has_gen(static_cast<std::size_t>(nb), 0);
    for (Index g = 0; g < net.n_gen(); ++g)
        if (gen_on[g]) has_gen[static_cast<std::size_t>(net.gen_bus()[g])] = 1;
    bool have_ref = false;
    Index first_pv = -1;
    for (Index i = 0; i < nb; ++i) {
        const std::int8_t t = table_type[i];
        if (t == kIsolated) {
            out[i] = kIsolated;
        } else if ((t == kRef || t == kPV) && has_gen[static_cast<std::size_t>(i)]) {
            out[i] = t;
            if (t == kRef) have_ref = true;
            if (t == kPV && first_pv < 0) first_pv = i;
        } else {
            out[i] = kPQ;
        }
    }
    if (have_ref) return true;
    if (first_pv < 0) return false;
    out[first_pv] = kRef;
    return true;
}

// Every connected part of the network (active branches) needs a reference bus (MATPOWER's runpf
// has one slack: an island without it is a singular Jacobian there).
void check_islands(const Network& net, const std::vector<int>& ref, const std::vector<int>& pv) {
    const Index nb = net.n_bus();
    std::vector<Index> parent(static_cast<std::size_t>(nb));
    std::iota(parent.begin(), parent.end(), Index{0});
    auto find = [&](Index i) {
        while (parent[static_cast<std::size_t>(i)] != i) {
            parent[static_cast<std::size_t>(i)] =
                parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(i)])];
            i = parent[static_cast<std::size_t>(i)];
        }
        return i;
    };
    for (Index k = 0; k < net.n_branch(); ++k)
        if (net.branch_active(k))
            parent[static_cast<std::size_t>(find(net.branch_from()[k]))] = find(net.branch_to()[k]);
    std::vector<char> has_ref(static_cast<std::size_t>(nb), 0);
    for (int r : ref) has_ref[static_cast<std::size_t>(find(r))] = 1;
    std::vector<Index> orphan;
    for (Index i = 0; i < nb; ++i)
        if (net.buses().type[i] != kIsolated && !has_ref[static_cast<std::size_t>(find(i))])
            orphan.push_back(i);
    if (orphan.empty()) return;
    std::ostringstream msg;
    msg << net.source() << ": AC power flow needs a reference bus in every island, but buses {";
    for (std::size_t j = 0; j < std::min<std::size_t>(orphan.size(), 10); ++j)
        msg << (j ? ", " : "") << net.buses().id[orphan[j]];
    if (orphan.size() > 10) msg << ", ... (" << orphan.size() << " buses)";
    std::vector<Index> orphan_pv;  // PV buses with an active generator among them
    for (int i : pv)
        if (!has_ref[static_cast<std::size_t>(find(i))]) orphan_pv.push_back(i);
    if (orphan_pv.empty()) {
        msg << "} form an island without a generator (no REF or PV bus): connect it, or mark "
               "its buses isolated (type 4)";
    } else {
        msg << "} form an island without a REF bus: make one of its PV buses (";
        for (std::size_t j = 0; j < std::min<std::size_t>(orphan_pv.size(), 5); ++j)
            msg << (j ? ", " : "") << net.buses().id[orphan_pv[j]];
        msg << (orphan_pv.size() > 5 ? ", ..." : "")
            << ") a REF bus (type 3), or mark the island's buses isolated (type 4)";
    }
    throw Error(ErrorKind::invalid_input, msg.str());
}

std::shared_ptr<const detail::PreparedAcNetwork> prepare(const Network& net,
                                                         const AcOptions& options) {
    auto p = std::make_shared<detail::PreparedAcNetwork>();
    p->n_bus = static_cast<int>(net.n_bus());
    p->n_gen = static_cast<int>(net.n_gen());
    p->n_branch = static_cast<int>(net.n_branch());
    p->base_mva = net.base_mva();
    const Admittance y = make_admittance(net);
    p->ybus = to_csr(y.ybus);
    p->yf = to_csr(y.yf);
    p->yt = to_csr(y.yt);
    p->branch_from.assign(net.branch_from().data(), net.branch_from().data() + net.n_branch());
    p->branch_to.assign(net.branch_to().data(), net.branch_to().data() + net.n_branch());

    FlagVector gen_on(net.n_gen());
    for (Index g = 0; g < net.n_gen(); ++g) gen_on[g] = net.gen_active(g) ? 1 : 0;
    FlagVector types(net.n_bus());
    if (!effective_types(net, net.buses().type.data(), gen_on.data(), types.data()))
        throw Error(ErrorKind::invalid_input,
                    net.source() +
                        ": AC power flow needs a REF or PV bus with an active "
                        "generator, but there is none");
    for (int i = 0; i < p->n_bus; ++i) {
        if (types[i] == kRef) p->ref.push_back(i);
        if (types[i] == kPV) p->pv.push_back(i);
        if (types[i] == kPQ) p->pq.push_back(i);
    }
    check_islands(net, p->ref, p->pv);

    const bool fd = options.algorithm != AcAlgorithm::newton;
    p->method = fd ? detail::AcMethod::fast_decoupled : detail::AcMethod::newton;
    if (fd) detail::make_fast_decoupled_b(net, options.algorithm, *p);
    p->tolerance = options.tolerance;
    p->max_iterations = options.max_iterations > 0 ? options.max_iterations : (fd ? 30 : 10);
    p->threads = options.threads;

    if (options.slack == SlackMode::distributed) {
        const Vector factor = detail::participation_factors(net, options.participation);
        p->slack_participation.assign(static_cast<std::size_t>(p->n_bus), 0.0);
        Real total = 0;
        for (Index g = 0; g < net.n_gen(); ++g)
            if (gen_on[g]) total += factor[g];
        for (Index g = 0; g < net.n_gen(); ++g)
            if (gen_on[g])
                p->slack_participation[static_cast<std::size_t>(net.gen_bus()[g])] +=
                    factor[g] / total;
    }
    return p;
}

void check_shape(const char* what, const MatrixView& m, Index rows, Index cols,
                 const char* row_name) {
    if (m.rows() != rows || m.cols() != cols) {
        std::ostringstream msg;
        msg << "AcBatch." << what << " has shape " << m.rows() << " x " << m.cols() << "; expected "
            << rows << " x " << cols << " (" << row_name << " x scenarios)";
        throw Error(ErrorKind::invalid_input, msg.str());
    }
}

void check_finite(const char* what, const MatrixView& m, const IndexVector& row_ids,
                  const char* row_name) {
    if (m.allFinite()) return;
    for (Index s = 0; s < m.cols(); ++s)
        for (Index i = 0; i < m.rows(); ++i)
            if (!std::isfinite(m(i, s))) {
                std::ostringstream msg;
                msg << "AcBatch." << what << "[" << row_name << " " << row_ids[i] << ", scenario "
                    << s << "] is " << m(i, s) << "; every value must be finite";
                throw Error(ErrorKind::invalid_input, msg.str());
            }
}

void validate_batch(const Network& net, const AcOptions& options, const AcBatch& b,
                    StartMode start) {
    const Index s = b.size();
    const IndexVector& bus_ids = net.buses().id;
    const IndexVector gen_rows = IndexVector::LinSpaced(net.n_gen(), 1, net.n_gen());
    check_shape("pd", b.pd, net.n_bus(), s, "buses");
    check_shape("qd", b.qd, net.n_bus(), s, "buses");
    check_finite("pd", b.pd, bus_ids, "bus");
    check_finite("qd", b.qd, bus_ids, "bus");
    if (b.pg) {
        check_shape("pg", *b.pg, net.n_gen(), s, "generators");
        check_finite("pg", *b.pg, gen_rows, "generator");
    }
    if (b.vg) {
        check_shape("vg", *b.vg, net.n_gen(), s, "generators");
        check_finite("vg", *b.vg, gen_rows, "generator");
        // As the case's own setpoints (Network): a magnitude <= 0 gave a singular or wandering
        // Newton iteration.
        for (Index j = 0; j < s; ++j)
            for (Index g = 0; g < net.n_gen(); ++g)
                if (net.gen_active(g) && !((*b.vg)(g, j) > 0)) {
                    std::ostringstream msg;
                    msg << "AcBatch.vg[generator " << g + 1 << ", scenario " << j << "] is "
                        << (*b.vg)(g, j) << " p.u.; a voltage setpoint must be > 0";
                    throw Error(ErrorKind::invalid_input, msg.str());
                }
    }
    if (b.outage) {
        if (b.outage->size() != s)
            throw Error(ErrorKind::invalid_input,
                        "AcBatch.outage has " + std::to_string(b.outage->size()) +
                            " entries; expected one per scenario (" + std::to_string(s) + ")");
        if (options.algorithm != AcAlgorithm::newton && (b.outage->array() >= 0).any())
            throw Error(ErrorKind::invalid_input,
                        "AcBatch.outage (branch outages) needs AcAlgorithm::newton");
        for (Index j = 0; j < s; ++j) {
            const Index k = (*b.outage)[j];
            detail::require_outage(
                net, k, "AcBatch.outage[" + std::to_string(j) + "] = " + std::to_string(k), true);
        }
    }
    if (start != StartMode::warm && (b.vm0 || b.va0_deg))  // they would be ignored
        throw Error(ErrorKind::invalid_input,
                    "AcBatch.vm0 / va0_deg (a warm start) are given, but the power flow starts "
                    "otherwise: set AcOptions.start to StartMode::warm");
    if (start == StartMode::warm) {
        if (!b.vm0 || !b.va0_deg)
            throw Error(ErrorKind::invalid_input,
                        "StartMode::warm needs AcBatch.vm0 and AcBatch.va0_deg");
        check_shape("vm0", *b.vm0, net.n_bus(), s, "buses");
        check_shape("va0_deg", *b.va0_deg, net.n_bus(), s, "buses");
        check_finite("vm0", *b.vm0, bus_ids, "bus");
        check_finite("va0_deg", *b.va0_deg, bus_ids, "bus");
    }
}

// Per-scenario state of runpf's outer loop, in MATPOWER units (MW, MVAr), one column each.
struct BatchState {
    Matrix bus_pd, bus_qd;  // n_bus x S (adjusted for generators fixed at a Q limit)
    Matrix gen_pg, gen_qg;  // n_gen x S
    FlagMatrix gen_on;      // n_gen x S
    TypeMatrix table_type;  // n_bus x S, the bus table's BUS_TYPE
    TypeMatrix type;        // n_bus x S, effective classes (bustypes)
    Matrix vm0, va0;        // n_bus x S, start (p.u., rad), setpoints applied
    Matrix fixed_qg;        // n_gen x S, Qg of generators held at a limit
    std::vector<std::vector<Index>> limited;  // generators held at a limit, in order
};

// Va from MATPOWER's DC power flow of each scenario (rundcpf), other buses' start untouched.
void dc_start(const Network& net, const detail::PreparedAcNetwork& p, const BatchState& st,
              Matrix& va) {
    DcMatrices dc;
    try {
        dc = make_dc_matrices(net);
    } catch (const Error&) {
        return;  // no DC model (a branch with x = 0): the case angles, as where B is singular
    }
    std::vector<int> pos(static_cast<std::size_t>(p.n_bus), -1);
    std::vector<int> pvpq(p.pv);
    pvpq.insert(pvpq.end(), p.pq.begin(), p.pq.end());
    std::sort(pvpq.begin(), pvpq.end());
    for (std::size_t j = 0; j < pvpq.size(); ++j)
        pos[static_cast<std::size_t>(pvpq[j])] = static_cast<int>(j);
    const int n = static_cast<int>(pvpq.size());
    std::vector<Eigen::Triplet<Real, int>> t;
    for (int i : pvpq)
        for (SparseMatrix::InnerIterator it(dc.bbus, i); it; ++it)
            if (pos[static_cast<std::size_t>(it.col())] >= 0)
                t.emplace_back(pos[static_cast<std::size_t>(i)],
                               pos[static_cast<std::size_t>(it.col())], it.value());
    Eigen::SparseMatrix<Real, Eigen::ColMajor, int> b(n, n);
    b.setFromTriplets(t.begin(), t.end());
    Eigen::SparseLU<Eigen::SparseMatrix<Real, Eigen::ColMajor, int>> lu;
    lu.compute(b);
    if (lu.info() != Eigen::Success) return;  // keep the case angles
    const Index ns = st.bus_pd.cols();
    Matrix rhs(n, ns);
    for (Index s = 0; s < ns; ++s) {
        Vector sbus = -st.bus_pd.col(s);
        for (Index g = 0; g < net.n_gen(); ++g)
            if (st.gen_on(g, s)) sbus[net.gen_bus()[g]] += st.gen_pg(g, s);
        const Vector pbus = (sbus - net.buses().gs) / p.base_mva - dc.pbusinj;
        for (int i : pvpq) {
            Real r = pbus[i];
            for (SparseMatrix::InnerIterator it(dc.bbus, i); it; ++it)
                if (pos[static_cast<std::size_t>(it.col())] < 0) r -= it.value() * va(it.col(), s);
            rhs(pos[static_cast<std::size_t>(i)], s) = r;
        }
    }
    const Matrix x = lu.solve(rhs);
    for (Index s = 0; s < ns; ++s)
        for (int i : pvpq) va(i, s) = x(pos[static_cast<std::size_t>(i)], s);
}

// MATPOWER's V0: start voltages with each active generator's setpoint at voltage-controlled
// buses (magnitude set, angle kept; the last generator at a bus wins, as in MATLAB).
void apply_setpoints(const Network& net, const AcBatch& b, BatchState& st) {
    const Index ns = b.size();
    for (Index s = 0; s < ns; ++s)
        for (Index g = 0; g < net.n_gen(); ++g) {
            const Index i = net.gen_bus()[g];
            if (!st.gen_on(g, s) || st.type(i, s) == kPQ) continue;
            st.vm0(i, s) = b.vg ? (*b.vg)(g, s) : net.generators().vg[g];
        }
}

// pfsoln for scenario s: Qg of generators at PV/REF buses (split as MATPOWER does), Pg of the
// first generator at each reference bus.
// `cut`: the scenario's branch outage, or nullptr.
void pfsoln(const Network& net, const detail::PreparedAcNetwork& p, const ComplexVector& v, Index s,
            BatchState& st, bool distributed, const detail::BranchAdmittance* cut) {
    const auto& gen = net.generators();
    const Index ng = net.n_gen();
    const Real base = p.base_mva;
    auto injection = [&](Index i) {
        Complex acc = 0;
        for (int q = p.ybus.row_ptr[static_cast<std::size_t>(i)];
             q < p.ybus.row_ptr[static_cast<std::size_t>(i) + 1]; ++q)
            acc += Complex(p.ybus.re[static_cast<std::size_t>(q)],
                           p.ybus.im[static_cast<std::size_t>(q)]) *
                   v[p.ybus.col[static_cast<std::size_t>(q)]];
        if (cut && i == cut->from) acc -= cut->yff * v[cut->from] + cut->yft * v[cut->to];
        if (cut && i == cut->to) acc -= cut->ytf * v[cut->from] + cut->ytt * v[cut->to];
        return v[i] * std::conj(acc);
    };
    std::vector<Index> on;
    for (Index g = 0; g < ng; ++g) {
        if (!st.gen_on(g, s)) {
            st.gen_qg(g, s) = 0;
            continue;
        }
        if (st.table_type(net.gen_bus()[g], s) != kPQ) on.push_back(g);
    }
    const Index nb = net.n_bus();
    std::vector<Complex> sbus(static_cast<std::size_t>(nb));
    std::vector<int> count(static_cast<std::size_t>(nb), 0);
    for (Index g : on) {
        const Index i = net.gen_bus()[g];
        if (count[static_cast<std::size_t>(i)]++ == 0)
            sbus[static_cast<std::size_t>(i)] = injection(i);
    }
    for (Index g : on) {
        const Index i = net.gen_bus()[g];
        st.gen_qg(g, s) = sbus[static_cast<std::size_t>(i)].imag() * base + st.bus_qd(i, s);
    }
    if (on.size() > 1) {
        constexpr Real kEps = std::numeric_limits<Real>::epsilon();
        const Real inf = std::numeric_limits<Real>::infinity();
        std::vector<Real> m_bus(static_cast<std::size_t>(nb), 0), qtot(m_bus), qmin_b(m_bus),
            qmax_b(m_bus);
        std::vector<Real> qmin(on.size()), qmax(on.size());
        for (std::size_t j = 0; j < on.size(); ++j) {
            const Index g = on[j], i = net.gen_bus()[g];
            st.gen_qg(g, s) /= count[static_cast<std::size_t>(i)];
            Real m = std::abs(st.gen_qg(g, s));
            if (!std::isinf(gen.qmax[g])) m += std::abs(gen.qmax[g]);
            if (!std::isinf(gen.qmin[g])) m += std::abs(gen.qmin[g]);
            m_bus[static_cast<std::size_t>(i)] += m;
        }
        for (std::size_t j = 0; j < on.size(); ++j) {
            const Index g = on[j], i = net.gen_bus()[g];
            const Real m = m_bus[static_cast<std::size_t>(i)];
            qmin[j] = gen.qmin[g] == inf ? m : gen.qmin[g] == -inf ? -m : gen.qmin[g];
            qmax[j] = gen.qmax[g] == inf ? m : gen.qmax[g] == -inf ? -m : gen.qmax[g];
            qtot[static_cast<std::size_t>(i)] += st.gen_qg(g, s);
            qmin_b[static_cast<std::size_t>(i)] += qmin[j];
            qmax_b[static_cast<std::size_t>(i)] += qmax[j];
        }
        for (std::size_t j = 0; j < on.size(); ++j) {
            const auto i = static_cast<std::size_t>(net.gen_bus()[on[j]]);
            const Real range = qmax_b[i] - qmin_b[i];
            if (std::abs(qmin_b[i] - qmax_b[i]) < 10 * kEps)
                st.gen_qg(on[j], s) = qmin[j] + (qtot[i] - qmin_b[i]) / count[i];
            else
                st.gen_qg(on[j], s) =
                    qmin[j] + (qtot[i] - qmin_b[i]) / (range + kEps) * (qmax[j] - qmin[j]);
        }
    }
    if (distributed) return;  // Pg already holds each generator's share of the slack
    for (Index r = 0; r < nb; ++r) {
        if (st.type(r, s) != kRef) continue;
        Index first = -1;
        Real others = 0;
        for (Index g : on) {
            if (net.gen_bus()[g] != r) continue;
            if (first < 0)
                first = g;
            else
                others += st.gen_pg(g, s);
        }
        if (first < 0) continue;
        st.gen_pg(first, s) =
            sbus[static_cast<std::size_t>(r)].real() * base + st.bus_pd(r, s) - others;
    }
}

}  // namespace

const char* to_string(AcAlgorithm algorithm) noexcept {
    switch (algorithm) {
        case AcAlgorithm::newton:
            return "newton";
        case AcAlgorithm::fast_decoupled_xb:
            return "fast_decoupled_xb";
        case AcAlgorithm::fast_decoupled_bx:
            return "fast_decoupled_bx";
    }
    return "unknown";
}

void AcOptions::validate(const Network& net) const {
    auto fail = [](const std::string& what) { throw Error(ErrorKind::invalid_input, what); };
    if (!(tolerance > 0) || !std::isfinite(tolerance)) {
        std::ostringstream msg;
        msg << "AcOptions.tolerance must be > 0 (got " << tolerance << ")";
        fail(msg.str());
    }
    if (max_iterations < 0)
        fail("AcOptions.max_iterations must be >= 0 (0 = default; got " +
             std::to_string(max_iterations) + ")");
    if (threads < 0)
        fail("AcOptions.threads must be >= 0 (0 = all cores; got " + std::to_string(threads) + ")");
    if (slack != SlackMode::distributed) {
        if (participation.size() > 0)
            fail(
                "AcOptions.participation is given but AcOptions.slack is single; set it to "
                "distributed to share the slack");
        return;
    }
    if (algorithm != AcAlgorithm::newton)
        fail("AcOptions.slack = distributed needs AcAlgorithm::newton");
    const Vector factor = detail::participation_factors(net, participation);
    detail::check_participation(net, factor, "AcOptions");  // the default's too (an infinite Pmax)
    Real total = 0;
    for (Index g = 0; g < net.n_gen(); ++g)
        if (net.gen_active(g)) total += factor[g];
    if (!(total > 0))
        fail(std::string("AcOptions: distributed slack: the participation factors") +
             (participation.size() ? "" : " (default: Pmax)") +
             " of the in-service generators sum to 0");
    Index n_ref = 0;
    for (Index i = 0; i < net.n_bus(); ++i)
        if (net.buses().type[i] == kRef) ++n_ref;
    if (n_ref > 1)
        fail("AcOptions.slack = distributed needs a single REF bus; " + net.source() + " has " +
             std::to_string(n_ref));
    if (enforce_q_limits)
        fail("AcOptions.slack = distributed cannot be combined with enforce_q_limits");
}

AcPowerFlow::AcPowerFlow(const Network& net, AcOptions options)
    : net_(net), options_(std::move(options)) {
    options_.validate(net_);
    prepared_ = prepare(net_, options_);
    backend_ = resolve_backend(options_.backend);
    engine_ = backend_ == Backend::cuda ? detail::cuda::make_ac_engine(prepared_, options_.device)
                                        : detail::cpu::make_ac_engine(prepared_);
}

AcPowerFlow::~AcPowerFlow() = default;
AcPowerFlow::AcPowerFlow(AcPowerFlow&&) noexcept = default;
AcPowerFlow& AcPowerFlow::operator=(AcPowerFlow&&) noexcept = default;

AcPowerFlowResult AcPowerFlow::solve(MatrixView pd_mw, MatrixView qd_mvar) const {
    return solve(AcBatch(pd_mw, qd_mvar));
}

AcPowerFlowResult AcPowerFlow::solve() const {
    const Matrix pd = net_.buses().pd, qd = net_.buses().qd;
    return solve(AcBatch(pd, qd));
}

AcPowerFlowResult AcPowerFlow::solve(const AcBatch& batch) const {
    return solve(batch, options_.start);
}

AcPowerFlowResult AcPowerFlow::solve(const AcBatch& batch, StartMode start) const {
    validate_batch(net_, options_, batch, start);
    return start == StartMode::previous_step ? solve_time_series(batch) : solve_batch(batch, start);
}

AcPowerFlowResult AcPowerFlow::solve_time_series(const AcBatch& batch) const {
    const Index nb = net_.n_bus(), ng = net_.n_gen(), ns = batch.size();
    AcPowerFlowResult res = detail::sized_result(net_, ns, backend_);
    // Filled a column at a time by one thread: mapped at once (core/memory.hpp).
    for (Matrix* m : {&res.vm, &res.va, &res.pg, &res.qg, &res.pf, &res.qf, &res.pt, &res.qt})
        detail::populate(*m);
    const Index n_blocks = (ns + kTimeSeriesBlock - 1) / kTimeSeriesBlock;
    // Wave w solves step w of every block, warm from wave w - 1.
    for (Index w = 0; w < kTimeSeriesBlock; ++w) {
        std::vector<Index> cols;
        for (Index b = 0; b < n_blocks && b * kTimeSeriesBlock + w < ns; ++b)
            cols.push_back(b * kTimeSeriesBlock + w);
        if (cols.empty()) break;
        const auto m = static_cast<Index>(cols.size());
        Matrix pd(nb, m), qd(nb, m), pg, vg, vm0(nb, m), va0(nb, m);
        IndexVector outage;
        if (batch.outage) outage.resize(m);
        if (batch.pg) pg.resize(ng, m);
        if (batch.vg) vg.resize(ng, m);
        for (Index j = 0; j < m; ++j) {
            const Index s = cols[static_cast<std::size_t>(j)];
            pd.col(j) = batch.pd.col(s);
            qd.col(j) = batch.qd.col(s);
            if (batch.pg) pg.col(j) = batch.pg->col(s);
            if (batch.vg) vg.col(j) = batch.vg->col(s);
            if (batch.outage) outage[j] = (*batch.outage)[s];
            // From the step before where it converged; a bus its outage cut off is NaN there
            // and starts from the case's values (a NaN start spoiled the step after).
            const bool warm = w > 0 && res.report.at(s - 1) == Status::converged;
            for (Index i = 0; i < nb; ++i) {
                const bool from_previous =
                    warm && std::isfinite(res.vm(i, s - 1)) && std::isfinite(res.va(i, s - 1));
                vm0(i, j) = from_previous ? res.vm(i, s - 1) : net_.buses().vm[i];
                va0(i, j) = from_previous ? res.va(i, s - 1) : net_.buses().va[i];
            }
        }
        AcBatch step(pd, qd);
        if (batch.pg) step.pg.emplace(pg);
        if (batch.vg) step.vg.emplace(vg);
        step.vm0.emplace(vm0);
        step.va0_deg.emplace(va0);
        if (batch.outage) step.outage.emplace(outage);
        const AcPowerFlowResult r = solve_batch(step, StartMode::warm);
        for (Index j = 0; j < m; ++j)
            detail::copy_scenario(r, j, res, cols[static_cast<std::size_t>(j)]);
    }
    return res;
}

AcPowerFlowResult AcPowerFlow::solve_batch(const AcBatch& batch, StartMode start) const {
    const detail::PreparedAcNetwork& p = *prepared_;
    const Network& net = net_;
    const Index nb = net.n_bus(), ng = net.n_gen(), nl = net.n_branch(), ns = batch.size();
    const bool distributed = !p.slack_participation.empty();
    const Vector factor =
        distributed ? detail::participation_factors(net, options_.participation) : Vector();
    // Results and batch state are held for every scenario at once.
    detail::require_host_memory(static_cast<double>(ns) * detail::solve_bytes_per_scenario(net),
                                "AC power flow of " + std::to_string(ns) + " scenarios");

    BatchState st;
    st.bus_pd = batch.pd;
    st.bus_qd = batch.qd;
    st.gen_pg = batch.pg ? Matrix(*batch.pg) : Matrix(net.generators().pg.replicate(1, ns));
    st.gen_qg = net.generators().qg.replicate(1, ns);
    st.gen_on.resize(ng, ns);
    for (Index g = 0; g < ng; ++g) st.gen_on.row(g).setConstant(net.gen_active(g) ? 1 : 0);
    st.table_type = net.buses().type.replicate(1, ns);
    st.type.resize(nb, ns);
    {
        FlagVector t0 = FlagVector::Constant(nb, kPQ);
        for (int i : p.ref) t0[i] = kRef;
        for (int i : p.pv) t0[i] = kPV;
        for (Index i = 0; i < nb; ++i)
            if (net.buses().type[i] == kIsolated) t0[i] = kIsolated;
        st.type = t0.replicate(1, ns);
    }
    st.fixed_qg = Matrix::Zero(ng, ns);
    st.limited.assign(static_cast<std::size_t>(ns), {});
    switch (start) {
        case StartMode::flat:
            st.vm0 = Matrix::Ones(nb, ns);
            st.va0 = Matrix::Zero(nb, ns);
            break;
        case StartMode::from_case:
        case StartMode::previous_step:  // solve_time_series() passes its steps as warm
        case StartMode::from_dc:
            st.vm0 = net.buses().vm.replicate(1, ns);
            st.va0 = (net.buses().va * kDegToRad).replicate(1, ns);
            if (start == StartMode::from_dc) {
                st.vm0.setOnes();
                dc_start(net, p, st, st.va0);
            }
            break;
        case StartMode::warm:
            st.vm0 = *batch.vm0;
            st.va0 = *batch.va0_deg * kDegToRad;
            break;
    }
    apply_setpoints(net, batch, st);
    Matrix ref_angle0(static_cast<Index>(p.ref.size()), ns);  // runpf's Varef0 (rad)
    for (std::size_t r = 0; r < p.ref.size(); ++r)
        ref_angle0.row(static_cast<Index>(r)) = st.va0.row(p.ref[r]);

    AcPowerFlowResult res;
    res.backend = backend_;
    res.report = ScenarioReport(ns);
    res.q_limited_buses.assign(static_cast<std::size_t>(ns), {});
    res.slack_mw = Vector::Zero(ns);
    // Results are mapped at once (core/memory.hpp): a batch's are hundreds of MB, and page by
    // page the mapping cost more than the solves.
    Matrix vm(nb, ns), va(nb, ns);
    detail::populate(vm);
    detail::populate(va);

    // Branch outages: each scenario's share of Ybus to take out. An outage that leaves buses
    // without a reference bus de-energises them: their generators trip and their loads are lost
    // (cut_off, one list per such outage); with a distributed slack, whose shares they would
    // change, the scenario is not solved.
    std::vector<int> outage(static_cast<std::size_t>(ns), -1);
    std::vector<detail::BranchAdmittance> cut(batch.outage ? static_cast<std::size_t>(ns) : 0);
    std::vector<const std::vector<int>*> cut_off(static_cast<std::size_t>(ns), nullptr);
    std::map<int, std::vector<int>> cut_off_by_outage;
    std::vector<Index> active;
    if (batch.outage) {
        std::vector<char> reference(static_cast<std::size_t>(nb), 0);
        for (int r : p.ref) reference[static_cast<std::size_t>(r)] = 1;
        const detail::BranchGraph graph(net);
        const std::vector<bool> islanding = graph.bridges(&reference);
        for (Index s = 0; s < ns; ++s) {
            const auto ss = static_cast<std::size_t>(s);
            const int k = static_cast<int>((*batch.outage)[s]);
            if (k < 0) continue;
            outage[ss] = k;
            cut[ss] = detail::branch_admittance(p, k);
            if (!islanding[static_cast<std::size_t>(k)]) continue;
            if (distributed) {
                res.report.status[s] = static_cast<std::int8_t>(Status::islanded);
                continue;
            }
            auto it = cut_off_by_outage.find(k);
            if (it == cut_off_by_outage.end())
                it = cut_off_by_outage.emplace(k, graph.cut_off(k, reference)).first;
            cut_off[ss] = &it->second;
            std::vector<char> dead(static_cast<std::size_t>(nb), 0);
            for (int i : it->second) dead[static_cast<std::size_t>(i)] = 1;
            for (Index g = 0; g < ng; ++g)
                if (dead[static_cast<std::size_t>(net.gen_bus()[g])]) st.gen_on(g, s) = 0;
        }
    }
    for (Index s = 0; s < ns; ++s)
        if (res.report.at(s) != Status::islanded) active.push_back(s);
    const auto cut_of = [&](Index s) -> const detail::BranchAdmittance* {
        return outage[static_cast<std::size_t>(s)] >= 0 ? &cut[static_cast<std::size_t>(s)]
                                                        : nullptr;
    };
    bool types_changed = false;
    while (!active.empty()) {
        const auto na = static_cast<Index>(active.size());
        // The first round takes every scenario in order: its start voltages need no gathering.
        const bool all = na == ns;
        Matrix p_spec(nb, na), q_spec(nb, na), vm0(nb, all ? 0 : na), va0(nb, all ? 0 : na);
        TypeMatrix types;
        if (types_changed) types.resize(nb, na);
        for (Index j = 0; j < na; ++j) {
            const Index s = active[static_cast<std::size_t>(j)];
            p_spec.col(j) = -st.bus_pd.col(s);
            q_spec.col(j) = -st.bus_qd.col(s);
            for (Index g = 0; g < ng; ++g) {
                if (!st.gen_on(g, s)) continue;
                p_spec(net.gen_bus()[g], j) += st.gen_pg(g, s);
                q_spec(net.gen_bus()[g], j) += st.gen_qg(g, s);
            }
            if (!all) {
                vm0.col(j) = st.vm0.col(s);
                va0.col(j) = st.va0.col(s);
            }
            if (types_changed) types.col(j) = st.type.col(s);
        }
        p_spec /= p.base_mva;
        q_spec /= p.base_mva;
        std::vector<int> active_outage;
        std::vector<const std::vector<int>*> active_cut_off;
        if (batch.outage)
            for (Index s : active) {
                active_outage.push_back(outage[static_cast<std::size_t>(s)]);
                active_cut_off.push_back(cut_off[static_cast<std::size_t>(s)]);
            }
        detail::AcEngineBatch eb{p_spec,
                                 q_spec,
                                 all ? st.vm0 : vm0,
                                 all ? st.va0 : va0,
                                 types_changed ? &types : nullptr,
                                 batch.outage ? active_outage.data() : nullptr,
                                 batch.outage ? active_cut_off.data() : nullptr};
        detail::AcEngineOutput out;
        out.vm.resize(nb, na);
        out.va.resize(nb, na);
        detail::populate(out.vm);
        detail::populate(out.va);
        out.slack = Vector::Zero(na);
        out.report = ScenarioReport(na);
        engine_->solve(eb, out);

        // Per scenario: results, pfsoln and runpf's Q-limit step; columns are independent.
        std::vector<char> repeat(static_cast<std::size_t>(na), 0);
        auto finish_scenario = [&](Index j) {
            const Index s = active[static_cast<std::size_t>(j)];
            vm.col(s) = out.vm.col(j);
            va.col(s) = out.va.col(j);
            res.report.status[s] = out.report.status[j];
            res.report.iterations[s] += out.report.iterations[j];
            res.report.max_mismatch[s] = out.report.max_mismatch[j];
            if (distributed) {
                res.slack_mw[s] = out.slack[j] * p.base_mva;
                Real on_total = 0;
                for (Index g = 0; g < ng; ++g)
                    if (st.gen_on(g, s)) on_total += factor[g];
                for (Index g = 0; g < ng; ++g)
                    if (st.gen_on(g, s)) st.gen_pg(g, s) += res.slack_mw[s] * factor[g] / on_total;
            }
            ComplexVector v(nb);
            for (Index i = 0; i < nb; ++i) v[i] = vm(i, s) * detail::unit_phasor(va(i, s));
            pfsoln(net, p, v, s, st, distributed, cut_of(s));
            if (!options_.enforce_q_limits || out.report.at(j) != Status::converged) return;

            // runpf's enforce_q_lims = 1: every violating generator at once.
            std::vector<Index> mx, mn;
            const auto& gen = net.generators();
            for (Index g = 0; g < ng; ++g) {
                if (!st.gen_on(g, s)) continue;
                if (st.gen_qg(g, s) > gen.qmax[g] + kQLimitViolation) mx.push_back(g);
                if (st.gen_qg(g, s) < gen.qmin[g] - kQLimitViolation) mn.push_back(g);
            }
            if (mx.empty() && mn.empty()) return;
            std::vector<Index> infeas(mx);
            infeas.insert(infeas.end(), mn.begin(), mn.end());
            std::sort(infeas.begin(), infeas.end());
            std::vector<Index> remaining;
            for (Index g = 0; g < ng; ++g) {
                const auto t = st.table_type(net.gen_bus()[g], s);
                if (st.gen_on(g, s) && (t == kPV || t == kRef)) remaining.push_back(g);
            }
            if (infeas == remaining && (mx.empty() || mn.empty())) {
                res.report.status[s] = static_cast<std::int8_t>(Status::infeasible);
                return;
            }
            for (Index g : mx) st.fixed_qg(g, s) = gen.qmax[g];
            for (Index g : mn) st.fixed_qg(g, s) = gen.qmin[g];
            mx.insert(mx.end(), mn.begin(), mn.end());
            bool hits_ref = false;
            for (Index g : mx) {
                const Index i = net.gen_bus()[g];
                st.gen_qg(g, s) = st.fixed_qg(g, s);
                st.gen_on(g, s) = 0;
                st.bus_pd(i, s) -= st.gen_pg(g, s);
                st.bus_qd(i, s) -= st.gen_qg(g, s);
                if (st.table_type(i, s) == kRef) hits_ref = true;
            }
            // Restored after the loop (on at their limit), also where this scenario stops below.
            for (Index g : mx) st.limited[static_cast<std::size_t>(s)].push_back(g);
            if (hits_ref && p.ref.size() > 1) {
                // MATPOWER stops with an error here; one scenario must not stop the batch.
                res.report.status[s] = static_cast<std::int8_t>(Status::infeasible);
                return;
            }
            for (Index g : mx) {
                const Index i = net.gen_bus()[g];
                if (st.table_type(i, s) != kPQ)
                    res.q_limited_buses[static_cast<std::size_t>(s)].push_back(net.buses().id[i]);
                st.table_type(i, s) = kPQ;
            }
            std::vector<Index> ref_before;
            for (Index i = 0; i < nb; ++i)
                if (st.type(i, s) == kRef) ref_before.push_back(i);
            FlagVector gen_on_s = st.gen_on.col(s), table_s = st.table_type.col(s);
            FlagVector eff(nb);
            if (!effective_types(net, table_s.data(), gen_on_s.data(), eff.data())) {
                res.report.status[s] = static_cast<std::int8_t>(Status::infeasible);
                return;
            }
            std::vector<Index> ref_after;
            for (Index i = 0; i < nb; ++i)
                if (eff[i] == kRef) ref_after.push_back(i);
            if (ref_after != ref_before)  // runpf keeps the bus table consistent with bustypes
                for (Index i = 0; i < nb; ++i)
                    if (eff[i] == kRef || eff[i] == kPV) st.table_type(i, s) = eff[i];
            st.type.col(s) = eff;
            st.vm0.col(s) = vm.col(s);  // runpf: "start next solve with current solution"
            st.va0.col(s) = va.col(s);
            repeat[static_cast<std::size_t>(j)] = 1;
        };
        detail::cpu::parallel_for(na, options_.threads, 16, [&](int, Index begin, Index end) {
            for (Index j = begin; j < end; ++j) finish_scenario(j);
        });
        std::vector<Index> again;
        for (Index j = 0; j < na; ++j)
            if (repeat[static_cast<std::size_t>(j)])
                again.push_back(active[static_cast<std::size_t>(j)]);
        if (!again.empty()) types_changed = true;
        active.swap(again);
    }

    // runpf after the loop: limited generators back on at their limit, loads restored, angles
    // shifted so the original reference bus keeps its angle.
    for (Index s = 0; s < ns; ++s) {
        const auto& lim = st.limited[static_cast<std::size_t>(s)];
        if (lim.empty()) continue;
        for (Index g : lim) {
            const Index i = net.gen_bus()[g];
            st.gen_qg(g, s) = st.fixed_qg(g, s);
            st.bus_pd(i, s) += st.gen_pg(g, s);
            st.bus_qd(i, s) += st.gen_qg(g, s);
            st.gen_on(g, s) = 1;
        }
        if (!p.ref.empty() && st.type(p.ref[0], s) != kRef) {
            const Real shift = ref_angle0(0, s) - va(p.ref[0], s);
            va.col(s).array() += shift;
        }
    }

    // Isolated buses are outside the power flow (MATPOWER's ext2int drops them) and keep the
    // case's voltage whatever the start.
    for (Index i = 0; i < nb; ++i)
        if (net.buses().type[i] == kIsolated) {
            vm.row(i).setConstant(net.buses().vm[i]);
            va.row(i).setConstant(net.buses().va[i] * kDegToRad);
        }
    res.vm = std::move(vm);
    res.va.resize(nb, ns);
    res.pg.resize(ng, ns);
    res.qg.resize(ng, ns);
    for (Matrix* m : {&res.va, &res.pg, &res.qg}) detail::populate(*m);
    res.va = va / kDegToRad;
    res.pg.setZero();
    res.qg.setZero();
    for (Index s = 0; s < ns; ++s)
        for (Index g = 0; g < ng; ++g)
            if (st.gen_on(g, s)) {
                res.pg(g, s) = st.gen_pg(g, s);
                res.qg(g, s) = st.gen_qg(g, s);
            }
    for (Matrix* m : {&res.pf, &res.qf, &res.pt, &res.qt}) {
        m->resize(nl, ns);
        detail::populate(*m);
    }
    res.loss_mw.resize(ns);
    res.loss_mvar.resize(ns);
    const Real base = p.base_mva;
    detail::cpu::parallel_for(ns, options_.threads, 16, [&](int, Index begin, Index end) {
        ComplexVector v(nb);
        for (Index s = begin; s < end; ++s) {
            for (Index i = 0; i < nb; ++i) v[i] = res.vm(i, s) * detail::unit_phasor(va(i, s));
            if (const std::vector<int>* dead = cut_off[static_cast<std::size_t>(s)]) {
                // De-energised: no voltage, no flow in their branches.
                for (int i : *dead) {
                    v[i] = 0;
                    res.vm(i, s) = res.va(i, s) = std::numeric_limits<Real>::quiet_NaN();
                }
            }
            Complex loss = 0;
            for (Index k = 0; k < nl; ++k) {
                if (k == outage[static_cast<std::size_t>(s)]) {
                    res.pf(k, s) = res.qf(k, s) = res.pt(k, s) = res.qt(k, s) = 0;
                    continue;
                }
                Complex i_f = 0, i_t = 0;
                const auto kk = static_cast<std::size_t>(k);
                for (int q = p.yf.row_ptr[kk]; q < p.yf.row_ptr[kk + 1]; ++q) {
                    const auto qq = static_cast<std::size_t>(q);
                    i_f += Complex(p.yf.re[qq], p.yf.im[qq]) * v[p.yf.col[qq]];
                }
                for (int q = p.yt.row_ptr[kk]; q < p.yt.row_ptr[kk + 1]; ++q) {
                    const auto qq = static_cast<std::size_t>(q);
                    i_t += Complex(p.yt.re[qq], p.yt.im[qq]) * v[p.yt.col[qq]];
                }
                const Complex sf = v[net.branch_from()[k]] * std::conj(i_f) * base;
                const Complex stt = v[net.branch_to()[k]] * std::conj(i_t) * base;
                res.pf(k, s) = sf.real();
                res.qf(k, s) = sf.imag();
                res.pt(k, s) = stt.real();
                res.qt(k, s) = stt.imag();
                loss += sf + stt;
            }
            res.loss_mw[s] = loss.real();
            res.loss_mvar[s] = loss.imag();
        }
    });
    for (Index s = 0; s < ns; ++s)
        if (res.report.at(s) == Status::islanded) {
            for (Matrix* m :
                 {&res.vm, &res.va, &res.pg, &res.qg, &res.pf, &res.qf, &res.pt, &res.qt})
                m->col(s).setConstant(std::numeric_limits<Real>::quiet_NaN());
            res.loss_mw[s] = res.loss_mvar[s] = std::numeric_limits<Real>::quiet_NaN();
        }
    return res;
}

AcPowerFlowResult ac_power_flow(const Network& net, const AcBatch& batch,
                                const AcOptions& options) {
    return AcPowerFlow(net, options).solve(batch);
}

namespace detail {

BranchAdmittance branch_admittance(const PreparedAcNetwork& p, int k) {
    BranchAdmittance b;
    b.from = p.branch_from[static_cast<std::size_t>(k)];
    b.to = p.branch_to[static_cast<std::size_t>(k)];
    // The value at (row, col) of a CSR matrix and its index (columns sorted in each row).
    const auto entry = [](const CsrMatrix& m, int row, int col, int& at) {
        const auto first = m.col.begin() + m.row_ptr[static_cast<std::size_t>(row)],
                   last = m.col.begin() + m.row_ptr[static_cast<std::size_t>(row) + 1];
        const auto it = std::lower_bound(first, last, col);
        if (it == last || *it != col) {
            at = -1;
            return Complex(0, 0);
        }
        at = static_cast<int>(it - m.col.begin());
        return Complex(m.re[static_cast<std::size_t>(at)], m.im[static_cast<std::size_t>(at)]);
    };
    int unused = 0;
    b.yff = entry(p.yf, k, b.from, unused);
    b.yft = entry(p.yf, k, b.to, unused);
    b.ytf = entry(p.yt, k, b.from, unused);
    b.ytt = entry(p.yt, k, b.to, unused);
    entry(p.ybus, b.from, b.from, b.at_ff);
    entry(p.ybus, b.from, b.to, b.at_ft);
    entry(p.ybus, b.to, b.from, b.at_tf);
    entry(p.ybus, b.to, b.to, b.at_tt);
    return b;
}

// B' and B'' as MATPOWER 8's runpf builds them (MP-Core, fdpf_B_matrix_models): B' without bus
// shunts, line charging and taps (and without resistance for XB); B'' without bus shunts and phase
// shifts (and without resistance for BX). Legacy makeB keeps the bus shunts in B''; with them the
// iteration counts of the references (case_ACTIVSg2000, case13659pegase) are not reproduced.
void make_fast_decoupled_b(const Network& net, AcAlgorithm alg, PreparedAcNetwork& p) {
    const BranchTable& given = net.branches();
    for (Index k = 0; k < given.size(); ++k)
        if (net.branch_active(k) && given.x[k] == 0)
            throw Error(
                ErrorKind::invalid_input,
                net.source() + ": branch row " + std::to_string(k + 1) + " (bus " +
                    std::to_string(given.from[k]) + " -> " + std::to_string(given.to[k]) +
                    ") has x = 0: the fast-decoupled " +
                    (alg == AcAlgorithm::fast_decoupled_xb ? "XB method's B'" : "BX method's B''") +
                    " leaves resistance out, and this branch with it; Newton-Raphson "
                    "solves it");
    BusTable bus = net.buses();
    BranchTable br = net.branches();
    bus.bs.setZero();
    br.b.setZero();
    br.tap.setOnes();
    if (alg == AcAlgorithm::fast_decoupled_xb) br.r.setZero();
    const Network bp_net =
        Network::from_tables(net.base_mva(), bus, net.generators(), br, net.source() + " (B')");
    p.b_prime = negative_susceptance(make_admittance(bp_net).ybus);

    BranchTable br2 = net.branches();
    br2.shift.setZero();
    if (alg == AcAlgorithm::fast_decoupled_bx) br2.r.setZero();
    const Network bpp_net =
        Network::from_tables(net.base_mva(), bus, net.generators(), br2, net.source() + " (B'')");
    p.b_double_prime = negative_susceptance(make_admittance(bpp_net).ybus);
}

}  // namespace detail
}  // namespace gridbatch
