#include "actors/engine.hpp"
#include "runtime/tell.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <random>
#include <future>
#include <set>
#include <stop_token>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/logger.hpp>
#include <caf/thread_hook.hpp>
#include <pthread.h>
#include <caf/send.hpp>
#include <sched.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/eventlog/journal.hpp"
#include "actors/router_errc.hpp"
#include "actors/routing_file.hpp"
#include "runtime/clock.hpp"
#include "engine/engine_core.hpp"
#include "runtime/lean_scheduler.hpp"
#include "task/messages.hpp"
#include "task/task_actor.hpp"
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

struct engine::impl {
  std::unique_ptr<detail::engine_core> core;
  caf::error status;

  // --- the routing file --------------------------------------------------------------------------
  std::mutex file_mx;                 ///< guards the fields below; one reload at a time (not re-entrant:
                                      ///< bump_routing_generation takes it too)
  std::condition_variable routing_cv; ///< notified when routing_generation or refusals move
  std::uint64_t routing_generation = 0;
  std::string file_text;              ///< content last seen (applied or refused)
  caf::error text_error;              ///< why file_text was refused (empty: it applied)
  caf::error file_error;              ///< the file's problem now (engine::routing_file_error)
  std::string last_refusal;           ///< the refusal last logged: each problem is logged once
  std::uint64_t refusals = 0;         ///< engine_stats::routing_file_refusals
  std::jthread watcher;

  // --- start-up (each step returns why the engine cannot start) ----------------------------------
  caf::error start();
  caf::error check_config();
  caf::error open_journal();
  void start_threads();
  caf::error load_routes();
  void start_watcher();
  void resume_unfinished();
  /// Stops everything start() started, wherever it stopped (and ~engine): the watcher, supervisors,
  /// in-flight tasks, then the core's threads (engine_core::shutdown). Idempotent.
  void shut_down();

  /// Reads the routing file; if its content changed since last seen, applies it (or refuses it).
  /// `at_start`: the constructor's read, whose error becomes status() (not logged, not counted).
  caf::expected<void> reload_routing_file(bool force, bool at_start = false);
  /// Counts and logs `err` (once per distinct problem); needs file_mx.
  void refused_locked(const caf::error& err);
  void bump_routing_generation();
};

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
  auto policies = parse_routing_file(file_text, path, c.routes);
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
  if (auto err = c.routes.validate())
    return from_router(err);
  if (auto err = c.fx.validate())
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

void engine::impl::resume_unfinished() {
  auto& c = *core;
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
    auto* entry = c.routes.find(rec.function, rec.version);
    if (entry == nullptr) {
      c.log->warn("task {} ({}@{}) is unfinished but {}@{} is not registered: not resumed",
                  to_string(task_id{rec.id}), rec.function, rec.version, rec.function, rec.version);
      continue;
    }
    auto inv = std::static_pointer_cast<const detail::invoker>(entry->impl);
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
    s.entry = entry;
    // Routed by a shadow policy before the crash ("shadow v2"): the candidate still shadow-runs.
    if (rec.route.starts_with("shadow "))
      s.shadow = c.routes.find(rec.function, std::string_view{rec.route}.substr(7));
    s.rec = std::move(rec);
    ready.push_back(std::move(s));
  }
  if (ended_cancelled) // their end is in the journal before anyone can ask for it
    if (auto err = c.journal->flush())
      c.log->error("cannot journal the end of cancelled tasks: {}", describe(err));
  // Register every outcome before any actor runs: resumed parents attach to resumed children.
  for (auto& s : ready)
    c.completions.create(task_id{s.rec.id}, s.entry);
  for (auto& s : ready) {
    c.stats.resumed.fetch_add(1, std::memory_order_relaxed);
    c.log->info("resuming task {} ({}@{}) from {} journaled events", to_string(task_id{s.rec.id}),
                s.rec.function, s.rec.version, s.recorded.size());
    auto id = task_id{s.rec.id};
    auto actor = c.spawn(std::make_unique<detail::task_runtime>(c, std::move(s)));
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

caf::error engine::status() const {
  if (impl_->status)
    return impl_->status;
  if (auto& j = impl_->core->journal)
    if (auto err = j->failure())
      return make_error(errc::journal_failure,
                        "the engine takes no new tasks: the journal failed: " + describe(err));
  return {};
}

caf::expected<task_id> engine::start_erased(std::string_view fn, std::string_view pinned,
                                            const input_ref& in, std::string_view key) {
  if (impl_->status)
    return impl_->status;
  if (auto err = impl_->core->claim_journal())
    return err;
  auto& c = *impl_->core;
  detail::erased_input input{in.value, in.type, in.encode, in.render};
  if (!key.empty())
    return c.keyed.start(key, fn, pinned, input);
  eventlog::lsn created = 0;
  auto started = c.start_root(fn, pinned, input, false, {}, &created);
  if (!started)
    return std::move(started.error());
  auto id = started->first;
  // Acknowledged once durable: the id the caller gets is in the journal, whatever happens next.
  if (auto err = c.await_durable(created, [&] {
        return "task " + to_string(id) + " of '" + std::string{fn} + "'";
      }))
    return err;
  return id;
}

caf::expected<std::vector<task_id>>
engine::start_batch_erased(std::string_view fn, std::string_view pinned, const input_ref& first,
                           std::size_t count, std::size_t stride) {
  if (impl_->status)
    return impl_->status;
  if (auto err = impl_->core->claim_journal())
    return err;
  auto& c = *impl_->core;
  // Every input routed and checked before any task is journaled: a bad one starts nothing.
  std::vector<detail::engine_core::prepared_root> prepared;
  prepared.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    detail::erased_input input{static_cast<const char*>(first.value) + i * stride, first.type,
                               first.encode, first.render};
    auto p = c.prepare_root(fn, pinned, input);
    if (!p)
      return std::move(p.error());
    prepared.push_back(std::move(*p));
  }
  std::vector<task_id> ids;
  ids.reserve(count);
  eventlog::lsn last = 0;
  for (auto& p : prepared) {
    eventlog::lsn created = 0;
    ids.push_back(c.launch_root(std::move(p), false, &created).first);
    last = std::max(last, created);
  }
  // One wait for all: appends commit in lsn order, so the last row durable means every row is.
  if (auto err = c.await_durable(last, [&] {
        return "start_batch of " + std::to_string(count) + " tasks of '" + std::string{fn} + "'";
      }))
    return err;
  return ids;
}

caf::expected<std::string> engine::wait_bytes(task_id id, const std::type_info& out_type) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  auto name = [&](const std::string& f, const std::string& v) {
    return "task " + to_string(id) + " (" + f + "@" + v + ")";
  };
  auto check_type = [&](const std::type_info* t, const std::string& f,
                        const std::string& v) -> caf::error {
    if (t != nullptr && *t != out_type)
      return make_error(errc::wrong_output_type, name(f, v) + " returns " + type_name(*t) +
                                                   ", not " + type_name(out_type));
    return {};
  };
  if (auto comp = c.completions.find(id)) {
    const auto& e = *comp->entry;
    if (auto err = check_type(&e.impl->output_type(), e.name, e.version))
      return err;
    auto out = c.completions.wait(id, *comp);
    switch (out.state) {
      case detail::outcome_state::completed: return std::move(out.payload);
      case detail::outcome_state::failed:
        return make_error(errc::task_failed, name(e.name, e.version) + " failed: " + out.payload);
      default: return out.error;
    }
  }
  if (!c.journal)
    return make_error(errc::unknown_task, "no task " + to_string(id) + " in this engine");
  auto rec = c.journal->find_task(id.value());
  if (!rec)
    return rec.error();
  if (!*rec)
    return make_error(errc::unknown_task, "no task " + to_string(id) + " in journal '" +
                                            c.journal->path() + "'");
  const auto& r = **rec;
  if (auto* entry = c.routes.find(r.function, r.version)) {
    if (auto err = check_type(&entry->impl->output_type(), r.function, r.version))
      return err;
  }
  if (r.status == eventlog::task_status::running)
    return make_error(errc::not_resumable, name(r.function, r.version) +
                                             " is unfinished and " + r.function + "@" + r.version +
                                             " is not registered in this engine");
  auto events = c.journal->events(id.value());
  if (!events)
    return events.error();
  if (events->empty())
    return make_error(errc::unknown_task, name(r.function, r.version) + " has no journaled events");
  auto& last = events->back();
  if (last.kind == eventlog::event_kind::completed)
    return std::move(last.result);
  if (last.kind == eventlog::event_kind::failed)
    return make_error(errc::task_failed, name(r.function, r.version) + " failed: " + last.result);
  if (last.kind == eventlog::event_kind::cancelled)
    return make_error(errc::cancelled, name(r.function, r.version) + " was cancelled");
  return make_error(errc::task_failed, name(r.function, r.version) + " ended as " +
                                         std::string{eventlog::to_string(r.status)});
}

caf::expected<void> engine::send_erased(task_id id, std::string type, std::string bytes,
                                        std::string text) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  if (!c.task_alive(id.value()))
    return make_error(errc::not_running, "cannot send to task " + to_string(id) + ": it is not running");
  eventlog::message_record m;
  m.id = c.ids.next().value();
  m.target = id.value();
  m.type = std::move(type);
  m.payload = std::move(bytes);
  m.text = std::move(text);
  eventlog::lsn appended = 0;
  auto res = c.mail.post(
    m, c.cfg.mailbox_capacity,
    [&c, &appended](const eventlog::message_record& msg) {
      if (c.journal)
        appended = c.journal->append_message(msg, eventlog::event{});
    },
    caf::actor{}, 0);
  if (res == detail::mailboxes::post_result::full)
    return make_error(errc::mailbox_full, "the mailbox of task " + to_string(id) + " is full (" +
                                            std::to_string(c.cfg.mailbox_capacity) + " messages)");
  // Acknowledged once durable, as a start: a crash after send returns does not lose the message.
  if (auto err = c.await_durable(appended, [&] { return "the message to task " + to_string(id); }))
    return err;
  return caf::unit;
}

// --- supervision ----------------------------------------------------------------------------------

namespace {

/// Checks what validate() cannot: that each task child's function and version exist and take its input.
caf::error check_children(detail::engine_core& c, const supervision::supervisor_spec& spec) {
  for (const auto& ch : spec.children) {
    if (ch.supervisor) {
      if (auto err = check_children(c, *ch.supervisor))
        return err;
      continue;
    }
    auto where = "supervisor '" + spec.name + "', child '" + ch.id + "': ";
    auto route = c.route(ch.function, 0, ch.version);
    if (!route) {
      auto err = from_router(route.error());
      return make_error(static_cast<errc>(err.code()), where + describe(err).substr(describe(err).find(": ") + 2));
    }
    auto inv = std::static_pointer_cast<const detail::invoker>(route->entry->impl);
    if (!ch.input(inv->input_type()))
      return make_error(errc::wrong_input_type,
                        where + "function '" + route->entry->name + "' version '" +
                          route->entry->version + "' takes " + inv->input_type_name() + ", not " +
                          type_name(*ch.input_type));
  }
  return {};
}

void names_of(const supervision::supervisor_spec& spec, std::vector<std::string>& out) {
  out.push_back(spec.name);
  for (const auto& ch : spec.children)
    if (ch.supervisor)
      names_of(*ch.supervisor, out);
}

} // namespace

caf::expected<void> engine::supervise(const supervision::supervisor_spec& spec) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  if (auto err = c.claim_journal())
    return err;
  if (auto err = supervision::validate(spec))
    return err;
  if (auto err = check_children(c, spec))
    return err;
  std::vector<std::string> names;
  names_of(spec, names);
  auto& st = *c.supervisors;
  {
    std::lock_guard guard{st.mx};
    for (const auto& n : names)
      if (auto i = st.sups.find(n); i != st.sups.end() && !i->second.ended)
        return supervision::make_error(supervision::errc::invalid_spec,
                                       "supervisor '" + n + "' is already running");
    if (!st.known_loaded && c.journal) {
      // Children of the same supervisors in an earlier engine on this journal: taken over.
      auto rows = c.journal->supervision();
      if (!rows)
        return std::move(rows.error());
      for (const auto& r : *rows)
        if (r.task != 0)
          st.known[{r.supervisor, r.child}] = r.task;
      st.known_loaded = true;
    }
  }
  std::promise<caf::error> started;
  auto done = started.get_future();
  detail::spawn_supervisor(c.supervision, std::make_shared<const supervision::supervisor_spec>(spec), "",
                           [p = &started](const caf::error& err) { p->set_value(err); });
  if (auto err = done.get())
    return err;
  // Acknowledged once durable: the children's task rows and the supervision rows naming them.
  if (c.journal)
    if (auto err = c.journal->flush())
      return make_error(errc::journal_failure, "supervisor '" + spec.name +
                                                 "' is not acknowledged: journal '" +
                                                 c.journal->path() + "': " + describe(err));
  return caf::unit;
}

caf::expected<void> engine::stop_supervisor(std::string_view name) {
  if (impl_->status)
    return impl_->status;
  auto& st = *impl_->core->supervisors;
  caf::actor a;
  {
    std::lock_guard guard{st.mx};
    auto i = st.sups.find(name);
    if (i == st.sups.end() || i->second.ended || !i->second.parent.empty() || !i->second.actor)
      return make_error(errc::unknown_supervisor,
                        "no top-level supervisor '" + std::string{name} + "' runs in this engine");
    a = i->second.actor;
  }
  detail::stop_supervisor_actor(a);
  std::unique_lock guard{st.mx};
  st.cv.wait(guard, [&] {
    auto i = st.sups.find(name);
    return i == st.sups.end() || i->second.ended;
  });
  return caf::unit;
}

std::vector<eventlog::supervision_record> engine::supervision_tree() const {
  std::vector<eventlog::supervision_record> out;
  auto& st = *impl_->core->supervisors;
  std::lock_guard guard{st.mx};
  for (const auto& [name, info] : st.sups) {
    out.push_back(info.self);
    std::vector<eventlog::supervision_record> kids;
    for (const auto& [id, r] : info.children)
      kids.push_back(r);
    std::sort(kids.begin(), kids.end(), [](auto& a, auto& b) { return a.position < b.position; });
    out.insert(out.end(), kids.begin(), kids.end());
  }
  return out;
}

caf::expected<task_id> engine::supervised_task(std::string_view supervisor, std::string_view child) const {
  auto& st = *impl_->core->supervisors;
  std::lock_guard guard{st.mx};
  auto i = st.sups.find(supervisor);
  if (i == st.sups.end())
    return make_error(errc::unknown_supervisor,
                      "no supervisor '" + std::string{supervisor} + "' in this engine");
  auto k = i->second.children.find(std::string{child});
  if (k == i->second.children.end() || k->second.task == 0)
    return supervision::make_error(supervision::errc::invalid_spec,
                                   "supervisor '" + std::string{supervisor} + "' has no task child '" +
                                     std::string{child} + "'");
  return task_id{k->second.task};
}

std::vector<std::string> engine::supervision_log(std::string_view name) const {
  auto& st = *impl_->core->supervisors;
  std::lock_guard guard{st.mx};
  auto i = st.sups.find(name);
  return i == st.sups.end() ? std::vector<std::string>{} : i->second.log;
}

bool engine::await_supervision(std::string_view name,
                               const std::function<bool(const std::vector<std::string>&)>& done,
                               std::chrono::milliseconds timeout) {
  auto& st = *impl_->core->supervisors;
  std::unique_lock guard{st.mx};
  return st.cv.wait_for(guard, timeout, [&] {
    auto i = st.sups.find(name);
    return done(i == st.sups.end() ? std::vector<std::string>{} : i->second.log);
  });
}

caf::expected<void> engine::cancel(task_id id) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  // A root running here is known at once (its row may still be on its way to the journal).
  bool running_here = false;
  if (auto entry = c.completions.find(id)) {
    std::lock_guard guard{entry->mx};
    running_here = !entry->done;
  }
  if (c.journal && !running_here) {
    auto rec = c.journal->find_task(id.value());
    if (!rec)
      return std::move(rec.error());
    if (!*rec)
      return make_error(errc::unknown_task, "no task " + to_string(id) + " in journal '" +
                                              c.journal->path() + "'");
    const auto& r = **rec;
    auto name = "task " + to_string(id) + " (" + r.function + "@" + r.version + ")";
    if (r.parent != 0)
      return make_error(errc::not_running, name + " is a call inside the tree of task " +
                                             to_string(task_id{r.root}) + ": cancel that root");
    if (r.status != eventlog::task_status::running)
      return make_error(errc::not_running,
                        name + " has already ended (" + std::string{eventlog::to_string(r.status)} + ")");
  }
  if (c.journal) {
    // Kept in the journal: an engine in another process that runs or resumes the task stops it too.
    c.journal->request_cancel(id.value());
    if (auto err = c.journal->flush())
      return make_error(errc::journal_failure, "the cancel request could not be journaled: " + describe(err));
    c.cancel_running(id);
    return caf::unit;
  }
  if (!c.cancel_running(id))
    return make_error(errc::not_running, "task " + to_string(id) + " is not running in this engine");
  return caf::unit;
}

caf::expected<replay_report> engine::replay(task_id id, const replay_options& opts) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  if (!c.journal)
    return make_error(errc::invalid_configuration,
                      "replay reads the journal, and journaling is off");
  auto rec = detail::read_recording(*c.journal, id.value());
  if (!rec)
    return std::move(rec.error());
  return c.replay(std::move(*rec), opts);
}

std::vector<divergence> engine::divergences(std::string_view fn, std::size_t limit) const {
  if (impl_->status || !impl_->core->journal)
    return {};
  auto& c = *impl_->core;
  auto found = c.journal->divergences(fn, limit);
  if (!found) {
    c.log->error("cannot read divergences: {}", describe(found.error()));
    return {};
  }
  return std::move(*found);
}

std::vector<shadow_counts> engine::shadow_stats() const {
  std::vector<shadow_counts> out;
  if (!impl_->core)
    return out;
  return impl_->core->shadows.totals();
}

void engine::drain() {
  if (!impl_->core)
    return;
  auto& c = *impl_->core;
  c.work.wait_idle();
}

caf::expected<void> engine::set_policy(std::string_view fn, routing_policy p) {
  if (impl_->status)
    return impl_->status;
  auto& c = *impl_->core;
  if (auto err = routing_table::check(c.routes, fn, p))
    return from_router(err);
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
  if (auto err = routing_table::check(c.routes, fn, policy::primary(std::string{version})))
    return from_router(err);
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

engine_stats engine::stats() const {
  auto& s = impl_->core->stats;
  engine_stats out;
  out.started = s.started.load();
  out.resumed = s.resumed.load();
  out.completed = s.completed.load();
  out.failed = s.failed.load();
  out.effects_executed = s.effects_executed.load();
  out.effects_replayed = s.effects_replayed.load();
  out.waiting = impl_->core->admitted.waiting();
  {
    std::lock_guard guard{impl_->file_mx};
    out.routing_file_refusals = impl_->refusals;
  }
  if (auto& j = impl_->core->journal) {
    auto js = j->stats();
    out.journal_appends = js.appends;
    out.journal_commits = js.commits;
    out.journal_commit_ns = js.commit_ns;
  }
  return out;
}

eventlog::journal* engine::journal() noexcept {
  return impl_->core ? impl_->core->journal.get() : nullptr;
}

const router& engine::routes() const noexcept {
  return impl_->core->routes;
}

} // namespace actors
