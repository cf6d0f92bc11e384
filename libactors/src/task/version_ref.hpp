#pragma once
// live_version and version_ref — one version of a function as a running engine holds it, and the
// counted reference by which a task (or a shadow run, a replay, a supervised child) holds the version it
// runs, so that the engine knows when a retired version has drained (DESIGN §11). The engine's
// function table (engine/function_table.hpp) creates and owns the live versions; tasks only hold refs.
//
// What keeps a module's code mapped is not the count but ownership: a module version's `entry->impl`
// owns the module's library (see modules/), so nothing that still holds the entry — a routing snapshot,
// a task's invoker — can outlive the code it points into. The count says who still *runs* the version.
//
// Thread safety: a version_ref may be copied, moved and destroyed on any thread; the count is atomic.
// A live_version's fields other than `holders` and `retired` are immutable once it is published.
// Internal.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "actors/router.hpp"

namespace actors::detail {

/// The names and types of a version, owned by the engine (copied out of a module when it loads), for
/// whatever must outlive the version: a finished task's completion entry, error messages.
struct version_signature {
  std::string function;
  std::string version;
  std::string output_type;      ///< mangled (std::type_info::name), compared as actors::same_type does
  std::string output_type_name; ///< readable, for messages
};

/// One registered version in a running engine.
struct live_version {
  std::shared_ptr<function_entry> entry;               ///< shared with every routing snapshot
  std::shared_ptr<const version_signature> signature;  ///< never null
  std::uint64_t module = 0;                            ///< the module that brought it; 0: the program
  std::uint64_t order = 0;                             ///< registration order (default routing)
  /// Retired (engine::retire): no new work is routed to it; drained once `holders` is 0.
  std::atomic<bool> retired{false};
  std::atomic<std::size_t> holders{0}; ///< version_refs alive
  /// Called (by the last holder's thread, after it has let go of the version) when a retired
  /// version's last holder lets go. Set once by the function table before the version is published.
  std::function<void()> drained;
};

/// A counted reference to a live version: the version a task runs. Empty when default-constructed.
class version_ref {
public:
  version_ref() = default;
  explicit version_ref(std::shared_ptr<live_version> v) noexcept : v_(std::move(v)) { hold(); }
  version_ref(const version_ref& other) noexcept : v_(other.v_) { hold(); }
  version_ref(version_ref&& other) noexcept = default;
  version_ref& operator=(const version_ref& other) noexcept {
    version_ref copy{other};
    swap(copy);
    return *this;
  }
  version_ref& operator=(version_ref&& other) noexcept {
    version_ref moved{std::move(other)};
    swap(moved);
    return *this;
  }
  ~version_ref() { release(); }

  void swap(version_ref& other) noexcept { v_.swap(other.v_); }
  explicit operator bool() const noexcept { return static_cast<bool>(v_); }
  /// The entry (name, version, impl). Needs a non-empty ref.
  const function_entry& entry() const noexcept { return *v_->entry; }
  /// The entry, or nullptr for an empty ref.
  const function_entry* get() const noexcept { return v_ ? v_->entry.get() : nullptr; }
  const std::shared_ptr<const version_signature>& signature() const noexcept { return v_->signature; }
  const live_version& live() const noexcept { return *v_; }

private:
  void hold() noexcept {
    if (v_)
      v_->holders.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    if (!v_)
      return;
    auto v = std::move(v_);
    if (v->holders.fetch_sub(1, std::memory_order_acq_rel) != 1 || !v->retired.load(std::memory_order_acquire))
      return;
    // The last holder: let go of the version first (it may be the last reference to a module's code),
    // then say it drained, so whoever waits for that finds nothing of it held by this thread.
    auto drained = v->drained;
    v.reset();
    if (drained)
      drained();
  }
  std::shared_ptr<live_version> v_;
};

/// A routing decision with the versions it chose held: the version that serves the call and the
/// shadow candidate, if any.
struct routed_version {
  route_decision decision;
  version_ref version;
  version_ref shadow;
};

/// The engine's versions as routing reads them (function_table::current): a router whose versions of
/// each function are the active ones in registration order, then the retired ones, and each entry's
/// live version. Immutable once published.
struct function_snapshot {
  router routes;
  std::unordered_map<const function_entry*, std::shared_ptr<live_version>> live;

  /// A counted reference to the version `e` of this snapshot (a routing decision's entry); empty if
  /// `e` is not one of its entries.
  version_ref pin(const function_entry* e) const {
    auto i = live.find(e);
    return i == live.end() ? version_ref{} : version_ref{i->second};
  }
  /// A counted reference to (fn, version), retired or not; empty if unknown.
  version_ref pin(std::string_view fn, std::string_view version) const {
    return pin(routes.find(fn, version));
  }
};

} // namespace actors::detail
