#include "engine/routing_state.hpp"

#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "engine/engine_core.hpp"

namespace actors::detail {

namespace {

std::optional<policy_mode> mode_of(std::string_view s) {
  for (auto m : {policy_mode::primary, policy_mode::shadow, policy_mode::percent})
    if (to_string(m) == s)
      return m;
  return std::nullopt;
}

} // namespace

void routing_state::rebuild_locked() {
  auto policies = file_policies_;
  auto versions = core_.functions.current();
  routing_table t;
  for (const auto& r : runtime_routes_) {
    auto mode = mode_of(r.mode);
    auto p = routing_policy{mode.value_or(policy_mode::primary), r.primary, r.candidate, r.percent};
    caf::error err = mode ? routing_table::check(versions->routes, r.function, p)
                          : make_error(errc::invalid_configuration, "unknown mode '" + r.mode + "'");
    if (err) {
      core_.log->warn("a route in the journal is not applied here: {}{}: {}", quoted_name(r.function),
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
  table_.store(std::make_shared<const routing_table>(std::move(t)), std::memory_order_release);
}

void routing_state::set_file_policies(std::map<std::string, routing_policy, std::less<>> policies) {
  std::lock_guard guard{mx_};
  file_policies_ = std::move(policies);
  rebuild_locked();
}

caf::error routing_state::change_runtime_route(eventlog::route_record r, bool erase) {
  if (auto* journal = core_.journal.get()) {
    if (erase)
      journal->clear_route(r.function, r.root);
    else
      journal->set_route(std::move(r));
    if (auto err = journal->flush())
      return make_error(errc::journal_failure, "the route could not be journaled: " + describe(err));
    poll_runtime_routes();
    return {};
  }
  std::lock_guard guard{mx_};
  auto same = [&](const eventlog::route_record& x) {
    return x.function == r.function && x.root == r.root;
  };
  std::erase_if(runtime_routes_, same);
  if (!erase)
    runtime_routes_.push_back(std::move(r));
  rebuild_locked();
  return {};
}

bool routing_state::poll_runtime_routes() {
  auto* journal = core_.journal.get();
  if (journal == nullptr)
    return false;
  auto version = journal->routes_version();
  if (!version) {
    core_.log->error("cannot read the journal's routes: {}", describe(version.error()));
    return false;
  }
  {
    std::lock_guard guard{mx_};
    if (*version == runtime_routes_version_)
      return false;
  }
  auto rows = journal->routes();
  if (!rows) {
    core_.log->error("cannot read the journal's routes: {}", describe(rows.error()));
    return false;
  }
  std::lock_guard guard{mx_};
  runtime_routes_ = std::move(*rows);
  runtime_routes_version_ = *version;
  rebuild_locked();
  return true;
}

} // namespace actors::detail
