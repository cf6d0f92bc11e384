#pragma once
// task_ids — where an engine's task ids, message ids and random seeds come from. Thread-safe (atomics).
//
// Ids are time-ordered — (milliseconds since the epoch << 20) + counter, strictly increasing — so the
// journal's b-trees append instead of scattering (random ids made journal-heavy work 3x slower, see
// bench/). Message ids come from the same counter.

#include <atomic>
#include <cstdint>

#include "actors/task_id.hpp"

namespace actors::detail {

class task_ids {
public:
  /// Seeds the random seeds from the OS and the clock.
  task_ids();
  /// A fresh, non-zero id, greater than every id handed out or passed to keep_above before.
  task_id next() noexcept;
  /// Ids handed out from now on are greater than `id` (every id in the journal, whatever the clock did).
  void keep_above(std::uint64_t id) noexcept;
  /// A seed for a task's (or a supervisor's) random generator.
  std::uint64_t seed() noexcept;

private:
  std::atomic<std::uint64_t> last_{0};
  std::atomic<std::uint64_t> seed_state_{0};
};

} // namespace actors::detail
