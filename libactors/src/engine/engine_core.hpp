#pragma once
// engine_core — what the tasks of one engine share: its configuration, function table and effects,
// and the components that own the engine's state — the journal and the claim on it, the routing
// state, admission, task ids, keyed starts, the completion registry, mailboxes, supervisors, shadow
// runs, the worker pool and the CAF actor system, loggers and counters. Each component guards its own
// state (its header says how); engine_core itself adds the few operations that span several of them
// (starting a root task, delivering a task's end, cancelling). DESIGN-NOTES "Map of libactors/src".
// Internal.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/logger.hpp>
#include <spdlog/logger.h>

#include "actors/effects.hpp"
#include "actors/engine.hpp"
#include "actors/eventlog/journal.hpp"
#include "actors/router.hpp"
#include "actors/routing.hpp"
#include "engine/admission.hpp"
#include "task/completion.hpp"
#include "engine/effect_table.hpp"
#include "engine/engine_lock.hpp"
#include "engine/function_table.hpp"
#include "engine/keyed_starts.hpp"
#include "engine/module_registry.hpp"
#include "engine/routing_state.hpp"
#include "engine/hosts.hpp"
#include "engine/task_ids.hpp"
#include "task/mailbox.hpp"
#include "replay/replay_session.hpp"
#include "replay/shadow_runner.hpp"
#include "runtime/sharded_counter.hpp"
#include "runtime/work_count.hpp"
#include "runtime/worker_pool.hpp"

namespace actors::detail {

class task_runtime;
class invoker;

class replay_session;
struct supervision_state;

/// Router errors become engine errors (unknown_function, unknown_version...) with the same message.
caf::error from_router(const caf::error& err);

/// A type-erased start input (engine::start's argument, a supervised child's spec).
struct erased_input {
  const void* value = nullptr;
  const std::type_info* type = nullptr;
  std::optional<std::string> (*encode)(const void* value, const std::type_info& target) = nullptr;
  std::string (*render)(const void* value) = nullptr;
};

struct engine_core {
  /// Constructs the components; threads, the journal and the actor system come later (engine's
  /// start-up steps), so a failed start-up stops only what it started.
  explicit engine_core(engine_config config = {}, router r = {}, effects e = {});
  /// Calls shutdown(): safe wherever the engine's construction stopped (DESIGN-NOTES §28).
  ~engine_core();

  /// Stops the core's threads in the one safe order, whatever of them exists: detaches the journal's
  /// commit listener (which calls into the pool), joins the worker pool, stops the actor systems, then
  /// flushes and closes the journal. Members are not left to the declaration order: the pool is
  /// declared after the journal, so it would be destroyed first while the journal's writer still calls
  /// it. Needs every task drained (or none started). Idempotent.
  void shutdown() noexcept;

  // --- what the engine was built with (immutable once it runs) ------------------------------------
  engine_config cfg;
  /// The live function table: every version, added and retired while the engine runs.
  function_table functions;
  /// The live effect handlers: the program's and those of loaded modules.
  effect_table handlers;
  std::shared_ptr<spdlog::logger> log;      ///< the engine's own messages
  std::shared_ptr<spdlog::logger> task_log; ///< lines from ctx::log

  // --- components ----------------------------------------------------------------------------------
  /// Held by an engine that resumes tasks (from start-up) or has started one: the only one serving
  /// its journal. Declared before the journal so that it is released after the journal has closed.
  journal_claim claim;
  std::unique_ptr<eventlog::journal> journal; ///< nullptr when journaling is off
  routing_state routing{*this};
  task_ids ids;
  completion_registry completions;
  mailboxes mail;
  admission admitted{*this, cfg.max_running_tasks};
  keyed_starts keyed{*this};
  /// The modules loaded into this engine (their versions are in `functions`, their handlers in
  /// `handlers`).
  module_registry modules{*this};
  /// Supervisors of this engine (supervisor/), and what they may ask of it.
  std::unique_ptr<supervision_state> supervisors;
  engine_supervisor_host supervision{*this};
  /// In-flight tasks, shadow runs and their pending work, for drain().
  work_count work;
  std::unique_ptr<worker_pool> pool;
  std::unique_ptr<caf::actor_system_config> system_cfg;
  std::unique_ptr<caf::actor_system> system;
  task_counters stats;
  /// What tasks (task/) and replays and shadow runs (replay/) may ask of this engine.
  engine_task_host tasks{*this};
  shadow_runner shadows{tasks};

  /// Takes the journal's lock unless this engine holds it already (journal_claim::claim with this
  /// engine's journal). Errors: `journal_in_use`, journal_failure.
  caf::error claim_journal(engine_lock::purpose why = engine_lock::purpose::start);

  /// Routes a call of `fn` in the tree rooted at `root` under the policies in force, against the live
  /// function table, holding the versions it chose.
  caf::expected<routed_version> route(std::string_view fn, std::uint64_t root,
                                      std::string_view pinned) const {
    return functions.route(*routing.table(), fn, root, pinned);
  }

  /// Whether `id` is run by a supervisor (which may restart it): its mailbox outlives a run.
  bool supervised(std::uint64_t id) const { return completions.supervised(task_id{id}); }
  /// Whether a message to `id` can be accepted: the task runs here (or is supervised), or the journal
  /// has it unfinished (it resumes, here or in another engine on the file, and reads its mailbox then).
  bool task_alive(std::uint64_t id);
  /// Empty if task `id` is known: in this engine's registry or in the journal.
  /// Errors: unknown_task naming it, journal_failure.
  caf::error check_known_task(task_id id);

  // --- starts (starts.cpp) -------------------------------------------------------------------------
  /// Starts a root task of `fn` (routed; `pinned` if not empty): journals it, registers its completion
  /// and spawns it. Errors: unknown function or version, wrong input type, a failed journal.
  /// `supervised`: its ends are held for its supervisor (completion::supervised) from the start.
  /// `key`: the caller's start key, journaled with the task row (see keyed_starts); `created`: set to
  /// the lsn of the task row (0 with the journal off). `before_journal`: called with the new id just
  /// before the task row is appended, once nothing can fail any more — a supervisor journals its link
  /// to the child there, so that (appends commit in order) no child row is durable without its link.
  caf::expected<std::pair<task_id, caf::actor>>
  start_root(std::string_view fn, std::string_view pinned, const erased_input& in,
             bool supervised = false, std::string_view key = {}, eventlog::lsn* created_lsn = nullptr,
             const std::function<void(task_id)>& before_journal = {});

  /// A root start routed and checked, not journaled yet: start_root's first half (a batch start
  /// prepares every task before it journals any, so a bad input journals nothing).
  struct prepared_root {
    eventlog::task_record rec;
    std::shared_ptr<const invoker> fn;
    version_ref version;
    std::string input; ///< serialized
    std::string text;  ///< rendered, for the started event
    version_ref shadow;
  };
  /// Draws the id, routes and encodes the input. Errors: start_root's; nothing is journaled.
  caf::expected<prepared_root> prepare_root(std::string_view fn, std::string_view pinned,
                                            const erased_input& in, std::string_view key = {});
  /// start_root's second half: journals the task row, registers its completion and spawns (or queues)
  /// it. Cannot fail (a failed journal drops the append; the task then stops at its first append).
  std::pair<task_id, caf::actor> launch_root(prepared_root p, bool supervised,
                                             eventlog::lsn* created_lsn = nullptr,
                                             const std::function<void(task_id)>& before_journal = {});

  /// Blocks the calling thread until every append up to lsn `n` is durable (at once with the journal
  /// off, or for `n` 0): what lets engine::start, start_batch and send acknowledge. Waits on the
  /// journal's condition variable, shared by all waiting callers (one group commit serves them all).
  /// Errors: journal_failure naming the journal file, `what` ("task 0x... of 'f'") and the cause.
  caf::error await_durable(eventlog::lsn n, const std::function<std::string()>& what);

  /// Runs the ended (or stopped) task `id` again under the same id (restart.cpp; supervisors reach it
  /// through engine_supervisor_host::restart_child):
  /// journals a `restarted` event and resumes the task from its history — up to its end; for a task
  /// that failed, up to the message it failed on (consumed, as OTP drops it) or the failed effect or
  /// call it failed at (retried) — or, with `fresh` or for a task that completed, from its input.
  struct restarted_task {
    caf::actor actor;
    bool fresh = false; ///< started from its input
  };
  caf::expected<restarted_task> restart_task(task_id id, bool fresh, const std::string& why);

  /// Spawns the actor that runs `rt` on CAF's scheduler (a shadow run's on the shadow runs' system)
  /// and counts it in flight (unless `counted` already, as a task that waited for admission is).
  caf::actor spawn(std::unique_ptr<task_runtime> rt, bool counted = false);

  /// Names `actor` as the running actor of the task of `entry` (for cancels), and sends it a cancel
  /// that came before it had one.
  void name_actor(completion& entry, const caf::actor& actor);

  // --- cancels (cancels.cpp) -----------------------------------------------------------------------
  /// Sends a cancel to the running task `id` if it runs in this engine with a registry entry (roots,
  /// resumed tasks), or runs it now if it waits for admission. Returns whether it did.
  bool cancel_running(task_id id);
  /// Cancels the tasks of new cancel requests in the journal that run here (another process's `task
  /// cancel`). Returns whether there were new requests. Called from one thread at a time.
  bool poll_cancel_requests();
  /// Requests journaled up to now are not new (start-up: they were read with the unfinished tasks).
  void cancel_requests_seen();

  /// Runs `f` (which creates an actor system or spawns an actor), then gives the calling thread back
  /// the CAF logger reference it held before. CAF 0.17 pins a system's logger in a thread-local of
  /// every thread that spawns into it or constructs it, and ~actor_system waits until every such
  /// reference is gone: a thread that outlived the engine (the application's, the journal's writer)
  /// would block the engine's destructor forever.
  template <class F>
  void keeping_thread_logger(F f);

  /// Delivers a task's end — to `parent` (a call_done message for the call at `parent_seq`) when the
  /// task was called by a running parent, else to the completion registry — and counts it out of
  /// flight. Call exactly once per task. `entry`: the task's registry entry if the caller has it (else
  /// it is looked up).
  void finished(task_id id, outcome out, const caf::actor& parent, std::uint32_t parent_seq,
                completion* entry = nullptr);

private:
  std::int64_t cancels_version_ = -1; ///< the journal's cancel requests seen (poll_cancel_requests)
};

template <class F>
void engine_core::keeping_thread_logger(F f) {
  auto* before = caf::logger::current_logger();
  f();
  if (caf::logger::current_logger() == before)
    return;
  if (before == nullptr)
    caf::logger::set_current_actor_system(nullptr);
  else if (system && before == &system->logger())
    caf::logger::set_current_actor_system(system.get());
  else if (auto* shadow = shadows.actors_if_created(); shadow && before == &shadow->logger())
    caf::logger::set_current_actor_system(shadow);
  // else: the thread belonged to another CAF system of the application, which CAF gives no way back to
}

} // namespace actors::detail
