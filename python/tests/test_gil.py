"""The GIL is released while C++ solves: another Python thread keeps running meanwhile."""

import threading
import time

import numpy as np

import gridbatch as gb


def ticks_during(solve, min_seconds=0.3):
    """Runs `solve` in a thread until it has spent `min_seconds` inside the call, counting the
    main thread's loop turns that fall strictly inside those calls. With the GIL held during a
    call, no turn can: the main thread cannot run Python at all."""
    intervals, stop = [], threading.Event()

    def worker():
        spent = 0.0
        while spent < min_seconds:
            t0 = time.perf_counter()
            solve()
            t1 = time.perf_counter()
            intervals.append((t0, t1))
            spent += t1 - t0
        stop.set()

    turns = []
    thread = threading.Thread(target=worker)
    thread.start()
    while not stop.is_set():
        turns.append(time.perf_counter())
        time.sleep(0.0005)
    thread.join()
    stamps = np.array(turns)
    # A margin at both ends of each call: the switch into the call happens with the GIL.
    inside = sum(int(((stamps > a + 0.002) & (stamps < b - 0.002)).sum()) for a, b in intervals)
    return inside, len(intervals)


def test_ac_solve_releases_the_gil(builtin):
    pf = gb.AcPowerFlow(builtin, backend="cpu", threads=1)
    s = np.linspace(0.8, 1.2, 400)[:, None]
    pd, qd = s * builtin.bus.pd, s * builtin.bus.qd
    inside, calls = ticks_during(lambda: pf.solve(pd, qd, chunk=400))
    assert inside > 20, f"main thread ran only {inside} times during {calls} solves"


def test_dc_solve_releases_the_gil(builtin):
    pf = gb.DcPowerFlow(builtin, backend="cpu", threads=1)
    pd = np.linspace(0.8, 1.2, 20000)[:, None] * builtin.bus.pd
    inside, calls = ticks_during(lambda: pf.solve(pd))
    assert inside > 20, f"main thread ran only {inside} times during {calls} solves"
