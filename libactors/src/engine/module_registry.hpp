#pragma once
// module_registry — the modules loaded into a running engine (DESIGN §11): engine::load_module adds a
// module's versions to the function table and its handlers to the effect table, all or nothing;
// engine::unload_module removes them once every version of the module has drained, and lets go of the
// module, whose library is dlclosed when the last reference to its code is gone (modules/).
//
// Thread safety: every member is thread-safe; loads and unloads are serialized.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/engine.hpp"

namespace actors::detail {

struct engine_core;
class loaded_module;

class module_registry {
public:
  explicit module_registry(engine_core& core) : core_(core) {}

  /// Loads the module at `path` and adds what it registers. Errors: modules/' load_module errors
  /// (module_not_found, not_a_module, module_load_failed, incompatible_module, invalid_module),
  /// version_exists / wrong_input_type / wrong_output_type (function_table::add_module),
  /// invalid_module (an effect that already has a handler).
  caf::expected<module_id> load(const std::string& path);
  /// Unloads module `id`. Errors: unknown_module; module_in_use naming each version that is active
  /// (retire it first) or draining, with its tasks.
  caf::error unload(module_id id);
  /// The modules loaded now, in load order.
  std::vector<module_info> list() const;

private:
  struct loaded {
    std::shared_ptr<const loaded_module> module;
    std::vector<std::string> versions; ///< "fn@v"
  };
  /// "lookupUser@v2 is draining (2 tasks: 0x..., 0x...)", for module_in_use.
  std::string describe_undrained(const std::vector<version_info>& vs) const;

  engine_core& core_;
  mutable std::mutex mx_;
  std::map<module_id, loaded> loaded_; ///< guarded by mx_
  module_id next_ = 1;                 ///< guarded by mx_
};

} // namespace actors::detail
