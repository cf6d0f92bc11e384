#pragma once
// actors::task_id — identifies one task (one invocation of a registered function) in an engine and its
// journal. A 64-bit random value, written as 16 lower-case hex digits ("3f9a0c1d2b4e5f60").

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
