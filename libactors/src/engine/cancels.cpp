// Cancels: engine::cancel in this process, and cancel requests another process (`task cancel`) left in
// the journal, which the routing watcher polls (DESIGN-NOTES §15).

#include <spdlog/spdlog.h>

#include "engine/engine_core.hpp"
#include "runtime/tell.hpp"
#include "task/messages.hpp"
#include "task/task_runtime.hpp"

namespace actors::detail {

bool engine_core::cancel_running(task_id id) {
  auto c = completions.find(id);
  if (!c)
    return false;
  caf::actor a;
  {
    std::lock_guard guard{c->mx};
    if (c->done)
      return false;
    a = caf::actor_cast<caf::actor>(c->actor);
    if (!a) {
      if (c->exited) // it ran and quit; its end is on its way
        return false;
      c->cancel_pending = true; // sent by name_actor when it gets an actor
    }
  }
  if (a) {
    tell(a, cancel_atom::value);
    return true;
  }
  admitted.admit_now(id); // waiting for a place: it runs now, to be cancelled (else it is being spawned)
  return true;
}

bool engine_core::poll_cancel_requests() {
  if (!journal)
    return false;
  auto version = journal->cancels_version();
  if (!version)
    return false;
  if (*version == cancels_version_)
    return false;
  cancels_version_ = *version;
  auto ids = journal->cancel_requests();
  if (!ids) {
    log->error("cannot read cancel requests: {}", describe(ids.error()));
    return false;
  }
  for (auto id : *ids)
    cancel_running(task_id{id}); // ended or elsewhere: nothing to do here
  return true;
}

void engine_core::cancel_requests_seen() {
  if (journal)
    if (auto v = journal->cancels_version())
      cancels_version_ = *v;
}

} // namespace actors::detail
