"""Ctrl-C interrupts a long AC solve between chunks instead of after the whole batch."""

import signal
import threading
import time

import numpy as np
import pytest

import gridbatch as gb


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_keyboard_interrupt_stops_a_chunked_ac_solve(builtin):
    pf = gb.AcPowerFlow(builtin, backend="cpu", threads=1)
    s = np.linspace(0.8, 1.2, 64)[:, None]
    t0 = time.perf_counter()
    pf.solve(s * builtin.bus.pd, s * builtin.bus.qd)
    per_scenario = (time.perf_counter() - t0) / 64
    # A batch of about 4 s, in chunks of 8 scenarios; Ctrl-C arrives during the first chunks.
    n = int(np.clip(4.0 / per_scenario, 500, 200000))
    s = np.linspace(0.8, 1.2, n)[:, None]
    pd, qd = s * builtin.bus.pd, s * builtin.bus.qd
    main = threading.get_ident()
    timer = threading.Timer(0.2, lambda: signal.pthread_kill(main, signal.SIGINT))
    chunks_done = []
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        chunks_done.append(pf.solve(pd, qd, chunk=8))
    elapsed = time.perf_counter() - start
    timer.join()
    assert not chunks_done  # the solve did not return a result
    assert elapsed < 0.5 * n * per_scenario, f"took {elapsed:.2f} s of ~{n * per_scenario:.2f} s"


def interrupt_after(seconds, call):
    """Runs call() with SIGINT sent to this thread after `seconds`; returns the elapsed time."""
    main = threading.get_ident()
    timer = threading.Timer(seconds, lambda: signal.pthread_kill(main, signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        call()
    elapsed = time.perf_counter() - start
    timer.join()
    return elapsed


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_keyboard_interrupt_stops_n1_screening_between_outage_blocks(shared):
    # A real case, so the outage blocks (not the base case solve) are the work.
    net = gb.read_matpower(shared / "cases" / "case2383wp.m")
    pf = gb.DcPowerFlow(net, backend="cpu", threads=1)
    s = np.linspace(0.8, 1.2, 20)[:, None]
    t0 = time.perf_counter()
    gb.n1_screen(pf, s * net.bus.pd, threshold_percent=150, outages_per_block=16)
    per_scenario = (time.perf_counter() - t0) / 20
    n = int(np.clip(4.0 / per_scenario, 20, 2000))
    pd = np.linspace(0.8, 1.2, n)[:, None] * net.bus.pd
    total = per_scenario * n
    elapsed = interrupt_after(
        0.2, lambda: gb.n1_screen(pf, pd, threshold_percent=150, outages_per_block=16))
    assert elapsed < 0.5 * total, f"took {elapsed:.2f} s of ~{total:.2f} s"


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_keyboard_interrupt_stops_a_dispatch_batch_between_chunks():
    load = gb.training_load(n_scenarios=8, steps=3600, seed=3)
    fleet = gb.BatteryFleet.from_units("megapack-2h", 40)  # lossy: the dynamic program
    t0 = time.perf_counter()
    gb.dispatch(load, fleet, threads=1)
    per_scenario = (time.perf_counter() - t0) / 8
    n = int(np.clip(4.0 / per_scenario, 64, 20000))
    load = np.tile(load, (n // 8 + 1, 1))
    total = per_scenario * load.shape[0]
    elapsed = interrupt_after(0.2, lambda: gb.dispatch(load, fleet, threads=1))
    assert elapsed < 0.5 * total, f"took {elapsed:.2f} s of ~{total:.2f} s"


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_keyboard_interrupt_stops_smooth_dispatch_between_chunks():
    load = gb.training_load(n_scenarios=2, steps=600, seed=5)
    fleet = gb.BatteryFleet.from_units("megapack-2h", 40)
    t0 = time.perf_counter()
    ref = gb.smooth_dispatch(load, fleet, threads=1)
    per_scenario = (time.perf_counter() - t0) / 2
    n = int(np.clip(4.0 / per_scenario, 4, 2000))
    many = np.tile(load, (n // 2 + 1, 1))
    total = per_scenario * many.shape[0]
    elapsed = interrupt_after(0.2, lambda: gb.smooth_dispatch(many, fleet, threads=1))
    assert elapsed < 0.5 * total, f"took {elapsed:.2f} s of ~{total:.2f} s"
    # Chunks give the same bits as one call.
    np.testing.assert_array_equal(gb.smooth_dispatch(load, fleet, threads=1, comm=None).grid_mw,
                                  ref.grid_mw)


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_keyboard_interrupt_stops_receding_horizon_between_replans():
    load = gb.training_load(n_scenarios=4, steps=1200, seed=6)
    fleet = gb.BatteryFleet.from_units("megapack-2h", 40)
    run = lambda: gb.receding_horizon(load, fleet, horizon_steps=600, replan_every=10, threads=1)
    t0 = time.perf_counter()
    run()
    once = time.perf_counter() - t0
    load = np.tile(load, (max(1, int(4.0 / once)), 1))
    total = once * load.shape[0] / 4
    elapsed = interrupt_after(0.2, run)
    assert elapsed < 0.5 * total, f"took {elapsed:.2f} s of ~{total:.2f} s"
