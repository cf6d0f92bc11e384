#pragma once
// task_runtime — everything one task is: its record, its journal position, its coroutine and the
// operation it waits for. Owned by the task's CAF actor (task_actor) and used only on that actor's
// thread. It answers ops from the recorded journal while one remains (resume), then runs them live.
//
// A runtime in a replay session (`setup::session`: a shadow run) journals nothing and calls no effect
// handler: its leaf effects are answered by the session from another tree's recording, its calls start
// children in the same session, and its end goes to its parent or, for the session's root, to the
// session.

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "actors/ctx.hpp"
#include "actors/detail/invoker.hpp"
#include "actors/detail/op.hpp"
#include "actors/eventlog/event.hpp"
#include "actors/eventlog/journal.hpp"
#include "engine/completion.hpp"
#include "replay/replay_session.hpp"

namespace caf {
class event_based_actor;
}

namespace actors::detail {

struct engine_core;

class task_runtime {
public:
  /// What a task starts from: its record and input, plus, when resumed, its journal so far.
  struct setup {
    eventlog::task_record rec;
    std::shared_ptr<const invoker> fn;
    const function_entry* entry = nullptr;       ///< what `fn` is registered as (router-owned)
    std::string input;                           ///< serialized input
    std::vector<eventlog::event> recorded;       ///< events after `started` (resume only)
    std::vector<eventlog::task_record> children; ///< journaled children (resume only)
    /// The lsn of the task's own creation: everything up to it (the caller's earlier results included)
    /// must be durable before the task's first externally visible effect.
    eventlog::lsn created_lsn = 0;
    /// The actor of the parent that called this task and waits for it (empty for roots and resumed
    /// tasks, whose outcome goes through the completion registry).
    caf::actor parent;
    /// The task runs in this replay session instead of live (see above).
    std::shared_ptr<replay_session> session;
    /// Once this task has finished (completed or failed) and its end is durable, this version of the
    /// same function shadow-runs against its journal (the task was routed by a shadow policy).
    const function_entry* shadow = nullptr;
    /// Recordings of shadowed ancestors' trees this task's leaf effects belong to (in memory, so a
    /// shadow run need not read the journal back). Children inherit them.
    std::vector<std::shared_ptr<recording>> recorders;
    /// Started by ctx::spawn (not a call): in a session it may stop where the recording cancelled it.
    bool spawned = false;
    /// A root task's entry in the completion registry, when its starter has it at hand (fresh starts):
    /// its end is reported there without a lookup. Null: looked up by id.
    std::shared_ptr<detail::completion> entry_state;
  };

  task_runtime(engine_core& core, setup s);
  ~task_runtime();

  /// The task holds a place among engine_config::max_running_tasks (set by engine_core::admit before
  /// it spawns): it gives it up while it waits for anything but an effect, and when it ends.
  void hold_place() noexcept { holds_place_ = true; }
  /// It was cancelled while it waited for admission: it ends as cancelled when it starts, without
  /// running any of its code.
  void cancel_at_start() noexcept { cancel_at_start_ = true; }
  /// setup::entry_state.
  const std::shared_ptr<completion>& completion_entry() const noexcept { return completion_; }

  task_runtime(const task_runtime&) = delete;
  task_runtime& operator=(const task_runtime&) = delete;

  // --- driven by the task's actor ----------------------------------------------------------------
  void start(caf::event_based_actor* self);
  void on_effect_done(std::uint32_t seq, bool failed, std::string payload, std::string text);
  void on_call_done(std::uint32_t seq, std::uint8_t state, std::string payload, std::string text,
                    caf::error err);
  void on_journal_error(std::string message);
  /// Cancels the task: its pending child first (whose end comes back as call_done), then itself, with a
  /// journaled `cancelled` end. A running effect handler cannot be stopped: its result is dropped, or,
  /// `graceful` (a supervisor's shutdown), journaled first, so a restart does not run it again.
  void on_cancel(bool graceful = false);
  /// The durable timer of the sleep at `seq` is due, or the timeout of the receive at `seq`.
  void on_timer(std::uint32_t seq);
  /// A message arrived for the receive waiting at `seq`.
  void on_mail(std::uint32_t seq);
  /// The full mailbox the send at `seq` waits for has room (or its task ended): try again.
  void on_mail_room(std::uint32_t seq);
  /// Stops the task without a journaled end, as a crash would (the engine shuts down under a running
  /// supervisor): the next engine on the journal resumes it.
  void on_detach();
  bool finished() const noexcept { return finished_; }
  /// Why the task's actor exits, for monitors (supervisors): empty for a task that completed or was
  /// cancelled or detached; task_failed (it threw) or the error that stopped it otherwise.
  caf::error exit_reason() const;
  /// Called as the actor quits: a root task's completion entry stops naming this actor, so nobody
  /// (a supervisor taking a resumed task over) mistakes the quitting actor for a running task.
  void before_exit();

  // --- driven by ctx's awaiters -------------------------------------------------------------------
  bool begin(op& o);
  void suspend(op& o, std::coroutine_handle<> h);

  // --- what ctx exposes ---------------------------------------------------------------------------
  task_id id() const noexcept { return task_id{rec_.id}; }
  task_id root() const noexcept { return task_id{rec_.root}; }
  const std::string& function() const noexcept { return rec_.function; }
  const std::string& version() const noexcept { return rec_.version; }
  /// Cancels the child spawned at `seq` if it runs (ctx::cancel).
  void cancel_child(std::uint32_t seq);
  bool replaying() const noexcept { return session_ != nullptr || cursor_ < recorded_.size(); }
  bool journaling() const noexcept;
  bool in_session() const noexcept { return session_ != nullptr; }
  bool in_background_session() const noexcept { return session_ && session_->background(); }

private:
  bool replay(op& o);
  /// What the journal makes of `o`: true, answered from it; false, the code departed from it (abort_
  /// is set: suspend, after_resume() stops the task); nullopt, the journal has no answer (run live).
  std::optional<bool> from_journal(op& o);
  bool begin_live(op& o);
  bool begin_in_session(op& o);
  /// A sleep: journals its deadline (or takes it from the journal) and suspends until it.
  bool begin_sleep(op& o);
  /// A receive: from the journal, else the oldest message of this task's mailbox; false: wait for one.
  bool begin_receive(op& o);
  /// Takes a message for the receive `o` at `seq`; false if there is none (this task is registered
  /// as the mailbox's waiter).
  bool take_message(op& o, std::uint32_t seq);
  /// A send: into the target's mailbox with its journal row; false when the mailbox is full (this task
  /// is told when to try again).
  bool try_send(op& o, std::uint32_t seq);
  bool prepare_call(op& o, const std::string& pinned);
  caf::expected<route_decision> route_call(const std::string& fn, const std::string& pinned) const;
  std::uint64_t draw(std::uint64_t n);
  void dispatch_effect(op& o);
  /// Adds a leaf effect this task journaled to the recordings it belongs to.
  void record(const op& o, std::uint32_t seq, const std::string& text);
  void dispatch_call(op& o);
  /// Journals and spawns the child that `o` (a routed call or spawn) asks for, as this task's child at
  /// `seq`; sets `actor`, returns the child's id.
  std::uint64_t start_child(const op& o, std::uint32_t seq, caf::actor& actor);
  /// Waits for the child of the pending call (resumed: through the registry or its journaled end).
  void attach_child(const eventlog::task_record& child);
  /// Gets `child`'s end as a call_done for `seq`: from the registry if it runs here, else its journal.
  void watch_child(std::uint32_t seq, const eventlog::task_record& child);

  /// A child started by ctx::spawn, by the seq of its spawn event.
  struct spawned_child {
    std::uint64_t id = 0;
    std::string function; ///< function@version
    caf::actor actor;     ///< while it runs, if started by this run (else: through the registry)
    bool ended = false;
    bool joined = false;
    bool cancel_requested = false;
    outcome_state state = outcome_state::completed;
    std::string payload;
    std::string text;
    caf::error error;
  };
  /// A spawn: journals it and starts the child (or takes the child over a crash left behind).
  bool start_spawn(op& o);
  /// A join: from the journal, or the child's end once it is there.
  bool begin_join(op& o);
  void finish_join(op& o, spawned_child& c, std::uint32_t seq);
  void on_spawned_done(std::uint32_t seq, spawned_child& c, outcome out);
  std::string failure_text(const spawned_child& c) const;
  void resume(std::coroutine_handle<> h);
  void after_resume();
  void complete();
  /// A resumed task whose code ended before the end of its journaled history: aborts it as diverged
  /// (journaling nothing) and returns true.
  bool ended_before_its_history();
  void abort(caf::error err);
  /// The end of a task in a session: to its parent, or to the session when it is the session's root.
  void end_in_session(outcome out);
  /// Moves past the journaled event `seq` (resume): live events number on from there, and after a
  /// restart's floor.
  void consumed(std::uint32_t seq);
  /// Drops this task's mailbox at its end (unless a supervisor may restart it).
  void close_mailbox();
  /// Ends the cancelled task once nothing it waits for runs any more (children, a graceful effect).
  void maybe_end_cancelled();
  /// Ends the task as cancelled (journaled), reporting `errc::cancelled`.
  void end_cancelled();
  eventlog::lsn append(eventlog::event ev);
  /// A strong handle. Whatever a suspended task waits for holds one (the worker-pool job of an effect,
  /// the child it called, a registry callback): CAF destroys an actor nobody references, even one
  /// with a behaviour.
  caf::actor handle() const;
  std::string who() const;

  engine_core& core_;
  eventlog::task_record rec_;
  std::shared_ptr<const invoker> fn_;
  std::string input_;
  std::vector<eventlog::event> recorded_;
  std::size_t cursor_ = 0;
  std::unordered_map<std::uint32_t, eventlog::task_record> children_; // by parent_seq
  std::map<std::uint32_t, spawned_child> spawned_;
  std::uint32_t join_seq_ = 0;      ///< the spawn seq of the child the pending join waits for
  std::uint32_t child_failure_ = 0; ///< the spawn seq of the first child that failed, until observed
  bool nursery_waiting_ = false;    ///< the body has ended; waiting for spawned children
  std::uint32_t next_seq_ = 1;
  std::uint32_t floor_seq_ = 1; ///< live events number from here at least (after a restart)
  caf::error exit_reason_;
  eventlog::lsn last_lsn_ = 0;
  ctx ctx_;
  std::unique_ptr<running_task> running_;
  caf::event_based_actor* self_ = nullptr;
  op* pending_ = nullptr;
  std::uint32_t pending_seq_ = 0;
  std::uint64_t pending_child_ = 0;
  caf::actor child_actor_;   ///< the child started for the pending call (not for resumed children)
  bool cancel_waits_call_ = false;   ///< cancelling: the called child has yet to end
  bool cancel_waits_effect_ = false; ///< cancelling gracefully: the running effect has yet to end
  bool detach_waits_effect_ = false; ///< detaching (engine stop): the running effect has yet to end
  bool cancelling_ = false;  ///< cancelled while waiting for a child or an effect: end once it is done
  std::int64_t sleep_until_ = 0; ///< the deadline (ns since the epoch) of the sleep being prepared
  route_decision pending_route_;   ///< how the call being prepared was routed
  caf::error abort_;
  bool finished_ = false;
  caf::actor parent_;
  std::shared_ptr<completion> completion_; ///< setup::entry_state
  /// Shared with this task's effect jobs in the worker pool: cleared when the task ends cancelled or
  /// aborted, so a job whose handler has not started yet is dropped instead of run for nobody.
  std::shared_ptr<std::atomic<bool>> effects_wanted_;
  /// Resumed from the journal: its effect mark, which tells the first effect dispatched whether it
  /// was in flight at the crash, and how often (dispatch_effect); cleared by that dispatch.
  std::optional<eventlog::effect_mark> resumed_mark_;
  void give_place_up();
  /// A cancelled or aborted task's effect jobs that have not started are dropped (effects_wanted_).
  void drop_pending_effects();
  bool holds_place_ = false; ///< counted in engine_core::admission (see hold_place)
  bool gave_place_up_ = false; ///< held one, gave it up to wait; takes one again on waking
  bool cancel_at_start_ = false;
  std::uint64_t rng_state_ = 0; ///< splitmix64 state, seeded on the first random() (most tasks never draw)
  std::shared_ptr<replay_session> session_;
  const function_entry* shadow_ = nullptr;
  std::vector<std::shared_ptr<recording>> recorders_;
  bool spawned_by_parent_ = false; ///< setup::spawned
  std::shared_ptr<recording> own_recording_; ///< this task's tree, when it is shadowed
  std::chrono::nanoseconds cpu_mark_{0};     ///< in a session: thread CPU time already charged
  std::uint32_t session_ops_ = 0;            ///< in a session: ops so far (CPU charged every 32)
};

} // namespace actors::detail
