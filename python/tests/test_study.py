"""The data-centre study from Python: the same files as `gridbatch study`, progress reports,
and errors or Ctrl-C from the progress hook stop it."""

import filecmp
import signal
import subprocess
import threading

import numpy as np
import pytest

import gridbatch as gb

SMALL = dict(steps=240, scenarios=1, sizing_points=3, backend="cpu")


def test_same_files_as_the_cli(cli, builtin, tmp_path):
    subprocess.run([cli, "study", "--steps", "240", "--scenarios", "1", "--sizing-points", "3",
                    "--backend", "cpu", "--no-plots", "--out", str(tmp_path / "cli")], check=True,
                   capture_output=True)
    progress = []
    r = gb.run_study(builtin, gb.StudyOptions(**SMALL),
                     progress=lambda stage, f: progress.append((stage, f)))
    gb.write_study(r, builtin, tmp_path / "py")
    names = sorted(p.name for p in (tmp_path / "cli").glob("*.csv"))
    assert names
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "cli", tmp_path / "py", names,
                                               shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
    assert progress[-1] == ("done", 1.0)
    assert r.load_mw.shape == (1, 240) and r.load_mw.base is r
    optimal = r.outcomes["optimal"]
    assert optimal.poi_vm.shape == (1, 240) and optimal.dispatch.grid_mw.shape == (1, 240)
    np.testing.assert_allclose(optimal.dispatch.grid_mw + optimal.dispatch.battery_mw,
                               r.load_mw, atol=1e-9)
    assert optimal.peak_loading.shape == (1,)
    np.testing.assert_array_equal(optimal.peak_loading, np.nanmax(optimal.max_loading, axis=1))
    n1 = r.n1
    assert len(n1["ac_min_poi_vm"]) == len(n1["step"]) > 0
    assert (n1["ac_worst_loading_percent"] > 0).all() and (n1["ac_worst_outage"] >= 0).all()
    dc_only = gb.run_study(builtin, gb.StudyOptions(**{**SMALL, "n1_ac": False})).n1
    assert np.isnan(dc_only["ac_min_poi_vm"]).all()
    np.testing.assert_array_equal(dc_only["worst_loading_percent"], n1["worst_loading_percent"])


def test_errors_in_the_progress_hook_stop_the_study():
    with pytest.raises(ZeroDivisionError):
        gb.run_study(progress=lambda stage, f: 1 / 0, **SMALL)
    with pytest.raises(gb.InputError, match=r"StudyOptions has no field 'stepz'"):
        gb.run_study(stepz=3)
    # A bad value names the field a Python caller set (and the command line's option).
    with pytest.raises(gb.InputError, match=r"StudyOptions.steps \(--steps\) must be at least 4"):
        gb.run_study(steps=3)
    with pytest.raises(gb.InputError, match=r"StudyOptions.poi_bus \(--poi\): bus 999 is not"):
        gb.run_study(poi_bus=999)


def test_ctrl_c_stops_the_study():
    main = threading.get_ident()
    stages = []

    def progress(stage, fraction):
        stages.append(stage)
        if len(stages) == 2:  # Ctrl-C while the study runs
            signal.pthread_kill(main, signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        gb.run_study(progress=progress, **SMALL)
    assert "done" not in stages
