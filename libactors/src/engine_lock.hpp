#pragma once
// The lock that makes an engine the only one serving its journal.
//
// An engine that resumes unfinished tasks (engine_config::resume) owns its journal: a second such
// engine on the same file, in this process or another, would resume the first one's running tasks and
// run their effects twice, and draw the same task ids. The owner holds an exclusive flock(2) on
// "<journal>-engine.lock" (holding the owner's pid, for the error message) for as long as it lives;
// the kernel drops it when the process dies, kill -9 included, so a restarted engine never finds a
// stale lock. An engine with resume off (the CLI's replays) takes it only when it first starts a task:
// task and message ids of two engines starting tasks on one journal would collide. Internal.

#include <string>

#include <caf/expected.hpp>

namespace actors::detail {

class engine_lock {
public:
  /// The lock file of `journal_path`, or "" for journals that have none (":memory:", "file:" URIs).
  static std::string lock_path(const std::string& journal_path);

  /// What the lock is taken for: its error message says why a second engine is refused.
  enum class purpose {
    resume, ///< an engine that resumes the journal's tasks, at start-up
    start,  ///< an engine with resume off, at its first start of a task
  };

  /// Takes the lock of `journal_path` without waiting: an `errc::journal_in_use` error naming the
  /// journal, the lock file and the owner's pid when another engine holds it; `journal_failure` when
  /// the lock file cannot be opened.
  static caf::expected<engine_lock> acquire(const std::string& journal_path, purpose why);

  engine_lock() = default; ///< Holds nothing (journals without a lock file).
  engine_lock(engine_lock&& other) noexcept;
  engine_lock& operator=(engine_lock&& other) noexcept;
  engine_lock(const engine_lock&) = delete;
  engine_lock& operator=(const engine_lock&) = delete;
  ~engine_lock(); ///< Releases the lock (the file stays, empty of meaning without its flock).

private:
  explicit engine_lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

} // namespace actors::detail
