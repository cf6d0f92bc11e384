#include "replay/shadow_runner.hpp"

#include <algorithm>
#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/thread_hook.hpp>
#include <pthread.h>
#include <sched.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/engine.hpp"
#include "runtime/clock.hpp"
#include "actors/eventlog/journal.hpp"
#include "runtime/work_count.hpp"
#include "runtime/worker_pool.hpp"
#include "task/task_host.hpp"
#include "replay/replay_session.hpp"
#include "runtime/lean_scheduler.hpp"
#include "task/task_runtime.hpp"

namespace actors::detail {

namespace {

std::string position_text(std::int64_t position) {
  return position < 0 ? "the output" : "effect #" + std::to_string(position + 1);
}

using shadow_key = std::tuple<std::string, std::string, std::string>;

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

shadow_runner::shadow_runner(task_host& host) : host_(host) {}

shadow_runner::~shadow_runner() {
  stop();
}

caf::actor_system& shadow_runner::actors() {
  std::call_once(system_once_, [this] {
    system_cfg_ = std::make_unique<caf::actor_system_config>();
    system_cfg_->set("scheduler.max-threads", std::max<std::size_t>(1, host_.config().shadow_threads));
    system_cfg_->set("scheduler.policy", caf::atom("sharing"));
    use_lean_scheduler(*system_cfg_, false);
    if (host_.config().shadow_idle_priority)
      system_cfg_->add_thread_hook<idle_priority_hook>();
    host_.keeping_thread_logger([this] { system_ = std::make_unique<caf::actor_system>(*system_cfg_); });
  });
  return *system_;
}

void shadow_runner::stop() noexcept {
  system_.reset();
}

std::vector<shadow_counts> shadow_runner::totals() const {
  std::vector<shadow_counts> out;
  std::lock_guard guard{mx_};
  for (const auto& [key, counts] : totals_)
    out.push_back(counts);
  return out;
}

shadow_counts& shadow_runner::counts_locked(const shadow_run& r) {
  auto& c = totals_[shadow_key{r.candidate.entry().name, r.primary, r.candidate.entry().version}];
  if (c.function.empty()) {
    c.function = r.candidate.entry().name;
    c.primary = r.primary;
    c.candidate = r.candidate.entry().version;
  }
  return c;
}

void shadow_runner::launch(shadow_run r) {
  if (in_flight_.fetch_add(1, std::memory_order_acq_rel) >= host_.config().max_shadow_runs) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    std::lock_guard guard{mx_};
    ++counts_locked(r).skipped;
    return;
  }
  if (r.recorded) {
    auto rec = std::move(*r.recorded);
    r.recorded.reset();
    start(r, std::move(rec));
    return;
  }
  // Resumed after a crash: the journal has the tree. Read it on the pool, not on the writer thread.
  host_.work().enter();
  host_.pool().submit_after(0, [this, r](const caf::error&) {
    auto rec = read_recording(*host_.journal(), r.task);
    if (rec) {
      start(r, std::move(*rec));
    } else {
      host_.log().error("shadow run of {}@{} for task {} skipped: {}", r.candidate.entry().name,
                 r.candidate.entry().version, to_string(task_id{r.task}), describe(rec.error()));
      {
        std::lock_guard guard{mx_};
        ++counts_locked(r).skipped;
      }
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    }
    host_.work().leave();
  });
}

void shadow_runner::start(const shadow_run& r, recording rec) {
  session_options opts;
  opts.cpu_bound = host_.config().shadow_timeout;
  opts.background = true;
  opts.on_end = [this, r](const replay_session& s) { ended(r, s); };
  auto session = std::make_shared<replay_session>(std::move(rec), std::move(opts));
  auto inv = std::static_pointer_cast<const invoker>(r.candidate.entry().impl);
  task_runtime::setup s;
  s.rec.id = r.task; // the candidate sees the primary's identity: ctx::id() may feed its requests
  s.rec.root = r.root;
  s.rec.function = r.candidate.entry().name;
  s.rec.version = r.candidate.entry().version;
  s.rec.input_type = inv->input_type_name();
  s.rec.created = now_ns();
  s.rec.route = "shadow of " + r.primary;
  s.fn = std::move(inv);
  s.version = r.candidate;
  s.input = session->recorded().input;
  s.session = std::move(session);
  host_.spawn(std::make_unique<task_runtime>(host_, std::move(s)), false);
}

void shadow_runner::ended(const shadow_run& r, const replay_session& s) {
  auto point = s.divergence();
  {
    std::lock_guard guard{mx_};
    auto& c = counts_locked(r);
    ++c.runs;
    ++(point ? c.divergences : c.matches);
  }
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  if (!point)
    return;
  // An experiment's finding, not a fault of the engine: info, like Scientist's "mismatch" publication.
  host_.log().info("shadow {} {} -> {} diverged on task {} at {} ({}): primary {} | candidate {}",
            r.candidate.entry().name, r.primary, r.candidate.entry().version, to_string(task_id{r.task}),
            position_text(point->position), point->what, point->recorded, point->replayed);
  eventlog::divergence_record d;
  d.task = r.task;
  d.function = r.candidate.entry().name;
  d.primary_version = r.primary;
  d.candidate_version = r.candidate.entry().version;
  d.position = point->position;
  d.what = std::move(point->what);
  d.primary_side = std::move(point->recorded);
  d.candidate_side = std::move(point->replayed);
  // drain() returns only once the record is durable: count it in flight until then.
  host_.work().enter();
  auto lsn = host_.journal()->append_divergence(std::move(d));
  host_.journal()->when_durable(lsn, [this](const caf::error& err) {
    if (err)
      host_.log().error("a shadow divergence could not be journaled: {}", describe(err));
    host_.work().leave();
  });
}

} // namespace actors::detail
