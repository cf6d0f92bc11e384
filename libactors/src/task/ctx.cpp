// ctx's side of the engine: the out-of-line accessors of actors::ctx, and the awaiter entry points its
// templates call (declared in actors/detail/op.hpp) — how a coroutine's co_await reaches its task's
// runtime (task_runtime::begin, then task_runtime::suspend with the awaiting coroutine in op::waiter).

#include "actors/ctx.hpp"

#include "continuation/journal_match.hpp"
#include "task/task_runtime.hpp"

namespace actors {

task_id ctx::id() const noexcept {
  return rt_->id();
}

task_id ctx::root() const noexcept {
  return rt_->root();
}

const std::string& ctx::function() const noexcept {
  return rt_->function();
}

const std::string& ctx::version_name() const noexcept {
  return rt_->version();
}

bool ctx::replaying() const noexcept {
  return rt_->replaying();
}

} // namespace actors

namespace actors::detail {

namespace {

std::string_view kind_name(op_kind k) {
  return eventlog::to_string(event_kind_of(k));
}

} // namespace

// --- the awaiter entry points (declared in actors/detail/op.hpp) -----------------------------------

bool journaling(const task_runtime* rt) noexcept {
  return rt->journaling();
}

void cancel_spawned(task_runtime* rt, std::uint32_t seq) {
  rt->cancel_child(seq);
}

bool begin_op(task_runtime* rt, op& o) {
  return rt->begin(o);
}

void suspend_op(task_runtime* rt, op& o, std::coroutine_handle<> h) {
  o.waiter = h; // what the runtime's continuation resumes once `o` is answered
  rt->suspend(o);
}

void throw_op_failure(const op& o) {
  if (o.kind == op_kind::call || o.kind == op_kind::spawn)
    throw call_error("call to " + o.name + (o.version.empty() ? "" : "@" + o.version) +
                     " failed: " + o.result);
  if (o.kind == op_kind::join)
    throw call_error("child task " + o.name + " failed: " + o.result);
  auto name = o.kind == op_kind::effect && !o.name.empty() ? o.name : std::string{kind_name(o.kind)};
  throw effect_error("effect '" + name + "' failed: " + o.result);
}

} // namespace actors::detail
