#!/usr/bin/env bash
# setup.sh — installs the Debian (bookworm) packages libactors needs to build, test and run its examples.
#
#   scripts/setup.sh [EXTRA_PACKAGE...]
#
# Idempotent: asks dpkg which packages are missing and touches apt only if some are; a second run
# installs nothing and returns in well under a second. Needs root for apt (uses sudo when not root).
# Set ACTORS_SKIP_SETUP=1 to skip the check entirely (e.g. on a non-Debian machine with the deps at hand).
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config git
  libcaf-dev libboost-serialization-dev libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev catch2 libcli11-dev nlohmann-json3-dev libssl-dev
  libyaml-cpp-dev libcpp-httplib-dev libbenchmark-dev
  "$@" # extra packages a caller needs too (scripts/fuzz.sh: clang and libFuzzer; scripts/test.sh
       # with CXX=clang++-16: clang-16)
)

if [[ "${ACTORS_SKIP_SETUP:-0}" == 1 ]]; then
  echo "setup: ACTORS_SKIP_SETUP=1, not checking packages"
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "setup: dpkg-query not found; this script supports Debian/Ubuntu only." >&2
  echo "setup: install the equivalents of: ${packages[*]}" >&2
  echo "setup: then rerun with ACTORS_SKIP_SETUP=1" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != installed ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${#missing[@]} missing package(s): ${missing[*]}"

export DEBIAN_FRONTEND=noninteractive
apt_cmd=(apt-get)
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    apt_cmd=(sudo DEBIAN_FRONTEND=noninteractive apt-get)
  else
    echo "setup: not root and sudo is unavailable; run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# Keep apt's chatter in a log and show it only if something fails.
log="$(mktemp "${TMPDIR:-/tmp}/actors-setup.XXXXXX")"
trap 'rm -f "$log"' EXIT
run_apt() {
  if ! "${apt_cmd[@]}" "$@" >>"$log" 2>&1; then
    echo "setup: '${apt_cmd[*]} $*' failed; its output:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}
run_apt update -qq
run_apt install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}"

# Verify: apt may "succeed" yet leave a package unconfigured.
still_missing=()
for pkg in "${missing[@]}"; do
  status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == installed ]] || still_missing+=("$pkg")
done
if ((${#still_missing[@]} > 0)); then
  echo "setup: still not installed after apt-get: ${still_missing[*]}" >&2
  exit 1
fi
echo "setup: installed ${missing[*]}"
