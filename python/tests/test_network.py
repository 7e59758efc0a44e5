"""Network tables, MATPOWER I/O and network matrices from Python."""

import gc

import numpy as np
import pytest

import gridbatch as gb
from conftest import read_ref


def test_tables_match_the_matpower_reference(shared):
    net = gb.read_matpower(shared / "cases" / "case30.m")
    ref = read_ref(shared, "case30", "nr_bus")
    assert net.n_bus == 30 and len(net.bus) == 30
    np.testing.assert_array_equal(net.bus.id, ref["bus_id"])
    np.testing.assert_array_equal(net.bus.type, ref["type"])
    np.testing.assert_array_equal(net.bus.pd, ref["pd_mw"])
    np.testing.assert_array_equal(net.bus.qd, ref["qd_mvar"])
    gen = read_ref(shared, "case30", "nr_gen")
    np.testing.assert_array_equal(net.gen.bus, gen["bus_id"])
    assert net.bus.id.dtype == np.int64 and net.bus.type.dtype == np.int8


def test_columns_are_read_only_views_that_keep_the_network_alive(builtin):
    pd = builtin.bus.pd
    assert not pd.flags.writeable
    with pytest.raises(ValueError):
        pd[0] = 1.0
    assert pd.__array_interface__["data"][0] == builtin.bus.pd.__array_interface__["data"][0]
    expected = builtin.bus.pd.copy()
    view = gb.builtin_network().bus.pd  # the temporary network must outlive the view
    gc.collect()
    np.testing.assert_array_equal(view, expected)


def test_matpower_text_round_trip_is_exact(builtin):
    text = gb.format_matpower(builtin, "roundtrip")
    back = gb.parse_matpower(text, "roundtrip.m")
    for table in ("bus", "gen", "branch"):
        a, b = getattr(builtin, table), getattr(back, table)
        for column in a.columns:
            np.testing.assert_array_equal(getattr(a, column), getattr(b, column), err_msg=column)


def test_ignored_dc_lines_are_noted(builtin):
    text = gb.format_matpower(builtin, "withdc")
    assert gb.parse_matpower(text, "plain.m").notes == []
    dcline = "mpc.dcline = [\n 101 104 1 10 8.9 0 0 1.01 1 1 100 -10 10 -10 10 1 0.01;\n];\n"
    notes = gb.parse_matpower(text + dcline, "withdc.m").notes
    assert len(notes) == 1
    assert notes[0].startswith("withdc.m:")
    assert "mpc.dcline (1 DC line, 1 in service) is ignored" in notes[0]


def test_write_and_read_file(builtin, tmp_path):
    path = tmp_path / "builtin.m"
    gb.write_matpower(builtin, path)
    back = gb.read_matpower(path)
    np.testing.assert_array_equal(back.branch.x, builtin.branch.x)
    assert back.n_gen == builtin.n_gen


def test_from_tables_builds_an_edited_network(builtin):
    bus, gen, branch = builtin.bus.to_dict(), builtin.gen.to_dict(), builtin.branch.to_dict()
    bus["pd"] *= 1.5
    branch["in_service"][0] = 0
    edited = gb.Network.from_tables(builtin.base_mva, bus, gen, branch, source="edited")
    np.testing.assert_array_equal(edited.bus.pd, builtin.bus.pd * 1.5)
    assert not edited.branch_active[0] and builtin.branch_active[0]
    assert builtin.bus.pd[2] != edited.bus.pd[2] or builtin.bus.pd[2] == 0  # original untouched


def test_from_tables_names_the_missing_or_wrong_column(builtin):
    bus, gen, branch = builtin.bus.to_dict(), builtin.gen.to_dict(), builtin.branch.to_dict()
    del bus["vmax"]
    with pytest.raises(gb.InputError, match=r"bus has no column 'vmax'"):
        gb.Network.from_tables(100.0, bus, gen, branch)
    bus = builtin.bus.to_dict()
    bus["type"] = bus["type"] + 0.5
    with pytest.raises(gb.InputError, match=r"bus\['type'\]\[0\] must be a whole number"):
        gb.Network.from_tables(100.0, bus, gen, branch)
    # Whole numbers beyond the column's type: a status of 256 wrapped to 0 (out of service), a
    # bus type of 300 to 44.
    branch["in_service"] = np.full(builtin.n_branch, 256)
    with pytest.raises(gb.InputError, match=r"branch\['in_service'\]\[0\] = 256 is out of range"):
        gb.Network.from_tables(100.0, builtin.bus.to_dict(), gen, branch)
    bus = builtin.bus.to_dict()
    bus["type"] = np.full(builtin.n_bus, 300)
    with pytest.raises(gb.InputError, match=r"bus\['type'\]\[0\] = 300 is out of range"):
        gb.Network.from_tables(100.0, bus, gen, builtin.branch.to_dict())


def test_internal_bus_maps_numbers_to_rows(builtin):
    ids = builtin.bus.id
    np.testing.assert_array_equal(builtin.internal_bus(ids[::-1]), np.arange(len(ids))[::-1])
    assert builtin.internal_bus(int(ids[7])) == 7 and builtin.internal_bus(ids[7]) == 7
    missing = int(ids.max()) + 1
    with pytest.raises(gb.InputError, match=str(missing)):
        builtin.internal_bus(missing)
    rows = builtin.branch_from_index
    np.testing.assert_array_equal(ids[rows], builtin.branch.from_bus)


def dense_ybus(net):
    """makeYbus written out in numpy from the tables: an independent check of the binding."""
    br = net.branch
    on = net.branch_active
    ys = np.where(on, 1.0 / (br.r + 1j * br.x), 0)
    bc = np.where(on, br.b, 0)
    tap = np.where(br.tap == 0, 1.0, br.tap) * np.exp(1j * np.deg2rad(br.shift))
    ytt = ys + 1j * bc / 2
    yff = ytt / (tap * np.conj(tap))
    yft = -ys / np.conj(tap)
    ytf = -ys / tap
    f, t = net.branch_from_index, net.branch_to_index
    y = np.zeros((net.n_bus, net.n_bus), complex)
    np.add.at(y, (f, f), yff)
    np.add.at(y, (f, t), yft)
    np.add.at(y, (t, f), ytf)
    np.add.at(y, (t, t), ytt)
    y[np.diag_indices(net.n_bus)] += (net.bus.gs + 1j * net.bus.bs) / net.base_mva
    return y


def test_admittance_matches_a_numpy_makeybus(builtin):
    y = gb.make_admittance(builtin)
    assert y.ybus.shape == (builtin.n_bus, builtin.n_bus)
    data, indices, indptr, shape = y.ybus.as_tuple()
    assert indices.dtype == np.int32 and indptr[-1] == y.ybus.nnz == len(data)
    np.testing.assert_allclose(y.ybus.to_dense(), dense_ybus(builtin), rtol=1e-12, atol=1e-9)
    assert y.yf.shape == (builtin.n_branch, builtin.n_bus)


def test_dc_matrices_match_numpy(builtin):
    d = gb.make_dc_matrices(builtin)
    br = builtin.branch
    on = builtin.branch_active
    b = np.where(on, 1.0 / (br.x * np.where(br.tap == 0, 1.0, br.tap)), 0)
    f, t = builtin.branch_from_index, builtin.branch_to_index
    bf = np.zeros((builtin.n_branch, builtin.n_bus))
    bf[np.arange(len(b)), f] = b
    bf[np.arange(len(b)), t] = -b
    np.testing.assert_allclose(d.bf.to_dense(), bf, rtol=1e-13)
    cft = np.zeros((builtin.n_branch, builtin.n_bus))
    cft[np.arange(len(b)), f] = 1
    cft[np.arange(len(b)), t] = -1
    np.testing.assert_allclose(d.bbus.to_dense(), cft.T @ bf, rtol=1e-12, atol=1e-9)
    assert d.pfinj.shape == (builtin.n_branch,) and d.pbusinj.shape == (builtin.n_bus,)


def test_backends_and_build_info():
    info = gb.build_info()
    assert info["version"] == gb.__version__
    assert gb.Backend.cpu in gb.available_backends()
    assert gb.backend_status("cpu").available
    assert gb.resolve_backend("auto") in gb.available_backends()
    cuda = gb.backend_status(gb.Backend.cuda)
    assert cuda.available == (gb.Backend.cuda in gb.available_backends())
    assert cuda.available or cuda.reason
