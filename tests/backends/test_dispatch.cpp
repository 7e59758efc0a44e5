// Battery dispatch: feasibility and energy balance, the taut string's defining property, both
// exact solvers against each other and against an independent dense QP (ADMM written here),
// infeasibility reports, input errors, the causal baseline, metrics and sizing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "gridbatch/battery_dispatch.hpp"
#include "gridbatch/error.hpp"
#include "gridbatch/smooth_dispatch.hpp"
#include "support/backend_test.hpp"
#include "support/cases.hpp"
#include "support/dispatch_checks.hpp"
#include "support/expect_error.hpp"

namespace gridbatch {
namespace {

constexpr Real kTol = 1e-9;

// Random positive load with slow and fast swings, T x S.
Matrix random_load(Index T, Index S, unsigned seed, Real base = 100, Real swing = 40) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<Real> u(0, 1);
    Matrix load(T, S);
    for (Index s = 0; s < S; ++s) {
        const Real period = 5 + 20 * u(rng);
        for (Index t = 0; t < T; ++t)
            load(t, s) = base + swing * (std::sin(6.283 * t / period) > 0 ? 1 : -0.5) +
                         10 * u(rng) + 20 * std::sin(6.283 * t / (4 * period));
    }
    return load;
}

BatteryFleet lossless_fleet(Real energy, Real power) {
    BatteryFleet f;
    f.energy_mwh = energy;
    f.charge_mw = f.discharge_mw = power;
    f.soc_min = 0.1;
    f.soc_max = 0.9;
    f.initial_soc = 0.5;
    return f;
}

// dispatch()'s terminal condition holds to 1e-8 (relative to 1 + MWh): the exact solvers' SoC
// is a long running sum.
constexpr test::PhysicalTolerance kExact{kTol, 1e-8};

// ---- independent reference: OSQP-style ADMM on the dense QP over (charge, discharge) --------
// min 1/2 x'Px + q'x  s.t.  l <= Ax <= u, x = [c; d] >= 0 (charge and discharge kept apart: the
// convex relaxation, exact for non-negative load).
struct QpReference {
    Real objective;
    Vector battery;
};

QpReference solve_reference(const Vector& load, Real target, const BatteryFleet& f,
                            const GridConnection& grid, Real dt) {
    const Index T = load.size(), n = 2 * T;
    const Real h = dt / 3600, a = 1 - f.self_discharge_per_hour * h;
    Matrix D(T, n);  // g = load + D x
    D << Matrix::Identity(T, T), -Matrix::Identity(T, T);
    // Scaled for conditioning: objective / h, energy rows / h (MW-steps instead of MWh).
    const Matrix P = 2 * D.transpose() * D;
    const Vector q =
        2 * D.transpose() * (load.array() - target).matrix() + f.throughput_cost * Vector::Ones(n);
    // rows: x bounds (n), grid draw (T), energy E_1..E_T (T)
    Matrix A = Matrix::Zero(n + 2 * T, n);
    Vector l(n + 2 * T), u(n + 2 * T);
    A.topLeftCorner(n, n).setIdentity();
    l.head(n).setZero();
    u.head(T).setConstant(f.charge_mw);
    u.segment(T, T).setConstant(f.discharge_mw);
    A.block(n, 0, T, n) = D;
    l.segment(n, T) = (grid.export_allowed ? -1e9 : 0.0) * Vector::Ones(T) - load;
    u.segment(n, T) = std::min(grid.import_limit_mw, 1e9) * Vector::Ones(T) - load;
    const Real e0 = f.initial_soc * f.energy_mwh;
    for (Index t = 1; t <= T; ++t) {
        for (Index k = 0; k < t; ++k) {
            const Real w = std::pow(a, static_cast<Real>(t - 1 - k));
            A(n + T + t - 1, k) = w * f.charge_efficiency;
            A(n + T + t - 1, T + k) = -w / f.discharge_efficiency;
        }
        const Real free = std::pow(a, static_cast<Real>(t)) * e0;
        l[n + T + t - 1] = (f.soc_min * f.energy_mwh - free) / h;
        u[n + T + t - 1] = (f.soc_max * f.energy_mwh - free) / h;
    }
    const Real end = (e0 - std::pow(a, T) * e0) / h;
    if (f.terminal == TerminalCondition::equal) l[n + 2 * T - 1] = u[n + 2 * T - 1] = end;
    if (f.terminal == TerminalCondition::at_least_initial) l[n + 2 * T - 1] = end;
    // OSQP's step sizes: larger for equality rows.
    Vector rho = Vector::Constant(A.rows(), 0.1);
    for (Index i = 0; i < A.rows(); ++i)
        if (u[i] - l[i] < 1e-12) rho[i] = 100;
    const Real sigma = 1e-9, alpha = 1.6;
    const auto factor = [&] {
        return Eigen::LDLT<Matrix>(P + sigma * Matrix::Identity(n, n) +
                                   A.transpose() * rho.asDiagonal() * A);
    };
    Eigen::LDLT<Matrix> kkt = factor();
    Vector x = Vector::Zero(n), z = Vector::Zero(A.rows()), y = Vector::Zero(A.rows());
    for (int it = 0; it < 40000; ++it) {
        const Vector xt = kkt.solve(sigma * x - q + A.transpose() * (rho.cwiseProduct(z) - y));
        const Vector zt = A * xt;
        x = alpha * xt + (1 - alpha) * x;
        const Vector zr = alpha * zt + (1 - alpha) * z;
        const Vector zn = (zr + y.cwiseQuotient(rho)).cwiseMax(l).cwiseMin(u);
        y += rho.cwiseProduct(zr - zn);
        const Real primal = (A * x - zn).lpNorm<Eigen::Infinity>();
        const Real dual = (P * x + q + A.transpose() * y).lpNorm<Eigen::Infinity>();
        z = zn;
        if (primal < 1e-10 && dual < 1e-10) break;
        if (it % 200 == 199 && dual > 0 && primal > 0) {  // OSQP's adaptive step size
            rho *= std::min(1e3, std::max(1e-3, std::sqrt(primal / dual)));
            kkt = factor();
        }
        if (it == 40000 - 1)
            ADD_FAILURE() << "reference ADMM did not converge: residuals " << primal << ", "
                          << dual;
    }
    const Vector dev = (load.array() - target).matrix() + D * x;
    return {h * (dev.squaredNorm() + f.throughput_cost * x.sum()), x.tail(T) - x.head(T)};
}

// ---------------------------------------------------------------------------------------------
class DispatchTest : public test::BackendTest {};

TEST_P(DispatchTest, TautStringStaysInTubeAndBendsOnlyAtTheBounds) {
    const Real dt = 1;
    const Matrix load = random_load(2000, 3, 7);
    const BatteryFleet f = lossless_fleet(0.05, 1e6);  // power never binds: the pure string
    DispatchOptions opt;
    opt.backend = backend();
    opt.method = DispatchMethod::taut_string;
    const DispatchResult r = dispatch(load, {f}, {GridConnection{HUGE_VAL, true}}, opt);
    const Real lo = f.soc_min * f.energy_mwh, hi = f.soc_max * f.energy_mwh;
    for (Index s = 0; s < load.cols(); ++s) {
        ASSERT_EQ(r.report.at(s), Status::converged);
        EXPECT_EQ(r.method[s], static_cast<std::int8_t>(DispatchMethod::taut_string));
        test::expect_physical(load, r, f, {HUGE_VAL, true}, dt, s, kExact);
        Index rises = 0, falls = 0;
        for (Index t = 1; t < load.rows(); ++t) {
            const Real jump = r.grid_mw(t, s) - r.grid_mw(t - 1, s);
            // Defining property of the taut string: the draw only rises after the battery is
            // full (the path touches the ceiling) and only falls when it is empty (the floor).
            if (jump > 1e-7) {
                ++rises;
                EXPECT_NEAR(r.soc_mwh(t, s), hi, 1e-9) << "rise at step " << t;
            }
            if (jump < -1e-7) {
                ++falls;
                EXPECT_NEAR(r.soc_mwh(t, s), lo, 1e-9) << "fall at step " << t;
            }
        }
        EXPECT_GT(rises + falls, 2);  // the instance exercises both contacts
        // Much flatter than the load.
        const Real sd_load = std::sqrt((load.col(s).array() - load.col(s).mean()).square().mean());
        const Real sd_grid =
            std::sqrt((r.grid_mw.col(s).array() - r.grid_mw.col(s).mean()).square().mean());
        EXPECT_LT(sd_grid, 0.8 * sd_load);
    }
}

TEST_P(DispatchTest, DynamicProgramMatchesTautStringOnLosslessProblems) {
    const Matrix load = random_load(3000, 4, 11);
    const BatteryFleet f = lossless_fleet(3.0, 1e6);
    DispatchOptions opt;
    opt.backend = backend();
    opt.method = DispatchMethod::taut_string;
    const DispatchResult a = dispatch(load, {f}, {GridConnection{}}, opt);
    opt.method = DispatchMethod::dynamic_program;
    const DispatchResult b = dispatch(load, {f}, {GridConnection{}}, opt);
    for (Index s = 0; s < load.cols(); ++s) {
        ASSERT_EQ(b.report.at(s), Status::converged);
        EXPECT_EQ(a.method[s], static_cast<std::int8_t>(DispatchMethod::taut_string));
        EXPECT_NEAR(a.objective[s], b.objective[s], 1e-9 * (a.objective[s] + 1));
        EXPECT_LT((a.grid_mw.col(s) - b.grid_mw.col(s)).lpNorm<Eigen::Infinity>(), 1e-6);
        test::expect_physical(load, b, f, {}, 1, s, kExact);
    }
}

// The taut string knows the SoC window only. Asked for by name where its string would break a
// power limit, or end below the target under at-least-initial, it is not the optimum: the dynamic
// program's dispatch is returned (and said to be), never the string marked optimal.
TEST_P(DispatchTest, TautStringByNameNeverReturnsAStringThatBreaksALimit) {
    const Matrix load = random_load(600, 2, 5);
    DispatchOptions opt;
    opt.backend = backend();
    struct Case {
        const char* name;
        BatteryFleet fleet;
        SmoothingTarget target;
    };
    BatteryFleet at_least = lossless_fleet(0.2, 1e6);
    at_least.terminal = TerminalCondition::at_least_initial;
    const Case cases[] = {{"power limit", lossless_fleet(0.05, 0.5), SmoothingTarget::zero},
                          {"at least initial, mean target", at_least, SmoothingTarget::mean_load}};
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        opt.target = c.target;
        opt.method = DispatchMethod::taut_string;
        const DispatchResult a = dispatch(load, {c.fleet}, {GridConnection{HUGE_VAL, true}}, opt);
        opt.method = DispatchMethod::dynamic_program;
        const DispatchResult b = dispatch(load, {c.fleet}, {GridConnection{HUGE_VAL, true}}, opt);
        Index replaced = 0;
        for (Index s = 0; s < load.cols(); ++s) {
            ASSERT_EQ(a.report.at(s), Status::converged);
            replaced += a.method[s] == static_cast<std::int8_t>(DispatchMethod::dynamic_program);
            EXPECT_NEAR(a.objective[s], b.objective[s], 1e-9 * (b.objective[s] + 1));
            test::expect_physical(load, a, c.fleet, {HUGE_VAL, true}, 1, s, kExact);
        }
        EXPECT_GT(replaced, 0);  // the instance exercises the replacement
    }
}

TEST_P(DispatchTest, MatchesDenseQpReference) {
    struct Case {
        const char* name;
        BatteryFleet fleet;
        GridConnection grid;
    };
    std::vector<Case> cases;
    cases.push_back({"lossless, power-limited", lossless_fleet(0.05, 25), {}});
    BatteryFleet lossy = lossless_fleet(0.05, 30);
    lossy.charge_efficiency = 0.95;
    lossy.discharge_efficiency = 0.9;
    cases.push_back({"lossy", lossy, {}});
    lossy.throughput_cost = 15;
    lossy.self_discharge_per_hour = 0.5;
    cases.push_back({"lossy, throughput cost, self-discharge", lossy, {}});
    lossy.terminal = TerminalCondition::at_least_initial;
    cases.push_back({"lossy, terminal >= initial, import limit", lossy, {150.0, false}});
    lossy.terminal = TerminalCondition::free;
    cases.push_back({"lossy, free terminal", lossy, {}});
    const Real dt = 2;
    const Matrix load = random_load(24, 2, 5);
    for (const SmoothingTarget target : {SmoothingTarget::min_load, SmoothingTarget::zero}) {
        for (const Case& c : cases) {
            SCOPED_TRACE(std::string(c.name) + ", target " +
                         std::to_string(static_cast<int>(target)));
            DispatchOptions opt;
            opt.backend = backend();
            opt.dt_seconds = dt;
            opt.target = target;
            const DispatchResult r = dispatch(load, {c.fleet}, {c.grid}, opt);
            for (Index s = 0; s < load.cols(); ++s) {
                ASSERT_EQ(r.report.at(s), Status::converged);
                test::expect_physical(load, r, c.fleet, c.grid, dt, s, kExact);
                const Real z = target == SmoothingTarget::zero ? 0.0 : load.col(s).minCoeff();
                EXPECT_EQ(r.relaxed_steps[s], 0);
                const QpReference ref = solve_reference(load.col(s), z, c.fleet, c.grid, dt);
                EXPECT_NEAR(r.objective[s], ref.objective, 1e-7 * ref.objective);
                EXPECT_LT((r.battery_mw.col(s) - ref.battery).lpNorm<Eigen::Infinity>(), 1e-6);
            }
        }
    }
}

TEST_P(DispatchTest, MeanTargetIsFeasibleAndSmootherThanMinTarget) {
    const Matrix load = random_load(3000, 3, 17);
    BatteryFleet f = BatteryFleet::from_units(battery_unit("megapack-2h"), 30);
    DispatchOptions opt;
    opt.backend = backend();
    opt.target = SmoothingTarget::mean_load;
    const DispatchResult mean = dispatch(load, {f}, {GridConnection{}}, opt);
    opt.target = SmoothingTarget::min_load;
    const DispatchResult low = dispatch(load, {f}, {GridConnection{}}, opt);
    for (Index s = 0; s < load.cols(); ++s) {
        ASSERT_EQ(mean.report.at(s), Status::converged);
        test::expect_physical(load, mean, f, {}, 1, s, kExact);
        // Measured by the mean-target objective, the mean-target dispatch is no worse.
        const Real z = load.col(s).mean();
        const auto cost = [&](const DispatchResult& r) {
            return (r.grid_mw.col(s).array() - z).square().sum();
        };
        EXPECT_LE(cost(mean), cost(low) * (1 + 1e-9));
    }
}

TEST_P(DispatchTest, LongLossyHorizonKeepsEveryLimit) {
    const Matrix load = random_load(20000, 2, 3, 150, 60);
    BatteryFleet f = BatteryFleet::from_units(battery_unit("megapack-2h"), 40);
    f.throughput_cost = 0.5;
    DispatchOptions opt;
    opt.backend = backend();
    const GridConnection grid{200, false};
    const DispatchResult r = dispatch(load, {f}, {grid}, opt);
    for (Index s = 0; s < load.cols(); ++s) {
        ASSERT_EQ(r.report.at(s), Status::converged);
        EXPECT_EQ(r.method[s], static_cast<std::int8_t>(DispatchMethod::dynamic_program));
        test::expect_physical(load, r, f, grid, 1, s, kExact);
    }
}

TEST_P(DispatchTest, ReportsWhereAndByHowMuchLimitsCannotBeMet) {
    // Load 150 MW against an import limit of 100 MW (100 MW before, so nothing can be stored
    // ahead): the fleet (60 MW, lossless) covers 50 MW for as long as its energy lasts.
    // Available: (0.5 - 0.1) * 1 MWh = 0.4 MWh; at 1 s steps 50 MW draws 50/3600 MWh per step,
    // so the k-th step of the block is the first that cannot stay above the floor for
    // k = ceil(0.4 * 3600 / 50) = 29, short by 50 k / 3600 - 0.4 MWh.
    Matrix load = Matrix::Constant(60, 2, 100.0);
    load.block(10, 0, 40, 1).setConstant(150.0);
    load.block(10, 1, 5, 1).setConstant(170.0);  // scenario 1: 170 > 100 + 60 at once
    BatteryFleet f = lossless_fleet(1.0, 60);
    f.terminal = TerminalCondition::free;
    DispatchOptions opt;
    opt.backend = backend();
    const DispatchResult r = dispatch(load, {f}, {GridConnection{100, false}}, opt);
    EXPECT_EQ(r.report.at(0), Status::infeasible);
    EXPECT_EQ(r.violation_kind[0], static_cast<std::int8_t>(Violation::energy));
    const Index k = static_cast<Index>(std::ceil(0.4 * 3600 / 50));
    EXPECT_EQ(r.infeasible_step[0], 10 + k - 1);
    EXPECT_NEAR(r.violation[0], 50.0 * k / 3600 - 0.4, 1e-9);
    EXPECT_EQ(r.report.at(1), Status::infeasible);
    EXPECT_EQ(r.violation_kind[1], static_cast<std::int8_t>(Violation::power));
    EXPECT_EQ(r.infeasible_step[1], 10);
    EXPECT_NEAR(r.violation[1], 10.0, 1e-9);
    // The dispatch still respects the battery's power limits, and scenario 1 its energy window.
    for (Index s = 0; s < 2; ++s) EXPECT_LE(r.battery_mw.col(s).maxCoeff(), 60 + kTol);
    EXPECT_GE(r.soc_mwh.col(1).minCoeff(), 0.1 - 1e-9);
    EXPECT_EQ(r.report.n_converged(), 0);
}

TEST_P(DispatchTest, CpuAndThisBackendAgree) {
    const Matrix load = random_load(1500, 5, 23);
    std::vector<BatteryFleet> fleets;
    for (int s = 0; s < 5; ++s) {
        BatteryFleet f =
            BatteryFleet::from_units(battery_unit(s % 2 ? "megapack-4h" : "megapack-2h"), 1 + s);
        if (s == 0) f = lossless_fleet(0.5, 1e3);
        fleets.push_back(f);
    }
    DispatchOptions opt;
    opt.backend = Backend::cpu;
    const DispatchResult ref = dispatch(load, fleets, {GridConnection{}}, opt);
    opt.backend = backend();
    const DispatchResult r = dispatch(load, fleets, {GridConnection{}}, opt);
    EXPECT_EQ(r.backend, backend());
    for (Index s = 0; s < 5; ++s) {
        EXPECT_EQ(r.report.at(s), ref.report.at(s));
        EXPECT_NEAR(r.objective[s], ref.objective[s], 1e-9 * ref.objective[s]);
        EXPECT_LT((r.soc_mwh.col(s) - ref.soc_mwh.col(s)).lpNorm<Eigen::Infinity>(), 1e-7);
    }
}

GRIDBATCH_INSTANTIATE_FOR_ALL_BACKENDS(DispatchTest);

// ---- backend-independent parts -------------------------------------------------------------

using test::expect_error;

TEST(DispatchInput, ErrorsNameParameterAndScenario) {
    Matrix load = Matrix::Constant(10, 3, 50.0);
    const BatteryFleet good = lossless_fleet(1, 1);
    BatteryFleet eff = good;
    eff.discharge_efficiency = 1.05;
    expect_error(
        [&] {
            dispatch(load, {good, good, eff}, {GridConnection{}});
        },
        {"discharge_efficiency", "scenario 2", "(0, 1]"});
    BatteryFleet neg = good;
    neg.energy_mwh = -1;
    expect_error(
        [&] {
            dispatch(load, {good, neg, good}, {GridConnection{}});
        },
        {"energy_mwh", "scenario 1"});
    BatteryFleet crossed = good;
    crossed.soc_min = 0.8;
    crossed.soc_max = 0.2;
    expect_error([&] { dispatch(load, {crossed}, {GridConnection{}}); },
                 {"soc_min", "soc_max", "shared"});
    Matrix bad = load;
    bad(4, 1) = std::nan("");
    expect_error([&] { dispatch(bad, {good}, {GridConnection{}}); },
                 {"step 4", "scenario 1", "nan"});
    bad(4, 1) = HUGE_VAL;
    expect_error([&] { dispatch(bad, {good}, {GridConnection{}}); },
                 {"step 4", "scenario 1", "inf"});
    expect_error(
        [&] {
            dispatch(load, {good, good}, {GridConnection{}});
        },
        {"fleets", "2 entries"});
    expect_error([] { battery_unit("powerwall"); }, {"powerwall", "megapack-2h"});
    BatteryFleet lossy = good;
    lossy.charge_efficiency = 0.9;
    DispatchOptions opt;
    opt.method = DispatchMethod::taut_string;
    expect_error([&] { dispatch(load, {lossy}, {GridConnection{}}, opt); },
                 {"taut_string", "scenario 0"});
}

TEST(DispatchPresets, MegapackFiguresScaleWithUnitCount) {
    const BatteryUnit u2 = battery_unit("megapack-2h"), u4 = battery_unit("megapack-4h");
    EXPECT_NEAR(u2.energy_mwh / u2.discharge_mw, 2.0, 0.01);
    EXPECT_NEAR(u4.energy_mwh / u4.discharge_mw, 4.0, 0.01);
    const BatteryFleet f = BatteryFleet::from_units(u2, 10);
    EXPECT_DOUBLE_EQ(f.energy_mwh, 10 * u2.energy_mwh);
    EXPECT_NEAR(f.charge_efficiency * f.discharge_efficiency, u2.round_trip_efficiency, 1e-12);
    f.validate("test");
}

TEST(CausalFilter, KeepsBatteryLimitsAndSmoothsLessThanTheOptimum) {
    const Matrix load = random_load(5000, 2, 9);
    const BatteryFleet f = BatteryFleet::from_units(battery_unit("megapack-2h"), 20);
    const DispatchResult c = causal_filter(load, {f}, 1.0);
    const DispatchResult o = dispatch(load, {f}, {GridConnection{HUGE_VAL, true}});
    for (Index s = 0; s < 2; ++s) {
        // Battery limits hold (a filter gets no terminal condition, so check only the window).
        for (Index t = 0; t < load.rows(); ++t) {
            EXPECT_LE(std::abs(c.battery_mw(t, s)), f.discharge_mw + kTol);
            EXPECT_GE(c.soc_mwh(t + 1, s), f.soc_min * f.energy_mwh - kTol);
            EXPECT_LE(c.soc_mwh(t + 1, s), f.soc_max * f.energy_mwh + kTol);
        }
        const auto sd = [](const Eigen::Ref<const Vector>& g) {
            return std::sqrt((g.array() - g.mean()).square().mean());
        };
        const Real sd_load = sd(load.col(s)), sd_c = sd(c.grid_mw.col(s)),
                   sd_o = sd(o.grid_mw.col(s));
        EXPECT_LT(sd_c, sd_load);
        EXPECT_LE(sd_o, sd_c * 1.0001);
    }
}

// With self-discharge, a battery the filter leaves idle at its floor would sink below it (an
// independent audit: 39 of 240 steps, up to 5e-5 MWh): it charges just enough instead.
TEST(CausalFilter, SelfDischargeNeverTakesTheBatteryBelowItsFloor) {
    // A step up that a slow filter without SoC feedback keeps discharging against: it empties.
    Matrix load(300, 1);
    for (Index t = 0; t < 300; ++t) load(t, 0) = t < 5 ? 10.0 : 13.0;
    BatteryFleet f = BatteryFleet::from_units(battery_unit("megapack-2h"), 0.1);
    f.self_discharge_per_hour = 0.1;
    CausalFilterOptions o;
    o.time_constant_s = 1e6;
    o.soc_gain_per_hour = 0;
    const DispatchResult c = causal_filter(load, {f}, 60.0, o);
    Index at_floor = 0;
    for (Index t = 1; t <= load.rows(); ++t) {
        EXPECT_GE(c.soc_mwh(t, 0), f.soc_min * f.energy_mwh - 1e-12) << "step " << t;
        at_floor += c.soc_mwh(t, 0) < f.soc_min * f.energy_mwh + 1e-9;
        EXPECT_LE(std::abs(c.battery_mw(t - 1, 0)), f.discharge_mw + kTol);
    }
    EXPECT_GT(at_floor, 10);  // the instance reaches the floor and stays there a while
}

TEST(DispatchMetrics, AgreeWithDirectComputation) {
    const Real dt = 0.5;
    const Matrix load = random_load(960, 2, 13);
    const BatteryFleet f = BatteryFleet::from_units(battery_unit("megapack-4h"), 5);
    DispatchOptions opt;
    opt.dt_seconds = dt;
    const DispatchResult r = dispatch(load, {f}, {GridConnection{}}, opt);
    const Real nyquist = 1 / (2 * dt);
    const DispatchMetrics m =
        dispatch_metrics(load, r, {f}, dt, {{0.0, 0.05}, {0.05, 0.3}, {0.3, nyquist + 1}});
    for (Index s = 0; s < 2; ++s) {
        const Vector g = r.grid_mw.col(s);
        const Real var = (g.array() - g.mean()).square().mean();
        EXPECT_NEAR(m.std_mw[s], std::sqrt(var), 1e-9 * (1 + std::sqrt(var)));
        // Parseval: bands covering [0, Nyquist] add up to T * variance.
        EXPECT_NEAR(m.band_energy.col(s).sum(), g.size() * var, 1e-6 * g.size() * var);
        EXPECT_DOUBLE_EQ(m.peak_mw[s], g.maxCoeff());
        Real ramp = 0;
        for (Index t = 1; t < g.size(); ++t) ramp = std::max(ramp, std::abs(g[t] - g[t - 1]) / dt);
        EXPECT_DOUBLE_EQ(m.max_ramp_mw_per_s[s], ramp);
        const Real through = r.battery_mw.col(s).cwiseAbs().sum() * dt / 3600;
        EXPECT_NEAR(m.throughput_mwh[s], through, 1e-12);
        EXPECT_NEAR(m.equivalent_full_cycles[s], through / (2 * f.energy_mwh), 1e-12);
        EXPECT_GT(m.losses_mwh[s], 0);  // 92% round trip: some energy is lost
        EXPECT_LT(m.losses_mwh[s], 0.1 * through);
    }
    // The shortest horizons: one step has no oscillation (its FFT crashed), two have one bin.
    for (Index steps : {1, 2}) {
        const Matrix short_load = load.topRows(steps);
        const DispatchResult rs = dispatch(short_load, {f}, {GridConnection{}}, opt);
        const DispatchMetrics ms = dispatch_metrics(short_load, rs, {f}, dt, {{0.0, nyquist + 1}});
        const Vector g = rs.grid_mw.col(0);
        EXPECT_NEAR(ms.band_energy(0, 0), steps * (g.array() - g.mean()).square().mean(), 1e-9);
    }
    test::expect_error([&] { dispatch_metrics(load, r, {f}, HUGE_VAL); },
                       {"dt_seconds must be finite and > 0 (got inf)"});
    test::expect_error(
        [&] {
            dispatch_metrics(load, r, {f}, dt, {{NAN, 1.0}});
        },
        {"band [nan, 1] Hz is not an interval"});
}

TEST(FleetSizing, SmallestUnitCountMeetsTheRampLimit) {
    Matrix load(1200, 2);
    for (Index t = 0; t < load.rows(); ++t) {
        load(t, 0) = 100 + ((t / 120) % 2 ? 30 : 0);  // 30 MW steps every 2 minutes
        load(t, 1) = 100 + ((t / 300) % 2 ? 10 : 0);
    }
    // Lossless units: with losses the squared-deviation optimum keeps a residual swing (draw
    // ratio 1 / (eta_c eta_d) between high and low phases) however large the fleet.
    const BatteryUnit unit{"ideal", 2.0, 1.0, 1.0, 1.0};
    const Real limit = 5;  // MW per minute
    const IndexVector n = size_fleet(load, unit, limit, 64, GridConnection{});
    const auto ramp_with = [&](Index s, Index units) {
        const DispatchResult r =
            dispatch(load.col(s), {BatteryFleet::from_units(unit, static_cast<Real>(units))},
                     {GridConnection{}});
        Real worst = 0;
        for (Index t = 0; t + 60 < load.rows(); ++t)
            worst = std::max(worst, std::abs(r.grid_mw(t + 60, 0) - r.grid_mw(t, 0)));
        return worst;
    };
    for (Index s = 0; s < 2; ++s) {
        ASSERT_GE(n[s], 1) << "scenario " << s;
        EXPECT_LE(ramp_with(s, n[s]), limit * (1 + 1e-9));
        EXPECT_GT(ramp_with(s, n[s] - 1), limit);
    }
}

}  // namespace
}  // namespace gridbatch

namespace gridbatch {
namespace {

// The command line writes two 5-minute training loads at 0.5 s (a CSV: time, then a column per
// scenario) for the tests below.
std::string write_profile(const std::string& dir) {
    const std::string profile = dir + "_load.csv";
    EXPECT_EQ(std::system((test::cli_command() +
                           " profile --scenarios 2 --steps 600 --dt 0.5 --seed 7 --out " + profile +
                           " > /dev/null")
                              .c_str()),
              0);
    return profile;
}

// A CSV's rows of numbers, after its header.
std::vector<std::vector<double>> read_rows(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    std::vector<std::vector<double>> rows;
    while (std::getline(in, line)) {
        std::vector<double> row;
        std::stringstream cells(line);
        std::string cell;
        while (std::getline(cells, cell, ',')) row.push_back(std::atof(cell.c_str()));
        rows.push_back(row);
    }
    return rows;
}

// Sizing from the command line, for both objectives: the units the library finds for the same
// load (read back from the profile's CSV) and options. The ramp objective's search starts from the
// variance objective's answer, which must not change it.
TEST(DispatchCli, SizingEqualsTheLibrary) {
    const std::string dir = ::testing::TempDir() + "gridbatch_sizing_cli";
    const std::string cli = test::cli_command();
    const std::string profile = write_profile(dir);
    const auto rows = read_rows(profile);
    ASSERT_EQ(rows.size(), 600u);
    Matrix load(600, 2);
    for (Index t = 0; t < 600; ++t)
        for (Index s = 0; s < 2; ++s) load(t, s) = rows[static_cast<std::size_t>(t)].at(1 + s);
    const auto units_written = [&](const std::string& objective) {
        const std::string out = dir + "_" + objective;
        EXPECT_EQ(std::system((cli + " smooth --load " + profile +
                               " --dt 0.5 --fleet 20 --unit megapack-4h --objective " + objective +
                               " --ramp-limit 5 --max-units 64 --out " + out + " > /dev/null")
                                  .c_str()),
                  0);
        std::ifstream metrics(out + "/metrics.csv");
        std::string line;
        std::getline(metrics, line);
        EXPECT_EQ(line.substr(line.rfind(',') + 1), "units_for_ramp_limit");
        std::vector<Index> units;
        while (std::getline(metrics, line))
            units.push_back(std::atol(line.substr(line.rfind(',') + 1).c_str()));
        return units;
    };
    const BatteryUnit unit = battery_unit("megapack-4h");
    DispatchOptions variance;
    variance.dt_seconds = 0.5;
    variance.target = SmoothingTarget::mean_load;  // the command line's default (--target mean)
    SmoothDispatchOptions ramps;
    ramps.dt_seconds = 0.5;
    const IndexVector want_variance = size_fleet(load, unit, 5, 64, GridConnection{}, variance);
    const IndexVector want_ramps =
        smallest_fleet_for_ramp(load, unit, 5, 64, GridConnection{}, ramps);
    EXPECT_GT(want_ramps.minCoeff(), 0);
    EXPECT_EQ(units_written("variance"),
              std::vector<Index>(want_variance.data(), want_variance.data() + 2));
    EXPECT_EQ(units_written("ramps"), std::vector<Index>(want_ramps.data(), want_ramps.data() + 2));
}

// The command line end to end: profile -> CSV -> smooth -> CSVs whose series balance.
TEST(DispatchCli, ProfileThenSmoothWritesBalancedSeries) {
    const std::string dir = ::testing::TempDir() + "gridbatch_smooth_cli";
    const std::string cli = test::cli_command();
    const std::string profile = write_profile(dir);
    ASSERT_EQ(std::system((cli + " smooth --load " + profile +
                           " --dt 0.5 --fleet 20 --unit megapack-4h --ramp-limit 50 --out " + dir +
                           " > /dev/null")
                              .c_str()),
              0);
    const auto load = read_rows(profile), battery = read_rows(dir + "/battery_mw.csv"),
               grid = read_rows(dir + "/grid_mw.csv"), soc = read_rows(dir + "/soc_mwh.csv");
    ASSERT_EQ(load.size(), 600u);
    ASSERT_EQ(battery.size(), 600u);
    ASSERT_EQ(soc.size(), 601u);
    for (std::size_t t = 0; t < load.size(); ++t)
        for (std::size_t s = 1; s <= 2; ++s)
            EXPECT_NEAR(grid[t][s], load[t][s] - battery[t][s], 1e-6 * (1 + load[t][s]));
    std::ifstream metrics(dir + "/metrics.csv");
    std::string header, row;
    std::getline(metrics, header);
    EXPECT_NE(header.find("max_ramp_mw_per_min"), std::string::npos);
    EXPECT_NE(header.find("units_for_ramp_limit"), std::string::npos);
    int rows = 0;
    while (std::getline(metrics, row)) rows += row.find(",optimal,") != std::string::npos;
    EXPECT_EQ(rows, 2);
    // The ramp objective (smooth_dispatch) on the same load: balanced too, and its sum of
    // squared ramps below the variance objective's dispatch (feasible for its QP, whose level
    // term weighs (dt / 3600 s)^2 as much).
    const auto squared_ramps = [&](const std::string& out) {
        const auto g = read_rows(out + "/grid_mw.csv");
        double sum = 0;
        for (std::size_t t = 1; t < g.size(); ++t)
            for (std::size_t s = 1; s <= 2; ++s) sum += std::pow(g[t][s] - g[t - 1][s], 2);
        return sum;
    };
    const std::string ramps = dir + "_ramps";
    ASSERT_EQ(std::system((cli + " smooth --load " + profile +
                           " --dt 0.5 --fleet 20 --unit megapack-4h --objective ramps --out " +
                           ramps + " > /dev/null")
                              .c_str()),
              0);
    const auto rb = read_rows(ramps + "/battery_mw.csv"), rg = read_rows(ramps + "/grid_mw.csv");
    ASSERT_EQ(rg.size(), 600u);
    for (std::size_t t = 0; t < load.size(); ++t)
        for (std::size_t s = 1; s <= 2; ++s)
            EXPECT_NEAR(rg[t][s], load[t][s] - rb[t][s], 1e-6 * (1 + load[t][s]));
    EXPECT_LT(squared_ramps(ramps), squared_ramps(dir));
    // Backup generation under an import limit the fleet alone cannot keep: it balances too.
    const std::string backup = dir + "_backup";
    ASSERT_EQ(std::system((cli + " smooth --load " + profile +
                           " --dt 0.5 --fleet 20 --unit megapack-4h --objective ramps"
                           " --import-limit 120 --backup-mw 60 --backup-ramp 5 --backup-cost 10"
                           " --out " +
                           backup + " > /dev/null")
                              .c_str()),
              0);
    const auto bb = read_rows(backup + "/battery_mw.csv"), bg = read_rows(backup + "/grid_mw.csv"),
               bu = read_rows(backup + "/backup_mw.csv");
    ASSERT_EQ(bu.size(), 600u);
    double used = 0;
    for (std::size_t t = 0; t < load.size(); ++t)
        for (std::size_t s = 1; s <= 2; ++s) {
            EXPECT_NEAR(bg[t][s] + bb[t][s] + bu[t][s], load[t][s], 1e-6 * (1 + load[t][s]));
            EXPECT_LE(bg[t][s], 120 + 1e-4);
            used = std::max(used, bu[t][s]);
        }
    EXPECT_GT(used, 1);
    // A hard grid ramp limit, and price and target series from a CSV file: the limit holds
    // (0.5 MW/s: 0.25 MW per 0.5 s step) and the price (10, then 50 per MWh) moves the draw into
    // the cheap half.
    const std::string series = dir + "_series.csv";
    {
        std::ofstream out(series);
        out << "price,target_mw\n";
        for (int t = 0; t < 600; ++t) out << (t < 300 ? 10 : 50) << ",100\n";
    }
    const std::string limited = dir + "_limited";
    ASSERT_EQ(std::system((cli + " smooth --load " + profile +
                           " --dt 0.5 --fleet 100 --unit megapack-4h --objective ramps"
                           " --grid-ramp 0.5 --price " +
                           series + " --target-mw " + series + " --out " + limited + " > /dev/null")
                              .c_str()),
              0);
    const auto lg = read_rows(limited + "/grid_mw.csv");
    ASSERT_EQ(lg.size(), 600u);
    double cheap = 0, dear = 0;
    for (std::size_t t = 0; t < lg.size(); ++t)
        for (std::size_t s = 1; s <= 2; ++s) {
            if (t > 0) {
                EXPECT_LE(std::abs(lg[t][s] - lg[t - 1][s]), 0.25 + 1e-6) << "step " << t;
            }
            (t < 300 ? cheap : dear) += lg[t][s] / 600;  // mean over both scenarios' halves
        }
    EXPECT_GT(cheap, dear + 30);
    // The series need --objective ramps and one value per step.
    EXPECT_NE(std::system((cli + " smooth --load " + profile + " --dt 0.5 --fleet 20 --price " +
                           series + " --out " + dir + " 2> /dev/null")
                              .c_str()),
              0);
    const std::string short_series = dir + "_short.csv";
    {
        std::ofstream out(short_series);
        out << "price\n1\n2\n";
    }
    EXPECT_NE(std::system((cli + " smooth --load " + profile +
                           " --dt 0.5 --fleet 20 --objective ramps --price " + short_series +
                           " --out " + dir + " 2> /dev/null")
                              .c_str()),
              0);
    EXPECT_NE(std::system((cli + " smooth --synthetic --fleet 3 --backup-mw 10 --out " + dir +
                           " 2> /dev/null")
                              .c_str()),
              0);
    // Bad input is one clear line and a non-zero exit code.
    EXPECT_NE(std::system(
                  (cli + " smooth --synthetic --fleet -3 --out " + dir + " 2> /dev/null").c_str()),
              0);
    EXPECT_NE(std::system((cli + " smooth --synthetic --fleet 3 --objective peak --out " + dir +
                           " 2> /dev/null")
                              .c_str()),
              0);
}

}  // namespace
}  // namespace gridbatch

namespace gridbatch {
namespace {

TEST(RecedingHorizon, OneWindowIsTheFullOptimumAndShortWindowsKeepEveryLimit) {
    const Matrix load = random_load(1200, 3, 29);
    BatteryFleet f = BatteryFleet::from_units(battery_unit("megapack-2h"), 2);
    DispatchOptions opt;
    opt.target = SmoothingTarget::min_load;
    const DispatchResult full = dispatch(load, {f}, {GridConnection{}}, opt);
    RecedingHorizonOptions one;
    one.horizon_steps = one.replan_every = load.rows();
    const DispatchResult same = receding_horizon(load, {f}, {GridConnection{}}, one, opt);
    for (Index s = 0; s < 3; ++s) {
        EXPECT_NEAR(same.objective[s], full.objective[s], 1e-9 * full.objective[s]);
        EXPECT_LT((same.battery_mw.col(s) - full.battery_mw.col(s)).cwiseAbs().maxCoeff(), 1e-9);
    }
    BatteryFleet any_end = f;
    any_end.terminal = TerminalCondition::free;
    const DispatchResult bound = dispatch(load, {any_end}, {GridConnection{}}, opt);
    for (const Real noise : {0.0, 0.05}) {
        RecedingHorizonOptions mpc;
        mpc.horizon_steps = 300;
        mpc.replan_every = 30;
        mpc.forecast_noise = noise;
        const DispatchResult r = receding_horizon(load, {f}, {GridConnection{}}, mpc, opt);
        for (Index s = 0; s < 3; ++s) {
            SCOPED_TRACE("noise " + std::to_string(noise) + ", scenario " + std::to_string(s));
            EXPECT_EQ(r.report.at(s), Status::converged);
            test::expect_physical(load, r, any_end, GridConnection{HUGE_VAL, true}, 1, s, kExact);
            // Full knowledge of the horizon (and any end state) is a lower bound.
            EXPECT_GE(r.objective[s], bound.objective[s] * (1 - 1e-9));
        }
    }
}

}  // namespace
}  // namespace gridbatch
