#pragma once
// actors::eventlog::journal — the SQLite journal. It owns one SQLite connection and one writer thread.
// Appends from any thread are queued; the writer commits everything queued in one transaction (group
// commit) and then reports durability through callbacks. Reads are synchronous and see every committed
// append.
//
// Thread safety: every member function may be called from any thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/eventlog/errc.hpp"
#include "actors/eventlog/event.hpp"

namespace actors::eventlog {

/// Log sequence number: position of an append in the journal's global append order. 0 means "nothing".
using lsn = std::uint64_t;

/// Called once the append it waited for is durable, or with the write error that prevents it.
/// Runs on the writer thread (or inline in `when_durable`): keep it short, never block (never `flush`),
/// never throw. It may append and call `when_durable`.
using durable_callback = std::function<void(const caf::error&)>;

/// Told after every commit that everything up to `durable` is durable; called once more with an error
/// when the journal fails or closes (nothing more will become durable). Runs on the writer thread with
/// the journal's queue lock held: keep it to a few instructions, never append, never call back into the
/// journal.
using commit_listener = std::function<void(lsn durable, const caf::error&)>;

/// How `journal::open` treats the file.
struct journal_options {
  std::string path;             ///< A file path, ":memory:", or a `file:` URI (`resolve_journal_name`).
  bool synchronous_full = false;///< PRAGMA synchronous=FULL instead of NORMAL (WAL makes NORMAL crash-safe
                                ///< for the database; FULL also survives power loss).
  std::size_t max_batch = 8192; ///< Most appends committed in one transaction.
  /// Back-pressure: an append that finds this many appends queued (not yet taken by the writer) blocks
  /// until the writer takes them, so producers faster than the disk cannot grow memory without bound.
  /// 0 = unbounded.
  std::size_t max_queue = 65536;
  bool read_only = false;       ///< Open for reading only (tools); never creates or alters the file.
                                ///< Appends are refused: their callbacks receive `closed`.
  /// Test seam: PRAGMA max_page_count applied after open, so a test can make the journal "disk full"
  /// deterministically. Never set outside tests.
  std::optional<int> max_page_count_for_tests;
  /// The SQLite VFS the journal's writing connection uses (sqlite3_vfs_register'd by name; empty: SQLite's
  /// default). An encrypting or fault-injecting VFS (the storage-fault tests) wraps the default one.
  std::string vfs;
  /// Opened for writing, an existing journal is checked before anything is written to it: every page
  /// the journal uses is read and its checksum verified (schema 9 and later), or PRAGMA quick_check
  /// runs (older journals, without checksums). A damaged journal is refused with `errc::corrupt`
  /// naming the file and the damage, and left as it is. Costs a read of the whole file: 4.0 s for 10 M
  /// events (1.86 GB, from disk; 0.55 s of it CPU), 23 s of quick_check without checksums
  /// (bench/journal_integrity_bench). Off: damage is found only when a damaged page is read.
  bool verify_on_open = true;
};

/// What a journal's name designates (`resolve_journal_name`).
struct journal_location {
  bool memory = false;     ///< ":memory:" or "file::memory:": a journal in memory, gone when closed.
  std::string file;        ///< The file's path (empty for memory): the name itself, or the path a `file:`
                           ///< URI names, percent-decoded. Never itself a URI.
  bool must_exist = false; ///< The URI said `mode=rw`: the file is opened, never created.
};

/// Resolves a journal name the way `journal::open` and the engine's lock read it: a file path,
/// ":memory:", or an SQLite `file:` URI (`file:x.db`, `file:/abs`, `file:///abs`,
/// `file://localhost/abs`; `%HH` escapes decoded, a `#fragment` ignored), whose file is then opened
/// and checked like any path. A URI may carry `mode=rwc`, `mode=rw` (the file must exist), `mode=ro`
/// (read-only opens only), `cache=private` and `vfs=NAME` (only the VFS the journal is configured
/// with: `vfs`, or SQLite's default when that is empty). Every other parameter is refused, since each
/// would defeat the journal's checks, locking or durability: `immutable`, `nolock`, `cache=shared`,
/// `mode=memory` (use ":memory:"), `modeof`, `psow` and any unknown one. Thread-safe.
/// @param writing false for a read-only open (`journal_options::read_only`).
/// @returns the location, or `invalid_name` naming the parameter or the part of the URI refused
///          (another host, a bad escape, no file), or `not_found` for an empty name.
caf::expected<journal_location> resolve_journal_name(const std::string& name, const std::string& vfs,
                                                     bool writing);

/// Filter for `journal::list_tasks`.
struct task_filter {
  std::optional<std::string> function;
  std::optional<task_status> status;
  std::int64_t since = 0;       ///< Only tasks created at or after this time (ns since epoch); 0 = all.
  std::size_t limit = 0;        ///< 0 = no limit. Newest first.
};

/// Counters of the writer since open (for `engine::stats`, tools and benchmarks).
struct journal_stats {
  std::uint64_t appends = 0;   ///< appends committed
  std::uint64_t commits = 0;   ///< transactions committed (group commits)
  std::uint64_t commit_ns = 0; ///< wall time spent inside those transactions (BEGIN .. COMMIT)
  std::uint64_t checkpoints = 0;        ///< WAL checkpoints by the checkpointer thread, beside the writer
  std::uint64_t writer_checkpoints = 0; ///< WAL checkpoints inside a commit (the checkpointer fell behind;
                                        ///< counted also when it met the checkpointer's running)
};

/// The journal file. Create with `open`; destroying it flushes pending appends and stops the writer.
class journal {
public:
  /// Current schema version written into new journals (PRAGMA user_version).
  /// History: 1 — tasks, events, meta; 2 — tasks.route, divergences; 3 — routes; 4 — cancel_requests;
  /// 5 — messages, supervision; 6 — start_keys; 7 — unfinished tasks in a partial index instead of an
  /// index on every task's status (older journals are migrated on a writable open, read as they are
  /// on a read-only one); 8 — effect_marks; 9 — page checksums: a journal created at schema 9 reserves
  /// 8 bytes per page for a checksum that every read verifies (journals migrated from older schemas have
  /// none; they are checked with PRAGMA quick_check when opened for writing). An older libactors refuses
  /// schema 9, so no writer that does not keep the checksums writes into such a journal.
  static constexpr int schema_version = 9;
  /// PRAGMA application_id that marks a file as a libactors journal ("ACTR").
  static constexpr std::int32_t application_id = 0x41435452;

  /// Opens or creates the journal at `opts.path` (a `file:` URI is resolved to its file first, and the
  /// file checked like any path). A read-only open needs no write access and creates nothing beside the
  /// file: without a -wal (no writer) it reads the file as immutable, and changes to a plain read-only
  /// connection, which sees the writer's commits, as soon as a -wal appears.
  /// @returns the journal, or an error: `not_a_database` (file is not SQLite), `foreign_database` (an
  ///          SQLite file with tables that is not a libactors journal), `newer_schema` (written by a newer
  ///          libactors), `invalid_name` (a refused `file:` URI, a file with more
  ///          than one hard link), `not_found` (a read-only open, or
  ///          `mode=rw`, of a missing file), `corrupt` (a damaged journal opened for writing: see
  ///          verify_on_open; or one that lacks its tables), `io_error`. On any error the file is left
  ///          exactly as it was. Reads and commits that meet a damaged page later fail with `corrupt`
  ///          naming the page.
  [[nodiscard]] static caf::expected<std::unique_ptr<journal>> open(const journal_options& opts);

  /// The name of the SQLite VFS through which libactors reads and writes journals: `base` (a registered
  /// VFS; empty: SQLite's default) with page checksums (schema 9). A program that writes into a
  /// journal with SQLite directly must open it through this VFS (sqlite3_open_v2's last argument):
  /// any other writer — the sqlite3 shell included, which also writes when it checkpoints a WAL left
  /// by a crash — leaves pages whose checksums no longer match, and libactors then refuses the journal
  /// as damaged. Reading with any SQLite is safe (`sqlite3 -readonly`). Registers the VFS on first use
  /// (thread-safe). Returns "" if `base` is not registered.
  [[nodiscard]] static std::string sqlite_vfs(const std::string& base = {});

  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Queues the creation of `rec` in the tasks table together with its `started` event (seq 0) carrying
  /// `input` (serialized) and `text`. A `created` of 0 is set to the current time (also the event's ts).
  /// Returns the append's lsn. A task id must be appended once: a duplicate fails the journal (`corrupt`).
  /// A non-empty `rec.start_key` is kept for `find_start_key` in the same transaction (a key already
  /// there keeps its first task: the engine checks before it starts).
  lsn append_task(const task_record& rec, std::string input, std::string text);

  /// Queues `ev`. `completed` and `failed` events also set the task's status and finish time in the same
  /// transaction. A `ts` of 0 is set to the current time. Returns the append's lsn.
  lsn append(event ev);

  /// Queues a divergence record (shadow runs). A `ts` of 0 is set to the current time.
  lsn append_divergence(divergence_record d);

  /// Queues setting `r` (replacing the route of the same function and root) and counts a change of the
  /// routes (`routes_version`). An `updated` of 0 is set to the current time.
  lsn set_route(route_record r);

  /// Queues removing the route of (`function`, `root`), if any, and counts a change of the routes.
  lsn clear_route(std::string function, std::uint64_t root);

  /// Queues a request to cancel `task` (and its call tree), for whichever engine runs or resumes it, and
  /// counts it (`cancels_version`). Requests are kept; a repeated one is a no-op.
  lsn request_cancel(std::uint64_t task);

  /// Queues message `m` and, when `send.task` is not 0, its sender's `send` event: both commit in the
  /// same transaction, so a resumed sender never sends a journaled message twice.
  lsn append_message(message_record m, event send);

  /// Queues replacing the supervision row of (`r.supervisor`, `r.child`).
  lsn put_supervision(supervision_record r);

  /// Queues removing every supervision row of supervisor `name` (it stopped for good).
  lsn clear_supervision(std::string name);

  /// Queues `m` as task `m.task`'s effect mark, replacing its earlier one. The engine marks each effect
  /// before its handler runs (and waits until the mark is durable), so an engine that resumes the task
  /// after a crash knows the handler of the effect at the end of its journal was started, and how often.
  lsn mark_effect(effect_mark m);

  /// Calls `cb` once every append with lsn <= `n` is durable (inline if it already is), or with the
  /// write error if the journal has failed.
  void when_durable(lsn n, durable_callback cb);

  /// Installs (or, with an empty function, removes) the one commit listener. It is first called at
  /// once, with the current durable lsn (and the failure, if the journal has failed). Removing it
  /// waits for a call in progress, so the listener's target may be destroyed right after.
  void set_commit_listener(commit_listener fn);

  /// Blocks until every append queued so far is durable. Returns the write error if any, `closed` if
  /// the journal is read-only, `wrong_thread` on the writer thread (inside a durability callback or the
  /// commit listener, where it would wait for itself).
  [[nodiscard]] caf::error flush();

  /// Blocks until every append with lsn <= `n` (an lsn an append returned) is durable. Many threads
  /// may wait at once: they share one condition variable, woken once per commit, so concurrent waiters
  /// cost one group commit, not one each. Returns at once if `n` already is durable. Errors: the write
  /// error once the journal has failed (the append may or may not be in the file), `closed` if the
  /// journal is read-only or closed before `n` became durable, `wrong_thread` on the writer thread.
  [[nodiscard]] caf::error await_durable(lsn n);

  /// The highest lsn known durable.
  lsn durable_lsn() const noexcept;

  /// The first write error, if the journal has failed (a failed journal refuses further appends:
  /// their callbacks receive the error). Empty while healthy.
  caf::error failure() const;

  // --- reads (see every committed append) --------------------------------------------------------

  /// Every task whose status is `running`, oldest first.
  [[nodiscard]] caf::expected<std::vector<task_record>> unfinished_tasks();

  /// The largest task id in the journal (as stored: the uint64 bit pattern compared as int64), or 0 if
  /// there are no tasks. Engines hand out new ids above it.
  [[nodiscard]] caf::expected<std::uint64_t> max_task_id();

  /// The task with id `id`, or an empty optional if there is none.
  [[nodiscard]] caf::expected<std::optional<task_record>> find_task(std::uint64_t id);

  /// The events of task `id` in seq order.
  [[nodiscard]] caf::expected<std::vector<event>> events(std::uint64_t id);

  /// The children of task `id` (tasks whose parent is `id`), in parent_seq order.
  [[nodiscard]] caf::expected<std::vector<task_record>> children(std::uint64_t id);

  /// Tasks matching `filter`, newest first.
  [[nodiscard]] caf::expected<std::vector<task_record>> list_tasks(const task_filter& filter);

  /// Divergence records of `function` (all functions when empty), newest first, at most `limit`
  /// (0 = all).
  [[nodiscard]] caf::expected<std::vector<divergence_record>> divergences(std::string_view function,
                                                                          std::size_t limit = 0);

  /// The routes set at run time, by function then root (empty before schema 3).
  [[nodiscard]] caf::expected<std::vector<route_record>> routes();

  /// Counts changes of the routes (0: never changed). Cheap: engines poll it to notice a change made by
  /// another process.
  [[nodiscard]] caf::expected<std::int64_t> routes_version();

  /// Tasks whose cancellation was requested, by id.
  [[nodiscard]] caf::expected<std::vector<std::uint64_t>> cancel_requests();

  /// Counts cancel requests (0: none). Engines poll it, as `routes_version`.
  [[nodiscard]] caf::expected<std::int64_t> cancels_version();

  /// Messages to `target` it has not received (no `receive` event of its refers to them), by id.
  [[nodiscard]] caf::expected<std::vector<message_record>> pending_messages(std::uint64_t target);

  /// The task started with start key `key` (engine::start with actors::start_key), if any (none before
  /// schema 6).
  [[nodiscard]] caf::expected<std::optional<std::uint64_t>> find_start_key(std::string_view key);

  /// The start key task `task` was started with, if any. Scans the start keys (they are indexed by
  /// key, not by task): for tools such as `task show`, not for hot paths.
  [[nodiscard]] caf::expected<std::optional<std::string>> start_key_of(std::uint64_t task);

  /// Task `task`'s effect mark (see mark_effect), if any (none before schema 8).
  [[nodiscard]] caf::expected<std::optional<effect_mark>> effect_mark_of(std::uint64_t task);

  /// The largest message id, or 0.
  [[nodiscard]] caf::expected<std::uint64_t> max_message_id();

  /// Every supervision row, by supervisor then position (empty before schema 5).
  [[nodiscard]] caf::expected<std::vector<supervision_record>> supervision();

  /// A task's history as it runs now: its events in seq order, where a `restarted` event (ref = seq)
  /// drops the events before it whose seq is >= ref (the rewound part of an earlier run), itself kept.
  static std::vector<event> history(std::vector<event> events);

  /// Events of all tasks with global order > `after_rowid`, at most `limit` (for `log --follow`).
  /// Returns pairs of (rowid, event); `limit` 0 returns nothing.
  [[nodiscard]] caf::expected<std::vector<std::pair<std::int64_t, event>>>
  tail(std::int64_t after_rowid, std::size_t limit);

  /// Writer counters so far; appends / commits is the average group-commit batch.
  journal_stats stats() const noexcept;

  /// Blocks until the checkpointer thread has completed `n` WAL checkpoints since open, or `limit`
  /// passed; returns whether it had. For tests and tools (a file journal opened writable checkpoints
  /// beside its writer once ~1,000 WAL pages have piled up).
  bool await_checkpoints(std::uint64_t n, std::chrono::milliseconds limit) const;

  /// The journal's file: the path it was opened with, or the file its `file:` URI names.
  const std::string& path() const noexcept;

private:
  struct impl;
  explicit journal(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace actors::eventlog
