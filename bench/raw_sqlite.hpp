#pragma once
// The raw SQLite side of (b): the rows one durable task makes the journal write, inserted directly with
// the SQLite C API — WAL, synchronous=NORMAL, prepared statements, many tasks per transaction.

#include <cstdint>
#include <string>

#include "bench_common.hpp"
#include <vector>

#include <actors/eventlog/event.hpp>

namespace bench {

/// What one durable task writes, copied from a real journal so both sides write the same bytes:
/// its tasks row and its events (started, effect, effect, completed).
struct task_rows {
  actors::eventlog::task_record task;
  std::vector<actors::eventlog::event> events;
};

/// Inserts `tasks` copies of `rows` (fresh task ids; `random_ids` draws them like the engine does,
/// otherwise 1, 2, 3, ...) into a new database at `path` whose schema is the journal's (created by
/// opening it as a journal first). Per task: INSERT the tasks row, INSERT each event, then UPDATE the
/// task's status and finish time as the journal does for a `completed` event. `tasks_per_txn` tasks
/// share one transaction. Returns the time from the first BEGIN to the last COMMIT.
run_time raw_sqlite_insert(const std::string& path, const task_rows& rows, std::int64_t tasks,
                         std::int64_t tasks_per_txn, bool random_ids);

} // namespace bench
