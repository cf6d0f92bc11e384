#include "actors/router.hpp"

#include <algorithm>

#include "join.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>

namespace actors {

function_impl::~function_impl() = default;

std::string_view to_string(route_reason x) noexcept {
  switch (x) {
    case route_reason::default_version: return "default";
    case route_reason::pinned: return "pinned";
    case route_reason::policy: return "policy";
    case route_reason::shadow: return "shadow";
    case route_reason::percent: return "percent";
    case route_reason::override_version: return "override";
  }
  return "unknown";
}

std::string describe(const route_decision& d) {
  std::string out{to_string(d.reason)};
  if (d.reason == route_reason::shadow && d.shadow != nullptr)
    out += " " + d.shadow->version;
  if (d.reason == route_reason::percent)
    out += " bucket " + std::to_string(d.bucket) + (d.bucket < d.percent ? " < " : " >= ") +
           std::to_string(d.percent);
  return out;
}

std::string_view to_string(router_errc x) noexcept {
  switch (x) {
    case router_errc::unknown_function: return "unknown_function";
    case router_errc::unknown_version: return "unknown_version";
    case router_errc::invalid_registration: return "invalid_registration";
    case router_errc::invalid_policy: return "invalid_policy";
    case router_errc::invalid_routing_file: return "invalid_routing_file";
  }
  return "unknown";
}

caf::error make_error(router_errc x, std::string msg) {
  return caf::error{static_cast<std::uint8_t>(x), caf::atom("router"),
                    caf::make_message(std::move(msg))};
}

namespace {

using detail::join;

} // namespace

router& router::add_entry(std::string name, std::string version,
                          std::shared_ptr<const function_impl> impl) {
  if (name.empty() || version.empty()) {
    problems_.push_back("function registered with an empty " +
                        std::string{name.empty() ? "name" : "version"} +
                        (name.empty() ? std::string{} : " (function '" + name + "')"));
    return *this;
  }
  if (name.find('@') != std::string::npos || version.find('@') != std::string::npos) {
    // The journal writes a call as "function@version".
    problems_.push_back("function '" + name + "' version '" + version +
                        "': names and versions may not contain '@'");
    return *this;
  }
  if (find(name, version) != nullptr) {
    problems_.push_back("function '" + name + "' version '" + version + "' registered twice");
    return *this;
  }
  auto& slot = table_[name];
  slot.versions.push_back(std::make_shared<function_entry>(
    function_entry{std::move(name), std::move(version), std::move(impl)}));
  return *this;
}

caf::error router::validate() const {
  if (problems_.empty())
    return {};
  return make_error(router_errc::invalid_registration, problems_.front());
}

caf::expected<route_decision> router::resolve(std::string_view name,
                                              std::string_view pinned) const {
  auto i = table_.find(name);
  if (i == table_.end())
    return make_error(router_errc::unknown_function,
                      "unknown function '" + std::string{name} + "' (registered: " +
                        join(functions()) + ")");
  const auto& vs = i->second.versions;
  if (pinned.empty())
    return route_decision{vs.front().get(), route_reason::default_version};
  for (const auto& e : vs)
    if (e->version == pinned)
      return route_decision{e.get(), route_reason::pinned};
  return make_error(router_errc::unknown_version,
                    "unknown version '" + std::string{pinned} + "' of function '" +
                      std::string{name} + "' (registered: " + join(versions(name)) + ")");
}

const function_entry* router::find(std::string_view name,
                                   std::string_view version) const noexcept {
  auto i = table_.find(name);
  if (i == table_.end())
    return nullptr;
  for (const auto& e : i->second.versions)
    if (e->version == version)
      return e.get();
  return nullptr;
}

std::vector<std::string> router::versions(std::string_view name) const {
  std::vector<std::string> out;
  if (auto i = table_.find(name); i != table_.end())
    for (const auto& e : i->second.versions)
      out.push_back(e->version);
  return out;
}

std::vector<std::string> router::functions() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : table_)
    out.push_back(k);
  return out;
}

} // namespace actors
