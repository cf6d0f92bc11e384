#pragma once
// Internal: the content hash of a module file — SHA-256 (OpenSSL's libcrypto), written as 64 lower-case
// hex digits. The journal records it with every load, so that the next engine on the journal can tell
// whether the file at a module's path is still the build that was loaded (DESIGN §11).

#include <string>

#include <caf/expected.hpp>

namespace actors::detail {

/// Hashes everything readable from `fd` from its current offset to the end. `shown` is the file's path
/// as errors show it (quoted). Thread-safe.
/// @returns the digest, or errc::module_not_found naming the file and the errno text of a failed read.
[[nodiscard]] caf::expected<std::string> sha256_hex(int fd, const std::string& shown);

} // namespace actors::detail
