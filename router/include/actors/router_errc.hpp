#pragma once
// Error codes of the router module (category atom "router").

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>

namespace actors {

enum class router_errc : std::uint8_t {
  unknown_function = 1, ///< No function with that name is registered.
  unknown_version,      ///< The function exists but not in that version.
  invalid_registration, ///< A duplicate (name, version), or an empty name or version.
  invalid_policy,       ///< A routing policy that cannot apply (no version, percent out of range, ...).
  invalid_routing_file, ///< A routing file that cannot be read or parsed; names the line and key.
  invalid_name,         ///< A function or version name that check_name refuses (<actors/router.hpp>).
};

/// Returns the code's name, e.g. "unknown_version".
std::string_view to_string(router_errc x) noexcept;

/// Makes a `caf::error` of category "router" whose context is `msg`.
caf::error make_error(router_errc x, std::string msg);

} // namespace actors
