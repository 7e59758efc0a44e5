"""C++ errors reach Python as gridbatch.Error subclasses with their messages intact."""

import subprocess

import numpy as np
import pytest

import gridbatch as gb


def test_exception_hierarchy():
    assert issubclass(gb.InputError, gb.Error) and issubclass(gb.InputError, ValueError)
    assert issubclass(gb.FileError, gb.InputError) and issubclass(gb.FileError, OSError)
    for cls in (gb.BackendUnavailableError, gb.DeviceError):
        assert issubclass(cls, gb.Error) and issubclass(cls, RuntimeError)


def test_parse_error_names_the_line():
    text = "function mpc = bad\nmpc.version = '2';\nmpc.baseMVA = 100;\nmpc.bus = [\n1 3 0 0;\n];\n"
    with pytest.raises(gb.InputError) as info:
        gb.parse_matpower(text, "bad.m")
    assert info.value.kind == "invalid_input"
    assert str(info.value).startswith("bad.m:")


def test_missing_file_message_equals_the_cli_one(cli, tmp_path):
    missing = str(tmp_path / "missing.m")
    with pytest.raises(gb.FileError) as info:
        gb.read_matpower(missing)
    assert info.value.kind == "io"
    run = subprocess.run([cli, "info", missing], capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip() == f"gridbatch info: error: {info.value}"


def test_unavailable_backend_says_why(builtin):
    status = gb.backend_status("cuda")
    if status.available:
        pytest.skip("CUDA is available here")
    with pytest.raises(gb.BackendUnavailableError) as info:
        gb.DcPowerFlow(builtin, backend="cuda")
    assert status.reason in str(info.value)
    assert info.value.kind == "backend_unavailable"


def test_bad_option_values(builtin):
    with pytest.raises(gb.InputError, match="'gpu'"):
        gb.DcPowerFlow(builtin, backend="gpu")
    with pytest.raises(gb.InputError, match=r"slack must be one of 'single', 'distributed', got 'x'"):
        gb.DcPowerFlow(builtin, slack="x")
    with pytest.raises(gb.InputError, match=r"DcOptions.threads must be >= 0 \(got -1\)"):
        gb.DcPowerFlow(builtin, threads=-1)


def test_enum_options_take_names_or_the_enum_and_nothing_else(builtin):
    for kwargs, name in [({"start": 0}, "start"), ({"algorithm": 1}, "algorithm"),
                         ({"slack": None}, "slack")]:
        with pytest.raises(gb.InputError, match=f"^{name} must be one of .* got "):
            gb.AcPowerFlow(builtin, backend="cpu", **kwargs)
    with pytest.raises(gb.InputError, match="terminal must be one of 'equal'.*got 1 \\(int\\)"):
        gb.BatteryFleet(terminal=1)
    assert gb.AcPowerFlow(builtin, backend="cpu", start=gb.StartMode.flat) is not None
    options = gb.SmoothDispatchOptions(solver="admm")
    assert options.solver == gb.SmoothDispatchSolver.admm
    with pytest.raises(gb.InputError, match="solver must be one of 'interior_point', 'admm'"):
        gb.SmoothDispatchOptions(solver="osqp")


def test_chunk_and_case_name_are_checked(builtin):
    with pytest.raises(gb.InputError, match="chunk must be >= 0"):
        gb.AcPowerFlow(builtin, backend="cpu").solve(pd=builtin.bus.pd, chunk=-7)
    for name in ["a\nb = 5", "has space", "9lives", ""]:
        with pytest.raises(gb.InputError, match="is not a MATLAB function name"):
            gb.format_matpower(builtin, name)
    # The boolean in-service flags the network gives are a valid in_service column.
    gen = builtin.gen.to_dict()
    gen["in_service"] = builtin.gen_active
    again = gb.Network.from_tables(builtin.base_mva, builtin.bus.to_dict(), gen,
                                   builtin.branch.to_dict())
    np.testing.assert_array_equal(again.gen.in_service, builtin.gen.in_service)


def test_wrong_shapes_and_dtypes_name_the_argument(builtin):
    pf = gb.DcPowerFlow(builtin, backend="cpu")
    nb, ng = builtin.n_bus, builtin.n_gen
    with pytest.raises(gb.InputError, match=rf"pd has shape \(2, 5\), expected \(S, {nb}\) or \({nb},\)"):
        pf.solve(np.zeros((2, 5)))
    with pytest.raises(gb.InputError, match=rf"pg has shape \(3,\), expected \(S, {ng}\)"):
        pf.solve(np.zeros((1, nb)), np.zeros(3))
    with pytest.raises(gb.InputError, match=r"pd has shape \(1, 2, \d+\)"):
        pf.solve(np.zeros((1, 2, nb)))
    with pytest.raises(gb.InputError, match=r"pd must be an array of real numbers, got dtype complex128"):
        pf.solve(np.zeros((1, nb), complex))
    with pytest.raises(gb.InputError, match=r"pd must be an array of real numbers"):
        pf.solve([["a"] * nb])


def test_arrays_with_different_scenario_counts_are_named_in_rows(builtin):
    nb, ng = builtin.n_bus, builtin.n_gen
    dc = gb.DcPowerFlow(builtin, backend="cpu")
    with pytest.raises(gb.InputError, match=r"pg has 3 scenarios \(rows\), but pd has 2 scenarios"):
        dc.solve(np.zeros((2, nb)), np.zeros((3, ng)))
    ac = gb.AcPowerFlow(builtin, backend="cpu")
    with pytest.raises(gb.InputError, match=r"qd has 3 scenarios \(rows\), but pd has 1 scenario:"):
        ac.solve(builtin.bus.pd, np.tile(builtin.bus.qd, (3, 1)))
    with pytest.raises(gb.InputError, match=r"outage has 3 entries, but pd has 2 scenarios"):
        ac.solve(np.tile(builtin.bus.pd, (2, 1)), outage=[1, 2, 3])
    with pytest.raises(gb.InputError, match=r"va0 has 2 scenarios \(rows\), but pd has 1"):
        gb.AcPowerFlow(builtin, backend="cpu", start="warm").solve(
            builtin.bus.pd, vm0=np.ones(nb), va0=np.zeros((2, nb)))


def test_an_empty_outage_list_is_not_every_branch(builtin):
    with pytest.raises(gb.InputError, match=r"n1_screen: outages is empty; give None"):
        gb.n1_screen(gb.DcPowerFlow(builtin, backend="cpu"), outages=[])
    with pytest.raises(gb.InputError, match=r"ac_contingencies: outages is empty; give None"):
        gb.ac_contingencies(gb.AcPowerFlow(builtin, backend="cpu"), outages=np.zeros(0, int))


def test_an_outage_listed_twice_is_refused(builtin):
    """Twice in the list, an outage's violations (or AC cases) were reported twice."""
    with pytest.raises(gb.InputError, match=r"n1_screen: outage branch 1 .* is listed twice"):
        gb.n1_screen(gb.DcPowerFlow(builtin, backend="cpu"), outages=[1, 4, 1])
    with pytest.raises(gb.InputError, match=r"outages\[1\] = 1: branch listed twice"):
        gb.ac_contingencies(gb.AcPowerFlow(builtin, backend="cpu"), outages=[1, 1])


def test_zero_scenarios_give_empty_results(builtin):
    """A (0, n) array is a batch of no scenarios on every solver: an empty result, not the
    case itself (AC once read it as 'nothing given') nor a crash (ac_contingencies read an unset
    qd)."""
    none = np.zeros((0, builtin.n_bus))
    ac = gb.AcPowerFlow(builtin, backend="cpu")
    for r in (ac.solve(none), ac.solve(none, none), ac.solve(outage=np.zeros(0, int)),
              gb.ac_power_flow(builtin, none, backend="cpu"),
              gb.solve_sharded(ac, none, none, gb.local_communicator()),
              gb.DcPowerFlow(builtin, backend="cpu").solve(none)):
        assert len(r.status) == 0 and r.va.shape == (0, builtin.n_bus)
    n1 = gb.ac_contingencies(ac, none)
    assert len(n1) == 0 and len(n1.cases["scenario"]) == 0 and len(n1.violations) == 0


def test_welch_psd_refuses_series_too_short():
    """An empty series crashed the interpreter; three samples gave a NaN spectrum."""
    with pytest.raises(gb.InputError, match="got 0 samples"):
        gb.welch_psd(np.zeros(0), 1.0)
    with pytest.raises(gb.InputError, match="at least 4 samples"):
        gb.welch_psd(np.ones(3), 1.0)
    f, p = gb.welch_psd(np.sin(np.arange(64.0)), 1.0)
    assert np.isfinite(p).all() and len(f) == 33


def test_a_warm_start_needs_start_warm(builtin):
    """vm0 and va0 given to a power flow that starts from the case were ignored silently."""
    pf = gb.AcPowerFlow(builtin, backend="cpu")
    with pytest.raises(gb.InputError, match="set AcOptions.start to StartMode::warm"):
        pf.solve(vm0=np.ones(builtin.n_bus), va0=np.zeros(builtin.n_bus))
    with pytest.raises(gb.InputError, match="a warm start"):
        gb.ac_contingencies(pf, vm0=np.ones(builtin.n_bus), va0=np.zeros(builtin.n_bus))


def test_non_finite_input_names_scenario_and_bus(builtin):
    pd = np.tile(builtin.bus.pd, (3, 1))
    pd[1, 4] = np.nan
    with pytest.raises(gb.InputError) as info:
        gb.dc_power_flow(builtin, pd, backend="cpu")
    message = str(info.value)
    assert "scenario 1" in message and f"bus {builtin.bus.id[4]}" in message
    # One chunk is the whole batch: its scenario numbers are the caller's, with nothing before.
    assert not message.startswith("in scenarios"), message
    load = np.full((3, 50), 20.0)
    load[2, 7] = np.inf
    fleet = gb.BatteryFleet.from_units(gb.battery_unit("megapack-2h"), 1)
    with pytest.raises(gb.InputError, match=r"^dispatch: load\[step 7, scenario 2\] is inf"):
        gb.dispatch(load, fleet, backend="cpu")
    # Chunked calls check the whole batch first: the scenario number is the caller's (chunks of
    # 2 scenarios said "in scenarios 2..3 ...: load of scenario 0", or, for the sizing, just
    # "scenario 0").
    load = np.full((5, 50), 20.0)
    load[4, 7] = np.nan
    for call, name in ((lambda: gb.smooth_dispatch(load, fleet), "smooth_dispatch"),
                       (lambda: gb.smallest_fleet_for_ramp(load, "megapack-2h", 5.0), "smallest_fleet_for_ramp"),
                       (lambda: gb.size_fleet(load, "megapack-2h", 5.0), "size_fleet")):
        with pytest.raises(gb.InputError, match=rf"^{name}: load\[step 7, scenario 4\] is nan"):
            call()
    # ... and what is not about one scenario carries no chunk's range ("in scenarios 0..1").
    with pytest.raises(gb.InputError, match=r"^smooth_dispatch: options.target_mw has 3 entries"):
        gb.smooth_dispatch(np.full((5, 50), 20.0), fleet, target_mw=np.ones(3))
    fleets = [fleet] * 4 + [gb.BatteryFleet(energy_mwh=-1)]
    with pytest.raises(gb.InputError, match=r"^fleet of scenario 4: energy_mwh"):
        gb.smooth_dispatch(np.full((5, 50), 20.0), fleets)


def test_a_batch_over_the_memory_limit_is_refused_with_sizes(builtin, monkeypatch):
    monkeypatch.setenv("GRIDBATCH_MEMORY_LIMIT", "2M")
    dc = gb.DcPowerFlow(builtin, backend="cpu")
    pd = np.tile(builtin.bus.pd, (5000, 1))
    with pytest.raises(gb.InputError, match="needs .* GB of host memory.*GRIDBATCH_MEMORY_LIMIT"):
        dc.solve(pd)
    assert dc.solve(pd[:10]).pf.shape[0] == 10
    # The AC solve runs a large batch in chunks; the refusal names the batch, not a chunk.
    ac = gb.AcPowerFlow(builtin, backend="cpu")
    with pytest.raises(gb.InputError, match="AC power flow of 5000 scenarios needs"):
        ac.solve(pd, np.tile(builtin.bus.qd, (5000, 1)))


def test_seeds_are_integers_in_range():
    # pybind11 refused -1 or 2**64 with "incompatible function arguments", naming no argument.
    for bad in (-1, 2**64, 1.5, True):
        with pytest.raises(gb.InputError, match=r"seed must be an integer in \[0, 2\*\*64\)"):
            gb.training_load(steps=4, seed=bad)
    a = gb.training_load(steps=4, seed=np.int64(7))
    assert np.array_equal(a, gb.training_load(steps=4, seed=7))
    gb.training_load(steps=4, seed=2**64 - 1)
    options = gb.StudyOptions()
    with pytest.raises(gb.InputError, match="StudyOptions.seed"):
        options.seed = -1


def test_cooling_time_constant_must_be_finite():
    p = gb.TrainingLoadParameters()
    p.cooling_time_constant_s = float("inf")
    with pytest.raises(gb.InputError, match="cooling_time_constant_s must be finite and > 0"):
        gb.training_load(p, steps=4)
