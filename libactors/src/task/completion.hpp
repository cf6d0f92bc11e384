#pragma once
// Completion registry: how a finished root task's outcome reaches whoever waits for it (a thread blocked
// in engine::wait), and how a resumed parent finds a resumed child. Children started by a running parent
// bypass it: their outcome goes straight to the parent's actor (see engine_core::finished).

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_addr.hpp>
#include <caf/error.hpp>

#include "actors/router.hpp"
#include "actors/task_id.hpp"
#include "task/version_ref.hpp"

namespace actors::detail {

/// How a task ended.
enum class outcome_state : std::uint8_t {
  completed = 0, ///< Output in `payload` (bytes), journaled.
  failed = 1,    ///< Task code threw; `payload` is the message. Journaled.
  aborted = 2,   ///< Stopped without a journaled end (nondeterminism, journal failure...): `error`.
};

struct outcome {
  outcome_state state = outcome_state::completed;
  std::string payload; ///< Output bytes, or the failure message.
  std::string text;    ///< Readable rendering of the output or failure (only when journaling).
  caf::error error;    ///< For aborted tasks.
};

struct completion {
  /// What the task runs: names and output type, owned by the engine (it outlives the version, which
  /// may be retired and unloaded while this entry is kept for a later wait).
  std::shared_ptr<const version_signature> signature;
  caf::actor_addr actor;                 ///< The task's actor (weak), while it runs; guarded by mx.
  caf::actor_addr exited;                ///< The last actor of the task that quit; guarded by mx.
  bool cancel_pending = false;           ///< Cancelled before it had an actor; guarded by mx.
  /// Names `a` as the task's running actor, unless it has quit already (a task can end before its
  /// starter gets here). Returns true if a cancel came before the task had an actor (it waited for
  /// admission, or was just spawned): the caller sends it now.
  [[nodiscard]] bool set_actor(const caf::actor_addr& a) {
    std::lock_guard guard{mx};
    if (a != exited)
      actor = a;
    return std::exchange(cancel_pending, false);
  }
  /// Called by the task's actor `a` as it quits: it no longer names the running task (a supervisor
  /// taking a task over, or a cancel, must not mistake it for one).
  void actor_quits(const caf::actor_addr& a) {
    std::lock_guard guard{mx};
    exited = a;
    if (actor == a)
      actor = caf::actor_addr{};
  }
  std::mutex mx;
  std::condition_variable cv;
  bool done = false;
  outcome result;
  /// Run by a supervisor that may restart it: an end is held (`held`) instead of reported, until the
  /// supervisor restarts the task (the same entry waits for the next run) or lets it go (`release`).
  bool supervised = false;
  bool held = false;
  std::vector<std::function<void(const outcome&)>> callbacks;
};

class completion_registry {
public:
  /// `retain_bound`: how many finished, never-waited-for outcomes to keep (oldest dropped first); 0
  /// keeps them all (the journal is off, so they could not be read back from it).
  explicit completion_registry(std::size_t retain_bound = 0) : retain_bound_(retain_bound) {
    for (auto& s : shards_) // a burst of starts does not rehash the first few thousand times
      s.entries.reserve(256);
  }

  void set_retain_bound(std::size_t n) noexcept { retain_bound_ = n; }

  /// Registers a running task.
  std::shared_ptr<completion> create(task_id id, std::shared_ptr<const version_signature> signature);

  /// The entry of `id`, or nullptr (never registered, already waited for, or dropped).
  std::shared_ptr<completion> find(task_id id) const;

  /// Calls `cb` with the outcome of `id` once it finishes (inline if it has), then forgets `id`.
  /// Returns false if `id` is unknown.
  bool on_complete(task_id id, std::function<void(const outcome&)> cb);

  /// Records the outcome and notifies waiters (a supervised task's outcome is held, see completion).
  /// `entry`: `id`'s entry if the caller holds it (saves the lookup), else nullptr.
  void complete(task_id id, outcome out, completion* entry = nullptr);

  /// The entry of a task a supervisor runs again: the existing one, its waiters kept, or a new one.
  std::shared_ptr<completion> restart(task_id id, std::shared_ptr<const version_signature> signature);

  /// Marks `id` supervised (its ends are held) or, with false, lets it go: a held end is reported now.
  void set_supervised(task_id id, bool on);

  /// Whether `id` is run by a supervisor now (its mailbox outlives a run; messages to it are accepted).
  bool supervised(task_id id) const;

  /// Blocks until `id`'s entry `c` is done, returns its outcome and forgets `id` (a later wait reads
  /// the journal).
  outcome wait(task_id id, completion& c);

private:
  static constexpr std::size_t shard_count = 16;
  struct shard {
    mutable std::mutex mx;
    std::unordered_map<task_id, std::shared_ptr<completion>> entries;
    std::deque<task_id> retained;
  };
  shard& shard_of(task_id id) const noexcept {
    return shards_[(id.value() ^ (id.value() >> 17)) % shard_count];
  }
  void forget(task_id id);
  /// Reports `c`'s outcome to its waiters.
  void publish(task_id id, completion& c);

  std::size_t retain_bound_;
  mutable std::array<shard, shard_count> shards_;
  std::atomic<bool> any_supervised_{false}; ///< Set by the first set_supervised(id, true).

};

} // namespace actors::detail
