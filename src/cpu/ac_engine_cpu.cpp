// CPU AC engine: MATPOWER's newtonpf (polar, power mismatch) and fdpf, one scenario per thread at
// a time. The Jacobian pattern of a set of bus classes, the map from Ybus entries to Jacobian
// entries and the symbolic LU are built once and shared by all workers; each worker keeps its own
// numeric LU (refactorised per iteration) and vectors. Newton's Jacobian is factorised in 2x2
// blocks per bus (block_lu.hpp) where SuiteSparse's AMD is built in, with KLU's partial pivoting
// as the fallback of a scenario whose block pivots fail. A distributed slack's unknown has no
// bus: it is a rank-one correction of a block matrix (Sherman-Morrison, make_layout).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "core/angles.hpp"
#include "core/diverged_mismatch.hpp"
#include "core/unit_phasor.hpp"
#include "cpu/ac_linear_solver.hpp"
#ifdef GRIDBATCH_HAVE_AMD
#include "cpu/block_lu.hpp"
#endif
#include "cpu/parallel.hpp"
#include "engine/ac_engine.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/network.hpp"

namespace gridbatch::detail::cpu {
namespace {

inline bool diverging(Real norm) { return std::isnan(norm) || norm > kDivergedMismatch; }

using TypeKey = std::vector<std::int8_t>;

// Builds a CSC pattern from (col, row, slot) entries and returns, per slot, its value index.
std::shared_ptr<CscPattern> csc_from_entries(int n, std::vector<std::tuple<int, int, int>> e,
                                             std::vector<int>& slot_pos) {
    std::sort(e.begin(), e.end());
    auto p = std::make_shared<CscPattern>();
    p->n = n;
    p->col_ptr.assign(static_cast<std::size_t>(n) + 1, 0);
    p->row.resize(e.size());
    for (std::size_t j = 0; j < e.size(); ++j) {
        const auto [c, r, slot] = e[j];
        p->row[j] = r;
        ++p->col_ptr[static_cast<std::size_t>(c) + 1];
        slot_pos[static_cast<std::size_t>(slot)] = static_cast<int>(j);
    }
    for (int c = 0; c < n; ++c)
        p->col_ptr[static_cast<std::size_t>(c) + 1] += p->col_ptr[static_cast<std::size_t>(c)];
    return p;
}

// A principal submatrix B(idx, idx) of a real CSR matrix, as CSC pattern + values.
struct SubMatrix {
    std::shared_ptr<const LuSymbolic> symbolic;
    std::vector<Real> values;
};
SubMatrix submatrix(const CsrMatrix& b, const std::vector<int>& idx, LuKind kind) {
    std::vector<int> pos(static_cast<std::size_t>(b.rows), -1);
    for (std::size_t j = 0; j < idx.size(); ++j)
        pos[static_cast<std::size_t>(idx[j])] = static_cast<int>(j);
    std::vector<std::tuple<int, int, int>> e;
    std::vector<Real> slot_value;
    for (std::size_t j = 0; j < idx.size(); ++j) {
        const auto i = static_cast<std::size_t>(idx[j]);
        for (int q = b.row_ptr[i]; q < b.row_ptr[i + 1]; ++q) {
            const int c = pos[static_cast<std::size_t>(b.col[static_cast<std::size_t>(q)])];
            if (c < 0) continue;
            e.emplace_back(c, static_cast<int>(j), static_cast<int>(slot_value.size()));
            slot_value.push_back(b.re[static_cast<std::size_t>(q)]);
        }
    }
    std::vector<int> slot_pos(slot_value.size());
    auto pattern = csc_from_entries(static_cast<int>(idx.size()), std::move(e), slot_pos);
    SubMatrix out;
    out.values.resize(slot_value.size());
    for (std::size_t s = 0; s < slot_value.size(); ++s)
        out.values[static_cast<std::size_t>(slot_pos[s])] = slot_value[s];
    out.symbolic = std::make_shared<LuSymbolic>(std::move(pattern), kind);
    return out;
}

// Everything that depends on the bus classes but not on the values of a scenario.
struct Layout {
    std::vector<int> ref, pv, pq, pvpq;
    // Per bus: row of its P / Q equation, column of its Va / Vm unknown, or -1.
    std::vector<int> row_p, row_q, col_a, col_m;
    int n = 0;            // unknowns = equations
    int col_lambda = -1;  // distributed slack unknown
    // Newton: per Ybus entry, where d(P|Q)/d(Va|Vm) goes in the Jacobian's value array.
    std::shared_ptr<const LuSymbolic> jacobian;
    std::vector<int> pos_pa, pos_pm, pos_qa, pos_qm;
    std::vector<std::pair<int, Real>> lambda_entries;  // (value index, -participation)
#ifdef GRIDBATCH_HAVE_AMD
    // Newton in 2x2 blocks, where used: per Ybus entry its block in the factor (-1 where either
    // bus has no P equation), per bus its block row in the factor's order (-1 likewise).
    std::shared_ptr<const BlockLuPattern> blocks;
    std::vector<int> block_pos, block_row;
    // Distributed slack: the block row of the reference bus, whose Va entry holds lambda, and the
    // correction u of the lambda column, (entry, value) in the block vector (make_layout).
    int lambda_block = -1;
    std::vector<std::pair<int, Real>> lambda_correction;
#endif
    // Fast-decoupled: B'(pvpq, pvpq) and B''(pq, pq).
    SubMatrix b_prime, b_double_prime;
};

std::shared_ptr<const Layout> make_layout(const PreparedAcNetwork& net, const TypeKey& types,
                                          LuKind kind, bool blocks) {
    auto l = std::make_shared<Layout>();
    const int nb = net.n_bus;
    for (int i = 0; i < nb; ++i) {
        const auto t = types[static_cast<std::size_t>(i)];
        if (t == kRef) l->ref.push_back(i);
        if (t == kPV) l->pv.push_back(i);
        if (t == kPQ) l->pq.push_back(i);
    }
    // MATPOWER's order: unknowns [Va(pv); Va(pq); Vm(pq)], equations [P(pv); P(pq); Q(pq)].
    l->pvpq = l->pv;
    l->pvpq.insert(l->pvpq.end(), l->pq.begin(), l->pq.end());
    const auto sz = static_cast<std::size_t>(nb);
    l->row_p.assign(sz, -1);
    l->row_q.assign(sz, -1);
    l->col_a.assign(sz, -1);
    l->col_m.assign(sz, -1);
    int k = 0;
    for (int i : l->pvpq) {
        l->row_p[static_cast<std::size_t>(i)] = k;
        l->col_a[static_cast<std::size_t>(i)] = k++;
    }
    for (int i : l->pq) {
        l->row_q[static_cast<std::size_t>(i)] = k;
        l->col_m[static_cast<std::size_t>(i)] = k++;
    }
    const bool distributed = !net.slack_participation.empty();
    if (distributed) {  // the reference bus's P balance and the total slack join the system
        for (int i : l->ref) l->row_p[static_cast<std::size_t>(i)] = k;
        l->col_lambda = k++;
    }
    l->n = k;

    if (net.method == AcMethod::fast_decoupled) {
        l->b_prime = submatrix(net.b_prime, l->pvpq, kind);
        l->b_double_prime = submatrix(net.b_double_prime, l->pq, kind);
        return l;
    }
    const CsrMatrix& y = net.ybus;
    const auto nnz = static_cast<std::size_t>(y.nnz());
    std::vector<std::tuple<int, int, int>> e;
    e.reserve(4 * nnz + sz);
    for (int i = 0; i < nb; ++i) {
        const int rp = l->row_p[static_cast<std::size_t>(i)];
        const int rq = l->row_q[static_cast<std::size_t>(i)];
        for (int q = y.row_ptr[static_cast<std::size_t>(i)];
             q < y.row_ptr[static_cast<std::size_t>(i) + 1]; ++q) {
            const auto c = static_cast<std::size_t>(y.col[static_cast<std::size_t>(q)]);
            const int ca = l->col_a[c], cm = l->col_m[c];
            if (rp >= 0 && ca >= 0) e.emplace_back(ca, rp, 4 * q);
            if (rp >= 0 && cm >= 0) e.emplace_back(cm, rp, 4 * q + 1);
            if (rq >= 0 && ca >= 0) e.emplace_back(ca, rq, 4 * q + 2);
            if (rq >= 0 && cm >= 0) e.emplace_back(cm, rq, 4 * q + 3);
        }
    }
    const int n_slots = 4 * static_cast<int>(nnz);
    std::vector<std::pair<int, Real>> lambda_slots;
    if (distributed)
        for (int i = 0; i < nb; ++i) {
            const Real a = net.slack_participation[static_cast<std::size_t>(i)];
            const int rp = l->row_p[static_cast<std::size_t>(i)];
            if (a != 0 && rp >= 0) {
                e.emplace_back(l->col_lambda, rp, n_slots + static_cast<int>(lambda_slots.size()));
                lambda_slots.emplace_back(0, -a);
            }
        }
    // A structurally empty column (e.g. lambda with no participating bus) would make the matrix
    // singular anyway; the factorisation reports it.
    std::vector<int> slot_pos(static_cast<std::size_t>(n_slots) + lambda_slots.size(), -1);
    auto pattern = csc_from_entries(l->n, std::move(e), slot_pos);
    l->pos_pa.resize(nnz);
    l->pos_pm.resize(nnz);
    l->pos_qa.resize(nnz);
    l->pos_qm.resize(nnz);
    for (std::size_t q = 0; q < nnz; ++q) {
        l->pos_pa[q] = slot_pos[4 * q];
        l->pos_pm[q] = slot_pos[4 * q + 1];
        l->pos_qa[q] = slot_pos[4 * q + 2];
        l->pos_qm[q] = slot_pos[4 * q + 3];
    }
    for (std::size_t j = 0; j < lambda_slots.size(); ++j)
        l->lambda_entries.emplace_back(slot_pos[static_cast<std::size_t>(n_slots) + j],
                                       lambda_slots[j].second);
    l->jacobian = std::make_shared<LuSymbolic>(std::move(pattern), kind);
#ifdef GRIDBATCH_HAVE_AMD
    // A distributed slack in blocks: the reference bus joins the block matrix A with its P row,
    // an identity in place of its Q row, and its block column empty but for its diagonal block,
    // whose Va entry (1 in A) stands for lambda. The Jacobian is M = A + u e^T, e the unit vector
    // of that entry and u = (lambda's column) - e, so M^-1 b = y - z (e^T y) / (1 + e^T z) with
    // y = A^-1 b and z = A^-1 u: one factorisation, two solves. A is regular where the Jacobian
    // of the single slack is (its reference column is empty off the diagonal), and 1 + e^T z is
    // det M / det A. AcOptions allows a distributed slack with one REF bus only; a layout with
    // another count (several would share one P row) stays on KLU.
    std::vector<int> block_buses = l->pvpq;
    if (distributed) block_buses.insert(block_buses.end(), l->ref.begin(), l->ref.end());
    if (blocks && (!distributed || l->ref.size() == 1)) {
        std::vector<int> local(sz, -1), row_ptr{0}, col;
        for (std::size_t j = 0; j < block_buses.size(); ++j)
            local[static_cast<std::size_t>(block_buses[j])] = static_cast<int>(j);
        for (int i : block_buses) {
            for (int q = y.row_ptr[static_cast<std::size_t>(i)];
                 q < y.row_ptr[static_cast<std::size_t>(i) + 1]; ++q) {
                const int c = local[static_cast<std::size_t>(y.col[static_cast<std::size_t>(q)])];
                if (c >= 0) col.push_back(c);
            }
            row_ptr.push_back(static_cast<int>(col.size()));
        }
        auto b =
            std::make_shared<BlockLuPattern>(static_cast<int>(block_buses.size()), row_ptr, col);
        l->block_pos.assign(nnz, -1);
        l->block_row.assign(sz, -1);
        for (int i = 0; i < nb; ++i) {
            const int r = local[static_cast<std::size_t>(i)];
            if (r < 0) continue;
            l->block_row[static_cast<std::size_t>(i)] = b->permuted(r);
            for (int q = y.row_ptr[static_cast<std::size_t>(i)];
                 q < y.row_ptr[static_cast<std::size_t>(i) + 1]; ++q) {
                const int c = local[static_cast<std::size_t>(y.col[static_cast<std::size_t>(q)])];
                if (c >= 0) l->block_pos[static_cast<std::size_t>(q)] = b->position(r, c);
            }
        }
        if (distributed) {
            const int ref = l->ref.front();
            l->lambda_block = l->block_row[static_cast<std::size_t>(ref)];
            for (int i : block_buses) {
                const Real a = net.slack_participation[static_cast<std::size_t>(i)];
                const Real u = (i == ref ? -1.0 : 0.0) - a;
                if (u != 0)
                    l->lambda_correction.emplace_back(2 * l->block_row[static_cast<std::size_t>(i)],
                                                      u);
            }
        }
        l->blocks = std::move(b);
    }
#else
    (void)blocks;
#endif
    return l;
}

// One worker's numeric factorisations for one layout.
struct WorkerLus {
    std::unique_ptr<SparseLu> jacobian, b_prime, b_double_prime;
#ifdef GRIDBATCH_HAVE_AMD
    std::unique_ptr<BlockLu> block;
#endif
    bool b_ok = false;
};

struct Workspace {
    std::map<const Layout*, WorkerLus> lus;
    // The scenario's Ybus values: the network's, or y_re / y_im, a copy less the share of the
    // scenario's branch outage (the entries of the last outage taken out, `patched`, are restored
    // from the network's before the next is).
    const Real *yre = nullptr, *yim = nullptr;
    std::vector<Real> y_re, y_im;
    std::vector<int> patched;
    ComplexVector v, unit, ibus;  // V, V / |V|, Ybus V
    Vector vm, va, f, values, x;  // x: the block solve's right-hand side
    Vector z;                     // distributed slack in blocks: A^-1 u (prepare_lambda)
    // Per bus, nonzero where the scenario's outage cuts it off (AcEngineBatch::cut_off); `cut`
    // lists them, to be cleared before the next scenario.
    std::vector<char> dead;
    std::vector<int> cut;
};

class CpuAcEngine final : public AcEngine {
public:
    CpuAcEngine(std::shared_ptr<const PreparedAcNetwork> net, LuKind kind, bool blocks)
        : net_(std::move(net)), kind_(kind), blocks_(blocks) {
        TypeKey key(static_cast<std::size_t>(net_->n_bus), static_cast<std::int8_t>(4));
        for (int i : net_->ref) key[static_cast<std::size_t>(i)] = kRef;
        for (int i : net_->pv) key[static_cast<std::size_t>(i)] = kPV;
        for (int i : net_->pq) key[static_cast<std::size_t>(i)] = kPQ;
        default_layout_ = make_layout(*net_, key, kind_, blocks_);
        layouts_[key] = default_layout_;
    }

    void solve(const AcEngineBatch& batch, AcEngineOutput& out) override {
        std::lock_guard<std::mutex> lock(solve_mutex_);
        const Index ns = batch.p_spec.cols();
        const int threads = thread_count(net_->threads, ns);
        if (static_cast<int>(workspaces_.size()) < threads) workspaces_.resize(threads);
        // Each scenario's layout. The Jacobian at the start of the first scenario that meets a
        // layout gives the pivot order every worker refactorises with, from then on: the same
        // for all workers (results do not depend on the thread count) and close to the batch.
        std::vector<std::pair<std::shared_ptr<const Layout>, bool>> layouts;
        std::map<const Layout*, std::vector<Real>> uncached_references;
        layouts.reserve(static_cast<std::size_t>(ns));
        for (Index s = 0; s < ns; ++s) {
            layouts.push_back(layout_for(batch, s));
            const auto& [layout, cached] = layouts.back();
            if (net_->method != AcMethod::newton) continue;
            auto& references = cached ? pivot_references_ : uncached_references;
            if (references.count(layout.get())) continue;
            Workspace& ws = workspaces_.front();
            start(batch, s, ws);
            currents(ws);
            newton_jacobian(*layout, ws);
            references.emplace(
                layout.get(),
                std::vector<Real>(ws.values.data(), ws.values.data() + ws.values.size()));
        }
        parallel_for(ns, threads, 1, [&](int worker, Index begin, Index end) {
            Workspace& ws = workspaces_[static_cast<std::size_t>(worker)];
            for (Index s = begin; s < end; ++s) {
                const auto& [layout, cached] = layouts[static_cast<std::size_t>(s)];
                // Factorisations of a cached layout stay with the worker; others die here.
                WorkerLus scratch;
                WorkerLus& lus = cached ? ws.lus[layout.get()] : scratch;
                if (net_->method == AcMethod::newton)
                    newton(batch, s,
                           (cached ? pivot_references_ : uncached_references).at(layout.get()),
                           *layout, lus, ws, out);
                else
                    fast_decoupled(batch, s, *layout, lus, ws, out);
            }
        });
    }

private:
    // The layout of scenario s's bus classes and whether it is kept for later scenarios. Q-limit
    // enforcement can give every scenario its own classes; past kMaxCachedLayouts they are built,
    // used and dropped, so memory stays bounded.
    std::pair<std::shared_ptr<const Layout>, bool> layout_for(const AcEngineBatch& batch, Index s) {
        constexpr std::size_t kMaxCachedLayouts = 64;
        if (!batch.bus_type) return {default_layout_, true};
        const auto col = batch.bus_type->col(s);
        TypeKey key(col.data(), col.data() + col.size());
        {
            std::lock_guard<std::mutex> lock(layout_mutex_);
            const auto it = layouts_.find(key);
            if (it != layouts_.end()) return {it->second, true};
        }
        auto layout = make_layout(*net_, key, kind_, blocks_);
        std::lock_guard<std::mutex> lock(layout_mutex_);
        if (layouts_.size() >= kMaxCachedLayouts) return {std::move(layout), false};
        return {layouts_.emplace(std::move(key), std::move(layout)).first->second, true};
    }

    // Scenario s's Ybus values into ws.yre / ws.yim.
    void admittance(const AcEngineBatch& batch, Index s, Workspace& ws) const {
        const CsrMatrix& y = net_->ybus;
        const int k = batch.outage ? batch.outage[s] : -1;
        if (k < 0) {
            ws.yre = y.re.data();
            ws.yim = y.im.data();
            return;
        }
        if (ws.y_re.size() != y.re.size()) {
            ws.y_re = y.re;
            ws.y_im = y.im;
            ws.patched.clear();
        }
        for (int at : ws.patched) {
            if (at < 0) continue;
            ws.y_re[static_cast<std::size_t>(at)] = y.re[static_cast<std::size_t>(at)];
            ws.y_im[static_cast<std::size_t>(at)] = y.im[static_cast<std::size_t>(at)];
        }
        const BranchAdmittance b = branch_admittance(*net_, k);
        ws.patched = {b.at_ff, b.at_ft, b.at_tf, b.at_tt};
        const Complex share[4] = {b.yff, b.yft, b.ytf, b.ytt};
        for (int j = 0; j < 4; ++j) {
            const int at = ws.patched[static_cast<std::size_t>(j)];
            if (at < 0) continue;  // never: Ybus stores all four entries of an active branch
            ws.y_re[static_cast<std::size_t>(at)] -= share[j].real();
            ws.y_im[static_cast<std::size_t>(at)] -= share[j].imag();
        }
        ws.yre = ws.y_re.data();
        ws.yim = ws.y_im.data();
    }

    // Loads scenario s's start and Ybus into the workspace; V = Vm e^{j Va}.
    void start(const AcEngineBatch& batch, Index s, Workspace& ws) const {
        admittance(batch, s, ws);
        const int nb = net_->n_bus;
        ws.dead.resize(static_cast<std::size_t>(nb), 0);
        for (int i : ws.cut) ws.dead[static_cast<std::size_t>(i)] = 0;
        ws.cut.clear();
        if (batch.cut_off && batch.cut_off[s]) ws.cut = *batch.cut_off[s];
        for (int i : ws.cut) ws.dead[static_cast<std::size_t>(i)] = 1;
        ws.vm = batch.vm0.col(s);
        ws.va = batch.va0.col(s);
        ws.v.resize(nb);
        ws.unit.resize(nb);
        ws.ibus.resize(nb);
        for (int i = 0; i < nb; ++i) set_voltage(ws, i);
    }

    // V_i = Vm_i e^{j Va_i} with newtonpf's normalisation Vm = |V|, Va = angle(V) in (-pi, pi],
    // done on the polar pair (no hypot/atan2: a third of the time on small cases).
    static void set_voltage(Workspace& ws, int i) {
        Real& vm = ws.vm[i];
        Real& va = ws.va[i];
        if (vm < 0) {
            vm = -vm;
            va += kPi;
        }
        if (va > kPi || va <= -kPi) {
            va = std::remainder(va, 2 * kPi);
            if (va <= -kPi) va = kPi;
        }
        ws.unit[i] = unit_phasor(va);
        ws.v[i] = vm * ws.unit[i];
    }

    // Ibus = Ybus V.
    void currents(Workspace& ws) const {
        const CsrMatrix& y = net_->ybus;
        for (int i = 0; i < net_->n_bus; ++i) {
            Complex acc = 0;
            for (int q = y.row_ptr[static_cast<std::size_t>(i)];
                 q < y.row_ptr[static_cast<std::size_t>(i) + 1]; ++q) {
                const auto qq = static_cast<std::size_t>(q);
                acc += Complex(ws.yre[qq], ws.yim[qq]) * ws.v[y.col[qq]];
            }
            ws.ibus[i] = acc;
        }
    }

    // F = [P mismatch; Q mismatch] in the layout's equation order; returns max |F| (NaN when an
    // entry is not finite).
    Real newton_mismatch(const AcEngineBatch& batch, Index s, const Layout& l, Real lambda,
                         Workspace& ws) const {
        currents(ws);
        ws.f.resize(l.n);
        const bool distributed = !net_->slack_participation.empty();
        Real norm = 0;
        for (int i = 0; i < net_->n_bus; ++i) {
            const auto ii = static_cast<std::size_t>(i);
            const int rp = l.row_p[ii], rq = l.row_q[ii];
            if (rp < 0 && rq < 0) continue;
            if (ws.dead[ii]) {  // de-energised: no equation
                if (rp >= 0) ws.f[rp] = 0;
                if (rq >= 0) ws.f[rq] = 0;
                continue;
            }
            const Complex mis =
                ws.v[i] * std::conj(ws.ibus[i]) - Complex(batch.p_spec(i, s), batch.q_spec(i, s));
            if (rp >= 0) {
                Real fp = mis.real();
                if (distributed) fp -= net_->slack_participation[ii] * lambda;
                ws.f[rp] = fp;
                norm = std::isnan(fp) || std::isnan(norm) ? NAN : std::max(norm, std::abs(fp));
            }
            if (rq >= 0) {
                ws.f[rq] = mis.imag();
                norm = std::isnan(mis.imag()) || std::isnan(norm)
                           ? NAN
                           : std::max(norm, std::abs(mis.imag()));
            }
        }
        return norm;
    }

    // dS_i/dVa_k and dS_i/dVm_k for Ybus entry q = (i, k) at the current V (MATPOWER's dSbus_dV,
    // polar). Off the diagonal dS_i/dVa_k = -j V_i conj(Y_ik V_k) = -j Vm_k dS_i/dVm_k: two
    // complex products, not four (the Jacobian was a tenth of a time series' time).
    static void power_derivatives(const CsrMatrix& y, int i, std::size_t q, const Workspace& ws,
                                  Complex& d_va, Complex& d_vm) {
        const int k = y.col[q];
        const Complex yik(ws.yre[q], ws.yim[q]);
        const Complex vi = ws.v[i], vk_unit = ws.unit[k];
        d_vm = vi * std::conj(yik * vk_unit);
        d_va = Complex(d_vm.imag(), -d_vm.real()) * ws.vm[k];
        if (k == i) {
            d_va = Complex(0, 1) * vi * std::conj(ws.ibus[i] - yik * vi);
            d_vm += std::conj(ws.ibus[i]) * vk_unit;
        }
    }

    // J values for the current V, in the scalar pattern's order.
    void newton_jacobian(const Layout& l, Workspace& ws) const {
        const CsrMatrix& y = net_->ybus;
        ws.values.setZero(l.jacobian->pattern().nnz());
        for (int i = 0; i < net_->n_bus; ++i) {
            const auto ii = static_cast<std::size_t>(i);
            if (l.row_p[ii] < 0 && l.row_q[ii] < 0) continue;
            for (int q = y.row_ptr[ii]; q < y.row_ptr[ii + 1]; ++q) {
                const auto qq = static_cast<std::size_t>(q);
                Complex d_va, d_vm;
                if (ws.dead[ii]) {  // identity rows: dP/dVa = dQ/dVm = 1 on the diagonal
                    const bool diagonal = y.col[qq] == i;
                    d_va = diagonal ? Complex(1, 0) : Complex(0, 0);
                    d_vm = diagonal ? Complex(0, 1) : Complex(0, 0);
                } else {
                    power_derivatives(y, i, qq, ws, d_va, d_vm);
                }
                if (l.pos_pa[qq] >= 0) ws.values[l.pos_pa[qq]] = d_va.real();
                if (l.pos_pm[qq] >= 0) ws.values[l.pos_pm[qq]] = d_vm.real();
                if (l.pos_qa[qq] >= 0) ws.values[l.pos_qa[qq]] = d_va.imag();
                if (l.pos_qm[qq] >= 0) ws.values[l.pos_qm[qq]] = d_vm.imag();
            }
        }
        for (const auto& [pos, value] : l.lambda_entries) ws.values[pos] = value;
    }

#ifdef GRIDBATCH_HAVE_AMD
    // J for the current V into the block LU's blocks. A PV bus has no Q equation and no Vm
    // unknown: its block row and column hold an identity unknown instead (1 on its own diagonal
    // block's Q/Vm entry, 0 elsewhere), which the solve leaves at 0. The reference bus of a
    // distributed slack has neither Va nor Vm unknown: its block column is empty but for the 1
    // standing for lambda (make_layout) and the identity unknown.
    void newton_jacobian_blocks(const Layout& l, Workspace& ws, Block2* blocks) const {
        const CsrMatrix& y = net_->ybus;
        for (int i = 0; i < net_->n_bus; ++i) {
            const auto ii = static_cast<std::size_t>(i);
            if (l.block_row[ii] < 0) continue;
            const bool q_row = l.row_q[ii] >= 0;
            for (int q = y.row_ptr[ii]; q < y.row_ptr[ii + 1]; ++q) {
                const auto qq = static_cast<std::size_t>(q);
                const int pos = l.block_pos[qq];
                if (pos < 0) continue;
                const int k = y.col[qq];
                const bool a_col = l.col_a[static_cast<std::size_t>(k)] >= 0;
                const bool m_col = l.col_m[static_cast<std::size_t>(k)] >= 0;
                if (!a_col || ws.dead[ii]) {  // the distributed slack's reference bus, a dead bus
                    blocks[pos] = k == i ? Block2{1.0, 0.0, 0.0, 1.0} : Block2{0.0, 0.0, 0.0, 0.0};
                    continue;
                }
                Complex d_va, d_vm;
                power_derivatives(y, i, qq, ws, d_va, d_vm);
                blocks[pos] = {d_va.real(), m_col ? d_vm.real() : 0.0, q_row ? d_va.imag() : 0.0,
                               q_row && m_col ? d_vm.imag() : (!q_row && k == i ? 1.0 : 0.0)};
            }
        }
    }

    // Distributed slack, after A's factorisation: z = A^-1 u. False where 1 + e^T z (det M over
    // det A) is too small against 1 + |e^T z| to divide by: the caller goes on with KLU.
    static bool prepare_lambda(const Layout& l, BlockLu& lu, Workspace& ws) {
        if (l.lambda_block < 0) return true;
        ws.z.setZero(2 * static_cast<Index>(lu.pattern().n()));
        for (const auto& [at, u] : l.lambda_correction) ws.z[at] = u;
        lu.solve(ws.z.data());
        const Real ez = ws.z[2 * l.lambda_block];
        return std::abs(1.0 + ez) > 1e-12 * (1.0 + std::abs(ez));
    }

    // ws.f := J^-1 ws.f with the block factorisation (ws.f in the layout's equation order).
    static void block_solve(const Layout& l, BlockLu& lu, Workspace& ws) {
        ws.x.resize(2 * static_cast<Index>(lu.pattern().n()));
        for (int i : l.pvpq) {
            const auto ii = static_cast<std::size_t>(i);
            const int r = l.block_row[ii];
            ws.x[2 * r] = ws.f[l.row_p[ii]];
            ws.x[2 * r + 1] = l.row_q[ii] >= 0 ? ws.f[l.row_q[ii]] : 0.0;
        }
        const int lb = l.lambda_block;
        if (lb >= 0) {
            ws.x[2 * lb] = ws.f[l.row_p[static_cast<std::size_t>(l.ref.front())]];
            ws.x[2 * lb + 1] = 0.0;
        }
        lu.solve(ws.x.data());
        if (lb >= 0) ws.x -= ws.z * (ws.x[2 * lb] / (1.0 + ws.z[2 * lb]));
        for (int i : l.pvpq) {
            const auto ii = static_cast<std::size_t>(i);
            const int r = l.block_row[ii];
            ws.f[l.col_a[ii]] = ws.x[2 * r];
            if (l.col_m[ii] >= 0) ws.f[l.col_m[ii]] = ws.x[2 * r + 1];
        }
        if (lb >= 0) ws.f[l.col_lambda] = ws.x[2 * lb];
    }
#endif

    void finish(Index s, Workspace& ws, Status status, int iterations, Real norm, Real lambda,
                AcEngineOutput& out) const {
        for (int i = 0; i < net_->n_bus; ++i) {
            // Newton keeps (Vm, Va) normalised; fdpf does not, and pfsoln takes abs/angle of V.
            const bool newton = net_->method == AcMethod::newton;
            out.vm(i, s) = newton ? ws.vm[i] : std::abs(ws.v[i]);
            out.va(i, s) = newton ? ws.va[i] : std::arg(ws.v[i]);
        }
        out.slack[s] = lambda;
        out.report.status[s] = static_cast<std::int8_t>(status);
        out.report.iterations[s] = iterations;
        out.report.max_mismatch[s] = norm;
    }

    void newton(const AcEngineBatch& batch, Index s, const std::vector<Real>& pivot_reference,
                const Layout& l, WorkerLus& lus, Workspace& ws, AcEngineOutput& out) const {
        // The scalar LU: all of a scenario's Jacobians without blocks, and the rest of them after
        // a block factorisation fails.
        const auto scalar_lu = [&]() -> SparseLu& {
            if (!lus.jacobian) {
                lus.jacobian = std::make_unique<SparseLu>(l.jacobian);
                lus.jacobian->set_pivot_reference(pivot_reference);
            }
            return *lus.jacobian;
        };
        if (lus.jacobian) lus.jacobian->begin_scenario();
#ifdef GRIDBATCH_HAVE_AMD
        bool blocks = l.blocks != nullptr;
        if (blocks && !lus.block) lus.block = std::make_unique<BlockLu>(l.blocks);
#else
        constexpr bool blocks = false;
#endif
        start(batch, s, ws);
        Real lambda = 0;
        Real norm = newton_mismatch(batch, s, l, lambda, ws);
        int it = 0;
        const Real tol = net_->tolerance;
        while (!(norm < tol) && it < net_->max_iterations) {
            if (diverging(norm)) return finish(s, ws, Status::diverged, it, norm, lambda, out);
            ++it;
#ifdef GRIDBATCH_HAVE_AMD
            if (blocks) {
                newton_jacobian_blocks(l, ws, lus.block->blocks());
                blocks = lus.block->factor() && prepare_lambda(l, *lus.block, ws);
            }
#endif
            if (!blocks) {
                newton_jacobian(l, ws);
                if (!scalar_lu().factor(ws.values.data()))
                    return finish(s, ws, Status::singular, it, norm, lambda, out);
            }
            ws.f = -ws.f;
#ifdef GRIDBATCH_HAVE_AMD
            if (blocks) block_solve(l, *lus.block, ws);
#endif
            if (!blocks) lus.jacobian->solve(ws.f.data());
            for (int i : l.pvpq) ws.va[i] += ws.f[l.col_a[static_cast<std::size_t>(i)]];
            for (int i : l.pq) ws.vm[i] += ws.f[l.col_m[static_cast<std::size_t>(i)]];
            if (l.col_lambda >= 0) lambda += ws.f[l.col_lambda];
            for (int i : l.pvpq) set_voltage(ws, i);
            norm = newton_mismatch(batch, s, l, lambda, ws);
        }
        const Status status = norm < tol        ? Status::converged
                              : diverging(norm) ? Status::diverged
                                                : Status::max_iterations;
        finish(s, ws, status, it, norm, lambda, out);
    }

    // fdpf's mismatch (V conj(Ybus V) - S) / Vm: P over pv+pq into p, Q over pq into q.
    std::pair<Real, Real> fd_mismatch(const AcEngineBatch& batch, Index s, const Layout& l,
                                      Workspace& ws, Real* p, Real* q) const {
        currents(ws);
        Real np = 0, nq = 0;
        auto upd = [](Real n, Real x) {
            return std::isnan(n) || std::isnan(x) ? NAN : std::max(n, std::abs(x));
        };
        for (std::size_t j = 0; j < l.pvpq.size(); ++j) {
            const int i = l.pvpq[j];
            const Complex mis = (ws.v[i] * std::conj(ws.ibus[i]) -
                                 Complex(batch.p_spec(i, s), batch.q_spec(i, s))) /
                                ws.vm[i];
            p[j] = mis.real();
            np = upd(np, p[j]);
        }
        for (std::size_t j = 0; j < l.pq.size(); ++j) {
            const int i = l.pq[j];
            const Complex mis = (ws.v[i] * std::conj(ws.ibus[i]) -
                                 Complex(batch.p_spec(i, s), batch.q_spec(i, s))) /
                                ws.vm[i];
            q[j] = mis.imag();
            nq = upd(nq, q[j]);
        }
        return {np, nq};
    }

    void fast_decoupled(const AcEngineBatch& batch, Index s, const Layout& l, WorkerLus& lus,
                        Workspace& ws, AcEngineOutput& out) const {
        start(batch, s, ws);
        if (!lus.b_prime) {
            lus.b_prime = std::make_unique<SparseLu>(l.b_prime.symbolic);
            lus.b_double_prime = std::make_unique<SparseLu>(l.b_double_prime.symbolic);
            lus.b_ok = lus.b_prime->factor(l.b_prime.values.data()) &&
                       (l.pq.empty() || lus.b_double_prime->factor(l.b_double_prime.values.data()));
        }
        const auto npvpq = static_cast<Index>(l.pvpq.size()), npq = static_cast<Index>(l.pq.size());
        ws.f.resize(npvpq + npq);
        Real* p = ws.f.data();
        Real* q = ws.f.data() + npvpq;
        const Real tol = net_->tolerance;
        auto norm_of = [](std::pair<Real, Real> n) {
            return std::isnan(n.first) || std::isnan(n.second) ? NAN : std::max(n.first, n.second);
        };
        auto done = [&](std::pair<Real, Real> n) { return n.first < tol && n.second < tol; };
        std::pair<Real, Real> n = fd_mismatch(batch, s, l, ws, p, q);
        int it = 0;
        if (done(n)) return finish(s, ws, Status::converged, 0, norm_of(n), 0, out);
        if (!lus.b_ok) return finish(s, ws, Status::singular, 0, norm_of(n), 0, out);
        // V = Vm e^{j Va} as fdpf forms it (no normalisation); a Q step leaves the angles, so
        // e^{j Va} is reused there.
        for (int i = 0; i < net_->n_bus; ++i) ws.unit[i] = unit_phasor(ws.va[i]);
        auto refresh_angles = [&] {
            for (int i : l.pvpq) {
                ws.unit[i] = unit_phasor(ws.va[i]);
                ws.v[i] = ws.vm[i] * ws.unit[i];
            }
        };
        auto refresh_magnitudes = [&] {
            for (int i : l.pq) ws.v[i] = ws.vm[i] * ws.unit[i];
        };
        while (it < net_->max_iterations) {
            if (diverging(norm_of(n))) break;
            ++it;
            lus.b_prime->solve(p);  // dVa = -(B' \ P)
            for (Index j = 0; j < npvpq; ++j) ws.va[l.pvpq[static_cast<std::size_t>(j)]] -= p[j];
            refresh_angles();
            n = fd_mismatch(batch, s, l, ws, p, q);
            if (done(n)) return finish(s, ws, Status::converged, it, norm_of(n), 0, out);
            if (npq > 0) lus.b_double_prime->solve(q);  // dVm = -(B'' \ Q)
            for (Index j = 0; j < npq; ++j) ws.vm[l.pq[static_cast<std::size_t>(j)]] -= q[j];
            refresh_magnitudes();
            n = fd_mismatch(batch, s, l, ws, p, q);
            if (done(n)) return finish(s, ws, Status::converged, it, norm_of(n), 0, out);
        }
        const Real norm = norm_of(n);
        finish(s, ws, diverging(norm) ? Status::diverged : Status::max_iterations, it, norm, 0,
               out);
    }

    std::shared_ptr<const PreparedAcNetwork> net_;
    LuKind kind_;  // the scalar LU's
    bool blocks_;  // Newton in 2x2 blocks where the layout allows
    std::shared_ptr<const Layout> default_layout_;
    std::map<TypeKey, std::shared_ptr<const Layout>> layouts_;
    std::mutex layout_mutex_, solve_mutex_;
    // Jacobian values whose pivots the workers' LUs of each cached layout start from.
    std::map<const Layout*, std::vector<Real>> pivot_references_;
    std::vector<Workspace> workspaces_;
};

}  // namespace

// GRIDBATCH_AC_LU picks the Newton Jacobian's LU for benchmarks and tests: `block` (the default
// where AMD is built in), `klu` (scalar, partial pivoting; the default otherwise where KLU is) or
// `eigen` (Eigen's SparseLU). Fast-decoupled's B matrices take KLU unless `eigen`.
std::unique_ptr<AcEngine> make_ac_engine(std::shared_ptr<const PreparedAcNetwork> network) {
    LuKind kind = default_lu_kind();
#ifdef GRIDBATCH_HAVE_AMD
    bool blocks = true;
#else
    bool blocks = false;
#endif
    if (const char* env = std::getenv("GRIDBATCH_AC_LU"); env && *env) {
        const std::string name = env;
        if (name == "eigen") {
            kind = LuKind::eigen;
            blocks = false;
        } else if (name == "klu" && kind == LuKind::klu) {
            blocks = false;
        } else if (name != "block" || !blocks) {
            throw Error(ErrorKind::invalid_input,
                        "GRIDBATCH_AC_LU='" + name + "': this build offers eigen" +
                            std::string(kind == LuKind::klu ? ", klu" : "") +
                            (blocks ? ", block" : ""));
        }
    }
    return std::make_unique<CpuAcEngine>(std::move(network), kind, blocks);
}

}  // namespace gridbatch::detail::cpu
