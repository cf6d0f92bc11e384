// task_runtime, messages between tasks: receive (from the journal or this task's mailbox, waiting for a
// message), send (into the target's mailbox with its journal row, waiting while it is full), and
// closing the mailbox at the task's end. Member functions of task_runtime.

#include <spdlog/spdlog.h>

#include "task/task_runtime.hpp"

#include "actors/errc.hpp"
#include "task/task_host.hpp"
#include "actors/effects.hpp"
#include "actors/engine.hpp"
#include "actors/eventlog/journal.hpp"
#include "runtime/work_count.hpp"
#include "runtime/worker_pool.hpp"
#include "task/mailbox.hpp"
#include "runtime/clock.hpp"

namespace actors::detail {

using eventlog::event;
using eventlog::event_kind;

bool task_runtime::begin_receive(op& o) {
  if (auto answered = from_journal(o))
    return *answered;
  if (take_message(o, pos_.next_seq)) {
    ++pos_.next_seq;
    return true;
  }
  return false;
}

bool task_runtime::take_message(op& o, std::uint32_t seq) {
  auto load = [&host = host_](std::uint64_t target) {
    return host.journal() ? host.journal()->pending_messages(target)
                        : caf::expected<std::vector<eventlog::message_record>>{
                            std::vector<eventlog::message_record>{}};
  };
  auto m = host_.mail().take(rec_.id, handle(), seq, load);
  if (!m) {
    abort_ = make_error(errc::journal_failure,
                        who() + " cannot read its mailbox from the journal: " + describe(m.error()));
    return false;
  }
  if (!*m)
    return false;
  auto& msg = **m;
  std::string text;
  if (msg.type != o.name) {
    o.failed = true;
    o.result = "received a message of type " + msg.type + ", expected " + o.name;
    text = "error: " + o.result;
  } else {
    o.result.reserve(msg.payload.size() + 1);
    o.result = "\1";
    o.result += msg.payload;
    text = msg.text + (msg.sender != 0 ? " (from task " + to_string(task_id{msg.sender}) + ")"
                                       : std::string{" (from outside)"});
  }
  record(o, seq, text);
  append(event{.seq = seq, .kind = event_kind::receive, .failed = o.failed, .name = o.name,
               .ref = msg.id, .request = o.request, .result = o.result, .text = std::move(text)});
  return true;
}

void task_runtime::on_mail(std::uint32_t seq) {
  if (pending_.o == nullptr || seq != pending_.seq || pending_.o->kind != op_kind::receive)
    return;
  if (!take_message(*pending_.o, seq)) {
    if (abort_) {
      pending_.o = nullptr;
      abort(std::exchange(abort_, caf::error{}));
    }
    return; // another receive took it first? (never: one task, one mailbox) — keep waiting
  }
  auto& o = *std::exchange(pending_.o, nullptr);
  resume(&o);
}

bool task_runtime::try_send(op& o, std::uint32_t seq) {
  if (!host_.task_alive(o.target)) {
    o.failed = true;
    o.result = "cannot send to task " + o.name + ": it is not running";
    record(o, seq, "error: " + o.result);
    append(event{.seq = seq, .kind = event_kind::send, .failed = true, .name = o.name,
                 .request = o.request, .result = o.result, .text = "error: " + o.result});
    return true;
  }
  eventlog::message_record m;
  m.id = host_.new_id().value();
  m.target = o.target;
  m.sender = rec_.id;
  m.sender_seq = seq;
  m.type = o.type;
  m.payload = o.request;
  m.text = o.text;
  // The journal's rendering, and the in-memory recording's: the same, so a shadow run of a live primary
  // reports what a replay from the journal reports.
  auto text = o.text + " -> task " + o.name + " (" + o.type + ")";
  auto res = host_.mail().post(
    m, host_.config().mailbox_capacity,
    [&](const eventlog::message_record& msg) {
      if (!host_.journal() || session_)
        return;
      event ev{.task = rec_.id, .seq = seq, .kind = event_kind::send, .name = o.name,
               .ref = msg.id, .request = o.request, .text = text};
      ev.ts = now_ns();
      pos_.last_lsn = host_.journal()->append_message(msg, std::move(ev));
    },
    handle(), seq);
  if (res == mailboxes::post_result::full)
    return false;
  record(o, seq, text);
  return true;
}

void task_runtime::on_mail_room(std::uint32_t seq) {
  if (pending_.o == nullptr || seq != pending_.seq || pending_.o->kind != op_kind::send)
    return;
  if (!try_send(*pending_.o, seq))
    return; // full again: told again when there is room
  auto& o = *std::exchange(pending_.o, nullptr);
  resume(&o);
}

void task_runtime::close_mailbox() {
  // A supervised task keeps its mailbox while its supervisor may restart it.
  if (!session_ && !host_.supervised(rec_.id))
    host_.mail().close(rec_.id);
}
} // namespace actors::detail
