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
//
// GCC 12. GCC 12 (Debian bookworm's compiler) destroys a temporary *aggregate* with non-trivially
// destructible members (`fetch_balance{id}` with a `std::string id`) twice when it is built in a
// statement that contains co_await. Every function below refuses such an argument at compile time on
// GCC < 13, with an error at the caller's line that names the type and the fix; on clang and GCC >= 13
// the same code compiles and works. The spelling that is safe everywhere: `cx.perform<E>(args...)` for
// effects, named values (`In in{...}; co_await cx.call<T>(fn, in);`) for everything else. See README,
// "Compiler notes", and DESIGN-NOTES §5.

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

  explicit ctx(detail::runtime_base* rt) noexcept : rt_(rt) {}
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
    static_assert(detail::no_gcc12_aggregate_temporary<Ts...>,
                  "GCC 12 destroys a temporary aggregate with non-trivially destructible members twice "
                  "inside co_await, and an argument of cx.log is one (its type is in '[with Ts = ...]' "
                  "above): name the value first, then pass the name (README, 'Compiler notes')");
    auto o = detail::builtin_op(detail::op_kind::log);
    o.text = fmt::format(f, std::forward<Ts>(xs)...);
    return detail::op_awaiter<void, decode_void>{rt_, std::move(o)};
  }

  /// Performs the user effect `E{args...}` through its installed handler (on the worker pool),
  /// journaled, and yields its `E::result_type`: `co_await cx.perform<fetch_balance>(id)`. Throws
  /// `effect_error` if the handler throws. The effect is built inside libactors and kept in the awaiter
  /// until it is answered, so this spelling is safe on every compiler (GCC 12 included, see above); an
  /// argument that is itself a temporary aggregate with non-trivial members is refused on GCC 12.
  template <class E, class... Args>
    requires(!detail::is_exactly<E, Args...>) &&
            requires(Args&&... args) { E{std::forward<Args>(args)...}; }
  [[nodiscard]] auto perform(Args&&... args) {
    static_assert(detail::no_gcc12_aggregate_temporary<Args...>,
                  "GCC 12 destroys a temporary aggregate with non-trivially destructible members twice "
                  "inside co_await, and an argument of cx.perform<E>(args...) is one (its type is in "
                  "'[with ... Args = ...]' above): name it first, then pass the name (README, 'Compiler "
                  "notes')");
    return owned_effect_awaiter<E>{rt_, std::forward<Args>(args)...};
  }

  /// Performs the effect `e`, a named value: `fetch_balance q{id}; co_await cx.perform(q);`. As above.
  template <class E>
  [[nodiscard]] auto perform(const E& e) {
    return perform_impl(e);
  }

  /// Performs a temporary effect: `co_await cx.perform(fetch_balance{id})`. As above, but on GCC < 13 an
  /// aggregate E with non-trivially destructible members is a compile-time error (GCC 12 would destroy
  /// it twice): write `cx.perform<E>(args...)` instead.
  template <class E>
    requires(!std::is_lvalue_reference_v<E>)
  [[nodiscard]] auto perform(E&& e) {
    static_assert(!detail::gcc12_aggregate_temporary<E>,
                  "GCC 12 destroys a temporary aggregate with non-trivially destructible members twice "
                  "inside co_await, and this effect is one (its type is E in '[with E = ...]' above): "
                  "write co_await cx.perform<E>(args...) instead of co_await cx.perform(E{args...}), or "
                  "name the effect first: E e{args...}; co_await cx.perform(e); (README, 'Compiler "
                  "notes')");
    return perform_impl(e);
  }

  /// Sends `msg` to task `to`'s mailbox (see receive), journaled with the message: a resumed task never
  /// sends a journaled message again. Waits while `to`'s mailbox is full (engine_config::
  /// mailbox_capacity). Throws `effect_error` if `to` is unknown or has ended. On GCC < 13 a temporary
  /// aggregate message with non-trivially destructible members is a compile-time error (see above).
  template <class M>
  [[nodiscard]] auto send(task_id to, M&& msg) {
    static_assert(!detail::gcc12_aggregate_temporary<M>,
                  "GCC 12 destroys a temporary aggregate with non-trivially destructible members twice "
                  "inside co_await, and this message is one (its type is M in '[with M = ...]' above): "
                  "name the message first: M m{...}; co_await cx.send(to, m); (README, 'Compiler notes')");
    using message = std::remove_cvref_t<M>;
    detail::op o;
    o.kind = detail::op_kind::send;
    o.target = to.value();
    o.name = to_string(to);
    o.type = type_name<message>();
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

  /// The op of effect `e`; `value` is left for the caller to point at the awaited effect.
  template <class E>
  static detail::op effect_op(detail::runtime_base* rt, const E& e) {
    detail::op o;
    o.kind = detail::op_kind::effect;
    o.name = E::name;
    o.request = to_bytes(e);
    if (detail::journaling(rt))
      o.text = render(e);
    o.render_value = [](const void* p) { return render(*static_cast<const E*>(p)); };
    o.effect_type = &typeid(E);
    return o;
  }

  /// An effect the caller owns (a named value, or a temporary that lives until the co_await ends).
  template <class E>
  auto perform_impl(const E& e) {
    using result_type = typename E::result_type;
    auto o = effect_op(rt_, e);
    o.value = &e;
    return detail::op_awaiter<result_type, decode_bytes<result_type>>{rt_, std::move(o)};
  }

public:
  /// Calls function `fn` as a child task (its own actor), routed by the engine's router, and yields its
  /// output. Throws `call_error` if the call cannot be made or the child fails.
  /// On GCC < 13 a temporary aggregate input with non-trivially destructible members is a compile-time
  /// error (see above): name the input first.
  template <class T, class In>
  [[nodiscard]] auto call(std::string_view fn, In&& in) {
    return call<T>(fn, std::forward<In>(in), version{std::string{}});
  }

  /// As above, pinned to version `v`: `cx.call<User>("lookupUser", uid, actors::version{"v1"})`.
  template <class T, class In>
  [[nodiscard]] auto call(std::string_view fn, In&& in, version v) {
    static_assert(!detail::gcc12_aggregate_temporary<In>,
                  "GCC 12 destroys a temporary aggregate with non-trivially destructible members twice "
                  "inside co_await, and this input is one (its type is In in '[with T = ..., In = ...]' "
                  "above): name the input first: In in{...}; co_await cx.call<T>(fn, in); (README, "
                  "'Compiler notes')");
    return make_call<T>(fn, std::forward<In>(in), std::move(v.name));
  }

  /// Starts function `fn` as a child task (routed like a call) and goes on without waiting: returns
  /// its handle; `co_await` the handle (or `join`) for its output. Structured concurrency (a nursery):
  /// the task does not end before its spawned children have ended; the first child that fails cancels
  /// its running siblings, and its error reaches this task — thrown by `co_await` on that child, by the
  /// next `spawn`, or, if never observed, as this task's failure when its body ends. Throws
  /// `call_error` if the call cannot be made (unknown function, wrong types). On GCC < 13 a temporary
  /// aggregate input with non-trivially destructible members is a compile-time error (see above).
  template <class T, class In>
  [[nodiscard]] auto spawn(std::string_view fn, In&& in) {
    return spawn<T>(fn, std::forward<In>(in), version{std::string{}});
  }

  /// As above, pinned to version `v`.
  template <class T, class In>
  [[nodiscard]] auto spawn(std::string_view fn, In&& in, version v) {
    static_assert(!detail::gcc12_aggregate_temporary<In>,
                  "GCC 12 destroys a temporary aggregate with non-trivially destructible members twice "
                  "inside co_await, and this input is one (its type is In in '[with T = ..., In = ...]' "
                  "above): name the input first: In in{...}; co_await cx.spawn<T>(fn, in); (README, "
                  "'Compiler notes')");
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
  task_id id() const noexcept { return task_id{rt_->ops->id(*rt_)}; }
  task_id root() const noexcept { return task_id{rt_->ops->root(*rt_)}; }
  const std::string& function() const noexcept { return rt_->ops->function(*rt_); }
  const std::string& version_name() const noexcept { return rt_->ops->version(*rt_); }

  /// True while effects are being answered from the journal (resume); false once running live.
  bool replaying() const noexcept { return rt_->ops->replaying(*rt_); }

private:
  template <class T>
  friend class spawned;

  /// Spawn's awaiter: like an op, but yields the child's handle.
  template <class T>
  struct spawn_awaiter {
    detail::runtime_base* rt;
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

  /// perform<E>(args...)'s awaiter: owns the effect. `value` points at it from the moment it is
  /// awaited (not before: the awaiter may be moved between its construction and the co_await).
  template <class E>
  struct owned_effect_awaiter {
    using result_type = typename E::result_type;
    template <class... Args>
    owned_effect_awaiter(detail::runtime_base* rt, Args&&... args)
      : effect{std::forward<Args>(args)...}, inner{rt, effect_op(rt, effect)} {}
    bool await_ready() {
      inner.o.value = &effect;
      return inner.await_ready();
    }
    void await_suspend(std::coroutine_handle<> h) { inner.await_suspend(h); }
    result_type await_resume() { return inner.await_resume(); }

    E effect;
    detail::op_awaiter<result_type, decode_bytes<result_type>> inner;
  };

  detail::runtime_base* rt_;
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
  spawned(detail::runtime_base* rt, std::uint32_t seq, std::uint64_t id)
    : rt_(rt), seq_(seq), id_(id) {}
  detail::runtime_base* rt_;
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
