"""Arrays cross the boundary without copies where the layout allows (checked by data pointer),
and with one conversion where it does not."""

import gc

import numpy as np
import pytest

import gridbatch as gb


def address(a):
    return a.__array_interface__["data"][0]


def test_c_contiguous_float64_input_is_read_in_place():
    pd = np.random.default_rng(1).random((5, 7))
    where, copied, scenarios = gb._core._input_address(pd, 7)
    assert where == address(pd) and not copied and scenarios == 5
    row = pd[2]  # one scenario, (n,)
    assert gb._core._input_address(row, 7)[:2] == (address(row), False)


def test_other_layouts_are_converted_once():
    pd = np.random.default_rng(2).random((5, 7))
    for variant in (np.asfortranarray(pd), pd[:, ::-1], pd[::2], pd.astype(np.float32),
                    pd.tolist()):
        where, copied, _ = gb._core._input_address(variant, 7)
        assert copied
        if isinstance(variant, np.ndarray):
            assert not np.shares_memory(variant, variant) or where != address(variant)


def test_results_are_views_of_the_result_object(builtin):
    pf = gb.DcPowerFlow(builtin, backend="cpu")
    r = pf.solve(np.tile(builtin.bus.pd, (3, 1)))
    va = r.va
    assert va.base is r and va.flags.c_contiguous and va.shape == (3, builtin.n_bus)
    assert address(va) == address(r.va)  # every access is the same buffer
    assert np.shares_memory(r.pf, r.pf) and address(r.pf) == address(r.pf)
    assert r.status.base is r and r.slack_mw.base is r
    expected = va.copy()
    del r, pf
    gc.collect()
    np.testing.assert_array_equal(va, expected)  # the view keeps the result alive


def test_result_views_are_read_only(builtin):
    """Writing a result's view changed the result itself: dispatch_metrics(r) then measured the
    edited series, r.converged the edited status. The views are read-only; a copy is the
    caller's; what a function returns fresh (a training load) stays writable."""
    r = gb.DcPowerFlow(builtin, backend="cpu").solve()
    load = gb.training_load(n_scenarios=1, steps=600, seed=1)
    d = gb.dispatch(load, gb.BatteryFleet.from_units("megapack-2h", 10))
    n1 = gb.n1_screen(gb.DcPowerFlow(builtin, backend="cpu"), threshold_percent=50.0)
    for view in (r.va, r.status, d.grid_mw, d.objective, n1.violations, builtin.bus.pd):
        assert not view.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            view[0] = view[0]
    copy = np.array(d.grid_mw)
    copy[0, 0] += 1.0
    assert load.flags.writeable
    load[0, 0] += 1.0


def test_sensitivity_outputs_own_their_buffers(builtin):
    pf = gb.DcPowerFlow(builtin, backend="cpu")
    lodf = gb.lodf(pf, [0, 1, 2])
    assert lodf.factors.base is lodf and lodf.factors.flags.f_contiguous
    assert address(lodf.factors) == address(lodf.factors)
    n1 = gb.n1_screen(pf, threshold_percent=50.0)
    assert n1.violations.base is n1 and address(n1.violations) == address(n1.violations)
    assert n1.base.va.base is not None


def test_network_tables_are_views(builtin):
    assert address(builtin.bus.pd) == address(builtin.bus.pd)
    assert address(builtin.branch.x) == address(builtin.branch.x)
    y = gb.make_admittance(builtin).ybus
    assert address(y.data) == address(y.data) and y.data.base is y
