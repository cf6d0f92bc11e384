// task_runtime, the task's life: construction from its setup, starting and resuming its continuation,
// dispatching each op it awaits (from the journal, live, or in a session) and suspending on it, journal
// appends, and its ends — completed or failed (after its spawned children), aborted, detached, or in a
// session. The other kinds of operation live beside it: replay_ops, effect_ops, call_ops, mail_ops,
// timer_ops, cancel_ops.

#include "task/task_runtime.hpp"
#include "runtime/tell.hpp"

#include <chrono>
#include <algorithm>
#include <exception>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <time.h>

#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "runtime/clock.hpp"
#include "task/task_host.hpp"
#include "actors/effects.hpp"
#include "actors/engine.hpp"
#include "actors/eventlog/journal.hpp"
#include "runtime/work_count.hpp"
#include "runtime/worker_pool.hpp"
#include "task/mailbox.hpp"
#include "task/messages.hpp"
#include "task/runtime_support.hpp"

namespace actors::detail {

namespace {

using eventlog::event;
using eventlog::event_kind;

/// CPU time the calling thread has used.
std::chrono::nanoseconds thread_cpu() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

} // namespace

// --- task_runtime ----------------------------------------------------------------------------------

task_runtime::task_runtime(task_host& host, setup s)
  : runtime_base{&task_runtime_ops},
    host_(host),
    version_(std::move(s.version)),
    rec_(std::move(s.rec)),
    input_(std::move(s.input)),
    pos_{.recorded = std::move(s.recorded), .last_lsn = s.created_lsn},
    ctx_(this),
    coroutine_(std::in_place, std::move(s.fn)),
    continuation_(&*coroutine_),
    parent_(std::move(s.parent)),
    completion_(std::move(s.entry_state)),
    session_(std::move(s.session)),
    shadowing_{.shadow = std::move(s.shadow), .recorders = std::move(s.recorders)},
    spawned_by_parent_(s.spawned) {
  for (auto& c : s.children)
    children_.journaled.emplace(c.parent_seq, std::move(c));
  // Resumed from the journal (its history begins with `started`): the effect at the end of that
  // history may have been in flight when the engine stopped; its mark says whether, and how often.
  if (!pos_.recorded.empty() && pos_.recorded.front().kind == event_kind::started && journaling()) {
    if (auto m = host_.journal()->effect_mark_of(rec_.id))
      resumed_mark_ = std::move(*m);
    else
      host_.log().warn("{}: cannot read its effect mark ({}); an effect run again is told attempt 1",
                      who(), describe(m.error()));
  }
  // A restarted task's new run numbers its events after the restart (its history keeps only what the
  // restart did not rewind, see journal::history): no seq is used twice.
  for (const auto& ev : pos_.recorded)
    if (ev.kind == event_kind::restarted)
      pos_.floor_seq = std::max(pos_.floor_seq, ev.seq + 1);
  // Only effects are replayed; a journaled end would mean the task is not unfinished.
  std::erase_if(pos_.recorded, [](const event& ev) {
    return ev.kind == event_kind::started || ev.kind == event_kind::completed ||
           ev.kind == event_kind::failed || ev.kind == event_kind::routed ||
           ev.kind == event_kind::cancelled || ev.kind == event_kind::restarted;
  });
  if (!pos_.recorded.empty())
    pos_.next_seq = pos_.recorded.front().seq;
  else
    pos_.next_seq = std::max(pos_.next_seq, pos_.floor_seq);
  // A shadowed task records its tree in memory, unless it resumes with a history (its shadow run then
  // reads the journal).
  if (shadowing_.shadow && pos_.recorded.empty() && children_.journaled.empty()) {
    shadowing_.own = std::make_shared<recording>();
    shadowing_.own->task = rec_.id;
    shadowing_.own->function = rec_.function;
    shadowing_.own->version = rec_.version;
    shadowing_.own->input = input_;
    shadowing_.recorders.push_back(shadowing_.own);
  }
}

task_runtime::~task_runtime() {
  if (place_ == place::held) // the actor went without before_exit (its system stopped): spawn nothing now
    host_.release_place(false);
}

bool task_runtime::journaling() const noexcept {
  return host_.journal() != nullptr && !session_; // a session renders only what it reports
}

std::string task_runtime::who() const {
  return "task " + to_string(task_id{rec_.id}) + " (" + rec_.function + "@" + rec_.version + ")";
}

caf::actor task_runtime::handle() const {
  return caf::actor_cast<caf::actor>(self_);
}

eventlog::lsn task_runtime::append(event ev) {
  if (!host_.journal() || session_)
    return 0;
  ev.task = rec_.id;
  ev.ts = now_ns();
  pos_.last_lsn = host_.journal()->append(std::move(ev));
  return pos_.last_lsn;
}

void task_runtime::start(caf::event_based_actor* self) {
  self_ = self;
  if (cancel_at_start_) {
    on_cancel();
    return;
  }
  if (auto why = continuation_->start(ctx_, input_)) {
    abort(make_error(errc::bad_input, who() + ": the journaled input " + *why));
    return;
  }
  resume(nullptr);
}

void task_runtime::resume(op* answered) {
  if (place_ == place::given_up) { // it waited for a message, a timer or a child: it runs again
    place_ = place::held;
    host_.retake_place();
  }
  if (session_) {
    // A session's time bound counts the CPU its tasks use while they run (see replay_session).
    session_cpu_.mark = thread_cpu();
    continuation_->resume(answered);
    session_->spend(thread_cpu() - session_cpu_.mark);
  } else {
    continuation_->resume(answered);
  }
  after_resume();
}

void task_runtime::after_resume() {
  if (abort_) {
    abort(std::exchange(abort_, caf::error{}));
    return;
  }
  if (continuation_->done())
    complete();
}

bool task_runtime::begin(op& o) {
  if (session_)
    return begin_in_session(o);
  if (o.kind == op_kind::sleep)
    return begin_sleep(o);
  if (o.kind == op_kind::receive)
    return begin_receive(o);
  if (o.kind == op_kind::join)
    return begin_join(o);
  if (auto answered = from_journal(o))
    return *answered;
  return begin_live(o);
}

std::optional<bool> task_runtime::from_journal(op& o) {
  if (pos_.cursor < pos_.recorded.size() && replay(o))
    return true;
  if (abort_)
    return false;
  return std::nullopt;
}

caf::error task_runtime::exit_reason() const {
  return exit_reason_;
}

void task_runtime::on_detach() {
  if (life_ == life::finished)
    return;
  if (pending_.o != nullptr && pending_.o->kind == op_kind::effect && !session_ &&
      life_ != life::cancelling) {
    // The engine stops. The handler cannot be interrupted and may already have acted: journal its
    // result when it comes, then detach, so the next engine does not run it again. (A detach during
    // a graceful stop is a supervisor's shutdown timeout: it detaches at once.)
    life_ = life::detaching;
    return;
  }
  continuation_->destroy();
  pending_.o = nullptr;
  pending_.child_actor = nullptr;
  life_ = life::finished;
  outcome out;
  out.state = outcome_state::aborted;
  out.error = make_error(errc::engine_stopped, who() + " was detached: the engine stopped; it "
                                                       "resumes from its journal in the next engine");
  exit_reason_ = out.error;
  host_.finished(id(), std::move(out), parent_, rec_.parent_seq, completion_.get());
}

bool task_runtime::begin_live(op& o) {
  switch (o.kind) {
    case op_kind::now: {
      auto t = std::chrono::system_clock::now();
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
      o.result = encode_u64(static_cast<std::uint64_t>(ns));
      auto text = utc_text(ns);
      record(o, pos_.next_seq, text);
      append(event{.seq = pos_.next_seq++, .kind = event_kind::now, .result = o.result,
                   .text = std::move(text)});
      return true;
    }
    case op_kind::random: {
      auto n = decode_u64(o.request);
      if (n == 0) {
        o.failed = true;
        o.result = "random(0): the bound must be positive";
      } else {
        o.result = encode_u64(draw(n));
      }
      auto text = o.failed ? o.result
                           : "[0, " + o.text + ") -> " + std::to_string(decode_u64(o.result));
      record(o, pos_.next_seq, text);
      append(event{.seq = pos_.next_seq++, .kind = event_kind::random, .failed = o.failed,
                   .request = o.request, .result = o.result, .text = std::move(text)});
      return true;
    }
    case op_kind::log:
      host_.task_log().info("[{} {}@{}] {}", to_string(id()), rec_.function, rec_.version, o.text);
      append(event{.seq = pos_.next_seq++, .kind = event_kind::log, .text = o.text});
      return true;
    case op_kind::effect:
      if (!host_.handler(o.name)) {
        abort_ = make_error(errc::unhandled_effect,
                            who() + " performed effect '" + o.name +
                              "', which has no handler installed (effects::handle<" +
                              type_name(*o.effect_type) + ">)");
      }
      return false;
    case op_kind::call:
      if (!prepare_call(o, o.version)) {
        append(event{.seq = pos_.next_seq++, .kind = event_kind::call, .failed = true,
                     .name = o.name, .result = o.result, .text = o.text + " -> error: " + o.result});
        return true;
      }
      return false;
    case op_kind::spawn:
      return start_spawn(o);
    case op_kind::send:
      if (try_send(o, pos_.next_seq)) {
        ++pos_.next_seq;
        return true;
      }
      return false;
    default:
      break;
  }
  return false;
}

// In a session: logs are captured, leaf effects answered by the session, calls start children in it.
bool task_runtime::begin_in_session(op& o) {
  auto stop = [&] {
    abort_ = make_error(errc::nondeterminism, who() + " departed from the run it is compared with");
    return false;
  };
  // Charge what the task used so far, so a bound is noticed mid-run: every 32 ops (reading a thread's
  // CPU clock is a system call; replay speed is measured in bench (f)), starting with the first.
  if (session_cpu_.ops++ % 32 == 0) {
    auto now = thread_cpu();
    session_->spend(now - session_cpu_.mark);
    session_cpu_.mark = now;
  }
  switch (o.kind) {
    case op_kind::log:
      session_->log("[" + rec_.function + "@" + rec_.version + "] " + o.text);
      return true;
    case op_kind::call:
    case op_kind::spawn: // in a session a spawned child runs to its end first: the run stays sequential
      if (session_->expired())
        return stop();
      // A call that cannot be routed fails here as it would live; otherwise start the child.
      return !prepare_call(o, o.version);
    case op_kind::join:
      return begin_join(o);
    default:
      switch (session_->answer(o, asker{rec_.id, rec_.function, spawned_by_parent_})) {
        case replay_session::answer_kind::answered:
          return true;
        case replay_session::answer_kind::cancelled:
          abort_ = make_error(errc::cancelled, who() + " was cancelled");
          return false;
        case replay_session::answer_kind::diverged:
          break;
      }
      return stop();
  }
}

void task_runtime::give_place_up() {
  // It waits for a timer, a message, a child or room in a mailbox: a task waiting for admission may
  // take its place (and may be the one it waits for). It takes one again in resume().
  if (place_ != place::held)
    return;
  place_ = place::given_up;
  host_.release_place(true);
}

void task_runtime::suspend(op& o) {
  if (abort_)
    return;
  if (o.kind == op_kind::sleep) { // its event is journaled (or replayed) already: wait for the deadline
    pending_.o = &o;
    pending_.seq = pos_.next_seq - 1;
    auto remaining = std::chrono::nanoseconds{std::max<std::int64_t>(pending_.sleep_until - now_ns(), 0)};
    self_->delayed_send(self_, remaining, timer_atom::value, pending_.seq);
    give_place_up();
    return;
  }
  pending_.o = &o;
  pending_.seq = pos_.next_seq++;
  if (o.kind != op_kind::effect)
    give_place_up();
  switch (o.kind) {
    case op_kind::effect:
      dispatch_effect(o);
      break;
    case op_kind::receive: // registered as the mailbox's waiter by begin_receive
      if (auto ns = static_cast<std::int64_t>(decode_u64(o.request)); ns >= 0)
        self_->delayed_send(self_, std::chrono::nanoseconds{ns}, timer_atom::value, pending_.seq);
      break;
    case op_kind::send: // registered with the full mailbox by try_send
    case op_kind::join: // waits for the child's end (on_call_done)
      break;
    default:
      dispatch_call(o);
  }
}

void task_runtime::on_journal_error(std::string message) {
  abort(make_error(errc::journal_failure, who() + " stopped: the journal failed: " + message));
}

void task_runtime::complete() {
  // Nursery: the task ends after its spawned children. Failing (or after a child failed), it cancels
  // those still running first.
  if (children_.any_running()) {
    if (!children_.nursery_waiting && (continuation_->error() || children_.first_failure != 0))
      for (auto& [seq, c] : children_.spawned)
        if (!c.ended)
          cancel_child(seq);
    children_.nursery_waiting = true;
    return;
  }
  if (ended_before_its_history())
    return;
  event ev;
  ev.seq = pos_.next_seq++;
  outcome out;
  std::exception_ptr ep = continuation_->error();
  if (!ep && children_.first_failure != 0) { // a child's failure nobody observed is this task's failure
    auto& c = children_.spawned[children_.first_failure];
    ep = std::make_exception_ptr(call_error("spawned child task " + to_string(task_id{c.id}) + " (" +
                                            c.function + ") failed: " + failure_text(c)));
  }
  if (ep) {
    auto msg = exception_message(ep);
    ev.kind = event_kind::failed;
    ev.result = msg;
    ev.text = msg;
    exit_reason_ = make_error(errc::task_failed, who() + " failed: " + msg);
    out.state = outcome_state::failed;
    out.payload = std::move(msg);
    out.text = ev.text;
  } else {
    ev.kind = event_kind::completed;
    ev.result = continuation_->output_bytes();
    if (host_.journal())
      ev.text = continuation_->output_text();
    out.payload = ev.result;
    out.text = ev.text;
  }
  continuation_->destroy();
  life_ = life::finished;
  close_mailbox();
  if (session_) {
    end_in_session(std::move(out));
    return;
  }
  if (!host_.journal()) {
    host_.finished(id(), std::move(out), parent_, rec_.parent_seq, completion_.get());
    return;
  }
  std::optional<shadow_run> shadow;
  if (shadowing_.shadow) {
    if (shadowing_.own && shadowing_.own->concurrent)
      shadowing_.own.reset(); // read back from the journal, in depth-first order
    shadow = shadow_run{rec_.id, rec_.root, rec_.version, std::move(shadowing_.shadow), std::move(shadowing_.own)};
    if (auto& r = shadow->recorded) {
      r->failed = ev.kind == event_kind::failed;
      r->output = ev.result;
      r->output_text = ev.text;
    }
  }
  auto lsn = append(std::move(ev));
  // Durability rule: the result is reported only once it is durable.
  host_.journal()->when_durable(lsn, [&host = host_, id = id(), out = std::move(out),
                                    parent = parent_, seq = rec_.parent_seq, entry = completion_,
                                    shadow = std::move(shadow)](const caf::error& err) mutable {
    if (err) {
      out.state = outcome_state::aborted;
      out.error = make_error(errc::journal_failure, "task " + to_string(id) +
                                                      ": its result could not be journaled: " +
                                                      describe(err));
      shadow.reset();
    }
    if (!shadow) {
      host.finished(id, std::move(out), parent, seq, entry.get());
      return;
    }
    // The caller hears first; the shadow run starts after. Held in flight in between for drain().
    host.work().enter();
    host.finished(id, std::move(out), parent, seq, entry.get());
    host.launch_shadow(std::move(*shadow));
    host.work().leave();
  });
}

void task_runtime::end_in_session(outcome out) {
  if (parent_)
    tell(parent_, call_done_atom::value, rec_.parent_seq,
                   static_cast<std::uint8_t>(out.state), std::move(out.payload),
                   std::move(out.text), std::move(out.error));
  else
    session_->finish(out);
  host_.work().leave();
}

void task_runtime::before_exit() {
  if (place_ == place::held) {
    place_ = place::none;
    host_.release_place(true);
  }
  if (session_ || rec_.parent != 0)
    return; // only roots (and supervised tasks, which are roots) have completion entries
  if (auto c = completion_ ? completion_ : host_.completions().find(id()))
    c->actor_quits(self_->address());
}

void task_runtime::abort(caf::error err) {
  if (life_ == life::finished)
    return;
  drop_pending_effects();
  if (!session_)
    host_.log().warn("{}", describe(err)); // a session reports its own divergence
  continuation_->destroy();
  pending_.o = nullptr;
  life_ = life::finished;
  close_mailbox();
  exit_reason_ = err;
  outcome out;
  out.state = outcome_state::aborted;
  out.error = std::move(err);
  if (session_)
    end_in_session(std::move(out));
  else
    host_.finished(id(), std::move(out), parent_, rec_.parent_seq, completion_.get());
}
} // namespace actors::detail
