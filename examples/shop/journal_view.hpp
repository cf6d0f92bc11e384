#pragma once
// Prints a task's journal the way a person wants to read it: one header per task, one aligned row per
// event, and every called task's journal indented under the call event that made it.

#include <cstddef>
#include <cstdint>
#include <iosfwd>

#include <caf/error.hpp>

#include <actors/eventlog/journal.hpp>

namespace shop {

struct view_options {
  bool color = false;    ///< ANSI colours (for a terminal).
  std::size_t width = 0; ///< Wrap long event texts to this many columns; 0: never wrap.
};

/// Options for stdout: colour and wrapping when it is a terminal (and NO_COLOR is unset).
view_options terminal_options();

/// Prints task `id` and its whole call tree from `j` to `os`. Returns an error if the journal cannot
/// be read or has no task `id`.
caf::error print_call_tree(actors::eventlog::journal& j, std::uint64_t id, std::ostream& os,
                           const view_options& opts);

} // namespace shop
