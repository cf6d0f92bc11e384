// ctx's side of the engine: the runtime's entry points (runtime_ops, actors/detail/op.hpp) that ctx and
// its awaiters call through the runtime they hold — how a coroutine's co_await reaches its task's
// runtime (task_runtime::begin, then task_runtime::suspend with the awaiting coroutine in op::waiter),
// also from a module's code (op_failure.cpp throws what a failed op throws).

#include "actors/ctx.hpp"

#include "task/task_runtime.hpp"

namespace actors::detail {

// --- the runtime's entry points (runtime_ops, actors/detail/op.hpp) -------------------------------

namespace {

task_runtime& rt_of(runtime_base& b) noexcept {
  return static_cast<task_runtime&>(b);
}
const task_runtime& rt_of(const runtime_base& b) noexcept {
  return static_cast<const task_runtime&>(b);
}

} // namespace

const runtime_ops task_runtime_ops{
  .journaling = [](const runtime_base& b) noexcept { return rt_of(b).journaling(); },
  .begin = [](runtime_base& b, op& o) { return rt_of(b).begin(o); },
  .suspend = [](runtime_base& b, op& o) { rt_of(b).suspend(o); },
  .cancel_spawned = [](runtime_base& b, std::uint32_t seq) { rt_of(b).cancel_child(seq); },
  .id = [](const runtime_base& b) noexcept { return rt_of(b).id().value(); },
  .root = [](const runtime_base& b) noexcept { return rt_of(b).root().value(); },
  .function = [](const runtime_base& b) noexcept -> const std::string& { return rt_of(b).function(); },
  .version = [](const runtime_base& b) noexcept -> const std::string& { return rt_of(b).version(); },
  .replaying = [](const runtime_base& b) noexcept { return rt_of(b).replaying(); },
};

} // namespace actors::detail
