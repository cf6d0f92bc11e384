#pragma once
// The raw CAF side of the paired measurements: plain event-based actors, no libactors. Each function
// builds its own actor system (policy + threads as given), runs the workload once and returns the
// wall-clock and CPU time of the workload only (system start-up and shutdown are not timed).

#include <cstdint>
#include <string>

#include "bench_common.hpp"

namespace bench {

struct caf_setup {
  std::string policy = "sharing"; ///< CAF scheduler.policy: "sharing" or "stealing"
  std::size_t threads = 1;        ///< CAF scheduler.max-threads
};

/// (a) From a scoped_actor on the calling thread: spawn `window` actors, send each an int, collect the
/// `window` replies (each actor replies x + 1 and quits); repeat until `total` actors have run.
run_time raw_caf_spawn_reply(const caf_setup& setup, std::int64_t total, std::int64_t window);

/// (c) `parents` actors spawned from the calling thread; each spawns `children` short-lived actors one
/// after another (request an int, await the reply x + 1, the child quits, spawn the next), then reports
/// to the scoped_actor. Timed until every parent has reported.
run_time raw_caf_fanout(const caf_setup& setup, std::int64_t parents, std::int64_t children);

/// (d) The spawn trap of shared/BASELINES.md: one actor spawns `children` short-lived actors at once
/// (request an int each, the child replies x + 1 and quits), then reports to the scoped_actor. Timed
/// until the report arrives. Context for choosing the scheduler policy; libactors has no counterpart yet
/// (a task's calls are sequential).
run_time raw_caf_burst(const caf_setup& setup, std::int64_t children);

} // namespace bench
