"""Ramp-aware dispatch from Python: the physics holds, options reach C++, and the result works
wherever a DispatchResult does."""

import numpy as np
import pytest

import gridbatch as gb


@pytest.fixture(scope="module")
def load():
    params = gb.TrainingLoadParameters(gpu_count=40000)
    return gb.training_load(params, n_scenarios=2, steps=300, seed=5, backend="cpu")


def test_smooth_dispatch_is_a_dispatch_result(load):
    fleet = gb.BatteryFleet.from_units("megapack-2h", 12)
    r = gb.smooth_dispatch(load, fleet, ramp_weight=1.0, threads=1)
    assert isinstance(r, gb.DispatchResult) and r.grid_mw.shape == load.shape
    np.testing.assert_allclose(r.grid_mw, load - r.battery_mw, atol=1e-9)
    np.testing.assert_allclose(r.max_ramp_mw_per_s, np.abs(np.diff(r.grid_mw, axis=1)).max(axis=1),
                               rtol=1e-9, atol=1e-12)
    metrics = gb.dispatch_metrics(load, r, fleet)
    assert np.all(metrics.max_ramp_mw_per_s <= np.abs(np.diff(load, axis=1)).max(axis=1))
    same = gb.smooth_dispatch(load, fleet, options=gb.SmoothDispatchOptions(ramp_weight=1.0))
    np.testing.assert_array_equal(same.battery_mw, r.battery_mw)  # threads do not matter


def test_options_reach_cpp(load):
    fleet = gb.BatteryFleet.from_units("megapack-2h", 12)
    r = gb.smooth_dispatch(load, fleet, solver=gb.SmoothDispatchSolver.admm, max_iterations=5)
    assert np.all(r.iterations <= 5)
    # An interior point stopped early tries the elastic LP (is it infeasible? also stopped at 2
    # steps, so not known) and hands over to the ADMM.
    r = gb.smooth_dispatch(load, fleet, ipm_max_iterations=2, max_iterations=5)
    assert np.all((r.iterations > 4) & (r.iterations <= 9))
    r = gb.smooth_dispatch(load, fleet)
    assert np.all(r.converged) and np.all(r.iterations < 40)
    with pytest.raises(gb.InputError, match=r"SmoothDispatchOptions has no field 'foo'"):
        gb.smooth_dispatch(load, fleet, foo=1)


def test_backup_generation_price_and_target(load):
    fleet = gb.BatteryFleet.from_units("megapack-2h", 4)
    limit = float(load.max()) - 20  # the fleet's ~7.7 MW cannot shave the peaks alone
    grid = gb.GridConnection(import_limit_mw=limit)
    assert np.all(gb.smooth_dispatch(load, fleet, grid).status == int(gb.Status.infeasible))
    with pytest.raises(gb.InputError, match="backup_mw"):
        gb.dispatch(load, fleet, gb.GridConnection(backup_mw=30.0))
    grid = gb.GridConnection(import_limit_mw=limit, backup_mw=30.0, backup_ramp_mw_per_s=5.0,
                             backup_cost_per_mwh=50.0)
    steps = load.shape[1]
    price = np.linspace(0.0, 2.0, steps)
    target = np.full(steps, float(load.mean()))
    r = gb.smooth_dispatch(load, fleet, grid, energy_price=price, target_mw=target)
    assert np.all(r.converged)
    assert r.backup_mw.shape == load.shape and r.backup_mw.max() > 0
    np.testing.assert_allclose(r.grid_mw + r.battery_mw + r.backup_mw, load, atol=1e-9)
    assert r.grid_mw.max() <= limit + 1e-5
    assert np.abs(np.diff(r.backup_mw, axis=1)).max() <= 5.0 + 1e-5
    opts = gb.SmoothDispatchOptions(energy_price=price)
    np.testing.assert_array_equal(opts.energy_price, price)
    with pytest.raises(gb.InputError, match="energy_price has 3 entries"):
        gb.smooth_dispatch(load, fleet, grid, energy_price=price[:3])


def test_peak_weight_and_battery_ramp(load):
    fleet = gb.BatteryFleet.from_units("megapack-2h", 2)  # too small to flatten the draw
    plain = gb.smooth_dispatch(load, fleet)
    shaved = gb.smooth_dispatch(load, fleet, peak_weight=100.0)
    assert np.all(shaved.converged)
    assert np.all(shaved.grid_mw.max(axis=1) < plain.grid_mw.max(axis=1) - 0.1)
    fleet.ramp_limit_mw_per_s = 2.0
    limited = gb.smooth_dispatch(load, fleet)
    assert np.all(limited.converged)
    assert np.abs(np.diff(limited.battery_mw, axis=1)).max() <= 2.0 + 1e-6
    with pytest.raises(gb.InputError, match="ramp_limit_mw_per_s"):
        gb.dispatch(load, fleet)


def random_problem(rng):
    """A random training-like load (one scenario), fleet, grid and smooth_dispatch keywords."""
    steps = int(rng.integers(50, 300))
    t = np.arange(steps)
    period, swing = int(rng.integers(2, 8)), rng.uniform(5, 40)
    load = (150 + np.where((t // period) % 2, swing, -swing)
            + 15 * np.sin(2 * np.pi * t / rng.uniform(100, 900)) + rng.normal(0, 2, steps))
    fleet = gb.BatteryFleet.from_units(str(rng.choice(["megapack-2h", "megapack-4h"])),
                                       float(rng.choice([0.5, 2, 5, 10, 30])))
    fleet.terminal = [gb.TerminalCondition.equal, gb.TerminalCondition.at_least_initial,
                      gb.TerminalCondition.free][int(rng.integers(0, 3))]
    if rng.random() < 0.3:
        fleet.throughput_cost = float(rng.uniform(0, 5))
    if rng.random() < 0.2:
        fleet.ramp_limit_mw_per_s = float(rng.uniform(1, 10))
    grid = gb.GridConnection()
    if rng.random() < 0.3:
        grid.import_limit_mw = float(load.max() - rng.uniform(0, 15))
    if rng.random() < 0.3:
        grid.backup_mw = float(rng.uniform(10, 60))
        grid.backup_cost_per_mwh = float(rng.uniform(0, 100))
    kw = {"ramp_weight": float(10 ** rng.uniform(-3, 1))}
    if rng.random() < 0.3:
        kw["ramp_limit_mw_per_s"] = float(rng.uniform(0.5, 10))
    if rng.random() < 0.3:
        kw["peak_weight"] = float(10 ** rng.uniform(-1, 2))
    if rng.random() < 0.2:
        kw["energy_price"] = rng.uniform(0, 5, steps)
    return load, fleet, grid, kw


def test_random_problems_end_optimal_or_infeasible():
    """Random fleets, limits, backup, weights and prices: every scenario ends optimal (then
    within its limits) or infeasible with the smallest relaxation that makes it feasible, never at
    an iteration limit, and the interior point solves the feasible ones itself (no hand-over to
    the ADMM, whose iterations run to thousands)."""
    rng = np.random.default_rng(2026)
    feasible = by_ipm = described = 0
    for _ in range(20):
        load, fleet, grid, kw = random_problem(rng)
        steps = load.size
        r = gb.smooth_dispatch(load[None, :], fleet, grid, threads=1, **kw)
        status = gb.Status(int(r.status[0]))
        assert status in (gb.Status.converged, gb.Status.infeasible)
        if status == gb.Status.converged:
            feasible += 1
            by_ipm += int(r.iterations[0] < 300)
            assert r.limit_violation[0] <= 1e-4
            np.testing.assert_allclose(r.grid_mw + r.battery_mw + r.backup_mw, load[None, :],
                                       atol=1e-9)
            continue
        # The violation is the smallest relaxation of the import and ramp limits that makes the
        # scenario feasible: a little more is enough, a little less is not.
        z = float(r.violation[0])
        assert z > 0 and 0 <= r.infeasible_step[0] < steps
        described += 1
        for factor, expected in ((1 + 1e-3, gb.Status.converged), (1 - 1e-3, gb.Status.infeasible)):
            relaxed = dict(kw, ramp_limit_mw_per_s=kw.get("ramp_limit_mw_per_s", np.inf) + z * factor)
            grid_relaxed = gb.GridConnection(import_limit_mw=grid.import_limit_mw + z * factor,
                                             backup_mw=grid.backup_mw,
                                             backup_cost_per_mwh=grid.backup_cost_per_mwh)
            again = gb.smooth_dispatch(load[None, :], fleet, grid_relaxed, threads=1, **relaxed)
            assert gb.Status(int(again.status[0])) == expected, (z, factor)
    assert feasible >= 10 and by_ipm == feasible and described >= 3


@pytest.mark.parametrize("seed, index", [(1, 44), (2, 186)])
def test_degenerate_problems_are_solved_by_the_interior_point(seed, index):
    """Two random problems (one with a peak term and backup generation, one with a battery ramp
    limit) on which the interior point lost pivots in its end game (whether it does depends on
    rounding): the elastic LP finds them feasible and a second try with more regularisation
    solves them. Before that second try they went to the ADMM, which ran to its iteration limit
    on the first."""
    rng = np.random.default_rng(seed)
    for _ in range(index + 1):
        load, fleet, grid, kw = random_problem(rng)
    r = gb.smooth_dispatch(load[None, :], fleet, grid, threads=1, **kw)
    assert r.converged[0] and r.iterations[0] < 300, r.iterations[0]
    assert r.limit_violation[0] <= 1e-4


def test_backends_agree(load, backend):
    """The interior point on each backend (CUDA: one device thread per scenario) gives the CPU's
    statuses and answers; the result says where it ran."""
    fleet = gb.BatteryFleet.from_units("megapack-2h", 10)
    cpu = gb.smooth_dispatch(load, fleet, backend="cpu")
    r = gb.smooth_dispatch(load, fleet, backend=backend)
    assert r.backend == getattr(gb.Backend, backend)
    np.testing.assert_array_equal(r.status, cpu.status)
    np.testing.assert_allclose(r.objective, cpu.objective, rtol=1e-9)
    np.testing.assert_allclose(r.battery_mw, cpu.battery_mw, atol=1e-6)
    assert gb.SmoothDispatchOptions(backend="cpu").backend == gb.Backend.cpu


def test_unavailable_backend_says_why(load):
    status = gb.backend_status("cuda")
    if status.available:
        pytest.skip("CUDA is available here")
    fleet = gb.BatteryFleet.from_units("megapack-2h", 10)
    with pytest.raises(gb.BackendUnavailableError, match="cuda"):
        gb.smooth_dispatch(load, fleet, backend="cuda")
    with pytest.raises(gb.InputError, match="'gpu'"):
        gb.smooth_dispatch(load, fleet, backend="gpu")


def test_smallest_fleet_for_ramp_first_probe(load):
    """size_fleet's answer as first probe (here too small, so the search goes on above it): the
    same sizes, as it only saves rounds; a probe of the wrong length or a fractional one is named
    in the error."""
    plain = gb.smallest_fleet_for_ramp(load, "megapack-2h", 10.0, max_units=200)
    guess = gb.size_fleet(load, "megapack-2h", ramp_limit_mw_per_min=10.0, max_units=200)
    assert plain.min() > 0 and not np.array_equal(guess, plain)
    assert np.array_equal(gb.smallest_fleet_for_ramp(load, "megapack-2h", 10.0, max_units=200,
                                                     first_probe=guess), plain)
    with pytest.raises(gb.InputError, match="first_probe has 1 entries"):
        gb.smallest_fleet_for_ramp(load, "megapack-2h", 10.0, first_probe=[3])
    with pytest.raises(gb.InputError, match=r"first_probe\[0\] must be a whole number"):
        gb.smallest_fleet_for_ramp(load, "megapack-2h", 10.0, first_probe=[2.5, 3])
