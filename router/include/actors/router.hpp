#pragma once
// actors::router — the versioned function table. Every registered function is known by a name and a
// version ("lookupUser", "v1"); the router answers "which version serves a call of F, and why".
//
// Default routing (no policy): a function routes to its first registered version (its only version,
// when there is one). A call may pin a version explicitly (`actors::version{"v1"}`). Routing policies
// (primary, shadow, percent, per-task override) live in <actors/routing.hpp> (routing_table).
//
// Thread safety: a router is a value; build it on one thread, then hand it to an engine, which copies it.
// Const member functions may be called concurrently.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/router_errc.hpp"

namespace actors {

/// The longest function or version name, in bytes.
inline constexpr std::size_t max_name_bytes = 128;

/// Checks a function or version name, wherever one is accepted: router::add, policies and overrides
/// (routing_table::check, so engine::set_policy / override_route), the routing file, the command line's
/// `route set` / `route clear`, and routes read back from the journal. A name is non-empty, at most
/// max_name_bytes bytes of valid UTF-8, holds no control character (C0, DEL, C1: no newline can fake a
/// log line) and no '@' (the journal writes a call as "function@version"). Thread-safe.
/// @returns an empty error, or router_errc::invalid_name: "<field> <quoted_name(name)> <what is wrong>",
///          e.g. "function name 'a\nb' contains a control character (\n)".
caf::error check_name(std::string_view field, std::string_view name);

/// `name` fit to quote in an error or a log line, in single quotes: control characters and bytes that
/// are not UTF-8 written as \n, \t, \xNN, a quote or backslash escaped, and cut after 64 bytes
/// ("...' (300 bytes)"). Thread-safe.
std::string quoted_name(std::string_view name);

/// Pins a call to one version: `cx.call<User>("lookupUser", uid, actors::version{"v1"})`.
/// Not an aggregate on purpose: GCC 12 destroys aggregate temporaries with a std::string member twice
/// inside a co_await expression (DESIGN-NOTES §5), and this type is built exactly there.
struct version {
  explicit version(std::string n) : name(std::move(n)) {}
  std::string name;
};

/// Type-erased registered function. The engine layer derives the typed invoker from it; the router only
/// needs its input and output types to check calls.
class function_impl {
public:
  virtual ~function_impl();
  virtual const std::type_info& input_type() const noexcept = 0;
  virtual const std::type_info& output_type() const noexcept = 0;
};

/// One registered (name, version).
struct function_entry {
  std::string name;
  std::string version;
  std::shared_ptr<const function_impl> impl;
};

/// Why a call went to the version it went to. Journaled with every decision.
enum class route_reason : std::uint8_t {
  default_version = 1, ///< No policy: the function's first registered version.
  pinned = 2,          ///< The caller pinned the version.
  policy = 3,          ///< The function's `primary` policy.
  shadow = 4,          ///< A `shadow` policy: the primary serves, `route_decision::shadow` runs after.
  percent = 5,         ///< A `percent` policy: the root's bucket chose primary or candidate.
  override_version = 6,///< A per-task override of the call tree's root.
};

/// Returns "default", "pinned", ...
std::string_view to_string(route_reason x) noexcept;

/// The outcome of routing one call.
struct route_decision {
  const function_entry* entry = nullptr;
  route_reason reason = route_reason::default_version;
  const function_entry* shadow = nullptr; ///< reason shadow: the candidate that shadow-runs afterwards
  int bucket = -1;                        ///< reason percent: the root's bucket (0..99)
  int percent = 0;                        ///< reason percent: the policy's percentage
};

/// The decision as the journal records it, e.g. "default", "pinned", "policy", "override",
/// "shadow v2", "percent bucket 27 < 30".
std::string describe(const route_decision& d);

namespace detail {
// Builds the typed invoker for a coroutine function `F`. Defined by the engine layer
// (<actors/detail/invoker.hpp>, included by <actors/actors.hpp>).
template <class F>
struct invoker_factory;
} // namespace detail

class router {
public:
  /// Registers `fn` as version `version` of function `name`. `fn` is a coroutine function of shape
  /// `actors::task<Out>(actors::ctx&, In)`. Chainable. A duplicate (name, version), or a name or
  /// version that check_name refuses, is recorded and reported by `validate()` (and so by the engine
  /// that receives this router).
  template <class F>
  router& add(std::string name, std::string version, F fn) {
    return add_entry(std::move(name), std::move(version),
                     detail::invoker_factory<F>::make(std::move(fn)));
  }

  /// Registers an already type-erased function. Chainable; errors as for `add`.
  router& add_entry(std::string name, std::string version, std::shared_ptr<const function_impl> impl);

  /// Registers `e` itself (not a copy): find() and resolve() of this router then return `e.get()`, as
  /// they do in every router that holds the same entry (an engine's live function table builds its
  /// routing snapshots this way, so an entry keeps its address while versions come and go).
  /// Chainable; errors as for `add`.
  router& add_entry(std::shared_ptr<function_entry> e);

  /// Returns the first registration problem, or an empty error if the table is consistent.
  [[nodiscard]] caf::error validate() const;

  /// Routes a call of `name`. With `pinned` non-empty the call goes to that version.
  /// @returns the decision, or `router_errc::unknown_function` / `unknown_version` naming the function,
  ///          the version and what is registered.
  [[nodiscard]] caf::expected<route_decision> resolve(std::string_view name,
                                                      std::string_view pinned = {}) const;

  /// The entry for exactly (name, version), or nullptr.
  const function_entry* find(std::string_view name, std::string_view version) const noexcept;

  /// Registered versions of `name` in registration order (empty if unknown).
  std::vector<std::string> versions(std::string_view name) const;

  /// Registered function names, sorted.
  std::vector<std::string> functions() const;

private:
  struct function_versions {
    std::vector<std::shared_ptr<function_entry>> versions; // registration order
  };
  std::map<std::string, function_versions, std::less<>> table_;
  std::vector<std::string> problems_;
};

} // namespace actors
