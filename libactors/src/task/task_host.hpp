#pragma once
// task_host — what a task needs from the engine it runs in: the components it uses (journal,
// mailboxes, completion registry, effect handlers, worker pool, loggers, counters, ids) and the
// decisions and actions that belong to the engine (routing a call, finding a version, spawning an
// actor, delivering an end, admission places, cancels, shadow runs). The engine implements it
// (engine/hosts.hpp), so task/ and replay/ include nothing of engine/ and the engine is the only folder
// that knows all of them. Every member may be called from any task's thread; implementations are
// thread-safe as the components they return are. Internal.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "actors/router.hpp"
#include "actors/task_id.hpp"
#include "runtime/sharded_counter.hpp"
#include "task/version_ref.hpp"

namespace spdlog {
class logger;
}
namespace actors {
struct engine_config;
struct effect_handler;
class effects;
namespace eventlog {
class journal;
}
} // namespace actors

namespace actors::detail {

class completion_registry;
struct completion;
struct outcome;
class mailboxes;
class task_runtime;
class work_count;
class worker_pool;
struct recording;

/// A finished primary task whose candidate is to shadow-run against its journal.
struct shadow_run {
  std::uint64_t task = 0;
  std::uint64_t root = 0;
  std::string primary;                       ///< the version that served the task
  version_ref candidate;                     ///< the version that shadow-runs (held until it has)
  /// The primary's tree as it ran (in memory), or nullptr: read it from the journal.
  std::shared_ptr<recording> recorded;
};

/// Counts of what the engine's tasks did (engine_stats). Bumped by every thread that runs a step of a
/// task: one cache line per thread.
struct task_counters {
  sharded_counter started, resumed, completed, failed, effects_executed, effects_replayed;
};

class task_host {
public:
  // --- the components a task uses (each guards its own state) -------------------------------------
  virtual const engine_config& config() const noexcept = 0;
  /// The journal, or nullptr when journaling is off.
  virtual eventlog::journal* journal() const noexcept = 0;
  /// The handler of effect `name` (shared: a module's keeps the module's code loaded), or nullptr.
  virtual std::shared_ptr<const effect_handler> handler(std::string_view name) const = 0;
  /// Every version the engine has now, retired ones included (for replays and lookups by name;
  /// routing goes through route()).
  virtual std::shared_ptr<const function_snapshot> functions() const = 0;
  virtual mailboxes& mail() noexcept = 0;
  virtual completion_registry& completions() noexcept = 0;
  virtual worker_pool& pool() noexcept = 0;
  /// In-flight work, for drain(): a task's pending shadow run or journal callback counts here.
  virtual work_count& work() noexcept = 0;
  virtual task_counters& counters() noexcept = 0;
  virtual spdlog::logger& log() noexcept = 0;      ///< the engine's own messages
  virtual spdlog::logger& task_log() noexcept = 0; ///< lines from ctx::log
  /// A fresh task (or message) id, greater than every id journaled before.
  virtual task_id new_id() noexcept = 0;
  /// A seed for a task's random generator.
  virtual std::uint64_t new_seed() noexcept = 0;

  // --- the engine's decisions and actions ---------------------------------------------------------
  /// Routes a call of `fn` in the tree rooted at `root` under the policies in force, holding the
  /// versions it chose. Errors: unknown function or version (or every version retired).
  virtual caf::expected<routed_version> route(std::string_view fn, std::uint64_t root,
                                              std::string_view pinned) const = 0;
  /// Spawns the actor that runs `rt` (a shadow run's on the shadow runs' actor system) and counts it in
  /// flight unless `counted` already.
  virtual caf::actor spawn(std::unique_ptr<task_runtime> rt, bool counted) = 0;
  /// Delivers a task's end: to `parent` (a call_done for the call at `parent_seq`) when a running
  /// parent called it, else to the completion registry; counts it out of flight. Exactly once per task.
  virtual void finished(task_id id, outcome out, const caf::actor& parent, std::uint32_t parent_seq,
                        completion* entry) = 0;
  /// The task gives its admission place up (see admission); `pass_on` false: not to a waiting task.
  virtual void release_place(bool pass_on) = 0;
  /// A task that gave its place up to wait takes one again on waking.
  virtual void retake_place() = 0;
  /// Sends a cancel to task `id` if it runs here with a registry entry. Returns whether it did.
  virtual bool cancel_running(task_id id) = 0;
  /// Whether a message to `id` can be accepted (it runs here, is supervised, or is unfinished).
  virtual bool task_alive(std::uint64_t id) = 0;
  /// Whether `id` is run by a supervisor (its mailbox outlives a run).
  virtual bool supervised(std::uint64_t id) const = 0;
  /// Starts the shadow run `r` of a task whose end is durable (shadow_runner::launch).
  virtual void launch_shadow(shadow_run r) = 0;
  /// Runs `f` (which creates an actor system or spawns an actor), then gives the calling thread back
  /// the CAF logger it held (engine_core::keeping_thread_logger).
  virtual void keeping_thread_logger(const std::function<void()>& f) = 0;

protected:
  ~task_host() = default;
};

} // namespace actors::detail
