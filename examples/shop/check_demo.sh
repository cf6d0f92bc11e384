#!/usr/bin/env bash
# check_demo.sh SHOP_BINARY — runs `shop demo` end to end (in the working directory) and checks what it
# must show: every page served, the journal printed, and the shadow test of lookupUser — v2 (logs, then
# calls v1) matches v1 on every request, v3 (formats names differently) diverges on every request.
set -euo pipefail
shop="$1"
rm -f shop-test.db shop-test.db-wal shop-test.db-shm
out="$("$shop" demo --journal shop-test.db --requests 6)"
printf '%s\n' "$out"
fail() { echo "check_demo: $*" >&2; exit 1; }
grep -q '^request 6/6 ' <<<"$out" || fail "the sixth page is missing"
grep -q '^Journal of request 1 ' <<<"$out" || fail "the journal of request 1 is missing"
grep -Eq '^  lookupUser +v1 +v2 +6 +6 +0$' <<<"$out" || fail "v2 should match v1 on all 6 shadow runs"
grep -Eq '^  lookupUser +v1 +v3 +6 +0 +6$' <<<"$out" || fail "v3 should diverge on all 6 shadow runs"
grep -Eq '^  candidate output \{[0-9]+, "[A-Za-z]+, [A-Za-z]+"' <<<"$out" ||
  fail "the divergence should show v3's 'family, given' name"
echo "check_demo: ok"
