#pragma once
// The engine's side of the interfaces that lower folders declare for what they need of it:
// engine_task_host implements task_host (task/ and replay/), engine_supervisor_host implements
// supervisor_host (supervisor/). Both are thin: each call goes to one of engine_core's components or
// operations. Thread-safe as those are. Internal.

#include "supervisor/supervisor_host.hpp"
#include "task/task_host.hpp"

#include <mutex>
#include <unordered_map>

namespace actors::detail {

struct engine_core;

class engine_task_host final : public task_host {
public:
  explicit engine_task_host(engine_core& core) : core_(core) {}

  const engine_config& config() const noexcept override;
  eventlog::journal* journal() const noexcept override;
  std::shared_ptr<const effect_handler> handler(std::string_view name) const override;
  std::shared_ptr<const function_snapshot> functions() const override;
  mailboxes& mail() noexcept override;
  completion_registry& completions() noexcept override;
  worker_pool& pool() noexcept override;
  work_count& work() noexcept override;
  task_counters& counters() noexcept override;
  spdlog::logger& log() noexcept override;
  spdlog::logger& task_log() noexcept override;
  task_id new_id() noexcept override;
  std::uint64_t new_seed() noexcept override;
  caf::expected<routed_version> route(std::string_view fn, std::uint64_t root,
                                      std::string_view pinned) const override;
  caf::actor spawn(std::unique_ptr<task_runtime> rt, bool counted) override;
  void finished(task_id id, outcome out, const caf::actor& parent, std::uint32_t parent_seq,
                completion* entry) override;
  void release_place(bool pass_on) override;
  void retake_place() override;
  bool cancel_running(task_id id) override;
  bool task_alive(std::uint64_t id) override;
  bool supervised(std::uint64_t id) const override;
  void launch_shadow(shadow_run r) override;
  void keeping_thread_logger(const std::function<void()>& f) override;

private:
  engine_core& core_;
};

class engine_supervisor_host final : public supervisor_host {
public:
  explicit engine_supervisor_host(engine_core& core) : core_(core) {}

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
  /// Holds the version of supervised child `id` (as its completion entry names it) until its
  /// supervisor lets it go: a child between two runs still needs its version for the restart.
  void hold_version(task_id id);

  engine_core& core_;
  std::mutex mx_;
  std::unordered_map<std::uint64_t, version_ref> held_; ///< by task id; guarded by mx_
};

} // namespace actors::detail
