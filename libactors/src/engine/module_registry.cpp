#include "engine/module_registry.hpp"

#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "actors/eventlog/journal.hpp"
#include "engine/engine_core.hpp"
#include "modules/loaded_module.hpp"

namespace actors::detail {

caf::expected<module_id> module_registry::load(const std::string& path) {
  auto m = load_module(path);
  if (!m)
    return std::move(m.error());
  const auto& mod = **m;
  std::lock_guard guard{mx_};
  auto id = next_;
  // Checked before anything is added: versions first, then handlers (which change only under mx_, so
  // their add cannot fail after the check; the versions' add checks again, add_version may have run).
  if (auto err = core_.functions.check_module(mod))
    return err;
  if (auto err = core_.handlers.check_module(mod))
    return err;
  if (auto err = core_.functions.add_module(id, mod))
    return err;
  (void)core_.handlers.add_module(id, mod);
  ++next_;
  loaded l{*m, {}};
  for (const auto& e : mod.contents().entries())
    l.versions.push_back(e.name + "@" + e.version);
  core_.log->info("modules: loaded module {} '{}' from {} (sha256 {}): {}", id, mod.name(), mod.path(),
                  mod.content_hash(), fmt::join(l.versions, ", "));
  loaded_.emplace(id, std::move(l));
  return id;
}

std::string module_registry::describe_undrained(const std::vector<version_info>& vs) const {
  std::string out;
  for (const auto& v : vs) {
    if (!out.empty())
      out += "; ";
    out += v.function + "@" + v.version + " is " + std::string{to_string(v.state)};
    if (v.state == version_state::active) {
      out += " (retire it first)";
      continue;
    }
    out += " (" + std::to_string(v.tasks) + (v.tasks == 1 ? " task" : " tasks");
    // Name them from the journal: the unfinished tasks of that version.
    if (core_.journal)
      if (auto unfinished = core_.journal->unfinished_tasks()) {
        int named = 0;
        for (const auto& rec : *unfinished)
          if (rec.function == v.function && rec.version == v.version && named < 5) {
            out += (named++ == 0 ? ": " : ", ") + to_string(task_id{rec.id});
          }
      }
    out += ")";
  }
  return out;
}

caf::error module_registry::unload(module_id id) {
  std::unique_lock guard{mx_};
  auto i = loaded_.find(id);
  if (i == loaded_.end())
    return make_error(errc::unknown_module, "no module " + std::to_string(id) + " is loaded in this engine");
  auto path = i->second.module->path();
  if (!core_.functions.remove_module(id))
    return make_error(errc::module_in_use, "module " + std::to_string(id) + " (" + path +
                                             ") cannot be unloaded: " +
                                             describe_undrained(core_.functions.undrained(id)));
  core_.handlers.remove_module(id);
  std::weak_ptr<const loaded_module> watch = i->second.module;
  loaded_.erase(i); // the registry's reference: dlclose once nothing else holds the module's code
  guard.unlock();
  // A drained version's last task may still be on its way out on another thread (between letting go
  // of its count and of its last pointer, a few microseconds): wait for it, briefly.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{2};
  while (!watch.expired() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds{50});
  if (!watch.expired())
    core_.log->warn("modules: module {} ({}) is unloaded but something still holds its code; its "
                    "library closes when that lets go",
                    id, path);
  core_.log->info("modules: unloaded module {} ({})", id, path);
  return {};
}

std::vector<module_info> module_registry::list() const {
  std::vector<module_info> out;
  std::lock_guard guard{mx_};
  for (const auto& [id, l] : loaded_)
    out.push_back(module_info{id, l.module->name(), l.module->path(), l.module->content_hash(), l.versions});
  return out;
}

} // namespace actors::detail
