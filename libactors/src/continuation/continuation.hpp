#pragma once
// continuation — what a task *is* between steps (DESIGN §2, §12): the state its runtime drives from
// one op to the next. task_runtime starts it from the task's serialized input, resumes it each time the
// op it waits for has been answered, and reads its outcome once it has ended; a cancelled, detached or
// aborted task destroys it without running any more of it. Coroutine tasks implement it with their
// coroutine frames (coroutine_continuation.hpp); flows (DESIGN §12) will with an explicit
// (step, state) value.
//
// The ops do not pass through it: a running continuation asks for each one through its task's ctx
// (task_runtime::begin, and task_runtime::suspend when it must wait for it), and what it needs to be
// resumed with an op travels in the op (a coroutine: op::waiter).
//
// Not thread-safe: used only on its task actor's thread, like the task_runtime that owns it. Internal.

#include <exception>
#include <optional>
#include <string>

namespace actors {
class ctx;
}

namespace actors::detail {

struct op;

class continuation {
public:
  virtual ~continuation() = default;

  /// Builds the task from its serialized input, ready for its first step; none of its code runs yet.
  /// Returns nullopt, or why `input` cannot start it ("does not decode as <type>: <why>"), leaving it
  /// unstarted. `cx` is the task's ctx: it outlives the continuation.
  virtual std::optional<std::string> start(ctx& cx, const std::string& input) = 0;
  /// Runs the task until it waits for an op or ends: its first step when `answered` is null (after
  /// start), else on from the op it waited for, whose outcome (op::failed, op::result) is set.
  virtual void resume(op* answered) = 0;
  /// True once the task's code has ended (returned or failed), until destroy(); false before.
  virtual bool done() const noexcept = 0;
  /// Once done: why its code failed (the exception it threw), or null if it returned.
  virtual std::exception_ptr error() const noexcept = 0;
  /// Once done without error: the output, serialized as the function's output type.
  virtual std::string output_bytes() const = 0;
  /// Once done without error: the output rendered for people (costs a rendering: only when journaled).
  virtual std::string output_text() const = 0;
  /// Drops the task's state (a coroutine: its frames) without running any more of it. Its outcome is
  /// gone: done() is false after it. Idempotent.
  virtual void destroy() noexcept = 0;
  /// One line for logs and `task show`: its style, what it takes and returns, and where it is.
  virtual std::string describe() const = 0;
};

} // namespace actors::detail
