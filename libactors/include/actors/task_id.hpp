#pragma once
// actors::task_id — identifies one task (one invocation of a registered function) in an engine and its
// journal. A 64-bit value, written as 16 lower-case hex digits ("1a209e019e700003"). Ids are time-ordered,
// not random: an engine hands out (milliseconds since the Unix epoch << 20) + a counter, strictly
// increasing and always above the largest id already in its journal (DESIGN-NOTES §7). So ids sort by
// start time, and an id says roughly when its task started; they are unique within a journal, not
// unguessable, and not uniformly spread (hash them for that, as the percent router does).

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace actors {

class task_id {
public:
  constexpr task_id() noexcept = default;
  constexpr explicit task_id(std::uint64_t value) noexcept : value_(value) {}

  /// Parses 1 to 16 hex digits (case-insensitive). Returns `errc::bad_task_id` naming the string otherwise.
  [[nodiscard]] static caf::expected<task_id> from_string(std::string_view s);

  constexpr std::uint64_t value() const noexcept { return value_; }
  constexpr explicit operator bool() const noexcept { return value_ != 0; }

  friend constexpr auto operator<=>(task_id, task_id) noexcept = default;

private:
  std::uint64_t value_ = 0;
};

/// 16 lower-case hex digits.
std::string to_string(task_id id);

} // namespace actors

template <>
struct std::hash<actors::task_id> {
  std::size_t operator()(actors::task_id x) const noexcept {
    return std::hash<std::uint64_t>{}(x.value());
  }
};
