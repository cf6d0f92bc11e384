#!/usr/bin/env bash
# shop.sh — builds and runs the flagship example (examples/shop) in demo mode.
#
#   scripts/shop.sh              runs `shop demo`
#   scripts/shop.sh ARGS...      runs `shop ARGS...` instead (e.g. `task list`)
#
# The example runs in <build>/shop-run, so its journal (an SQLite file) lands there and later runs
# (e.g. `scripts/shop.sh task list`) see the same history. Environment: BUILD_DIR, BUILD_TYPE, JOBS,
# ACTORS_SKIP_SETUP=1 as for test.sh.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

build_dir="${BUILD_DIR:-$repo/build}"
build_type="${BUILD_TYPE:-RelWithDebInfo}"
jobs="${JOBS:-$(nproc)}"

"$repo/scripts/setup.sh"

if [[ -f "$build_dir/CMakeCache.txt" ]] &&
   ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build_dir/CMakeCache.txt"; then
  echo "shop: $build_dir was configured with another generator; reconfiguring from scratch"
  rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
fi

echo "shop: configuring ($build_type) in $build_dir"
cmake -S "$repo" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DACTORS_WARNINGS_AS_ERRORS=OFF \
  -DACTORS_BUILD_EXAMPLES=ON >/dev/null

echo "shop: building target shop with $jobs job(s)"
cmake --build "$build_dir" -j "$jobs" --target shop

shop_bin="$build_dir/examples/shop/shop"
if [[ ! -x "$shop_bin" ]]; then
  echo "shop: expected the example binary at $shop_bin, but it is not there" >&2
  exit 1
fi

run_dir="$build_dir/shop-run"
mkdir -p "$run_dir"
cd "$run_dir"
if (($# == 0)); then
  set -- demo
fi
echo "shop: running '$shop_bin $*' in $run_dir"
exec "$shop_bin" "$@"
