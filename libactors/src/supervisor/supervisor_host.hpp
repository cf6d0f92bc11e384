#pragma once
// supervisor_host — what a supervisor needs from the engine that runs it: starting, taking over,
// restarting and letting go of child tasks, the journal, a logger, seeds and the actor system. The
// engine implements it (engine_supervisor_host, engine/hosts.hpp), so supervisor/ includes nothing of engine/ and
// the engine calls down into supervisors only. Every member may be called from any supervisor's
// thread; implementations are thread-safe. Internal.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "actors/supervision.hpp"
#include "actors/task_id.hpp"

namespace caf {
class actor_system;
}
namespace spdlog {
class logger;
}
namespace actors::eventlog {
class journal;
}

namespace actors::detail {

struct supervision_state;

class supervisor_host {
public:
  /// Starts a task for `spec` (a task child), supervised from the start (its ends are held for the
  /// supervisor). `link` is called with the new id just before the task row is appended, once nothing
  /// can fail any more: the supervisor journals its link to the child there, so that no child row is
  /// durable without its link. Errors: unknown function or version, wrong input type, a failed journal.
  virtual caf::expected<std::pair<task_id, caf::actor>>
  start_child(const supervision::child_spec& spec, const std::function<void(task_id)>& link) = 0;

  /// The actor of task `id` if it runs in this engine (resumed at start-up from an earlier engine's
  /// journal), now held for its new supervisor; empty if it does not run here.
  virtual caf::actor take_over(task_id id) = 0;

  /// What restart_child returns: the new run's actor, and whether it started from its input.
  struct restarted_child {
    caf::actor actor;
    bool fresh = false;
  };
  /// Runs the ended (or stopped) task `id` again under the same id, resumed from its history (or, with
  /// `fresh` or for a task that completed, from its input); `why` is journaled with the restart.
  /// Errors: unknown_task, unknown_version (its version is not registered), the journal's.
  virtual caf::expected<restarted_child> restart_child(task_id id, bool fresh, const std::string& why) = 0;

  /// Task `id` is no longer restarted by its supervisor: an end held for it is reported now, and its
  /// mailbox closes unless `still_running`.
  virtual void release_child(task_id id, bool still_running) = 0;

  /// Spawns a supervisor actor with `spawn` on the engine's actor system (keeping the calling thread's
  /// CAF logger, see engine_core::keeping_thread_logger) and returns it.
  virtual caf::actor spawn_actor(const std::function<caf::actor(caf::actor_system&)>& spawn) = 0;

  /// The engine's journal, or nullptr when journaling is off.
  virtual eventlog::journal* journal() noexcept = 0;
  /// The engine's own logger.
  virtual spdlog::logger& log() noexcept = 0;
  /// A seed for a supervisor's back-off jitter.
  virtual std::uint64_t seed() noexcept = 0;
  /// What the engine knows of its supervisors (guarded by its own mutex).
  virtual supervision_state& supervisors() noexcept = 0;

protected:
  ~supervisor_host() = default;
};

} // namespace actors::detail
