#pragma once
// effect_table — the effect handlers of a running engine: the program's (engine construction) and those
// that modules bring (engine::load_module), published like the function table (copy-on-write, read
// lock-free) so a module's handlers come and go with it. An effect name has one handler: a module may
// not replace the program's or another module's. A handler found here is a shared reference: a
// module's shares ownership of the module, so a job running it keeps its code mapped.
//
// Thread safety: every member is thread-safe.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "actors/effects.hpp"

namespace actors::detail {

class loaded_module;

class effect_table {
public:
  /// The program's handlers.
  explicit effect_table(const effects& program);

  /// The first registration problem of the program's handlers (effects::validate), or an empty error.
  const caf::error& registration_error() const noexcept { return registration_; }

  /// The handler of effect `name`, or nullptr.
  std::shared_ptr<const effect_handler> find(std::string_view name) const;

  /// Whether module `m`'s handlers can be added: none of its effect names has a handler already.
  /// Errors: invalid_module naming the effect and who handles it.
  caf::error check_module(const loaded_module& m) const;
  /// Adds module `m`'s handlers as module `id`'s (checked with check_module under the same lock).
  caf::error add_module(std::uint64_t id, const loaded_module& m);
  /// Removes module `id`'s handlers.
  void remove_module(std::uint64_t id);

private:
  struct entry {
    std::shared_ptr<const effect_handler> handler;
    std::uint64_t module = 0; ///< 0: the program's
  };
  using table = std::map<std::string, entry, std::less<>>;
  caf::error check_locked(const table& t, const loaded_module& m) const;

  std::atomic<std::shared_ptr<const table>> current_;
  mutable std::mutex mx_; ///< serializes changes
  caf::error registration_;
};

} // namespace actors::detail
