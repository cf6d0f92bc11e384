#pragma once
// replay_session — one run of a call tree against another call tree's journal (DESIGN §3, §4): the shadow
// run of a candidate version after its primary completed, and the base of task replay.
//
// Nothing a session's tasks do is journaled, and no effect handler is called. The recorded tree is
// flattened into its *leaf effects* (now, random, user effects, sleep, send, receive) in depth-first
// order: calls are transparent and logs never count. Each leaf effect the run asks for, in any task of
// its tree, must be the recording's next one — compared by the journal matcher that resume uses too
// (continuation/journal_match.hpp: kind, then each field of the kind: effect and request, recipient and
// message, message type and timeout, bound, duration) — and is answered with the recorded result;
// anything else is the run's first divergence, with the field's words ("different recipient"), and the
// run stops there without executing it.
// When the run's root ends, what the recording has left and the output (or error) are compared.
// A spawned child that was cancelled (a sibling failed, or its parent cancelled it) leaves a `cancelled`
// mark after its last leaf effect: the session's child stops there as cancelled, as it did live.
//
// A session is shared by the task runtimes of one run. Their ops are sequential (a task waits for the
// child it calls), but they run on different CAF threads: the mutex makes that explicit.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "actors/detail/op.hpp"
#include "actors/eventlog/event.hpp"
#include "task/completion.hpp"
#include "continuation/journal_match.hpp"

namespace actors::eventlog {
class journal;
}

namespace actors::detail {

/// One leaf effect of a recorded call tree. The same fields whether it was recorded in memory while the
/// primary ran (`task_runtime::record`) or read back from the journal (`read_recording`).
struct recorded_effect {
  eventlog::event_kind kind = eventlog::event_kind::now;
  std::string name;
  std::string request;
  bool failed = false;
  std::string result;
  std::string text;       ///< the event's rendering ("{url: ...} -> {...}")
  std::uint64_t task = 0; ///< where it was recorded: task and seq
  std::uint32_t seq = 0;

  /// What the journal matcher compares and renders.
  journaled_op view() const noexcept { return {kind, name, request, result, text, failed, task}; }
};

/// A finished call tree as the journal recorded it, flattened for comparison.
struct recording {
  std::uint64_t task = 0;
  std::string function;
  std::string version;
  std::uint64_t root = 0;              ///< the root of the tree the task belongs to
  std::string input_type;              ///< the root's input type, as journaled
  std::string input;                   ///< the root's serialized input
  std::vector<recorded_effect> effects;///< leaf effects, depth-first
  /// The ids of the children the tree started (calls and spawns), depth-first: a session's children
  /// take them in turn, so a run sees the recorded identities (in messages, in errors) as its root does.
  std::vector<std::uint64_t> children;
  /// Recorded in memory while running, but a task of the tree spawned children, which ran at the same
  /// time: the order is not depth-first, read the tree from the journal instead.
  bool concurrent = false;
  bool failed = false;                 ///< the root failed (threw) instead of completing
  std::string output;                  ///< output bytes, or the failure message
  std::string output_text;             ///< readable output or failure message
  std::size_t tasks = 0;               ///< tasks in the recorded tree
  std::size_t events = 0;              ///< journal events read (all kinds, all tasks)
  /// The version each function of the tree ran (the first seen, depth-first), root included.
  std::map<std::string, std::string, std::less<>> versions;
};

/// Reads the call tree rooted at `task` from `j`. Errors: the task is unknown, has not finished
/// (completed or failed), or its journal is incomplete.
caf::expected<recording> read_recording(eventlog::journal& j, std::uint64_t task);

/// The first difference between a run and its recording.
struct divergence_point {
  std::int64_t position = -1; ///< index of the first differing leaf effect; -1: the output
  std::string what;           ///< "different request", "extra effect", "missing effect", "output", ...
  std::string recorded;       ///< the recording's side, rendered for people
  std::string replayed;       ///< the run's side, rendered for people
};

class replay_session;

/// How a session runs.
struct session_options {
  /// The CPU time the whole run may use (its tasks report what they use with `spend`; checked at every
  /// effect, call and at the end). CPU time, not wall time: a run that waits for a CPU — shadow runs
  /// execute at idle priority — is not charged for waiting.
  std::chrono::nanoseconds cpu_bound{std::chrono::seconds{10}};
  /// Runs in the engine's idle-priority actor system (shadow runs), not with live tasks (replay,
  /// which someone waits for).
  bool background = false;
  /// Calls of these functions that are not pinned go to these versions; others route as live calls.
  std::map<std::string, std::string, std::less<>> versions;
  /// Called once the run's root has ended and been compared (on the root's thread).
  std::function<void(const replay_session&)> on_end;
};

class replay_session {
public:
  replay_session(recording rec, session_options opts);

  const recording& recorded() const noexcept { return rec_; }
  bool background() const noexcept { return opts_.background; }
  /// The version calls of `function` go to in this run, or nullptr (route as a live call).
  const std::string* version_for(std::string_view function) const;

  /// What the recording makes of a leaf effect a task of the run asks for.
  enum class answer_kind {
    answered,  ///< `o.failed` and `o.result` are set from the recording
    cancelled, ///< the asking task, a spawned child, was cancelled here in the recording: stop it so
    diverged,  ///< recorded as the divergence: the run must stop
  };
  /// Answers a leaf op (now, random, user effect, sleep, send, receive) of task `who` from the
  /// recording.
  answer_kind answer(op& o, const asker& who);

  /// The id of the next child the run starts: the recorded one in the same place, or `fresh()` once
  /// the recording has no more.
  std::uint64_t next_child_id(const std::function<std::uint64_t()>& fresh);

  /// A log line of the run (captured, never compared).
  void log(std::string line);

  /// Compares the run's end with the recording once the run's root finished (`out.text` renders a
  /// completed output), then calls the end handler. Afterwards `divergence()` is final.
  void finish(const outcome& out);

  /// The first divergence, if any so far.
  std::optional<divergence_point> divergence() const;
  /// The run's log lines, in order.
  std::vector<std::string> logs() const;
  /// Leaf effects answered so far.
  std::size_t answered() const;
  /// How the run's root ended (once `finish` was called).
  std::optional<outcome> ended() const;
  /// Charges CPU time one of the run's tasks used.
  void spend(std::chrono::nanoseconds cpu);
  /// Whether the run used more CPU time than its bound; records a "timeout" divergence the first time.
  bool expired();

private:
  void compare_end(const outcome& out);
  bool diverge_locked(std::int64_t position, std::string what, std::string recorded,
                      std::string replayed);

  const recording rec_;
  const session_options opts_;
  std::chrono::nanoseconds spent_{0};
  std::optional<outcome> ended_;
  mutable std::mutex mx_;
  std::size_t cursor_ = 0;
  std::size_t child_cursor_ = 0;
  std::optional<divergence_point> divergence_;
  std::vector<std::string> logs_;
};

} // namespace actors::detail
