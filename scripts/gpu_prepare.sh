#!/usr/bin/env bash
# Gets a GPU run ready on this machine (no GPU needed), so that the lent machine's few minutes go
# to tests and benchmarks instead of a build and missing packages there:
#   1. builds build/gpu: CUDA for sm_90 (H100/H200), no MPI, no Python, no examples; the tests,
#      the command line and the benchmark programs;
#   2. stages what a run needs in build/gpu-run (bin/, tests/, lib/): the programs, the library,
#      and the shared libraries they need from outside glibc, the C++ runtime and CUDA (KLU and
#      the SuiteSparse parts it uses), so that the GPU image needs none of Debian's packages;
#   3. copies ../shared/cases and ../shared/refs into shared/ (git ignores it; it travels with
#      the checkout, ../shared does not);
#   4. downloads into .debs/ (git ignores it; 2.6 MB) the Debian packages a build there would
#      need, for the fallback below.
# Then one call on the lent machine, carrying the staged build and the packages:
#   run(command="bash scripts/gpu_run.sh", carry=["build/gpu-run", ".debs"], timeout_s=560)
# A binary built here (Debian 12, glibc 2.36, CUDA 13.0) runs on a newer glibc with the same
# CUDA runtime; where it does not, `scripts/gpu_run.sh build all` builds there instead, against
# the carried packages (unpacked under /tmp, never into /).
#
#   scripts/gpu_prepare.sh                 prepare
#   scripts/gpu_prepare.sh --fingerprint   print the sources' fingerprint (gpu_run.sh compares it
#                                          with the staged build's before using that)
set -euo pipefail
cd "$(dirname "$0")/.."

# What the build is made of: every source, header and CMake file, by content.
fingerprint() {
  find CMakeLists.txt cmake src include cuda tests benchmarks -type f \( -name '*.cpp' -o \
    -name '*.hpp' -o -name '*.cu' -o -name '*.cuh' -o -name '*.h' -o -name 'CMakeLists.txt' -o \
    -name '*.cmake' -o -name '*.in' \) -print0 | LC_ALL=C sort -z | xargs -0 sha256sum |
    sha256sum | cut -c1-16
}
if [ "${1:-}" = --fingerprint ]; then
  fingerprint
  exit 0
fi

build=build/gpu
stage=build/gpu-run
archs=${GRIDBATCH_CUDA_ARCHS:-90}
targets=(gridbatch_tests gridbatch_cli bench_dc_cuda bench_ac_cuda bench_dispatch_cuda bench_dc
  bench_smooth_dispatch)

command -v nvcc >/dev/null || export PATH="/usr/local/cuda/bin:$PATH"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DGRIDBATCH_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="$archs" -DGRIDBATCH_MPI=OFF -DGRIDBATCH_BUILD_PYTHON=OFF \
  -DGRIDBATCH_BUILD_EXAMPLES=OFF
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/tests" "$stage/lib"
cp "$build"/bin/* "$stage/bin/"
cp "$build/tests/gridbatch_tests" "$stage/tests/"
cp -L "$build/src/libgridbatch.so.0" "$stage/lib/"
# The libraries every system has (glibc's, the C++ runtime) and CUDA's stay behind.
if ldd "$stage"/bin/* "$stage/tests/gridbatch_tests" | grep 'not found'; then
  echo "gpu_prepare: libraries not found (above)" >&2
  exit 1
fi
ldd "$stage"/bin/* "$stage/tests/gridbatch_tests" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' |
  sort -u |
  { grep -Ev '/(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s)\.so|^/usr/local/cuda|/libgridbatch\.so' || true; } |
  while read -r lib; do cp -L "$lib" "$stage/lib/"; done
{
  echo "sm_$archs, built $(date -u '+%Y-%m-%d %H:%M UTC') from $(git rev-parse --short HEAD)$(
    git diff --quiet HEAD || echo ' with local changes')"
  fingerprint
} >"$stage/prebuilt-for-gpu"

[ ! -d shared ] || chmod -R u+w shared  # ../shared is read-only, and so were the copies
rm -rf shared
mkdir -p shared
cp -r --no-preserve=mode ../shared/cases ../shared/refs shared/

# Eigen, GoogleTest, Google Benchmark and KLU with what KLU links, for a build on the GPU machine.
mkdir -p .debs
if ! (cd .debs && apt-get download libeigen3-dev libgtest-dev libbenchmark-dev \
  libbenchmark1debian libsuitesparse-dev libklu1 libamd2 libcolamd2 libbtf1 \
  libsuitesparseconfig5) >/tmp/gridbatch-debs.log 2>&1; then
  echo "gpu_prepare: apt-get download failed (/tmp/gridbatch-debs.log); a build on the GPU" \
    "machine would need its own packages"
fi

echo "gpu_prepare: $stage ($(head -1 "$stage/prebuilt-for-gpu")), libraries: $(ls "$stage/lib" | tr '\n' ' ')"
echo "gpu_prepare: travels $(du -sh --exclude=.git --exclude=build --exclude=out . | cut -f1) of" \
  "checkout and shared/, $(du -sh "$stage" | cut -f1) staged (64 MiB at most in all)"
echo 'gpu_prepare: now run(command="bash scripts/gpu_run.sh", carry=["build/gpu-run", ".debs"],' \
  'timeout_s=560)'
