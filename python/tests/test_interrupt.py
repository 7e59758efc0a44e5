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
