#!/usr/bin/env bash
# test.sh — installs dependencies, builds everything and runs the whole test suite.
#
#   scripts/test.sh            (from any directory; extra arguments go to ctest, e.g. -R journal)
#
# Environment: BUILD_DIR (default <repo>/build), BUILD_TYPE (default RelWithDebInfo),
# JOBS (default nproc), TEST_TIMEOUT seconds per test (default 300), ACTORS_SKIP_SETUP=1 to skip apt,
# CXX the C++ compiler (default: CMake's choice, g++ on Debian). With CXX=clang++-N the setup installs
# Debian's clang-N; CI runs `CXX=clang++-16 BUILD_DIR=<repo>/build-clang scripts/test.sh` as well.
# Exits non-zero if setup, configure, build or any test fails; prints how long each phase took.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

build_dir="${BUILD_DIR:-$repo/build}"
build_type="${BUILD_TYPE:-RelWithDebInfo}"
jobs="${JOBS:-$(nproc)}"
timeout="${TEST_TIMEOUT:-300}"
cxx="${CXX:-}"

# Phase timing, printed on exit whether or not we succeeded.
timings=()
phase_name=""
phase_start=0
phase() {
  local now
  now=$(date +%s)
  if [[ -n "$phase_name" ]]; then
    timings+=("$(printf '%-10s %4ds' "$phase_name" $((now - phase_start)))")
  fi
  phase_name="$1"
  phase_start=$now
  [[ -z "$phase_name" ]] || echo "test: == $phase_name"
}
summary() {
  local rc=$?
  phase ""
  echo "test: timings:"
  printf 'test:   %s\n' "${timings[@]}"
  if ((rc == 0)); then echo "test: OK"; else echo "test: FAILED (exit $rc)" >&2; fi
}
trap summary EXIT

phase setup
extra_packages=()
if [[ "$(basename "${cxx:-c++}")" =~ ^clang\+\+-([0-9]+)$ ]]; then
  extra_packages+=("clang-${BASH_REMATCH[1]}")
fi
"$repo/scripts/setup.sh" "${extra_packages[@]}"

phase configure
# A build dir configured with another generator cannot be reused: drop its cache.
if [[ -f "$build_dir/CMakeCache.txt" ]] &&
   ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build_dir/CMakeCache.txt"; then
  echo "test: $build_dir was configured with another generator; reconfiguring from scratch"
  rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
fi
compiler_args=()
if [[ -n "$cxx" ]]; then
  # A full path, as CMake keeps it in the cache: the same compiler named twice must not reset the cache.
  cxx_path="$(command -v "$cxx")" || { echo "test: C++ compiler '$cxx' not found" >&2; exit 1; }
  compiler_args+=("-DCMAKE_CXX_COMPILER=$cxx_path")
  echo "test: C++ compiler $cxx_path"
fi
cmake -S "$repo" -B "$build_dir" -G Ninja "${compiler_args[@]}" \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DACTORS_WARNINGS_AS_ERRORS=OFF \
  -DACTORS_BUILD_TESTS=ON

phase build
echo "test: building with $jobs job(s) in $build_dir"
cmake --build "$build_dir" -j "$jobs"

phase test
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j 2 --timeout "$timeout" "$@"
