#pragma once
// shadow_runner — shadow runs (DESIGN §3, DESIGN-NOTES §12): after a task routed by a shadow policy has
// finished and its end is durable, the candidate version runs in a replay session against that task's
// tree — same input, every leaf effect answered from the primary's recorded result, nothing executed,
// nothing journaled but the divergence. Owns the shadow runs' actor system (engine_config::
// shadow_threads threads at idle priority, created on first use) and their counts. Thread-safe.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "actors/engine.hpp"
#include "replay/replay_session.hpp"
#include "task/task_host.hpp"

namespace caf {
class actor_system;
class actor_system_config;
} // namespace caf

namespace actors {
struct function_entry;
}

namespace actors::detail {


class shadow_runner {
public:
  explicit shadow_runner(task_host& host);
  ~shadow_runner();

  /// Starts the shadow run of `r` (its end is durable): runs the candidate in a replay session against
  /// the primary's tree — recorded in memory as it ran, or else read from the journal on the worker
  /// pool. Counted in flight at once, so drain() waits for it. Skipped (and counted so) beyond
  /// `engine_config::max_shadow_runs` at a time. Cheap: called on the journal's writer thread.
  void launch(shadow_run r);
  /// The actor system of shadow runs (created on the first call).
  caf::actor_system& actors();
  /// The shadow runs' actor system if it was created, else nullptr.
  caf::actor_system* actors_if_created() const noexcept { return system_.get(); }
  /// Counts by (function, primary, candidate) so far (engine::shadow_stats).
  std::vector<shadow_counts> totals() const;
  /// Stops the shadow runs' actor system (engine shutdown: every run has ended).
  void stop() noexcept;

private:
  /// Spawns the candidate of `r` against `rec` (the primary's tree).
  void start(const shadow_run& r, recording rec);
  /// Counts a run's end and journals its divergence, if any (the run's session end handler).
  void ended(const shadow_run& r, const replay_session& s);
  /// The counts of `r`'s (function, primary, candidate). Needs mx_.
  shadow_counts& counts_locked(const shadow_run& r);

  task_host& host_;
  std::unique_ptr<caf::actor_system_config> system_cfg_;
  std::unique_ptr<caf::actor_system> system_;
  std::once_flag system_once_;
  std::atomic<std::size_t> in_flight_{0};
  mutable std::mutex mx_;
  std::map<std::tuple<std::string, std::string, std::string>, shadow_counts> totals_; ///< guarded by mx_
};

} // namespace actors::detail
