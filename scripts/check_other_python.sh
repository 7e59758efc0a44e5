#!/usr/bin/env bash
# Builds the Python module against another interpreter and runs the pytest suite with it:
#   scripts/check_other_python.sh /path/to/python3 [EXTRA_PYTHONPATH]
# The interpreter needs its development headers, numpy and pytest (EXTRA_PYTHONPATH may point
# at them, e.g. /usr/lib/python3/dist-packages for an interpreter of Debian's Python version);
# pybind11 comes from its CMake package (pybind11-dev). Build directory: build/other-python.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:?usage: $0 /path/to/python3 [EXTRA_PYTHONPATH]}
extra=${2:-}
build_dir=build/other-python
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DGRIDBATCH_CUDA=OFF \
      -DPython_EXECUTABLE="$python" > /dev/null
cmake --build "$build_dir" -j"$(nproc)" --target _core gridbatch_cli
PYTHONPATH="$PWD/$build_dir/python${extra:+:$extra}" GRIDBATCH_CLI="$PWD/$build_dir/bin/gridbatch" \
  "$python" -m pytest -q -p no:cacheprovider python/tests
