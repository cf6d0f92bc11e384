// task_runtime, answering ops from the journal: a resumed task's recorded history is matched op by op
// (continuation/journal_match.hpp) and answers them until it runs out; a departure from it, damage in
// it, or code that ends before it does stops the task as diverged. Member functions of task_runtime.

#include <spdlog/spdlog.h>

#include "task/task_runtime.hpp"

#include <algorithm>
#include <string>

#include "actors/errc.hpp"
#include "task/task_host.hpp"
#include "actors/effects.hpp"
#include "actors/engine.hpp"
#include "actors/eventlog/journal.hpp"
#include "runtime/work_count.hpp"
#include "runtime/worker_pool.hpp"
#include "task/mailbox.hpp"
#include "task/runtime_support.hpp"

namespace actors::detail {

using eventlog::event;
using eventlog::event_kind;

// Answers `o` from the journal. Returns false when the journal has no answer (run live), or with abort_
// set when the code asks for something other than what the journal recorded.
bool task_runtime::replay(op& o) {
  if (o.kind == op_kind::log) {
    if (pos_.recorded[pos_.cursor].kind == event_kind::log) {
      consumed(pos_.recorded[pos_.cursor++].seq);
      return true; // already printed in the run that journaled it
    }
    host_.task_log().info("[{} {}@{}] {}", to_string(id()), rec_.function, rec_.version, o.text);
    return true; // a log line the journal does not have: print it, never journal mid-history
  }
  while (pos_.cursor < pos_.recorded.size() && pos_.recorded[pos_.cursor].kind == event_kind::log)
    consumed(pos_.recorded[pos_.cursor++].seq); // logs are never compared
  if (pos_.cursor == pos_.recorded.size())
    return false;
  auto& ev = pos_.recorded[pos_.cursor];
  auto journaled = view(ev);
  auto mismatch = [&](const match_result& m) {
    abort_ = make_error(errc::nondeterminism,
                        who() + " diverged from its journal at seq " + std::to_string(ev.seq) +
                          " (" + std::string{m.diff->what} + "): the journal has " +
                          describe_journaled(journaled) + ", the code asks for " + describe_asked(o));
    return false;
  };
  // Calls and spawns compare in two steps (see journal_match.hpp): their identity, then — prepared for
  // the journaled version, which encodes the input for its input type — their input.
  if (auto m = match(o, journaled, fields::identity); !m.ok())
    return mismatch(m);
  if (o.kind == op_kind::call || o.kind == op_kind::spawn) {
    auto ver = journaled_version(journaled);
    // A call that never started a child (it failed to route) is answered as journaled: not prepared.
    if (!ver.empty() && prepare_call(o, std::string{ver}))
      if (auto m = match(o, journaled, fields::input); !m.ok())
        return mismatch(m);
  }
  // The clock, a draw and a deadline are 8 bytes: other bytes there are damage (a deadline read from
  // 19 bytes of text put a resumed task to sleep for 55 years; found by fuzz_journal_resume).
  // The clock and a timer never fail (a draw can: a bound of 0).
  bool fixed_size = ev.kind == event_kind::now || ev.kind == event_kind::random || ev.kind == event_kind::sleep;
  if (fixed_size && (ev.failed ? ev.kind != event_kind::random : ev.result.size() != 8)) {
    abort_ = make_error(errc::journal_failure,
                        who() + ": the journal is damaged at seq " + std::to_string(ev.seq) + ": its " +
                          std::string{eventlog::to_string(ev.kind)} +
                          (ev.failed ? std::string{" is marked failed, which it cannot be"}
                                     : " result is " + std::to_string(ev.result.size()) +
                                         " bytes, where 8 are journaled"));
    return false;
  }
  // A deadline was journaled as "now + duration" just before its event's time stamp: one far past that
  // is damage (it would keep the task asleep for as long as the bytes say; found by fuzz_journal_resume).
  // An hour of slack covers a wall clock stepped back between the two readings.
  if (ev.kind == event_kind::sleep && !ev.failed && ev.ts > 0 && ev.request.size() == 8) {
    constexpr std::int64_t slack = 3'600'000'000'000;
    auto deadline = static_cast<std::int64_t>(decode_u64(ev.result));
    auto duration = static_cast<std::int64_t>(decode_u64(ev.request));
    if (duration >= 0 && deadline > ev.ts && deadline - ev.ts > duration + slack) {
      abort_ = make_error(errc::journal_failure,
                          who() + ": the journal is damaged at seq " + std::to_string(ev.seq) +
                            ": its sleep of " + std::to_string(duration) + " ns ends at " + utc_text(deadline) +
                            ", long after it was journaled (" + utc_text(ev.ts) + ")");
      return false;
    }
  }
  if (o.kind == op_kind::effect)
    host_.counters().effects_replayed.fetch_add(1, std::memory_order_relaxed);
  o.failed = ev.failed;
  o.result = std::move(ev.result);
  ++pos_.cursor;
  consumed(ev.seq);
  if (o.kind == op_kind::spawn && !ev.failed && ev.ref != 0) {
    // A child spawned before the crash: it resumed on its own (or ended); hear of its end.
    auto& c = children_.spawned[ev.seq];
    c.id = ev.ref;
    c.function = ev.name;
    if (auto i = children_.journaled.find(ev.seq); i != children_.journaled.end())
      watch_child(ev.seq, i->second);
  } else if (o.kind == op_kind::join) {
    auto spawn_seq = static_cast<std::uint32_t>(decode_u64(o.request));
    if (auto i = children_.spawned.find(spawn_seq); i != children_.spawned.end()) {
      i->second.joined = true;
      if (children_.first_failure == i->first)
        children_.first_failure = 0; // observed by this join
    }
  }
  return true;
}

void task_runtime::consumed(std::uint32_t seq) {
  pos_.next_seq = seq + 1;
  if (pos_.cursor >= pos_.recorded.size())
    pos_.next_seq = std::max(pos_.next_seq, pos_.floor_seq);
}

bool task_runtime::ended_before_its_history() {
  while (pos_.cursor < pos_.recorded.size() && pos_.recorded[pos_.cursor].kind == event_kind::log)
    consumed(pos_.recorded[pos_.cursor++].seq); // logs are never compared
  if (pos_.cursor == pos_.recorded.size())
    return false;
  // The code ended (returned or threw) where its journal goes on: a deterministic task cannot, a
  // damaged or edited journal (or code changed under a resumed task) can. As at any divergence nothing
  // is journaled — its end would take a seq the history already uses — and the task stays unfinished.
  auto ep = continuation_->error();
  const auto& ev = pos_.recorded[pos_.cursor];
  abort(make_error(errc::nondeterminism,
                   who() + " diverged from its journal at seq " + std::to_string(ev.seq) + " (the code " +
                     (ep ? "failed: " + exception_message(ep) : std::string{"completed"}) +
                     "): the journal has " + describe_journaled(view(ev)) + " there"));
  return true;
}
} // namespace actors::detail
