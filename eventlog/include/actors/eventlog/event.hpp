#pragma once
// The journal's data model: one row per task (`task_record`) and an append-only, ordered list of
// `event`s per task. Payloads are opaque bytes (Boost binary archives written by the engine); the
// `text` column is a short human-readable rendering for tools. The eventlog never interprets payloads.

#include <cstdint>
#include <string>
#include <string_view>

namespace actors::eventlog {

/// What an event records. Values are stored in the journal: never renumber, only append.
enum class event_kind : std::uint8_t {
  started = 1,    ///< seq 0 of every task: the function's input (request).
  now = 2,        ///< `ctx::now()`: result is the clock value.
  random = 3,     ///< `ctx::random(n)`: request n, result the drawn value.
  log = 4,        ///< `ctx::log(...)`: text only; never compared.
  effect = 5,     ///< a user effect: name, request, result (or error text when `failed`).
  call = 6,       ///< a child task's result: name = function, ref = child task id.
  completed = 7,  ///< the task's output (result).
  failed = 8,     ///< the task failed: result holds the error text.
  routed = 9,     ///< a routing decision (reserved for the routing layer).
  cancelled = 10, ///< the task was cancelled (`task cancel`, engine::cancel): its end.
  sleep = 11,     ///< `ctx::sleep(d)`: request d (ns), result the deadline (ns since the epoch).
  send = 12,      ///< `ctx::send(to, msg)`: ref = the message id, name = the target task, request the
                  ///< message bytes. Journaled with the message itself (one transaction).
  receive = 13,   ///< `ctx::receive<T>(timeout)`: ref = the message id (0: timed out), name = its
                  ///< type, result the message bytes.
  restarted = 14, ///< a supervisor restarted the ended task: its history from `ref` (a seq) on is
                  ///< rewound (see journal.hpp, `history`); the task runs again.
  spawn = 15,     ///< `ctx::spawn`: a child started without waiting; name = function@version, ref = the
                  ///< child task id, request its input, result its handle.
  join = 16,      ///< `co_await` on a spawned child: ref = the child, result its output (or error).
};

/// Returns the lower-case name of `x` ("effect", "call", ...), or "unknown".
std::string_view to_string(event_kind x) noexcept;

/// Lifecycle state of a task, kept in the tasks table and updated by the task's last event.
enum class task_status : std::uint8_t {
  running = 0,
  completed = 1,
  failed = 2,
  cancelled = 3,
};

/// Returns "running", "completed", "failed", "cancelled", or "unknown".
std::string_view to_string(task_status x) noexcept;

/// One journaled event of one task.
struct event {
  std::uint64_t task = 0;   ///< Owning task id.
  std::uint32_t seq = 0;    ///< Position in the task's history; 0 is `started`.
  event_kind kind = event_kind::log;
  bool failed = false;      ///< For `effect`/`call`: the effect or child failed; `result` is the error text.
  std::string name;         ///< Effect name, function name (started, call), or empty.
  std::uint64_t ref = 0;    ///< For `call`: the child task id.
  std::string request;      ///< Serialized request bytes (may be empty).
  std::string result;       ///< Serialized result bytes (may be empty).
  std::string text;         ///< Human-readable rendering for tools.
  std::int64_t ts = 0;      ///< Wall-clock time of the append, nanoseconds since the Unix epoch.
};

/// One row of the tasks table: identity, place in the call tree, and current status.
struct task_record {
  std::uint64_t id = 0;
  std::uint64_t parent = 0;       ///< 0 for a root task.
  std::uint64_t root = 0;         ///< The root of the call tree (== id for a root task).
  std::uint32_t parent_seq = 0;   ///< The parent's event seq at which this child was called.
  std::string function;
  std::string version;
  std::string input_type;         ///< Human-readable C++ type name of the input.
  task_status status = task_status::running;
  std::int64_t created = 0;       ///< ns since the Unix epoch.
  std::int64_t finished = 0;      ///< ns since the Unix epoch, 0 while running.
  /// Why the task runs this version (actors::describe(route_decision)): "default", "pinned", "policy",
  /// "override", "shadow v2", "percent bucket 27 < 30". Empty in journals older than schema 2.
  std::string route;
  /// The caller's start key (engine::start with actors::start_key), written to the start_keys table by
  /// append_task. Not read back by the task reads (journal::find_start_key looks a key up).
  std::string start_key;
};

/// The first difference between a shadow run (candidate) and the primary run it shadows (DESIGN §3).
struct divergence_record {
  std::int64_t id = 0;             ///< Assigned by the journal (rowid), 0 before.
  std::uint64_t task = 0;          ///< The primary's task id.
  std::string function;
  std::string primary_version;
  std::string candidate_version;
  std::int64_t position = -1;      ///< Index of the first differing leaf effect; -1: the output.
  std::string what;                ///< "effect", "output", "error", "timeout", "missing effect", ...
  std::string primary_side;        ///< The primary's side, rendered for people.
  std::string candidate_side;      ///< The candidate's side, rendered for people.
  std::int64_t ts = 0;             ///< ns since the Unix epoch.
};

/// A message in a task's mailbox (`ctx::send`, `engine::send`). Kept after it is received: a message
/// is pending while its target has no `receive` event referring to it.
struct message_record {
  std::uint64_t id = 0;         ///< Increasing: a mailbox delivers in id order.
  std::uint64_t target = 0;     ///< The receiving task.
  std::uint64_t sender = 0;     ///< The sending task, 0 from outside (engine::send).
  std::uint32_t sender_seq = 0; ///< The sender's `send` event.
  std::string type;             ///< The C++ type of the payload (readable).
  std::string payload;          ///< Serialized bytes.
  std::string text;             ///< Readable rendering.
  std::int64_t ts = 0;          ///< ns since the Unix epoch.
};

/// One node of a supervision tree as last reported by the engine running it (for `engine sup tree`):
/// a supervisor (`child` empty) or one of its children.
struct supervision_record {
  std::string supervisor;     ///< The supervisor's name (unique per engine).
  std::string child;          ///< The child's id; empty: the row of the supervisor itself.
  std::string parent;         ///< For a supervisor: its parent supervisor's name (empty: top level).
  int position = 0;           ///< Start order among its siblings.
  std::string kind;           ///< "supervisor", "task"
  std::string function;       ///< task children: function@version
  std::uint64_t task = 0;     ///< task children: the task id (stable across restarts)
  std::string state;          ///< "running", "restarting", "stopped", "completed", "failed", ...
  std::uint32_t restarts = 0; ///< Restarts so far.
  std::string detail;         ///< Strategy and intensity (supervisors), or the last end (children).
  std::int64_t updated = 0;   ///< ns since the Unix epoch.
};

/// That effect `seq` of `task` was handed to its handler for the `attempt`th time (journal::mark_effect).
/// A task keeps one mark, its latest effect's: a task runs one effect at a time, and only the one at the
/// end of its journal — whose result is not journaled — can have been in flight at a crash.
struct effect_mark {
  std::uint64_t task = 0;
  std::uint32_t seq = 0;
  std::uint32_t attempt = 0; ///< 1 the first time
  std::string name;          ///< the effect's name (a resumed run of other code at `seq` starts over)
};

/// A routing decision set at run time (engine::set_policy / override_route, `route set`), kept in the
/// journal so that every engine on the file — in this process or another — routes by it.
struct route_record {
  std::string function;
  std::uint64_t root = 0;    ///< 0: the function's policy; else an override for the tree rooted here
  std::string mode;          ///< "primary", "shadow" or "percent" (overrides: "primary")
  std::string primary;       ///< the version (primary / override)
  std::string candidate;     ///< shadow and percent
  int percent = 0;           ///< percent only
  std::int64_t updated = 0;  ///< ns since the Unix epoch
};

} // namespace actors::eventlog
