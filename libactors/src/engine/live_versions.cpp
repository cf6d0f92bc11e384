// The engine's live versions and modules (DESIGN §11, DESIGN-NOTES §31): the public calls, on the
// function table (function_table.*), the effect table (effect_table.*) and the module registry
// (module_registry.*).

#include "actors/engine.hpp"

#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "engine/engine_impl.hpp"

namespace actors {

router engine::routes() const {
  return impl_->core->functions.current()->routes;
}

std::string_view to_string(version_state x) noexcept {
  switch (x) {
    case version_state::active: return "active";
    case version_state::draining: return "draining";
    case version_state::drained: return "drained";
  }
  return "?";
}

caf::expected<void> engine::add_version_erased(std::string fn, std::string version,
                                               std::shared_ptr<const function_impl> impl) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  auto name = fn + "@" + version;
  if (auto err = c.functions.add(std::move(fn), std::move(version), std::move(impl)))
    return err;
  c.log->info("versions: {} added", name);
  return caf::unit;
}

caf::expected<void> engine::retire(std::string_view fn, std::string_view version) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  if (auto err = c.functions.retire(fn, version, *c.routing.table()))
    return err;
  c.log->info("versions: {}@{} retired", fn, version);
  return caf::unit;
}

std::vector<version_info> engine::versions(std::string_view fn) const {
  if (impl_->status)
    return {};
  return impl_->core->functions.versions(fn);
}

caf::expected<module_id> engine::load_module(const std::string& path) {
  if (impl_->status)
    return impl_->status;
  return impl_->core->modules.load(path);
}

caf::expected<void> engine::unload_module(module_id id) {
  if (impl_->status)
    return impl_->status;
  if (auto err = impl_->core->modules.unload(id))
    return err;
  return caf::unit;
}

std::vector<module_info> engine::modules() const {
  if (impl_->status)
    return {};
  return impl_->core->modules.list();
}

bool engine::await_drained(std::string_view fn, std::string_view version,
                           std::chrono::milliseconds timeout) {
  if (impl_->status)
    return false;
  return impl_->core->functions.await_drained(fn, version, timeout);
}

} // namespace actors
