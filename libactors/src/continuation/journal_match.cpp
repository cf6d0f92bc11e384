#include "continuation/journal_match.hpp"

namespace actors::detail {

namespace {

using eventlog::event_kind;

/// Splits "F@V" into (F, V); V is empty when there is no '@'.
std::pair<std::string_view, std::string_view> split_qualified(std::string_view s) noexcept {
  auto at = s.rfind('@');
  if (at == std::string_view::npos)
    return {s, {}};
  return {s.substr(0, at), s.substr(at + 1)};
}

std::string_view asked_value(field f, const op& o) noexcept {
  switch (f) {
    case field::effect:
    case field::recipient: // "1a2b…": the target's id as ctx::send names it, as journaled
    case field::message_type:
    case field::function:
    case field::child:
      return o.name;
    case field::pinned_version:
      return o.version;
    default:
      return o.request;
  }
}

std::string_view journaled_value(field f, const journaled_op& j) noexcept {
  switch (f) {
    case field::effect:
    case field::recipient:
    case field::message_type:
    case field::child:
      return j.name;
    case field::function:
      return split_qualified(j.name).first;
    case field::pinned_version:
      return split_qualified(j.name).second;
    default:
      return j.request;
  }
}

bool compared(field f, const op& o, const journaled_op& j, fields which) noexcept {
  bool is_input = f == field::input;
  if (which == fields::identity && is_input)
    return false;
  if (which == fields::input && !is_input)
    return false;
  bool started = !journaled_version(j).empty();
  if (f == field::pinned_version) // an unpinned call routes freely; one that never started ran none
    return !o.version.empty() && started;
  if (is_input) // a call that never started journaled no input
    return started;
  return true;
}

/// "no timeout", "timeout 20 ms": a receive's timeout as ctx::receive encodes it (ns, -1: none).
std::string timeout_text(std::string_view request) {
  auto ns = static_cast<std::int64_t>(decode_u64(std::string{request}));
  return ns < 0 ? std::string{"no timeout"} : "timeout " + std::to_string(ns / 1'000'000) + " ms";
}

std::string joined(std::string_view a, std::string_view b) {
  std::string out{a};
  if (!b.empty()) {
    out += ' ';
    out += b;
  }
  return out;
}

} // namespace

journaled_op view(const eventlog::event& ev) noexcept {
  return journaled_op{ev.kind, ev.name, ev.request, ev.result, ev.text, ev.failed, ev.ref};
}

std::string_view journaled_version(const journaled_op& j) noexcept {
  if (j.kind != event_kind::call && j.kind != event_kind::spawn)
    return {};
  return split_qualified(j.name).second;
}

match_result match(const op& asked, const journaled_op& journaled, fields which) {
  if (which != fields::input && event_kind_of(asked.kind) != journaled.kind)
    return {mismatch{field::kind, words(field::kind)}};
  auto rule = rule_of(asked.kind);
  for (std::size_t i = 0; i < rule.count; ++i) {
    auto f = rule.fields[i];
    if (compared(f, asked, journaled, which) && asked_value(f, asked) != journaled_value(f, journaled))
      return {mismatch{f, words(f)}};
  }
  return {};
}

match_result match_cancelled(const asker& who, const journaled_op& mark) {
  if (who.task != mark.task || !who.spawned)
    return {mismatch{field::kind, words(field::kind)}};
  if (who.function != mark.name)
    return {mismatch{field::function, words(field::function)}};
  return {};
}

std::string describe_journaled(const journaled_op& j) {
  switch (j.kind) {
    case event_kind::receive: {
      std::string out = "receive " + std::string{j.name} + " (" + timeout_text(j.request) + ") -> ";
      if (!j.failed && (j.result.empty() || j.result[0] == '\0'))
        return out + "timed out";
      return out + std::string{j.text};
    }
    case event_kind::now:
    case event_kind::random:
    case event_kind::sleep:
    case event_kind::send: // the text names the recipient and the type: "5 -> task 1a2b… (long)"
      return joined(eventlog::to_string(j.kind), j.text);
    default:
      return joined(joined(eventlog::to_string(j.kind), j.name), j.text);
  }
}

std::string describe_asked(const op& o) {
  switch (o.kind) {
    case op_kind::now: return "now";
    case op_kind::random: return "random [0, " + o.text + ")";
    case op_kind::effect: return joined("effect " + o.name, o.render_request());
    case op_kind::sleep: return "sleep " + o.text;
    case op_kind::send:
      return "send " + o.render_request() + " -> task " + o.name + " (" + o.type + ")";
    case op_kind::receive: return "receive " + o.name + " (" + o.text + ")";
    case op_kind::call:
    case op_kind::spawn:
      return joined(joined(eventlog::to_string(event_kind_of(o.kind)),
                           o.version.empty() ? o.name : o.name + "@" + o.version),
                    o.render_request());
    default:
      return joined(joined(eventlog::to_string(event_kind_of(o.kind)), o.name), o.text);
  }
}

} // namespace actors::detail
