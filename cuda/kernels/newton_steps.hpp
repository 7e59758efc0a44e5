// The per-scenario steps of the batched Newton-Raphson, written once for the device kernels
// (ac_kernels.cu, one thread per scenario or per (scenario, bus)) and for the host tests, which
// run the same code over a batch in plain loops. Per-scenario arrays are scenario-fastest:
// entry e of scenario s is at a[e * stride + s].
#pragma once

#include "batched_lu.hpp"
#include "core/angles.hpp"
#include "core/diverged_mismatch.hpp"

#if !defined(__CUDA_ARCH__)
#include <cmath>
#endif

namespace gridbatch::detail::cuda::ac {

namespace math {  // the device's math functions on the device, <cmath>'s on the host
#if defined(__CUDA_ARCH__)
GRIDBATCH_HD_INLINE void sin_cos(double x, double* s, double* c) { sincos(x, s, c); }
GRIDBATCH_HD_INLINE bool is_nan(double x) { return isnan(x); }
GRIDBATCH_HD_INLINE double abs(double x) { return fabs(x); }
GRIDBATCH_HD_INLINE double max(double a, double b) { return fmax(a, b); }
GRIDBATCH_HD_INLINE double hypotenuse(double a, double b) { return hypot(a, b); }
GRIDBATCH_HD_INLINE double arg(double y, double x) { return atan2(y, x); }
GRIDBATCH_HD_INLINE double remainder_of(double x, double y) { return remainder(x, y); }
#else
inline void sin_cos(double x, double* s, double* c) {
    *s = std::sin(x);
    *c = std::cos(x);
}
inline bool is_nan(double x) { return std::isnan(x); }
inline double abs(double x) { return std::fabs(x); }
inline double max(double a, double b) { return std::fmax(a, b); }
inline double hypotenuse(double a, double b) { return std::hypot(a, b); }
inline double arg(double y, double x) { return std::atan2(y, x); }
inline double remainder_of(double x, double y) { return std::remainder(x, y); }
#endif
}  // namespace math

// Status codes, as gridbatch::Status (result.hpp) numbers them.
constexpr int kConverged = 0, kMaxIterations = 1, kDiverged = 2, kSingular = 3, kRunning = 5;

struct YbusView {  // device pointers, CSR with sorted columns and every diagonal entry stored
    int n_bus = 0;
    const int* row_ptr = nullptr;
    const int* col = nullptr;
    const double* re = nullptr;
    const double* im = nullptr;
};

// Where each Ybus entry's Jacobian terms go in the factor (-1: not an equation/unknown pair),
// and where each bus's P and Q mismatch go in the permuted right-hand side (-1: no equation).
struct JacobianMap {
    const int* pos_pa = nullptr;  // dP_i / dVa_j
    const int* pos_pm = nullptr;  // dP_i / dVm_j
    const int* pos_qa = nullptr;  // dQ_i / dVa_j
    const int* pos_qm = nullptr;  // dQ_i / dVm_j
    const int* p_row = nullptr;   // n_bus
    const int* q_row = nullptr;   // n_bus
    // Distributed slack: per bus, the position of dP_i / d(lambda) (-1: none).
    const int* pos_lambda = nullptr;
};

// A scenario's branch outage (AcEngineBatch::outage): the branch's share of Ybus (MATPOWER's
// makeYbus terms yff, yft, ytf, ytt of BranchAdmittance) and where those four sit in Ybus's values.
// The scenario's admittance is Ybus less that share at those four entries, each formed as the CPU
// engine forms it (the entry minus the share), so both engines iterate on the same values.
struct BranchCut {
    int from = -1, to = -1;        // internal buses; -1: no outage
    int at[4] = {-1, -1, -1, -1};  // Ybus value indices of (f,f), (f,t), (t,f), (t,t)
    double re[4] = {0, 0, 0, 0}, im[4] = {0, 0, 0, 0};
};

struct BatchState {  // all device, scenario-fastest with `stride` scenarios
    int stride = 0;
    double* vm = nullptr;  // n_bus
    double* va = nullptr;  // n_bus
    const double* p_spec = nullptr;
    const double* q_spec = nullptr;
    double* lu = nullptr;    // factor nnz
    double* x = nullptr;     // unknowns: mismatch in, Newton step out (permuted order)
    double* norm = nullptr;  // per scenario; zero before assemble()
    int* status = nullptr;
    int* iterations = nullptr;
    double* max_mismatch = nullptr;
    // Distributed slack (both null without it): the total slack lambda per scenario (p.u.) and
    // each bus's participation; P_i's mismatch gains -participation_i * lambda.
    double* lambda = nullptr;
    const double* participation = nullptr;
    // Branch outages (both null without any in the batch): per scenario its cut (indexed by s,
    // from = -1 where it has none), and per bus a flag (n_bus, scenario-fastest; null where no
    // outage of the batch cuts buses off) set where the outage cuts the bus off from every
    // reference bus. Such a bus is de-energised: its equations become identity rows with zero
    // mismatch, so its voltage stays at the start, as on the CPU engine.
    const BranchCut* cut = nullptr;
    const unsigned char* dead = nullptr;
};

// The branch cut of scenario s where it touches bus i (whose row of Ybus it changes), else null.
GRIDBATCH_HD_INLINE const BranchCut* cut_at_bus(const BatchState& st, long s, int i) {
    if (st.cut == nullptr) return nullptr;
    const BranchCut* c = st.cut + s;
    return c->from == i || c->to == i ? c : nullptr;
}

// Ybus value q of a scenario whose cut (or null) touches the entry's row.
GRIDBATCH_HD_INLINE void admittance_entry(const YbusView& y, const BranchCut* c, int q, double* re,
                                          double* im) {
    *re = y.re[q];
    *im = y.im[q];
    if (c == nullptr) return;
    for (int k = 0; k < 4; ++k)
        if (c->at[k] == q) {
            *re -= c->re[k];
            *im -= c->im[k];
        }
}

struct Schedule {  // device copy of a LuScheduleView plus what the update needs
    LuScheduleView lu;
    const int* fill = nullptr;  // factor positions outside the Jacobian's pattern
    int n_fill = 0;
    const int* unknown_bus = nullptr;   // per permuted unknown: its bus
    const int* unknown_kind = nullptr;  // 0: angle, 1: magnitude, 2: distributed slack
    const int* pvpq = nullptr;          // buses whose voltage is renormalised after a step
    int n_pvpq = 0;
};

// Scenario s's voltage V_i = Vm e^{j Va} at bus i and its injection S_i = V_i conj(I_i), I_i =
// sum_j Y_ij V_j: the mismatch of Newton and of the fast-decoupled method alike.
struct BusPower {
    double vm, v_re, v_im, s_re, s_im;
};
GRIDBATCH_HD_INLINE BusPower bus_power(const YbusView& y, const BatchState& st, long s, int i) {
    const long stride = st.stride;
    double sin_i, cos_i;
    const double vm_i = st.vm[i * stride + s];
    math::sin_cos(st.va[i * stride + s], &sin_i, &cos_i);
    const double vi_re = vm_i * cos_i, vi_im = vm_i * sin_i;
    const BranchCut* cut = cut_at_bus(st, s, i);
    double ii_re = 0, ii_im = 0;
    for (int q = y.row_ptr[i]; q < y.row_ptr[i + 1]; ++q) {
        const long j = y.col[q];
        double sj, cj, y_re, y_im;
        admittance_entry(y, cut, q, &y_re, &y_im);
        const double vm_j = st.vm[j * stride + s];
        math::sin_cos(st.va[j * stride + s], &sj, &cj);
        const double vj_re = vm_j * cj, vj_im = vm_j * sj;
        ii_re += y_re * vj_re - y_im * vj_im;
        ii_im += y_re * vj_im + y_im * vj_re;
    }
    return {vm_i, vi_re, vi_im, vi_re * ii_re + vi_im * ii_im, vi_im * ii_re - vi_re * ii_im};
}

// Bus i of scenario s: its P and Q mismatch (F = V conj(Ybus V) - S_spec) into x (permuted
// order) and its rows of the Jacobian (MATPOWER's dSbus_dV, polar) into lu. Returns the bus's
// max |F| (NaN when an entry is NaN). The caller owns the P and Q rows of bus i alone.
GRIDBATCH_HD_INLINE double assemble_bus(const YbusView& y, const JacobianMap& map,
                                        const BatchState& st, long s, int i) {
    const int p_row = map.p_row[i], q_row = map.q_row[i];
    if (p_row < 0 && q_row < 0) return 0.0;
    const long stride = st.stride;
    if (st.dead != nullptr && st.dead[i * stride + s] != 0) {
        // De-energised: no equation. Identity rows (dP/dVa = dQ/dVm = 1 on the diagonal) with
        // zero mismatch keep its unknowns at the start; no other row couples to them (the cut
        // branch was the only one, and its entries are zero now).
        if (p_row >= 0) st.x[p_row * stride + s] = 0.0;
        if (q_row >= 0) st.x[q_row * stride + s] = 0.0;
        for (int q = y.row_ptr[i]; q < y.row_ptr[i + 1]; ++q) {
            const double one = y.col[q] == i ? 1.0 : 0.0;
            if (map.pos_pa[q] >= 0) st.lu[map.pos_pa[q] * stride + s] = one;
            if (map.pos_pm[q] >= 0) st.lu[map.pos_pm[q] * stride + s] = 0.0;
            if (map.pos_qa[q] >= 0) st.lu[map.pos_qa[q] * stride + s] = 0.0;
            if (map.pos_qm[q] >= 0) st.lu[map.pos_qm[q] * stride + s] = one;
        }
        // The slack column's entry as the CPU engine writes it (constant): not last factor's.
        if (st.lambda != nullptr && p_row >= 0 && map.pos_lambda[i] >= 0)
            st.lu[map.pos_lambda[i] * stride + s] = -st.participation[i];
        return 0.0;
    }
    const BusPower bp = bus_power(y, st, s, i);
    const double vm_i = bp.vm, vi_re = bp.v_re, vi_im = bp.v_im, s_re = bp.s_re, s_im = bp.s_im;
    double norm = 0;
    if (p_row >= 0) {
        double f = s_re - st.p_spec[i * stride + s];
        if (st.lambda != nullptr) {
            f -= st.participation[i] * st.lambda[s];
            if (map.pos_lambda[i] >= 0)
                st.lu[map.pos_lambda[i] * stride + s] = -st.participation[i];
        }
        st.x[p_row * stride + s] = f;
        norm = math::abs(f);
    }
    if (q_row >= 0) {
        const double f = s_im - st.q_spec[i * stride + s];
        st.x[q_row * stride + s] = f;
        // fmax would drop a NaN; it must survive to mark the scenario diverged.
        norm = math::is_nan(norm) ? norm : math::is_nan(f) ? f : math::max(norm, math::abs(f));
    }

    const BranchCut* cut = cut_at_bus(st, s, i);
    for (int q = y.row_ptr[i]; q < y.row_ptr[i + 1]; ++q) {
        const long j = y.col[q];
        double sj, cj, y_re, y_im;
        admittance_entry(y, cut, q, &y_re, &y_im);
        const double vm_j = st.vm[j * stride + s];
        math::sin_cos(st.va[j * stride + s], &sj, &cj);
        // w = Y_ij V_j; V_i conj(w) = (vi_re w_re + vi_im w_im) + j (vi_im w_re - vi_re w_im).
        const double w_re = vm_j * (y_re * cj - y_im * sj);
        const double w_im = vm_j * (y_re * sj + y_im * cj);
        const double a = vi_re * w_re + vi_im * w_im, b = vi_im * w_re - vi_re * w_im;
        // dS/dVa = -j V_i conj(w), dS/dVm = V_i conj(w / |V_j|).
        double d_va_re = b, d_va_im = -a;
        double d_vm_re = a / vm_j, d_vm_im = b / vm_j;
        if (j == i) {
            // + j V_i conj(I_i) and + conj(I_i) V_i / |V_i|, V_i conj(I_i) being S_i.
            d_va_re -= s_im;
            d_va_im += s_re;
            d_vm_re += s_re / vm_i;
            d_vm_im += s_im / vm_i;
        }
        if (map.pos_pa[q] >= 0) st.lu[map.pos_pa[q] * stride + s] = d_va_re;
        if (map.pos_pm[q] >= 0) st.lu[map.pos_pm[q] * stride + s] = d_vm_re;
        if (map.pos_qa[q] >= 0) st.lu[map.pos_qa[q] * stride + s] = d_va_im;
        if (map.pos_qm[q] >= 0) st.lu[map.pos_qm[q] * stride + s] = d_vm_im;
    }
    return norm;
}

// The fate of scenario s after its mismatch norm is known; resets the norm. Returns true while
// the scenario must iterate on.
GRIDBATCH_HD_INLINE bool check_scenario(const BatchState& st, long s, double tolerance,
                                        int max_iterations) {
    const double norm = st.norm[s];
    st.norm[s] = 0;
    int status = st.status[s];
    if (status == kRunning) {  // the factorisation may already have stopped it (singular)
        st.max_mismatch[s] = norm;
        if (norm < tolerance)
            status = kConverged;
        else if (math::is_nan(norm) || norm > kDivergedMismatch)
            status = kDiverged;
        else if (st.iterations[s] >= max_iterations)
            status = kMaxIterations;
        st.status[s] = status;
    }
    return status == kRunning;
}

// Vm = |V| and Va = angle(V) as newtonpf keeps them, formed as the CPU engine forms them: a
// negative magnitude flips the angle by pi, and the angle is wrapped into (-pi, pi]. Every bus at
// the start, for Newton and fast-decoupled alike (the CPU engine's start does it too: the
// reference and isolated buses are reported as they start), the pv and pq buses after each
// Newton step.
GRIDBATCH_HD_INLINE void normalise_polar(double* vm, double* va) {
    if (*vm < 0) {
        *vm = -*vm;
        *va += kPi;
    }
    if (*va > kPi || *va <= -kPi) {
        *va = math::remainder_of(*va, 2 * kPi);
        if (*va <= -kPi) *va = kPi;
    }
}

// Scenario s: zero the fill, factorise, solve for the Newton step, update Va/Vm and count the
// iteration; a zero pivot sets status singular.
GRIDBATCH_HD_INLINE void factor_solve_update_scenario(const Schedule& sch, const BatchState& st,
                                                      long s) {
    const long stride = st.stride;
    st.iterations[s] += 1;  // counted before factorising, as newtonpf counts a singular step
    double* lu = st.lu + s;
    for (int f = 0; f < sch.n_fill; ++f) lu[sch.fill[f] * stride] = 0.0;
    if (!lu_factor_strided(sch.lu, lu, stride)) {
        st.status[s] = kSingular;
        return;
    }
    double* x = st.x + s;
    lu_solve_strided(sch.lu, lu, x, stride, stride);
    // Newton step dx = -J⁻¹ F.
    for (int k = 0; k < sch.lu.n; ++k) {
        const int kind = sch.unknown_kind[k];
        if (kind == 2) {
            st.lambda[s] -= x[k * stride];
        } else {
            double* v = kind == 0 ? st.va : st.vm;
            v[static_cast<long>(sch.unknown_bus[k]) * stride + s] -= x[k * stride];
        }
    }
    for (int q = 0; q < sch.n_pvpq; ++q) {
        const long at = sch.pvpq[q] * stride + s;
        normalise_polar(st.vm + at, st.va + at);
    }
}

// Fast-decoupled (fdpf): the mismatch (V conj(Ybus V) - S_spec) / Vm of bus i, its P part into
// xp (pv and pq buses) and Q part into xq (pq buses), both in the permuted orders of B' and B'';
// the bus's max |P| and |Q| into *np, *nq (NaN when NaN).
struct FdMap {
    const int* p_row = nullptr;  // n_bus: position in B'-order, or -1
    const int* q_row = nullptr;  // n_bus: position in B''-order, or -1
};
struct FdState {  // besides BatchState's vm, va, specs, status, iterations, max_mismatch
    double* xp = nullptr;
    double* xq = nullptr;
    double* norm_p = nullptr;
    double* norm_q = nullptr;
};
GRIDBATCH_HD_INLINE void fd_mismatch_bus(const YbusView& y, const FdMap& map, const BatchState& st,
                                         const FdState& fd, long s, int i, double* np, double* nq) {
    *np = 0;
    *nq = 0;
    const int p_row = map.p_row[i], q_row = map.q_row[i];
    if (p_row < 0 && q_row < 0) return;
    const long stride = st.stride;
    const BusPower bp = bus_power(y, st, s, i);
    const double vm_i = bp.vm, s_re = bp.s_re, s_im = bp.s_im;
    if (p_row >= 0) {
        const double f = (s_re - st.p_spec[i * stride + s]) / vm_i;
        fd.xp[p_row * stride + s] = f;
        *np = math::abs(f);
    }
    if (q_row >= 0) {
        const double f = (s_im - st.q_spec[i * stride + s]) / vm_i;
        fd.xq[q_row * stride + s] = f;
        *nq = math::abs(f);
    }
}

// After a mismatch evaluation: converged when both norms are below the tolerance (resets the
// norms). `singular_factors`: B' or B'' could not be factorised, so a scenario that is not
// already converged stops as singular (fdpf's order: the start is checked first).
GRIDBATCH_HD_INLINE void fd_check_converged(const BatchState& st, const FdState& fd, long s,
                                            double tolerance, bool singular_factors) {
    const double np = fd.norm_p[s], nq = fd.norm_q[s];
    fd.norm_p[s] = 0;
    fd.norm_q[s] = 0;
    if (st.status[s] != kRunning) return;
    st.max_mismatch[s] =
        math::is_nan(np) || math::is_nan(nq) ? (math::is_nan(np) ? np : nq) : math::max(np, nq);
    if (np < tolerance && nq < tolerance)
        st.status[s] = kConverged;
    else if (singular_factors)
        st.status[s] = kSingular;
}

// At the top of an iteration: stop a diverging scenario or one at the iteration limit. Returns
// true while the scenario must iterate on.
GRIDBATCH_HD_INLINE bool fd_check_continue(const BatchState& st, long s, int max_iterations) {
    if (st.status[s] != kRunning) return false;
    const double norm = st.max_mismatch[s];
    if (math::is_nan(norm) || norm > kDivergedMismatch)
        st.status[s] = kDiverged;
    else if (st.iterations[s] >= max_iterations)
        st.status[s] = kMaxIterations;
    return st.status[s] == kRunning;
}

// One half-iteration of scenario s with a factor shared by every scenario (stride 1): x := the
// factor's solve of x, then v[unknown_bus[k]] -= x[k] (angles for B', magnitudes for B'').
// The P half counts the iteration. Scenarios that converged at the previous half are skipped.
GRIDBATCH_HD_INLINE void fd_half_step(const LuScheduleView& lu, const double* factor,
                                      const int* unknown_bus, double* x, double* v,
                                      const BatchState& st, long s, bool counts_iteration) {
    if (st.status[s] != kRunning) return;
    if (counts_iteration) st.iterations[s] += 1;
    const long stride = st.stride;
    lu_solve_strided(lu, factor, x + s, 1, stride);
    for (int k = 0; k < lu.n; ++k)
        v[static_cast<long>(unknown_bus[k]) * stride + s] -= x[k * stride + s];
}

}  // namespace gridbatch::detail::cuda::ac
