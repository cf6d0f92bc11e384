#pragma once
// Error codes of the eventlog module (category atom "journal").

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>

namespace actors::eventlog {

enum class errc : std::uint8_t {
  not_a_database = 1,   ///< The file exists and is not an SQLite database.
  foreign_database,     ///< An SQLite database that is not a libactors journal.
  newer_schema,         ///< A libactors journal written by a newer schema version.
  io_error,             ///< SQLite reported an I/O error, disk full, or similar while reading or writing.
  corrupt,              ///< The journal's content is inconsistent (bad row, malformed database).
  closed,               ///< The journal has failed or is shutting down and takes no more appends.
  not_found,            ///< The journal path does not exist (read-only opens never create).
  invalid_name,         ///< The journal's name cannot be used: a `file:` URI with a query parameter that
                        ///< would defeat the journal's checks, another host, or a bad escape; or a
                        ///< file with more than one hard link (SQLite's -wal goes by the name).
  wrong_thread,         ///< A blocking wait (`flush`, `await_durable`) called on the journal's own writer
                        ///< thread (inside a durability callback), where it would wait for itself.
};

/// Returns the code's name, e.g. "newer_schema".
std::string_view to_string(errc x) noexcept;

/// Makes a `caf::error` of category "journal" whose context is `msg` (which names the file and cause).
caf::error make_error(errc x, std::string msg);

/// Makes a `caf::error` of category "journal" without context. Also lets CAF compare errors with codes
/// (`err == errc::closed`) and convert codes to errors implicitly.
caf::error make_error(errc x);

} // namespace actors::eventlog
