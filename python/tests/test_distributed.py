"""Sharded solves: on one process they equal the plain solve bit for bit; under mpirun (when
gridbatch has MPI) rank 0 gets the same answer as one process."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import gridbatch as gb


def test_local_sharding_equals_the_plain_solve(builtin):
    comm = gb.local_communicator()
    assert (comm.rank, comm.size) == (0, 1)
    s = np.linspace(0.8, 1.2, 50)[:, None]
    pd, qd = s * builtin.bus.pd, s * builtin.bus.qd
    dc = gb.DcPowerFlow(builtin, backend="cpu")
    np.testing.assert_array_equal(gb.solve_sharded(dc, pd, comm, chunk=7).pf, dc.solve(pd).pf)
    ac = gb.AcPowerFlow(builtin, backend="cpu")
    np.testing.assert_array_equal(gb.solve_sharded(ac, pd, qd, comm, chunk=9).vm,
                                  ac.solve(pd, qd).vm)
    # The other inputs as solve takes them: generator setpoints and branch outages per scenario.
    pg = s * builtin.gen.pg
    outage = np.arange(50) % builtin.n_branch - 1
    sharded = gb.solve_sharded(ac, pd, qd, comm, chunk=9, pg=pg, outage=outage)
    plain = ac.solve(pd, qd, pg=pg, outage=outage)
    for name in ("vm", "pf", "pg", "status"):
        np.testing.assert_array_equal(getattr(sharded, name), getattr(plain, name), err_msg=name)
    assert (sharded.pf[np.arange(1, 50), outage[1:]] == 0).all()
    with pytest.raises(gb.InputError, match="pd and qd are required"):
        gb.solve_sharded(ac, None, qd, comm)


SCRIPT = """
import numpy as np, gridbatch as gb
net = gb.builtin_network()
comm = gb.mpi_communicator()
s = np.linspace(0.8, 1.2, 40)[:, None]
ac = gb.AcPowerFlow(net, backend="cpu", threads=1)
r = gb.solve_sharded(ac, s * net.bus.pd, s * net.bus.qd, comm, chunk=5)
if comm.rank == 0:
    np.save({out!r}, r.vm)
"""


def run_on_two_ranks(source, out, tmp_path):
    """Runs the script `source` (formatted with out=) under `mpirun -np 2`; skips without MPI."""
    mpirun = shutil.which("mpirun")
    if not gb.mpi_built() or not mpirun:
        pytest.skip("gridbatch built without MPI, or no mpirun")
    script = tmp_path / "script.py"
    script.write_text(source.format(out=str(out)))
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    subprocess.run([mpirun, "-np", "2", "--oversubscribe", sys.executable, str(script)],
                   check=True, env=env, capture_output=True, timeout=120)


def test_mpirun_two_ranks(builtin, tmp_path):
    out = tmp_path / "vm.npy"
    run_on_two_ranks(SCRIPT, out, tmp_path)
    s = np.linspace(0.8, 1.2, 40)[:, None]
    plain = gb.AcPowerFlow(builtin, backend="cpu").solve(s * builtin.bus.pd, s * builtin.bus.qd)
    np.testing.assert_array_equal(np.load(out), plain.vm)


def test_comm_keyword_shards_n1_dispatch_and_study_identically(builtin):
    comm = gb.local_communicator()
    s = np.linspace(0.8, 1.2, 30)[:, None]
    dc = gb.DcPowerFlow(builtin, backend="cpu")
    a = gb.n1_screen(dc, s * builtin.bus.pd, threshold_percent=60, outages_per_block=5)
    b = gb.n1_screen(dc, s * builtin.bus.pd, threshold_percent=60, outages_per_block=5,
                     comm=comm)
    assert len(a.violations) > 0
    np.testing.assert_array_equal(a.worst_loading_percent, b.worst_loading_percent)
    assert len(a.violations) == len(b.violations)
    load = gb.training_load(n_scenarios=5, steps=300, seed=2)
    fleet = gb.BatteryFleet.from_units("megapack-2h", 30)
    np.testing.assert_array_equal(gb.dispatch(load, fleet).battery_mw,
                                  gb.dispatch(load, fleet, comm=comm).battery_mw)
    with pytest.raises(TypeError, match="comm must be"):
        gb.dispatch(load, fleet, comm="world")


MPI4PY_SCRIPT = """
import numpy as np, gridbatch as gb
from mpi4py import MPI
net = gb.builtin_network()
world = MPI.COMM_WORLD
s = np.linspace(0.8, 1.2, 40)[:, None]
dc = gb.DcPowerFlow(net, backend="cpu", threads=1)
n1 = gb.n1_screen(dc, s * net.bus.pd, threshold_percent=60, outages_per_block=5, comm=world)
# A sub-communicator of one rank per colour: each solves the whole batch alone.
alone = world.Split(world.rank, 0)
ac = gb.AcPowerFlow(net, backend="cpu", threads=1)
r = gb.solve_sharded(ac, s * net.bus.pd, s * net.bus.qd, alone, chunk=5)
# AC contingencies: the chunks of (scenario, outage) power flows over both ranks.
k = s[::13]
acn1 = gb.ac_contingencies(ac, k * net.bus.pd, k * net.bus.qd, threshold_percent=60, chunk=7,
                           comm=world)
if world.rank == 0:
    np.save({out!r}, n1.worst_loading_percent)
    np.save({out!r}.replace(".npy", "_ac.npy"),
            np.stack([acn1.cases["max_loading_percent"], acn1.cases["min_vm"],
                      acn1.cases["iterations"].astype(float)]))
np.save({out!r}.replace(".npy", f"_vm{{world.rank}}.npy"), r.vm)
"""


def test_mpi4py_communicators(builtin, tmp_path):
    """An mpi4py communicator shards n1_screen and ac_contingencies over two ranks (rank 0 gets
    the one-process answer) and a split one runs solve_sharded alone on each rank."""
    pytest.importorskip("mpi4py")
    out = tmp_path / "worst.npy"
    run_on_two_ranks(MPI4PY_SCRIPT, out, tmp_path)
    s = np.linspace(0.8, 1.2, 40)[:, None]
    dc = gb.DcPowerFlow(builtin, backend="cpu")
    ref = gb.n1_screen(dc, s * builtin.bus.pd, threshold_percent=60, outages_per_block=5)
    np.testing.assert_array_equal(np.load(out), ref.worst_loading_percent)
    plain = gb.AcPowerFlow(builtin, backend="cpu").solve(s * builtin.bus.pd, s * builtin.bus.qd)
    for rank in (0, 1):
        np.testing.assert_array_equal(np.load(str(out).replace(".npy", f"_vm{rank}.npy")),
                                      plain.vm)
    k = s[::13]
    one = gb.ac_contingencies(gb.AcPowerFlow(builtin, backend="cpu"), k * builtin.bus.pd,
                              k * builtin.bus.qd, threshold_percent=60)
    c = one.cases
    np.testing.assert_array_equal(
        np.load(str(out).replace(".npy", "_ac.npy")),
        np.stack([c["max_loading_percent"], c["min_vm"], c["iterations"].astype(float)]))


def test_rank_helpers_without_mpirun():
    comm = gb.local_communicator()
    assert gb.device_for(comm) == 0  # one process; no device here or device 0
    assert gb.launcher_rank() == 0


def test_every_solver_a_rank_builds_takes_a_device(builtin):
    # device_for(comm) is meant for the device= of each solver; AC, dispatch and the load
    # generator had no such argument, so every rank of a node used GPU 0.
    load = gb.training_load(steps=8, device=0)
    fleet = gb.BatteryFleet(energy_mwh=1, charge_mw=1, discharge_mw=1)
    gb.dispatch(load, fleet, device=0)
    gb.receding_horizon(load, fleet, horizon_steps=4, replan_every=2, device=0)
    gb.size_fleet(load, "megapack-2h", 1e6, max_units=2, device=0)
    gb.AcPowerFlow(builtin, device=0)
    gb.ac_power_flow(builtin, device=0)
