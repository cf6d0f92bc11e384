#include "engine/effect_table.hpp"

#include "actors/errc.hpp"
#include "modules/loaded_module.hpp"

namespace actors::detail {

effect_table::effect_table(const effects& program) : registration_(program.validate()) {
  auto t = std::make_shared<table>();
  for (const auto& name : program.names())
    t->emplace(name, entry{program.find_shared(name), 0});
  current_.store(std::move(t));
}

std::shared_ptr<const effect_handler> effect_table::find(std::string_view name) const {
  auto t = current_.load(std::memory_order_acquire);
  auto i = t->find(name);
  return i == t->end() ? nullptr : i->second.handler;
}

caf::error effect_table::check_locked(const table& t, const loaded_module& m) const {
  for (const auto& name : m.contents().effect_names())
    if (auto i = t.find(name); i != t.end())
      return make_error(errc::invalid_module,
                        "module " + quoted_path(m.path()) + " handles effect '" + name +
                          "', which already has a handler (" +
                          (i->second.module == 0 ? std::string{"the program's"}
                                                 : "module " + std::to_string(i->second.module) + "'s") +
                          ")");
  return {};
}

caf::error effect_table::check_module(const loaded_module& m) const {
  std::lock_guard guard{mx_};
  return check_locked(*current_.load(), m);
}

caf::error effect_table::add_module(std::uint64_t id, const loaded_module& m) {
  std::lock_guard guard{mx_};
  auto now = current_.load();
  if (auto err = check_locked(*now, m))
    return err;
  auto t = std::make_shared<table>(*now);
  for (const auto& name : m.contents().effect_names())
    t->emplace(name, entry{m.handler(name), id});
  current_.store(std::move(t), std::memory_order_release);
  return {};
}

void effect_table::remove_module(std::uint64_t id) {
  std::lock_guard guard{mx_};
  auto t = std::make_shared<table>(*current_.load());
  std::erase_if(*t, [&](const auto& kv) { return kv.second.module == id; });
  current_.store(std::move(t), std::memory_order_release);
}

} // namespace actors::detail
