"""gridbatch: batched power-system solvers (DC and AC power flow, sensitivities, N-1 screening,
battery dispatch) on CPU and CUDA, with numpy arrays in and out.

Setup
-----
The CMake build (GRIDBATCH_BUILD_PYTHON=ON, the default) assembles the package in
``<build>/python/gridbatch``: use it with ``PYTHONPATH=<build>/python``, or install it with
``cmake --install <build> --prefix ~/.local`` (lands in the user site-packages of the Python CMake
found, Debian's ``/usr/bin/python3`` by default; pass ``-DPython_EXECUTABLE=...`` for another one
that has numpy and pybind11).

Conventions
-----------
* Arrays of scenarios are scenario-major: shape ``(S, n)``, one row per scenario (``pd`` is
  ``(S, n_bus)`` MW, results' ``va`` is ``(S, n_bus)`` degrees, ``pf`` ``(S, n_branch)`` MW, ...).
  A single scenario may be given as ``(n,)``.
* No copies where the layout allows: a C-contiguous float64 input is read in place by C++, and
  result arrays are views of the result object's own memory (``arr.base`` keeps it alive). Any
  other input (another dtype, Fortran order, a strided slice, a list) is converted once with
  ``numpy.ascontiguousarray(x, dtype=numpy.float64)``.
* Units are MATPOWER's: MW, MVAr, p.u., degrees, kV. Bus and branch arguments of the
  sensitivity functions are table rows; ``Network.internal_bus`` maps bus numbers to rows.
* ``backend=`` takes ``"cpu"``, ``"cuda"`` or ``"auto"`` (CUDA when usable, else CPU).
* Errors raise :class:`gridbatch.Error` subclasses with the C++ message: :class:`InputError`
  (also a ``ValueError``), :class:`FileError` (also an ``OSError``),
  :class:`BackendUnavailableError` and :class:`DeviceError` (also ``RuntimeError``).
  Numerical non-convergence is not an error: it is the per-scenario ``status`` of a result.
* The GIL is released while C++ solves, so other Python threads keep running. Ctrl-C interrupts
  a long call between its chunks: of scenarios (power flows, dispatch, smooth_dispatch), of
  outages (N-1 screening, AC contingencies), of re-plans (receding_horizon) and between the
  stages of a study; the chunk under way finishes first.
"""

from . import _core
from ._core import *  # noqa: F401,F403  (the compiled API; see __init__.pyi)

__version__ = _core.__version__
__all__ = [name for name in dir(_core) if not name.startswith("_")]
