#pragma once
// lean_scheduler — CAF's scheduler (coordinator<Policy>) with a clock that skips CAF 0.17's per-exit
// cancellation when there is nothing to cancel.
//
// Every CAF 0.17 actor that quits calls `clock().cancel_timeouts(this)` (local_actor::cleanup). The
// stock thread_safe_actor_clock answers with a heap event pushed onto its queue and a broadcast that
// wakes the clock thread — for every actor, even one that never set a timeout. An engine runs one actor
// per task, so on short tasks that was ~7% of all CPU (the wake-up on the quitting thread plus the clock
// thread's own work; bench/README.md). `lean_clock` remembers which actors set timeouts (receive,
// request and multi timeouts; delayed messages are not timeouts and are not cancelled by it) and
// forwards the cancellation only for those. Everything else is CAF's clock, run by a dispatcher thread
// of its own ("actors.clock"); the coordinator's own clock thread then idles.
//
// With the `sharing` policy the coordinator is ours as well (sharing_coordinator): CAF's worker loop
// does a dynamic_cast and two logger lookups per job, and its queue allocates per job and wakes a worker
// per enqueue; ours runs jobs the same way without either (DESIGN-NOTES §22).
//
// Installed through actor_system_config::module_factories (actor_system uses a scheduler module given
// there instead of building its own), for the policy the engine configures.

#include <caf/actor_system_config.hpp>

namespace actors::detail {

/// Adds a scheduler module with a lean clock and policy `policy` ("sharing": ours, "stealing": CAF's) to
/// `cfg`. The thread count and throughput come from `cfg` as for CAF's own scheduler.
void use_lean_scheduler(caf::actor_system_config& cfg, bool stealing);

} // namespace actors::detail
