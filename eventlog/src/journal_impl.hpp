#pragma once
// Internal: the journal's state. Two locks, never nested the other way round:
//   mu_    guards the append queue, lsn counters, durability waiters and the failure (hot, held briefly);
//   db_mu_ guards the one SQLite connection: the writer holds it for a whole transaction, reads per query.
// The writer thread takes mu_ only between transactions and never holds it while calling callbacks.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
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

} // namespace internal

struct journal::impl {
  /// One queued append: an event, plus the task row when it comes from `append_task`.
  struct pending {
    lsn n = 0;
    event ev;
    std::unique_ptr<task_record> task; ///< A pointer keeps the common case (events) small in the queue.
    std::unique_ptr<divergence_record> div; ///< Set: this append is a divergence record, not an event.
  };

  /// A registered durability callback.
  struct waiter {
    lsn n;
    durable_callback cb;
  };

  // --- configuration (immutable after open) ------------------------------------------------------
  std::string path_;
  bool read_only_ = false;
  bool has_schema_ = true;   ///< False only for a read-only open of a fresh (empty) file.
  int file_version_ = journal::schema_version; ///< Older only when opened read-only (not migrated).
  std::size_t max_batch_ = 8192;
  std::size_t max_queue_ = 65536; ///< 0 = unbounded

  // --- SQLite, guarded by db_mu_. Statements are declared after the connection: destroyed first. ---
  std::mutex db_mu_;
  internal::connection db_;
  internal::statement begin_;
  internal::statement commit_;
  internal::statement insert_task_;
  internal::statement insert_event_;
  internal::statement finish_task_;
  internal::statement select_unfinished_;
  internal::statement select_task_;
  internal::statement select_events_;
  internal::statement select_children_;
  internal::statement select_tasks_;
  internal::statement select_tail_;
  internal::statement insert_divergence_;
  internal::statement select_divergences_;

  // --- append queue and durability, guarded by mu_ ------------------------------------------------
  std::mutex mu_;
  std::condition_variable work_cv_;     ///< Writer waits for appends or stop.
  std::condition_variable durable_cv_;  ///< `flush` waits for durability or failure.
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

  // --- counters, written by the writer only ------------------------------------------------------
  std::atomic<std::uint64_t> stat_appends_{0};
  std::atomic<std::uint64_t> stat_commits_{0};
  std::atomic<std::uint64_t> stat_commit_ns_{0};

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
  void start_writer();
  void stop_writer();
  void run_writer();
  caf::error commit(std::span<pending> ops);
  int write_one(pending& op);
  void publish(lsn committed, std::vector<waiter>& scratch);
  void fail(caf::error err);

  // --- reads.cpp ---------------------------------------------------------------------------------
  caf::expected<std::vector<task_record>> read_tasks(internal::statement& s, const char* what);
  caf::expected<std::vector<std::pair<std::int64_t, event>>> read_events(internal::statement& s,
                                                                         const char* what);
};

} // namespace actors::eventlog
