#include "actors/routing.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "join.hpp"

namespace actors {

std::string_view to_string(policy_mode x) noexcept {
  switch (x) {
    case policy_mode::primary: return "primary";
    case policy_mode::shadow: return "shadow";
    case policy_mode::percent: return "percent";
  }
  return "unknown";
}

std::string to_string(const routing_policy& p) {
  switch (p.mode) {
    case policy_mode::primary: return "primary " + p.primary;
    case policy_mode::shadow: return "shadow " + p.primary + " -> " + p.candidate;
    case policy_mode::percent:
      return "percent " + p.primary + " / " + p.candidate + " " + std::to_string(p.percent) + "%";
  }
  return "unknown";
}

namespace policy {

routing_policy primary(std::string version) {
  return routing_policy{policy_mode::primary, std::move(version), {}, 0};
}

routing_policy shadow(std::string primary_version, std::string candidate_version) {
  return routing_policy{policy_mode::shadow, std::move(primary_version),
                        std::move(candidate_version), 0};
}

routing_policy percent(std::string primary_version, std::string candidate_version, int p) {
  return routing_policy{policy_mode::percent, std::move(primary_version),
                        std::move(candidate_version), p};
}

} // namespace policy

int percent_bucket(std::uint64_t root) noexcept {
  auto z = root + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<int>(z % 100);
}

namespace {

caf::error need_version(const router& routes, std::string_view function, const std::string& v,
                        const char* role) {
  if (v.empty())
    return make_error(router_errc::invalid_policy, "policy for function '" + std::string{function} +
                                                      "' has no " + role + " version");
  if (auto err = check_name(std::string{role} + " version of a policy for '" + std::string{function} + "'", v))
    return err;
  if (routes.find(function, v) == nullptr) {
    return make_error(router_errc::unknown_version,
                      "policy for function '" + std::string{function} + "' names " + role +
                        " version " + quoted_name(v) + ", which is not registered (registered: " +
                        detail::join(routes.versions(function)) + ")");
  }
  return {};
}

std::string demangle(const std::type_info& t) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name{abi::__cxa_demangle(t.name(), nullptr, nullptr, &status),
                                                   &std::free};
  return status == 0 && name ? std::string{name.get()} : std::string{t.name()};
}

/// A candidate receives the primary's input and is compared by its output: both types must agree.
caf::error need_same_types(const router& routes, std::string_view function, const routing_policy& p) {
  const auto& a = *routes.find(function, p.primary)->impl;
  const auto& b = *routes.find(function, p.candidate)->impl;
  auto differ = [&](const char* what, const std::type_info& x, const std::type_info& y) {
    return make_error(router_errc::invalid_policy,
                      "policy for function '" + std::string{function} + "': " +
                        std::string{to_string(p.mode)} + " candidate '" + p.candidate + "' " + what +
                        " " + demangle(y) + ", primary '" + p.primary + "' " + what + " " +
                        demangle(x));
  };
  if (a.input_type() != b.input_type())
    return differ("takes", a.input_type(), b.input_type());
  if (a.output_type() != b.output_type())
    return differ("returns", a.output_type(), b.output_type());
  return {};
}

} // namespace

caf::error routing_table::check(const router& routes, std::string_view function,
                                const routing_policy& p) {
  if (auto err = check_name("function name", function))
    return err;
  if (routes.versions(function).empty()) {
    return make_error(router_errc::unknown_function,
                      "policy for unknown function " + quoted_name(function) +
                        " (registered: " + detail::join(routes.functions()) + ")");
  }
  if (auto err = need_version(routes, function, p.primary, "primary"))
    return err;
  if (p.mode == policy_mode::primary)
    return {};
  if (auto err = need_version(routes, function, p.candidate,
                              p.mode == policy_mode::shadow ? "shadow" : "candidate"))
    return err;
  if (p.candidate == p.primary)
    return make_error(router_errc::invalid_policy,
                      "policy for function '" + std::string{function} + "': the " +
                        std::string{to_string(p.mode)} + " candidate '" + p.candidate +
                        "' is also the primary");
  if (p.mode == policy_mode::percent && (p.percent < 0 || p.percent > 100))
    return make_error(router_errc::invalid_policy,
                      "policy for function '" + std::string{function} + "': percent " +
                        std::to_string(p.percent) + " is outside 0..100");
  return need_same_types(routes, function, p);
}

routing_table routing_table::with_policy(std::string function, routing_policy p) const {
  auto t = *this;
  t.policies_.insert_or_assign(std::move(function), std::move(p));
  return t;
}

routing_table routing_table::without_policy(std::string_view function) const {
  auto t = *this;
  if (auto i = t.policies_.find(function); i != t.policies_.end())
    t.policies_.erase(i);
  return t;
}

routing_table
routing_table::with_policies(std::map<std::string, routing_policy, std::less<>> policies) const {
  auto t = *this;
  t.policies_ = std::move(policies);
  return t;
}

routing_table routing_table::with_override(std::uint64_t root, std::string function,
                                           std::string version) const {
  auto t = *this;
  t.overrides_.insert_or_assign(std::pair{root, std::move(function)}, std::move(version));
  return t;
}

routing_table routing_table::without_override(std::uint64_t root, std::string_view function) const {
  auto t = *this;
  for (auto i = t.overrides_.begin(); i != t.overrides_.end();) {
    if (i->first.first == root && (function.empty() || i->first.second == function))
      i = t.overrides_.erase(i);
    else
      ++i;
  }
  return t;
}

const routing_policy* routing_table::policy_of(std::string_view function) const noexcept {
  auto i = policies_.find(function);
  return i == policies_.end() ? nullptr : &i->second;
}

caf::expected<route_decision> routing_table::route(const router& routes, std::string_view function,
                                                   std::uint64_t root,
                                                   std::string_view pinned) const {
  if (!pinned.empty())
    return routes.resolve(function, pinned);
  auto pick = [&](const std::string& v, route_reason why) -> caf::expected<route_decision> {
    auto d = routes.resolve(function, v);
    if (!d)
      return d; // a version unregistered since (routers are fixed per engine: cannot happen)
    d->reason = why;
    return d;
  };
  if (!overrides_.empty()) {
    // Heterogeneous lookup would need a pair<uint64_t, string_view> key; overrides are few.
    for (auto i = overrides_.lower_bound(std::pair{root, std::string{}});
         i != overrides_.end() && i->first.first == root; ++i)
      if (i->first.second == function)
        return pick(i->second, route_reason::override_version);
  }
  if (auto* p = policy_of(function)) {
    switch (p->mode) {
      case policy_mode::primary:
        return pick(p->primary, route_reason::policy);
      case policy_mode::shadow: {
        auto d = pick(p->primary, route_reason::shadow);
        if (d)
          d->shadow = routes.find(function, p->candidate);
        return d;
      }
      case policy_mode::percent: {
        auto bucket = percent_bucket(root);
        auto d = pick(bucket < p->percent ? p->candidate : p->primary, route_reason::percent);
        if (d) {
          d->bucket = bucket;
          d->percent = p->percent;
        }
        return d;
      }
    }
  }
  return routes.resolve(function);
}

} // namespace actors
