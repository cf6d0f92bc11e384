#include "task/task_actor.hpp"

#include "task/messages.hpp"
#include "runtime/tell.hpp"

namespace actors::detail {

task_actor::task_actor(caf::actor_config& cfg, std::unique_ptr<task_runtime> rt)
  : caf::event_based_actor(cfg), rt_(std::move(rt)) {}

task_actor::~task_actor() = default;

caf::resumable::resume_result task_actor::resume(caf::execution_unit* eu, std::size_t max_throughput) {
  return ordered_step(this, [&] { return caf::event_based_actor::resume(eu, max_throughput); });
}

void task_actor::initialize() {
  ordered_step(this, [&] { caf::event_based_actor::initialize(); });
}

caf::invoke_message_result task_actor::consume(caf::mailbox_element& x) {
  return ordered_step(this, [&] { return caf::event_based_actor::consume(x); });
}

void task_actor::quit_if_finished() {
  if (rt_->finished()) {
    rt_->before_exit();
    before_quit(this);
    quit(rt_->exit_reason()); // a supervisor's monitor tells a failure from a normal end by it
  }
}

caf::behavior task_actor::make_behavior() {
  rt_->start(this);
  quit_if_finished();
  return {
    [this](effect_done_atom, std::uint32_t seq, bool failed, std::string& payload,
           std::string& text) {
      rt_->on_effect_done(seq, failed, std::move(payload), std::move(text));
      quit_if_finished();
    },
    [this](call_done_atom, std::uint32_t seq, std::uint8_t state, std::string& payload,
           std::string& text, caf::error& err) {
      rt_->on_call_done(seq, state, std::move(payload), std::move(text), std::move(err));
      quit_if_finished();
    },
    [this](journal_fail_atom, std::string& message) {
      rt_->on_journal_error(std::move(message));
      quit_if_finished();
    },
    [this](timer_atom, std::uint32_t seq) {
      rt_->on_timer(seq);
      quit_if_finished();
    },
    [this](mail_atom, std::uint32_t seq) {
      rt_->on_mail(seq);
      quit_if_finished();
    },
    [this](mail_room_atom, std::uint32_t seq) {
      rt_->on_mail_room(seq);
      quit_if_finished();
    },
    [this](detach_atom) {
      rt_->on_detach();
      quit_if_finished();
    },
    [this](stop_atom) {
      rt_->on_cancel(true);
      quit_if_finished();
    },
    [this](cancel_atom) {
      rt_->on_cancel();
      quit_if_finished();
    },
  };
}

} // namespace actors::detail
