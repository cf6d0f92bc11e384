#pragma once
// function_table — the live function table of a running engine (DESIGN §11): every version it can run,
// published like the routing table (copy-on-write snapshots, read lock-free), so versions can be added
// and retired while tasks run. A task holds a version_ref to the version it runs; a retired version
// gets no new work from routing and is drained once its last holder lets go.
//
// Routing sees a snapshot router whose versions of each function are the active ones in registration
// order, then the retired ones: the default version (no policy) is the first active one. A pinned call
// (`actors::version{"v1"}`) may still reach a retired version that is loaded (it then holds it, so it
// drains later); policies and overrides cannot name one (retire refuses while they do).
//
// Thread safety: every member is thread-safe. Changes (add, retire) are serialized by a mutex and
// publish a new snapshot; reads load the current snapshot with one atomic load.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/engine.hpp"
#include "actors/router.hpp"
#include "actors/routing.hpp"
#include "task/version_ref.hpp"

namespace actors::detail {

class loaded_module;

class function_table {
public:
  /// Every version of `initial` (the router the engine was built with), active, from the program.
  explicit function_table(const router& initial);

  /// The first registration problem of the router the table was built from (router::validate), or an
  /// empty error: the engine refuses to start with one.
  const caf::error& registration_error() const noexcept { return registration_; }

  /// The current snapshot (what routing reads; see function_snapshot).
  std::shared_ptr<const function_snapshot> current() const {
    return current_.load(std::memory_order_acquire);
  }

  /// Routes a call under `in_force` (the policies) against the current snapshot, and pins the version
  /// (and the shadow candidate, if any) it chose. Errors: the router's; unknown_version when every
  /// version of `fn` is retired and the call named none.
  caf::expected<routed_version> route(const routing_table& in_force, std::string_view fn, std::uint64_t root,
                              std::string_view pinned) const;

  /// Adds version `version` of `fn`, active, from module `module` (0: the program). Errors:
  /// bad_input (a name check_name refuses, a null impl), version_exists (the version is there),
  /// wrong_input_type / wrong_output_type (the function's other versions take or return other types).
  caf::error add(std::string fn, std::string version, std::shared_ptr<const function_impl> impl,
                 std::uint64_t module = 0);

  /// Adds every version of module `m` as module `module`'s, active, or none of them. Errors:
  /// check_against's (modules/loaded_module.hpp) against the table's versions.
  caf::error add_module(std::uint64_t module, const loaded_module& m);
  /// add_module's checks alone (nothing is added).
  caf::error check_module(const loaded_module& m) const;

  /// What stops module `module`'s versions from being removed: the versions that are active or still
  /// draining, with their holders ("lookupUser@v2 is active"); empty when every one is drained.
  std::vector<version_info> undrained(std::uint64_t module) const;
  /// Removes module `module`'s versions if every one is drained (else returns false and changes
  /// nothing). A holder that pins one of them from an older snapshot afterwards keeps it alive (and its
  /// code loaded) until it lets go.
  bool remove_module(std::uint64_t module);

  /// Retires (fn, version): no new work is routed to it. Errors: unknown_function / unknown_version;
  /// version_in_use naming the policy or override of `in_force` that names it. Retiring a retired
  /// version is not an error.
  caf::error retire(std::string_view fn, std::string_view version, const routing_table& in_force);

  /// Whether a policy `p` for `fn` may be set: it names no retired version. Errors: unknown_version
  /// naming the retired version. (The router's own checks come first: routing_table::check.)
  caf::error check_routable(std::string_view fn, const routing_policy& p) const;

  /// Every version of `fn` (every function if empty) with its state, module and holders, in
  /// registration order.
  std::vector<version_info> versions(std::string_view fn) const;

  /// Blocks until (fn, version) has drained (retired, no holder) or `timeout` passes; returns whether
  /// it has drained.
  bool await_drained(std::string_view fn, std::string_view version, std::chrono::milliseconds timeout);

  /// Bumped whenever a version is added or retired, or a retired version drains.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

private:
  /// Publishes a snapshot of versions_ (needs mx_).
  void publish_locked();
  void on_drained();
  std::shared_ptr<live_version> find_locked(std::string_view fn, std::string_view version) const;
  /// add()'s checks of (fn, version, impl) against the table (needs mx_); `who` names the newcomer.
  caf::error check_locked(const std::string& fn, const std::string& version, const function_impl& impl,
                          const std::string& who) const;
  /// Appends a new live version (needs mx_; publish after).
  void insert_locked(function_entry e, std::uint64_t module);

  std::atomic<std::shared_ptr<const function_snapshot>> current_;
  mutable std::mutex mx_;
  std::condition_variable drained_cv_;
  std::vector<std::shared_ptr<live_version>> versions_; ///< registration order; guarded by mx_
  std::uint64_t next_order_ = 0;                        ///< guarded by mx_
  std::atomic<std::uint64_t> generation_{0};
  caf::error registration_;
};

} // namespace actors::detail
