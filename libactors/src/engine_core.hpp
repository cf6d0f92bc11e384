#pragma once
// The state every task runtime of one engine shares: configuration, router, effects, journal, worker
// pool, completion registry, the CAF actor system, loggers and counters. Internal.

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
#include "completion.hpp"
#include "engine_lock.hpp"
#include "mailbox.hpp"
#include "replay_session.hpp"
#include "sharded_counter.hpp"
#include "worker_pool.hpp"

namespace actors::detail {

class task_runtime;
class invoker;

/// A finished primary task whose candidate is to shadow-run against its journal.
struct shadow_run {
  std::uint64_t task = 0;
  std::uint64_t root = 0;
  std::string primary;                       ///< the version that served the task
  const function_entry* candidate = nullptr; ///< the version that shadow-runs
  /// The primary's tree as it ran (in memory), or nullptr: read it from the journal.
  std::shared_ptr<recording> recorded;
};

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
  engine_core();
  /// Calls shutdown(): safe wherever the engine's construction stopped (DESIGN-NOTES §28).
  ~engine_core();

  /// Stops the core's threads in the one safe order, whatever of them exists: detaches the journal's
  /// commit listener (which calls into the pool), joins the worker pool, stops the actor systems, then
  /// flushes and closes the journal. Members are not left to the declaration order: the pool is
  /// declared after the journal, so it would be destroyed first while the journal's writer still calls
  /// it. Needs every task drained (or none started). Idempotent.
  void shutdown() noexcept;

  engine_config cfg;
  router routes;
  effects fx;
  /// Policies and overrides in force: replaced whole (copy-on-write) under routing_mx, read lock-free.
  /// Composed (routing_state.cpp) from the routing file's policies and the routes set at run time,
  /// which win for the same function: kept in the journal (so `route set` in another process and the
  /// next engine on the file see them), or in memory without one.
  std::atomic<std::shared_ptr<const routing_table>> routing{std::make_shared<const routing_table>()};
  std::mutex routing_mx;
  std::map<std::string, routing_policy, std::less<>> file_policies; ///< guarded by routing_mx
  std::vector<eventlog::route_record> runtime_routes;             ///< guarded by routing_mx
  std::int64_t runtime_routes_version = -1;                       ///< guarded by routing_mx
  /// Held by an engine that resumes tasks (from start-up) or has started one: the only one serving
  /// its journal. Declared before the journal so that it is released after the journal has closed.
  engine_lock owner_lock;
  std::atomic<bool> journal_claimed{false}; ///< owner_lock is held, or the journal needs none
  std::mutex claim_mx;
  /// Takes owner_lock unless this engine holds it already: at start-up for an engine that resumes
  /// (`purpose::resume`), else before its first start of a task. `journal_in_use` while another
  /// engine serves the journal (retried at the next call: the other engine may stop).
  caf::error claim_journal(engine_lock::purpose why = engine_lock::purpose::start);
  std::unique_ptr<eventlog::journal> journal; ///< nullptr when journaling is off
  completion_registry completions;
  mailboxes mail;
  /// Supervisors of this engine (supervisor.cpp).
  std::unique_ptr<supervision_state> supervisors;
  std::unique_ptr<worker_pool> pool;
  std::unique_ptr<caf::actor_system_config> system_cfg;
  std::unique_ptr<caf::actor_system> system;
  /// Shadow runs execute in their own actor system, on `engine_config::shadow_threads` threads at idle
  /// priority (if `shadow_idle_priority`): they use only CPU the primaries leave. Created on first use.
  std::unique_ptr<caf::actor_system_config> shadow_system_cfg;
  std::unique_ptr<caf::actor_system> shadow_system;
  std::once_flag shadow_system_once;
  std::shared_ptr<spdlog::logger> log;      ///< the engine's own messages
  std::shared_ptr<spdlog::logger> task_log; ///< lines from ctx::log

  struct counters { // bumped by every thread that runs a step of a task: one cache line per thread
    sharded_counter started, resumed, completed, failed, effects_executed, effects_replayed;
  } stats;

  /// Last task id handed out. Ids are time-ordered — (milliseconds since the epoch << 20) + counter,
  /// strictly increasing — so the journal's b-trees append instead of scattering (random ids made
  /// journal-heavy work 3x slower, see bench/).
  std::atomic<std::uint64_t> last_id{0};
  std::atomic<std::uint64_t> seed_state{0};

  // in-flight tasks, shadow runs and their pending work, for drain(): counted atomically, the mutex only
  // guards the wake-up at zero
  alignas(64) std::atomic<std::size_t> in_flight{0}; // a line of its own: every start and end bumps it
  std::mutex drain_mx;
  std::condition_variable drain_cv;

  // shadow runs (shadow.cpp)
  std::atomic<std::size_t> shadows_in_flight{0};
  mutable std::mutex shadow_mx;
  std::map<std::tuple<std::string, std::string, std::string>, shadow_counts> shadow_totals;

  /// Routes a call of `fn` in the tree rooted at `root` under the policies in force.
  caf::expected<route_decision> route(std::string_view fn, std::uint64_t root,
                                      std::string_view pinned) const {
    return routing.load(std::memory_order_acquire)->route(routes, fn, root, pinned);
  }

  // --- routing_state.cpp ---------------------------------------------------------------------------
  /// Replaces the routing file's policies.
  void set_file_policies(std::map<std::string, routing_policy, std::less<>> policies);
  /// Sets (or, with `erase`, clears) a run-time route: in the journal (durable when this returns) or in
  /// memory. `r.root` 0 is a policy, else an override of that tree. Not checked here.
  caf::error change_runtime_route(eventlog::route_record r, bool erase);
  /// Rereads the run-time routes from the journal if they changed (another process, or this one);
  /// returns true if the table changed.
  bool poll_runtime_routes();
  /// Rebuilds the table from file_policies and runtime_routes (under routing_mx), skipping (and
  /// logging) run-time routes this engine cannot honour (unknown function or version).
  void rebuild_routing_locked();

  /// A fresh, non-zero task id, greater than every id handed out or journaled before.
  task_id new_id() noexcept;
  /// A seed for a task's random generator.
  std::uint64_t new_seed() noexcept;

  /// Whether `id` is run by a supervisor (which may restart it): its mailbox outlives a run.
  bool supervised(std::uint64_t id) const { return completions.supervised(task_id{id}); }
  /// Whether a message to `id` can be accepted: the task runs here (or is supervised), or the journal
  /// has it unfinished (it resumes, here or in another engine on the file, and reads its mailbox then).
  bool task_alive(std::uint64_t id);
  /// Empty if task `id` is known: in this engine's registry or in the journal.
  /// Errors: unknown_task naming it, journal_failure.
  caf::error check_known_task(task_id id);

  /// Starts a root task of `fn` (routed; `pinned` if not empty): journals it, registers its completion
  /// and spawns it. Errors: unknown function or version, wrong input type, a failed journal.
  /// `supervised`: its ends are held for its supervisor (completion::supervised) from the start.
  /// `key`: the caller's start key, journaled with the task row (see start_keyed); `created`: set to
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
    const function_entry* entry = nullptr;
    std::string input; ///< serialized
    std::string text;  ///< rendered, for the started event
    const function_entry* shadow = nullptr;
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

  /// start_root at most once per start key (engine::start with actors::start_key): a key seen before
  /// returns its task (the actor handle then is empty). Keyed starts are serialized by start_keys_mx;
  /// a key lives in `start_keys` until its task row is durable, then in the journal only (with the
  /// journal off: for the engine's life). Errors: start_root's, start_key_conflict.
  caf::expected<task_id> start_keyed(std::string_view key, std::string_view fn, std::string_view pinned,
                                     const erased_input& in);
  struct keyed_start {
    task_id id;
    std::string function;
    eventlog::lsn created = 0; ///< its task row's lsn: a repeated start waits for it too
  };
  std::mutex start_keys_mx;
  std::unordered_map<std::string, keyed_start> start_keys;

  /// Runs the ended (or stopped) task `id` again under the same id (supervisor.cpp): journals a
  /// `restarted` event and resumes the task from its history — up to its end; for a task that failed,
  /// up to the message it failed on (consumed, as OTP drops it) or the failed effect or call it failed
  /// at (retried) — or, with `fresh` or for a task that completed, from its input.
  struct restarted_task {
    caf::actor actor;
    bool fresh = false; ///< started from its input
  };
  caf::expected<restarted_task> restart_task(task_id id, bool fresh, const std::string& why);

  /// Spawns the actor that runs `rt` on CAF's scheduler and counts it in flight (unless `counted`
  /// already, as a task that waited for admission is); returns it.
  caf::actor spawn(std::unique_ptr<task_runtime> rt, bool counted = false);

  // --- admission (engine_config::max_running_tasks) --------------------------------------------------
  /// Root tasks started with engine::start hold a place while they run; the rest wait, in start order.
  struct admission_state {
    std::mutex mx;
    std::size_t running = 0; ///< places held
    std::deque<std::unique_ptr<task_runtime>> waiting;
  } admission;
  /// Spawns `rt` if a place is free (it holds it) and returns its actor, or queues it (counted in
  /// flight) and returns an empty handle: it spawns when a place frees up.
  caf::actor admit(std::unique_ptr<task_runtime> rt);
  /// A task gives its place up (it ended, or waits for something other than an effect): the first
  /// waiting task takes it — unless `pass_on` is false (a runtime destroyed with its actor system).
  void release_place(bool pass_on = true);
  /// A task that gave its place up to wait takes one again on waking, beyond the limit if need be.
  void retake_place();
  /// Runs the waiting task `id` now, beyond the limit, to end as cancelled without running its code.
  /// Returns whether it was waiting.
  bool admit_now(task_id id);

  /// Names `actor` as the running actor of the task of `entry` (for cancels), and sends it a cancel
  /// that came before it had one.
  void name_actor(completion& entry, const caf::actor& actor);

  /// Sends a cancel to the running task `id` if it runs in this engine with a registry entry (roots,
  /// resumed tasks). Returns whether it did.
  bool cancel_running(task_id id);
  /// Cancels the tasks of new cancel requests in the journal that run here (another process's `task
  /// cancel`). Returns whether there were new requests.
  bool poll_cancel_requests();
  std::int64_t cancels_version = -1; ///< guarded by routing_mx (polled on the watcher thread)

  /// The actor system of shadow runs (created on the first call).
  caf::actor_system& shadow_actors();

  /// Runs `f` (which creates an actor system or spawns an actor), then gives the calling thread back
  /// the CAF logger reference it held before. CAF 0.17 pins a system's logger in a thread-local of
  /// every thread that spawns into it or constructs it, and ~actor_system waits until every such
  /// reference is gone: a thread that outlived the engine (the application's, the journal's writer)
  /// would block the engine's destructor forever.
  template <class F>
  void keeping_thread_logger(F f);

  /// Counts one unit of work (a task in a session, a shadow run's pending work) out of flight.
  void leave() noexcept;

  /// Starts the shadow run of `r` (its end is durable): runs the candidate in a replay session against
  /// the primary's tree — recorded in memory as it ran, or else read from the journal on the worker
  /// pool. Counted in flight at once, so drain() waits for it. Skipped (and counted so) beyond
  /// `engine_config::max_shadow_runs` at a time. Cheap: called on the journal's writer thread.
  void launch_shadow(shadow_run r);
  /// Spawns the candidate of `r` against `rec` (the primary's tree).
  void start_shadow(const shadow_run& r, recording rec);
  /// Runs `rec` (a recorded tree) again in a foreground replay session with `opts` and blocks until it
  /// ends (replay.cpp).
  caf::expected<replay_report> replay(recording rec, const replay_options& opts);

  /// Counts a shadow run's end and records its divergence, if any (the run's session end handler).
  void shadow_ended(const shadow_run& r, const replay_session& s);
  /// The counts of `r`'s (function, primary, candidate). Needs shadow_mx.
  shadow_counts& shadow_counts_locked(const shadow_run& r);

  /// Delivers a task's end — to `parent` (a call_done message for the call at `parent_seq`) when the
  /// task was called by a running parent, else to the completion registry — and counts it out of
  /// flight. Call exactly once per task. `entry`: the task's registry entry if the caller has it (else
  /// it is looked up).
  void finished(task_id id, outcome out, const caf::actor& parent, std::uint32_t parent_seq,
                completion* entry = nullptr);
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
  else if (shadow_system && before == &shadow_system->logger())
    caf::logger::set_current_actor_system(shadow_system.get());
  // else: the thread belonged to another CAF system of the application, which CAF gives no way back to
}

} // namespace actors::detail
