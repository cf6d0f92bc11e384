#include "engine/function_table.hpp"

#include <algorithm>

#include "actors/errc.hpp"
#include "actors/module.hpp"
#include "modules/loaded_module.hpp"

namespace actors::detail {

namespace {

std::string qualified(std::string_view fn, std::string_view version) {
  return std::string{fn} + "@" + std::string{version};
}

version_state state_of(const live_version& v) noexcept {
  if (!v.retired.load(std::memory_order_acquire))
    return version_state::active;
  return v.holders.load(std::memory_order_acquire) == 0 ? version_state::drained
                                                         : version_state::draining;
}

} // namespace

function_table::function_table(const router& initial) : registration_(initial.validate()) {
  std::lock_guard guard{mx_};
  for (const auto& fn : initial.functions())
    for (const auto& v : initial.versions(fn))
      insert_locked(*initial.find(fn, v), 0);
  publish_locked();
}

void function_table::publish_locked() {
  auto snap = std::make_shared<function_snapshot>();
  // Per function: active versions first (the default is the first active one), then retired ones.
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& v : versions_)
      if (v->retired.load(std::memory_order_relaxed) == (pass == 1)) {
        snap->routes.add_entry(v->entry);
        snap->live.emplace(v->entry.get(), v);
      }
  current_.store(std::move(snap), std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<live_version> function_table::find_locked(std::string_view fn,
                                                          std::string_view version) const {
  for (const auto& v : versions_)
    if (v->entry->name == fn && v->entry->version == version)
      return v;
  return nullptr;
}

caf::expected<routed_version> function_table::route(const routing_table& in_force,
                                                  std::string_view fn, std::uint64_t root,
                                                  std::string_view pinned) const {
  auto snap = current();
  auto d = in_force.route(snap->routes, fn, root, pinned);
  if (!d)
    return std::move(d.error());
  routed_version r{*d, snap->pin(d->entry), d->shadow ? snap->pin(d->shadow) : version_ref{}};
  if (d->reason != route_reason::pinned && r.version.live().retired.load(std::memory_order_acquire))
    return make_error(errc::unknown_version,
                      d->reason == route_reason::default_version
                        ? "every version of function '" + std::string{fn} + "' is retired"
                        : "the route of '" + std::string{fn} + "' (" + describe(*d) + ") names " +
                            qualified(fn, d->entry->version) + ", which is retired");
  if (r.shadow && r.shadow.live().retired.load(std::memory_order_acquire)) {
    r.shadow = {}; // a retired candidate is not shadow-run any more
    r.decision.shadow = nullptr;
  }
  return r;
}

caf::error function_table::check_locked(const std::string& fn, const std::string& version,
                                        const function_impl& impl, const std::string& who) const {
  if (find_locked(fn, version))
    return make_error(errc::version_exists, who + ": function '" + fn + "' already has a version '" + version + "'");
  for (const auto& v : versions_) {
    if (v->entry->name != fn)
      continue;
    const auto& other = *v->entry->impl;
    if (!same_type(other.input_type(), impl.input_type()))
      return make_error(errc::wrong_input_type,
                        who + ": " + qualified(fn, version) + " takes " + type_name(impl.input_type()) +
                          ", but " + qualified(fn, v->entry->version) + " takes " + type_name(other.input_type()));
    if (!same_type(other.output_type(), impl.output_type()))
      return make_error(errc::wrong_output_type,
                        who + ": " + qualified(fn, version) + " returns " + type_name(impl.output_type()) +
                          ", but " + qualified(fn, v->entry->version) + " returns " +
                          type_name(other.output_type()));
  }
  return {};
}

void function_table::insert_locked(function_entry e, std::uint64_t module) {
  auto lv = std::make_shared<live_version>();
  const auto& out = e.impl->output_type();
  lv->signature = std::make_shared<const version_signature>(
    version_signature{e.name, e.version, out.name(), type_name(out)});
  lv->entry = std::make_shared<function_entry>(std::move(e));
  lv->module = module;
  lv->order = next_order_++;
  lv->drained = [this] { on_drained(); };
  versions_.push_back(std::move(lv));
}

caf::error function_table::add(std::string fn, std::string version,
                               std::shared_ptr<const function_impl> impl, std::uint64_t module) {
  if (auto err = check_name("function name", fn))
    return make_error(errc::bad_input, describe(err));
  if (auto err = check_name("version name of function '" + fn + "'", version))
    return make_error(errc::bad_input, describe(err));
  if (!impl)
    return make_error(errc::bad_input, "version " + qualified(fn, version) + " has no code (a null impl)");
  std::lock_guard guard{mx_};
  if (auto err = check_locked(fn, version, *impl, "add_version " + qualified(fn, version)))
    return err;
  insert_locked(function_entry{std::move(fn), std::move(version), std::move(impl)}, module);
  publish_locked();
  return {};
}

caf::error function_table::check_module(const loaded_module& m) const {
  std::lock_guard guard{mx_};
  return check_against(current()->routes, m); // the snapshot holds every version (published under mx_)
}

caf::error function_table::add_module(std::uint64_t module, const loaded_module& m) {
  std::lock_guard guard{mx_};
  if (auto err = check_against(current()->routes, m))
    return err;
  for (auto& e : m.functions()) // impls that share ownership of the module
    insert_locked(std::move(e), module);
  publish_locked();
  return {};
}

std::vector<version_info> function_table::undrained(std::uint64_t module) const {
  std::vector<version_info> out;
  std::lock_guard guard{mx_};
  for (const auto& v : versions_)
    if (v->module == module && state_of(*v) != version_state::drained)
      out.push_back(version_info{v->entry->name, v->entry->version, state_of(*v), v->module,
                                 v->holders.load(std::memory_order_acquire)});
  return out;
}

bool function_table::remove_module(std::uint64_t module) {
  std::lock_guard guard{mx_};
  for (const auto& v : versions_)
    if (v->module == module && state_of(*v) != version_state::drained)
      return false;
  std::erase_if(versions_, [&](const auto& v) { return v->module == module; });
  publish_locked();
  return true;
}

caf::error function_table::retire(std::string_view fn, std::string_view version,
                                  const routing_table& in_force) {
  std::unique_lock guard{mx_};
  auto v = find_locked(fn, version);
  if (!v) {
    bool known = std::any_of(versions_.begin(), versions_.end(),
                             [&](const auto& x) { return x->entry->name == fn; });
    return known ? make_error(errc::unknown_version,
                              "function '" + std::string{fn} + "' has no version " + quoted_name(version))
                 : make_error(errc::unknown_function, "unknown function " + quoted_name(fn));
  }
  if (v->retired.load(std::memory_order_relaxed))
    return {};
  if (auto p = in_force.policies().find(fn); p != in_force.policies().end()) {
    const auto& pol = p->second;
    if (pol.primary == version || pol.candidate == version)
      return make_error(errc::version_in_use,
                        qualified(fn, version) + " cannot be retired: the routing policy of '" +
                          std::string{fn} + "' (" + to_string(pol) + ") names it");
  }
  for (const auto& [key, pinned] : in_force.overrides())
    if (key.second == fn && pinned == version)
      return make_error(errc::version_in_use,
                        qualified(fn, version) + " cannot be retired: the override of '" +
                          std::string{fn} + "' for the tree of task " + to_string(task_id{key.first}) +
                          " names it");
  v->retired.store(true, std::memory_order_release);
  publish_locked();
  bool idle = v->holders.load(std::memory_order_acquire) == 0;
  guard.unlock();
  if (idle)
    on_drained();
  return {};
}

caf::error function_table::check_routable(std::string_view fn, const routing_policy& p) const {
  std::lock_guard guard{mx_};
  for (const auto* name : {&p.primary, &p.candidate}) {
    if (name->empty())
      continue;
    if (auto v = find_locked(fn, *name); v && v->retired.load(std::memory_order_acquire))
      return make_error(errc::unknown_version, "version '" + *name + "' of '" + std::string{fn} +
                                                 "' is retired: no route may name it");
  }
  return {};
}

void function_table::on_drained() {
  {
    std::lock_guard guard{mx_}; // orders the wake-up after a waiter's check
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  drained_cv_.notify_all();
}

std::vector<version_info> function_table::versions(std::string_view fn) const {
  std::vector<version_info> out;
  std::lock_guard guard{mx_};
  for (const auto& v : versions_)
    if (fn.empty() || v->entry->name == fn)
      out.push_back(version_info{v->entry->name, v->entry->version, state_of(*v), v->module,
                                 v->holders.load(std::memory_order_acquire)});
  return out;
}

bool function_table::await_drained(std::string_view fn, std::string_view version,
                                   std::chrono::milliseconds timeout) {
  std::unique_lock guard{mx_};
  auto v = find_locked(fn, version);
  if (!v)
    return false;
  return drained_cv_.wait_for(guard, timeout, [&] { return state_of(*v) == version_state::drained; });
}

} // namespace actors::detail
