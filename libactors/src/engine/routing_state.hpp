#pragma once
// routing_state — the routing table in force, composed from its two sources: the routing file's
// policies, and the routes set at run time (engine::set_policy / override_route, `route set` on the
// command line), which win for the same function. Run-time routes are kept in the journal's routes
// table (so every engine on the file, in this process or another, and the next one after a restart
// route by them), or in memory without a journal (DESIGN-NOTES §13).
//
// Thread safety: the table is replaced whole (copy-on-write) under a mutex and read lock-free, so
// routing a task costs one atomic load.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/eventlog/event.hpp"
#include "actors/routing.hpp"

namespace actors::detail {

struct engine_core;

class routing_state {
public:
  explicit routing_state(engine_core& core) : core_(core) {}

  /// The table in force (a snapshot: later changes replace it, never modify it).
  std::shared_ptr<const routing_table> table() const { return table_.load(std::memory_order_acquire); }

  /// Replaces the routing file's policies.
  void set_file_policies(std::map<std::string, routing_policy, std::less<>> policies);
  /// Sets (or, with `erase`, clears) a run-time route: in the journal (durable when this returns) or in
  /// memory. `r.root` 0 is a policy, else an override of that tree. Not checked here.
  /// Errors: journal_failure.
  caf::error change_runtime_route(eventlog::route_record r, bool erase);
  /// Rereads the run-time routes from the journal if they changed (another process, or this one);
  /// returns true if the table changed. Read errors are logged.
  bool poll_runtime_routes();

private:
  /// Rebuilds the table from file_policies_ and runtime_routes_ (needs mx_), skipping (and logging)
  /// run-time routes this engine cannot honour (unknown function or version).
  void rebuild_locked();

  engine_core& core_;
  std::atomic<std::shared_ptr<const routing_table>> table_{std::make_shared<const routing_table>()};
  std::mutex mx_;
  std::map<std::string, routing_policy, std::less<>> file_policies_; ///< guarded by mx_
  std::vector<eventlog::route_record> runtime_routes_;              ///< guarded by mx_
  std::int64_t runtime_routes_version_ = -1;                        ///< guarded by mx_
};

} // namespace actors::detail
