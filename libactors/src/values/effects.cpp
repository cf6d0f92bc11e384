#include "actors/effects.hpp"

#include "actors/errc.hpp"

namespace actors {

effects& effects::add(std::string name, std::shared_ptr<const effect_handler> h) {
  if (auto i = handlers_.find(name); i != handlers_.end() && h && i->second->type && h->type &&
                                     *i->second->type != *h->type) {
    problems_.push_back("effect name '" + name + "' is used by two types: " +
                        type_name(*i->second->type) + " and " + type_name(*h->type));
    return *this;
  }
  handlers_[std::move(name)] = std::move(h);
  return *this;
}

const effect_handler* effects::find(std::string_view name) const noexcept {
  auto i = handlers_.find(name);
  return i == handlers_.end() ? nullptr : i->second.get();
}

std::shared_ptr<const effect_handler> effects::find_shared(std::string_view name) const {
  auto i = handlers_.find(name);
  return i == handlers_.end() ? nullptr : i->second;
}

std::vector<std::string> effects::names() const {
  std::vector<std::string> out;
  out.reserve(handlers_.size());
  for (const auto& [name, h] : handlers_)
    out.push_back(name);
  return out;
}

caf::error effects::validate() const {
  if (problems_.empty())
    return {};
  return make_error(errc::invalid_configuration, problems_.front());
}

} // namespace actors
