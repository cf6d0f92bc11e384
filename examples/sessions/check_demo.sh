#!/usr/bin/env bash
# check_demo.sh SESSIONS_BINARY ENGINE_BINARY — runs `sessions demo` and checks the story: alice's state
# survives her crash (the items from before it are in her result), the message she crashed on is
# consumed, every item was saved exactly once, and `engine sup tree` shows the restart.
set -euo pipefail
sessions="$1"
engine="$2"
out="$("$sessions" demo --journal sessions-test.db)"
printf '%s\n' "$out"
fail() { echo "check_demo: $*" >&2; exit 1; }
grep -q '^  alice bought apples, pears, cheese$' <<<"$out" || fail "alice's cart lost state or items"
grep -q '^  bob bought bread$' <<<"$out" || fail "bob's cart is wrong"
grep -Eq "^  alice failed: .*cannot handle 'explode'" <<<"$out" || fail "the crash is not logged"
grep -Eq '^  restarted alice \(task [0-9a-f]{16}, resumed from its journal\)$' <<<"$out" ||
  fail "alice was not resumed from her journal"
for item in alice/apples alice/pears alice/cheese bob/bread; do
  grep -Eq "^  $item +1$" <<<"$out" || fail "$item was not saved exactly once"
done
tree="$("$engine" --journal sessions-test.db sup tree)"
printf '%s\n' "$tree"
grep -Eq '^supervisor carts +stopped' <<<"$tree" || fail "sup tree: the supervisor row"
grep -Eq 'alice +task [0-9a-f]{16} +cart +(stopped|completed) +restarts 1' <<<"$tree" ||
  fail "sup tree: alice's row with one restart"
json="$("$engine" --journal sessions-test.db --json sup tree)"
grep -q '"child": "alice"' <<<"$json" || fail "sup tree --json"
echo "check_demo: ok"
