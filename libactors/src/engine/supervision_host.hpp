#pragma once
// supervision_host — the engine's side of supervisor_host (supervisor/supervisor_host.hpp): what a
// supervisor may ask of the engine, implemented on engine_core's components. Thread-safe as they are.
// Internal.

#include "supervisor/supervisor_host.hpp"

namespace actors::detail {

struct engine_core;

class supervision_host final : public supervisor_host {
public:
  explicit supervision_host(engine_core& core) : core_(core) {}

  caf::expected<std::pair<task_id, caf::actor>>
  start_child(const supervision::child_spec& spec, const std::function<void(task_id)>& link) override;
  caf::actor take_over(task_id id) override;
  caf::expected<restarted_child> restart_child(task_id id, bool fresh, const std::string& why) override;
  void release_child(task_id id, bool still_running) override;
  caf::actor spawn_actor(const std::function<caf::actor(caf::actor_system&)>& spawn) override;
  eventlog::journal* journal() noexcept override;
  spdlog::logger& log() noexcept override;
  std::uint64_t seed() noexcept override;
  supervision_state& supervisors() noexcept override;

private:
  engine_core& core_;
};

} // namespace actors::detail
