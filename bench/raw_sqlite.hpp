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
/// How the raw side orders its rows.
enum class row_order {
  sequential, ///< all rows of a task together, ids increasing (SQLite's ceiling)
  random_ids, ///< as sequential, with random 64-bit ids (b-tree inserts all over the tables)
  pipelined,  ///< each transaction holds one step of several windows of tasks, ids increasing: the
              ///< order of concurrent tasks that each wait for durability between their steps
  multi_row,  ///< as sequential, but each transaction inserts its events with multi-row INSERTs of
              ///< 64, 16, 4 and 1 rows after its task rows and updates: the journal writer's technique
};

run_time raw_sqlite_insert(const std::string& path, const task_rows& rows, std::int64_t tasks,
                         std::int64_t tasks_per_txn, row_order order);

/// (f) raw side: reads every event of `tasks` from the journal file at `path` the way a reader must — one
/// prepared `SELECT ... FROM events WHERE task = ? ORDER BY seq` per task, every column copied out —
/// on a read-only connection. Returns the time and sets `events` to the rows read.
run_time raw_sqlite_read_events(const std::string& path, const std::vector<std::uint64_t>& tasks,
                                std::int64_t& events);

} // namespace bench
