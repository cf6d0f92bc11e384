#!/usr/bin/env bash
# selftest.sh CRASHLOOP — proves that `actors_crashloop verify` fails when the promises are broken: a
# journaled effect executed again, a change applied twice or lost, a task missing, a corrupt journal.
set -euo pipefail
bin="$1"
dir="$(mktemp -d "${TMPDIR:-/tmp}/actors-crashloop-selftest-XXXXXX")"
trap 'rm -rf "$dir"' EXIT

"$bin" run --dir "$dir/base" --kills 5 --seed 7 --keep >"$dir/run.out" 2>"$dir/run.err"
tasks=$(sed -n 's/.*"tasks": \([0-9]*\).*/\1/p' "$dir/run.out")
[[ -n "$tasks" ]] || { echo "selftest: no task count in: $(cat "$dir/run.out")"; exit 1; }
"$bin" verify --dir "$dir/base" --tasks "$tasks" >/dev/null

# expect_violation NAME SQL_ON_SIDE_STORE EXPECTED_TEXT [TASKS] [FILE (side.db)]
expect_violation() {
  local name="$1" sql="$2" text="$3" n="${4:-$tasks}" file="${5:-side.db}"
  rm -rf "$dir/$name" && cp -r "$dir/base" "$dir/$name"
  # The journal is edited through its own VFS (`actors_crashloop sql`): the sqlite3 shell would break its
  # page checksums, and verify would report a damaged journal instead of the violation.
  if [[ -n "$sql" && "$file" == journal.db ]]; then
    "$bin" sql "$dir/$name/$file" "$sql"
  elif [[ -n "$sql" ]]; then
    sqlite3 "$dir/$name/$file" "$sql"
  fi
  local rc=0
  "$bin" verify --dir "$dir/$name" --tasks "$n" >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
  if [[ $rc -ne 1 ]] || ! grep -q -- "$text" "$dir/$name.err"; then
    echo "selftest: $name: expected exit 1 and '$text', got exit $rc:"; cat "$dir/$name.err"; exit 1
  fi
  echo "selftest: $name detected"
}

expect_violation duplicate \
  "INSERT INTO executions(task, seq, kind, value) SELECT task, seq, kind, value FROM executions LIMIT 1" \
  "ran again"
expect_violation applied_twice_or_lost "DELETE FROM applied WHERE rowid = (SELECT min(rowid) FROM applied)" \
  "the side store applied"
expect_violation orphan "INSERT INTO executions(task, seq, kind, value) VALUES(1, 99, 'debit', 0)" \
  "its result is not in the journal"
expect_violation missing_task "" "was never started" $((tasks + 1))
expect_violation message_lost \
  "DELETE FROM events WHERE rowid = (SELECT min(rowid) FROM events WHERE kind = 13)" \
  "was never received" "$tasks" journal.db
expect_violation message_twice \
  "INSERT INTO events(task, seq, kind, failed, name, ref, request, result, text, ts)
   SELECT task, 100000, kind, failed, name, ref, request, result, text, ts FROM events
   WHERE rowid = (SELECT min(rowid) FROM events WHERE kind = 13)" \
  "received message .* twice" "$tasks" journal.db
expect_violation wrong_version \
  "UPDATE tasks SET version = CASE version WHEN 'v1' THEN 'v2' ELSE 'v1' END
   WHERE id = (SELECT min(id) FROM tasks WHERE function = 'transfer')" \
  "returned 'transfer" "$tasks" journal.db
# A damaged journal: bytes overwritten in the middle of the file fail its page checksums.
name=damaged_journal
rm -rf "$dir/$name" && cp -r "$dir/base" "$dir/$name"
size=$(stat -c %s "$dir/$name/journal.db")
printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' |
  dd of="$dir/$name/journal.db" bs=1 seek=$(( (size / 8192) * 4096 + 2000 )) conv=notrunc status=none
rc=0
"$bin" verify --dir "$dir/$name" --tasks "$tasks" >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
if [[ $rc -eq 0 ]] || ! grep -q -- "journal" "$dir/$name.err"; then
  echo "selftest: $name: expected a failure naming the journal, got exit $rc:"; cat "$dir/$name.err"; exit 1
fi
echo "selftest: $name detected (exit $rc): $(head -c 300 "$dir/$name.err")"
echo "selftest: OK"
