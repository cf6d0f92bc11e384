// task_runtime, cancellation: a cancelled task cancels its children first, lets a graceful stop's
// running effect journal its result, then ends with a journaled `cancelled`; effect jobs not yet
// started are dropped. Member functions of task_runtime.

#include <spdlog/spdlog.h>

#include "task/task_runtime.hpp"

#include <algorithm>

#include "actors/errc.hpp"
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

void task_runtime::on_cancel(bool graceful) {
  if (life_ == life::finished || life_ == life::cancelling)
    return;
  life_ = life::cancelling; // also while detaching: a cancel outranks a detach
  // Its children end first (they never outlive it): spawned ones, and the one it calls.
  for (auto& [seq, c] : children_.spawned)
    if (!c.ended)
      cancel_child(seq);
  if (graceful && pending_.o != nullptr && pending_.o->kind == op_kind::effect) {
    // An effect handler cannot be interrupted: journal its result when it comes, then end. A task
    // resumed later (a supervisor's restart) does not run it again.
    cancel_wait_ = cancel_wait::effect;
  }
  if (pending_.o != nullptr && pending_.o->kind == op_kind::call && pending_.child != 0) {
    if (pending_.child_actor) {
      tell(pending_.child_actor, cancel_atom::value);
      cancel_wait_ = cancel_wait::call;
    } else if (host_.cancel_running(task_id{pending_.child})) { // a resumed child: a registry entry
      cancel_wait_ = cancel_wait::call;
    } // else it is not running here: nothing to wait for
  }
  maybe_end_cancelled();
}

void task_runtime::maybe_end_cancelled() {
  if (cancel_wait_ != cancel_wait::nothing)
    return;
  if (children_.any_running())
    return;
  end_cancelled();
}

void task_runtime::end_cancelled() {
  if (life_ == life::finished)
    return;
  drop_pending_effects();
  continuation_->destroy();
  pending_.o = nullptr;
  pending_.child_actor = nullptr;
  life_ = life::finished;
  close_mailbox();
  outcome out;
  out.state = outcome_state::aborted;
  out.error = make_error(errc::cancelled, who() + " was cancelled");
  if (session_) {
    end_in_session(std::move(out));
    return;
  }
  host_.log().info("{} cancelled", who());
  if (!host_.journal()) {
    host_.finished(id(), std::move(out), parent_, rec_.parent_seq, completion_.get());
    return;
  }
  // Cancelled while it replays its history, the task ends after the whole history: its end must not take
  // a seq a journaled event already has.
  for (std::size_t i = pos_.cursor; i < pos_.recorded.size(); ++i)
    pos_.next_seq = std::max(pos_.next_seq, pos_.recorded[i].seq + 1);
  auto lsn = append(event{.seq = pos_.next_seq++, .kind = event_kind::cancelled, .text = "cancelled"});
  host_.journal()->when_durable(lsn, [&host = host_, id = id(), out = std::move(out), parent = parent_,
                                    seq = rec_.parent_seq](const caf::error&) mutable {
    host.finished(id, std::move(out), parent, seq, nullptr);
  });
}

void task_runtime::drop_pending_effects() {
  if (effects_wanted_)
    effects_wanted_->store(false, std::memory_order_release);
}
} // namespace actors::detail
