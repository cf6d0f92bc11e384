#pragma once
// actors::effects — the table of effect handlers. A user effect is a plain struct:
//
//   struct db_get {                                   // effect db.get :: id -> row
//     using result_type = row;
//     static constexpr const char* name = "db.get";
//     std::int64_t id;
//     template <class Ar> void serialize(Ar& ar, unsigned) { ar & id; }
//   };
//   fx.handle<db_get>([&](const db_get& q) { return db.get(q.id); });
//
// The application installs a live handler per effect type; tests install a mock the same way. Handlers
// may block: the engine runs them on its worker pool, never on the threads that run tasks. A handler may
// also take `(const E&, const actors::effect_context&)` to learn the task, the effect's position and
// which attempt this is: the pair (task, seq) is stable across crash resume, so it serves as an
// idempotency key, and `attempt` > 1 says an earlier engine started this handler for it and stopped
// (a crash, a kill) before its result was journaled — so it may have acted.
// During replay and shadow runs no handler is called.
//
// Thread safety: build on one thread, then hand to an engine (which copies it). Handlers are called
// concurrently from worker threads.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "actors/serialization.hpp"
#include "actors/task_id.hpp"

namespace actors {

/// What a handler may learn about the effect it serves.
struct effect_context {
  task_id task;          ///< The task performing the effect.
  std::uint32_t seq = 0; ///< The effect's position in the task's journal (stable across resume).
  /// Which time this handler is started for (task, seq): 1 the first time; n + 1 when the effect was
  /// in flight at a crash n times — each earlier engine had started its handler (the engine journals a
  /// mark, durable before the handler runs) and stopped before the result was journaled. A handler
  /// that sees more than 1 may have acted already: look its (task, seq) up before acting again. Without
  /// a journal (engine_config::journal empty) it is always 1. A supervisor's restart that runs a failed
  /// effect again gives it a new seq: attempt 1.
  std::uint32_t attempt = 1;
};

/// What a type-erased handler returns: the serialized result and its readable rendering.
struct effect_result {
  std::string bytes;
  std::string text;
};

/// A type-erased effect handler: request bytes in, result out (or throws).
struct effect_handler {
  const std::type_info* type = nullptr; ///< The effect struct's type.
  std::function<effect_result(const std::string& request, const effect_context&)> run;
};

class effects {
public:
  /// Installs `fn` as the handler for effect `E`, replacing any earlier handler for `E`. `fn` takes
  /// `const E&` (optionally followed by `const effect_context&`) and returns something convertible to
  /// `E::result_type`. Chainable. Two different types using the same `E::name` is a registration
  /// problem reported by `validate()`.
  template <class E, class F>
  effects& handle(F fn) {
    return add(E::name, make_handler<E>(std::move(fn)));
  }

  /// The type-erased handler that `handle<E>(fn)` installs, for installing elsewhere (`add`, or a
  /// module's `module_builder::handle`). Thread-safe.
  template <class E, class F>
  static std::shared_ptr<const effect_handler> make_handler(F fn) {
    using result_type = typename E::result_type;
    auto h = std::make_shared<effect_handler>();
    h->type = &typeid(E);
    h->run = [fn = std::move(fn)](const std::string& request, const effect_context& cx) {
      auto e = from_bytes<E>(request);
      auto make = [](const result_type& r) { return effect_result{to_bytes(r), render(r)}; };
      if constexpr (std::is_invocable_v<F&, const E&, const effect_context&>)
        return make(fn(e, cx));
      else
        return make(fn(e));
    };
    return h;
  }

  /// Installs a type-erased handler under `name`. Chainable.
  effects& add(std::string name, std::shared_ptr<const effect_handler> h);

  /// The handler for effect `name`, or nullptr.
  const effect_handler* find(std::string_view name) const noexcept;

  /// The handler for effect `name` as this table holds it (shared), or nullptr.
  std::shared_ptr<const effect_handler> find_shared(std::string_view name) const;

  /// The names of the installed effects, sorted.
  std::vector<std::string> names() const;

  /// Returns the first registration problem, or an empty error.
  [[nodiscard]] caf::error validate() const;

private:
  std::map<std::string, std::shared_ptr<const effect_handler>, std::less<>> handlers_;
  std::vector<std::string> problems_;
};

} // namespace actors
