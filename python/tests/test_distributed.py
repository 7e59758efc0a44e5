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


def test_mpirun_two_ranks(builtin, tmp_path):
    mpirun = shutil.which("mpirun")
    if not gb.mpi_built() or not mpirun:
        pytest.skip("gridbatch built without MPI, or no mpirun")
    out = tmp_path / "vm.npy"
    script = tmp_path / "shard.py"
    script.write_text(SCRIPT.format(out=str(out)))
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    subprocess.run([mpirun, "-np", "2", "--oversubscribe", sys.executable, str(script)],
                   check=True, env=env, capture_output=True, timeout=120)
    s = np.linspace(0.8, 1.2, 40)[:, None]
    plain = gb.AcPowerFlow(builtin, backend="cpu").solve(s * builtin.bus.pd, s * builtin.bus.qd)
    np.testing.assert_array_equal(np.load(out), plain.vm)
