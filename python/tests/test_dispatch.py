"""Battery dispatch and synthetic loads from Python: the model's identities hold, batches equal
single runs bit for bit, and parameters reach C++."""

import numpy as np
import pytest

import gridbatch as gb


@pytest.fixture(scope="module")
def load():
    return gb.training_load(n_scenarios=3, steps=1800, seed=11, backend="cpu")


def test_training_load_is_deterministic_and_owned(load):
    assert load.shape == (3, 1800) and load.dtype == np.float64 and load.flags.c_contiguous
    again = gb.training_load(n_scenarios=3, steps=1800, seed=11, backend="cpu", threads=1)
    np.testing.assert_array_equal(again, load)
    other = gb.training_load(n_scenarios=3, steps=1800, seed=12, backend="cpu")
    assert not np.array_equal(other, load)
    small = gb.training_load(gb.TrainingLoadParameters(gpu_count=10000), steps=600, seed=11,
                             backend="cpu")
    assert 0 < small.max() < load.max() / 5  # a tenth of the GPUs draws about a tenth


def test_dispatch_identities(load, backend):
    fleet = gb.BatteryFleet.from_units("megapack-2h", 40)
    r = gb.dispatch(load, fleet, backend=backend)
    assert r.battery_mw.shape == load.shape and r.soc_mwh.shape == (3, load.shape[1] + 1)
    assert r.all_converged
    np.testing.assert_allclose(r.grid_mw, load - r.battery_mw, atol=1e-9)
    # State of charge follows E_{t+1} = E_t - h psi(b_t) with sqrt(round trip) each way.
    eta = np.sqrt(gb.battery_unit("megapack-2h").round_trip_efficiency)
    b, h = r.battery_mw, 1.0 / 3600
    step = np.where(b >= 0, b / eta, b * eta) * h
    np.testing.assert_allclose(np.diff(r.soc_mwh, axis=1), -step, atol=1e-9)
    assert np.all(r.soc_mwh >= fleet.soc_min * fleet.energy_mwh - 1e-9)
    assert np.all(np.abs(b) <= fleet.discharge_mw + 1e-9)
    # Smoothing works: the grid draw varies less than the load.
    assert np.all(r.grid_mw.std(axis=1) < load.std(axis=1))


def test_batch_equals_single_scenarios_bitwise(load):
    fleets = [gb.BatteryFleet.from_units("megapack-4h", n) for n in (10, 20, 30)]
    r = gb.dispatch(load, fleets, gb.GridConnection(import_limit_mw=1e4), backend="cpu")
    for s in range(3):
        one = gb.dispatch(load[s], fleets[s], gb.GridConnection(import_limit_mw=1e4),
                          backend="cpu")
        np.testing.assert_array_equal(one.battery_mw[0], r.battery_mw[s])
        np.testing.assert_array_equal(one.objective[0], r.objective[s])
    np.testing.assert_array_equal(
        gb.dispatch(np.asfortranarray(load), fleets, backend="cpu").battery_mw,
        gb.dispatch(load, fleets, backend="cpu").battery_mw)


def test_lossless_fleet_uses_the_taut_string(load):
    fleet = gb.BatteryFleet(energy_mwh=40, charge_mw=1e4, discharge_mw=1e4, soc_min=0, soc_max=1,
                            initial_soc=0.5, terminal="equal")
    r = gb.dispatch(load, fleet, backend="cpu", method="taut_string")
    assert np.all(r.method == 1)
    np.testing.assert_allclose(r.soc_mwh[:, -1], r.soc_mwh[:, 0], atol=1e-6)
    np.testing.assert_allclose(r.battery_mw.sum(axis=1), 0, atol=1e-6)
    # With 40 MW the string would break the power limit: the dynamic program's dispatch instead.
    fleet.charge_mw = fleet.discharge_mw = 40
    r = gb.dispatch(load, fleet, backend="cpu", method="taut_string")
    assert np.all(r.method == 2) and np.all(np.abs(r.battery_mw) <= 40 + 1e-9)


def test_infeasible_import_limit_is_a_status(load):
    fleet = gb.BatteryFleet.from_units("megapack-2h", 1)
    r = gb.dispatch(load, fleet, gb.GridConnection(import_limit_mw=1.0), backend="cpu")
    assert np.all(r.status == gb.Status.infeasible.value)
    assert np.all(r.infeasible_step >= 0) and np.all(r.violation_kind > 0)


def test_metrics_filter_and_sizing(load):
    fleet = gb.BatteryFleet.from_units("megapack-2h", 40)
    optimal = gb.dispatch(load, fleet, backend="cpu")
    causal = gb.causal_filter(load, fleet, time_constant_s=300)
    m_opt = gb.dispatch_metrics(load, optimal, fleet)
    m_cau = gb.dispatch_metrics(load, causal, fleet)
    np.testing.assert_allclose(m_opt.peak_mw, optimal.grid_mw.max(axis=1))
    np.testing.assert_allclose(m_opt.std_mw, optimal.grid_mw.std(axis=1), rtol=1e-9)
    assert np.all(m_opt.std_mw <= m_cau.std_mw + 1e-9)
    assert m_opt.band_energy.shape == (3, len(m_opt.bands))
    units = gb.size_fleet(load, "megapack-2h", ramp_limit_mw_per_min=10.0, max_units=400,
                          backend="cpu")
    assert units.shape == (3,) and units.dtype == np.int64
    for s, n in enumerate(units):
        if n > 0:  # n units meet the ramp limit, n - 1 do not
            for count, ok in ((n, True), (n - 1, False)):
                r = gb.dispatch(load[s], gb.BatteryFleet.from_units("megapack-2h", count),
                                backend="cpu")
                ramp = gb.dispatch_metrics(load[s], r, gb.BatteryFleet.from_units(
                    "megapack-2h", count)).max_ramp_mw_per_min[0]
                assert (ramp <= 10.0 + 1e-9) == ok


def test_parameter_errors(load):
    with pytest.raises(gb.InputError, match=r"BatteryFleet has no field 'energy'"):
        gb.BatteryFleet(energy=3)
    with pytest.raises(gb.InputError, match=r"unknown battery unit 'x'"):
        gb.battery_unit("x")
    with pytest.raises(gb.InputError, match=r"fleet must be one BatteryFleet or a list"):
        gb.dispatch(load, 3)
    bad = gb.BatteryFleet.from_units("megapack-2h", 10)
    bad.charge_efficiency = 1.5
    with pytest.raises(gb.InputError, match="charge_efficiency"):
        gb.dispatch(load, bad, backend="cpu")


def test_smoothing_target_reaches_cpp(load):
    fleet = gb.BatteryFleet.from_units("megapack-2h", 40)  # lossy: the target matters
    zero = gb.dispatch(load, fleet, target="zero", backend="cpu")
    mean = gb.dispatch(load, fleet, target="mean_load", backend="cpu")
    assert not np.array_equal(zero.battery_mw, mean.battery_mw)
    with pytest.raises(gb.InputError, match=r"target must be one of 'zero', 'min_load', 'mean_load'"):
        gb.dispatch(load, fleet, target="median")


def test_receding_horizon_with_one_window_is_the_optimal_dispatch():
    load = gb.training_load(n_scenarios=3, steps=600, seed=4)
    fleet = gb.BatteryFleet.from_units("megapack-2h", 30)
    opt = gb.dispatch(load, fleet, backend="cpu")
    mpc = gb.receding_horizon(load, fleet, horizon_steps=600, replan_every=600, backend="cpu")
    np.testing.assert_allclose(mpc.battery_mw, opt.battery_mw, rtol=0, atol=1e-9)
    # With re-planning and a noisy forecast the limits still hold and the energy balances.
    noisy = gb.receding_horizon(load, fleet, horizon_steps=300, replan_every=30,
                                forecast_noise=0.05, backend="cpu")
    np.testing.assert_allclose(noisy.grid_mw + noisy.battery_mw, load, atol=1e-9)
    assert (noisy.soc_mwh >= fleet.soc_min * fleet.energy_mwh - 1e-9).all()
    assert (noisy.soc_mwh <= fleet.soc_max * fleet.energy_mwh + 1e-9).all()
    with pytest.raises(gb.InputError, match="replan_every"):
        gb.receding_horizon(load, fleet, horizon_steps=10, replan_every=20)
