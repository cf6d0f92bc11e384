// task_runtime, leaf effects: dispatching a user effect to its handler on the worker pool (after what
// the task journaled is durable, with its effect mark) and journaling its result; random draws; adding
// journaled leaf effects to the in-memory recordings of shadowed trees. Member functions of task_runtime.

#include <spdlog/spdlog.h>

#include "task/task_runtime.hpp"

#include <exception>

#include "task/task_host.hpp"
#include "actors/effects.hpp"
#include "actors/engine.hpp"
#include "actors/eventlog/journal.hpp"
#include "runtime/work_count.hpp"
#include "runtime/worker_pool.hpp"
#include "task/mailbox.hpp"
#include "runtime/tell.hpp"
#include "task/messages.hpp"

namespace actors::detail {

using eventlog::event;
using eventlog::event_kind;

void task_runtime::record(const op& o, std::uint32_t seq, const std::string& text) {
  for (auto& r : shadowing_.recorders)
    r->effects.push_back(recorded_effect{event_kind_of(o.kind), o.name, o.request, o.failed,
                                         o.result, text, rec_.id, seq});
}

// A uniform draw in [0, n) (Lemire's multiply-shift with rejection) from a splitmix64 stream.
std::uint64_t task_runtime::draw(std::uint64_t n) {
  if (rng_state_ == 0)
    rng_state_ = host_.new_seed() | 1;
  auto next = [this] {
    auto z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  auto m = static_cast<unsigned __int128>(next()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    auto threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<unsigned __int128>(next()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

void task_runtime::dispatch_effect(op& o) {
  auto h = host_.handler(o.name); // shared: a module's handler keeps its code loaded while it runs
  effect_context cx{id(), pending_.seq};
  // An effect whose mark is this one's was handed to its handler by an earlier engine, which stopped
  // before journaling the result: this is attempt mark + 1.
  if (auto m = std::exchange(resumed_mark_, std::nullopt); m && m->seq == cx.seq && m->name == o.name)
    cx.attempt = m->attempt + 1;
  // Durability rule: everything this task journaled so far is durable before the effect runs. The
  // pool holds the job until the journal reports that lsn committed. The effect's mark is appended
  // last, so its lsn covers the rest: durable before the handler runs, it tells a resumed engine
  // that this handler was started (DESIGN-NOTES §27).
  eventlog::lsn after = 0;
  if (host_.journal())
    after = host_.journal()->mark_effect(
      eventlog::effect_mark{.task = rec_.id, .seq = cx.seq, .attempt = cx.attempt, .name = o.name});
  if (!effects_wanted_)
    effects_wanted_ = std::make_shared<std::atomic<bool>>(true);
  host_.pool().submit_after(after, [&host = host_, h, request = o.request, cx, self = handle(),
                                   wanted = effects_wanted_](const caf::error& err) mutable {
    if (!wanted->load(std::memory_order_acquire))
      return; // the task ended (cancelled) before its handler started: nothing to run it for
    if (err) {
      tell(self, journal_fail_atom::value, describe(err));
      return;
    }
    effect_result r;
    bool failed = false;
    try {
      r = h->run(request, cx);
    } catch (const std::exception& e) {
      failed = true;
      r.bytes = e.what();
      r.text = "error: " + r.bytes;
    } catch (...) {
      failed = true;
      r.bytes = "unknown exception";
      r.text = "error: " + r.bytes;
    }
    host.counters().effects_executed.fetch_add(1, std::memory_order_relaxed);
    // Let go of the handler before the task hears of its result: once the task has ended, nothing of
    // a module's handler is held any more (unload_module can close the library at once).
    h.reset();
    tell(self, effect_done_atom::value, cx.seq, failed, std::move(r.bytes),
                   std::move(r.text));
  });
}

void task_runtime::on_effect_done(std::uint32_t seq, bool failed, std::string payload,
                                  std::string text) {
  if (pending_.o == nullptr || seq != pending_.seq)
    return;
  auto& o = *std::exchange(pending_.o, nullptr);
  o.failed = failed;
  o.result = std::move(payload);
  auto rendered = o.text + " -> " + text;
  record(o, seq, rendered);
  append(event{.seq = seq, .kind = event_kind::effect, .failed = failed, .name = o.name,
               .request = std::move(o.request), .result = o.result, .text = std::move(rendered)});
  if (life_ == life::cancelling) { // cancelled while the handler ran: its result is journaled; it ends
    cancel_wait_ = cancel_wait::nothing; // it waited for this effect, or for nothing
    maybe_end_cancelled();
    return;
  }
  if (life_ == life::detaching) { // the engine stops: the result is journaled, the task detaches here
    on_detach();
    return;
  }
  resume(&o);
}
} // namespace actors::detail
