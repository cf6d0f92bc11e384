#pragma once
// The lock that makes an engine the only one serving its journal.
//
// An engine that resumes unfinished tasks (engine_config::resume) owns its journal: a second such
// engine on the same file, in this process or another, would resume the first one's running tasks and
// run their effects twice, and draw the same task ids. The owner holds an exclusive flock(2) on the
// journal's file itself for as long as it lives, so every name of the file (a symlink, a hard link, a
// relative path, a `file:` URI) leads to the same lock; the kernel drops it when the process dies,
// kill -9 included, so a restarted engine never finds a stale lock. The owner's pid, for the error
// message, comes from /proc/locks. An engine with resume off (the CLI's replays) takes it only when it
// first starts a task: task and message ids of two engines starting tasks on one journal would
// collide. DESIGN-NOTES §23. Internal.

#include <atomic>
#include <mutex>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace actors::detail {

struct locked_file;

class engine_lock {
public:
  /// What the lock is taken for: its error message says why a second engine is refused.
  enum class purpose {
    resume, ///< an engine that resumes the journal's tasks, at start-up
    start,  ///< an engine with resume off, at its first start of a task
  };

  /// Takes the lock of the journal named `journal` (a path or a `file:` URI, read with
  /// `eventlog::resolve_journal_name` and `vfs`) without waiting. A journal that does not exist yet is
  /// created empty (0 bytes, which the journal's open takes for a new database) so that there is a file
  /// to lock; `remove_created_journal` takes it away again if the open fails. In-memory journals need
  /// no lock (an empty one is returned).
  /// @returns the lock, or `errc::journal_in_use` naming the journal and the owner's pid when another
  ///          engine holds it; `journal_failure` when the file cannot be created, opened or locked;
  ///          the journal's `invalid_name` for a refused `file:` URI.
  static caf::expected<engine_lock> acquire(const std::string& journal, const std::string& vfs,
                                            purpose why);

  /// If `acquire` created the journal's file, removes it again (with any -wal, -shm or -journal file
  /// beside it): for an engine whose journal failed to open, so that the failure leaves nothing behind.
  void remove_created_journal();

  engine_lock() = default; ///< Holds nothing (in-memory journals).
  engine_lock(engine_lock&& other) noexcept;
  engine_lock& operator=(engine_lock&& other) noexcept;
  engine_lock(const engine_lock&) = delete;
  engine_lock& operator=(const engine_lock&) = delete;
  ~engine_lock(); ///< Releases the lock.

private:
  engine_lock(locked_file* file, std::string created) : file_(file), created_(std::move(created)) {}
  void release() noexcept;
  locked_file* file_ = nullptr; ///< this process's descriptor of the journal file (engine_lock.cpp)
  std::string created_;         ///< the path of the file `acquire` created, "" if it existed
};

/// An engine's claim on its journal: takes the engine_lock once — at start-up for an engine that
/// resumes (`purpose::resume`), else before its first start of a task — and holds it for the engine's
/// life. Thread-safe; claimed() is one atomic load.
class journal_claim {
public:
  /// Takes the lock of `journal` unless this engine holds it already (or, `journal_enabled` false,
  /// needs none). Errors: engine_lock::acquire's (`journal_in_use` while another engine serves the
  /// journal: retried at the next call, since the other engine may stop).
  caf::error claim(bool journal_enabled, const std::string& journal, const std::string& vfs,
                   engine_lock::purpose why);
  bool claimed() const noexcept { return claimed_.load(std::memory_order_acquire); }
  /// engine_lock::remove_created_journal (a failed open leaves no file the lock created).
  void remove_created_journal() { lock_.remove_created_journal(); }

private:
  engine_lock lock_;
  std::atomic<bool> claimed_{false};
  std::mutex mx_;
};

} // namespace actors::detail
