// Ramp-aware battery dispatch: the QP of smooth_dispatch.hpp built as banded sparse matrices,
// solved per scenario by the interior point of ipm_qp.hpp or the shared-factorisation ADMM of
// admm_qp.hpp, then polished so that the physics holds exactly.
#include "gridbatch/smooth_dispatch.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>

#include "admm_qp.hpp"
#include "core/invalid_input.hpp"
#include "cpu/parallel.hpp"
#include "engine/ipm_engine.hpp"
#include "fleet_sizing.hpp"
#include "gridbatch/error.hpp"
#include "ipm_qp.hpp"

namespace gridbatch {

using detail::fail;
using detail::num;

namespace {

// What the KKT matrix depends on besides T and the weights: the efficiencies and self-discharge,
// and which optional rows and variables exist.
struct QpKind {
    Real eta_c, eta_d, a;
    bool ramp;          // a grid ramp limit (r_t boxes)
    bool backup;        // backup generation (u_t, v_t)
    bool backup_ramp;   // a backup ramp limit (v_t boxes)
    bool battery_ramp;  // a ramp limit on battery power (w_t)
    bool peak;          // the peak term (sigma_t and the peak p)
    bool operator==(const QpKind& o) const {
        return eta_c == o.eta_c && eta_d == o.eta_d && a == o.a && ramp == o.ramp &&
               backup == o.backup && backup_ramp == o.backup_ramp &&
               battery_ramp == o.battery_ramp && peak == o.peak;
    }
};

// Variables per step t: c_t, d_t, s_{t+1} = E_{t+1} - E_0 (MWh; relative to E_0 so that no row
// of Ax is of the size of E_0 / h, which would make OSQP's relative tolerance meaningless for the
// powers), g_t and the ramp r_t = g_t - g_{t-1} (r_0 is unused and ends at 0); with backup
// generation also u_t and its change v_t = u_t - u_{t-1}; with a battery ramp limit the change
// w_t of b_t = d_t - c_t; with the peak term sigma_t = p - g_t >= 0, and p (one variable, after
// all steps). Lifting the ramps into variables makes P diagonal: with P = D'D on g the slow modes
// of g have curvature ~ (pi / T)^2 and the ADMM crawls; with r it does not.
// The elastic QP (an infeasible scenario's smallest violation, see describe_infeasible) moves the
// grid limits onto g's excess over the relaxed limit: g_t - z and g_t + z (kGOver, kGUnder) and
// r_t - z, r_t + z (kROver, kRUnder), with one z >= 0 (after all steps) for every limit.
enum Var : int {
    kC,
    kD,
    kE,
    kG,
    kR,
    kU,
    kV,
    kW,
    kSigma,
    kGOver,
    kGUnder,
    kROver,
    kRUnder,
    kVarCount
};

// Every row of A is one of these, at one step; l and u come from the kind (fill_bounds).
enum class Row : std::uint8_t {
    dynamics,          // (s_{t+1} - a s_t) / h - eta_c c_t + d_t / eta_d = (a - 1) E_0 / h
    balance,           // g_t + d_t - c_t + u_t = L_t
    c_box,             // 0 <= c_t <= charge_mw
    d_box,             // 0 <= d_t <= discharge_mw
    e_box,             // SoC window (terminal condition at the last step)
    g_box,             // grid limits
    ramp,              // g_t - g_{t-1} - r_t = 0
    ramp_box,          // |r_t| <= ramp limit
    u_box,             // 0 <= u_t <= backup_mw
    backup_ramp,       // u_t - u_{t-1} - v_t = 0
    backup_ramp_box,   // |v_t| <= backup ramp limit
    battery_ramp,      // (d_t - c_t) - (d_{t-1} - c_{t-1}) - w_t = 0
    battery_ramp_box,  // |w_t| <= battery ramp limit
    peak,              // g_t + sigma_t - p = 0
    sigma_box,         // sigma_t >= 0
    // The elastic QP's instead of g_box and ramp_box:
    g_over,          // g_t - z - g_over_t = 0
    g_over_box,      // g_over_t <= g_max
    g_under,         // g_t + z - g_under_t = 0
    g_under_box,     // g_under_t >= g_min
    ramp_over,       // r_t - z - r_over_t = 0
    ramp_over_box,   // r_over_t <= ramp limit
    ramp_under,      // r_t + z - r_under_t = 0
    ramp_under_box,  // r_under_t >= -ramp limit
    relaxation_box,  // z >= 0
};

// The interior point's regularisation for the elastic LP, and for a second try at a QP the first
// did not solve: 1e-10 (the QP's) lost pivots there; 1e-8 throughout would stall the dual
// residual of plain dispatch QPs at ~1e-9 (the perturbed directions).
constexpr Real kLpRegularization = 1e-8;

// The dispatch QP of one kind; or, with `elastic`, its elastic LP: min z over the same physics
// with every grid limit (import, export, grid ramp) relaxed by z (no peak term, no other cost).
class SmoothQp {
public:
    SmoothQp(Index T, const QpKind& kind, Real h, Real w_ramp, Real w_level,
             const detail::QpSettings& admm_settings, const detail::IpmSettings& ipm_settings,
             bool elastic = false)
        : T_(T),
          kind_(kind),
          elastic_(elastic),
          h_(h),
          admm_settings_(admm_settings),
          ipm_settings_(ipm_settings) {
        if (elastic) kind_.peak = false;
        const bool ramp_over = elastic && kind.ramp;
        const bool present[kVarCount] = {true,       true,        true,        true,
                                         true,       kind.backup, kind.backup, kind.battery_ramp,
                                         kind_.peak, elastic,     elastic,     ramp_over,
                                         ramp_over};
        for (int v = 0; v < kVarCount; ++v) offset_[v] = present[v] ? vars_++ : -1;
        const Index n = this->n();
        std::vector<Eigen::Triplet<Real, int>> a, p;
        const Real k = 1 / h;
        std::vector<bool> eq;
        Index r = -1;
        const auto row = [&](Row what, Index t, bool equality) {
            rows_.push_back({what, t});
            eq.push_back(equality);
            return ++r;
        };
        const auto add = [&a](Index i, Index c, Real v) {
            a.emplace_back(static_cast<int>(i), static_cast<int>(c), v);
        };
        // change_t = x_t - x_{t-1} as a row (definition), and if bounded a box row on change_t.
        const auto change_rows = [&](Index t, Var x, Var change, Row definition, Row box,
                                     bool bounded) {
            row(definition, t, true);
            add(r, var(t, x), 1);
            add(r, var(t - 1, x), -1);
            add(r, var(t, change), -1);
            if (bounded) add(row(box, t, false), var(t, change), 1);
        };
        // over_t = x_t + sign z as a row (definition) and a box row on over_t.
        const auto relaxed_rows = [&](Index t, Var x, Var over, Row definition, Row box,
                                      Real sign) {
            row(definition, t, true);
            add(r, var(t, x), 1);
            add(r, relaxation_var(), sign);
            add(r, var(t, over), -1);
            add(row(box, t, false), var(t, over), 1);
        };
        for (Index t = 0; t < T; ++t) {
            row(Row::dynamics, t, true);
            add(r, var(t, kE), k);
            if (t > 0) add(r, var(t - 1, kE), -k * kind.a);
            add(r, var(t, kC), -kind.eta_c);
            add(r, var(t, kD), 1 / kind.eta_d);
            row(Row::balance, t, true);
            add(r, var(t, kG), 1);
            add(r, var(t, kD), 1);
            add(r, var(t, kC), -1);
            if (kind.backup) add(r, var(t, kU), 1);
            add(row(Row::c_box, t, false), var(t, kC), 1);
            add(row(Row::d_box, t, false), var(t, kD), 1);
            add(row(Row::e_box, t, false), var(t, kE), 1);
            if (elastic) {
                relaxed_rows(t, kG, kGOver, Row::g_over, Row::g_over_box, -1);
                relaxed_rows(t, kG, kGUnder, Row::g_under, Row::g_under_box, 1);
            } else {
                add(row(Row::g_box, t, false), var(t, kG), 1);
            }
            if (kind.backup) add(row(Row::u_box, t, false), var(t, kU), 1);
            if (kind_.peak) {
                row(Row::peak, t, true);
                add(r, var(t, kG), 1);
                add(r, var(t, kSigma), 1);
                add(r, peak_var(), -1);
                add(row(Row::sigma_box, t, false), var(t, kSigma), 1);
            }
            if (t > 0) {
                change_rows(t, kG, kR, Row::ramp, Row::ramp_box, kind.ramp && !elastic);
                if (ramp_over) {
                    relaxed_rows(t, kR, kROver, Row::ramp_over, Row::ramp_over_box, -1);
                    relaxed_rows(t, kR, kRUnder, Row::ramp_under, Row::ramp_under_box, 1);
                }
                if (kind.backup)
                    change_rows(t, kU, kV, Row::backup_ramp, Row::backup_ramp_box,
                                kind.backup_ramp);
                if (kind.battery_ramp) {
                    row(Row::battery_ramp, t, true);
                    add(r, var(t, kD), 1);
                    add(r, var(t, kC), -1);
                    add(r, var(t - 1, kD), -1);
                    add(r, var(t - 1, kC), 1);
                    add(r, var(t, kW), -1);
                    add(row(Row::battery_ramp_box, t, false), var(t, kW), 1);
                }
            }
            // 1/2 x'Px of w_ramp sum r_t^2 + w_level sum g_t^2 (objective / h).
            if (!elastic) {
                p.emplace_back(static_cast<int>(var(t, kG)), static_cast<int>(var(t, kG)),
                               2 * w_level);
                p.emplace_back(static_cast<int>(var(t, kR)), static_cast<int>(var(t, kR)),
                               2 * w_ramp);
            }
        }
        if (elastic) add(row(Row::relaxation_box, T, false), relaxation_var(), 1);
        const Index m = r + 1;
        A_.resize(m, n);
        P_.resize(n, n);
        A_.setFromTriplets(a.begin(), a.end());
        P_.setFromTriplets(p.begin(), p.end());
        eq_ = std::move(eq);
        ipm_ = std::make_unique<detail::BoundedQp>(P_, A_, eq_, ipm_settings);
    }

    Index T() const { return T_; }
    const QpKind& kind() const { return kind_; }
    bool elastic() const { return elastic_; }
    Index var(Index t, Var v) const { return vars_ * t + offset_[v]; }
    Index peak_var() const { return vars_ * T_; }        // after every step's variables
    Index relaxation_var() const { return vars_ * T_; }  // z of the elastic QP (no peak there)
    Index n() const { return vars_ * T_ + (kind_.peak || elastic_ ? 1 : 0); }
    const std::vector<std::pair<Row, Index>>& rows() const { return rows_; }
    const detail::BoundedQp& interior_point() const { return *ipm_; }
    // Built on first use (its equilibration is not free and the interior point rarely needs it).
    const detail::ScaledQp& admm() const {
        std::call_once(admm_once_, [this] {
            admm_ = std::make_unique<detail::ScaledQp>(P_, A_, eq_, admm_settings_);
        });
        return *admm_;
    }
    // The elastic LP of this kind, built on first use (only infeasible scenarios need it).
    const SmoothQp& elastic_lp() const {
        std::call_once(elastic_once_, [this] {
            // Feasible by construction, so no stall is infeasibility: no early stop. An LP (g, r,
            // v without curvature) whose first steps are short: with the QP's regularisation its
            // directions degraded there (a random problem with backup generation stalled).
            detail::IpmSettings lp_settings = ipm_settings_;
            lp_settings.stall_window = 0;
            lp_settings.regularization = kLpRegularization;
            elastic_lp_ =
                std::make_unique<SmoothQp>(T_, kind_, h_, 0, 0, admm_settings_, lp_settings, true);
        });
        return *elastic_lp_;
    }

private:
    Index T_;
    QpKind kind_;
    bool elastic_;
    Real h_;
    Index vars_ = 0;             // per step
    Index offset_[kVarCount]{};  // of each variable within a step, -1 if absent
    detail::QpSettings admm_settings_;
    detail::IpmSettings ipm_settings_;
    std::vector<std::pair<Row, Index>> rows_;
    detail::CscMatrix A_, P_;
    std::vector<bool> eq_;
    std::unique_ptr<detail::BoundedQp> ipm_;
    mutable std::once_flag admm_once_;
    mutable std::unique_ptr<detail::ScaledQp> admm_;
    mutable std::once_flag elastic_once_;
    mutable std::unique_ptr<SmoothQp> elastic_lp_;
};

struct Limits {  // physical units of one scenario
    Real e0, e_min, e_max, e_end_min, e_end_max, c_max, d_max, g_min, g_max, ramp;
    Real u_max, u_ramp;  // backup generation
    Real b_ramp;         // battery power change per step
};

Limits limits_of(const BatteryFleet& f, const GridConnection& g, const SmoothDispatchOptions& o) {
    Limits l{};
    l.e0 = f.initial_soc * f.energy_mwh;
    l.e_min = f.soc_min * f.energy_mwh;
    l.e_max = f.soc_max * f.energy_mwh;
    l.e_end_min = f.terminal == TerminalCondition::free ? l.e_min : l.e0;
    l.e_end_max = f.terminal == TerminalCondition::equal ? l.e0 : l.e_max;
    l.c_max = f.charge_mw;
    l.d_max = f.discharge_mw;
    l.g_min = g.export_allowed ? -HUGE_VAL : 0;
    l.g_max = g.import_limit_mw;
    l.ramp = o.ramp_limit_mw_per_s * o.dt_seconds;
    l.u_max = g.backup_mw;
    l.u_ramp = g.backup_ramp_mw_per_s * o.dt_seconds;
    l.b_ramp = f.ramp_limit_mw_per_s * o.dt_seconds;
    return l;
}

// The objective's linear terms and level target of one scenario (objective / h units).
struct Costs {
    Real throughput, backup, w_level, peak;
    Eigen::Ref<const Vector> target, price;  // T each; price may be empty
};

// Bounds and linear cost of one scenario, in the solver's variables.
void fill_bounds(const SmoothQp& qp, const Eigen::Ref<const Vector>& load, const Limits& lim,
                 Real h, const Costs& cost, Vector& q, Vector& l, Vector& u) {
    const Index T = qp.T();
    const QpKind& kind = qp.kind();
    const auto clip = [](Real v) {
        return std::clamp(v, -detail::kQpInfinity, detail::kQpInfinity);
    };
    const auto& rows = qp.rows();
    const auto m = static_cast<Index>(rows.size());
    q = Vector::Zero(qp.n());
    l.resize(m);
    u.resize(m);
    for (Index i = 0; i < m; ++i) {
        const auto [what, t] = rows[static_cast<std::size_t>(i)];
        Real lo = 0, hi = 0;
        switch (what) {
            case Row::dynamics:
                lo = hi = (kind.a - 1) * lim.e0 / h;
                break;
            case Row::balance:
                lo = hi = load[t];
                break;
            case Row::c_box:
                hi = lim.c_max;
                break;
            case Row::d_box:
                hi = lim.d_max;
                break;
            case Row::e_box:
                lo = (t + 1 == T ? lim.e_end_min : lim.e_min) - lim.e0;
                hi = (t + 1 == T ? lim.e_end_max : lim.e_max) - lim.e0;
                break;
            case Row::g_box:
                lo = clip(lim.g_min);
                hi = clip(lim.g_max);
                break;
            case Row::ramp_box:
                lo = clip(-lim.ramp);
                hi = clip(lim.ramp);
                break;
            case Row::u_box:
                hi = lim.u_max;
                break;
            case Row::backup_ramp_box:
                lo = clip(-lim.u_ramp);
                hi = clip(lim.u_ramp);
                break;
            case Row::battery_ramp_box:
                lo = clip(-lim.b_ramp);
                hi = clip(lim.b_ramp);
                break;
            case Row::sigma_box:
            case Row::relaxation_box:
                hi = detail::kQpInfinity;
                break;
            case Row::g_over_box:
                lo = -detail::kQpInfinity;
                hi = clip(lim.g_max);
                break;
            case Row::g_under_box:
                lo = clip(lim.g_min);
                hi = detail::kQpInfinity;
                break;
            case Row::ramp_over_box:
                lo = -detail::kQpInfinity;
                hi = clip(lim.ramp);
                break;
            case Row::ramp_under_box:
                lo = clip(-lim.ramp);
                hi = detail::kQpInfinity;
                break;
            case Row::ramp:
            case Row::backup_ramp:
            case Row::battery_ramp:
            case Row::peak:
            case Row::g_over:
            case Row::g_under:
            case Row::ramp_over:
            case Row::ramp_under:
                break;
        }
        l[i] = lo;
        u[i] = hi;
    }
    if (qp.elastic()) {  // min z
        q[qp.relaxation_var()] = 1;
        return;
    }
    for (Index t = 0; t < T; ++t) {
        q[qp.var(t, kC)] = q[qp.var(t, kD)] = cost.throughput;
        q[qp.var(t, kG)] =
            -2 * cost.w_level * cost.target[t] + (cost.price.size() > 0 ? cost.price[t] : 0.0);
        if (kind.backup) q[qp.var(t, kU)] = cost.backup;
    }
    if (kind.peak) q[qp.peak_var()] = cost.peak / h;
}

Real psi(Real b, const QpKind& k) { return b >= 0 ? b / k.eta_d : b * k.eta_c; }
Real psi_inverse(Real v, const QpKind& k) { return v >= 0 ? v * k.eta_d : v / k.eta_c; }

// Power below which a charge or discharge is rounding, MW: a step with both above it charged and
// discharged at once.
Real power_tolerance(const Limits& lim) { return 1e-5 * (1 + std::max(lim.c_max, lim.d_max)); }

struct PolishOutcome {
    Index simultaneous = 0;
    Real limit_violation = 0;
    Index first_step = -1;  // first broken limit (T: terminal condition), -1 if none
    Real first_violation = 0;
    Violation first_kind = Violation::none;
};

// Physics made exact from the QP's c, d, u: see smooth_dispatch.hpp. Writes columns s of r.
PolishOutcome polish(const SmoothQp& qp, const Vector& x, const Eigen::Ref<const Vector>& load,
                     const Limits& lim, Real h, SmoothDispatchResult& r, Index s) {
    const QpKind& kind = qp.kind();
    const Index T = load.size();
    PolishOutcome out;
    const Real tol_mw = power_tolerance(lim);
    const Real tol_e = 1e-9 * (1 + lim.e_max);
    Vector net(T);
    for (Index t = 0; t < T; ++t) {
        const Real c = x[qp.var(t, kC)], d = x[qp.var(t, kD)];
        if (std::min(c, d) > tol_mw) ++out.simultaneous;
        net[t] = d - c;
        r.backup_mw(t, s) = kind.backup ? std::clamp(x[qp.var(t, kU)], 0.0, lim.u_max) : 0.0;
    }
    // The terminal condition, recomputed with the loss model, can miss: netting simultaneous
    // charge and discharge (the relaxation burning energy, e.g. to end at E_0 without ramping
    // down) leaves energy over, and the QP's equality residuals (within its tolerance) add up
    // over the steps. Correct by one constant extra power over the whole horizon (bisection on
    // the shift): a constant shift of g adds no ramp, where correcting the last step alone would
    // add a jump.
    const auto end_energy = [&](Real shift) {
        Real e = lim.e0;
        for (Index t = 0; t < T; ++t)
            e = kind.a * e - h * psi(std::clamp(net[t] + shift, -lim.c_max, lim.d_max), kind);
        return e;
    };
    const Real end = end_energy(0), span = lim.c_max + lim.d_max;
    const bool over = end > lim.e_end_max, under = end < lim.e_end_min;
    if (over || under) {
        const Real goal = over ? lim.e_end_max : lim.e_end_min;
        Real lo = over ? 0 : -span, hi = over ? span : 0;  // end_energy(lo) > goal > (hi)
        for (int it = 0; it < 100 && hi - lo > 1e-15 * (1 + span); ++it) {
            const Real mid = 0.5 * (lo + hi);
            (end_energy(mid) > goal ? lo : hi) = mid;
        }
        net.array() += over ? hi : lo;
    }
    Real e = lim.e0;
    r.soc_mwh(0, s) = e;
    for (Index t = 0; t < T; ++t) {
        Real b = std::clamp(net[t], -lim.c_max, lim.d_max);
        const Real lo = t + 1 == T ? lim.e_end_min : lim.e_min;
        const Real hi = t + 1 == T ? lim.e_end_max : lim.e_max;
        Real next = kind.a * e - h * psi(b, kind);
        // The QP leaves E within its tolerance of the window; move b just enough to stay inside.
        if (next > hi || next < lo) {
            const Real edge = next > hi ? hi : lo;
            b = std::clamp(psi_inverse((kind.a * e - edge) / h, kind), -lim.c_max, lim.d_max);
            next = kind.a * e - h * psi(b, kind);
        }
        const Real soc_excess = std::max(next - hi, lo - next);
        if (soc_excess > tol_e && out.first_step < 0) {
            out.first_step = t + 1 == T ? T : t;
            out.first_violation = soc_excess;
            out.first_kind = Violation::energy;
        }
        e = next;
        r.battery_mw(t, s) = b;
        r.soc_mwh(t + 1, s) = e;
        r.grid_mw(t, s) = load[t] - b - r.backup_mw(t, s);
    }
    Real max_ramp = 0;
    for (Index t = 0; t < T; ++t) {
        const Real g = r.grid_mw(t, s);
        Real excess = std::max(lim.g_min - g, g - lim.g_max);
        if (t > 0) {
            const Real step = std::abs(g - r.grid_mw(t - 1, s));
            max_ramp = std::max(max_ramp, step);
            excess = std::max({excess, step - lim.ramp,
                               std::abs(r.backup_mw(t, s) - r.backup_mw(t - 1, s)) - lim.u_ramp,
                               std::abs(r.battery_mw(t, s) - r.battery_mw(t - 1, s)) - lim.b_ramp});
        }
        if (excess > 0) {
            out.limit_violation = std::max(out.limit_violation, excess);
            if (excess > tol_mw && (out.first_step < 0 || t < out.first_step)) {
                out.first_step = t;
                out.first_violation = excess;
                out.first_kind = Violation::power;
            }
        }
    }
    r.max_ramp_mw_per_s[s] = max_ramp / (h * 3600);
    return out;
}

// An infeasible scenario described by its elastic LP (SmoothQp with `elastic`): `relaxation`, the
// smallest amount by which every grid limit (import, export, grid ramp) must be relaxed for the
// scenario to become feasible, and `step`, the first step whose limit needs all of it. The
// interior point ends near the analytic centre of the LP's optimal face, where a limit needs all
// of z only if it does so in every min-max plan. `tried`: the LP was solved; `infeasible`: and z
// is more than rounding (else the scenario is feasible and the caller goes on without this).
struct Infeasibility {
    bool tried = false, infeasible = false;
    Real relaxation = 0;
    Index step = -1;
    int iterations = 0;
};

Infeasibility describe_infeasible(const SmoothQp& lp, const Eigen::Ref<const Vector>& load,
                                  const Limits& lim, Real h, const Costs& cost,
                                  detail::IpmWorkspace& ws) {
    Vector q, l, u;
    fill_bounds(lp, load, lim, h, cost, q, l, u);
    const detail::QpOutcome out = lp.interior_point().solve(q, l, u, ws);
    Infeasibility r;
    r.iterations = out.iterations;
    if (out.status != Status::converged) return r;  // the battery alone is infeasible
    r.tried = true;
    r.relaxation = std::max(ws.x[lp.relaxation_var()], 0.0);
    r.infeasible = r.relaxation > 1e-8 * (1 + load.cwiseAbs().maxCoeff());
    const Real binding = r.relaxation - 1e-6 * (1 + r.relaxation);
    for (Index t = 0; t < lp.T() && r.step < 0; ++t) {
        const Real g = ws.x[lp.var(t, kG)];
        Real excess = std::max(g - lim.g_max, lim.g_min - g);
        if (t > 0) excess = std::max(excess, std::abs(g - ws.x[lp.var(t - 1, kG)]) - lim.ramp);
        if (excess >= binding) r.step = t;
    }
    return r;
}

Real objective_of(const SmoothDispatchResult& r, Index s, Real h, Real w_ramp, const Costs& cost) {
    const Index T = r.grid_mw.rows();
    Real ramp = 0, level = 0, linear = 0, peak = -HUGE_VAL;
    for (Index t = 0; t < T; ++t) {
        peak = std::max(peak, r.grid_mw(t, s));
        const Real g = r.grid_mw(t, s);
        if (t > 0) ramp += (g - r.grid_mw(t - 1, s)) * (g - r.grid_mw(t - 1, s));
        level += (g - cost.target[t]) * (g - cost.target[t]);
        linear += cost.throughput * std::abs(r.battery_mw(t, s)) + cost.backup * r.backup_mw(t, s) +
                  (cost.price.size() > 0 ? cost.price[t] * g : 0.0);
    }
    return h * (w_ramp * ramp + cost.w_level * level + linear) +
           (cost.peak > 0 ? cost.peak * peak : 0);
}

}  // namespace

Real SmoothDispatchOptions::effective_level_weight() const {
    if (level_weight >= 0) return level_weight;
    const Real r = dt_seconds / level_time_constant_s;
    return ramp_weight * r * r;
}

void SmoothDispatchOptions::validate() const {
    const auto require = [](bool ok, const char* field, Real value, const char* want) {
        if (!ok)
            fail(std::string("SmoothDispatchOptions: ") + field + " = " + num(value) + " must be " +
                 want);
    };
    require(std::isfinite(dt_seconds) && dt_seconds > 0, "dt_seconds", dt_seconds,
            "finite and > 0");
    require(threads >= 0, "threads", threads, ">= 0 (0 = all cores)");
    require(std::isfinite(ramp_weight) && ramp_weight >= 0, "ramp_weight", ramp_weight,
            "finite and >= 0");
    require(std::isfinite(level_weight), "level_weight", level_weight,
            "finite (>= 0, or < 0 for the default)");
    require(std::isfinite(level_time_constant_s) && level_time_constant_s > 0,
            "level_time_constant_s", level_time_constant_s, "finite and > 0");
    if (!(effective_level_weight() > 0))
        fail("SmoothDispatchOptions: level_weight (effective " + num(effective_level_weight()) +
             ") must be > 0: without it the grid draw's level is not determined");
    require(!std::isnan(ramp_limit_mw_per_s) && ramp_limit_mw_per_s > 0, "ramp_limit_mw_per_s",
            ramp_limit_mw_per_s, "> 0 (infinite for none)");
    require(std::isfinite(eps_abs) && eps_abs > 0, "eps_abs", eps_abs, "finite and > 0");
    require(std::isfinite(eps_rel) && eps_rel >= 0, "eps_rel", eps_rel, "finite and >= 0");
    require(std::isfinite(eps_infeasible) && eps_infeasible > 0, "eps_infeasible", eps_infeasible,
            "finite and > 0");
    require(max_iterations >= 1, "max_iterations", max_iterations, ">= 1");
    require(std::isfinite(rho) && rho > 0, "rho", rho, "finite and > 0");
    require(solver == SmoothDispatchSolver::interior_point || solver == SmoothDispatchSolver::admm,
            "solver", static_cast<Real>(solver), "interior_point or admm");
    require(std::isfinite(ipm_tolerance) && ipm_tolerance > 0, "ipm_tolerance", ipm_tolerance,
            "finite and > 0");
    require(ipm_max_iterations >= 1, "ipm_max_iterations", ipm_max_iterations, ">= 1");
    require(std::isfinite(peak_weight) && peak_weight >= 0, "peak_weight", peak_weight,
            "finite and >= 0");
    for (const auto& [series, name] :
         {std::pair{&energy_price, "energy_price"}, std::pair{&target_mw, "target_mw"}})
        for (Index t = 0; t < series->size(); ++t)
            if (!std::isfinite((*series)[t]))
                fail(std::string("SmoothDispatchOptions: ") + name + " at step " +
                     std::to_string(t) + " is " + num((*series)[t]) + "; must be finite");
}

namespace {

// The QPs of earlier calls, one per kind, for later calls with the same horizon and options: the
// rounds of a sizing search solve the same QPs with other bounds, and building a QP (its
// structure and the factorisation's schedule, in fresh memory) costs about a sixth of solving it.
// Sizing one 6-hour load on one thread: 3.6-5.0 s building each round's QPs, 2.5 s keeping them.
using KeptQps = std::vector<std::pair<QpKind, std::shared_ptr<const SmoothQp>>>;

SmoothDispatchResult solve_on(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                              const std::vector<GridConnection>& grids,
                              const SmoothDispatchOptions& options, detail::IpmEngine* device,
                              KeptQps* kept);

// smooth_dispatch() with the QPs of earlier calls where `kept` holds them (and the new ones kept
// there).
SmoothDispatchResult dispatch_with(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                                   const std::vector<GridConnection>& grids,
                                   const SmoothDispatchOptions& options, KeptQps* kept) {
    options.validate();
    // The ADMM runs on the host only.
    if (options.solver == SmoothDispatchSolver::admm ||
        resolve_backend(options.backend) != Backend::cuda)
        return solve_on(load, fleets, grids, options, nullptr, kept);
    const auto engine = detail::cuda::make_ipm_engine(options.device);
    return solve_on(load, fleets, grids, options, engine.get(), kept);
}

}  // namespace

SmoothDispatchResult smooth_dispatch(const MatrixView& load,
                                     const std::vector<BatteryFleet>& fleets,
                                     const std::vector<GridConnection>& grids,
                                     const SmoothDispatchOptions& options) {
    return dispatch_with(load, fleets, grids, options, nullptr);
}

namespace detail {

void check_smooth_dispatch_inputs(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                                  const std::vector<GridConnection>& grids,
                                  const SmoothDispatchOptions& options) {
    options.validate();
    const Index T = load.rows(), S = load.cols();
    if (T < 1) fail("smooth_dispatch: load has no time steps (0 rows)");
    detail::check_fleets_and_grids(fleets, grids, S, "smooth_dispatch");
    for (const auto& [series, name] : {std::pair{&options.energy_price, "energy_price"},
                                       std::pair{&options.target_mw, "target_mw"}})
        if (series->size() != 0 && series->size() != T)
            fail(std::string("smooth_dispatch: options.") + name + " has " +
                 std::to_string(series->size()) + " entries; expected 0 (none) or " +
                 std::to_string(T) + " (one per step)");
    detail::check_site_load(load, "smooth_dispatch");
}

SmoothDispatchResult smooth_dispatch_on(const MatrixView& load,
                                        const std::vector<BatteryFleet>& fleets,
                                        const std::vector<GridConnection>& grids,
                                        const SmoothDispatchOptions& options, IpmEngine* device) {
    return solve_on(load, fleets, grids, options, device, nullptr);
}

}  // namespace detail

namespace {

SmoothDispatchResult solve_on(const MatrixView& load, const std::vector<BatteryFleet>& fleets,
                              const std::vector<GridConnection>& grids,
                              const SmoothDispatchOptions& options, detail::IpmEngine* device,
                              KeptQps* kept) {
    detail::check_smooth_dispatch_inputs(load, fleets, grids, options);
    const Index T = load.rows(), S = load.cols();

    const Real h = options.dt_seconds / 3600;
    const Real w_ramp = options.ramp_weight, w_level = options.effective_level_weight();
    const bool ramp = std::isfinite(options.ramp_limit_mw_per_s);
    detail::QpSettings settings;
    settings.rho = options.rho;
    settings.eps_abs = options.eps_abs;
    settings.eps_rel = options.eps_rel;
    settings.eps_primal_infeasible = options.eps_infeasible;
    settings.max_iterations = options.max_iterations;
    settings.adaptive_rho = options.adaptive_rho;
    detail::IpmSettings ipm_settings;
    ipm_settings.tolerance = options.ipm_tolerance;
    ipm_settings.max_iterations = options.ipm_max_iterations;

    const auto fleet_of = [&](Index s) -> const BatteryFleet& {
        return fleets[fleets.size() == 1 ? 0 : static_cast<std::size_t>(s)];
    };
    const auto grid_of = [&](Index s) -> const GridConnection& {
        return grids[grids.size() == 1 ? 0 : static_cast<std::size_t>(s)];
    };
    // One QP (structure, equilibration, factorisations) per distinct kind.
    std::vector<QpKind> kinds;
    std::vector<std::shared_ptr<const SmoothQp>> qps;
    std::vector<std::size_t> kind_of(static_cast<std::size_t>(S));
    for (Index s = 0; s < S; ++s) {
        const BatteryFleet& f = fleet_of(s);
        const GridConnection& g = grid_of(s);
        const QpKind k{f.charge_efficiency,
                       f.discharge_efficiency,
                       1 - f.self_discharge_per_hour * h,
                       ramp,
                       g.backup_mw > 0,
                       g.backup_mw > 0 && std::isfinite(g.backup_ramp_mw_per_s),
                       std::isfinite(f.ramp_limit_mw_per_s),
                       options.peak_weight > 0};
        auto it = std::find(kinds.begin(), kinds.end(), k);
        if (it == kinds.end()) {
            kinds.push_back(k);
            std::shared_ptr<const SmoothQp> qp;
            if (kept)
                for (const auto& [kind, q] : *kept)
                    if (kind == k) qp = q;
            if (!qp) {
                qp = std::make_shared<const SmoothQp>(T, k, h, w_ramp, w_level, settings,
                                                      ipm_settings);
                if (kept) kept->emplace_back(k, qp);
            }
            qps.push_back(std::move(qp));
            it = kinds.end() - 1;
        }
        kind_of[static_cast<std::size_t>(s)] = static_cast<std::size_t>(it - kinds.begin());
    }

    SmoothDispatchResult r;
    r.battery_mw.resize(T, S);
    r.soc_mwh.resize(T + 1, S);
    r.grid_mw.resize(T, S);
    r.backup_mw.resize(T, S);
    r.objective.resize(S);
    r.report = ScenarioReport(S);
    r.infeasible_step = IndexVector::Constant(S, -1);
    r.violation = Vector::Zero(S);
    r.violation_kind = FlagVector::Zero(S);
    r.method = FlagVector::Constant(S, static_cast<std::int8_t>(DispatchMethod::automatic));
    r.backend = device ? Backend::cuda : Backend::cpu;
    r.dual_residual = Vector::Zero(S);
    r.relaxed_steps = IndexVector::Zero(S);
    r.limit_violation = Vector::Zero(S);
    r.max_ramp_mw_per_s = Vector::Zero(S);

    const int threads = detail::cpu::thread_count(options.threads, S);
    struct Worker {  // per-thread state
        detail::QpWorkspace admm;
        detail::IpmWorkspace ipm, elastic, one_way;
        Vector q, l, u, mean;
    };
    std::vector<Worker> workers(static_cast<std::size_t>(threads));
    const bool interior_point = options.solver == SmoothDispatchSolver::interior_point;
    // Scenario s's costs and bounds into w.q, w.l, w.u.
    const auto build = [&](Worker& w, Index s) {
        const BatteryFleet& f = fleet_of(s);
        const auto column = load.col(s);
        if (options.target_mw.size() == 0) w.mean.setConstant(T, column.mean());
        const Costs cost{f.throughput_cost,
                         grid_of(s).backup_cost_per_mwh,
                         w_level,
                         options.peak_weight,
                         options.target_mw.size() ? options.target_mw : w.mean,
                         options.energy_price};
        fill_bounds(*qps[kind_of[static_cast<std::size_t>(s)]], column,
                    limits_of(f, grid_of(s), options), h, cost, w.q, w.l, w.u);
        return cost;
    };
    // Solves scenario s. `first`: the interior point's answer, already in w.ipm.x (from the
    // device); null: solve from the start.
    const auto solve_scenario = [&](Worker& w, Index s, const detail::QpOutcome* first) {
        const std::size_t k = kind_of[static_cast<std::size_t>(s)];
        const Limits lim = limits_of(fleet_of(s), grid_of(s), options);
        const auto column = load.col(s);
        const Costs cost = build(w, s);
        Vector &q = w.q, &l = w.l, &u = w.u;
        detail::QpOutcome qo;
        const Vector* x = &w.admm.x;
        const SmoothQp* x_of = qps[k].get();  // the QP whose layout x has
        Infeasibility inf;
        const auto describe = [&] {
            inf = describe_infeasible(qps[k]->elastic_lp(), column, lim, h, cost, w.elastic);
            qo.iterations += inf.iterations;
        };
        if (interior_point) {
            qo = first ? *first : qps[k]->interior_point().solve(q, l, u, w.ipm);
            x = &w.ipm.x;
            if (qo.status != Status::converged) describe();
            // Feasible after all: a degenerate problem whose end game lost pivots. Once more
            // with the elastic LP's larger regularisation before the (slow) ADMM.
            if (inf.tried && !inf.infeasible) {
                const int before = qo.iterations;
                qo = qps[k]->interior_point().solve(q, l, u, w.ipm, kLpRegularization);
                qo.iterations += before;
            }
        }
        if (!inf.infeasible && (!interior_point || qo.status != Status::converged)) {
            const int before = qo.iterations;
            qo = qps[k]->admm().solve(q, l, u, w.admm);
            qo.iterations += before;
            x = &w.admm.x;
            if (qo.status == Status::infeasible && !inf.tried) describe();
        }
        if (inf.infeasible) {
            // The dispatch returned: the optimum with the grid limits relaxed by z (a hair
            // more, so that rounding leaves it feasible); the elastic LP's plan if that fails.
            Limits relaxed = lim;
            const Real z = inf.relaxation * (1 + 1e-9) + 1e-9;
            relaxed.g_max += z;
            relaxed.g_min -= z;
            relaxed.ramp += z;
            fill_bounds(*qps[k], column, relaxed, h, cost, q, l, u);
            const detail::QpOutcome relaxed_qo = qps[k]->interior_point().solve(q, l, u, w.ipm);
            if (relaxed_qo.status == Status::converged) {
                x = &w.ipm.x;
            } else {
                x = &w.elastic.x;
                x_of = &qps[k]->elastic_lp();
            }
            qo.status = Status::infeasible;
            qo.iterations += relaxed_qo.iterations;
            qo.primal_residual = relaxed_qo.primal_residual;
            qo.dual_residual = relaxed_qo.dual_residual;
        }
        PolishOutcome po = polish(*x_of, *x, column, lim, h, r, s);
        const QpKind& kind = qps[k]->kind();
        const bool lossy = kind.eta_c != 1 || kind.eta_d != 1;  // else netting burns nothing
        if (po.simultaneous > 0 && lossy && qo.status == Status::converged &&
            x_of == qps[k].get()) {
            // The relaxation gap (smooth_dispatch.hpp): the QP charged and discharged at once,
            // and netting that can cost far more than the optimum or break a limit. Solved again
            // with one direction per step, the QP has no such steps. First every step in the
            // direction of the answer's net power; then, at up to kGreedySteps steps that did
            // both (where the answer burned energy, which way the optimum goes is open: an audit
            // found the net directions 6 % above it), each direction reversed in turn, kept where
            // that is cheaper. The cheapest answer that keeps every limit is kept, and the
            // relaxed one where that is cheaper still.
            constexpr Index kGreedySteps = 8;
            const Real tol_mw = power_tolerance(lim);
            std::vector<char> discharge(static_cast<std::size_t>(T));
            std::vector<Index> both;
            for (Index t = 0; t < T; ++t) {
                const Real c = (*x)[qps[k]->var(t, kC)], d = (*x)[qps[k]->var(t, kD)];
                discharge[static_cast<std::size_t>(t)] = d - c >= 0;
                if (std::min(c, d) > tol_mw) both.push_back(t);
            }
            if (static_cast<Index>(both.size()) > kGreedySteps) both.clear();
            const Index simultaneous = po.simultaneous;
            Real best = po.first_step >= 0 ? HUGE_VAL : objective_of(r, s, h, w_ramp, cost);
            Vector best_x = *x;
            const SmoothQp* best_of = x_of;
            const auto& rows = qps[k]->rows();
            // Solves with the directions `discharge`; true where its answer is the best so far.
            const auto try_directions = [&] {
                Vector one_way_u = u;
                for (std::size_t i = 0; i < rows.size(); ++i) {
                    const auto [what, t] = rows[i];
                    const bool out = discharge[static_cast<std::size_t>(t)] != 0;
                    if ((what == Row::c_box && out) || (what == Row::d_box && !out))
                        one_way_u[static_cast<Index>(i)] = 0;
                }
                const detail::QpOutcome one =
                    qps[k]->interior_point().solve(q, l, one_way_u, w.one_way);
                qo.iterations += one.iterations;
                if (one.status != Status::converged) return false;
                const PolishOutcome po_one = polish(*qps[k], w.one_way.x, column, lim, h, r, s);
                const Real value = objective_of(r, s, h, w_ramp, cost);
                if (po_one.first_step >= 0 || !(value < best)) return false;
                best = value;
                best_x = w.one_way.x;
                best_of = qps[k].get();
                return true;
            };
            try_directions();
            for (const Index t : both) {
                char& dir = discharge[static_cast<std::size_t>(t)];
                dir = static_cast<char>(!dir);
                if (!try_directions()) dir = static_cast<char>(!dir);
            }
            po = polish(*best_of, best_x, column, lim, h, r, s);  // the kept answer's columns
            po.simultaneous = simultaneous;  // steps whose direction the QP left open
        }
        // A converged QP of a lossy fleet that burned energy, whose physical dispatch still
        // breaks a limit, is no optimum of the model. Elsewhere an excess is the solver's own
        // inaccuracy (loose eps_abs with the ADMM, say): limit_violation reports it.
        if (qo.status == Status::converged && po.first_step >= 0 && lossy && po.simultaneous > 0)
            qo.status = Status::relaxation_gap;
        r.report.status[s] = static_cast<std::int8_t>(qo.status);
        r.report.iterations[s] = qo.iterations;
        r.report.max_mismatch[s] = qo.primal_residual;
        r.dual_residual[s] = qo.dual_residual;
        r.relaxed_steps[s] = po.simultaneous;
        r.limit_violation[s] = po.limit_violation;
        if (inf.infeasible) {
            r.infeasible_step[s] = inf.step;
            r.violation[s] = inf.relaxation;
            r.violation_kind[s] = static_cast<std::int8_t>(Violation::power);
        } else if (qo.status == Status::infeasible) {
            r.infeasible_step[s] = po.first_step;
            r.violation[s] = po.first_violation;
            r.violation_kind[s] = static_cast<std::int8_t>(po.first_kind);
        }
        r.objective[s] = objective_of(r, s, h, w_ramp, cost);
    };

    if (!device) {
        detail::cpu::parallel_for(S, threads, 1, [&](int worker, Index begin, Index end) {
            for (Index s = begin; s < end; ++s)
                solve_scenario(workers[static_cast<std::size_t>(worker)], s, nullptr);
        });
        return r;
    }
    // The interior point's first solve of every scenario on the device, by QP kind and in chunks
    // that fit it; the rest (the hand-overs, rare, and the polish) on the host threads.
    for (std::size_t k = 0; k < qps.size(); ++k) {
        std::vector<Index> of_kind;
        for (Index s = 0; s < S; ++s)
            if (kind_of[static_cast<std::size_t>(s)] == k) of_kind.push_back(s);
        const detail::BoundedQp& ipm = qps[k]->interior_point();
        const auto count = static_cast<Index>(of_kind.size());
        const Index chunk = device->chunk_size(ipm, count);
        for (Index first = 0; first < count; first += chunk) {
            const Index C = std::min(chunk, count - first);
            Matrix q(ipm.n(), C), l(ipm.structure().rows, C), u(ipm.structure().rows, C), x;
            std::vector<detail::QpOutcome> outcomes;
            detail::cpu::parallel_for(C, threads, 1, [&](int worker, Index begin, Index end) {
                Worker& w = workers[static_cast<std::size_t>(worker)];
                for (Index c = begin; c < end; ++c) {
                    build(w, of_kind[static_cast<std::size_t>(first + c)]);
                    q.col(c) = w.q;
                    l.col(c) = w.l;
                    u.col(c) = w.u;
                }
            });
            device->solve(ipm, q, l, u, x, outcomes);
            detail::cpu::parallel_for(C, threads, 1, [&](int worker, Index begin, Index end) {
                Worker& w = workers[static_cast<std::size_t>(worker)];
                for (Index c = begin; c < end; ++c) {
                    w.ipm.x = x.col(c);
                    solve_scenario(w, of_kind[static_cast<std::size_t>(first + c)],
                                   &outcomes[static_cast<std::size_t>(c)]);
                }
            });
        }
    }
    return r;
}

}  // namespace

IndexVector smallest_fleet_for_ramp(const MatrixView& load, const BatteryUnit& unit,
                                    Real ramp_limit_mw_per_min, Index max_units,
                                    const GridConnection& grid,
                                    const SmoothDispatchOptions& options,
                                    const IndexVector& first_probe) {
    options.validate();
    KeptQps kept;  // every round has this horizon and these options
    // A column's interior point runs on one thread: idle threads try counts ahead.
    const Index columns = detail::cpu::thread_count(options.threads, max_units + 1);
    return detail::smallest_fleet(
        "smallest_fleet_for_ramp", load, unit, ramp_limit_mw_per_min, max_units, options.dt_seconds,
        first_probe, columns,
        [&](const Matrix& l, const std::vector<BatteryFleet>& fleets) -> DispatchResult {
            return dispatch_with(l, fleets, {grid}, options, &kept);
        });
}

}  // namespace gridbatch
