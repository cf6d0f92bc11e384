// The routing table in force, composed from its sources: the routing file's policies, and the routes set
// at run time (engine::set_policy / override_route, `route set` on the command line), which are kept in
// the journal's routes table so that every engine on the file — in this process or another — and the
// next one after a restart route by them. Run-time routes win over the file for the same function.

#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "engine_core.hpp"

namespace actors::detail {

namespace {

std::optional<policy_mode> mode_of(std::string_view s) {
  for (auto m : {policy_mode::primary, policy_mode::shadow, policy_mode::percent})
    if (to_string(m) == s)
      return m;
  return std::nullopt;
}

} // namespace

void engine_core::rebuild_routing_locked() {
  auto policies = file_policies;
  routing_table t;
  for (const auto& r : runtime_routes) {
    auto mode = mode_of(r.mode);
    auto p = routing_policy{mode.value_or(policy_mode::primary), r.primary, r.candidate, r.percent};
    caf::error err = mode ? routing_table::check(routes, r.function, p)
                          : make_error(errc::invalid_configuration, "unknown mode '" + r.mode + "'");
    if (err) {
      log->warn("a route in the journal is not applied here: {}{}: {}", quoted_name(r.function),
                r.root == 0 ? std::string{} : " for task " + to_string(task_id{r.root}),
                describe(err));
      continue;
    }
    if (r.root == 0)
      policies.insert_or_assign(r.function, std::move(p));
    else
      t = t.with_override(r.root, r.function, r.primary);
  }
  t = t.with_policies(std::move(policies));
  routing.store(std::make_shared<const routing_table>(std::move(t)), std::memory_order_release);
}

void engine_core::set_file_policies(std::map<std::string, routing_policy, std::less<>> policies) {
  std::lock_guard guard{routing_mx};
  file_policies = std::move(policies);
  rebuild_routing_locked();
}

caf::error engine_core::change_runtime_route(eventlog::route_record r, bool erase) {
  if (journal) {
    if (erase)
      journal->clear_route(r.function, r.root);
    else
      journal->set_route(std::move(r));
    if (auto err = journal->flush())
      return make_error(errc::journal_failure, "the route could not be journaled: " + describe(err));
    poll_runtime_routes();
    return {};
  }
  std::lock_guard guard{routing_mx};
  auto same = [&](const eventlog::route_record& x) {
    return x.function == r.function && x.root == r.root;
  };
  std::erase_if(runtime_routes, same);
  if (!erase)
    runtime_routes.push_back(std::move(r));
  rebuild_routing_locked();
  return {};
}

bool engine_core::poll_runtime_routes() {
  if (!journal)
    return false;
  auto version = journal->routes_version();
  if (!version) {
    log->error("cannot read the journal's routes: {}", describe(version.error()));
    return false;
  }
  {
    std::lock_guard guard{routing_mx};
    if (*version == runtime_routes_version)
      return false;
  }
  auto rows = journal->routes();
  if (!rows) {
    log->error("cannot read the journal's routes: {}", describe(rows.error()));
    return false;
  }
  std::lock_guard guard{routing_mx};
  runtime_routes = std::move(*rows);
  runtime_routes_version = *version;
  rebuild_routing_locked();
  return true;
}

} // namespace actors::detail
