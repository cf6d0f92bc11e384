#pragma once
// Journal matching (DESIGN §10): the one comparison of an op that task code asks for with the op a
// journal — or a recording of one — holds at the same place. Resume (`task_runtime::replay`) and replay
// and shadow sessions (`replay_session::answer`) both call `match`, so a difference is a divergence in
// all three, with the same words. A table (op kind -> fields compared, `rule_of`) says what counts; each
// field has its own words ("different recipient"); `describe_journaled` and `describe_asked` render the
// two sides for people.
//
// Owns: the table, the op_kind / event_kind correspondence (checked at compile time below), the words,
// the renderings. Pure: no state, no I/O; thread-safe.
//
// Does not own — and these differences between its callers stay explicit in them:
// - Logs are never compared: resume skips journaled logs, sessions capture log lines.
// - Sessions compare *leaf* effects only (now, random, effects, sleep, send, receive), depth-first across
//   the call tree: calls and spawns are transparent there (the children's effects are compared where
//   they were made) and a join is answered from the child's outcome. The one place a session sees a
//   spawned child itself is the `cancelled` mark the recording carries where the child was cancelled:
//   `match_cancelled`.
// - Resume compares calls and spawns in two steps: their identity (`fields::identity`: function, pinned
//   version) first; then the caller prepares the call for the journaled version — which encodes the
//   input for that version's input type — and compares the input (`fields::input`). A journaled call
//   that never started a child (it failed to route) has no version and no input: only its function is
//   compared, and it is not prepared again.
// - A send's message type is not compared: the send event does not journal it (the bytes are compared).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actors/detail/op.hpp"
#include "actors/eventlog/event.hpp"

namespace actors::detail {

// --- op_kind and event_kind -------------------------------------------------------------------------

/// The event an op of kind `k` is journaled as. Every op_kind must have a case (-Wswitch warns).
constexpr eventlog::event_kind event_kind_of(op_kind k) noexcept {
  using eventlog::event_kind;
  switch (k) {
    case op_kind::now: return event_kind::now;
    case op_kind::random: return event_kind::random;
    case op_kind::log: return event_kind::log;
    case op_kind::effect: return event_kind::effect;
    case op_kind::call: return event_kind::call;
    case op_kind::sleep: return event_kind::sleep;
    case op_kind::send: return event_kind::send;
    case op_kind::receive: return event_kind::receive;
    case op_kind::spawn: return event_kind::spawn;
    case op_kind::join: return event_kind::join;
  }
  return event_kind::log; // not an op_kind
}

/// Every op_kind, for the compile-time checks.
inline constexpr std::array all_op_kinds{op_kind::now,   op_kind::random,  op_kind::log,
                                         op_kind::effect, op_kind::call,   op_kind::sleep,
                                         op_kind::send,  op_kind::receive, op_kind::spawn,
                                         op_kind::join};

/// An op_kind and its event_kind have the same value (journals store event_kind values), and no two op
/// kinds share one.
consteval bool op_kinds_equal_event_kinds() {
  for (std::size_t i = 0; i < all_op_kinds.size(); ++i) {
    auto k = all_op_kinds[i];
    if (static_cast<std::uint8_t>(k) != static_cast<std::uint8_t>(event_kind_of(k)))
      return false;
    for (std::size_t j = 0; j < i; ++j)
      if (all_op_kinds[j] == k)
        return false;
  }
  return true;
}
static_assert(op_kinds_equal_event_kinds(),
              "op_kind values must equal their eventlog::event_kind counterparts");

// --- the table --------------------------------------------------------------------------------------

/// A compared field of a journaled op.
enum class field : std::uint8_t {
  kind,           ///< the op's kind: "different kind of effect"
  effect,         ///< an effect's name: "different effect"
  request,        ///< an effect's serialized request: "different request"
  bound,          ///< random's n: "different bound"
  duration,       ///< sleep's duration: "different duration"
  recipient,      ///< the task a send goes to: "different recipient"
  message,        ///< a send's message bytes: "different message"
  message_type,   ///< the type a receive expects: "different message type"
  timeout,        ///< a receive's timeout: "different timeout"
  function,       ///< a call's or spawn's function: "different function"
  pinned_version, ///< the version a call or spawn pins: "different pinned version"
  input,          ///< a call's or spawn's serialized input: "different input"
  child,          ///< the spawned child a join waits for: "different child"
};

/// The words a divergence in `f` is reported with.
constexpr std::string_view words(field f) noexcept {
  switch (f) {
    case field::kind: return "different kind of effect";
    case field::effect: return "different effect";
    case field::request: return "different request";
    case field::bound: return "different bound";
    case field::duration: return "different duration";
    case field::recipient: return "different recipient";
    case field::message: return "different message";
    case field::message_type: return "different message type";
    case field::timeout: return "different timeout";
    case field::function: return "different function";
    case field::pinned_version: return "different pinned version";
    case field::input: return "different input";
    case field::child: return "different child";
  }
  return "different op";
}

/// What is compared for one op kind, in order, after the kind itself.
struct kind_rule {
  op_kind kind;
  std::array<field, 3> fields{};
  std::size_t count = 0;
};

/// The table: the fields compared for each op kind.
constexpr kind_rule rule_of(op_kind k) noexcept {
  switch (k) {
    case op_kind::now: return {k, {}, 0};
    case op_kind::random: return {k, {field::bound}, 1};
    case op_kind::log: return {k, {}, 0}; // callers never compare logs
    case op_kind::effect: return {k, {field::effect, field::request}, 2};
    case op_kind::sleep: return {k, {field::duration}, 1};
    case op_kind::send: return {k, {field::recipient, field::message}, 2};
    case op_kind::receive: return {k, {field::message_type, field::timeout}, 2};
    case op_kind::call:
    case op_kind::spawn: return {k, {field::function, field::pinned_version, field::input}, 3};
    case op_kind::join: return {k, {field::child}, 1};
  }
  return {k, {}, 0};
}

consteval bool every_kind_has_its_rule() {
  for (auto k : all_op_kinds)
    if (rule_of(k).kind != k || rule_of(k).count > rule_of(k).fields.size())
      return false;
  return true;
}
static_assert(every_kind_has_its_rule());

// --- matching -----------------------------------------------------------------------------------------

/// An op as a journal (or a recording of one) holds it: a view of an eventlog::event or of a recording's
/// entry. Valid while what it views is.
struct journaled_op {
  eventlog::event_kind kind = eventlog::event_kind::log;
  std::string_view name;    ///< effect name; send: recipient task; receive: message type; call, spawn:
                            ///< "function@version" ("function" if it never started); join: the child;
                            ///< cancelled mark: the child's function
  std::string_view request; ///< request, bound, duration, message, timeout or input bytes
  std::string_view result;  ///< result bytes (or the error text when `failed`)
  std::string_view text;    ///< the journal's rendering
  bool failed = false;
  std::uint64_t task = 0;   ///< a cancelled mark: the cancelled child
};

/// Views `ev`.
journaled_op view(const eventlog::event& ev) noexcept;

/// The first difference between an asked op and a journaled one.
struct mismatch {
  field which = field::kind;
  std::string_view what; ///< words(which)
};

/// `ok()`, or the first field that differs.
struct match_result {
  std::optional<mismatch> diff;
  bool ok() const noexcept { return !diff; }
};

/// Which of a kind's fields `match` compares (see the header comment: resume compares a call's input
/// only once it prepared the call).
enum class fields : std::uint8_t {
  all,      ///< the kind and every field of its rule
  identity, ///< all but a call's or spawn's input
  input,    ///< only a call's or spawn's input (nothing for other kinds)
};

/// Compares `asked` with `journaled`: the kind, then the fields of the kind's rule in order.
match_result match(const op& asked, const journaled_op& journaled, fields which = fields::all);

/// The version a journaled call or spawn ran ("" if it never started a child).
std::string_view journaled_version(const journaled_op& j) noexcept;

/// Who asks for a leaf effect in a session.
struct asker {
  std::uint64_t task = 0;    ///< its task id (a session's children take the recorded ids)
  std::string_view function;
  bool spawned = false;      ///< started by ctx::spawn
};

/// Compares the task asking for a leaf effect with a recording's `cancelled` mark (sessions only): ok if
/// it is the spawned child the mark stands for (same task, same function), which then stops there as
/// cancelled; "different function" if that child runs another function; else "different kind of
/// effect" (the recording's child was cancelled here, the run asks for an effect).
match_result match_cancelled(const asker& who, const journaled_op& mark);

/// Renders a journaled op for people: "effect db.get {3} -> \"user3\"", "send 5 -> task 1a2b… (long)",
/// "receive long (no timeout) -> 5 (from outside)".
std::string describe_journaled(const journaled_op& j);

/// Renders an asked op for people, in the same shape: "effect db.get {4}", "send 5 -> task 3c4d…
/// (long)", "receive std::string (no timeout)".
std::string describe_asked(const op& o);

} // namespace actors::detail
