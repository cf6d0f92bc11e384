#pragma once
// Running supervisors (DESIGN §5): each is a CAF actor that starts its children — durable tasks and
// nested supervisors — in order, monitors them, and on a child's end applies its strategy, restart
// types, restart intensity and back-off (decided by <actors/supervision.hpp>). Restarting a task means
// resuming it from its journal under the same task id (supervisor_host::restart_child, which the
// engine implements). Internal.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>

#include "actors/eventlog/event.hpp"
#include "actors/supervision.hpp"

namespace actors::detail {

class supervisor_host;

/// What the engine knows of its supervisors, for inspection and for waiting on them.
struct supervision_state {
  struct supervisor_info {
    caf::actor actor;
    std::string parent;                          ///< empty: top level
    std::vector<std::string> log;                ///< what it did, in order
    eventlog::supervision_record self;           ///< its own row
    std::map<std::string, eventlog::supervision_record> children; ///< by child id
    bool ended = false;                          ///< stopped, escalated or detached
  };
  mutable std::mutex mx;
  std::condition_variable cv; ///< notified whenever a log grows or a supervisor ends
  std::map<std::string, supervisor_info, std::less<>> sups;
  /// (supervisor, child) -> task id: from the journal (an earlier engine) and of the children started.
  std::map<std::pair<std::string, std::string>, std::uint64_t> known;
  bool known_loaded = false;
};

/// Spawns the supervisor of `spec` under `parent` (empty: top level). `started` is called once, from
/// the supervisor's thread, when every child has started (with the error if one could not).
caf::actor spawn_supervisor(supervisor_host& core, std::shared_ptr<const supervision::supervisor_spec> spec,
                            std::string parent, std::function<void(const caf::error&)> started);

/// Asks supervisor `a` to stop its children in reverse start order and quit.
void stop_supervisor_actor(const caf::actor& a);
/// Asks supervisor `a` to detach its children (engine shutdown: they resume in the next engine).
void detach_supervisor_actor(const caf::actor& a);

} // namespace actors::detail
