// Routing at run time: the routing file (read at start-up, re-read by the watcher thread when it
// changes, refused whole with a logged error if it cannot be used) and the engine's routing calls
// (set_policy, override_route, ...), which go through the journal (DESIGN-NOTES §13).

#include "actors/engine.hpp"

#include <condition_variable>
#include <stop_token>

#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "actors/eventlog/journal.hpp"
#include "actors/routing_file.hpp"
#include "engine/engine_impl.hpp"

namespace actors {

using detail::from_router;

void engine::impl::bump_routing_generation() {
  {
    std::lock_guard guard{file_mx};
    ++routing_generation;
  }
  routing_cv.notify_all();
}

void engine::impl::refused_locked(const caf::error& err) {
  file_error = err;
  auto text = describe(err);
  if (text == last_refusal)
    return; // logged already (the watcher sees the same problem at every poll)
  last_refusal = std::move(text);
  ++refusals;
  core->log->error("routing file not applied, the policies in force stay: {}", last_refusal);
  routing_cv.notify_all();
}

caf::expected<void> engine::impl::reload_routing_file(bool force, bool at_start) {
  auto& c = *core;
  const auto& path = c.cfg.routing_file;
  std::unique_lock guard{file_mx};
  auto refuse = [&](caf::error err) -> caf::expected<void> {
    if (!at_start)
      refused_locked(err);
    return err;
  };
  auto text = read_routing_file(path);
  if (!text)
    return refuse(from_router(text.error()));
  if (!force && *text == file_text) {
    if (text_error)
      return refuse(text_error);
    file_error = {};
    last_refusal.clear();
    return caf::unit;
  }
  file_text = std::move(*text);
  auto policies = parse_routing_file(file_text, path, c.functions.current()->routes);
  if (!policies) {
    text_error = from_router(policies.error());
    return refuse(text_error);
  }
  text_error = {};
  file_error = {};
  last_refusal.clear();
  c.log->info("routing file {}: {} polic{}", path, policies->size(),
              policies->size() == 1 ? "y" : "ies");
  c.routing.set_file_policies(std::move(*policies));
  guard.unlock();
  bump_routing_generation();
  return caf::unit;
}


void engine::impl::start_watcher() {
  auto& c = *core;
  if (!c.journal && c.cfg.routing_file.empty())
    return;
  // Notices a changed routing file, and routes another process set in the journal (`route set`).
  watcher = std::jthread{[this](std::stop_token stop) {
    std::mutex mx;
    std::condition_variable_any cv;
    auto& c = *core;
    for (;;) {
      {
        std::unique_lock lk{mx};
        if (cv.wait_for(lk, stop, c.cfg.routing_file_poll, [] { return false; }); stop.stop_requested())
          return;
      }
      try {
        if (!c.cfg.routing_file.empty())
          (void)reload_routing_file(false); // errors are logged; the policies in force stay
        if (c.routing.poll_runtime_routes()) {
          c.log->info("routing: the journal's routes changed");
          bump_routing_generation();
        }
        c.poll_cancel_requests();
      } catch (const std::exception& e) { // never std::terminate the application from here
        c.log->error("routing watcher: {}; the policies in force stay", e.what());
      }
    }
  }};
}

caf::expected<void> engine::set_policy(std::string_view fn, routing_policy p) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  if (auto err = routing_table::check(c.functions.current()->routes, fn, p))
    return from_router(err);
  if (auto err = c.functions.check_routable(fn, p))
    return err;
  c.log->info("routing: {} -> {}", fn, to_string(p));
  eventlog::route_record r{std::string{fn}, 0, std::string{to_string(p.mode)}, p.primary, p.candidate,
                           p.percent, 0};
  if (auto err = c.routing.change_runtime_route(std::move(r), false))
    return err;
  impl_->bump_routing_generation();
  return caf::unit;
}

void engine::clear_policy(std::string_view fn) {
  if (impl_->status)
    return;
  auto& c = *impl_->core;
  if (auto err = check_name("function name", fn)) { // no policy can have been set for it
    c.log->warn("routing: clear_policy: {}", describe(err));
    return;
  }
  if (auto err = c.routing.change_runtime_route({std::string{fn}, 0, {}, {}, {}, 0, 0}, true))
    c.log->error("routing: cannot clear the policy of {}: {}", fn, describe(err));
  impl_->bump_routing_generation();
}

caf::expected<void> engine::override_route(task_id root, std::string_view fn,
                                           std::string_view version) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  auto pinned = policy::primary(std::string{version});
  if (auto err = routing_table::check(c.functions.current()->routes, fn, pinned))
    return from_router(err);
  if (auto err = c.functions.check_routable(fn, pinned))
    return err;
  if (auto err = c.check_known_task(root))
    return err;
  c.log->info("routing: {} in the tree of task {} -> {}", fn, to_string(root), version);
  eventlog::route_record r{std::string{fn}, root.value(), "primary", std::string{version}, {}, 0, 0};
  if (auto err = c.routing.change_runtime_route(std::move(r), false))
    return err;
  impl_->bump_routing_generation();
  return caf::unit;
}

void engine::clear_override(task_id root, std::string_view fn) {
  if (impl_->status)
    return;
  auto& c = *impl_->core;
  if (!fn.empty())
    if (auto err = check_name("function name", fn)) {
      c.log->warn("routing: clear_override: {}", describe(err));
      return;
    }
  std::vector<std::string> functions;
  if (fn.empty()) {
    for (const auto& [key, version] : c.routing.table()->overrides())
      if (key.first == root.value())
        functions.push_back(key.second);
  } else {
    functions.emplace_back(fn);
  }
  for (auto& f : functions)
    if (auto err = c.routing.change_runtime_route({f, root.value(), {}, {}, {}, 0, 0}, true))
      c.log->error("routing: cannot clear the override of {} for task {}: {}", f, to_string(root),
                   describe(err));
  impl_->bump_routing_generation();
}

caf::expected<void> engine::reload_routing() {
  if (impl_->status)
    return impl_->status;
  if (impl_->core->cfg.routing_file.empty())
    return make_error(errc::invalid_configuration, "the engine has no routing file (engine_config::routing_file)");
  return impl_->reload_routing_file(true);
}

std::uint64_t engine::routing_generation() const {
  std::lock_guard guard{impl_->file_mx};
  return impl_->routing_generation;
}

bool engine::await_routing_change(std::uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock guard{impl_->file_mx};
  return impl_->routing_cv.wait_for(guard, timeout, [&] { return impl_->routing_generation > after; });
}

caf::error engine::routing_file_error() const {
  std::lock_guard guard{impl_->file_mx};
  return impl_->file_error;
}

bool engine::await_routing_file_refusal(std::uint64_t after, std::chrono::milliseconds timeout) {
  std::unique_lock guard{impl_->file_mx};
  return impl_->routing_cv.wait_for(guard, timeout, [&] { return impl_->refusals > after; });
}

routing_table engine::routing() const {
  if (impl_->status)
    return {};
  return *impl_->core->routing.table();
}

} // namespace actors
