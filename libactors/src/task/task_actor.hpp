#pragma once
// task_actor — the CAF actor that runs one task: it owns the task's runtime and turns the messages that
// complete its effects and calls into resumptions of its continuation. It quits when the task has ended.

#include <memory>

#include <caf/event_based_actor.hpp>

#include "task/task_runtime.hpp"

namespace actors::detail {

class task_actor : public caf::event_based_actor {
public:
  task_actor(caf::actor_config& cfg, std::unique_ptr<task_runtime> rt);
  ~task_actor() override;

  caf::behavior make_behavior() override;
  const char* name() const override { return "actors.task"; }
  // One activation, the initialization and one message, each ordered for ThreadSanitizer
  // (`ordered_step` in tell.hpp); otherwise the base class's.
  resume_result resume(caf::execution_unit* eu, std::size_t max_throughput) override;
  void initialize() override;
  caf::invoke_message_result consume(caf::mailbox_element& x) override;

private:
  void quit_if_finished();
  std::unique_ptr<task_runtime> rt_;
};

} // namespace actors::detail
