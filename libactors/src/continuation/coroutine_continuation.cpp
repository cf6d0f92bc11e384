// coroutine_continuation: starting a coroutine task's root coroutine from its input, resuming the
// coroutine an answered op woke, and reading the root's outcome (see coroutine_continuation.hpp).

#include "continuation/coroutine_continuation.hpp"

#include <exception>

#include "actors/detail/op.hpp"

namespace actors::detail {

coroutine_continuation::coroutine_continuation(std::shared_ptr<const invoker> fn) noexcept
  : fn_(std::move(fn)) {}

coroutine_continuation::~coroutine_continuation() = default;

std::optional<std::string> coroutine_continuation::start(ctx& cx, const std::string& input) {
  try {
    running_ = fn_->start(cx, input);
  } catch (const std::exception& e) {
    return "does not decode as " + fn_->input_type_name() + ": " + e.what();
  }
  root_ = running_->handle();
  started_ = true;
  return std::nullopt;
}

void coroutine_continuation::resume(op* answered) {
  // The coroutine that awaited the op (set by its awaiter as it suspended), else the root's first step.
  // Copied first: the op lives in the frame it resumes.
  auto h = answered != nullptr ? answered->waiter : root_;
  h.resume();
}

std::exception_ptr coroutine_continuation::error() const noexcept {
  return running_->error();
}

std::string coroutine_continuation::output_bytes() const {
  return running_->output_bytes();
}

std::string coroutine_continuation::output_text() const {
  return running_->output_text();
}

void coroutine_continuation::destroy() noexcept {
  root_ = {};
  running_.reset();
}

std::string coroutine_continuation::describe() const {
  auto where = !started_ ? "not started" : !running_ ? "destroyed" : done() ? "ended" : "suspended";
  return "coroutine (" + fn_->input_type_name() + " -> " + fn_->output_type_name() + "), " + where;
}

} // namespace actors::detail
