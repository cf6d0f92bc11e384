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
//
// The file is read by `read_routing_file`: it must be a regular file (or a symlink to one) of at most
// `max_routing_file_bytes`. A directory, FIFO, device or socket, a file that does not exist or may not
// be read, or a larger one, is an error naming the file and what is wrong with it; reading never
// blocks (a FIFO is refused, not opened for a writer to come) and never throws.

#include <cstddef>
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

/// The largest routing file read, in bytes (1 MiB). A larger one is refused, not cut short.
inline constexpr std::size_t max_routing_file_bytes = std::size_t{1} << 20;

/// Reads the routing file at `path` whole. Never blocks, never throws; thread-safe.
/// @returns its text, or `router_errc::invalid_routing_file` with "<path>: cannot read the routing
///          file: <why>", why being one of: does not exist; permission denied; is a directory / a FIFO /
///          a character device / a block device / a socket (a routing file must be a regular file);
///          is N bytes, more than the limit of 1048576 bytes (1 MiB); or the system's error text.
caf::expected<std::string> read_routing_file(const std::string& path);

/// read_routing_file, then parse_routing_file. Errors: either's.
caf::expected<policy_set> load_routing_file(const std::string& path, const router& routes);

} // namespace actors
