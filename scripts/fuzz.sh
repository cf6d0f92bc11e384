#!/usr/bin/env bash
# fuzz.sh — builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan, and runs each for a while.
#
#   scripts/fuzz.sh                       (from any directory)
#   FUZZ_SECONDS=600 FUZZ_TARGETS="fuzz_payload fuzz_journal_rows" scripts/fuzz.sh
#
# Each target runs for FUZZ_SECONDS on a fresh copy of its seeds (fuzz/corpus/<target>) plus its known
# reproducers (fuzz/regressions/<target>), so a bug that is not fixed yet is reported at once; the
# committed corpus never grows. Prints one line per target and writes them to
# <build dir>/fuzz-summary.txt:
#
#   fuzz: <target> execs=<n> seconds=<s> result=ok|crash
#
# A crashing input is kept as <build dir>/fuzz-artifacts/<target>/crash-* (or oom-*, timeout-*, leak-*),
# with the target's log beside it. Exits non-zero if the build fails or any target crashed.
#
# Environment: FUZZ_SECONDS (default 60) per target; FUZZ_TARGETS (default: all); FUZZ_RSS_MB (default
# 2048, also the largest single allocation); FUZZ_TIMEOUT seconds for one input (default 25);
# FUZZ_WITH_REGRESSIONS=0 leaves the known reproducers out of the seeds (to look past a known bug);
# BUILD_DIR (default <repo>/build-fuzz); JOBS (default 2) build jobs; CXX_FUZZ (default clang++);
# ACTORS_SKIP_SETUP=1 skips apt (scripts/setup.sh and the clang packages).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$repo/build-fuzz}"
seconds="${FUZZ_SECONDS:-60}"
rss_mb="${FUZZ_RSS_MB:-2048}"
input_timeout="${FUZZ_TIMEOUT:-25}"
jobs="${JOBS:-2}"
cxx="${CXX_FUZZ:-clang++}"
all_targets=(fuzz_task_id fuzz_payload fuzz_journal_rows fuzz_journal_cli fuzz_routing_yaml fuzz_cli_args
             fuzz_routing_file fuzz_journal_path fuzz_journal_resume)
read -r -a targets <<<"${FUZZ_TARGETS:-${all_targets[*]}}"

# --- packages -------------------------------------------------------------------------------------
# setup.sh installs what is missing, clang and libFuzzer (clang's runtime libraries) included.
"$repo/scripts/setup.sh" clang libclang-rt-14-dev

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz: $cxx not found (install clang, or set CXX_FUZZ)" >&2
  exit 1
fi
# libFuzzer's runtime (libclang-rt-*-dev) must be there, or every link fails later with a long error.
probe_dir="$(mktemp -d "${TMPDIR:-/tmp}/actors-fuzz-probe.XXXXXX")"
trap 'rm -rf "$probe_dir"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe_dir/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" \
  >"$probe_dir/log" 2>&1; then
  echo "fuzz: $cxx cannot link a libFuzzer target (is libclang-rt-14-dev installed?):" >&2
  cat "$probe_dir/log" >&2
  exit 1
fi

# --- configure and build --------------------------------------------------------------------------
# The fuzz targets come with the top-level build once it has ACTORS_BUILD_FUZZERS; fuzz/CMakeLists.txt
# also works as a project of its own (it then adds the repository root without tests and tools).
if grep -q 'ACTORS_BUILD_FUZZERS' "$repo/CMakeLists.txt"; then
  source_dir="$repo"
else
  source_dir="$repo/fuzz"
fi
generator=()
if command -v ninja >/dev/null 2>&1; then
  generator=(-G Ninja)
fi
cache="$build_dir/CMakeCache.txt"
if [[ -f "$cache" ]]; then
  cached_source="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")"
  cached_generator="$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$cache")"
  wanted_generator="$([[ ${#generator[@]} -gt 0 ]] && echo Ninja || echo "$cached_generator")"
  if [[ "$cached_source" != "$source_dir" || "$cached_generator" != "$wanted_generator" ]]; then
    echo "fuzz: $build_dir was configured for $cached_source ($cached_generator); reconfiguring"
    rm -rf "$cache" "$build_dir/CMakeFiles"
  fi
fi
echo "fuzz: configuring $build_dir (source $source_dir)"
nice cmake -S "$source_dir" -B "$build_dir" "${generator[@]}" \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
  -DACTORS_BUILD_FUZZERS=ON \
  -DACTORS_BUILD_TESTS=OFF -DACTORS_BUILD_EXAMPLES=OFF -DACTORS_BUILD_BENCH=OFF -DACTORS_BUILD_TOOLS=OFF \
  >"$build_dir.configure.log" 2>&1 || { cat "$build_dir.configure.log" >&2; exit 1; }
rm -f "$build_dir.configure.log"
echo "fuzz: building ${targets[*]} (-j$jobs)"
nice cmake --build "$build_dir" --target "${targets[@]}" -j "$jobs"

# --- run ------------------------------------------------------------------------------------------
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
summary="$build_dir/fuzz-summary.txt"
: >"$summary"
failed=0
for t in "${targets[@]}"; do
  bin="$build_dir/fuzz/$t"
  [[ -x "$bin" ]] || bin="$build_dir/$t" # standalone fuzz/ project: targets at the top of the build
  if [[ ! -x "$bin" ]]; then
    echo "fuzz: $t was not built" >&2
    exit 1
  fi
  work="$build_dir/fuzz-corpus/$t"
  artifacts="$build_dir/fuzz-artifacts/$t"
  rm -rf "$work" "$artifacts"
  mkdir -p "$work" "$artifacts"
  seed_dirs=("$repo/fuzz/corpus/$t")
  [[ "${FUZZ_WITH_REGRESSIONS:-1}" == 0 ]] || seed_dirs+=("$repo/fuzz/regressions/$t")
  for dir in "${seed_dirs[@]}"; do
    if [[ -d "$dir" ]]; then
      find "$dir" -maxdepth 1 -type f ! -name 'README*' -exec cp {} "$work/" \;
    fi
  done
  # The journal targets write their per-input journal files here (tmpfs when there is one).
  shm_base=/dev/shm
  [[ -d "$shm_base" && -w "$shm_base" ]] || shm_base="${TMPDIR:-/tmp}"
  scratch="$(mktemp -d "$shm_base/actors-fuzz.$t.XXXXXX")"
  log="$artifacts/$t.log"
  echo "fuzz: running $t for ${seconds}s"
  start=$(date +%s)
  rc=0
  (cd "$artifacts" && FUZZ_WORK_DIR="$scratch" nice "$bin" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" \
    -timeout="$input_timeout" -print_final_stats=1 -artifact_prefix="$artifacts/" "$work") \
    >"$log" 2>&1 || rc=$?
  took=$(($(date +%s) - start))
  rm -rf "$scratch"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  if [[ -z "$execs" ]]; then
    # libFuzzer prints its final stats only when it ends normally; after a crash take the last status
    # line ("#1234 ...").
    execs="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')"
  fi
  execs="${execs:-0}"
  result=ok
  if ((rc != 0)) || compgen -G "$artifacts/crash-*" >/dev/null || compgen -G "$artifacts/oom-*" >/dev/null \
    || compgen -G "$artifacts/timeout-*" >/dev/null || compgen -G "$artifacts/leak-*" >/dev/null; then
    result=crash
    failed=1
  fi
  line="fuzz: $t execs=$execs seconds=$took result=$result"
  echo "$line"
  echo "$line" >>"$summary"
  if [[ "$result" == crash ]]; then
    grep -E 'ERROR: |SUMMARY: |runtime error: |what\(\): |fuzz_[a-z_]+: ' "$log" | head -n 8 | sed 's/^/fuzz:   /' >&2 || true
    for a in "$artifacts"/crash-* "$artifacts"/oom-* "$artifacts"/timeout-* "$artifacts"/leak-*; do
      [[ -e "$a" ]] || continue
      echo "fuzz:   input: $a" >&2
      echo "fuzz:   minimize: $bin -minimize_crash=1 -max_total_time=60 -exact_artifact_path=<out> $a" >&2
    done
    echo "fuzz:   log: $log" >&2
  fi
done

echo "fuzz: summary in $summary"
if ((failed)); then
  echo "fuzz: FAILED (a target crashed)" >&2
  exit 1
fi
echo "fuzz: OK"
