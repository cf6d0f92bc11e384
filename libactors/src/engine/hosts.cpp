#include "engine/hosts.hpp"

#include <caf/actor_cast.hpp>

#include "engine/engine_core.hpp"
#include "replay/shadow_runner.hpp"
#include "supervisor/supervisor.hpp"
#include "task/task_runtime.hpp"

namespace actors::detail {

// --- engine_task_host -----------------------------------------------------------------------------

const engine_config& engine_task_host::config() const noexcept {
  return core_.cfg;
}
eventlog::journal* engine_task_host::journal() const noexcept {
  return core_.journal.get();
}
std::shared_ptr<const effect_handler> engine_task_host::handler(std::string_view name) const {
  return core_.handlers.find(name);
}
std::shared_ptr<const function_snapshot> engine_task_host::functions() const {
  return core_.functions.current();
}
mailboxes& engine_task_host::mail() noexcept {
  return core_.mail;
}
completion_registry& engine_task_host::completions() noexcept {
  return core_.completions;
}
worker_pool& engine_task_host::pool() noexcept {
  return *core_.pool;
}
work_count& engine_task_host::work() noexcept {
  return core_.work;
}
task_counters& engine_task_host::counters() noexcept {
  return core_.stats;
}
spdlog::logger& engine_task_host::log() noexcept {
  return *core_.log;
}
spdlog::logger& engine_task_host::task_log() noexcept {
  return *core_.task_log;
}
task_id engine_task_host::new_id() noexcept {
  return core_.ids.next();
}
std::uint64_t engine_task_host::new_seed() noexcept {
  return core_.ids.seed();
}
caf::expected<routed_version> engine_task_host::route(std::string_view fn, std::uint64_t root,
                                                      std::string_view pinned) const {
  return core_.route(fn, root, pinned);
}
caf::actor engine_task_host::spawn(std::unique_ptr<task_runtime> rt, bool counted) {
  return core_.spawn(std::move(rt), counted);
}
void engine_task_host::finished(task_id id, outcome out, const caf::actor& parent,
                                std::uint32_t parent_seq, completion* entry) {
  core_.finished(id, std::move(out), parent, parent_seq, entry);
}
void engine_task_host::release_place(bool pass_on) {
  core_.admitted.release(pass_on);
}
void engine_task_host::retake_place() {
  core_.admitted.retake();
}
bool engine_task_host::cancel_running(task_id id) {
  return core_.cancel_running(id);
}
bool engine_task_host::task_alive(std::uint64_t id) {
  return core_.task_alive(id);
}
bool engine_task_host::supervised(std::uint64_t id) const {
  return core_.supervised(id);
}
void engine_task_host::launch_shadow(shadow_run r) {
  core_.shadows.launch(std::move(r));
}
void engine_task_host::keeping_thread_logger(const std::function<void()>& f) {
  core_.keeping_thread_logger(f);
}

// --- engine_supervisor_host -----------------------------------------------------------------------

caf::expected<std::pair<task_id, caf::actor>>
engine_supervisor_host::start_child(const supervision::child_spec& spec, const std::function<void(task_id)>& link) {
  erased_input in{&spec, spec.input_type,
                  [](const void* p, const std::type_info& target) {
                    return static_cast<const supervision::child_spec*>(p)->input(target);
                  },
                  [](const void* p) { return static_cast<const supervision::child_spec*>(p)->input_text; }};
  auto started = core_.start_root(spec.function, spec.version, in, true, {}, nullptr, link);
  if (started)
    hold_version(started->first);
  return started;
}

void engine_supervisor_host::hold_version(task_id id) {
  auto comp = core_.completions.find(id);
  if (!comp || !comp->signature)
    return;
  auto v = core_.functions.current()->pin(comp->signature->function, comp->signature->version);
  std::lock_guard guard{mx_};
  held_.insert_or_assign(id.value(), std::move(v));
}

caf::actor engine_supervisor_host::take_over(task_id id) {
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
  if (a) {
    core_.completions.set_supervised(id, true);
    hold_version(id);
  }
  return a;
}

caf::expected<supervisor_host::restarted_child>
engine_supervisor_host::restart_child(task_id id, bool fresh, const std::string& why) {
  auto r = core_.restart_task(id, fresh, why);
  if (!r)
    return std::move(r.error());
  hold_version(id); // a child the supervisor knew from the journal is held from its first restart on
  return restarted_child{std::move(r->actor), r->fresh};
}

void engine_supervisor_host::release_child(task_id id, bool still_running) {
  core_.completions.set_supervised(id, false); // a held end is reported now
  {
    std::lock_guard guard{mx_};
    held_.erase(id.value()); // its version may drain now
  }
  if (!still_running)
    core_.mail.close(id.value());
}

caf::actor engine_supervisor_host::spawn_actor(const std::function<caf::actor(caf::actor_system&)>& spawn) {
  caf::actor a;
  core_.keeping_thread_logger([&] { a = spawn(*core_.system); });
  return a;
}

eventlog::journal* engine_supervisor_host::journal() noexcept {
  return core_.journal.get();
}

spdlog::logger& engine_supervisor_host::log() noexcept {
  return *core_.log;
}

std::uint64_t engine_supervisor_host::seed() noexcept {
  return core_.ids.seed();
}

supervision_state& engine_supervisor_host::supervisors() noexcept {
  return *core_.supervisors;
}

} // namespace actors::detail
