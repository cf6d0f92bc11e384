// Root starts: engine::start, start_batch and a supervisor's children all come through here — routed,
// checked, journaled, registered, then spawned or queued for admission.

#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "engine/engine_core.hpp"
#include "runtime/clock.hpp"
#include "task/task_runtime.hpp"

namespace actors::detail {

caf::expected<engine_core::prepared_root>
engine_core::prepare_root(std::string_view fn, std::string_view pinned, const erased_input& in,
                          std::string_view key) {
  if (journal) {
    if (auto err = journal->failure())
      return make_error(errc::journal_failure,
                        "the engine takes no new tasks: the journal failed: " + describe(err));
  }
  auto root = ids.next().value(); // a root task's tree is rooted at itself: percent needs its id
  auto route_to = route(fn, root, pinned);
  if (!route_to)
    return from_router(route_to.error());
  const auto& entry = *route_to->decision.entry;
  auto inv = std::static_pointer_cast<const invoker>(entry.impl);
  auto bytes = in.encode(in.value, inv->input_type());
  if (!bytes)
    return make_error(errc::wrong_input_type,
                      "function '" + entry.name + "' version '" + entry.version + "' takes " +
                        inv->input_type_name() + ", not " + type_name(*in.type));
  prepared_root p;
  auto& rec = p.rec;
  rec.id = root;
  rec.root = rec.id;
  rec.function = entry.name;
  rec.version = entry.version;
  rec.input_type = inv->input_type_name();
  rec.created = now_ns();
  rec.route = describe(route_to->decision);
  rec.start_key = key;
  p.fn = std::move(inv);
  p.version = std::move(route_to->version);
  p.input = std::move(*bytes);
  p.text = in.render(in.value);
  if (journal) // a shadow run needs the primary's journal
    p.shadow = std::move(route_to->shadow);
  return p;
}

std::pair<task_id, caf::actor>
engine_core::launch_root(prepared_root p, bool supervised, eventlog::lsn* created_lsn,
                         const std::function<void(task_id)>& before_journal) {
  auto id = task_id{p.rec.id};
  if (before_journal)
    before_journal(id);
  eventlog::lsn created = 0;
  if (journal)
    created = journal->append_task(p.rec, p.input, std::move(p.text));
  if (created_lsn != nullptr)
    *created_lsn = created;
  auto completion = completions.create(id, p.version.signature());
  completion->supervised = supervised; // before it runs: not even its first end escapes its supervisor
  task_runtime::setup s;
  s.rec = std::move(p.rec);
  s.fn = std::move(p.fn);
  s.version = std::move(p.version);
  s.input = std::move(p.input);
  s.created_lsn = created;
  s.entry_state = completion;
  s.shadow = std::move(p.shadow);
  auto rt = std::make_unique<task_runtime>(tasks, std::move(s));
  // engine::start's tasks wait for a place (max_running_tasks); a supervisor's children do not.
  auto actor = supervised ? spawn(std::move(rt)) : admitted.admit(std::move(rt));
  if (actor)
    name_actor(*completion, actor); // for engine::cancel; a waiting task's when it spawns
  return {id, std::move(actor)};
}

caf::expected<std::pair<task_id, caf::actor>>
engine_core::start_root(std::string_view fn, std::string_view pinned, const erased_input& in,
                        bool supervised, std::string_view key, eventlog::lsn* created_lsn,
                        const std::function<void(task_id)>& before_journal) {
  auto p = prepare_root(fn, pinned, in, key);
  if (!p)
    return std::move(p.error());
  return launch_root(std::move(*p), supervised, created_lsn, before_journal);
}

caf::error engine_core::await_durable(eventlog::lsn n, const std::function<std::string()>& what) {
  if (!journal || n == 0)
    return {};
  if (auto err = journal->await_durable(n))
    return make_error(errc::journal_failure, what() + " is not acknowledged: journal '" +
                                               journal->path() + "': " + describe(err));
  return {};
}

} // namespace actors::detail
