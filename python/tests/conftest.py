"""Shared fixtures: the backends to run on (a CUDA run is skipped, with the reason, where no
device or no CUDA build is available), the built-in network, and the optional ../shared data."""

import csv
import os
import pathlib

import numpy as np
import pytest

import gridbatch as gb

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(params=["cpu", "cuda"])
def backend(request):
    """Each backend in turn; CUDA is skipped visibly when it cannot run here."""
    status = gb.backend_status(request.param)
    if not status.available:
        if request.param == "cuda" and os.environ.get("GRIDBATCH_REQUIRE_CUDA"):
            pytest.fail(f"CUDA required but unavailable: {status.reason}")
        pytest.skip(f"{request.param} backend unavailable: {status.reason}")
    return request.param


@pytest.fixture(scope="session")
def builtin():
    return gb.builtin_network()


def shared_dir():
    """../shared (the MATPOWER cases and reference solutions), or GRIDBATCH_SHARED."""
    return pathlib.Path(os.environ.get("GRIDBATCH_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared():
    path = shared_dir()
    if not (path / "cases").is_dir():
        pytest.skip(f"shared data not found at {path} (set GRIDBATCH_SHARED)")
    return path


def read_ref(shared, case, name):
    """A MATPOWER reference CSV as a dict of float64 columns."""
    with open(shared / "refs" / "matpower" / case / f"{name}.csv") as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


@pytest.fixture(scope="session")
def cli():
    """The gridbatch command-line program (GRIDBATCH_CLI), to compare against the C++ side."""
    path = os.environ.get("GRIDBATCH_CLI")
    if not path or not os.access(path, os.X_OK):
        pytest.skip("GRIDBATCH_CLI is not set to the gridbatch program")
    return path
