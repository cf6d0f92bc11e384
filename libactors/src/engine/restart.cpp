// Restarts (DESIGN-NOTES §17): a supervisor's "restart" of a durable task rewinds its history to the
// right point and resumes it under the same id — the engine's side of supervisor_host::restart_child.

#include "actors/errc.hpp"
#include "engine/engine_core.hpp"
#include "runtime/clock.hpp"
#include "task/task_runtime.hpp"

namespace actors::detail {

namespace {

using eventlog::event;
using eventlog::event_kind;

/// The seq from which a restart rewinds the history `evs` of an ended task (see restart_task).
std::uint32_t rewind_point(const std::vector<event>& evs, bool fresh) {
  if (fresh)
    return 1;
  auto& last = evs.back();
  bool ended = last.kind == event_kind::completed || last.kind == event_kind::failed ||
               last.kind == event_kind::cancelled;
  if (!ended)
    return last.seq + 1; // stopped without an end (detached, or aborted): everything stays
  if (last.kind != event_kind::failed)
    return last.seq; // only the end goes
  // It failed: what it failed on does not replay. Walk back over what came from no one else.
  for (auto i = evs.size() - 1; i-- > 1;) {
    const auto& ev = evs[i];
    if (ev.kind == event_kind::log || ev.kind == event_kind::now || ev.kind == event_kind::random)
      continue;
    if ((ev.kind == event_kind::receive && ev.ref != 0) ||
        ((ev.kind == event_kind::effect || ev.kind == event_kind::call) && ev.failed))
      return ev.seq; // the message is consumed; the failed effect or call is tried again
    break;
  }
  return last.seq; // a failure from the history itself: it will fail again (intensity decides)
}

} // namespace

caf::expected<engine_core::restarted_task> engine_core::restart_task(task_id id, bool fresh,
                                                                    const std::string& why) {
  // The task's end may still be on its way to the journal (its actor exits first).
  if (auto err = journal->flush())
    return err;
  auto rec = journal->find_task(id.value());
  if (!rec)
    return std::move(rec.error());
  if (!*rec)
    return make_error(errc::unknown_task, "no task " + to_string(id) + " in journal '" +
                                            journal->path() + "'");
  auto name = "task " + to_string(id) + " (" + (*rec)->function + "@" + (*rec)->version + ")";
  auto version = functions.current()->pin((*rec)->function, (*rec)->version);
  if (!version)
    return make_error(errc::unknown_version, name + " cannot restart: " + (*rec)->function + "@" +
                                               (*rec)->version + " is not registered");
  auto evs = journal->events(id.value());
  if (!evs)
    return std::move(evs.error());
  auto history = eventlog::journal::history(std::move(*evs));
  if (history.empty() || history.front().kind != event_kind::started)
    return make_error(errc::bad_input, name + " has no started event in its journal");
  bool completed = history.back().kind == event_kind::completed;
  auto from = rewind_point(history, fresh || completed);
  event restarted;
  restarted.task = id.value();
  restarted.seq = history.back().seq + 1;
  restarted.kind = event_kind::restarted;
  restarted.ref = from;
  restarted.text = why + (fresh || completed ? ": a fresh start"
                                             : ": resumes from seq " + std::to_string(from));
  restarted.ts = now_ns();
  journal->append(restarted);
  history.push_back(restarted);
  history = eventlog::journal::history(std::move(history));
  auto children = journal->children(id.value());
  if (!children)
    return std::move(children.error());
  task_runtime::setup s;
  s.input = history.front().request;
  s.recorded = std::move(history);
  s.children = std::move(*children);
  s.fn = std::static_pointer_cast<const invoker>(version.entry().impl);
  auto signature = version.signature();
  s.version = std::move(version);
  s.rec = std::move(**rec);
  s.rec.status = eventlog::task_status::running;
  s.rec.finished = 0;
  auto completion = completions.restart(id, std::move(signature)); // whoever waits for the task waits for this run
  {
    std::lock_guard guard{completion->mx};
    completion->supervised = true;
  }
  auto actor = spawn(std::make_unique<task_runtime>(tasks, std::move(s)));
  name_actor(*completion, actor);
  return restarted_task{std::move(actor), fresh || completed};
}

} // namespace actors::detail
