"""The example notebooks run top to bottom (nbclient, this interpreter's kernel), on the built-in
network and on a MATPOWER case, so they cannot rot."""

import json
import os
import pathlib
import sys

import pytest

import gridbatch as gb
from conftest import shared_dir

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[2] / "examples" / "notebooks"


@pytest.mark.parametrize("case", [None, "case118"])
@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs(name, case, monkeypatch, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    # The kernel is this interpreter with the gridbatch that this test imported.
    package_dir = str(pathlib.Path(gb.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [package_dir] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    if case is None:  # the built-in network
        monkeypatch.delenv("GRIDBATCH_CASE", raising=False)
    else:  # a MATPOWER case through GRIDBATCH_CASE, as a user would point them at one
        path = shared_dir() / "cases" / f"{case}.m"
        if not path.exists():
            pytest.skip(f"{path} not found (set GRIDBATCH_SHARED)")
        monkeypatch.setenv("GRIDBATCH_CASE", str(path))
    # A kernel spec naming this very interpreter (a "python3" spec could be another Python).
    spec = tmp_path / "jupyter" / "kernels" / "gridbatch-test"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "gridbatch test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="gridbatch-test",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    if os.environ.get("GRIDBATCH_NOTEBOOK_OUT"):  # keep the executed notebook for a look
        nbformat.write(nb, pathlib.Path(os.environ["GRIDBATCH_NOTEBOOK_OUT"]) / name)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_cells_have_unique_ids(name):
    """nbformat 4.5 requires a unique id per cell (missing ones are a warning now, an error in
    later nbformat); an edit outside Jupyter can leave them out."""
    cells = json.loads((NOTEBOOKS / name).read_text())["cells"]
    ids = [c.get("id") for c in cells]
    assert None not in ids, f"cells without an id: {[i for i, c in enumerate(ids) if c is None]}"
    assert len(set(ids)) == len(ids)
