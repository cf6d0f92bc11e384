#pragma once
// Internal: the journal's state. Locks, never nested the other way round:
//   mu_         guards the append queue, lsn counters, durability waiters and the failure (hot, held
//               briefly);
//   db_mu_      guards the writer's SQLite connection: the writer holds it for a whole transaction;
//               reads use it (per query) only where there are no reader connections;
//   readers_mu_ guards the idle reader connections: a read checks one out, queries without any journal
//               lock, and returns it, so reads run in parallel with each other and with the writer (WAL).
// The writer thread takes mu_ only between transactions and never holds it while calling callbacks.

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/eventlog/errc.hpp"
#include "actors/eventlog/event.hpp"
#include "actors/eventlog/journal.hpp"
#include "sqlite.hpp"

namespace actors::eventlog {

namespace internal {

/// Nanoseconds since the Unix epoch.
std::int64_t now_ns() noexcept;

/// Maps an SQLite result code to our errc: NOTADB → not_a_database, CORRUPT/CONSTRAINT → corrupt,
/// everything else (I/O, full, busy, cantopen, ...) → io_error. The message names `path` and `what`.
caf::error sqlite_error(sqlite3* db, int rc, const std::string& path, std::string_view what);

/// What a read-only journal watches of its file while it reads it as immutable.
struct file_state {
  bool wal = false; ///< a -wal exists (a writer has the journal open)
  std::uint64_t ino = 0, size = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  friend bool operator==(const file_state&, const file_state&) = default;
};

} // namespace internal

struct journal::impl {
  /// One queued append: an event, plus the task row when it comes from `append_task`.
  struct pending {
    lsn n = 0;
    event ev;
    std::unique_ptr<task_record> task; ///< A pointer keeps the common case (events) small in the queue.
    std::unique_ptr<divergence_record> div; ///< Set: this append is a divergence record, not an event.
    std::unique_ptr<route_record> route;    ///< Set: this append sets (or, with `erase`) clears a route.
    bool erase = false;
    std::uint64_t cancel = 0;               ///< Set: this append requests the cancellation of that task.
    std::unique_ptr<message_record> msg;    ///< Set: a message (and `ev` when ev.task != 0: its send).
    std::unique_ptr<supervision_record> sup;///< Set: a supervision row (or, with `erase`, a supervisor's
                                            ///< rows cleared).
    std::unique_ptr<effect_mark> mark;      ///< Set: a task's effect mark.
  };

  /// A registered durability callback.
  struct waiter {
    lsn n;
    durable_callback cb;
  };

  // --- configuration (immutable after open) ------------------------------------------------------
  std::string path_;       ///< The journal's file (a `file:` URI resolved), or ":memory:".
  std::string vfs_;        ///< journal_options::vfs
  bool read_only_ = false;
  /// A read-only open of a file that had no -wal (no writer): its connection reads the file as
  /// immutable, as long as `with_reads` finds the file as it was (`follow_file`).
  bool immutable_ = false;
  std::string wal_path_;          ///< Where a writer's -wal appears (set while immutable_).
  internal::file_state seen_;     ///< The file when the immutable connection was opened.
  bool has_schema_ = true;   ///< False only for a read-only open of a fresh (empty) file.
  int file_version_ = journal::schema_version; ///< Older only when opened read-only (not migrated).
  std::size_t max_batch_ = 8192;
  std::size_t max_queue_ = 65536; ///< 0 = unbounded

  /// The prepared queries of one connection.
  struct read_statements {
    internal::statement select_unfinished;
    internal::statement select_task;
    internal::statement select_events;
    internal::statement select_children;
    internal::statement select_tasks;
    internal::statement select_tail;
    internal::statement select_divergences;
    internal::statement select_routes;
    internal::statement select_counter;
    internal::statement select_cancels;
    internal::statement select_pending_messages;
    internal::statement select_max_message;
    internal::statement select_supervision;
    internal::statement select_start_key;
    internal::statement select_key_of_task;
    internal::statement select_effect_mark;
  };

  /// A read-only connection of its own, for reads off the writer's connection.
  struct reader {
    internal::connection db;
    read_statements st; ///< declared after the connection: destroyed first
  };

  // --- SQLite, guarded by db_mu_. Statements are declared after the connection: destroyed first. ---
  std::mutex db_mu_;
  internal::connection db_;
  internal::statement begin_;
  internal::statement commit_;
  /// `INSERT INTO events ... VALUES (...), (...), ...` with `multi_rows[i]` rows (and the same for
  /// tasks): a commit inserts its rows in as few statements as these sizes allow (one statement per row
  /// costs SQLite a VDBE run, cursor opens and seeks per row: ~30% of a durable task's journal time,
  /// bench/README.md).
  static constexpr std::array<int, 4> multi_rows{64, 16, 4, 1};
  std::array<internal::statement, multi_rows.size()> insert_tasks_;
  std::array<internal::statement, multi_rows.size()> insert_events_;
  /// The task rows of the commit being written and not inserted yet, in lsn order: inserted before
  /// any statement that updates a task row, and at the end of the commit.
  std::vector<const task_record*> commit_tasks_;
  std::vector<const event*> commit_events_; ///< The events of the commit being written, in lsn order.
  internal::statement finish_task_;
  internal::statement insert_divergence_;
  internal::statement upsert_route_;
  internal::statement delete_route_;
  internal::statement count_route_change_;
  internal::statement insert_cancel_;
  internal::statement count_cancel_;
  internal::statement insert_message_;
  internal::statement upsert_supervision_;
  internal::statement delete_supervision_;
  internal::statement restart_task_;
  internal::statement insert_start_key_;
  /// Effect marks, upserted like events are inserted: in multi-row statements at the end of a commit.
  std::array<internal::statement, multi_rows.size()> upsert_marks_;
  std::vector<const effect_mark*> commit_marks_; ///< The marks of the commit being written, in lsn order.
  read_statements reads_;

  // --- reader connections (file journals opened writable), guarded by readers_mu_ -------------------
  bool use_readers_ = false;
  std::mutex readers_mu_;
  std::vector<std::unique_ptr<reader>> idle_readers_;

  // --- append queue and durability, guarded by mu_ ------------------------------------------------
  std::mutex mu_;
  std::condition_variable work_cv_;     ///< Writer waits for appends or stop.
  std::condition_variable durable_cv_;  ///< `flush`, `await_durable` wait for durability or failure.
  std::condition_variable space_cv_;    ///< Producers wait for room in a full queue.
  std::thread::id writer_id_;           ///< The writer never blocks on its own queue.
  std::vector<pending> queue_;
  lsn last_lsn_ = 0;                    ///< Last lsn handed out.
  lsn durable_ = 0;                     ///< Published: every callback for lsn <= durable_ has run.
  /// Keyed by n; equal n in registration order (multimap inserts equal keys at the upper bound).
  /// O(log n) for the frequent out-of-order registrations (a task's first effect waits on its small
  /// creation lsn after others registered larger ones).
  std::multimap<lsn, durable_callback> waiters_;
  caf::error failed_;
  bool stopping_ = false;
  bool closed_ = false;                 ///< The writer has exited: nothing more becomes durable.
  commit_listener listener_;            ///< Called under mu_ after every commit, on failure and close.
  std::atomic<lsn> durable_atomic_{0};  ///< Last committed lsn, for lock-free `durable_lsn()`; set
                                        ///< before the callbacks run, so it may lead durable_.

  std::thread writer_;

  // --- background checkpoints (file journals opened writable), guarded by ckpt_mu_ -----------------
  // The writer's commits never checkpoint: its WAL hook (which replaces SQLite's auto-checkpoint) asks
  // the checkpointer thread, past `checkpoint_pages` frames, to copy the WAL back into the database on
  // a connection of its own — PASSIVE, beside the writer, which goes on committing. Only if the WAL
  // grows past `checkpoint_pages_max` (the checkpointer cannot catch up with a writer that never
  // pauses) does the writer checkpoint in its commit, as SQLite would.
  static constexpr int checkpoint_pages = 1000; ///< SQLite's auto-checkpoint default
  static constexpr int checkpoint_pages_max = 8 * checkpoint_pages;
  std::thread checkpointer_;
  std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  std::condition_variable ckpt_done_cv_; ///< after each checkpoint (journal::await_checkpoints)
  bool ckpt_wanted_ = false;
  bool ckpt_stop_ = false;
  /// Starts the checkpointer on `db` (a read-write connection to the journal) and hooks the writer's.
  void start_checkpointer(internal::connection db);
  void stop_checkpointer();
  /// sqlite3_wal_hook of the writer's connection: called after each commit with the WAL's size.
  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int pages);

  // --- counters, written by the writer only ------------------------------------------------------
  std::atomic<std::uint64_t> stat_appends_{0};
  std::atomic<std::uint64_t> stat_commits_{0};
  std::atomic<std::uint64_t> stat_commit_ns_{0};
  std::atomic<std::uint64_t> stat_checkpoints_{0};        ///< by the checkpointer (written there)
  std::atomic<std::uint64_t> stat_writer_checkpoints_{0}; ///< by the writer, past checkpoint_pages_max

  impl() = default;
  ~impl(); ///< Drains the queue and joins the writer.
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // --- open.cpp ----------------------------------------------------------------------------------
  static caf::expected<std::unique_ptr<impl>> open(const journal_options& opts);
  caf::error prepare_statements();

  // --- writer.cpp --------------------------------------------------------------------------------
  lsn enqueue(pending&& op);
  void when_durable(lsn n, durable_callback cb);
  caf::error flush();
  caf::error await_durable(lsn n);
  void start_writer();
  void stop_writer();
  void run_writer();
  caf::error commit(std::span<pending> ops);
  int write_one(pending& op);
  /// Inserts `commit_tasks_` in order (multi-row statements), then clears it.
  int write_tasks();
  /// Inserts `commit_events_` in order (multi-row statements), then clears it.
  int write_events();
  /// Upserts `commit_marks_` in order (multi-row statements; a later mark of a task wins), then clears it.
  int write_marks();
  void publish(lsn committed, std::vector<waiter>& scratch);
  void fail(caf::error err);

  caf::error prepare_reads(sqlite3* db, read_statements& st);
  /// A counter kept in the meta table (0 when absent).
  caf::expected<std::int64_t> read_counter(const char* key);

  // --- reads.cpp ---------------------------------------------------------------------------------
  /// A column every row of a keyed read must hold: damaged index pages can make SQLite return a row
  /// of another key, which the read reports as `corrupt` instead of handing it on.
  struct key_check {
    int column;
    std::uint64_t value;
    const char* name; // "task", "parent"
  };
  caf::expected<std::vector<task_record>> read_tasks(sqlite3* db, internal::statement& s,
                                                     const char* what,
                                                     std::optional<key_check> key = std::nullopt);
  /// The `corrupt` error for a row whose key column is not the one asked for.
  caf::error wrong_key(const char* table, std::int64_t rowid, const key_check& key,
                       std::uint64_t found) const;
  caf::expected<std::vector<std::pair<std::int64_t, event>>>
  read_events(sqlite3* db, internal::statement& s, const char* what);
  /// An idle reader connection, or a new one; nullptr where there are none (read-only or in-memory
  /// journals, or a reader cannot be opened): read through the writer's connection then.
  std::unique_ptr<reader> checkout_reader();
  void checkin_reader(std::unique_ptr<reader> r);
  /// Runs `f(db, statements)` on a reader connection, or on the writer's under db_mu_.
  /// On an immutable connection (`immutable_`) a read counts only if the file is as it was when the
  /// connection opened, before the read and after it: a writer that came (a -wal) or came and went (the
  /// file changed by its checkpoint) may have changed it under the read, and the read runs again.
  /// A read that found the journal damaged (`corrupt`) stops a writable journal from writing more:
  /// it fails as a failed commit does (`fail`), so nothing is written into a file known to be damaged.
  template <class F>
  auto with_reads(F f) {
    auto out = read_once(f);
    if constexpr (std::is_same_v<decltype(out), caf::error>)
      note_damage(out);
    else if (!out)
      note_damage(out.error());
    return out;
  }
  template <class F>
  auto read_once(F& f) {
    if (auto r = checkout_reader()) {
      auto out = f(r->db.get(), r->st);
      checkin_reader(std::move(r));
      return out;
    }
    std::lock_guard lk{db_mu_};
    for (int attempt = 0; immutable_; ++attempt) {
      if (auto err = follow_file(attempt >= 3))
        return decltype(f(db_.get(), reads_)){std::move(err)};
      if (!immutable_)
        break;
      auto out = f(db_.get(), reads_);
      if (observe() == seen_)
        return out;
    }
    return f(db_.get(), reads_);
  }
  /// The journal file and its -wal now. Reads no connection.
  internal::file_state observe() const;
  /// Under db_mu_, on an immutable connection: if the file changed since it opened (or `give_up`),
  /// replaces db_ and reads_ by a new immutable connection, or by a plain read-only one (for good)
  /// when a writer has the journal open or the file keeps changing.
  caf::error follow_file(bool give_up);
  /// Fails a writable journal for good if `err` says it is damaged (see with_reads).
  void note_damage(const caf::error& err);
  /// Set once the journal is known to be damaged: the writer commits nothing more.
  std::atomic<bool> damaged_{false};
  caf::error damage_; ///< what the read that set damaged_ found; guarded by mu_
  caf::error failed_or_damaged();
};

} // namespace actors::eventlog
