#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the main job: the data-centre grid study with its
# defaults (150 MW training campus, 168 Megapack-class units, one hour at 1 s, 4 scenarios, on the
# built-in 500/161 kV network). Results and plots go to out/study (or $1). Extra arguments after
# the first are passed to `gridbatch study` (see `gridbatch study --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir=${GRIDBATCH_BUILD_DIR:-build/release}
out=${1:-out/study}
shift || true
"$build_dir/bin/gridbatch" study --out "$out" "$@"
