// Shadow runs (DESIGN §3): after a task routed by a shadow policy has finished and its end is durable, the
// candidate version runs in a replay session against that task's journal — same input, every leaf effect
// answered from the primary's recorded result, nothing executed, nothing journaled but the divergence.

#include <chrono>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/engine.hpp"
#include "clock.hpp"
#include "engine_core.hpp"
#include "replay_session.hpp"
#include "task_runtime.hpp"

namespace actors::detail {

namespace {

std::string position_text(std::int64_t position) {
  return position < 0 ? "the output" : "effect #" + std::to_string(position + 1);
}

using shadow_key = std::tuple<std::string, std::string, std::string>;

} // namespace

shadow_counts& engine_core::shadow_counts_locked(const shadow_run& r) {
  auto& c = shadow_totals[shadow_key{r.candidate->name, r.primary, r.candidate->version}];
  if (c.function.empty()) {
    c.function = r.candidate->name;
    c.primary = r.primary;
    c.candidate = r.candidate->version;
  }
  return c;
}

void engine_core::launch_shadow(shadow_run r) {
  if (shadows_in_flight.fetch_add(1, std::memory_order_acq_rel) >= cfg.max_shadow_runs) {
    shadows_in_flight.fetch_sub(1, std::memory_order_acq_rel);
    std::lock_guard guard{shadow_mx};
    ++shadow_counts_locked(r).skipped;
    return;
  }
  if (r.recorded) {
    auto rec = std::move(*r.recorded);
    r.recorded.reset();
    start_shadow(r, std::move(rec));
    return;
  }
  // Resumed after a crash: the journal has the tree. Read it on the pool, not on the writer thread.
  in_flight.fetch_add(1, std::memory_order_relaxed);
  pool->submit_after(0, [this, r](const caf::error&) {
    auto rec = read_recording(*journal, r.task);
    if (rec) {
      start_shadow(r, std::move(*rec));
    } else {
      log->error("shadow run of {}@{} for task {} skipped: {}", r.candidate->name,
                 r.candidate->version, to_string(task_id{r.task}), describe(rec.error()));
      {
        std::lock_guard guard{shadow_mx};
        ++shadow_counts_locked(r).skipped;
      }
      shadows_in_flight.fetch_sub(1, std::memory_order_acq_rel);
    }
    leave();
  });
}

void engine_core::start_shadow(const shadow_run& r, recording rec) {
  session_options opts;
  opts.cpu_bound = cfg.shadow_timeout;
  opts.background = true;
  opts.on_end = [this, r](const replay_session& s) { shadow_ended(r, s); };
  auto session = std::make_shared<replay_session>(std::move(rec), std::move(opts));
  auto inv = std::static_pointer_cast<const invoker>(r.candidate->impl);
  task_runtime::setup s;
  s.rec.id = r.task; // the candidate sees the primary's identity: ctx::id() may feed its requests
  s.rec.root = r.root;
  s.rec.function = r.candidate->name;
  s.rec.version = r.candidate->version;
  s.rec.input_type = inv->input_type_name();
  s.rec.created = now_ns();
  s.rec.route = "shadow of " + r.primary;
  s.fn = std::move(inv);
  s.entry = r.candidate;
  s.input = session->recorded().input;
  s.session = std::move(session);
  spawn(std::make_unique<task_runtime>(*this, std::move(s)));
}

void engine_core::shadow_ended(const shadow_run& r, const replay_session& s) {
  auto point = s.divergence();
  {
    std::lock_guard guard{shadow_mx};
    auto& c = shadow_counts_locked(r);
    ++c.runs;
    ++(point ? c.divergences : c.matches);
  }
  shadows_in_flight.fetch_sub(1, std::memory_order_acq_rel);
  if (!point)
    return;
  // An experiment's finding, not a fault of the engine: info, like Scientist's "mismatch" publication.
  log->info("shadow {} {} -> {} diverged on task {} at {} ({}): primary {} | candidate {}",
            r.candidate->name, r.primary, r.candidate->version, to_string(task_id{r.task}),
            position_text(point->position), point->what, point->recorded, point->replayed);
  eventlog::divergence_record d;
  d.task = r.task;
  d.function = r.candidate->name;
  d.primary_version = r.primary;
  d.candidate_version = r.candidate->version;
  d.position = point->position;
  d.what = std::move(point->what);
  d.primary_side = std::move(point->recorded);
  d.candidate_side = std::move(point->replayed);
  // drain() returns only once the record is durable: count it in flight until then.
  in_flight.fetch_add(1, std::memory_order_relaxed);
  auto lsn = journal->append_divergence(std::move(d));
  journal->when_durable(lsn, [this](const caf::error& err) {
    if (err)
      log->error("a shadow divergence could not be journaled: {}", describe(err));
    leave();
  });
}

} // namespace actors::detail
