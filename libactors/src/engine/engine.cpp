// engine — the calls of the public API (actors/engine.hpp): starts, waits, messages, supervision,
// cancels, replays, shadow counts and stats. Start-up and shutdown are in startup.cpp, routing in
// routing_file.cpp; the work itself is done by engine_core's components.

#include "actors/engine.hpp"

#include <algorithm>
#include <chrono>
#include <future>

#include <caf/actor_cast.hpp>
#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "actors/eventlog/journal.hpp"
#include "engine/engine_impl.hpp"
#include "replay/replay.hpp"
#include "runtime/clock.hpp"
#include "runtime/tell.hpp"
#include "supervisor/supervisor.hpp"
#include "task/messages.hpp"
#include "task/task_runtime.hpp"

namespace actors {

using detail::from_router;

caf::error engine::status() const {
  if (impl_->status)
    return impl_->status;
  if (auto& j = impl_->core->journal)
    if (auto err = j->failure())
      return make_error(errc::journal_failure,
                        "the engine takes no new tasks: the journal failed: " + describe(err));
  return {};
}

caf::expected<task_id> engine::start_erased(std::string_view fn, std::string_view pinned,
                                            const input_ref& in, std::string_view key) {
  if (impl_->status)
    return impl_->status;
  if (auto err = impl_->core->claim_journal())
    return err;
  auto& c = *impl_->core;
  detail::erased_input input{in.value, in.type, in.encode, in.render};
  if (!key.empty())
    return c.keyed.start(key, fn, pinned, input);
  eventlog::lsn created = 0;
  auto started = c.start_root(fn, pinned, input, false, {}, &created);
  if (!started)
    return std::move(started.error());
  auto id = started->first;
  // Acknowledged once durable: the id the caller gets is in the journal, whatever happens next.
  if (auto err = c.await_durable(created, [&] {
        return "task " + to_string(id) + " of '" + std::string{fn} + "'";
      }))
    return err;
  return id;
}

caf::expected<std::vector<task_id>>
engine::start_batch_erased(std::string_view fn, std::string_view pinned, const input_ref& first,
                           std::size_t count, std::size_t stride) {
  if (impl_->status)
    return impl_->status;
  if (auto err = impl_->core->claim_journal())
    return err;
  auto& c = *impl_->core;
  // Every input routed and checked before any task is journaled: a bad one starts nothing.
  std::vector<detail::engine_core::prepared_root> prepared;
  prepared.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    detail::erased_input input{static_cast<const char*>(first.value) + i * stride, first.type,
                               first.encode, first.render};
    auto p = c.prepare_root(fn, pinned, input);
    if (!p)
      return std::move(p.error());
    prepared.push_back(std::move(*p));
  }
  std::vector<task_id> ids;
  ids.reserve(count);
  eventlog::lsn last = 0;
  for (auto& p : prepared) {
    eventlog::lsn created = 0;
    ids.push_back(c.launch_root(std::move(p), false, &created).first);
    last = std::max(last, created);
  }
  // One wait for all: appends commit in lsn order, so the last row durable means every row is.
  if (auto err = c.await_durable(last, [&] {
        return "start_batch of " + std::to_string(count) + " tasks of '" + std::string{fn} + "'";
      }))
    return err;
  return ids;
}

caf::expected<std::string> engine::wait_bytes(task_id id, const std::type_info& out_type) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  auto name = [&](const std::string& f, const std::string& v) {
    return "task " + to_string(id) + " (" + f + "@" + v + ")";
  };
  // By mangled name, as libstdc++ compares types (the version may come from a module, or be gone).
  auto check_type = [&](const detail::version_signature& sig) -> caf::error {
    if (sig.output_type != out_type.name())
      return make_error(errc::wrong_output_type, name(sig.function, sig.version) + " returns " +
                                                   sig.output_type_name + ", not " + type_name(out_type));
    return {};
  };
  if (auto comp = c.completions.find(id)) {
    const auto& e = *comp->signature;
    if (auto err = check_type(e))
      return err;
    auto out = c.completions.wait(id, *comp);
    switch (out.state) {
      case detail::outcome_state::completed: return std::move(out.payload);
      case detail::outcome_state::failed:
        return make_error(errc::task_failed, name(e.function, e.version) + " failed: " + out.payload);
      default: return out.error;
    }
  }
  if (!c.journal)
    return make_error(errc::unknown_task, "no task " + to_string(id) + " in this engine");
  auto rec = c.journal->find_task(id.value());
  if (!rec)
    return rec.error();
  if (!*rec)
    return make_error(errc::unknown_task, "no task " + to_string(id) + " in journal '" +
                                            c.journal->path() + "'");
  const auto& r = **rec;
  if (auto v = c.functions.current()->pin(r.function, r.version)) {
    if (auto err = check_type(*v.signature()))
      return err;
  }
  if (r.status == eventlog::task_status::running)
    return make_error(errc::not_resumable, name(r.function, r.version) +
                                             " is unfinished and " + r.function + "@" + r.version +
                                             " is not registered in this engine");
  auto events = c.journal->events(id.value());
  if (!events)
    return events.error();
  if (events->empty())
    return make_error(errc::unknown_task, name(r.function, r.version) + " has no journaled events");
  auto& last = events->back();
  if (last.kind == eventlog::event_kind::completed)
    return std::move(last.result);
  if (last.kind == eventlog::event_kind::failed)
    return make_error(errc::task_failed, name(r.function, r.version) + " failed: " + last.result);
  if (last.kind == eventlog::event_kind::cancelled)
    return make_error(errc::cancelled, name(r.function, r.version) + " was cancelled");
  return make_error(errc::task_failed, name(r.function, r.version) + " ended as " +
                                         std::string{eventlog::to_string(r.status)});
}

caf::expected<void> engine::send_erased(task_id id, std::string type, std::string bytes,
                                        std::string text) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  if (!c.task_alive(id.value()))
    return make_error(errc::not_running, "cannot send to task " + to_string(id) + ": it is not running");
  eventlog::message_record m;
  m.id = c.ids.next().value();
  m.target = id.value();
  m.type = std::move(type);
  m.payload = std::move(bytes);
  m.text = std::move(text);
  eventlog::lsn appended = 0;
  auto res = c.mail.post(
    m, c.cfg.mailbox_capacity,
    [&c, &appended](const eventlog::message_record& msg) {
      if (c.journal)
        appended = c.journal->append_message(msg, eventlog::event{});
    },
    caf::actor{}, 0);
  if (res == detail::mailboxes::post_result::full)
    return make_error(errc::mailbox_full, "the mailbox of task " + to_string(id) + " is full (" +
                                            std::to_string(c.cfg.mailbox_capacity) + " messages)");
  // Acknowledged once durable, as a start: a crash after send returns does not lose the message.
  if (auto err = c.await_durable(appended, [&] { return "the message to task " + to_string(id); }))
    return err;
  return caf::unit;
}

// --- supervision ----------------------------------------------------------------------------------

namespace {

/// Checks what validate() cannot: that each task child's function and version exist and take its input.
caf::error check_children(detail::engine_core& c, const supervision::supervisor_spec& spec) {
  for (const auto& ch : spec.children) {
    if (ch.supervisor) {
      if (auto err = check_children(c, *ch.supervisor))
        return err;
      continue;
    }
    auto where = "supervisor '" + spec.name + "', child '" + ch.id + "': ";
    auto route = c.route(ch.function, 0, ch.version);
    if (!route) {
      auto err = from_router(route.error());
      return make_error(static_cast<errc>(err.code()), where + describe(err).substr(describe(err).find(": ") + 2));
    }
    const auto& entry = *route->decision.entry;
    auto inv = std::static_pointer_cast<const detail::invoker>(entry.impl);
    if (!ch.input(inv->input_type()))
      return make_error(errc::wrong_input_type,
                        where + "function '" + entry.name + "' version '" +
                          entry.version + "' takes " + inv->input_type_name() + ", not " +
                          type_name(*ch.input_type));
  }
  return {};
}

void names_of(const supervision::supervisor_spec& spec, std::vector<std::string>& out) {
  out.push_back(spec.name);
  for (const auto& ch : spec.children)
    if (ch.supervisor)
      names_of(*ch.supervisor, out);
}

} // namespace

caf::expected<void> engine::supervise(const supervision::supervisor_spec& spec) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  if (auto err = c.claim_journal())
    return err;
  if (auto err = supervision::validate(spec))
    return err;
  if (auto err = check_children(c, spec))
    return err;
  std::vector<std::string> names;
  names_of(spec, names);
  auto& st = *c.supervisors;
  {
    std::lock_guard guard{st.mx};
    for (const auto& n : names)
      if (auto i = st.sups.find(n); i != st.sups.end() && !i->second.ended)
        return supervision::make_error(supervision::errc::invalid_spec,
                                       "supervisor '" + n + "' is already running");
    if (!st.known_loaded && c.journal) {
      // Children of the same supervisors in an earlier engine on this journal: taken over.
      auto rows = c.journal->supervision();
      if (!rows)
        return std::move(rows.error());
      for (const auto& r : *rows)
        if (r.task != 0)
          st.known[{r.supervisor, r.child}] = r.task;
      st.known_loaded = true;
    }
  }
  std::promise<caf::error> started;
  auto done = started.get_future();
  detail::spawn_supervisor(c.supervision, std::make_shared<const supervision::supervisor_spec>(spec), "",
                           [p = &started](const caf::error& err) { p->set_value(err); });
  if (auto err = done.get())
    return err;
  // Acknowledged once durable: the children's task rows and the supervision rows naming them.
  if (c.journal)
    if (auto err = c.journal->flush())
      return make_error(errc::journal_failure, "supervisor '" + spec.name +
                                                 "' is not acknowledged: journal '" +
                                                 c.journal->path() + "': " + describe(err));
  return caf::unit;
}

caf::expected<void> engine::stop_supervisor(std::string_view name) {
  if (impl_->status)
    return impl_->status;
  auto& st = *impl_->core->supervisors;
  caf::actor a;
  {
    std::lock_guard guard{st.mx};
    auto i = st.sups.find(name);
    if (i == st.sups.end() || i->second.ended || !i->second.parent.empty() || !i->second.actor)
      return make_error(errc::unknown_supervisor,
                        "no top-level supervisor '" + std::string{name} + "' runs in this engine");
    a = i->second.actor;
  }
  detail::stop_supervisor_actor(a);
  std::unique_lock guard{st.mx};
  st.cv.wait(guard, [&] {
    auto i = st.sups.find(name);
    return i == st.sups.end() || i->second.ended;
  });
  return caf::unit;
}

std::vector<eventlog::supervision_record> engine::supervision_tree() const {
  std::vector<eventlog::supervision_record> out;
  auto& st = *impl_->core->supervisors;
  std::lock_guard guard{st.mx};
  for (const auto& [name, info] : st.sups) {
    out.push_back(info.self);
    std::vector<eventlog::supervision_record> kids;
    for (const auto& [id, r] : info.children)
      kids.push_back(r);
    std::sort(kids.begin(), kids.end(), [](auto& a, auto& b) { return a.position < b.position; });
    out.insert(out.end(), kids.begin(), kids.end());
  }
  return out;
}

caf::expected<task_id> engine::supervised_task(std::string_view supervisor, std::string_view child) const {
  auto& st = *impl_->core->supervisors;
  std::lock_guard guard{st.mx};
  auto i = st.sups.find(supervisor);
  if (i == st.sups.end())
    return make_error(errc::unknown_supervisor,
                      "no supervisor '" + std::string{supervisor} + "' in this engine");
  auto k = i->second.children.find(std::string{child});
  if (k == i->second.children.end() || k->second.task == 0)
    return supervision::make_error(supervision::errc::invalid_spec,
                                   "supervisor '" + std::string{supervisor} + "' has no task child '" +
                                     std::string{child} + "'");
  return task_id{k->second.task};
}

std::vector<std::string> engine::supervision_log(std::string_view name) const {
  auto& st = *impl_->core->supervisors;
  std::lock_guard guard{st.mx};
  auto i = st.sups.find(name);
  return i == st.sups.end() ? std::vector<std::string>{} : i->second.log;
}

bool engine::await_supervision(std::string_view name,
                               const std::function<bool(const std::vector<std::string>&)>& done,
                               std::chrono::milliseconds timeout) {
  auto& st = *impl_->core->supervisors;
  std::unique_lock guard{st.mx};
  return st.cv.wait_for(guard, timeout, [&] {
    auto i = st.sups.find(name);
    return done(i == st.sups.end() ? std::vector<std::string>{} : i->second.log);
  });
}

caf::expected<void> engine::cancel(task_id id) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  // A root running here is known at once (its row may still be on its way to the journal).
  bool running_here = false;
  if (auto entry = c.completions.find(id)) {
    std::lock_guard guard{entry->mx};
    running_here = !entry->done;
  }
  if (c.journal && !running_here) {
    auto rec = c.journal->find_task(id.value());
    if (!rec)
      return std::move(rec.error());
    if (!*rec)
      return make_error(errc::unknown_task, "no task " + to_string(id) + " in journal '" +
                                              c.journal->path() + "'");
    const auto& r = **rec;
    auto name = "task " + to_string(id) + " (" + r.function + "@" + r.version + ")";
    if (r.parent != 0)
      return make_error(errc::not_running, name + " is a call inside the tree of task " +
                                             to_string(task_id{r.root}) + ": cancel that root");
    if (r.status != eventlog::task_status::running)
      return make_error(errc::not_running,
                        name + " has already ended (" + std::string{eventlog::to_string(r.status)} + ")");
  }
  if (c.journal) {
    // Kept in the journal: an engine in another process that runs or resumes the task stops it too.
    c.journal->request_cancel(id.value());
    if (auto err = c.journal->flush())
      return make_error(errc::journal_failure, "the cancel request could not be journaled: " + describe(err));
    c.cancel_running(id);
    return caf::unit;
  }
  if (!c.cancel_running(id))
    return make_error(errc::not_running, "task " + to_string(id) + " is not running in this engine");
  return caf::unit;
}

caf::expected<replay_report> engine::replay(task_id id, const replay_options& opts) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  if (!c.journal)
    return make_error(errc::invalid_configuration,
                      "replay reads the journal, and journaling is off");
  auto rec = detail::read_recording(*c.journal, id.value());
  if (!rec)
    return std::move(rec.error());
  return detail::run_replay(c.tasks, *c.routing.table(), std::move(*rec), opts);
}

std::vector<divergence> engine::divergences(std::string_view fn, std::size_t limit) const {
  if (impl_->status || !impl_->core->journal)
    return {};
  auto& c = *impl_->core;
  auto found = c.journal->divergences(fn, limit);
  if (!found) {
    c.log->error("cannot read divergences: {}", describe(found.error()));
    return {};
  }
  return std::move(*found);
}

std::vector<shadow_counts> engine::shadow_stats() const {
  std::vector<shadow_counts> out;
  if (!impl_->core)
    return out;
  return impl_->core->shadows.totals();
}

void engine::drain() {
  if (!impl_->core)
    return;
  auto& c = *impl_->core;
  c.work.wait_idle();
}

engine_stats engine::stats() const {
  auto& s = impl_->core->stats;
  engine_stats out;
  out.started = s.started.load();
  out.resumed = s.resumed.load();
  out.completed = s.completed.load();
  out.failed = s.failed.load();
  out.effects_executed = s.effects_executed.load();
  out.effects_replayed = s.effects_replayed.load();
  out.waiting = impl_->core->admitted.waiting();
  {
    std::lock_guard guard{impl_->file_mx};
    out.routing_file_refusals = impl_->refusals;
  }
  if (auto& j = impl_->core->journal) {
    auto js = j->stats();
    out.journal_appends = js.appends;
    out.journal_commits = js.commits;
    out.journal_commit_ns = js.commit_ns;
  }
  return out;
}

eventlog::journal* engine::journal() noexcept {
  return impl_->core ? impl_->core->journal.get() : nullptr;
}

} // namespace actors
