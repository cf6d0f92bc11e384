#include "replay/replay.hpp"

#include <future>

#include "actors/errc.hpp"
#include "task/task_host.hpp"
#include "task/task_runtime.hpp"

namespace actors::detail {

caf::expected<replay_report> run_replay(task_host& host, const routing_table& in_force, recording rec,
                                        const replay_options& opts) {
  auto versions_now = host.functions();
  const auto& routes = versions_now->routes;
  auto name = "task " + to_string(task_id{rec.task}) + " (" + rec.function + "@" + rec.version + ")";
  // Versions, weakest first: what the recording ran, the engine's overrides for the tree, the options.
  session_options so;
  so.cpu_bound = opts.cpu_bound;
  so.versions = rec.versions;
  for (const auto& [key, version] : in_force.overrides())
    if (key.first == rec.root || key.first == rec.task)
      so.versions[key.second] = version;
  for (const auto& [fn, version] : opts.versions) {
    if (routes.versions(fn).empty())
      return make_error(errc::unknown_function, "replay of " + name + ": no function '" + fn +
                                                  "' is registered");
    if (routes.find(fn, version) == nullptr)
      return make_error(errc::unknown_version, "replay of " + name + ": function '" + fn +
                                                 "' has no version '" + version + "'");
    so.versions[fn] = version;
  }
  const auto& version = so.versions.at(rec.function);
  const auto* entry = routes.find(rec.function, version);
  if (entry == nullptr) {
    // Retired and unloaded with its module, or never registered here: say what can run instead.
    auto others = routes.versions(rec.function);
    std::string offer;
    for (const auto& v : others)
      offer += (offer.empty() ? "" : ", ") + v;
    return make_error(errc::unknown_version,
                      "replay of " + name + ": " + rec.function + "@" + version +
                        " is not registered in this engine (unloaded, or never loaded here)" +
                        (others.empty() ? std::string{}
                                        : "; replay it with another version, e.g. --version " +
                                            rec.function + "=" + others.front() + " (registered: " +
                                            offer + ")"));
  }
  auto inv = std::static_pointer_cast<const invoker>(entry->impl);
  if (inv->input_type_name() != rec.input_type)
    return make_error(errc::wrong_input_type,
                      "replay of " + name + ": " + rec.function + "@" + version + " takes " +
                        inv->input_type_name() + ", the recording's input is " + rec.input_type);

  // Shared: the root's thread may still be inside set_value when this thread wakes and returns.
  auto ended = std::make_shared<std::promise<void>>();
  auto done = ended->get_future();
  so.on_end = [ended](const replay_session&) { ended->set_value(); };
  auto versions = so.versions;
  auto session = std::make_shared<replay_session>(std::move(rec), std::move(so));
  const auto& recorded = session->recorded();
  task_runtime::setup s;
  s.rec.id = recorded.task; // the replay sees the recorded task's identity
  s.rec.root = recorded.root;
  s.rec.function = recorded.function;
  s.rec.version = version;
  s.rec.input_type = recorded.input_type;
  s.rec.route = "replay";
  s.fn = std::move(inv);
  s.version = versions_now->pin(entry);
  s.input = recorded.input;
  s.session = session;
  host.spawn(std::make_unique<task_runtime>(host, std::move(s)), false);
  done.wait();

  replay_report r;
  r.task = task_id{recorded.task};
  r.function = recorded.function;
  r.recorded_version = recorded.version;
  r.replayed_version = version;
  for (const auto& [fn, v] : versions)
    if (auto i = recorded.versions.find(fn); i == recorded.versions.end() || i->second != v)
      r.swapped.emplace(fn, v);
  r.versions = std::move(versions);
  r.logs = session->logs();
  r.recorded_tasks = recorded.tasks;
  r.recorded_events = recorded.events;
  r.recorded_effects = recorded.effects.size();
  r.replayed_effects = session->answered();
  r.recorded_failed = recorded.failed;
  r.recorded_output = recorded.failed ? recorded.output : recorded.output_text;
  if (auto end = session->ended()) {
    r.replay_failed = end->state != outcome_state::completed;
    r.replayed_output = end->state == outcome_state::aborted   ? describe(end->error)
                        : end->state == outcome_state::failed ? end->payload
                                                               : end->text;
  }
  if (auto d = session->divergence())
    r.divergence = replay_divergence{d->position, std::move(d->what), std::move(d->recorded),
                                     std::move(d->replayed)};
  return r;
}

} // namespace actors::detail
