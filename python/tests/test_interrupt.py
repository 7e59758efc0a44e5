"""Ctrl-C interrupts a long AC solve between chunks instead of after the whole batch."""

import signal
import threading
import time

import numpy as np
import pytest

import gridbatch as gb


@pytest.fixture(autouse=True)
def sigint_raises_keyboard_interrupt():
    """Python's own Ctrl-C handler for each test: a process started in the background by a
    non-interactive shell inherits SIGINT ignored, and Python then installs no handler, so
    KeyboardInterrupt would never come whatever the library does."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


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


def prompt_interrupt(solve, batch, max_rows):
    """Times solve(batch), repeats its rows to about 4 s of work (at most max_rows), sends Ctrl-C
    after 0.2 s and checks that the solve stopped well before it would have finished."""
    t0 = time.perf_counter()
    solve(batch)
    once = time.perf_counter() - t0
    repeats = int(np.clip(4.0 / once, 1, max(1, max_rows // len(batch))))
    big = np.tile(batch, (repeats, 1))
    total = once * repeats
    elapsed = interrupt_after(0.2, lambda: solve(big))
    assert elapsed < 0.5 * total, f"took {elapsed:.2f} s of ~{total:.2f} s"


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_keyboard_interrupt_stops_n1_screening_between_outage_blocks(shared):
    # A real case, so the outage blocks (not the base case solve) are the work.
    net = gb.read_matpower(shared / "cases" / "case2383wp.m")
    pf = gb.DcPowerFlow(net, backend="cpu", threads=1)
    pd = np.linspace(0.8, 1.2, 20)[:, None] * net.bus.pd
    prompt_interrupt(lambda p: gb.n1_screen(pf, p, threshold_percent=150, outages_per_block=16),
                     pd, 2000)


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_keyboard_interrupt_stops_a_dispatch_batch_between_chunks():
    load = gb.training_load(n_scenarios=8, steps=3600, seed=3)
    fleet = gb.BatteryFleet.from_units("megapack-2h", 40)  # lossy: the dynamic program
    prompt_interrupt(lambda l: gb.dispatch(l, fleet, threads=1), load, 20000)


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_keyboard_interrupt_stops_smooth_dispatch_between_chunks():
    load = gb.training_load(n_scenarios=2, steps=600, seed=5)
    fleet = gb.BatteryFleet.from_units("megapack-2h", 40)
    prompt_interrupt(lambda l: gb.smooth_dispatch(l, fleet, threads=1), load, 2000)
    # Chunks give the same bits as one call.
    one_chunk = gb.smooth_dispatch(load, fleet, threads=1)
    np.testing.assert_array_equal(gb.smooth_dispatch(load[:1], fleet, threads=1).grid_mw,
                                  one_chunk.grid_mw[:1])


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")
def test_keyboard_interrupt_stops_receding_horizon_between_replans():
    load = gb.training_load(n_scenarios=4, steps=1200, seed=6)
    fleet = gb.BatteryFleet.from_units("megapack-2h", 40)
    prompt_interrupt(
        lambda l: gb.receding_horizon(l, fleet, horizon_steps=600, replan_every=10, threads=1),
        load, 400)
