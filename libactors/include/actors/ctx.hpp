#pragma once
// actors::ctx — task code's only door to the world. Every interaction with time, randomness, I/O and
// other tasks is a `co_await cx.<effect>(...)`, journaled by the engine and answered from the journal
// when a task is resumed or replayed.
//
// DETERMINISM RULE. Task code reaches time, randomness, I/O and other tasks only through `ctx`: no
// `std::chrono::*::now()`, no `rand()`/`std::random_device`, no files, sockets or raw threads, no
// global mutable state. On resume the engine re-runs the function from its input and answers each effect
// from the journal; code that decides differently the second time asks for a different effect, and the
// engine stops that task with `errc::nondeterminism` (the journal is kept; nothing is lost).
//
// Thread safety: a ctx belongs to its task and is used only from the task's own code.

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <fmt/format.h>

#include "actors/detail/op.hpp"
#include "actors/router.hpp"
#include "actors/serialization.hpp"
#include "actors/task.hpp"
#include "actors/task_id.hpp"

namespace actors {

/// Thrown into task code when a user effect's handler failed. what(): "effect 'db.get' failed: ...".
class effect_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Thrown into task code by `co_await cx.call(...)` when the call could not be made (unknown function or
/// version, wrong types) or the called task failed. what() names the function, version and cause.
class call_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

template <class T>
class spawned;

class ctx {
public:
  using clock = std::chrono::system_clock;

  explicit ctx(detail::task_runtime* rt) noexcept : rt_(rt) {}
  ctx(const ctx&) = delete;
  ctx& operator=(const ctx&) = delete;

  /// The wall-clock time, journaled.
  [[nodiscard]] auto now() {
    return detail::op_awaiter<clock::time_point, decode_time>{rt_, detail::builtin_op(
                                                                     detail::op_kind::now)};
  }

  /// A durable timer: suspends the task for `d` (no thread waits). The deadline is journaled, so a task
  /// resumed after a crash sleeps only what is left of it; replay and shadow runs do not wait.
  template <class Rep, class Period>
  [[nodiscard]] auto sleep(std::chrono::duration<Rep, Period> d) {
    auto o = detail::builtin_op(detail::op_kind::sleep);
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    o.request = detail::encode_u64(static_cast<std::uint64_t>(ns < 0 ? 0 : ns));
    o.text = std::to_string(ns < 0 ? 0 : ns / 1'000'000) + " ms";
    return detail::op_awaiter<void, decode_void>{rt_, std::move(o)};
  }

  /// A uniformly distributed integer in [0, n), journaled. @pre n > 0
  [[nodiscard]] auto random(std::uint64_t n) {
    auto o = detail::builtin_op(detail::op_kind::random);
    o.request = detail::encode_u64(n);
    o.text = std::to_string(n);
    return detail::op_awaiter<std::uint64_t, decode_u64>{rt_, std::move(o)};
  }

  /// Formats a log line (fmt syntax) and journals it. Logs are never compared between runs.
  template <class... Ts>
  [[nodiscard]] auto log(fmt::format_string<Ts...> f, Ts&&... xs) {
    auto o = detail::builtin_op(detail::op_kind::log);
    o.text = fmt::format(f, std::forward<Ts>(xs)...);
    return detail::op_awaiter<void, decode_void>{rt_, std::move(o)};
  }

  /// Performs the user effect `e` through its installed handler (on the worker pool), journaled.
  /// Throws `effect_error` if the handler throws.
  template <class E>
  [[nodiscard]] auto perform(const E& e) {
    return perform_impl(e);
  }

  /// Overload for temporaries; see `detail::gcc12_aggregate_temporary` for why it may warn.
  template <class E>
    requires(!std::is_lvalue_reference_v<E>)
  [[nodiscard]] auto perform(E&& e) {
    detail::check_temporary<E>();
    return perform_impl(e);
  }

  /// Sends `msg` to task `to`'s mailbox (see receive), journaled with the message: a resumed task never
  /// sends a journaled message again. Waits while `to`'s mailbox is full (engine_config::
  /// mailbox_capacity). Throws `effect_error` if `to` is unknown or has ended.
  template <class M>
  [[nodiscard]] auto send(task_id to, const M& msg) {
    detail::op o;
    o.kind = detail::op_kind::send;
    o.target = to.value();
    o.name = to_string(to);
    o.type = type_name<M>();
    o.request = to_bytes(msg);
    o.text = render(msg);
    return detail::op_awaiter<void, decode_void>{rt_, std::move(o)};
  }

  /// Takes the oldest message from this task's mailbox, waiting for one. Every received message is
  /// journaled, so a resumed or replayed task receives the same messages in the same order. Throws
  /// `effect_error` if the message is not a `T` (it is consumed all the same).
  template <class T>
  [[nodiscard]] auto receive() {
    return detail::op_awaiter<T, decode_message<T>>{rt_, receive_op<T>(-1)};
  }

  /// As above, but gives up after `timeout`: an empty optional. The timeout is not durable: a task
  /// resumed while waiting waits the whole timeout again.
  template <class T, class Rep, class Period>
  [[nodiscard]] auto receive(std::chrono::duration<Rep, Period> timeout) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
    return detail::op_awaiter<std::optional<T>, decode_optional_message<T>>{
      rt_, receive_op<T>(ns < 0 ? 0 : ns)};
  }

private:
  template <class T>
  static detail::op receive_op(std::int64_t timeout_ns) {
    detail::op o;
    o.kind = detail::op_kind::receive;
    o.name = type_name<T>();
    o.request = detail::encode_u64(static_cast<std::uint64_t>(timeout_ns));
    o.text = timeout_ns < 0 ? std::string{"no timeout"}
                            : "timeout " + std::to_string(timeout_ns / 1'000'000) + " ms";
    return o;
  }
  /// A receive's result: "\1" + the message bytes, or "\0" when it timed out.
  template <class T>
  static T decode_message(const std::string& bytes) {
    return from_bytes<T>(bytes.substr(1));
  }
  template <class T>
  static std::optional<T> decode_optional_message(const std::string& bytes) {
    if (bytes.empty() || bytes[0] == '\0')
      return std::nullopt;
    return from_bytes<T>(bytes.substr(1));
  }

  template <class E>
  auto perform_impl(const E& e) {
    using result_type = typename E::result_type;
    detail::op o;
    o.kind = detail::op_kind::effect;
    o.name = E::name;
    o.request = to_bytes(e);
    if (detail::journaling(rt_))
      o.text = render(e);
    o.value = &e;
    o.render_value = [](const void* p) { return render(*static_cast<const E*>(p)); };
    o.effect_type = &typeid(E);
    return detail::op_awaiter<result_type, decode_bytes<result_type>>{rt_, std::move(o)};
  }

public:
  /// Calls function `fn` as a child task (its own actor), routed by the engine's router, and yields its
  /// output. Throws `call_error` if the call cannot be made or the child fails.
  template <class T, class In>
  [[nodiscard]] auto call(std::string_view fn, In&& in) {
    detail::check_temporary<In>();
    return make_call<T>(fn, std::forward<In>(in), std::string{});
  }

  /// As above, pinned to version `v`: `cx.call<User>("lookupUser", uid, actors::version{"v1"})`.
  template <class T, class In>
  [[nodiscard]] auto call(std::string_view fn, In&& in, version v) {
    detail::check_temporary<In>();
    return make_call<T>(fn, std::forward<In>(in), std::move(v.name));
  }

  /// Starts function `fn` as a child task (routed like a call) and goes on without waiting: returns
  /// its handle; `co_await` the handle (or `join`) for its output. Structured concurrency (a nursery):
  /// the task does not end before its spawned children have ended; the first child that fails cancels
  /// its running siblings, and its error reaches this task — thrown by `co_await` on that child, by the
  /// next `spawn`, or, if never observed, as this task's failure when its body ends. Throws
  /// `call_error` if the call cannot be made (unknown function, wrong types).
  template <class T, class In>
  [[nodiscard]] auto spawn(std::string_view fn, In&& in) {
    detail::check_temporary<In>();
    return spawn_awaiter<T>{rt_, make_call_op<T>(fn, std::forward<In>(in), std::string{},
                                                 detail::op_kind::spawn)};
  }

  /// As above, pinned to version `v`.
  template <class T, class In>
  [[nodiscard]] auto spawn(std::string_view fn, In&& in, version v) {
    detail::check_temporary<In>();
    return spawn_awaiter<T>{rt_, make_call_op<T>(fn, std::forward<In>(in), std::move(v.name),
                                                 detail::op_kind::spawn)};
  }

  /// Waits for spawned child `c` and yields its output (journaled). Throws `call_error` if it failed or
  /// was cancelled. Same as `co_await c`.
  template <class T>
  [[nodiscard]] auto join(const spawned<T>& c);

  /// Cancels spawned child `c` if it still runs: it ends with a journaled `cancelled` event, and joining
  /// it throws. A cancelled child does not fail this task.
  template <class T>
  void cancel(const spawned<T>& c) {
    detail::cancel_spawned(rt_, c.seq_);
  }

  /// This task's id, its call tree's root, and what it runs.
  task_id id() const noexcept;
  task_id root() const noexcept;
  const std::string& function() const noexcept;
  const std::string& version_name() const noexcept;

  /// True while effects are being answered from the journal (resume); false once running live.
  bool replaying() const noexcept;

private:
  template <class T>
  friend class spawned;

  /// Spawn's awaiter: like an op, but yields the child's handle.
  template <class T>
  struct spawn_awaiter {
    detail::task_runtime* rt;
    detail::op o;
    bool await_ready() { return detail::begin_op(rt, o); }
    void await_suspend(std::coroutine_handle<> h) { detail::suspend_op(rt, o, h); }
    spawned<T> await_resume();
  };

  template <class T, class In>
  auto make_call(std::string_view fn, In&& in, std::string pinned) {
    return detail::op_awaiter<T, decode_bytes<T>>{
      rt_, make_call_op<T>(fn, std::forward<In>(in), std::move(pinned), detail::op_kind::call)};
  }

  template <class T, class In>
  detail::op make_call_op(std::string_view fn, In&& in, std::string pinned, detail::op_kind kind) {
    using input_type = detail::normalized_input_t<In>;
    detail::op o;
    o.kind = kind;
    o.name = std::string{fn};
    o.version = std::move(pinned);
    o.output_type = &typeid(T);
    auto input = std::make_shared<input_type>(std::forward<In>(in));
    if (detail::journaling(rt_))
      o.text = render(*input);
    o.encode = [input](const std::type_info& target) {
      return detail::encode_input<input_type>(*input, target);
    };
    o.input_type = &typeid(input_type);
    return o;
  }

  static clock::time_point decode_time(const std::string& bytes) {
    return clock::time_point{std::chrono::duration_cast<clock::duration>(
      std::chrono::nanoseconds{static_cast<std::int64_t>(detail::decode_u64(bytes))})};
  }
  static std::uint64_t decode_u64(const std::string& bytes) { return detail::decode_u64(bytes); }
  static void decode_void(const std::string&) {}
  template <class T>
  static T decode_bytes(const std::string& bytes) {
    if constexpr (std::is_void_v<T>)
      return;
    else
      return from_bytes<T>(bytes);
  }

  detail::task_runtime* rt_;
};

/// A spawned child task (ctx::spawn): `co_await` it to join it. A handle belongs to the task that
/// spawned it; copies name the same child.
template <class T>
class spawned {
public:
  /// The child's task id.
  task_id id() const noexcept { return task_id{id_}; }
  auto operator co_await() const {
    detail::op o;
    o.kind = detail::op_kind::join;
    o.name = to_string(task_id{id_});
    o.request = detail::encode_u64(seq_);
    o.target = id_;
    return detail::op_awaiter<T, ctx::decode_bytes<T>>{rt_, std::move(o)};
  }

private:
  friend class ctx;
  spawned(detail::task_runtime* rt, std::uint32_t seq, std::uint64_t id)
    : rt_(rt), seq_(seq), id_(id) {}
  detail::task_runtime* rt_;
  std::uint32_t seq_;
  std::uint64_t id_;
};

template <class T>
auto ctx::join(const spawned<T>& c) {
  return c.operator co_await();
}

template <class T>
spawned<T> ctx::spawn_awaiter<T>::await_resume() {
  if (o.failed)
    detail::throw_op_failure(o);
  // the handle: the spawn's seq, then the child's id
  return spawned<T>{rt, static_cast<std::uint32_t>(detail::decode_u64(o.result.substr(0, 8))),
                  detail::decode_u64(o.result.substr(8, 8))};
}

} // namespace actors
