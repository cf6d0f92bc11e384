#pragma once
// actors::engine — runs registered functions as durable tasks. Each task is a CAF actor running the
// function's coroutine; every effect is journaled to an SQLite file (`engine_config::journal`) before the
// task goes on, so an engine opened on the same journal after a crash resumes every unfinished task from
// its input, answering each journaled effect from the journal instead of executing it again.
//
// Durability: what a call acknowledges is durable. `start` and `start_batch` return a task id only once
// the task's row is in the journal file (a crash right after they return loses nothing: the next engine
// on the file resumes the task); `send` returns once the message is, `cancel` once the request is,
// `supervise` once its children and their supervision rows are. A task's earlier results are durable
// before it runs a user effect or a child call, and before its result is reported (`wait`). Appends of
// many tasks and callers share one SQLite transaction (group commit): concurrent callers wait for the
// same commit, so acknowledging costs one commit's latency per call, not one commit per call.
//
// Errors: every call returns `caf::expected` / `caf::error` (see errc.hpp); nothing throws for bad input.
// Thread safety: all member functions may be called from any non-task thread concurrently. `wait` and
// `run` block the calling thread: never call them from task code (use `ctx::call`). `start`,
// `start_batch`, `send`, `cancel` and `supervise` block for one journal commit (with the journal on):
// fine from any thread, effect handlers included (the journal's writer never waits for one), but not
// from inside a callback the journal runs on its writer thread (`eventlog::journal::when_durable`),
// where the wait would never end: they return journal_failure (cause `wrong_thread`) there.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/detail/op.hpp"
#include "actors/effects.hpp"
#include "actors/errc.hpp"
#include "actors/eventlog/event.hpp"
#include "actors/replay.hpp"
#include "actors/router.hpp"
#include "actors/routing.hpp"
#include "actors/serialization.hpp"
#include "actors/supervision.hpp"
#include "actors/task_id.hpp"

namespace actors {

namespace eventlog {
class journal;
}

struct engine_config {
  /// The journal: a file path (created if missing), ":memory:", or a `file:` URI naming a file.
  std::string journal = "actors.db";
  /// false turns journaling off entirely (no durability, no resume): for benchmarks of the bare task
  /// layer and for purely in-memory use.
  bool journal_enabled = true;
  /// SQLite synchronous=FULL (survives power loss) instead of NORMAL (survives process crashes).
  bool synchronous_full = false;
  /// The SQLite VFS the journal is written through, by its registered name (empty: SQLite's default):
  /// e.g. an encrypting VFS, or the fault-injecting one of the storage-fault tests.
  std::string journal_vfs;
  /// Check the whole journal for damage before writing to it (page checksums; quick_check for
  /// journals older than schema 9): a damaged journal makes `status()` a `corrupt` error naming the
  /// file and page, and is left as it is. A read of the whole file (4.0 s for 10 M events from disk, 0.55 s
  /// of it CPU; bench/journal_integrity_bench); turning it off leaves
  /// damage to be found when a damaged page is read (which then stops the journal from writing).
  bool journal_verify_on_open = true;
  /// Resume unfinished tasks found in the journal when the engine starts. Such an engine serves its
  /// journal alone: it holds an exclusive flock on the journal file itself, whatever names it (released by
  /// the kernel if the process dies), and a second one on the same file gets `errc::journal_in_use`
  /// from `status()` instead of running the first one's tasks twice. Tools that only read or replay a
  /// journal another engine serves set this to false; such an engine takes the lock when it first
  /// starts a task (or a supervisor), and that start fails with `journal_in_use` while another engine
  /// serves the journal (both would draw the same task ids).
  bool resume = true;
  /// The most threads worker_threads, scheduler_threads and shadow_threads may each ask for: more is
  /// an invalid_configuration error from status().
  static constexpr std::size_t max_threads = 10'000;
  /// Threads of the worker pool that runs effect handlers (which may block). 0: 2 x CPUs, at least 4.
  std::size_t worker_threads = 0;
  /// CAF scheduler threads running task actors. 0: the number of CPUs this process may use.
  std::size_t scheduler_threads = 0;
  /// At most this many tasks started with `engine::start` run at once (0: no limit). A start beyond it
  /// is journaled and returns its id without waiting for a place; the task waits in a queue, in start
  /// order, and runs when a running one ends or waits for something other than an effect (a message, a
  /// timer, a child call or spawn, room in a full mailbox): such a task gives its place up while it
  /// waits and takes one again, beyond the limit if need be, when it wakes. So a burst of starts keeps
  /// a bounded set of tasks in memory (and in the CPU's caches) instead of all of them, and tasks
  /// waiting for each other never hold up the queue. Calls and spawned children, supervised children
  /// and tasks resumed from the journal are not counted.
  std::size_t max_running_tasks = 1024;
  /// CAF scheduler policy: "sharing" (one shared queue; keeps bursts of spawns from running tasks fast on
  /// few cores, see README "Performance") or "stealing" (CAF's default).
  std::string scheduler_policy = "sharing";
  /// A YAML routing file (<actors/routing_file.hpp>) holding every function's policy; empty: none. Read
  /// at start-up (a bad file makes `status()` an error naming the line and key) and watched: a changed
  /// file takes effect within a second; a bad change is logged and the policies in force stay. It must
  /// be a regular file of at most 1 MiB (actors::max_routing_file_bytes): a directory, FIFO, device, a
  /// file that is missing, unreadable or larger is an error naming it — from `status()` at start-up,
  /// and while serving a logged refusal (engine::routing_file_error, engine_stats::routing_file_refusals).
  std::string routing_file;
  /// How often the routing file is checked for changes.
  std::chrono::milliseconds routing_file_poll{250};
  /// A shadow run (policy::shadow) that uses more than this much CPU time is a divergence ("timeout").
  /// CPU time, not wall time, because shadow runs wait at idle priority while primaries run. Checked at
  /// each of its effects and calls and when it ends: a run that computes without asking for effects
  /// cannot be interrupted, only reported.
  std::chrono::milliseconds shadow_timeout{10'000};
  /// Threads that run shadow runs (their own CAF scheduler, started on the first shadow run).
  std::size_t shadow_threads = 1;
  /// Run shadow runs at Linux's SCHED_IDLE priority: they get only CPU time no primary wants, so a
  /// candidate never slows the traffic it shadows (bench/: primary latency, shadow on vs off).
  bool shadow_idle_priority = true;
  /// At most this many shadow runs at a time; a primary finishing beyond it is not shadowed (counted
  /// in shadow_counts::skipped), so shadowing never builds an unbounded backlog under load.
  std::size_t max_shadow_runs = 256;
  /// Most messages a task's mailbox holds (0: unbounded). A task sending to a full mailbox waits until
  /// the receiver takes one; engine::send returns errc::mailbox_full.
  std::size_t mailbox_capacity = 0;
  /// Log level for libactors' own logger and task logs: "trace", "debug", "info", "warn", "error", "off".
  std::string log_level = "info";
};

/// Counters about the engine's life so far.
struct engine_stats {
  std::uint64_t started = 0;   ///< Tasks started (roots and children), including resumed ones.
  std::uint64_t resumed = 0;   ///< Unfinished tasks resumed from the journal at start-up.
  std::uint64_t completed = 0; ///< Tasks that finished with an output.
  std::uint64_t failed = 0;    ///< Tasks that finished with an error.
  std::uint64_t effects_executed = 0; ///< User effect handlers called.
  std::uint64_t effects_replayed = 0; ///< User effects answered from the journal.
  std::uint64_t journal_appends = 0;  ///< Journal appends committed (0 with the journal off).
  std::uint64_t journal_commits = 0;  ///< Journal transactions: appends / commits is the group-commit batch.
  std::uint64_t journal_commit_ns = 0;///< Wall time the journal writer spent inside transactions.
  std::uint64_t waiting = 0; ///< Started tasks waiting for a place (engine_config::max_running_tasks), now.
  /// Times the routing file was refused while the engine served (unreadable, not a regular file, over
  /// the size limit, or bad content), each problem counted and logged once however often the watcher
  /// sees it again; the policies in force stayed each time.
  std::uint64_t routing_file_refusals = 0;
};

/// A divergence between a shadow run and its primary (see eventlog::divergence_record).
using divergence = eventlog::divergence_record;

/// What the shadow runs of one (function, primary version, candidate version) found so far.
struct shadow_counts {
  std::string function;
  std::string primary;
  std::string candidate;
  std::uint64_t runs = 0;        ///< shadow runs compared: matches + divergences
  std::uint64_t matches = 0;     ///< same leaf effects and the same output (or error)
  std::uint64_t divergences = 0; ///< a difference (recorded in the journal's divergences table)
  std::uint64_t skipped = 0;     ///< not run: too many shadow runs at once, or the primary's journal
                                 ///< could not be read (logged)
};

/// Where a version is in its life in a running engine (DESIGN §11): `active` (routed to); `draining`
/// (retired: no new work is routed to it, tasks that run it finish on it); `drained` (retired, and no
/// task runs it any more).
enum class version_state : std::uint8_t { active, draining, drained };

/// Returns "active", "draining", "drained".
std::string_view to_string(version_state x) noexcept;

/// One version as engine::versions reports it.
struct version_info {
  std::string function;
  std::string version;
  version_state state = version_state::active;
  std::uint64_t module = 0; ///< the module that brought it; 0: compiled into the program
  std::size_t tasks = 0;    ///< what holds it now: tasks running, waiting or queued for admission,
                            ///< and supervised children (also between two runs: a restart needs it)
};

/// Identifies a module loaded into an engine (engine::load_module); never 0.
using module_id = std::uint64_t;

/// One loaded module as engine::modules reports it.
struct module_info {
  module_id id = 0;
  std::string name;                  ///< the ACTORS_MODULE name
  std::string path;                  ///< absolute
  std::string content_hash;          ///< SHA-256 of the file at load time, hex
  std::vector<std::string> versions; ///< what it registered, "function@version"
};

/// A caller-chosen name for one start of a task (engine::start): "order-42", "user-7/signup". A start
/// with a key already used returns the task started with it instead of starting another.
struct start_key {
  explicit start_key(std::string n) : name(std::move(n)) {}
  std::string name;
};

class engine {
public:
  /// Opens the journal, resumes unfinished tasks and starts the actor system. Never throws for bad
  /// configuration: `status()` reports it, and every other call then returns that error.
  engine(engine_config cfg, const router& routes, const effects& fx);

  /// Drains (waits for every in-flight task), then stops the actor system and closes the journal.
  ~engine();

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Empty if the engine runs; otherwise why it could not start (bad journal file, invalid router...),
  /// or, later, `journal_failure` once a journal write failed (disk full, I/O error): from then on the
  /// engine takes no new tasks, and tasks stop where they could not journal (they stay unfinished in
  /// the file; a restart on it resumes them once the fault is cleared). Nothing journaled before is lost.
  [[nodiscard]] caf::error status() const;

  /// Starts a task of `fn` (routed like any call) with input `in`. Returns its id once the task's row
  /// is durable in the journal: a crash (even SIGKILL) right after it returns leaves the task in the
  /// file, and the next engine on it resumes it. The calling thread waits for the journal's next group
  /// commit (concurrent callers share it; to start many tasks from one thread, `start_batch` waits once
  /// for all). The task may begin running before `start` returns. With the journal off there is
  /// nothing to wait for: it returns once the task is spawned (or queued for a place).
  /// Errors: unknown_function, unknown_version, wrong_input_type (nothing is journaled);
  /// journal_in_use (another engine serves the journal); journal_failure when the journal has failed,
  /// or fails before the row is durable (the message names the task and the journal file; the task is
  /// not acknowledged: it may be in the file or not, and it stops where it cannot journal); a status()
  /// error of an engine that failed to start.
  template <class In>
  [[nodiscard]] caf::expected<task_id> start(std::string_view fn, In&& in) {
    return start_impl(fn, {}, std::forward<In>(in));
  }

  /// As `start`, pinned to version `v`.
  template <class In>
  [[nodiscard]] caf::expected<task_id> start(std::string_view fn, In&& in, version v) {
    return start_impl(fn, std::move(v.name), std::forward<In>(in));
  }

  /// As `start`, at most once per `key` (Temporal's workflow id, an idempotency key): the first start
  /// with a key starts the task; every later one — from this engine or any later engine on the same
  /// journal, while the task runs or after it ended, also after a crash between the caller's start and
  /// its bookkeeping — returns that task's id and starts nothing. The input of a later start is not
  /// compared. Keys are kept in the journal (with the journal off: for the engine's life). Like
  /// `start`, it returns once the task row and its key are durable (a later start with the key that
  /// comes while the first one's row is on its way waits for it too). Errors: as `start`, bad_input
  /// for an empty key, and start_key_conflict when the key's task is of another function.
  template <class In>
  [[nodiscard]] caf::expected<task_id> start(std::string_view fn, In&& in, start_key key) {
    if (key.name.empty())
      return make_error(errc::bad_input, "start of '" + std::string{fn} + "': the start key is empty");
    return start_impl(fn, {}, std::forward<In>(in), std::move(key.name));
  }

  /// Starts one task of `fn` per element of `inputs` (the bulk path: for throughput from one thread).
  /// Returns their ids, in the order of `inputs`, once every task row is durable: one wait for all, so
  /// a batch costs a few group commits instead of one commit's latency per task. Every input is routed
  /// and checked before any task is journaled: an unknown function or version, or an input of the
  /// wrong type, starts nothing. Tasks run (or wait for a place, engine_config::max_running_tasks) as
  /// they are journaled, before the call returns. An empty `inputs` starts nothing and returns no ids.
  /// Errors: as `start`; journal_failure when the journal fails before all rows are durable: none of
  /// the tasks is acknowledged, and some may be in the file (a resumed engine runs those): where each
  /// start must happen at most once, start each with a `start_key` instead.
  template <class In>
  [[nodiscard]] caf::expected<std::vector<task_id>> start_batch(std::string_view fn,
                                                                const std::vector<In>& inputs) {
    return start_batch_impl(fn, {}, inputs);
  }

  /// As `start_batch`, every task pinned to version `v`.
  template <class In>
  [[nodiscard]] caf::expected<std::vector<task_id>>
  start_batch(std::string_view fn, const std::vector<In>& inputs, version v) {
    return start_batch_impl(fn, std::move(v.name), inputs);
  }

  /// Blocks until task `id` finishes and returns its output. Works for tasks of this engine and for
  /// tasks in its journal, including tasks started before a crash. The engine keeps a finished task's
  /// outcome in memory until the first `wait` takes it (with the journal on, at most the 65,536 most
  /// recent unclaimed ones); later waits read it back from the journal. With the journal off, only the
  /// first `wait` for a task succeeds. Errors: task_failed (message holds the exception's message),
  /// wrong_output_type, unknown_task, not_resumable, nondeterminism, ...
  template <class T>
  [[nodiscard]] caf::expected<T> wait(task_id id) {
    auto bytes = wait_bytes(id, typeid_of<T>());
    if (!bytes)
      return std::move(bytes.error());
    if constexpr (std::is_void_v<T>) {
      return caf::unit;
    } else {
      try {
        return from_bytes<T>(*bytes);
      } catch (const std::exception& e) {
        return make_error(errc::bad_input, "task " + to_string(id) + ": output does not decode as " +
                                             type_name<T>() + ": " + e.what());
      }
    }
  }

  /// start + wait.
  template <class T, class In>
  [[nodiscard]] caf::expected<T> run(std::string_view fn, In&& in) {
    auto id = start(fn, std::forward<In>(in));
    if (!id)
      return std::move(id.error());
    return wait<T>(*id);
  }

  /// Sets `fn`'s routing policy (actors::policy::primary / shadow / percent). A policy naming an
  /// unknown function or version, a name check_name refuses (bad_input), or an invalid percent, is
  /// refused with an error naming it, and the
  /// previous policy stays. Applies to calls routed from now on (running tasks keep their versions).
  caf::expected<void> set_policy(std::string_view fn, routing_policy p);

  /// Removes `fn`'s policy: it routes by default again.
  void clear_policy(std::string_view fn);

  /// Routes every call of `fn` in the call tree rooted at `root` (the root itself included) to
  /// `version`, ahead of any policy. Used by replay and debugging. Errors: unknown_function,
  /// unknown_version, bad_input (a name check_name refuses), unknown_task (no task `root` in the
  /// journal, or with the journal off in this engine), each naming it.
  caf::expected<void> override_route(task_id root, std::string_view fn, std::string_view version);

  /// Removes the override of `fn` for `root` (every override of `root` when `fn` is empty).
  void clear_override(task_id root, std::string_view fn = {});

  /// The policies and overrides in force.
  routing_table routing() const;

  /// Reads the routing file now (the watcher does this every `routing_file_poll`) and applies it if
  /// its content changed. A bad file is refused with an error naming the line and key, and the
  /// policies in force stay.
  caf::expected<void> reload_routing();

  /// The routing file's problem now (why its last read or parse was refused; the policies in force are
  /// the ones it had before), or an empty error once it reads and applies (or is unchanged and good).
  caf::error routing_file_error() const;

  /// Blocks until stats().routing_file_refusals > `after` or `timeout` passes; true if it moved.
  bool await_routing_file_refusal(std::uint64_t after, std::chrono::milliseconds timeout);

  /// Counts routing changes (policies set or cleared, overrides, routing-file reloads).
  std::uint64_t routing_generation() const;

  /// Blocks until routing_generation() > `after` or `timeout` passes; true if it moved.
  bool await_routing_change(std::uint64_t after, std::chrono::milliseconds timeout);

  /// Cancels root task `id` and its call tree: each task ends with a journaled `cancelled` event, and
  /// `wait` returns errc::cancelled. Asynchronous: returns once the request is journaled. The request is
  /// kept in the journal, so an engine in another process that runs the task stops it within
  /// `routing_file_poll`, and one that would resume it after a crash does not. An effect handler already
  /// running is not interrupted; its result is dropped. Errors: unknown_task, not_running (the task has
  /// ended, or is a call inside another task's tree).
  caf::expected<void> cancel(task_id id);

  /// Sends `msg` to task `id`'s mailbox (its code takes it with `ctx::receive<M>`). Returns once the
  /// message is durable in the journal (pending until received, across crashes; the wait is one group
  /// commit, as `start`'s). Errors: not_running (no running task `id`), mailbox_full (a bounded mailbox
  /// is full), journal_failure (the journal failed before the message was durable: not acknowledged).
  template <class M>
  caf::expected<void> send(task_id id, const M& msg) {
    return send_erased(id, type_name<M>(), to_bytes(msg), render(msg));
  }

  // --- supervision (DESIGN §5; vocabulary in <actors/supervision.hpp>, builders in <actors/supervise.hpp>)

  /// Validates `spec` (errors name the supervisor, child and field: supervision.invalid_spec; an unknown
  /// function or version: unknown_function / unknown_version; a name already running: invalid_spec)
  /// and starts the supervisor: its children in order, each a durable task (or a nested supervisor).
  /// Returns once every child has started and the children's task rows and supervision rows are
  /// durable (journal_failure if the journal fails first). A child the journal knows from an earlier
  /// engine on the same file (same supervisor name and child id) is taken over: still running (resumed
  /// at start-up) it is monitored as it is; ended, it is restarted per its spec.
  caf::expected<void> supervise(const supervision::supervisor_spec& spec);

  /// Stops top-level supervisor `name`: its children in reverse start order (each per its shutdown
  /// policy: cancelled, so their end is journaled), then the supervisor. Blocks until it has stopped.
  /// Errors: unknown_supervisor.
  caf::expected<void> stop_supervisor(std::string_view name);

  /// Every supervisor of this engine and its children: kind, task id, state ("running", "restarting",
  /// "stopped", "completed", "failed", "escalated"), restarts, last end. Also kept in the journal for
  /// `engine sup tree` (eventlog::journal::supervision).
  std::vector<eventlog::supervision_record> supervision_tree() const;

  /// The task id of child `child` of supervisor `supervisor` (stable across its restarts).
  /// Errors: unknown_supervisor, or invalid_spec naming an unknown child.
  caf::expected<task_id> supervised_task(std::string_view supervisor, std::string_view child) const;

  /// What supervisor `name` did so far, one line per action ("started c1 as task ...", "c1 failed: ...",
  /// "restarting c1 (resume) in 0 ms, attempt 1", "stopped c2", "escalating: ..."), oldest first.
  std::vector<std::string> supervision_log(std::string_view name) const;

  /// Blocks until `done(supervision_log(name))` holds or `timeout` passes; returns whether it held.
  /// For tests and tools that wait for a supervisor's reaction without sleeping.
  bool await_supervision(std::string_view name,
                         const std::function<bool(const std::vector<std::string>&)>& done,
                         std::chrono::milliseconds timeout);

  /// Replays task `id`'s whole call tree from the journal (see <actors/replay.hpp>) and blocks until it
  /// ends. Nothing is journaled and no effect handler is called. Errors: unknown_task, not_resumable
  /// (the task has not finished), unknown_version (a version in `opts`, or the recorded one, is not
  /// registered), wrong_input_type (the version to run takes another input), invalid_configuration
  /// (journaling is off).
  caf::expected<replay_report> replay(task_id id, const replay_options& opts = {});

  /// Divergences that shadow runs of `fn` (every function when empty) recorded in the journal, newest
  /// first, at most `limit` (0: all). Empty with the journal off (nothing is shadowed then); a journal
  /// that cannot be read is logged as an error and reads as empty (tools that must tell the two apart
  /// read `journal()->divergences`).
  std::vector<divergence> divergences(std::string_view fn = {}, std::size_t limit = 0) const;

  /// Shadow-run counts per (function, primary, candidate) since this engine started, sorted.
  std::vector<shadow_counts> shadow_stats() const;

  /// Blocks until no task is in flight, including shadow runs (whose divergences are then durable).
  /// Supervised tasks count: with a running supervisor whose children never end, stop it first
  /// (`stop_supervisor`) — the destructor does not wait for them (it detaches them, see `supervise`).
  void drain();

  /// Counters so far.
  engine_stats stats() const;

  /// The journal, or nullptr when journaling is off or the engine failed to start. For tools and tests.
  eventlog::journal* journal() noexcept;

  /// The versions this engine routes with now (a copy: versions added or retired later do not show).
  router routes() const;

  // --- live versions (DESIGN §11) ------------------------------------------------------------------
  /// Registers `f`, a coroutine function `actors::task<Out>(actors::ctx&, In)`, as version `version`
  /// of function `fn` in the running engine: routed to at once, as registered versions are (a new
  /// function's first version is its default; policies may name it from now on). Thread-safe.
  /// Errors: bad_input (a name check_name refuses), version_exists, wrong_input_type /
  /// wrong_output_type (the function's other versions take or return other types), or status().
  template <class F>
  caf::expected<void> add_version(std::string fn, std::string version, F f) {
    return add_version_erased(std::move(fn), std::move(version), detail::invoker_factory<F>::make(std::move(f)));
  }

  /// Retires version `version` of `fn`: no new work is routed to it (the function's default becomes
  /// its first active version); the tasks that run it — running, waiting, queued for admission, and
  /// the children calls pin to it — finish on it, and it is `drained` once none is left. Retiring a
  /// retired version does nothing. Thread-safe.
  /// Errors: unknown_function / unknown_version; version_in_use naming the routing policy or the
  /// per-task override that names the version (change or clear it first); or status().
  caf::expected<void> retire(std::string_view fn, std::string_view version);

  /// Every version of `fn` (of every function if empty) with its state, module and tasks, in
  /// registration order. Thread-safe.
  std::vector<version_info> versions(std::string_view fn = {}) const;

  /// Blocks until version `version` of `fn` is drained, or `timeout` passes; returns whether it is.
  bool await_drained(std::string_view fn, std::string_view version, std::chrono::milliseconds timeout);

  /// Loads the module (a shared library with an ACTORS_MODULE entry point, <actors/module.hpp>) at
  /// `path` and adds its versions (active) and effect handlers to the running engine, all or nothing.
  /// Thread-safe. Errors, each naming the path: module_not_found (no such file, or unreadable),
  /// not_a_module (not a shared object, or no entry point), module_load_failed (dlopen's error),
  /// incompatible_module (built against another libactors or standard library: the field that
  /// differs), invalid_module (its registration threw or registered nothing or something invalid, or
  /// it handles an effect that already has a handler), version_exists (a version the engine has),
  /// wrong_input_type / wrong_output_type (other types than the function's other versions); status().
  caf::expected<module_id> load_module(const std::string& path);

  /// Unloads module `id`: its versions and handlers leave the engine, and its library is closed once
  /// nothing holds its code any more — normally before this returns (it waits up to 2 s for a last
  /// task on its way out, then logs a warning and the library closes when that lets go). Every version
  /// of the module must be drained first (retire, then let its tasks finish). Thread-safe. Errors: unknown_module; module_in_use naming each version that
  /// is active or draining and its tasks; status().
  caf::expected<void> unload_module(module_id id);

  /// The modules loaded now, in load order.
  std::vector<module_info> modules() const;

private:
  template <class T>
  static const std::type_info& typeid_of() {
    if constexpr (std::is_void_v<T>)
      return typeid(void);
    else
      return typeid(T);
  }

  /// A type-erased view of a start() input: no allocation, names and renderings only when needed.
  struct input_ref {
    const void* value;
    const std::type_info* type;
    std::optional<std::string> (*encode)(const void* value, const std::type_info& target);
    std::string (*render)(const void* value);
  };

  template <class In>
  caf::expected<task_id> start_impl(std::string_view fn, std::string pinned, In&& in,
                                    std::string key = {}) {
    using input_type = detail::normalized_input_t<In>;
    const input_type& x = in;
    input_ref ref{&x, &typeid(input_type),
                  [](const void* p, const std::type_info& target) {
                    return detail::encode_input<input_type>(*static_cast<const input_type*>(p),
                                                            target);
                  },
                  [](const void* p) { return actors::render(*static_cast<const input_type*>(p)); }};
    return start_erased(fn, pinned, ref, key);
  }

  caf::expected<task_id> start_erased(std::string_view fn, std::string_view pinned,
                                      const input_ref& in, std::string_view key = {});

  template <class In>
  caf::expected<std::vector<task_id>> start_batch_impl(std::string_view fn, std::string pinned,
                                                       const std::vector<In>& inputs) {
    // Each element is read as the normalized input type (a const char* element as a std::string).
    using input_type = detail::normalized_input_t<const In&>;
    input_ref first{inputs.data(), &typeid(input_type),
                    [](const void* p, const std::type_info& target) {
                      const input_type& x = *static_cast<const In*>(p);
                      return detail::encode_input<input_type>(x, target);
                    },
                    [](const void* p) {
                      const input_type& x = *static_cast<const In*>(p);
                      return actors::render(x);
                    }};
    return start_batch_erased(fn, pinned, first, inputs.size(), sizeof(In));
  }

  /// Starts `count` tasks whose inputs are `first` and the elements `stride` bytes apart after it.
  caf::expected<std::vector<task_id>> start_batch_erased(std::string_view fn, std::string_view pinned,
                                                         const input_ref& first, std::size_t count,
                                                         std::size_t stride);

  caf::expected<std::string> wait_bytes(task_id id, const std::type_info& out_type);
  caf::expected<void> add_version_erased(std::string fn, std::string version,
                                         std::shared_ptr<const function_impl> impl);
  caf::expected<void> send_erased(task_id id, std::string type, std::string bytes, std::string text);

  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace actors
