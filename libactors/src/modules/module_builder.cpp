// module_builder (<actors/module.hpp>): the tables a module's registration fills. This code always runs
// in the loading program (add_entry and add_handler are virtual), never in a module's copy of libactors.

#include "actors/module.hpp"

#include "actors/errc.hpp"
#include "actors/router_errc.hpp"

namespace actors {

module_builder::module_builder() = default;

module_builder::~module_builder() = default;

module_builder& module_builder::add_entry(std::string name, std::string version,
                                          std::shared_ptr<const function_impl> impl) {
  auto keep = [this](caf::error err) -> module_builder& {
    if (!problem_)
      problem_ = std::move(err);
    return *this;
  };
  if (auto err = check_name("function name", name))
    return keep(std::move(err));
  if (auto err = check_name("version name of function '" + name + "'", version))
    return keep(std::move(err));
  if (!impl)
    return keep(make_error(router_errc::invalid_registration,
                           "function '" + name + "' version '" + version + "' has no implementation"));
  if (routes_.find(name, version) != nullptr)
    return keep(make_error(router_errc::invalid_registration,
                           "function '" + name + "' version '" + version + "' registered twice"));
  routes_.add_entry(name, version, impl);
  entries_.push_back(function_entry{std::move(name), std::move(version), std::move(impl)});
  return *this;
}

module_builder& module_builder::add_handler(std::string name, std::shared_ptr<const effect_handler> h) {
  auto keep = [this](std::string msg) -> module_builder& {
    if (!problem_)
      problem_ = make_error(errc::invalid_configuration, std::move(msg));
    return *this;
  };
  if (name.empty())
    return keep("an effect handler has an empty effect name");
  if (!h || !h->run)
    return keep("the handler of effect '" + name + "' is empty");
  if (auto* old = effects_.find(name); old && old->type && h->type && !same_type(*old->type, *h->type))
    return keep("effect name '" + name + "' is used by two types: " + type_name(*old->type) + " and " +
                type_name(*h->type));
  bool fresh = effects_.find(name) == nullptr;
  effects_.add(name, std::move(h));
  if (fresh)
    effect_names_.push_back(std::move(name));
  return *this;
}

caf::error module_builder::validate() const {
  if (problem_)
    return problem_;
  if (auto err = routes_.validate())
    return err;
  return effects_.validate();
}

module_abi_stamp this_libactors_stamp() noexcept {
  return detail::make_module_stamp(ACTORS_VERSION_MAJOR, ACTORS_VERSION_MINOR, ACTORS_VERSION_PATCH,
                                   ACTORS_DETAIL_CXX11_ABI);
}

} // namespace actors
