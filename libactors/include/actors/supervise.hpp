#pragma once
// Building supervision trees for engine::supervise (the vocabulary, options and defaults are documented
// in <actors/supervision.hpp>):
//
//   actors::supervisor_spec sessions{.name = "sessions",
//                                    .flags = {.strategy = actors::supervision::strategy::one_for_one,
//                                              .intensity = 3, .period = 10s}};
//   sessions.children.push_back(actors::worker("alice", "session", std::string{"alice"}));
//   eng.supervise(sessions);
//
// A task child is a durable task of a registered function; its task id stays the same across restarts
// (messages sent to it wait in its mailbox while it restarts), see engine::supervised_task.

#include <memory>
#include <string>
#include <utility>

#include "actors/detail/op.hpp"
#include "actors/serialization.hpp"
#include "actors/supervision.hpp"

namespace actors {

using supervision::child_spec;
using supervision::supervisor_flags;
using supervision::supervisor_spec;

/// A child that runs `function` (routed like any call) with `input` (OTP's "worker").
template <class In>
child_spec worker(std::string id, std::string function, In&& input) {
  using input_type = detail::normalized_input_t<In>;
  auto value = std::make_shared<const input_type>(std::forward<In>(input));
  child_spec c;
  c.id = std::move(id);
  c.function = std::move(function);
  c.input = [value](const std::type_info& target) {
    return detail::encode_input<input_type>(*value, target);
  };
  c.input_type = &typeid(input_type);
  c.input_text = render(*value);
  return c;
}

/// A child that is a supervisor.
inline child_spec supervisor_child(std::string id, supervisor_spec sup) {
  child_spec c;
  c.id = std::move(id);
  c.supervisor = std::make_shared<const supervisor_spec>(std::move(sup));
  return c;
}

} // namespace actors
