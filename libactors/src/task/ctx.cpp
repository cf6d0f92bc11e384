#include "actors/ctx.hpp"

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
