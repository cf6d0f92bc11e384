#pragma once
// The YAML routing file (`engine_config::routing_file`):
//
//   functions:
//     lookupUser:
//       routing: { mode: shadow, primary: v1, shadow: v2 }
//     listItems:
//       routing: { mode: percent, primary: v1, candidate: v2, percent: 30 }
//     handleRequest:
//       routing: { mode: primary, primary: v1 }
//
// The file holds the whole policy set: a function it does not name routes by default. An empty file
// (or `functions: {}`) clears every policy. Keys are checked strictly — an unknown key is an error, so
// a typo never silently falls back to default routing — and every version must be registered.
// Errors are `router_errc::invalid_routing_file` (or unknown_function / unknown_version) and name the
// file, the line and the key: "routing.yaml:4: functions.lookupUser.routing.mode: unknown mode 'shdow'
// (expected primary, shadow or percent)".

#include <map>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

#include "actors/router.hpp"
#include "actors/routing.hpp"

namespace actors {

using policy_set = std::map<std::string, routing_policy, std::less<>>;

/// Parses routing-file text; `source` names it in errors (a path). Checks every policy against
/// `routes` (routing_table::check).
caf::expected<policy_set> parse_routing_file(std::string_view text, std::string_view source,
                                             const router& routes);

/// Reads and parses the file at `path`. A missing or unreadable file is an error naming it.
caf::expected<policy_set> load_routing_file(const std::string& path, const router& routes);

} // namespace actors
