#include "engine/supervision_host.hpp"

#include <caf/actor_cast.hpp>

#include "engine/engine_core.hpp"
#include "supervisor/supervisor.hpp"

namespace actors::detail {

caf::expected<std::pair<task_id, caf::actor>>
supervision_host::start_child(const supervision::child_spec& spec, const std::function<void(task_id)>& link) {
  erased_input in{&spec, spec.input_type,
                  [](const void* p, const std::type_info& target) {
                    return static_cast<const supervision::child_spec*>(p)->input(target);
                  },
                  [](const void* p) { return static_cast<const supervision::child_spec*>(p)->input_text; }};
  return core_.start_root(spec.function, spec.version, in, true, {}, nullptr, link);
}

caf::actor supervision_host::take_over(task_id id) {
  auto comp = core_.completions.find(id);
  if (!comp)
    return {};
  caf::actor a;
  {
    std::lock_guard guard{comp->mx};
    if (comp->done)
      return {};
    a = caf::actor_cast<caf::actor>(comp->actor);
  }
  if (a)
    core_.completions.set_supervised(id, true);
  return a;
}

caf::expected<supervisor_host::restarted_child>
supervision_host::restart_child(task_id id, bool fresh, const std::string& why) {
  auto r = core_.restart_task(id, fresh, why);
  if (!r)
    return std::move(r.error());
  return restarted_child{std::move(r->actor), r->fresh};
}

void supervision_host::release_child(task_id id, bool still_running) {
  core_.completions.set_supervised(id, false); // a held end is reported now
  if (!still_running)
    core_.mail.close(id.value());
}

caf::actor supervision_host::spawn_actor(const std::function<caf::actor(caf::actor_system&)>& spawn) {
  caf::actor a;
  core_.keeping_thread_logger([&] { a = spawn(*core_.system); });
  return a;
}

eventlog::journal* supervision_host::journal() noexcept {
  return core_.journal.get();
}

spdlog::logger& supervision_host::log() noexcept {
  return *core_.log;
}

std::uint64_t supervision_host::seed() noexcept {
  return core_.ids.seed();
}

supervision_state& supervision_host::supervisors() noexcept {
  return *core_.supervisors;
}

} // namespace actors::detail
