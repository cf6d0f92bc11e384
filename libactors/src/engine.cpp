#include "actors/engine.hpp"
#include "tell.hpp"

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
#include "clock.hpp"
#include "engine_core.hpp"
#include "lean_scheduler.hpp"
#include "messages.hpp"
#include "task_actor.hpp"
#include "supervisor.hpp"
#include "task_runtime.hpp"

namespace actors {

namespace detail {

/// Router errors become engine errors with the same message.
caf::error from_router(const caf::error& err) {
  if (err.category() != caf::atom("router"))
    return err;
  auto msg = describe(err);
  if (auto pos = msg.find(": "); pos != std::string::npos)
    msg = msg.substr(pos + 2);
  switch (static_cast<router_errc>(err.code())) {
    case router_errc::unknown_function: return make_error(errc::unknown_function, msg);
    case router_errc::unknown_version: return make_error(errc::unknown_version, msg);
    case router_errc::invalid_name: return make_error(errc::bad_input, msg);
    default: return make_error(errc::invalid_configuration, msg);
  }
}

namespace {

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

} // namespace

task_id engine_core::new_id() noexcept {
  auto ms = static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
  auto floor = ms << 20;
  auto prev = last_id.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    next = std::max(prev + 1, floor);
  } while (!last_id.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  return task_id{next};
}

std::uint64_t engine_core::new_seed() noexcept {
  return splitmix64(seed_state.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed));
}

namespace {

/// Puts every thread of an actor system at SCHED_IDLE (runs only when no other thread wants the CPU).
class idle_priority_hook : public caf::thread_hook {
public:
  void init(caf::actor_system&) override {}
  void thread_started() override {
    sched_param param{};
    param.sched_priority = 0;
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &param); // unprivileged; failure just means normal
  }
  void thread_terminates() override {}
};

} // namespace

caf::actor_system& engine_core::shadow_actors() {
  std::call_once(shadow_system_once, [this] {
    shadow_system_cfg = std::make_unique<caf::actor_system_config>();
    shadow_system_cfg->set("scheduler.max-threads", std::max<std::size_t>(1, cfg.shadow_threads));
    shadow_system_cfg->set("scheduler.policy", caf::atom("sharing"));
    detail::use_lean_scheduler(*shadow_system_cfg, false);
    if (cfg.shadow_idle_priority)
      shadow_system_cfg->add_thread_hook<idle_priority_hook>();
    keeping_thread_logger(
      [this] { shadow_system = std::make_unique<caf::actor_system>(*shadow_system_cfg); });
  });
  return *shadow_system;
}

caf::actor engine_core::spawn(std::unique_ptr<task_runtime> rt, bool counted) {
  if (!counted)
    in_flight.fetch_add(1, std::memory_order_relaxed);
  auto& target = rt->in_background_session() ? shadow_actors() : *system;
  if (!rt->in_session())
    stats.started.fetch_add(1, std::memory_order_relaxed);
  caf::actor a;
  keeping_thread_logger([&] { a = target.spawn<task_actor>(std::move(rt)); });
  return a;
}

caf::actor engine_core::admit(std::unique_ptr<task_runtime> rt) {
  if (cfg.max_running_tasks > 0) {
    std::lock_guard guard{admission.mx};
    if (admission.running >= cfg.max_running_tasks) {
      in_flight.fetch_add(1, std::memory_order_relaxed); // drain() waits for it too
      admission.waiting.push_back(std::move(rt));
      return {};
    }
    ++admission.running;
    rt->hold_place();
  }
  return spawn(std::move(rt));
}

namespace {

/// Spawns a task that waited for admission and names its actor in its completion entry.
void spawn_admitted(engine_core& core, std::unique_ptr<task_runtime> rt) {
  auto entry = rt->completion_entry();
  auto actor = core.spawn(std::move(rt), true);
  if (entry)
    core.name_actor(*entry, actor);
}

} // namespace

void engine_core::release_place(bool pass_on) {
  std::unique_lock guard{admission.mx};
  if (!pass_on || admission.waiting.empty() || admission.running > cfg.max_running_tasks) {
    --admission.running;
    return;
  }
  auto next = std::move(admission.waiting.front()); // takes over the place
  admission.waiting.pop_front();
  next->hold_place();
  guard.unlock();
  spawn_admitted(*this, std::move(next));
}

void engine_core::retake_place() {
  std::lock_guard guard{admission.mx};
  ++admission.running;
}

bool engine_core::admit_now(task_id id) {
  std::unique_lock guard{admission.mx};
  auto i = std::find_if(admission.waiting.begin(), admission.waiting.end(),
                        [&](const auto& rt) { return rt->id() == id; });
  if (i == admission.waiting.end())
    return false;
  auto rt = std::move(*i);
  admission.waiting.erase(i);
  ++admission.running;
  rt->hold_place();
  rt->cancel_at_start();
  guard.unlock();
  spawn_admitted(*this, std::move(rt));
  return true;
}

caf::error engine_core::claim_journal(engine_lock::purpose why) {
  if (journal_claimed.load(std::memory_order_acquire))
    return {};
  std::lock_guard guard{claim_mx};
  if (journal_claimed.load(std::memory_order_relaxed))
    return {};
  if (cfg.journal_enabled) {
    auto lock = engine_lock::acquire(cfg.journal, cfg.journal_vfs, why);
    if (!lock)
      return std::move(lock.error()); // retried at the next start: the other engine may stop
    owner_lock = std::move(*lock);
  }
  journal_claimed.store(true, std::memory_order_release);
  return {};
}

caf::expected<engine_core::prepared_root>
engine_core::prepare_root(std::string_view fn, std::string_view pinned, const erased_input& in,
                          std::string_view key) {
  if (journal) {
    if (auto err = journal->failure())
      return make_error(errc::journal_failure,
                        "the engine takes no new tasks: the journal failed: " + describe(err));
  }
  auto root = new_id().value(); // a root task's tree is rooted at itself: percent needs its id
  auto route_to = route(fn, root, pinned);
  if (!route_to)
    return from_router(route_to.error());
  const auto& entry = *route_to->entry;
  auto inv = std::static_pointer_cast<const invoker>(entry.impl);
  auto bytes = in.encode(in.value, inv->input_type());
  if (!bytes)
    return make_error(errc::wrong_input_type,
                      "function '" + entry.name + "' version '" + entry.version + "' takes " +
                        inv->input_type_name() + ", not " + type_name(*in.type));
  prepared_root p;
  auto& rec = p.rec;
  rec.id = root;
  rec.root = rec.id;
  rec.function = entry.name;
  rec.version = entry.version;
  rec.input_type = inv->input_type_name();
  rec.created = now_ns();
  rec.route = describe(*route_to);
  rec.start_key = key;
  p.fn = std::move(inv);
  p.entry = &entry;
  p.input = std::move(*bytes);
  p.text = in.render(in.value);
  if (journal) // a shadow run needs the primary's journal
    p.shadow = route_to->shadow;
  return p;
}

std::pair<task_id, caf::actor>
engine_core::launch_root(prepared_root p, bool supervised, eventlog::lsn* created_lsn,
                         const std::function<void(task_id)>& before_journal) {
  auto id = task_id{p.rec.id};
  if (before_journal)
    before_journal(id);
  eventlog::lsn created = 0;
  if (journal)
    created = journal->append_task(p.rec, p.input, std::move(p.text));
  if (created_lsn != nullptr)
    *created_lsn = created;
  auto completion = completions.create(id, p.entry);
  completion->supervised = supervised; // before it runs: not even its first end escapes its supervisor
  task_runtime::setup s;
  s.rec = std::move(p.rec);
  s.fn = std::move(p.fn);
  s.entry = p.entry;
  s.input = std::move(p.input);
  s.created_lsn = created;
  s.entry_state = completion;
  s.shadow = p.shadow;
  auto rt = std::make_unique<task_runtime>(*this, std::move(s));
  // engine::start's tasks wait for a place (max_running_tasks); a supervisor's children do not.
  auto actor = supervised ? spawn(std::move(rt)) : admit(std::move(rt));
  if (actor)
    name_actor(*completion, actor); // for engine::cancel; a waiting task's when it spawns
  return {id, std::move(actor)};
}

caf::expected<std::pair<task_id, caf::actor>>
engine_core::start_root(std::string_view fn, std::string_view pinned, const erased_input& in,
                        bool supervised, std::string_view key, eventlog::lsn* created_lsn,
                        const std::function<void(task_id)>& before_journal) {
  auto p = prepare_root(fn, pinned, in, key);
  if (!p)
    return std::move(p.error());
  return launch_root(std::move(*p), supervised, created_lsn, before_journal);
}

caf::error engine_core::await_durable(eventlog::lsn n, const std::function<std::string()>& what) {
  if (!journal || n == 0)
    return {};
  if (auto err = journal->await_durable(n))
    return make_error(errc::journal_failure, what() + " is not acknowledged: journal '" +
                                               journal->path() + "': " + describe(err));
  return {};
}

namespace {

/// The task (id, function) that start key `key` names in `j`, if any. Errors: journal_failure.
caf::expected<std::optional<std::pair<task_id, std::string>>>
journaled_start_key(eventlog::journal& j, std::string_view key) {
  auto found = j.find_start_key(key);
  if (!found)
    return make_error(errc::journal_failure, "cannot look up start key '" + std::string{key} +
                                               "': " + describe(found.error()));
  if (!*found)
    return std::nullopt;
  auto rec = j.find_task(**found);
  if (!rec)
    return make_error(errc::journal_failure, "cannot read the task of start key '" + std::string{key} +
                                               "': " + describe(rec.error()));
  if (!*rec)
    return make_error(errc::journal_failure, "start key '" + std::string{key} + "' names task " +
                                               to_string(task_id{**found}) +
                                               ", which the journal does not have");
  return std::make_pair(task_id{**found}, std::move((*rec)->function));
}

} // namespace

caf::expected<task_id> engine_core::start_keyed(std::string_view key, std::string_view fn,
                                                std::string_view pinned, const erased_input& in) {
  auto conflict = [&](task_id id, const std::string& function) {
    return make_error(errc::start_key_conflict,
                      "start key '" + std::string{key} + "' belongs to task " + to_string(id) + " of '" +
                        function + "', not to a start of '" + std::string{fn} + "'");
  };
  eventlog::lsn created = 0;
  task_id id;
  bool fresh = false;
  {
    std::lock_guard guard{start_keys_mx};
    if (auto i = start_keys.find(std::string{key}); i != start_keys.end()) {
      if (i->second.function != fn)
        return conflict(i->second.id, i->second.function);
      // Started by an earlier call whose row may not be durable yet: acknowledged once it is.
      id = i->second.id;
      created = i->second.created;
    } else {
      if (journal) {
        auto found = journaled_start_key(*journal, key);
        if (!found)
          return std::move(found.error());
        if (*found) { // in the journal, so durable
          if ((*found)->second != fn)
            return conflict((*found)->first, (*found)->second);
          return (*found)->first;
        }
      }
      auto started = start_root(fn, pinned, in, false, key, &created);
      if (!started)
        return std::move(started.error());
      id = started->first;
      fresh = true;
      start_keys.emplace(std::string{key}, keyed_start{id, std::string{fn}, created});
    }
  }
  // Once the task row (and its key) is durable, the journal answers for the key. Registered outside
  // the lock: the callback may run inline.
  if (journal && fresh)
    journal->when_durable(created, [this, k = std::string{key}](const caf::error& err) {
      if (err)
        return; // the journal failed: the engine takes no new tasks; the entry stays
      std::lock_guard guard{start_keys_mx};
      start_keys.erase(k);
    });
  if (auto err = await_durable(created, [&] {
        return "task " + to_string(id) + " of '" + std::string{fn} + "' (start key '" +
               std::string{key} + "')";
      }))
    return err;
  return id;
}

engine_core::engine_core() : supervisors(std::make_unique<supervision_state>()) {}

engine_core::~engine_core() {
  shutdown();
}

void engine_core::shutdown() noexcept {
  // The journal's writer calls into the pool (the commit listener): cut that before the pool goes.
  if (journal)
    journal->set_commit_listener({});
  // Effect handlers still running finish here; they may append to the journal, which is still open.
  pool.reset();
  system.reset();
  shadow_system.reset();
  // Last: its final commit calls only what is still alive (start keys' when_durable callbacks).
  if (journal) {
    if (auto err = journal->flush(); err && log)
      log->error("journal flush at shutdown failed: {}", describe(err));
    journal.reset();
  }
}

bool engine_core::task_alive(std::uint64_t id) {
  if (auto c = completions.find(task_id{id})) {
    std::lock_guard guard{c->mx};
    if (!c->done)
      return true;
  }
  if (supervised(id) || mail.has(id))
    return true;
  if (!journal)
    return false;
  auto rec = journal->find_task(id);
  return rec && *rec && (**rec).status == eventlog::task_status::running;
}

caf::error engine_core::check_known_task(task_id id) {
  if (completions.find(id)) // this engine's (its row may not be committed yet)
    return {};
  if (journal) {
    auto rec = journal->find_task(id.value());
    if (!rec)
      return make_error(errc::journal_failure,
                        "cannot read task " + to_string(id) + ": " + describe(rec.error()));
    if (!*rec)
      return make_error(errc::unknown_task,
                        "no task " + to_string(id) + " in journal '" + journal->path() + "'");
    return {};
  }
  return make_error(errc::unknown_task, "no task " + to_string(id) + " in this engine");
}

void engine_core::leave() noexcept {
  if (in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    std::lock_guard guard{drain_mx};
    drain_cv.notify_all();
  }
}

void engine_core::finished(task_id id, outcome out, const caf::actor& parent,
                           std::uint32_t parent_seq, completion* entry) {
  switch (out.state) {
    case outcome_state::completed:
      stats.completed.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      stats.failed.fetch_add(1, std::memory_order_relaxed);
  }
  if (parent)
    tell(parent, call_done_atom::value, parent_seq, static_cast<std::uint8_t>(out.state),
                   std::move(out.payload), std::move(out.text), std::move(out.error));
  else
    completions.complete(id, std::move(out), entry);
  leave();
}

void engine_core::name_actor(completion& entry, const caf::actor& actor) {
  if (entry.set_actor(actor.address()))
    tell(actor, cancel_atom::value);
}

bool engine_core::cancel_running(task_id id) {
  auto c = completions.find(id);
  if (!c)
    return false;
  caf::actor a;
  {
    std::lock_guard guard{c->mx};
    if (c->done)
      return false;
    a = caf::actor_cast<caf::actor>(c->actor);
    if (!a) {
      if (c->exited) // it ran and quit; its end is on its way
        return false;
      c->cancel_pending = true; // sent by name_actor when it gets an actor
    }
  }
  if (a) {
    tell(a, cancel_atom::value);
    return true;
  }
  admit_now(id); // waiting for a place: it runs now, to be cancelled (else it is being spawned)
  return true;
}

bool engine_core::poll_cancel_requests() {
  if (!journal)
    return false;
  auto version = journal->cancels_version();
  if (!version)
    return false;
  {
    std::lock_guard guard{routing_mx};
    if (*version == cancels_version)
      return false;
    cancels_version = *version;
  }
  auto ids = journal->cancel_requests();
  if (!ids) {
    log->error("cannot read cancel requests: {}", describe(ids.error()));
    return false;
  }
  for (auto id : *ids)
    cancel_running(task_id{id}); // ended or elsewhere: nothing to do here
  return true;
}

} // namespace detail

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
  c.set_file_policies(std::move(*policies));
  guard.unlock();
  bump_routing_generation();
  return caf::unit;
}

engine::engine(engine_config cfg, const router& routes, const effects& fx)
  : impl_(std::make_unique<impl>()) {
  impl_->core = std::make_unique<detail::engine_core>();
  auto& core = *impl_->core;
  core.cfg = std::move(cfg);
  core.routes = routes;
  core.fx = fx;
  core.log = make_logger("actors", core.cfg.log_level);
  core.task_log = make_logger("task", core.cfg.log_level);
  core.seed_state = std::random_device{}() ^
                    (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                    static_cast<std::uint64_t>(detail::now_ns());
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
    c.owner_lock.remove_created_journal(); // a failed open leaves no file the lock created
    return std::move(j.error());
  }
  c.journal = std::move(*j);
  // Finished outcomes can be read back from the journal: keep only a window of them in memory.
  c.completions.set_retain_bound(65536);
  // New ids must stay above every journaled one, whatever the clock did since.
  auto max_id = c.journal->max_task_id();
  if (!max_id)
    return std::move(max_id.error());
  c.last_id = *max_id;
  // Message ids come from the same counter: above every journaled one too.
  if (auto max_msg = c.journal->max_message_id(); max_msg && *max_msg > c.last_id)
    c.last_id = *max_msg;
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
  c.poll_runtime_routes(); // routes set at run time, by this or an earlier engine or the CLI
  if (c.journal)           // requests seen from now on are new
    if (auto v = c.journal->cancels_version())
      c.cancels_version = *v;
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
        if (c.poll_runtime_routes()) {
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
    std::unique_lock guard{c.drain_mx}; // drain()
    c.drain_cv.wait(guard, [&] { return c.in_flight.load(std::memory_order_acquire) == 0; });
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
    return c.start_keyed(key, fn, pinned, input);
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
  m.id = c.new_id().value();
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
  detail::spawn_supervisor(c, std::make_shared<const supervision::supervisor_spec>(spec), "",
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
  auto& c = *impl_->core;
  std::lock_guard guard{c.shadow_mx};
  for (const auto& [key, counts] : c.shadow_totals)
    out.push_back(counts);
  return out;
}

void engine::drain() {
  if (!impl_->core)
    return;
  auto& c = *impl_->core;
  std::unique_lock guard{c.drain_mx};
  c.drain_cv.wait(guard, [&] { return c.in_flight.load(std::memory_order_acquire) == 0; });
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
  if (auto err = c.change_runtime_route(std::move(r), false))
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
  if (auto err = c.change_runtime_route({std::string{fn}, 0, {}, {}, {}, 0, 0}, true))
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
  if (auto err = c.change_runtime_route(std::move(r), false))
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
    for (const auto& [key, version] : c.routing.load()->overrides())
      if (key.first == root.value())
        functions.push_back(key.second);
  } else {
    functions.emplace_back(fn);
  }
  for (auto& f : functions)
    if (auto err = c.change_runtime_route({f, root.value(), {}, {}, {}, 0, 0}, true))
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
  return *impl_->core->routing.load();
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
  {
    std::lock_guard guard{impl_->core->admission.mx};
    out.waiting = impl_->core->admission.waiting.size();
  }
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
