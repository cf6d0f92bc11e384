#pragma once
// actors::task<T> — the return type of task code: a lazily started C++20 coroutine producing a T.
//
// A registered function has the shape `actors::task<Out> f(actors::ctx&, In)`. The engine runs each
// invocation in its own CAF actor; inside task code, every interaction with the world is a
// `co_await cx.<effect>(...)`. A task may also `co_await` another `task<U>` directly: that is a plain
// subroutine on the same actor (no new task, nothing journaled for the call itself).
//
// An exception escaping task code fails the task; it is rethrown to a subroutine's awaiter, or reported to
// the caller of the task (see ctx::call and engine::wait).

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

namespace actors {

template <class T>
class task;

namespace detail {

struct promise_base {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
      if (auto c = h.promise().continuation)
        return c;
      return std::noop_coroutine();
    }
    void await_resume() const noexcept {}
  };

  final_awaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }
};

template <class T>
struct promise : promise_base {
  std::optional<T> value;
  task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& x) {
    value.emplace(std::forward<U>(x));
  }
  T take() {
    if (error)
      std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct promise<void> : promise_base {
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {
    if (error)
      std::rethrow_exception(error);
  }
};

} // namespace detail

template <class T>
class [[nodiscard]] task {
public:
  using promise_type = detail::promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : h_(h) {}
  task(task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (h_)
        h_.destroy();
      h_ = std::exchange(other.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (h_)
      h_.destroy();
  }

  /// Awaiting a task runs it as a subroutine of the awaiting task and yields its value (or rethrows).
  auto operator co_await() && noexcept {
    struct awaiter {
      handle_type h;
      bool await_ready() const noexcept { return !h || h.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
        h.promise().continuation = caller;
        return h;
      }
      T await_resume() { return h.promise().take(); }
    };
    return awaiter{h_};
  }

  /// The coroutine handle (used by the engine to drive a task's root coroutine).
  handle_type handle() const noexcept { return h_; }

private:
  handle_type h_;
};

namespace detail {

template <class T>
task<T> promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<promise<T>>::from_promise(*this)};
}

inline task<void> promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<promise<void>>::from_promise(*this)};
}

} // namespace detail

} // namespace actors
