#pragma once
// The operation a task awaits (an effect, a call, a log...) and the awaiter that hands it to the task's
// runtime. Internal to the engine; public only because ctx's templates build them.

#include <coroutine>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include "actors/serialization.hpp"

namespace actors::detail {

struct op;
struct runtime_base;

/// How a task's code reaches the runtime that runs it: functions of the engine, which its runtime
/// (runtime_base::ops) points at. Code compiled elsewhere — a module (<actors/module.hpp>), which links
/// its own copy of libactors — so calls the engine's runtime, never a copy of it that could differ from
/// it. Every member takes the runtime it was found in.
struct runtime_ops {
  bool (*journaling)(const runtime_base& rt) noexcept;
  bool (*begin)(runtime_base& rt, op& o);
  void (*suspend)(runtime_base& rt, op& o);
  void (*cancel_spawned)(runtime_base& rt, std::uint32_t seq);
  std::uint64_t (*id)(const runtime_base& rt) noexcept;
  std::uint64_t (*root)(const runtime_base& rt) noexcept;
  const std::string& (*function)(const runtime_base& rt) noexcept;
  const std::string& (*version)(const runtime_base& rt) noexcept;
  bool (*replaying)(const runtime_base& rt) noexcept;
};

/// What public code sees of a task's runtime: its entry points. The engine's runtime derives from it.
struct runtime_base {
  const runtime_ops* ops = nullptr;
};

/// What an op does. Mirrors eventlog::event_kind for the kinds task code can await (value for value,
/// checked at compile time in libactors/src/continuation/journal_match.hpp).
enum class op_kind : std::uint8_t {
  now = 2,
  random = 3,
  log = 4,
  effect = 5,
  call = 6,
  sleep = 11,
  send = 12,
  receive = 13,
  spawn = 15,
  join = 16,
};

struct op {
  op_kind kind = op_kind::log;
  std::string name;    ///< Effect name or called function.
  std::string request; ///< Serialized request (effect struct, random bound); calls encode lazily.
  std::string text;    ///< Readable rendering of the request (or the log line); effects and calls
                       ///< render it only when journaling (see `render_request`).
  // effects
  const std::type_info* effect_type = nullptr;
  /// Renders the request on demand (replay sessions render only a divergence). Valid while the task
  /// is inside `begin_op`: `value` points to the awaited expression's effect.
  const void* value = nullptr;
  std::string (*render_value)(const void*) = nullptr;

  /// `text`, or the request rendered now if it was not.
  std::string render_request() const {
    return text.empty() && render_value != nullptr && value != nullptr ? render_value(value) : text;
  }
  // messages
  std::uint64_t target = 0; ///< send: the receiving task
  std::string type;         ///< send: the message's type name
  // calls
  std::string version; ///< Pinned version, or empty.
  const std::type_info* input_type = nullptr;
  const std::type_info* output_type = nullptr;
  std::function<std::optional<std::string>(const std::type_info&)> encode;
  // outcome, set by the runtime
  bool failed = false;
  std::string result; ///< Serialized result, or the error text when `failed`.
  std::coroutine_handle<> waiter;
};

inline op builtin_op(op_kind k) {
  op o;
  o.kind = k;
  return o;
}

/// True if the task's engine journals (renderings for tools are only computed then).
inline bool journaling(const runtime_base* rt) noexcept {
  return rt->ops->journaling(*rt);
}

/// Starts `o`: answers it from the journal or locally (returns true), or returns false when the task
/// must suspend until the runtime resumes it.
inline bool begin_op(runtime_base* rt, op& o) {
  return rt->ops->begin(*rt, o);
}
/// Suspends the awaiting coroutine `h` on `o` (dispatches live work).
inline void suspend_op(runtime_base* rt, op& o, std::coroutine_handle<> h) {
  o.waiter = h; // what the runtime's continuation resumes once `o` is answered
  rt->ops->suspend(*rt, o);
}
/// Cancels the child spawned at `seq` (ctx::cancel), if it still runs.
inline void cancel_spawned(runtime_base* rt, std::uint32_t seq) {
  rt->ops->cancel_spawned(*rt, seq);
}
/// Throws the exception that corresponds to a failed `o` (effect_error or call_error).
[[noreturn]] void throw_op_failure(const op& o);

template <class T, auto Decode>
struct op_awaiter {
  runtime_base* rt;
  op o;

  bool await_ready() { return begin_op(rt, o); }
  void await_suspend(std::coroutine_handle<> h) { suspend_op(rt, o, h); }
  T await_resume() {
    if (o.failed)
      throw_op_failure(o);
    if constexpr (std::is_void_v<T>)
      Decode(o.result);
    else
      return Decode(o.result);
  }
};

// --- GCC 12 guard ------------------------------------------------------------------------------------
//
// GCC 12 (Debian bookworm's compiler) miscompiles an *aggregate* temporary with non-trivially
// destructible members (a struct with a std::string, built as `T{...}` or `T(...)`) in a full-expression
// that contains co_await: it is destroyed twice (DESIGN-NOTES §5). ctx's functions refuse such an
// argument at compile time on GCC < 13 (a static_assert naming the safe spelling); types with a
// constructor, named values (lvalues) and prvalues returned by a function are not affected, and neither
// are clang nor GCC >= 13, where the same code compiles.

/// True if passing a `T&&`-deduced argument of type T (a forwarding reference's parameter) is the
/// pattern GCC 12 destroys twice inside co_await; always false on other compilers.
template <class T>
inline constexpr bool gcc12_aggregate_temporary =
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
  std::is_aggregate_v<std::remove_cvref_t<T>> &&
  !std::is_trivially_destructible_v<std::remove_cvref_t<T>> && !std::is_lvalue_reference_v<T>;
#else
  false;
#endif

/// True if none of `Ts` (forwarding-reference parameters) is such a temporary.
template <class... Ts>
inline constexpr bool no_gcc12_aggregate_temporary = (!gcc12_aggregate_temporary<Ts> && ...);

/// True if `Args` is one E (any reference or cv): `perform<E>(e)` means `perform(e)`, not `E{e}`.
template <class E, class... Args>
inline constexpr bool is_exactly =
  sizeof...(Args) == 1 && (std::is_same_v<std::remove_cvref_t<Args>, E> && ...);

// --- fixed-width encoding for built-in results -----------------------------------------------------

inline std::string encode_u64(std::uint64_t x) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i)
    s[i] = static_cast<char>((x >> (8 * i)) & 0xff);
  return s;
}

inline std::uint64_t decode_u64(const std::string& s) {
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < 8 && i < s.size(); ++i)
    x |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i])) << (8 * i);
  return x;
}

// --- inputs: string-likes become std::string; integers convert losslessly to the function's type ------

template <class In>
struct normalized_input {
  using type = std::remove_cvref_t<In>;
};
template <>
struct normalized_input<const char*> {
  using type = std::string;
};
template <>
struct normalized_input<char*> {
  using type = std::string;
};
template <>
struct normalized_input<std::string_view> {
  using type = std::string;
};
template <std::size_t N>
struct normalized_input<const char (&)[N]> {
  using type = std::string;
};
template <std::size_t N>
struct normalized_input<char (&)[N]> {
  using type = std::string;
};

template <class In>
using normalized_input_t = typename normalized_input<
  std::conditional_t<std::is_array_v<std::remove_reference_t<In>>, In,
                     std::remove_cvref_t<In>>>::type;

template <class To, class From>
bool try_integral(const From& x, const std::type_info& target, std::optional<std::string>& out) {
  if (out || target != typeid(To))
    return false;
  if (!std::in_range<To>(x))
    return false;
  out = to_bytes(static_cast<To>(x));
  return true;
}

/// Serializes `x` as the function's input type `target`: exactly, or by a lossless integer conversion.
/// Returns nothing if the types do not fit.
template <class In>
std::optional<std::string> encode_input(const In& x, const std::type_info& target) {
  if (target == typeid(In))
    return to_bytes(x);
  std::optional<std::string> out;
  if constexpr (std::is_integral_v<In> && !std::is_same_v<In, bool> && !std::is_same_v<In, char>) {
    try_integral<short>(x, target, out);
    try_integral<unsigned short>(x, target, out);
    try_integral<int>(x, target, out);
    try_integral<unsigned int>(x, target, out);
    try_integral<long>(x, target, out);
    try_integral<unsigned long>(x, target, out);
    try_integral<long long>(x, target, out);
    try_integral<unsigned long long>(x, target, out);
  }
  return out;
}

} // namespace actors::detail
