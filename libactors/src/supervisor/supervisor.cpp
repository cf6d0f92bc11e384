#include "supervisor/supervisor.hpp"
#include "runtime/tell.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "actors/eventlog/journal.hpp"
#include "runtime/clock.hpp"
#include "supervisor/supervisor_host.hpp"
#include "task/messages.hpp"

namespace actors::detail {

namespace {

using supervision::child_spec;
using supervision::restart_type;
using supervision::strategy;
using supervision::supervisor_spec;
using steady = std::chrono::steady_clock;

/// (sup_restart_atom, uint64 generation): the back-off before a pending restart is over.
using sup_restart_atom = caf::atom_constant<caf::atom("suprestart")>;
/// (sup_stop_timeout_atom, uint64 stop generation): a child did not stop within its shutdown timeout.
using sup_stop_timeout_atom = caf::atom_constant<caf::atom("supstopto")>;
/// (sup_started_atom, uint64 child index, string error or empty): a nested supervisor has started.
using sup_started_atom = caf::atom_constant<caf::atom("supstarted")>;
/// (sup_stop_atom): stop the children in reverse start order, then quit normally.
using sup_stop_atom = caf::atom_constant<caf::atom("supstop")>;
/// (sup_failed_atom, uint64 child index, string why): a child could not be (re)started.
using sup_failed_atom = caf::atom_constant<caf::atom("supfailed")>;

class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, supervisor_host& core,
                   std::shared_ptr<const supervisor_spec> spec, std::string parent,
                   std::function<void(const caf::error&)> started)
    : caf::event_based_actor(cfg),
      core_(core),
      spec_(std::move(spec)),
      parent_(std::move(parent)),
      started_(std::move(started)),
      intensity_(spec_->flags.intensity, spec_->flags.period),
      rng_(core.seed()) {
    children_.resize(spec_->children.size());
    for (std::size_t i = 0; i < children_.size(); ++i)
      children_[i].spec = &spec_->children[i];
  }

  const char* name() const override { return "actors.supervisor"; }

  resume_result resume(caf::execution_unit* eu, std::size_t max_throughput) override {
    return ordered_step(this, [&] { return caf::event_based_actor::resume(eu, max_throughput); });
  }

  void initialize() override {
    ordered_step(this, [&] { caf::event_based_actor::initialize(); });
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    return ordered_step(this, [&] { return caf::event_based_actor::consume(x); });
  }

  caf::behavior make_behavior() override {
    set_down_handler([this](caf::down_msg& m) {
      on_end_of(m.source);
      on_down(m.source, m.reason);
    });
    publish_self("starting");
    for (std::size_t i = 0; i < children_.size(); ++i)
      start_child(i, false);
    starting_ = false;
    maybe_report_started();
    return {
      [this](sup_started_atom, std::uint64_t index, std::string& err) {
          --nested_pending_;
        if (!err.empty() && !start_error_)
          start_error_ = supervision::make_error(supervision::errc::invalid_spec, err);
        (void)index;
        maybe_report_started();
      },
      [this](sup_failed_atom, std::uint64_t index, std::string& why) {
          handle_end(static_cast<std::size_t>(index), false, why);
      },
      [this](sup_restart_atom, std::uint64_t generation) {
          if (generation == restart_generation_ && !pending_restart_.empty())
          restart_batch();
      },
      [this](sup_stop_timeout_atom, std::uint64_t generation) {
          if (generation != stop_generation_ || stopping_index_ < 0)
          return;
        auto& c = children_[static_cast<std::size_t>(stopping_index_)];
        note("child " + c.spec->id + " did not stop within " +
             std::to_string(c.spec->shutdown.timeout.count()) + " ms: detached");
        if (c.actor)
          tell(c.actor, detach_atom::value);
      },
      [this](sup_stop_atom) {
          shut_down(caf::error{}, "stopped");
      },
      [this](detach_atom) {
          detach_all();
      },
    };
  }

private:
  enum class child_state { idle, running, stopping, restarting, ended };

  struct child {
    const child_spec* spec = nullptr;
    std::uint64_t task = 0;
    caf::actor actor;
    child_state state = child_state::idle;
    unsigned attempts = 0;    ///< consecutive restarts (back-off)
    std::uint32_t restarts = 0;
    std::string last_end;
    steady::time_point started_at;
  };

  static std::string_view state_name(child_state s) {
    switch (s) {
      case child_state::idle: return "idle";
      case child_state::running: return "running";
      case child_state::stopping: return "stopping";
      case child_state::restarting: return "restarting";
      case child_state::ended: return "ended";
    }
    return "unknown";
  }

  // --- starting --------------------------------------------------------------------------------

  void start_child(std::size_t i, bool restart) {
    auto& c = children_[i];
    if (c.spec->supervisor) {
      ++nested_pending_;
      auto self = caf::actor_cast<caf::actor>(this);
      auto started = [self, i](const caf::error& err) {
        tell(self, sup_started_atom::value, static_cast<std::uint64_t>(i),
                       err ? describe(err) : std::string{});
      };
      c.actor = spawn_supervisor(core_, c.spec->supervisor, spec_->name, std::move(started));
      monitor(c.actor);
      c.state = child_state::running;
      c.started_at = steady::now();
      note((restart ? "restarted supervisor " : "started supervisor ") + c.spec->supervisor->name +
           " as child " + c.spec->id);
      publish(c, i);
      return;
    }
    auto known = known_task(c.spec->id);
    if (c.task == 0 && known != 0) {
      c.task = known;
      // Resumed at start-up from an earlier engine's journal: take it over as it runs.
      if (auto a = core_.take_over(task_id{known})) {
        running(c, i, a, "took over " + c.spec->id + " (task " + to_string(task_id{known}) +
                           ", resumed from the journal)");
        return;
      }
      restart = true; // ended before: restart it under its id
      if (auto* journal = core_.journal()) {
        // Linked, but the engine stopped before the child's own row was durable: it never ran.
        auto rec = journal->find_task(known);
        if (rec && !*rec) {
          c.task = 0;
          restart = false;
        }
      }
    }
    if (restart && c.task != 0 && core_.journal()) {
      auto a = core_.restart_child(task_id{c.task}, c.spec->fresh_start,
                                  "restarted by supervisor " + spec_->name);
      if (!a) {
        fail_later(i, describe(a.error()));
        return;
      }
      ++c.restarts;
      running(c, i, a->actor,
              "restarted " + c.spec->id + " (task " + to_string(task_id{c.task}) + ", " +
                (a->fresh ? "fresh start" : "resumed from its journal") + ")");
      return;
    }
    // The child's row in the supervision table names its task before the task row is appended: a
    // crash between the two must not leave a durable child task that no supervisor knows (the next
    // engine would resume it as an orphan, and start another in its place).
    auto link = [&](task_id id) {
      c.task = id.value();
      remember_task(c.spec->id, c.task);
      publish(c, i);
    };
    auto started = core_.start_child(*c.spec, link);
    if (!started) {
      fail_later(i, describe(started.error()));
      return;
    }
    if (restart)
      ++c.restarts;
    running(c, i, started->second,
            std::string{restart ? "restarted " : "started "} + c.spec->id + " as task " +
              to_string(started->first) + (restart ? " (no journal: a fresh task)" : ""));
  }

  void running(child& c, std::size_t i, caf::actor a, std::string line) {
    c.actor = std::move(a);
    monitor(c.actor);
    c.state = child_state::running;
    c.started_at = steady::now();
    publish(c, i); // before the log line: whoever waits for the line sees the row too
    note(std::move(line));
  }

  /// A (re)start failed: handled as the child's abnormal end, from the mailbox (no recursion).
  void fail_later(std::size_t i, std::string why) {
    auto& c = children_[i];
    c.state = child_state::running; // it "ran" and failed at once
    c.started_at = steady::now();
    note("could not start " + c.spec->id + ": " + why);
    if (starting_ && !start_error_)
      start_error_ = make_error(errc::task_failed, "supervisor " + spec_->name + ": could not start " +
                                                     c.spec->id + ": " + why);
    anon_send(this, sup_failed_atom::value, static_cast<std::uint64_t>(i), std::move(why));
  }

  void maybe_report_started() {
    if (starting_ || nested_pending_ > 0 || !started_)
      return;
    publish_self("running");
    auto cb = std::exchange(started_, nullptr);
    cb(start_error_);
  }

  // --- ends --------------------------------------------------------------------------------------

  void on_down(const caf::actor_addr& source, const caf::error& reason) {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      auto& c = children_[i];
      if (c.actor && c.actor.address() == source) {
        c.actor = nullptr;
        auto why = reason ? describe(reason) : std::string{"ended normally"};
        if (c.state == child_state::stopping) {
          c.state = child_state::ended;
          c.last_end = "stopped";
          note("stopped " + c.spec->id);
          publish(c, i);
          stop_next();
          return;
        }
        handle_end(i, !reason, std::move(why));
        return;
      }
    }
  }

  /// Child `i` ended: logs it and decides. `logged`: the end was logged already, when it came during
  /// a stop sequence or a back-off and was deferred (run_deferred): one line per end, not two.
  void handle_end(std::size_t i, bool normal, std::string why, bool logged = false) {
    auto& c = children_[i];
    c.last_end = why;
    // The row is published before the log line: whoever waits for the line sees the row too.
    auto line = c.spec->id + (normal ? " ended normally" : " failed: " + why);
    auto log_end = [&] {
      if (!logged)
        note(std::move(line));
    };
    if (busy()) { // a stop sequence or a pending restart: decide after it
      c.state = child_state::ended;
      publish(c, i);
      log_end();
      deferred_.emplace_back(i, normal, std::move(why));
      return;
    }
    bool restart = c.spec->restart == restart_type::permanent ||
                   (c.spec->restart == restart_type::transient && !normal);
    if (!restart || shutting_down_) {
      c.state = child_state::ended;
      release(c);
      publish(c, i);
      log_end();
      return;
    }
    log_end();
    if (!intensity_.record(steady::now())) {
      escalate(fmt::format("reached its restart intensity ({} restarts within {} ms) when {} {}",
                           spec_->flags.intensity, spec_->flags.period.count(), c.spec->id,
                           normal ? "ended" : "failed"));
      return;
    }
    if (steady::now() - c.started_at > spec_->flags.period)
      c.attempts = 0; // it ran a whole period since its last restart: back-off starts over
    ++c.attempts;
    std::uniform_real_distribution<double> unit{0.0, 1.0};
    auto delay = supervision::backoff_delay(spec_->flags.backoff, c.attempts, unit(rng_));
    // What restarts with it, by strategy; temporary siblings are stopped but never restarted.
    std::vector<std::size_t> targets;
    for (std::size_t j = 0; j < children_.size(); ++j) {
      bool in = j == i || (spec_->flags.strategy == strategy::one_for_all) ||
                (spec_->flags.strategy == strategy::rest_for_one && j > i);
      if (in)
        targets.push_back(j);
    }
    c.state = child_state::restarting;
    publish(c, i);
    std::vector<std::string> names;
    for (auto j : targets)
      if (j == i || children_[j].spec->restart != restart_type::temporary)
        names.push_back(children_[j].spec->id);
    note(fmt::format("restarting {} ({}) in {} ms, attempt {}", fmt::join(names, ", "),
                     supervision::to_string(spec_->flags.strategy), delay.count(), c.attempts));
    pending_restart_.clear();
    for (auto j : targets)
      if (j == i || children_[j].spec->restart != restart_type::temporary)
        pending_restart_.push_back(j);
    // Stop the others that run, in reverse start order, then restart in start order.
    std::vector<std::size_t> stops;
    for (auto j = targets.rbegin(); j != targets.rend(); ++j)
      if (*j != i && children_[*j].actor)
        stops.push_back(*j);
    stop_sequence(std::move(stops), [this, delay] {
      if (delay.count() > 0)
        delayed_send(this, delay, sup_restart_atom::value, ++restart_generation_);
      else
        restart_batch();
    });
  }

  void restart_batch() {
    auto batch = std::exchange(pending_restart_, {});
    ++restart_generation_;
    for (auto j : batch) {
      auto& c = children_[j];
      if (c.actor) // still running (it was not in the stop sequence: never happens) — leave it
        continue;
      start_child(j, true);
    }
    // Temporary children stopped for the batch stay ended.
    for (auto& c : children_)
      if (c.state == child_state::stopping || (c.state == child_state::ended && !c.actor &&
                                               c.spec->restart == restart_type::temporary))
        release(c);
    run_deferred();
  }

  void run_deferred() {
    while (!busy() && !deferred_.empty()) {
      auto [i, normal, why] = deferred_.front();
      deferred_.erase(deferred_.begin());
      if (children_[i].actor) // restarted by the batch meanwhile
        continue;
      handle_end(i, normal, why, true);
    }
  }

  bool busy() const { return stopping_index_ >= 0 || !stop_queue_.empty() || !pending_restart_.empty(); }

  // --- stopping ----------------------------------------------------------------------------------

  void stop_sequence(std::vector<std::size_t> order, std::function<void()> then) {
    stop_queue_ = std::move(order);
    after_stops_ = std::move(then);
    stop_next();
  }

  void stop_next() {
    stopping_index_ = -1;
    while (!stop_queue_.empty()) {
      auto i = stop_queue_.front();
      stop_queue_.erase(stop_queue_.begin());
      auto& c = children_[i];
      if (!c.actor)
        continue;
      stopping_index_ = static_cast<int>(i);
      c.state = child_state::stopping;
      publish(c, i);
      if (c.spec->supervisor) {
        tell(c.actor, sup_stop_atom::value);
      } else {
        if (c.spec->shutdown.kill) { // brutal kill: end it now, whatever it waits for
          tell(c.actor, cancel_atom::value);
          tell(c.actor, detach_atom::value);
        } else { // let a running effect finish and journal its result first
          tell(c.actor, stop_atom::value);
        }
      }
      if (!c.spec->shutdown.kill)
        delayed_send(this, c.spec->shutdown.timeout, sup_stop_timeout_atom::value,
                     ++stop_generation_);
      return;
    }
    if (auto then = std::exchange(after_stops_, nullptr))
      then();
  }

  void stop_all(std::function<void()> then) {
    std::vector<std::size_t> order;
    for (auto i = children_.size(); i-- > 0;)
      if (children_[i].actor)
        order.push_back(i);
    pending_restart_.clear();
    ++restart_generation_;
    stop_sequence(std::move(order), std::move(then));
  }

  void escalate(std::string why) {
    note("escalating: " + why);
    shut_down(supervision::make_error(supervision::errc::escalated,
                                      "supervisor " + spec_->name + " " + why),
              parent_.empty() ? "failed" : "escalated");
  }

  void shut_down(caf::error reason, std::string state) {
    if (shutting_down_)
      return;
    shutting_down_ = true;
    deferred_.clear();
    stop_all([this, reason = std::move(reason), state = std::move(state)]() mutable {
      for (auto& c : children_)
        release(c);
      publish_self(state);
      note("supervisor " + state);
      finish();
      quit(std::move(reason));
    });
  }

  /// The engine shuts down: children stop without a journaled end and resume in the next engine.
  void detach_all() {
    shutting_down_ = true;
    for (auto& c : children_)
      release(c); // their ends (detached, or already held) reach whoever waits
    for (auto& c : children_)
      if (c.actor)
        tell(c.actor, detach_atom::value); // a nested supervisor detaches its own children
    note("detached (the engine stops)");
    publish_self("detached");
    finish();
    quit();
  }

  /// No longer restarted by this supervisor: its mailbox may close.
  void release(child& c) {
    if (c.task == 0 || c.spec->supervisor)
      return;
    core_.release_child(task_id{c.task}, static_cast<bool>(c.actor));
  }

  // --- bookkeeping -------------------------------------------------------------------------------

  std::uint64_t known_task(const std::string& child_id) {
    auto& st = core_.supervisors();
    std::lock_guard guard{st.mx};
    auto i = st.known.find({spec_->name, child_id});
    return i == st.known.end() ? 0 : i->second;
  }

  void remember_task(const std::string& child_id, std::uint64_t task) {
    auto& st = core_.supervisors();
    std::lock_guard guard{st.mx};
    st.known[{spec_->name, child_id}] = task;
  }

  void note(std::string line) {
    core_.log().info("supervisor {}: {}", spec_->name, line);
    auto& st = core_.supervisors();
    {
      std::lock_guard guard{st.mx};
      st.sups[spec_->name].log.push_back(std::move(line));
    }
    st.cv.notify_all();
  }

  void publish_self(std::string state) {
    eventlog::supervision_record r;
    r.supervisor = spec_->name;
    r.parent = parent_;
    r.kind = "supervisor";
    r.state = std::move(state);
    const auto& f = spec_->flags;
    r.detail = fmt::format("{}, intensity {} per {} ms{}", supervision::to_string(f.strategy),
                           f.intensity, f.period.count(),
                           f.backoff.enabled()
                             ? fmt::format(", back-off {}..{} ms x{}", f.backoff.initial.count(),
                                           f.backoff.max.count(), f.backoff.factor)
                             : std::string{});
    r.updated = now_ns();
    put(std::move(r));
  }

  void publish(const child& c, std::size_t i) {
    eventlog::supervision_record r;
    r.supervisor = spec_->name;
    r.child = c.spec->id;
    r.position = static_cast<int>(i);
    r.kind = c.spec->supervisor ? "supervisor" : "task";
    r.function = c.spec->supervisor ? c.spec->supervisor->name
                                    : c.spec->function + (c.spec->version.empty() ? "" : "@" + c.spec->version);
    r.task = c.task;
    r.state = std::string{state_name(c.state)};
    if (c.state == child_state::ended && !c.last_end.empty())
      r.state = c.last_end == "stopped" ? "stopped"
                : c.last_end == "ended normally" ? "completed" : "failed";
    r.restarts = c.restarts;
    r.detail = std::string{supervision::to_string(c.spec->restart)} +
               (c.last_end.empty() ? "" : "; last end: " + c.last_end);
    r.updated = now_ns();
    put(std::move(r));
  }

  void put(eventlog::supervision_record r) {
    if (auto* journal = core_.journal())
      journal->put_supervision(r);
    auto& st = core_.supervisors();
    {
      std::lock_guard guard{st.mx};
      auto& info = st.sups[spec_->name];
      info.parent = parent_;
      if (r.child.empty())
        info.self = std::move(r);
      else
        info.children[r.child] = std::move(r);
    }
    st.cv.notify_all();
  }

  void finish() {
    auto& st = core_.supervisors();
    {
      std::lock_guard guard{st.mx};
      auto& info = st.sups[spec_->name];
      info.ended = true;
      info.actor = nullptr;
    }
    st.cv.notify_all();
  }

  supervisor_host& core_;
  std::shared_ptr<const supervisor_spec> spec_;
  std::string parent_;
  std::function<void(const caf::error&)> started_;
  supervision::restart_intensity intensity_;
  std::mt19937_64 rng_;
  std::vector<child> children_;
  bool starting_ = true;
  int nested_pending_ = 0;
  caf::error start_error_;
  bool shutting_down_ = false;
  // a stop sequence in progress: the child being stopped, those after it, then what follows
  int stopping_index_ = -1;
  std::vector<std::size_t> stop_queue_;
  std::function<void()> after_stops_;
  std::uint64_t stop_generation_ = 0;
  // children to restart once the back-off is over
  std::vector<std::size_t> pending_restart_;
  std::uint64_t restart_generation_ = 0;
  std::vector<std::tuple<std::size_t, bool, std::string>> deferred_;
};

} // namespace

caf::actor spawn_supervisor(supervisor_host& core, std::shared_ptr<const supervisor_spec> spec,
                            std::string parent, std::function<void(const caf::error&)> started) {
  {
    auto& st = core.supervisors();
    std::lock_guard guard{st.mx};
    auto& info = st.sups[spec->name]; // a restarted supervisor keeps its log
    info.ended = false;
    info.actor = nullptr;
    info.parent = parent;
  }
  auto a = core.spawn_actor([&](caf::actor_system& sys) {
    return sys.spawn<supervisor_actor>(core, spec, std::move(parent), std::move(started));
  });
  {
    auto& st = core.supervisors();
    std::lock_guard guard{st.mx};
    auto& info = st.sups[spec->name];
    if (!info.ended)
      info.actor = a;
  }
  return a;
}

void stop_supervisor_actor(const caf::actor& a) {
  tell(a, sup_stop_atom::value);
}

void detach_supervisor_actor(const caf::actor& a) {
  tell(a, detach_atom::value);
}

} // namespace actors::detail
