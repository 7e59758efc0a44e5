"""DC power flow and sensitivities from Python: MATPOWER's answers, the C++ program's answers,
and bitwise agreement between the ways of calling it."""

import csv
import subprocess

import numpy as np
import pytest

import gridbatch as gb
from conftest import read_ref


def scaled_loads(net, scales):
    return np.asarray(scales)[:, None] * net.bus.pd[None, :]


@pytest.mark.parametrize("case", ["case9", "case30", "case118"])
def test_matches_matpower_rundcpf(shared, backend, case):
    net = gb.read_matpower(shared / "cases" / f"{case}.m")
    r = gb.DcPowerFlow(net, backend=backend).solve()
    bus, branch, gen = (read_ref(shared, case, f"dc_{t}") for t in ("bus", "branch", "gen"))
    assert r.va.shape == (1, net.n_bus) and r.all_converged
    np.testing.assert_allclose(r.va[0], bus["va_deg"], atol=1e-8)
    np.testing.assert_allclose(r.pf[0], branch["pf_mw"], atol=1e-7)
    np.testing.assert_allclose(r.pg[0], gen["pg_mw"], atol=1e-7)
    assert r.backend.name == backend


def test_batch_columns_equal_single_solves_bitwise(builtin, backend):
    pf = gb.DcPowerFlow(builtin, backend=backend)
    pd = scaled_loads(builtin, [0.8, 1.0, 1.2, 0.95])
    batch = pf.solve(pd)
    assert batch.va.shape == (4, builtin.n_bus) and batch.pf.shape == (4, builtin.n_branch)
    for s in range(4):
        one = pf.solve(pd[s])
        np.testing.assert_array_equal(one.va[0], batch.va[s])
        np.testing.assert_array_equal(one.pf[0], batch.pf[s])
        np.testing.assert_array_equal(one.pg[0], batch.pg[s])


def test_every_input_layout_gives_the_same_bits(builtin):
    pf = gb.DcPowerFlow(builtin, backend="cpu")
    pd = scaled_loads(builtin, [0.9, 1.1, 1.05])
    ref = pf.solve(pd)
    for variant in (np.asfortranarray(pd), pd.tolist(), np.repeat(pd, 2, axis=0)[::2],
                    pd.astype(np.longdouble)):
        r = pf.solve(variant)
        np.testing.assert_array_equal(r.va, ref.va)
        np.testing.assert_array_equal(r.pf, ref.pf)
    one_shot = gb.dc_power_flow(builtin, pd, backend="cpu")
    np.testing.assert_array_equal(one_shot.va, ref.va)
    np.testing.assert_array_equal(one_shot.slack_mw, ref.slack_mw)


def test_generator_schedules_and_distributed_slack(builtin):
    pd = scaled_loads(builtin, [0.9, 1.1])
    pg = np.tile(builtin.gen.pg, (2, 1)) * 0.5
    r = gb.DcPowerFlow(builtin, backend="cpu", slack="distributed").solve(pd, pg)
    on = builtin.gen_active
    # Lossless DC: generation meets load plus shunt conductance in every scenario.
    demand = pd.sum(axis=1) + builtin.bus.gs.sum()
    np.testing.assert_allclose(r.pg[:, on].sum(axis=1), demand, rtol=1e-12)
    np.testing.assert_allclose(r.slack_mw, demand - pg[:, on].sum(axis=1), rtol=1e-12)
    # pg given without pd: the case's loads.
    case = gb.DcPowerFlow(builtin, backend="cpu").solve(pg=pg)
    np.testing.assert_array_equal(case.pf[0], gb.DcPowerFlow(builtin, backend="cpu").solve(
        builtin.bus.pd.copy(), pg[0]).pf[0])


def read_matrix_csv(path, skip):
    with open(path) as f:
        rows = list(csv.reader(f))
    return np.array([[float(x) for x in row[skip:]] for row in rows[1:]]).T  # (S, n)


def test_equals_the_cli_on_a_batch(cli, shared, tmp_path):
    scales = np.array([0.7, 1.0, 1.15])
    (tmp_path / "scale.csv").write_text("scale\n" + "\n".join(repr(s) for s in scales) + "\n")
    case = shared / "cases" / "case118.m"
    subprocess.run([cli, "pf", str(case), "--dc", "--backend", "cpu", "--load-scale",
                    str(tmp_path / "scale.csv"), "--out", str(tmp_path / "out")], check=True,
                   capture_output=True)
    net = gb.read_matpower(case)
    r = gb.dc_power_flow(net, scaled_loads(net, scales), backend="cpu")
    # The program writes 15 significant digits.
    np.testing.assert_allclose(r.va, read_matrix_csv(tmp_path / "out" / "va_deg.csv", 1),
                               rtol=1e-14, atol=1e-12)
    np.testing.assert_allclose(r.pf, read_matrix_csv(tmp_path / "out" / "pf_mw.csv", 2),
                               rtol=1e-14, atol=1e-12)


def test_ptdf_predicts_the_flow_change_of_an_injection(builtin):
    pf = gb.DcPowerFlow(builtin, backend="cpu")
    ptdf = gb.ptdf(pf)
    assert ptdf.shape == (builtin.n_branch, builtin.n_bus) and ptdf.flags.f_contiguous
    base = pf.solve()
    j = builtin.internal_bus(gb.BUILTIN_POI_161)
    pd = builtin.bus.pd.copy()
    pd[j] -= 10.0  # 10 MW injected at the POI, taken by the reference bus's generator
    moved = pf.solve(pd)
    np.testing.assert_allclose(moved.pf[0] - base.pf[0], 10.0 * ptdf[:, j], atol=1e-9)
    np.testing.assert_allclose(gb.ptdf_columns(pf, [j])[:, 0], ptdf[:, j], atol=1e-12)
    np.testing.assert_allclose(gb.ptdf_rows(pf, [3, 5]), ptdf[[3, 5]], atol=1e-12)


def test_lodf_predicts_post_outage_flows(builtin):
    pf = gb.DcPowerFlow(builtin, backend="cpu")
    lodf = gb.lodf(pf)
    base = pf.solve().pf[0]
    k = int(np.flatnonzero(~lodf.islanding & builtin.branch_active)[0])
    branch = builtin.branch.to_dict()
    branch["in_service"][k] = 0
    out = gb.Network.from_tables(builtin.base_mva, builtin.bus.to_dict(), builtin.gen.to_dict(),
                                 branch)
    post = gb.dc_power_flow(out, backend="cpu").pf[0]
    predicted = base + lodf.factors[:, k] * base[k]
    predicted[k] = 0.0
    np.testing.assert_allclose(post, predicted, atol=1e-8)
    np.testing.assert_array_equal(gb.islanding_branches(builtin), lodf.islanding)


def test_n1_screen_agrees_with_lodf_brute_force(builtin):
    pf = gb.DcPowerFlow(builtin, backend="cpu")
    pd = scaled_loads(builtin, [1.0, 1.3])
    n1 = gb.n1_screen(pf, pd, threshold_percent=90.0, outages_per_block=16)
    lodf = gb.lodf(pf).factors
    rate = builtin.branch.rate_a
    base = pf.solve(pd).pf
    for s in range(2):
        worst = 0.0
        for k in n1.screened:
            post = base[s] + lodf[:, k] * base[s, k]
            post[k] = 0.0
            loading = np.where(rate > 0, np.abs(post) / np.where(rate > 0, rate, 1) * 100, 0)
            worst = max(worst, loading.max())
        assert n1.worst_loading_percent[s] == pytest.approx(worst, rel=1e-9)
    v = n1.violations
    assert v.dtype.names == ("scenario", "outage", "branch", "loading_percent")
    assert np.all(v["loading_percent"] > 90.0)
    np.testing.assert_array_equal(n1.base.pf, base)


def test_n1_min_increase_keeps_what_the_outage_raises(builtin):
    pf = gb.DcPowerFlow(builtin, backend="cpu")
    pd = scaled_loads(builtin, [1.0, 1.3])
    every = gb.n1_screen(pf, pd, threshold_percent=90.0)
    raised = gb.n1_screen(pf, pd, threshold_percent=90.0, min_increase_percent=5.0)
    rate = builtin.branch.rate_a
    base = np.abs(every.base.pf) / np.where(rate > 0, rate, 1) * 100
    v = every.violations
    keep = v["loading_percent"] > base[v["scenario"], v["branch"]] + 5.0
    assert 0 < keep.sum() < len(v)
    np.testing.assert_array_equal(raised.violations, v[keep])
    np.testing.assert_array_equal(raised.worst_loading_percent, every.worst_loading_percent)
