#pragma once
// admission — engine_config::max_running_tasks (DESIGN-NOTES §24): root tasks started with
// engine::start hold a place while they run; the rest wait, in start order, and spawn as places free
// up. A task gives its place up while it waits for anything but an effect, and when it ends; it takes
// one again on waking, beyond the limit if need be (a woken task is never made to wait). Supervised
// children, resumed tasks and children of tasks are not admitted: they run at once. Thread-safe.

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

#include <caf/actor.hpp>

#include "actors/task_id.hpp"

namespace actors::detail {

struct engine_core;
class task_runtime;

class admission {
public:
  /// `limit` 0: no limit (every task spawns at once, holding no place).
  admission(engine_core& core, std::size_t limit);
  ~admission();

  /// Spawns `rt` if a place is free (it holds it) and returns its actor, or queues it (counted in
  /// flight, so drain() waits for it) and returns an empty handle: it spawns when a place frees up.
  caf::actor admit(std::unique_ptr<task_runtime> rt);
  /// A task gives its place up (it ended, or waits for something other than an effect): the first
  /// waiting task takes it — unless `pass_on` is false (a runtime destroyed with its actor system).
  void release(bool pass_on = true);
  /// A task that gave its place up to wait takes one again on waking, beyond the limit if need be.
  void retake();
  /// Runs the waiting task `id` now, beyond the limit, to end as cancelled without running its code.
  /// Returns whether it was waiting.
  bool admit_now(task_id id);
  /// How many tasks wait for a place (engine_stats::waiting).
  std::size_t waiting() const;

private:
  /// Spawns a task that waited and names its actor in its completion entry.
  void spawn_waiting(std::unique_ptr<task_runtime> rt);

  engine_core& core_;
  const std::size_t limit_;
  mutable std::mutex mx_;
  std::size_t running_ = 0; ///< places held
  std::deque<std::unique_ptr<task_runtime>> waiting_;
};

} // namespace actors::detail
