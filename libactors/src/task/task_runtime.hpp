#pragma once
// task_runtime — everything one task is: its record, its journal position, its continuation (what its
// code is between steps: continuation/continuation.hpp) and the operation it waits for. Owned by the
// task's CAF actor (task_actor) and used only on that actor's thread. It answers ops from the recorded
// journal while one remains (resume), then runs them live.
// Its member functions are defined by kind of operation: task_runtime.cpp (its life and the dispatch
// of ops), replay_ops.cpp, effect_ops.cpp, call_ops.cpp, mail_ops.cpp, timer_ops.cpp, cancel_ops.cpp.
//
// A runtime in a replay session (`setup::session`: a shadow run) journals nothing and calls no effect
// handler: its leaf effects are answered by the session from another tree's recording, its calls start
// children in the same session, and its end goes to its parent or, for the session's root, to the
// session.

#include <algorithm>
#include <atomic>
#include <chrono>
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
#include "continuation/coroutine_continuation.hpp"
#include "task/completion.hpp"
#include "replay/replay_session.hpp"
#include "task/version_ref.hpp"

namespace caf {
class event_based_actor;
}

namespace actors::detail {

class task_host;

/// The entry points of every task_runtime (ctx.cpp).
extern const runtime_ops task_runtime_ops;

class task_runtime : public runtime_base {
public:
  /// What a task starts from: its record and input, plus, when resumed, its journal so far.
  struct setup {
    eventlog::task_record rec;
    std::shared_ptr<const invoker> fn;
    /// The version `fn` is, held for the task's life (so a retired version drains only once its
    /// tasks have ended).
    version_ref version;
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
    version_ref shadow;
    /// Recordings of shadowed ancestors' trees this task's leaf effects belong to (in memory, so a
    /// shadow run need not read the journal back). Children inherit them.
    std::vector<std::shared_ptr<recording>> recorders;
    /// Started by ctx::spawn (not a call): in a session it may stop where the recording cancelled it.
    bool spawned = false;
    /// A root task's entry in the completion registry, when its starter has it at hand (fresh starts):
    /// its end is reported there without a lookup. Null: looked up by id.
    std::shared_ptr<detail::completion> entry_state;
  };

  task_runtime(task_host& host, setup s);
  ~task_runtime();

  /// The task holds a place among engine_config::max_running_tasks (set by admission::admit before
  /// it spawns): it gives it up while it waits for anything but an effect, and when it ends.
  void hold_place() noexcept { place_ = place::held; }
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
  bool finished() const noexcept { return life_ == life::finished; }
  /// Why the task's actor exits, for monitors (supervisors): empty for a task that completed or was
  /// cancelled or detached; task_failed (it threw) or the error that stopped it otherwise.
  caf::error exit_reason() const;
  /// Called as the actor quits: a root task's completion entry stops naming this actor, so nobody
  /// (a supervisor taking a resumed task over) mistakes the quitting actor for a running task.
  void before_exit();

  // --- driven by ctx's awaiters -------------------------------------------------------------------
  /// Starts `o`: answers it (from the journal, live or in its session) and returns true, or returns
  /// false when the task must wait for it: then suspend(o), and the continuation resumes with `o` once
  /// it is answered (or the task ends without it).
  bool begin(op& o);
  void suspend(op& o);

  // --- what ctx exposes ---------------------------------------------------------------------------
  task_id id() const noexcept { return task_id{rec_.id}; }
  task_id root() const noexcept { return task_id{rec_.root}; }
  const std::string& function() const noexcept { return rec_.function; }
  const std::string& version() const noexcept { return rec_.version; }
  /// Cancels the child spawned at `seq` if it runs (ctx::cancel).
  void cancel_child(std::uint32_t seq);
  bool replaying() const noexcept { return session_ != nullptr || pos_.cursor < pos_.recorded.size(); }
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
  caf::expected<routed_version> route_call(const std::string& fn, const std::string& pinned) const;
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
  /// Runs the continuation on (its first step when `answered` is null, see continuation::resume), the
  /// task holding a place again and, in a session, the CPU charged; then after_resume(). `answered` is
  /// not used once the continuation runs (a coroutine's op lives in its frame).
  void resume(op* answered);
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

  void give_place_up();
  /// A cancelled or aborted task's effect jobs that have not started are dropped (effects_wanted_).
  void drop_pending_effects();

  // --- state ------------------------------------------------------------------------------------

  /// Where a task is in its life: one state machine (it replaces the flags cancelling_,
  /// detach_waits_effect_ and finished_). running -> detaching (on_detach while an effect handler
  /// runs) -> finished; running or detaching -> cancelling (on_cancel: a cancel outranks a detach) ->
  /// finished; any -> finished (complete, abort, end_cancelled, on_detach).
  enum class life : std::uint8_t {
    running,    ///< its code runs or waits for an op
    detaching,  ///< the engine stops while an effect runs: it detaches once the result is journaled
    /// Cancelled: it ends once what it waits for has ended (cancel_wait_, its spawned children). Its
    /// code is not resumed for an effect or call it waited for, but is by a timer or message that
    /// comes in the meantime (kept as it was: see on_cancel).
    cancelling,
    finished, ///< ended (completed, failed, cancelled, aborted or detached): nothing of it runs again
  };
  /// What a cancelling task waits for besides its spawned children (it replaces the flags
  /// cancel_waits_call_ and cancel_waits_effect_, which the pending op's one kind made exclusive).
  enum class cancel_wait : std::uint8_t {
    nothing,
    call,   ///< the child of the pending call, told to cancel, has yet to end
    effect, ///< cancelled gracefully: the running effect handler has yet to end (its result is journaled)
  };
  /// The task's place among engine_config::max_running_tasks, counted by the engine's admission (it
  /// replaces the flags holds_place_ and gave_place_up_).
  enum class place : std::uint8_t {
    none,     ///< not counted: not admitted through admission, or released at its end
    held,     ///< counted (hold_place)
    given_up, ///< held one, gave it up to wait (give_place_up); takes one again on waking (resume)
  };

  /// Where the task is in its journal: the history it answers ops from, and where live events go.
  struct journal_position {
    std::vector<eventlog::event> recorded; ///< setup::recorded, its ops only (not started, ends, routes)
    std::size_t cursor = 0;                ///< the next recorded event to answer
    std::uint32_t next_seq = 1;            ///< the seq of the next event it journals
    std::uint32_t floor_seq = 1; ///< live events number from here at least (after a restart)
    /// The lsn of its last append (setup::created_lsn at first). Written, not read: kept as it was.
    eventlog::lsn last_lsn = 0;
  };
  /// The op the suspended task waits for, and what begin() prepared for it before suspend().
  struct pending_op {
    op* o = nullptr;
    std::uint32_t seq = 0;
    std::uint64_t child = 0;       ///< the child of the pending call (or of a spawn, in a session)
    caf::actor child_actor;        ///< the child started for the pending call (not for resumed children)
    std::uint32_t join_seq = 0;    ///< the spawn seq of the child the pending join waits for
    route_decision route;          ///< how the call being prepared was routed
    version_ref version;           ///< the version route chose (handed to the child it starts)
    version_ref shadow;            ///< route's shadow candidate
    std::int64_t sleep_until = 0;  ///< the deadline (ns since the epoch) of the sleep being prepared
  };
  /// Its children: those a resumed task's journal names, and those ctx::spawn started (its nursery).
  struct children_state {
    std::unordered_map<std::uint32_t, eventlog::task_record> journaled; ///< setup::children, by seq
    std::map<std::uint32_t, spawned_child> spawned;                    ///< by the seq of their spawn
    std::uint32_t first_failure = 0; ///< the spawn seq of the first child that failed, until observed
    /// The body has ended; waiting for spawned children. Not a `life`: a cancelling task's body can
    /// end too (a timer resumed it), and it still ends as cancelled.
    bool nursery_waiting = false;
    bool any_running() const noexcept {
      return std::any_of(spawned.begin(), spawned.end(), [](const auto& kv) { return !kv.second.ended; });
    }
  };
  /// What the task's leaf effects are recorded for: shadow runs compare against these recordings.
  struct shadowing_state {
    version_ref shadow;                                ///< setup::shadow
    std::vector<std::shared_ptr<recording>> recorders; ///< setup::recorders, then `own`
    std::shared_ptr<recording> own;                    ///< this task's tree, when it is shadowed
  };
  /// In a session: the CPU its time bound counts (replay_session::spend).
  struct session_cpu {
    std::chrono::nanoseconds mark{0}; ///< thread CPU time already charged
    std::uint32_t ops = 0;            ///< ops so far (CPU charged every 32)
  };

  task_host& host_;
  /// setup::version: declared first, so the task lets go of its version only once its frames, its
  /// children's handles and everything else of it are gone.
  version_ref version_;
  eventlog::task_record rec_;
  std::string input_;
  journal_position pos_;
  children_state children_;
  caf::error exit_reason_;
  ctx ctx_;
  /// What the task is between steps. A coroutine task's continuation lives here, inside the runtime
  /// (a unique_ptr would cost an allocation per task on the hot path), after ctx_ (its frames refer to
  /// ctx_); another kind (flows) would live beside it. continuation_ is the interface the runtime
  /// drives: set by the constructor, never null.
  std::optional<coroutine_continuation> coroutine_;
  continuation* continuation_ = nullptr;
  caf::event_based_actor* self_ = nullptr;
  pending_op pending_;
  life life_ = life::running;
  cancel_wait cancel_wait_ = cancel_wait::nothing;
  caf::error abort_;
  caf::actor parent_;
  std::shared_ptr<completion> completion_; ///< setup::entry_state
  /// Shared with this task's effect jobs in the worker pool: cleared when the task ends cancelled or
  /// aborted, so a job whose handler has not started yet is dropped instead of run for nobody.
  std::shared_ptr<std::atomic<bool>> effects_wanted_;
  /// Resumed from the journal: its effect mark, which tells the first effect dispatched whether it
  /// was in flight at the crash, and how often (dispatch_effect); cleared by that dispatch.
  std::optional<eventlog::effect_mark> resumed_mark_;
  place place_ = place::none;
  /// Set by admission before the task starts (cancel_at_start) and read once by start(): a request
  /// waiting for it, not a state it is in, so not a `life`.
  bool cancel_at_start_ = false;
  std::uint64_t rng_state_ = 0; ///< splitmix64 state, seeded on the first random() (most tasks never draw)
  std::shared_ptr<replay_session> session_;
  shadowing_state shadowing_;
  /// setup::spawned: a fact about how it was started (which a session's answers need), fixed for life.
  bool spawned_by_parent_ = false;
  session_cpu session_cpu_;
};

} // namespace actors::detail
