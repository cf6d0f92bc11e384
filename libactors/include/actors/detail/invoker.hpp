#pragma once
// The typed side of a registered function: deserializes the input, starts the coroutine, serializes the
// output. The router stores it type-erased (function_impl); the engine drives it through `invoker`.

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>

#include "actors/router.hpp"
#include "actors/serialization.hpp"
#include "actors/task.hpp"

namespace actors {
class ctx;
}

namespace actors::detail {

/// A started root coroutine of one task.
class running_task {
public:
  virtual ~running_task() = default;
  virtual std::coroutine_handle<> handle() const noexcept = 0;
  /// The exception that escaped task code, if any (valid once the coroutine is done).
  virtual std::exception_ptr error() const noexcept = 0;
  /// The serialized output (valid once done without error).
  virtual std::string output_bytes() const = 0;
  /// A readable rendering of the output.
  virtual std::string output_text() const = 0;
};

class invoker : public function_impl {
public:
  /// Deserializes `input` and creates the (suspended) root coroutine. Throws if `input` is malformed.
  virtual std::unique_ptr<running_task> start(ctx& cx, const std::string& input) const = 0;
  /// Readable type names (computed once: they are journaled with every task).
  virtual const std::string& input_type_name() const noexcept = 0;
  virtual const std::string& output_type_name() const noexcept = 0;
};

template <class Out, class In>
class typed_running final : public running_task {
public:
  template <class Fn>
  typed_running(const Fn& fn, ctx& cx, In input) : input_(std::move(input)), task_(fn(cx, input_)) {}

  std::coroutine_handle<> handle() const noexcept override { return task_.handle(); }
  std::exception_ptr error() const noexcept override { return task_.handle().promise().error; }
  std::string output_bytes() const override {
    if constexpr (std::is_void_v<Out>)
      return {};
    else
      return to_bytes(*task_.handle().promise().value);
  }
  std::string output_text() const override {
    if constexpr (std::is_void_v<Out>)
      return "void";
    else
      return render(*task_.handle().promise().value);
  }

private:
  In input_; // kept alive: task code may take its input by const reference
  task<Out> task_;
};

template <class Out, class In>
class typed_invoker final : public invoker {
public:
  using fn_type = std::function<task<Out>(ctx&, In&)>;
  explicit typed_invoker(fn_type fn)
    : fn_(std::move(fn)), input_name_(type_name<In>()), output_name_(make_output_name()) {}

  const std::type_info& input_type() const noexcept override { return typeid(In); }
  const std::type_info& output_type() const noexcept override {
    if constexpr (std::is_void_v<Out>)
      return typeid(void);
    else
      return typeid(Out);
  }
  const std::string& input_type_name() const noexcept override { return input_name_; }
  const std::string& output_type_name() const noexcept override { return output_name_; }
  std::unique_ptr<running_task> start(ctx& cx, const std::string& input) const override {
    return std::make_unique<typed_running<Out, In>>(fn_, cx, from_bytes<In>(input));
  }

private:
  static std::string make_output_name() {
    if constexpr (std::is_void_v<Out>)
      return "void";
    else
      return type_name<Out>();
  }

  fn_type fn_;
  std::string input_name_;
  std::string output_name_;
};

template <class Sig>
struct task_signature;

template <class Out, class Cx, class Param>
struct task_signature<task<Out>(Cx, Param)> {
  static_assert(std::is_same_v<Cx, ctx&>,
                "a task function's first parameter must be actors::ctx&");
  using output = Out;
  using input = std::remove_cvref_t<Param>;
};

template <class F>
struct invoker_factory {
  template <class G>
  static std::shared_ptr<const function_impl> make(G fn) {
    return make_impl(std::function{std::move(fn)});
  }

private:
  template <class R, class... Args>
  static std::shared_ptr<const function_impl> make_impl(std::function<R(Args...)> f) {
    static_assert(sizeof...(Args) == 2,
                  "a task function has the shape actors::task<Out>(actors::ctx&, In)");
    using traits = task_signature<R(Args...)>;
    using in = typename traits::input;
    using out = typename traits::output;
    return std::make_shared<typed_invoker<out, in>>(
      [f = std::move(f)](ctx& cx, in& x) { return f(cx, x); });
  }
};

} // namespace actors::detail
