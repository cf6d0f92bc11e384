// An engine's start-up, step by step (each returns why the engine cannot start), and its shutdown,
// which stops whatever start-up started, in one order (DESIGN-NOTES §28).

#include "actors/engine.hpp"

#include <algorithm>
#include <set>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <sched.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "actors/eventlog/journal.hpp"
#include "engine/engine_impl.hpp"
#include "runtime/lean_scheduler.hpp"
#include "supervisor/supervisor.hpp"
#include "task/task_runtime.hpp"

namespace actors {

using detail::from_router;

namespace {

std::size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::shared_ptr<spdlog::logger> make_logger(const std::string& name, const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto log = std::make_shared<spdlog::logger>(name, std::move(sink));
  log->set_pattern("[%H:%M:%S.%e] [%n] [%^%l%$] %v");
  log->set_level(spdlog::level::from_str(level));
  return log;
}

} // namespace

engine::engine(engine_config cfg, const router& routes, const effects& fx)
  : impl_(std::make_unique<impl>()) {
  impl_->core = std::make_unique<detail::engine_core>(std::move(cfg), routes, fx);
  auto& core = *impl_->core;
  core.log = make_logger("actors", core.cfg.log_level);
  core.task_log = make_logger("task", core.cfg.log_level);
  // Whatever step fails — or throws (a thread that cannot be created, memory) — the engine does not
  // throw: status() says why, and what was started is stopped here, in order (DESIGN-NOTES §28).
  try {
    impl_->status = impl_->start();
  } catch (const std::exception& e) {
    impl_->status = make_error(errc::engine_stopped, std::string{"the engine could not start: "} + e.what());
  } catch (...) {
    impl_->status = make_error(errc::engine_stopped, "the engine could not start: unknown exception");
  }
  if (impl_->status)
    impl_->shut_down();
}

caf::error engine::impl::start() {
  if (auto err = check_config())
    return err;
  if (core->cfg.journal_enabled)
    if (auto err = open_journal())
      return err;
  start_threads();
  if (auto err = load_routes())
    return err;
  start_watcher();
  if (core->journal && core->cfg.resume)
    resume_unfinished();
  return {};
}

caf::error engine::impl::check_config() {
  auto& c = *core;
  if (auto err = c.functions.registration_error())
    return from_router(err);
  if (auto err = c.handlers.registration_error())
    return err;
  if (c.cfg.scheduler_policy != "sharing" && c.cfg.scheduler_policy != "stealing")
    return make_error(errc::invalid_configuration, "engine_config::scheduler_policy is '" +
                                                     c.cfg.scheduler_policy +
                                                     "'; expected 'sharing' or 'stealing'");
  const std::pair<const char*, std::size_t> counts[] = {{"worker_threads", c.cfg.worker_threads},
                                                        {"scheduler_threads", c.cfg.scheduler_threads},
                                                        {"shadow_threads", c.cfg.shadow_threads}};
  for (auto [name, n] : counts)
    if (n > engine_config::max_threads)
      return make_error(errc::invalid_configuration,
                        std::string{"engine_config::"} + name + " is " + std::to_string(n) + "; at most " +
                          std::to_string(engine_config::max_threads));
  return {};
}

caf::error engine::impl::open_journal() {
  auto& c = *core;
  // Before the journal is touched: a second server leaves it as it is.
  if (c.cfg.resume)
    if (auto err = c.claim_journal(detail::engine_lock::purpose::resume))
      return err;
  eventlog::journal_options opts;
  opts.path = c.cfg.journal;
  opts.synchronous_full = c.cfg.synchronous_full;
  opts.vfs = c.cfg.journal_vfs;
  opts.verify_on_open = c.cfg.journal_verify_on_open;
  auto j = eventlog::journal::open(opts);
  if (!j) {
    c.claim.remove_created_journal(); // a failed open leaves no file the lock created
    return std::move(j.error());
  }
  c.journal = std::move(*j);
  // Finished outcomes can be read back from the journal: keep only a window of them in memory.
  c.completions.set_retain_bound(65536);
  // New ids must stay above every journaled one, whatever the clock did since.
  auto max_id = c.journal->max_task_id();
  if (!max_id)
    return std::move(max_id.error());
  c.ids.keep_above(*max_id);
  // Message ids come from the same counter: above every journaled one too.
  if (auto max_msg = c.journal->max_message_id())
    c.ids.keep_above(*max_msg);
  return {};
}

void engine::impl::start_threads() {
  auto& c = *core;
  auto cpus = usable_cpus();
  c.pool = std::make_unique<detail::worker_pool>(
    c.cfg.worker_threads > 0 ? c.cfg.worker_threads : std::max<std::size_t>(4, 2 * cpus));
  if (c.journal)
    c.journal->set_commit_listener(
      [pool = c.pool.get()](eventlog::lsn n, const caf::error& err) { pool->durable(n, err); });
  c.system_cfg = std::make_unique<caf::actor_system_config>();
  c.system_cfg->set("scheduler.max-threads", c.cfg.scheduler_threads > 0 ? c.cfg.scheduler_threads : cpus);
  c.system_cfg->set("scheduler.policy", caf::atom_from_string(c.cfg.scheduler_policy));
  detail::use_lean_scheduler(*c.system_cfg, c.cfg.scheduler_policy == "stealing");
  c.keeping_thread_logger([&c] { c.system = std::make_unique<caf::actor_system>(*c.system_cfg); });
}

caf::error engine::impl::load_routes() {
  auto& c = *core;
  c.routing.poll_runtime_routes(); // routes set at run time, by this or an earlier engine or the CLI
  c.cancel_requests_seen();         // requests seen from now on are new
  if (!c.cfg.routing_file.empty())
    if (auto r = reload_routing_file(true, true); !r)
      return std::move(r.error());
  return {};
}

void engine::impl::resume_unfinished() {
  auto& c = *core;
  auto versions = c.functions.current();
  auto unfinished = c.journal->unfinished_tasks();
  if (!unfinished) {
    c.log->error("cannot read unfinished tasks: {}", describe(unfinished.error()));
    return;
  }
  std::set<std::uint64_t> cancelled;
  if (auto ids = c.journal->cancel_requests())
    cancelled.insert(ids->begin(), ids->end());
  std::vector<detail::task_runtime::setup> ready;
  bool ended_cancelled = false;
  for (auto& rec : *unfinished) {
    if (cancelled.contains(rec.id) || cancelled.contains(rec.root)) {
      // Cancelled while no engine ran it: end it as cancelled instead of resuming it.
      auto evs = c.journal->events(rec.id);
      auto seq = evs && !evs->empty() ? evs->back().seq + 1 : 1;
      c.journal->append(eventlog::event{.task = rec.id, .seq = seq, .kind = eventlog::event_kind::cancelled,
                                        .text = "cancelled before it was resumed"});
      c.log->info("task {} ({}@{}) was cancelled: not resumed", to_string(task_id{rec.id}),
                  rec.function, rec.version);
      ended_cancelled = true;
      continue;
    }
    auto version = versions->pin(rec.function, rec.version);
    if (!version) {
      c.log->warn("task {} ({}@{}) is unfinished but {}@{} is not registered: not resumed",
                  to_string(task_id{rec.id}), rec.function, rec.version, rec.function, rec.version);
      continue;
    }
    auto inv = std::static_pointer_cast<const detail::invoker>(version.entry().impl);
    if (inv->input_type_name() != rec.input_type) {
      c.log->warn("task {} ({}@{}) is unfinished but its input type {} is not the registered {}: "
                  "not resumed",
                  to_string(task_id{rec.id}), rec.function, rec.version, rec.input_type,
                  inv->input_type_name());
      continue;
    }
    auto events = c.journal->events(rec.id);
    if (events)
      *events = eventlog::journal::history(std::move(*events)); // without runs a restart rewound
    auto children = c.journal->children(rec.id);
    if (!events || !children || events->empty() ||
        events->front().kind != eventlog::event_kind::started) {
      c.log->error("task {}: cannot read its journal: {}", to_string(task_id{rec.id}),
                   !events ? describe(events.error())
                           : !children ? describe(children.error()) : "no started event");
      continue;
    }
    detail::task_runtime::setup s;
    s.input = std::move(events->front().request);
    s.recorded = std::move(*events);
    s.children = std::move(*children);
    s.fn = std::move(inv);
    s.version = std::move(version);
    // Routed by a shadow policy before the crash ("shadow v2"): the candidate still shadow-runs.
    if (rec.route.starts_with("shadow "))
      s.shadow = versions->pin(rec.function, std::string_view{rec.route}.substr(7));
    s.rec = std::move(rec);
    ready.push_back(std::move(s));
  }
  if (ended_cancelled) // their end is in the journal before anyone can ask for it
    if (auto err = c.journal->flush())
      c.log->error("cannot journal the end of cancelled tasks: {}", describe(err));
  // Register every outcome before any actor runs: resumed parents attach to resumed children.
  for (auto& s : ready)
    c.completions.create(task_id{s.rec.id}, s.version.signature());
  for (auto& s : ready) {
    c.stats.resumed.fetch_add(1, std::memory_order_relaxed);
    c.log->info("resuming task {} ({}@{}) from {} journaled events", to_string(task_id{s.rec.id}),
                s.rec.function, s.rec.version, s.recorded.size());
    auto id = task_id{s.rec.id};
    auto actor = c.spawn(std::make_unique<detail::task_runtime>(c.tasks, std::move(s)));
    if (auto entry = c.completions.find(id))
      c.name_actor(*entry, actor);
  }
}

engine::~engine() {
  if (impl_)
    impl_->shut_down();
}

void engine::impl::shut_down() {
  if (!core)
    return;
  auto& c = *core;
  if (watcher.joinable()) {
    watcher.request_stop();
    watcher.join();
  }
  if (c.system) {
    // Running supervisors let go of their children without ending them: the next engine on the
    // journal resumes them (and a supervise() there takes them over).
    std::vector<caf::actor> tops;
    {
      std::lock_guard guard{c.supervisors->mx};
      for (auto& [name, info] : c.supervisors->sups)
        if (!info.ended && info.parent.empty() && info.actor)
          tops.push_back(info.actor);
    }
    for (auto& a : tops)
      detail::detach_supervisor_actor(a);
    {
      std::unique_lock guard{c.supervisors->mx};
      c.supervisors->cv.wait(guard, [&] {
        return std::all_of(c.supervisors->sups.begin(), c.supervisors->sups.end(),
                           [](const auto& kv) { return kv.second.ended || !kv.second.actor; });
      });
    }
    c.work.wait_idle(); // drain()
  }
  c.shutdown();
}

} // namespace actors
