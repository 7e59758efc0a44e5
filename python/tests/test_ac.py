"""AC power flow from Python: MATPOWER's runpf answers, the C++ program's answers, and bitwise
agreement between the ways of calling it (batch, chunks, layouts, one shot)."""

import subprocess

import numpy as np
import pytest

import gridbatch as gb
from conftest import read_ref
from test_dc import read_matrix_csv


@pytest.mark.parametrize("case", ["case9", "case30", "case118"])
def test_matches_matpower_runpf(shared, backend, case):
    net = gb.read_matpower(shared / "cases" / f"{case}.m")
    r = gb.AcPowerFlow(net, backend=backend).solve()
    bus, branch, gen = (read_ref(shared, case, f"nr_{t}") for t in ("bus", "branch", "gen"))
    assert r.all_converged and r.status[0] == gb.Status.converged.value
    np.testing.assert_allclose(r.vm[0], bus["vm"], atol=1e-8)
    np.testing.assert_allclose(r.va[0], bus["va_deg"], atol=1e-6)
    np.testing.assert_allclose(r.pf[0], branch["pf_mw"], atol=1e-5)
    np.testing.assert_allclose(r.qt[0], branch["qt_mvar"], atol=1e-5)
    np.testing.assert_allclose(r.pg[0], gen["pg_mw"], atol=1e-5)
    assert r.backend.name == backend


def batch(net, scales):
    s = np.asarray(scales)[:, None]
    return s * net.bus.pd, s * net.bus.qd


def test_chunks_layouts_and_one_shot_give_the_same_bits(builtin):
    pf = gb.AcPowerFlow(builtin, backend="cpu")
    pd, qd = batch(builtin, np.linspace(0.7, 1.2, 150))
    ref = pf.solve(pd, qd)
    assert ref.vm.shape == (150, builtin.n_bus) and ref.all_converged
    fields = ("vm", "va", "pg", "qg", "pf", "qf", "pt", "qt", "loss_mw", "iterations",
              "max_mismatch")
    for other in (pf.solve(pd, qd, chunk=7), pf.solve(np.asfortranarray(pd), np.ascontiguousarray(qd[:, ::-1])[:, ::-1]),
                  gb.ac_power_flow(builtin, pd, qd, backend="cpu")):
        for name in fields:
            np.testing.assert_array_equal(getattr(other, name), getattr(ref, name), err_msg=name)
    one = pf.solve(pd[17], qd[17])
    np.testing.assert_array_equal(one.vm[0], ref.vm[17])


def test_time_series_in_chunks_gives_the_bits_of_one_call(builtin):
    """start='previous_step': chunks (any size asked) start at whole blocks of 16 steps, so the
    chunked call equals the one-shot call; each step warm from the one before needs fewer
    iterations than from the case, to the same answers within the tolerance."""
    pf = gb.AcPowerFlow(builtin, backend="cpu", start="previous_step")
    pd, qd = batch(builtin, 1 + 0.1 * np.sin(np.linspace(0, 6, 300)))
    one = pf.solve(pd, qd, chunk=300)
    assert one.all_converged
    for other in (pf.solve(pd, qd, chunk=50), pf.solve(pd, qd)):
        for name in ("vm", "va", "pf", "iterations"):
            np.testing.assert_array_equal(getattr(other, name), getattr(one, name), err_msg=name)
    cold = gb.ac_power_flow(builtin, pd, qd, backend="cpu")
    assert one.iterations.sum() < cold.iterations.sum()
    np.testing.assert_allclose(one.vm, cold.vm, atol=1e-8)
    assert gb.StartMode.previous_step.name == "previous_step"


def test_missing_arguments_default_to_the_case(builtin):
    pf = gb.AcPowerFlow(builtin, backend="cpu")
    case = pf.solve()
    pd, qd = batch(builtin, [1.0, 1.0])
    both = pf.solve(pd, qd)
    only_pd = pf.solve(pd)
    np.testing.assert_array_equal(only_pd.vm, both.vm)
    np.testing.assert_array_equal(both.vm[1], case.vm[0])
    pg = np.tile(builtin.gen.pg, (2, 1))
    np.testing.assert_array_equal(pf.solve(pg=pg).vm, both.vm)


def test_warm_start_and_algorithms(builtin):
    pd, qd = batch(builtin, [0.9, 1.1])
    cold = gb.ac_power_flow(builtin, pd, qd, backend="cpu")
    warm = gb.ac_power_flow(builtin, pd, qd, vm0=cold.vm, va0=cold.va, start="warm",
                            backend="cpu")
    assert warm.all_converged and np.all(warm.iterations <= 1)
    np.testing.assert_allclose(warm.vm, cold.vm, atol=1e-9)
    fd = gb.ac_power_flow(builtin, pd, qd, algorithm="fdxb", backend="cpu")
    assert fd.all_converged
    np.testing.assert_allclose(fd.vm, cold.vm, atol=1e-6)


def test_non_convergence_is_a_status_not_an_error(builtin):
    pd, qd = batch(builtin, [1.0, 25.0])
    r = gb.ac_power_flow(builtin, pd, qd, backend="cpu")
    assert r.status[0] == gb.Status.converged.value
    assert r.status[1] != gb.Status.converged.value and not r.all_converged
    assert list(r.converged) == [True, False] and r.n_converged == 1
    assert r.status_of(1) in (gb.Status.max_iterations, gb.Status.diverged, gb.Status.singular)


def test_distributed_slack_shares_the_imbalance_by_participation(builtin):
    """slack='distributed' (as DcPowerFlow's): every active generator picks up the same fraction
    of its factor (default Pmax); the same factors given explicitly give the same bits."""
    pd, qd = batch(builtin, [0.9, 1.1])
    r = gb.ac_power_flow(builtin, pd, qd, backend="cpu", slack="distributed")
    assert r.all_converged and np.all(r.slack_mw != 0)
    on = builtin.gen.in_service > 0
    pmax = np.maximum(builtin.gen.pmax, 0)
    share = (r.pg[:, on] - builtin.gen.pg[on]) / pmax[on]
    np.testing.assert_allclose(share, share[:, :1] * np.ones_like(share), atol=1e-9)
    np.testing.assert_allclose(share[:, 0] * pmax[on].sum(), r.slack_mw, rtol=1e-9)
    same = gb.AcPowerFlow(builtin, backend="cpu", slack="distributed",
                          participation=2 * builtin.gen.pmax).solve(pd, qd)
    np.testing.assert_allclose(same.vm, r.vm, atol=1e-12)
    with pytest.raises(gb.InputError, match=r"AcOptions.participation is given but"):
        gb.AcPowerFlow(builtin, participation=builtin.gen.pmax)
    with pytest.raises(gb.InputError, match=r"slack must be one of 'single', 'distributed'"):
        gb.AcPowerFlow(builtin, slack="shared")


def test_bad_arguments(builtin):
    with pytest.raises(gb.InputError, match=r"AcOptions.tolerance must be > 0"):
        gb.AcPowerFlow(builtin, tolerance=-1)
    with pytest.raises(gb.InputError, match=r"algorithm must be one of 'newton', 'nr'"):
        gb.AcPowerFlow(builtin, algorithm="gauss")
    pf = gb.AcPowerFlow(builtin, backend="cpu")
    pd, qd = batch(builtin, [1.0] * 100)
    qd[80, 3] = np.inf  # beyond the first chunk: the message still names scenario 80
    with pytest.raises(gb.InputError, match=r"scenario 80"):
        pf.solve(pd, qd, chunk=10)
    with pytest.raises(gb.InputError, match=rf"vm0 has shape \(2, 3\), expected \(S, {builtin.n_bus}\)"):
        pf.solve(pd, qd, vm0=np.ones((2, 3)))


@pytest.mark.parametrize("start", ["from_case", "previous_step"])
def test_equals_the_cli_on_a_batch(cli, shared, tmp_path, start):
    scales = np.array([0.8, 0.801, 0.803])  # small steps: a time series
    (tmp_path / "scale.csv").write_text("scale\n" + "\n".join(repr(s) for s in scales) + "\n")
    case = shared / "cases" / "case118.m"
    subprocess.run([cli, "pf", str(case), "--ac", "--backend", "cpu", "--start", start,
                    "--load-scale", str(tmp_path / "scale.csv"), "--out", str(tmp_path / "out")],
                   check=True, capture_output=True)
    net = gb.read_matpower(case)
    r = gb.ac_power_flow(net, *batch(net, scales), backend="cpu", start=start)
    if start == "previous_step":  # steps 1 and 2 warm from the one before
        assert r.iterations[1:].max() < gb.ac_power_flow(net, *batch(net, scales)).iterations.min()
    out = tmp_path / "out"
    # The program writes 15 significant digits.
    np.testing.assert_allclose(r.vm, read_matrix_csv(out / "vm.csv", 1), rtol=1e-14)
    np.testing.assert_allclose(r.va, read_matrix_csv(out / "va_deg.csv", 1), rtol=1e-14,
                               atol=1e-12)
    np.testing.assert_allclose(r.pf, read_matrix_csv(out / "pf_mw.csv", 2), rtol=1e-14,
                               atol=1e-11)
    np.testing.assert_allclose(r.qf, read_matrix_csv(out / "qf_mvar.csv", 2), rtol=1e-14,
                               atol=1e-11)


def test_branch_outages_as_scenarios(shared, backend):
    """outage= alone: one scenario per entry at the case's loads (AC N-1). Chunks give the bits
    of one call; -1 is the plain case; a radial branch cuts a bus off (de-energised: NaN voltage,
    its generators at 0, the rest solved; with a distributed slack status islanded, all NaN); the
    outaged branch carries nothing; bad entries name their global index, chunked or not."""
    net = gb.read_matpower(shared / "cases" / "case118.m")
    pf = gb.AcPowerFlow(net, backend=backend)
    outages = np.concatenate([[-1], np.arange(net.n_branch)])
    one = pf.solve(outage=outages, chunk=len(outages))
    assert one.vm.shape == (net.n_branch + 1, net.n_bus)
    for name in ("vm", "va", "pg", "qg", "pf", "qt", "status", "iterations"):
        np.testing.assert_array_equal(getattr(pf.solve(outage=outages, chunk=16), name),
                                      getattr(one, name), err_msg=name)
    np.testing.assert_array_equal(one.vm[0], pf.solve().vm[0])
    assert (one.status == gb.Status.converged.value).all()
    dead = np.isnan(one.vm)
    cutting = dead.any(axis=1)
    assert 0 < cutting.sum() < 20 and (dead.sum(axis=1) < 5).all()
    assert np.isnan(one.va[dead]).all() and np.isfinite(one.pf).all()
    gens_cut = dead[:, net.gen_bus_index]
    assert gens_cut.any() and (one.pg[gens_cut] == 0).all() and (one.qg[gens_cut] == 0).all()
    assert (one.pf[1:][np.arange(net.n_branch), outages[1:]] == 0).all()
    assert not np.allclose(one.vm[1], one.vm[0])
    shared_slack = gb.AcPowerFlow(net, backend=backend, slack="distributed")
    r = shared_slack.solve(outage=outages[cutting])
    assert (r.status == gb.Status.islanded.value).all() and np.isnan(r.vm).all()
    with pytest.raises(gb.InputError, match=r"AcBatch.outage\[100\] = 500: the network has 186"):
        pf.solve(outage=np.where(np.arange(150) == 100, 500, -1))
    with pytest.raises(gb.InputError, match=r"outage\[1\] must be a whole number, got 2.5"):
        pf.solve(outage=[1, 2.5])
    with pytest.raises(gb.InputError, match="outage must be a 1-D array"):
        pf.solve(outage=[[1, 2]])
    with pytest.raises(gb.InputError, match="needs AcAlgorithm::newton"):
        gb.ac_power_flow(net, outage=[3], algorithm="fdxb", backend=backend)


def test_ac_contingencies(shared, backend):
    """ac_contingencies: per power flow the summary of the full result the same outage gives
    through solve(outage=..., warm from the base case); violations are every MVA loading above
    the threshold; the worst per scenario; outages that cut buses off are solved without them
    (their count and load); chunks and a local communicator change nothing; bad options name
    themselves."""
    net = gb.read_matpower(shared / "cases" / "case2383wp.m")
    pf = gb.AcPowerFlow(net, backend=backend)
    scale = np.array([1.0, 1.03])[:, None]
    pd, qd = scale * net.bus.pd, scale * net.bus.qd
    outages = np.arange(0, net.n_branch, 97)
    res = gb.ac_contingencies(pf, pd, qd, outages=outages, threshold_percent=80,
                              monitored_buses=[5, 17], chunk=13)
    assert len(res) == 2 and list(res.outages) == list(outages)
    base = pf.solve(pd, qd)
    warm = gb.AcPowerFlow(net, backend=backend, start="warm")
    rows = 1 + len(outages)
    cases = res.cases
    assert len(cases["scenario"]) == 2 * rows and res.monitored_vm.shape == (2 * rows, 2)
    over = []
    for s in range(2):
        full = warm.solve(np.tile(pd[s], (rows - 1, 1)), np.tile(qd[s], (rows - 1, 1)),
                          vm0=np.tile(base.vm[s], (rows - 1, 1)),
                          va0=np.tile(base.va[s], (rows - 1, 1)), outage=outages)
        for k in range(-1, len(outages)):
            j = s * rows + 1 + k
            r, i = (base, s) if k < 0 else (full, k)
            assert cases["outage"][j] == (-1 if k < 0 else outages[k])
            assert cases["status"][j] == r.status[i]
            if r.status[i] != gb.Status.converged.value:
                continue
            assert cases["iterations"][j] == r.iterations[i]
            mva = np.maximum(np.hypot(r.pf[i], r.qf[i]), np.hypot(r.pt[i], r.qt[i]))
            rated = net.branch.rate_a > 0
            loading = np.where(rated, 100 * mva / np.where(rated, net.branch.rate_a, 1), -1)
            np.testing.assert_allclose(cases["max_loading_percent"][j], loading.max(), rtol=1e-9)
            assert cases["min_vm"][j] == pytest.approx(np.nanmin(r.vm[i]), abs=1e-12)
            dead = np.isnan(r.vm[i])
            assert cases["de_energized_buses"][j] == dead.sum()
            assert cases["lost_load_mw"][j] == pytest.approx(pd[s][dead].sum(), abs=1e-9)
            np.testing.assert_allclose(res.monitored_vm[j], r.vm[i][[5, 17]], atol=1e-12)
            over += [(s, cases["outage"][j], b) for b in np.flatnonzero(loading > 80)]
        post = np.arange(s * rows + 1, (s + 1) * rows)
        ok = post[cases["status"][post] == gb.Status.converged.value]
        assert res.worst_loading_percent[s] == cases["max_loading_percent"][ok].max()
        assert res.lowest_vm[s] == cases["min_vm"][ok].min()
    assert len(res.islanding) > 0
    assert set(res.islanding) == set(outages[cases["de_energized_buses"][1:rows] > 0])
    v = res.violations
    assert len(over) > 0 and sorted(over) == list(zip(v["scenario"], v["outage"], v["branch"]))
    again = gb.ac_contingencies(pf, pd, qd, outages=outages, threshold_percent=80,
                                monitored_buses=[5, 17], comm=gb.local_communicator())
    for name, column in again.cases.items():
        np.testing.assert_array_equal(column, cases[name], err_msg=name)
    with pytest.raises(gb.InputError, match=r"AcContingencyOptions.outages\[0\] = 99999"):
        gb.ac_contingencies(pf, outages=[99999])
    with pytest.raises(gb.InputError, match=r"AcContingencyOptions.monitored_buses\[0\]"):
        gb.ac_contingencies(pf, monitored_buses=[-1])
    with pytest.raises(gb.InputError, match="ac_contingencies needs Newton"):
        gb.ac_contingencies(gb.AcPowerFlow(net, algorithm="fdxb", backend=backend))
