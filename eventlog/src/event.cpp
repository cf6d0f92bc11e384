#include "actors/eventlog/event.hpp"

namespace actors::eventlog {

std::string_view to_string(event_kind x) noexcept {
  switch (x) {
    case event_kind::started:
      return "started";
    case event_kind::now:
      return "now";
    case event_kind::random:
      return "random";
    case event_kind::log:
      return "log";
    case event_kind::effect:
      return "effect";
    case event_kind::call:
      return "call";
    case event_kind::completed:
      return "completed";
    case event_kind::failed:
      return "failed";
    case event_kind::routed:
      return "routed";
    case event_kind::cancelled:
      return "cancelled";
    case event_kind::sleep:
      return "sleep";
    case event_kind::send:
      return "send";
    case event_kind::receive:
      return "receive";
    case event_kind::restarted:
      return "restarted";
    case event_kind::spawn:
      return "spawn";
    case event_kind::join:
      return "join";
  }
  return "unknown";
}

std::string_view to_string(task_status x) noexcept {
  switch (x) {
    case task_status::running:
      return "running";
    case task_status::completed:
      return "completed";
    case task_status::failed:
      return "failed";
    case task_status::cancelled:
      return "cancelled";
  }
  return "unknown";
}

} // namespace actors::eventlog
