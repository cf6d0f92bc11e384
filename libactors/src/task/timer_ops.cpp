// task_runtime, durable timers: a sleep's deadline is journaled (or taken from the journal, so a resumed
// task sleeps only what is left) and its timer wakes the task; the same timer ends a receive's wait.
// Member functions of task_runtime.

#include <spdlog/spdlog.h>

#include "task/task_runtime.hpp"

#include "task/task_host.hpp"
#include "actors/effects.hpp"
#include "actors/engine.hpp"
#include "actors/eventlog/journal.hpp"
#include "runtime/work_count.hpp"
#include "runtime/worker_pool.hpp"
#include "task/mailbox.hpp"
#include "runtime/clock.hpp"
#include "task/runtime_support.hpp"

namespace actors::detail {

using eventlog::event;
using eventlog::event_kind;

// A durable timer: the deadline comes from the journal when the task resumes (so it sleeps only what is
// left), else it is now + d and journaled. Returns true if it is already due.
bool task_runtime::begin_sleep(op& o) {
  std::int64_t deadline = 0;
  if (auto answered = from_journal(o)) {
    if (!*answered)
      return false;
    deadline = static_cast<std::int64_t>(decode_u64(o.result));
  } else {
    deadline = now_ns() + static_cast<std::int64_t>(decode_u64(o.request));
    o.result = encode_u64(static_cast<std::uint64_t>(deadline));
    auto text = o.text + " (until " + utc_text(deadline) + ")";
    record(o, pos_.next_seq, text);
    append(event{.seq = pos_.next_seq++, .kind = event_kind::sleep, .request = o.request,
                 .result = o.result, .text = std::move(text)});
  }
  pending_.sleep_until = deadline;
  return deadline <= now_ns();
}

void task_runtime::on_timer(std::uint32_t seq) {
  if (pending_.o == nullptr || seq != pending_.seq)
    return;
  if (pending_.o->kind == op_kind::receive) { // timed out: journaled, so a replay times out there too
    host_.mail().stop_waiting(rec_.id);
    auto& o = *std::exchange(pending_.o, nullptr);
    o.result = std::string(1, '\0');
    auto text = "timed out (" + o.text + ")";
    record(o, seq, text);
    append(event{.seq = seq, .kind = event_kind::receive, .name = o.name, .request = o.request,
                 .result = o.result, .text = std::move(text)});
    resume(&o);
    return;
  }
  if (pending_.o->kind != op_kind::sleep)
    return;
  auto& o = *std::exchange(pending_.o, nullptr);
  resume(&o);
}
} // namespace actors::detail
