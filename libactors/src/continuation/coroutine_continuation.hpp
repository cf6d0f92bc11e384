#pragma once
// coroutine_continuation — the continuation of a coroutine task (`task<Out> f(ctx&, In)`, DESIGN §2):
// the root coroutine its function's invoker creates from the input, suspended at the op it awaits.
// resume() resumes the coroutine that awaited the answered op (op::waiter: the root or a subroutine
// it co_awaits), and the outcome is read from the root's promise. A resumed or replayed task re-runs
// it from its input, the journal answering its ops (task_runtime).
//
// Lives inside its task_runtime (no allocation beyond the running_task and frames the invoker makes).
// Not thread-safe: used only on its task actor's thread. Internal.

#include <coroutine>
#include <memory>

#include "actors/detail/invoker.hpp"
#include "continuation/continuation.hpp"

namespace actors::detail {

class coroutine_continuation final : public continuation {
public:
  /// The function the task runs. Held for as long as the coroutine: the frame of a capturing lambda
  /// refers to its closure, which the invoker owns.
  explicit coroutine_continuation(std::shared_ptr<const invoker> fn) noexcept;
  ~coroutine_continuation() override;

  coroutine_continuation(const coroutine_continuation&) = delete;
  coroutine_continuation& operator=(const coroutine_continuation&) = delete;

  std::optional<std::string> start(ctx& cx, const std::string& input) override;
  void resume(op* answered) override;
  bool done() const noexcept override { return root_ && root_.done(); }
  std::exception_ptr error() const noexcept override;
  std::string output_bytes() const override;
  std::string output_text() const override;
  void destroy() noexcept override;
  std::string describe() const override;

private:
  std::shared_ptr<const invoker> fn_; // declared first: destroyed after the coroutine
  std::unique_ptr<running_task> running_; ///< from start() to destroy()
  std::coroutine_handle<> root_;          ///< running_->handle(), read once
  bool started_ = false;                  ///< for describe(): destroyed, not unstarted
};

} // namespace actors::detail
