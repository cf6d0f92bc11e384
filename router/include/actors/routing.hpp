#pragma once
// Routing policies — which registered version of a function serves a call, and why (DESIGN §3).
//
//   eng.set_policy("lookupUser", actors::policy::primary("v2"));          // every call to v2
//   eng.set_policy("lookupUser", actors::policy::shadow("v1", "v2"));     // v1 serves, v2 shadow-runs
//   eng.set_policy("lookupUser", actors::policy::percent("v1", "v2", 10)); // 10% of root tasks to v2
//   eng.override_route(root, "lookupUser", "debug");                      // one call tree only
//
// Precedence, first match wins: a pinned call (`actors::version{"v1"}`), a per-task override of the
// call tree's root, the function's policy, the default (first registered version).
//
// Percent routing buckets the *root* task id with a fixed hash (`percent_bucket`), so every call of the
// function inside one call tree, and every replay or resume of that tree, takes the same branch. The
// hash is part of the journal format: it never changes.
//
// A routing_table is an immutable value; the engine swaps whole tables, so a reader never sees half an
// update.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/router.hpp"

namespace actors {

/// How a function's calls are routed.
enum class policy_mode : std::uint8_t {
  primary = 1, ///< every call to `primary`
  shadow,      ///< `primary` serves every call; afterwards `candidate` runs against its journal
  percent,     ///< `percent`% of root tasks (by a stable hash) to `candidate`, the rest to `primary`
};

/// Returns "primary", "shadow", "percent".
std::string_view to_string(policy_mode x) noexcept;

/// A function's routing policy. Build with actors::policy::primary / shadow / percent.
struct routing_policy {
  policy_mode mode = policy_mode::primary;
  std::string primary;
  std::string candidate; ///< shadow and percent only
  int percent = 0;       ///< percent only, 0..100

  bool operator==(const routing_policy&) const = default;
};

/// "primary v1", "shadow v1 -> v2", "percent v1 / v2 30%".
std::string to_string(const routing_policy& p);

namespace policy {

/// Every call goes to `version`.
routing_policy primary(std::string version);

/// `primary_version` serves every call; after it completes, `candidate_version` runs as a replay
/// against the primary's journal and is compared (DESIGN §3). The caller never waits for it.
routing_policy shadow(std::string primary_version, std::string candidate_version);

/// `p` percent (0..100) of root tasks go to `candidate_version`, chosen by `percent_bucket(root)`.
routing_policy percent(std::string primary_version, std::string candidate_version, int p);

} // namespace policy

/// The stable bucket (0..99) of a root task id for percent routing: root goes to the candidate when
/// bucket < p. splitmix64 of the id, modulo 100. Never changes (recorded routes depend on it).
int percent_bucket(std::uint64_t root) noexcept;

/// Policies and per-task overrides in force. Immutable; `with_*` return modified copies.
class routing_table {
public:
  /// Checks `p` against `routes`: every name must pass check_name (else router_errc::invalid_name, the
  /// name quoted safely), the function and every version it names must be registered,
  /// a percent must lie in 0..100, a shadow or percent candidate must differ from its primary.
  /// @returns an error naming the function and the offending version or value.
  static caf::error check(const router& routes, std::string_view function, const routing_policy& p);

  /// A copy with `function`'s policy set (not checked: call `check` first).
  routing_table with_policy(std::string function, routing_policy p) const;
  /// A copy without `function`'s policy (default routing again).
  routing_table without_policy(std::string_view function) const;
  /// A copy where every policy is replaced by `policies` (a routing file's content).
  routing_table with_policies(std::map<std::string, routing_policy, std::less<>> policies) const;
  /// A copy with an override: calls of `function` in the tree rooted at `root` go to `version`.
  routing_table with_override(std::uint64_t root, std::string function, std::string version) const;
  /// A copy without that override (all of `root`'s overrides when `function` is empty).
  routing_table without_override(std::uint64_t root, std::string_view function = {}) const;

  /// `function`'s policy, if one is set.
  const routing_policy* policy_of(std::string_view function) const noexcept;
  const std::map<std::string, routing_policy, std::less<>>& policies() const noexcept {
    return policies_;
  }
  /// Overrides: (root, function) -> version.
  const std::map<std::pair<std::uint64_t, std::string>, std::string, std::less<>>& overrides() const noexcept {
    return overrides_;
  }

  /// Routes a call of `function` in the call tree rooted at `root` (`pinned` non-empty: the caller
  /// pinned that version).
  /// @returns the decision, or unknown_function / unknown_version naming what is registered.
  caf::expected<route_decision> route(const router& routes, std::string_view function,
                                      std::uint64_t root, std::string_view pinned = {}) const;

private:
  std::map<std::string, routing_policy, std::less<>> policies_;
  std::map<std::pair<std::uint64_t, std::string>, std::string, std::less<>> overrides_;
};

} // namespace actors
