// task_runtime, calls and child tasks: routing and type-checking a call, starting a child (journaled)
// or waiting for one a crash left behind, spawns and joins (the nursery), cancelling a spawned child,
// and hearing of a child's end. Member functions of task_runtime.

#include <spdlog/spdlog.h>

#include "task/task_runtime.hpp"

#include "actors/errc.hpp"
#include "actors/module.hpp"
#include "task/task_host.hpp"
#include "actors/effects.hpp"
#include "actors/engine.hpp"
#include "actors/eventlog/journal.hpp"
#include "runtime/work_count.hpp"
#include "runtime/worker_pool.hpp"
#include "task/mailbox.hpp"
#include "runtime/clock.hpp"
#include "runtime/tell.hpp"
#include "task/messages.hpp"

namespace actors::detail {

using eventlog::event;
using eventlog::event_kind;

// Routes a call and checks its types. On failure sets o.failed / o.result and returns false.
// Routes a call: in a session that fixes the function's version (replay), to that version unless the
// call is pinned; otherwise as any live call.
caf::expected<routed_version> task_runtime::route_call(const std::string& fn,
                                                       const std::string& pinned) const {
  if (session_ && pinned.empty())
    if (auto* v = session_->version_for(fn))
      return host_.route(fn, rec_.root, *v);
  return host_.route(fn, rec_.root, pinned);
}

bool task_runtime::prepare_call(op& o, const std::string& pinned) {
  auto route = route_call(o.name, pinned);
  if (!route) {
    o.failed = true;
    o.result = describe(route.error());
    return false;
  }
  const auto& entry = *route->decision.entry;
  auto inv = static_cast<const invoker*>(entry.impl.get());
  o.version = entry.version;
  pending_.route = route->decision;
  pending_.version = std::move(route->version);
  pending_.shadow = std::move(route->shadow);
  auto bytes = o.encode(inv->input_type());
  if (!bytes) {
    o.failed = true;
    o.result = "function '" + o.name + "' version '" + entry.version + "' takes " +
               inv->input_type_name() + ", not " + type_name(*o.input_type);
    return false;
  }
  if (!same_type(*o.output_type, inv->output_type())) {
    o.failed = true;
    o.result = "function '" + o.name + "' version '" + entry.version + "' returns " +
               inv->output_type_name() + ", not " + type_name(*o.output_type);
    return false;
  }
  o.request = std::move(*bytes);
  return true;
}

void task_runtime::dispatch_call(op& o) {
  if (auto i = children_.journaled.find(pending_.seq); i != children_.journaled.end()) {
    // Resumed: the child was started before the crash; wait for it instead of starting another.
    if (i->second.function != o.name) {
      // Reported by after_resume(), once the coroutine has fully suspended.
      abort_ = make_error(errc::nondeterminism,
                          who() + " diverged from its journal at seq " +
                            std::to_string(pending_.seq) + ": the journal started a child of " +
                            i->second.function + ", the code calls " + o.name);
      return;
    }
    attach_child(i->second);
    return;
  }
  pending_.child = start_child(o, pending_.seq, pending_.child_actor);
}

std::uint64_t task_runtime::start_child(const op& o, std::uint32_t seq, caf::actor& actor) {
  // The version prepare_call routed to (held, so it cannot drain before the child has it).
  auto version = std::move(pending_.version);
  auto inv = std::static_pointer_cast<const invoker>(version.entry().impl);
  eventlog::task_record child;
  child.id = session_ ? session_->next_child_id([this] { return host_.new_id().value(); })
                     : host_.new_id().value();
  for (auto& r : shadowing_.recorders) // a shadow run of this tree's recording takes the same ids
    r->children.push_back(child.id);
  child.parent = rec_.id;
  child.root = rec_.root;
  child.parent_seq = seq;
  child.function = o.name;
  child.version = o.version;
  child.input_type = inv->input_type_name();
  child.created = now_ns();
  child.route = describe(pending_.route);
  auto id = child.id;
  eventlog::lsn created = 0;
  if (host_.journal() && !session_)
    created = host_.journal()->append_task(child, o.request, o.text);
  setup s;
  s.session = session_;
  s.rec = std::move(child);
  s.fn = std::move(inv);
  s.version = std::move(version);
  s.input = o.request;
  s.created_lsn = created;
  s.parent = handle(); // the child reports straight to this actor
  if (host_.journal() && !session_) // no shadow runs inside shadow runs
    s.shadow = std::move(pending_.shadow);
  s.recorders = shadowing_.recorders;
  s.spawned = o.kind == op_kind::spawn;
  actor = host_.spawn(std::make_unique<task_runtime>(host_, std::move(s)), false);
  return id;
}

bool task_runtime::start_spawn(op& o) {
  auto seq = pos_.next_seq++;
  auto fail = [&](std::string why) {
    o.failed = true;
    o.result = std::move(why);
    append(event{.seq = seq, .kind = event_kind::spawn, .failed = true, .name = o.name,
                 .result = o.result, .text = o.text + " -> error: " + o.result});
    return true;
  };
  if (!prepare_call(o, o.version))
    return fail(o.result);
  if (children_.first_failure != 0) // a sibling failed: the nursery takes no new children
    return fail("a sibling failed: " + failure_text(children_.spawned[children_.first_failure]));
  // The tree no longer runs in one order: a shadow run compares it from the journal, depth-first.
  for (auto& r : shadowing_.recorders)
    r->concurrent = true;
  auto& c = children_.spawned[seq];
  c.function = o.name + "@" + o.version;
  if (auto i = children_.journaled.find(seq); i != children_.journaled.end()) {
    c.id = i->second.id; // started before a crash, its spawn event lost: the same child
    watch_child(seq, i->second);
  } else {
    c.id = start_child(o, seq, c.actor);
  }
  o.result = encode_u64(seq) + encode_u64(c.id);
  append(event{.seq = seq, .kind = event_kind::spawn, .name = c.function, .ref = c.id,
               .request = o.request, .result = o.result,
               .text = o.text + " -> task " + to_string(task_id{c.id})});
  return true;
}

bool task_runtime::begin_join(op& o) {
  if (auto answered = from_journal(o))
    return *answered;
  auto seq = static_cast<std::uint32_t>(decode_u64(o.request));
  auto i = children_.spawned.find(seq);
  if (i == children_.spawned.end() || i->second.id != o.target) {
    o.failed = true;
    o.result = "task " + o.name + " is not a child " + who() + " spawned";
    return true;
  }
  if (i->second.ended) {
    finish_join(o, i->second, pos_.next_seq++);
    return true;
  }
  pending_.join_seq = seq;
  return false;
}

void task_runtime::finish_join(op& o, spawned_child& c, std::uint32_t seq) {
  c.joined = true;
  std::string text;
  if (c.state == outcome_state::completed) {
    o.result = c.payload;
    text = c.text;
  } else {
    o.failed = true;
    o.result = failure_text(c);
    text = "error: " + o.result;
  }
  if (children_.first_failure != 0 && children_.spawned[children_.first_failure].id == c.id)
    children_.first_failure = 0; // observed: the caller handles it (or fails with it)
  append(event{.seq = seq, .kind = event_kind::join, .failed = o.failed, .name = o.name, .ref = c.id,
               .request = o.request, .result = o.result, .text = std::move(text)});
}

std::string task_runtime::failure_text(const spawned_child& c) const {
  return c.state == outcome_state::failed ? c.payload : describe(c.error);
}

void task_runtime::cancel_child(std::uint32_t seq) {
  auto i = children_.spawned.find(seq);
  if (i == children_.spawned.end() || i->second.ended || session_)
    return;
  i->second.cancel_requested = true;
  if (i->second.actor)
    tell(i->second.actor, cancel_atom::value);
  else
    host_.cancel_running(task_id{i->second.id}); // resumed on its own: through the registry
}

void task_runtime::on_spawned_done(std::uint32_t seq, spawned_child& c, outcome out) {
  c.ended = true;
  c.actor = nullptr;
  c.state = out.state;
  c.payload = std::move(out.payload);
  c.text = std::move(out.text);
  c.error = std::move(out.error);
  bool cancelled = c.state == outcome_state::aborted && c.error &&
                   c.error.category() == caf::atom("actors") &&
                   c.error.code() == static_cast<std::uint8_t>(errc::cancelled);
  if (c.state != outcome_state::completed && !cancelled && children_.first_failure == 0 &&
      life_ != life::finished) {
    children_.first_failure = seq; // the first failure cancels the running siblings
    for (auto& [s, sib] : children_.spawned)
      if (s != seq && !sib.ended)
        cancel_child(s);
  }
  if (life_ == life::finished)
    return;
  if (life_ == life::cancelling) {
    maybe_end_cancelled();
    return;
  }
  if (pending_.o != nullptr && pending_.o->kind == op_kind::join && pending_.join_seq == seq) {
    auto& o = *std::exchange(pending_.o, nullptr);
    finish_join(o, c, pending_.seq);
    resume(&o);
    return;
  }
  if (children_.nursery_waiting && !children_.any_running())
    complete();
}

void task_runtime::attach_child(const eventlog::task_record& child) {
  pending_.child = child.id;
  watch_child(pending_.seq, child);
}

void task_runtime::watch_child(std::uint32_t seq, const eventlog::task_record& child) {
  auto self = handle();
  auto deliver = [self, seq](const outcome& out) {
    tell(self, call_done_atom::value, seq, static_cast<std::uint8_t>(out.state),
                   out.payload, out.text, out.error);
  };
  if (host_.completions().on_complete(task_id{child.id}, deliver))
    return;
  // Not running in this engine: it finished before the crash (read its end), or it cannot resume.
  outcome out;
  auto evs = host_.journal() ? host_.journal()->events(child.id)
                           : caf::expected<std::vector<event>>{std::vector<event>{}};
  if (!evs) {
    out.state = outcome_state::aborted;
    out.error = evs.error();
  } else if (!evs->empty() && evs->back().kind == event_kind::completed) {
    out.payload = evs->back().result;
    out.text = evs->back().text;
  } else if (!evs->empty() && evs->back().kind == event_kind::failed) {
    out.state = outcome_state::failed;
    out.payload = evs->back().result;
    out.text = evs->back().text;
  } else if (!evs->empty() && evs->back().kind == event_kind::cancelled) {
    out.state = outcome_state::aborted;
    out.error = make_error(errc::cancelled, "task " + to_string(task_id{child.id}) + " (" +
                                              child.function + "@" + child.version + ") was cancelled");
  } else {
    out.state = outcome_state::aborted;
    out.error = make_error(errc::not_resumable,
                           who() + " waits for child task " + to_string(task_id{child.id}) + " (" +
                             child.function + "@" + child.version +
                             "), which is unfinished and not registered in this engine");
  }
  deliver(out);
}

void task_runtime::on_call_done(std::uint32_t seq, std::uint8_t state, std::string payload,
                                std::string text, caf::error err) {
  if (auto i = children_.spawned.find(seq); i != children_.spawned.end()) {
    if (!i->second.ended)
      on_spawned_done(seq, i->second,
                      outcome{static_cast<outcome_state>(state), std::move(payload), std::move(text),
                              std::move(err)});
    return;
  }
  if (pending_.o == nullptr || seq != pending_.seq)
    return;
  if (pending_.o->kind == op_kind::spawn) { // in a session: the spawned child ran to its end
    auto& c = children_.spawned[seq];
    c.id = pending_.child;
    c.function = pending_.o->name + "@" + pending_.o->version;
    on_spawned_done(seq, c, outcome{static_cast<outcome_state>(state), std::move(payload),
                                    std::move(text), std::move(err)});
    pending_.child_actor = nullptr;
    auto& o = *std::exchange(pending_.o, nullptr);
    o.result = encode_u64(seq) + encode_u64(c.id);
    resume(&o);
    return;
  }
  pending_.child_actor = nullptr;
  if (life_ == life::cancelling) { // the child this task waited for has ended: now this task
    cancel_wait_ = cancel_wait::nothing; // it waited for the call, or for nothing
    maybe_end_cancelled();
    return;
  }
  auto& o = *std::exchange(pending_.o, nullptr);
  if (static_cast<outcome_state>(state) == outcome_state::aborted) {
    abort(std::move(err));
    return;
  }
  o.failed = static_cast<outcome_state>(state) == outcome_state::failed;
  o.result = std::move(payload);
  append(event{.seq = seq, .kind = event_kind::call, .failed = o.failed,
               .name = o.name + "@" + o.version, .ref = pending_.child,
               .request = std::move(o.request), .result = o.result,
               .text = o.text + " -> " + (o.failed ? "error: " + text : text)});
  resume(&o);
}
} // namespace actors::detail
