// The exceptions a failed op throws in task code (effect_error, call_error). A translation unit of its
// own: code compiled into a module links it without pulling in the engine.

#include "actors/ctx.hpp"
#include "actors/eventlog/event.hpp"
#include "continuation/journal_match.hpp"

namespace actors::detail {

namespace {

std::string_view kind_name(op_kind k) {
  return eventlog::to_string(event_kind_of(k));
}

} // namespace

void throw_op_failure(const op& o) {
  if (o.kind == op_kind::call || o.kind == op_kind::spawn)
    throw call_error("call to " + o.name + (o.version.empty() ? "" : "@" + o.version) +
                     " failed: " + o.result);
  if (o.kind == op_kind::join)
    throw call_error("child task " + o.name + " failed: " + o.result);
  auto name = o.kind == op_kind::effect && !o.name.empty() ? o.name : std::string{kind_name(o.kind)};
  throw effect_error("effect '" + name + "' failed: " + o.result);
}

} // namespace actors::detail
