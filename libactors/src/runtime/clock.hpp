#pragma once
// Internal: the engine's readings of time.

#include <chrono>
#include <cstdint>

namespace actors::detail {

/// Wall-clock time, nanoseconds since the Unix epoch (what the journal stores).
inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace actors::detail
