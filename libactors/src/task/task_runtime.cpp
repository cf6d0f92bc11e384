#include "task/task_runtime.hpp"
#include "runtime/tell.hpp"

#include <chrono>
#include <algorithm>
#include <exception>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <ctime>
#include <time.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/errc.hpp"
#include "runtime/clock.hpp"
#include "engine/engine_core.hpp"
#include "task/messages.hpp"

namespace actors::detail {

namespace {

using eventlog::event;
using eventlog::event_kind;

std::string_view kind_name(op_kind k) {
  return eventlog::to_string(event_kind_of(k));
}

std::string exception_message(const std::exception_ptr& ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

/// "2026-11-23T18:22:58.981Z": UTC, milliseconds, independent of the writer's TZ.
std::string utc_text(std::int64_t ns) {
  auto secs = static_cast<std::time_t>(ns / 1'000'000'000);
  auto ms = static_cast<int>((ns / 1'000'000) % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/// CPU time the calling thread has used.
std::chrono::nanoseconds thread_cpu() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

} // namespace

// --- the awaiter entry points (declared in actors/detail/op.hpp) -----------------------------------

bool journaling(const task_runtime* rt) noexcept {
  return rt->journaling();
}

void cancel_spawned(task_runtime* rt, std::uint32_t seq) {
  rt->cancel_child(seq);
}

bool begin_op(task_runtime* rt, op& o) {
  return rt->begin(o);
}

void suspend_op(task_runtime* rt, op& o, std::coroutine_handle<> h) {
  rt->suspend(o, h);
}

void throw_op_failure(const op& o) {
  if (o.kind == op_kind::call || o.kind == op_kind::spawn)
    throw call_error("call to " + o.name + (o.version.empty() ? "" : "@" + o.version) +
                     " failed: " + o.result);
  if (o.kind == op_kind::join)
    throw call_error("child task " + o.name + " failed: " + o.result);
  auto name = o.kind == op_kind::effect && !o.name.empty() ? o.name : std::string{kind_name(o.kind)};
  throw effect_error("effect '" + name + "' failed: " + o.result);
}

// --- task_runtime ----------------------------------------------------------------------------------

task_runtime::task_runtime(engine_core& core, setup s)
  : core_(core),
    rec_(std::move(s.rec)),
    fn_(std::move(s.fn)),
    input_(std::move(s.input)),
    recorded_(std::move(s.recorded)),
    last_lsn_(s.created_lsn),
    ctx_(this),
    parent_(std::move(s.parent)),
    completion_(std::move(s.entry_state)),
    session_(std::move(s.session)),
    shadow_(s.shadow) {
  for (auto& c : s.children)
    children_.emplace(c.parent_seq, std::move(c));
  // Resumed from the journal (its history begins with `started`): the effect at the end of that
  // history may have been in flight when the engine stopped; its mark says whether, and how often.
  if (!recorded_.empty() && recorded_.front().kind == event_kind::started && journaling()) {
    if (auto m = core_.journal->effect_mark_of(rec_.id))
      resumed_mark_ = std::move(*m);
    else
      core_.log->warn("{}: cannot read its effect mark ({}); an effect run again is told attempt 1",
                      who(), describe(m.error()));
  }
  // A restarted task's new run numbers its events after the restart (its history keeps only what the
  // restart did not rewind, see journal::history): no seq is used twice.
  for (const auto& ev : recorded_)
    if (ev.kind == event_kind::restarted)
      floor_seq_ = std::max(floor_seq_, ev.seq + 1);
  // Only effects are replayed; a journaled end would mean the task is not unfinished.
  std::erase_if(recorded_, [](const event& ev) {
    return ev.kind == event_kind::started || ev.kind == event_kind::completed ||
           ev.kind == event_kind::failed || ev.kind == event_kind::routed ||
           ev.kind == event_kind::cancelled || ev.kind == event_kind::restarted;
  });
  if (!recorded_.empty())
    next_seq_ = recorded_.front().seq;
  else
    next_seq_ = std::max(next_seq_, floor_seq_);
  recorders_ = std::move(s.recorders);
  spawned_by_parent_ = s.spawned;
  // A shadowed task records its tree in memory, unless it resumes with a history (its shadow run then
  // reads the journal).
  if (shadow_ && recorded_.empty() && children_.empty()) {
    own_recording_ = std::make_shared<recording>();
    own_recording_->task = rec_.id;
    own_recording_->function = rec_.function;
    own_recording_->version = rec_.version;
    own_recording_->input = input_;
    recorders_.push_back(own_recording_);
  }
}

void task_runtime::record(const op& o, std::uint32_t seq, const std::string& text) {
  for (auto& r : recorders_)
    r->effects.push_back(recorded_effect{event_kind_of(o.kind), o.name, o.request, o.failed,
                                         o.result, text, rec_.id, seq});
}

task_runtime::~task_runtime() {
  if (holds_place_) // the actor went without before_exit (its system stopped): spawn nothing now
    core_.admitted.release(false);
}

bool task_runtime::journaling() const noexcept {
  return core_.journal != nullptr && !session_; // a session renders only what it reports
}

std::string task_runtime::who() const {
  return "task " + to_string(task_id{rec_.id}) + " (" + rec_.function + "@" + rec_.version + ")";
}

caf::actor task_runtime::handle() const {
  return caf::actor_cast<caf::actor>(self_);
}

eventlog::lsn task_runtime::append(event ev) {
  if (!core_.journal || session_)
    return 0;
  ev.task = rec_.id;
  ev.ts = now_ns();
  last_lsn_ = core_.journal->append(std::move(ev));
  return last_lsn_;
}

void task_runtime::start(caf::event_based_actor* self) {
  self_ = self;
  if (cancel_at_start_) {
    on_cancel();
    return;
  }
  try {
    running_ = fn_->start(ctx_, input_);
  } catch (const std::exception& e) {
    abort(make_error(errc::bad_input, who() + ": the journaled input does not decode as " +
                                        fn_->input_type_name() + ": " + e.what()));
    return;
  }
  resume(running_->handle());
}

void task_runtime::resume(std::coroutine_handle<> h) {
  if (gave_place_up_) { // it waited for a message, a timer or a child: it runs again
    gave_place_up_ = false;
    holds_place_ = true;
    core_.admitted.retake();
  }
  if (session_) {
    // A session's time bound counts the CPU its tasks use while they run (see replay_session).
    cpu_mark_ = thread_cpu();
    h.resume();
    session_->spend(thread_cpu() - cpu_mark_);
  } else {
    h.resume();
  }
  after_resume();
}

void task_runtime::after_resume() {
  if (abort_) {
    abort(std::exchange(abort_, caf::error{}));
    return;
  }
  if (running_ && running_->handle().done())
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
  if (cursor_ < recorded_.size() && replay(o))
    return true;
  if (abort_)
    return false;
  return std::nullopt;
}

// Answers `o` from the journal. Returns false when the journal has no answer (run live), or with abort_
// set when the code asks for something other than what the journal recorded.
bool task_runtime::replay(op& o) {
  if (o.kind == op_kind::log) {
    if (recorded_[cursor_].kind == event_kind::log) {
      consumed(recorded_[cursor_++].seq);
      return true; // already printed in the run that journaled it
    }
    core_.task_log->info("[{} {}@{}] {}", to_string(id()), rec_.function, rec_.version, o.text);
    return true; // a log line the journal does not have: print it, never journal mid-history
  }
  while (cursor_ < recorded_.size() && recorded_[cursor_].kind == event_kind::log)
    consumed(recorded_[cursor_++].seq); // logs are never compared
  if (cursor_ == recorded_.size())
    return false;
  auto& ev = recorded_[cursor_];
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
    core_.stats.effects_replayed.fetch_add(1, std::memory_order_relaxed);
  o.failed = ev.failed;
  o.result = std::move(ev.result);
  ++cursor_;
  consumed(ev.seq);
  if (o.kind == op_kind::spawn && !ev.failed && ev.ref != 0) {
    // A child spawned before the crash: it resumed on its own (or ended); hear of its end.
    auto& c = spawned_[ev.seq];
    c.id = ev.ref;
    c.function = ev.name;
    if (auto i = children_.find(ev.seq); i != children_.end())
      watch_child(ev.seq, i->second);
  } else if (o.kind == op_kind::join) {
    if (auto i = spawned_.find(static_cast<std::uint32_t>(decode_u64(o.request))); i != spawned_.end()) {
      i->second.joined = true;
      if (child_failure_ == i->first)
        child_failure_ = 0; // observed by this join
    }
  }
  return true;
}

void task_runtime::consumed(std::uint32_t seq) {
  next_seq_ = seq + 1;
  if (cursor_ >= recorded_.size())
    next_seq_ = std::max(next_seq_, floor_seq_);
}

caf::error task_runtime::exit_reason() const {
  return exit_reason_;
}

void task_runtime::on_detach() {
  if (finished_)
    return;
  if (pending_ != nullptr && pending_->kind == op_kind::effect && !session_ && !cancelling_) {
    // The engine stops. The handler cannot be interrupted and may already have acted: journal its
    // result when it comes, then detach, so the next engine does not run it again. (A detach during
    // a graceful stop is a supervisor's shutdown timeout: it detaches at once.)
    detach_waits_effect_ = true;
    return;
  }
  running_.reset();
  pending_ = nullptr;
  child_actor_ = nullptr;
  finished_ = true;
  outcome out;
  out.state = outcome_state::aborted;
  out.error = make_error(errc::engine_stopped, who() + " was detached: the engine stopped; it "
                                                       "resumes from its journal in the next engine");
  exit_reason_ = out.error;
  core_.finished(id(), std::move(out), parent_, rec_.parent_seq, completion_.get());
}

bool task_runtime::begin_live(op& o) {
  switch (o.kind) {
    case op_kind::now: {
      auto t = std::chrono::system_clock::now();
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
      o.result = encode_u64(static_cast<std::uint64_t>(ns));
      auto text = utc_text(ns);
      record(o, next_seq_, text);
      append(event{.seq = next_seq_++, .kind = event_kind::now, .result = o.result,
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
      record(o, next_seq_, text);
      append(event{.seq = next_seq_++, .kind = event_kind::random, .failed = o.failed,
                   .request = o.request, .result = o.result, .text = std::move(text)});
      return true;
    }
    case op_kind::log:
      core_.task_log->info("[{} {}@{}] {}", to_string(id()), rec_.function, rec_.version, o.text);
      append(event{.seq = next_seq_++, .kind = event_kind::log, .text = o.text});
      return true;
    case op_kind::effect:
      if (core_.fx.find(o.name) == nullptr) {
        abort_ = make_error(errc::unhandled_effect,
                            who() + " performed effect '" + o.name +
                              "', which has no handler installed (effects::handle<" +
                              type_name(*o.effect_type) + ">)");
      }
      return false;
    case op_kind::call:
      if (!prepare_call(o, o.version)) {
        append(event{.seq = next_seq_++, .kind = event_kind::call, .failed = true,
                     .name = o.name, .result = o.result, .text = o.text + " -> error: " + o.result});
        return true;
      }
      return false;
    case op_kind::spawn:
      return start_spawn(o);
    case op_kind::send:
      if (try_send(o, next_seq_)) {
        ++next_seq_;
        return true;
      }
      return false;
    default:
      break;
  }
  return false;
}

bool task_runtime::begin_receive(op& o) {
  if (auto answered = from_journal(o))
    return *answered;
  if (take_message(o, next_seq_)) {
    ++next_seq_;
    return true;
  }
  return false;
}

bool task_runtime::take_message(op& o, std::uint32_t seq) {
  auto load = [&core = core_](std::uint64_t target) {
    return core.journal ? core.journal->pending_messages(target)
                        : caf::expected<std::vector<eventlog::message_record>>{
                            std::vector<eventlog::message_record>{}};
  };
  auto m = core_.mail.take(rec_.id, handle(), seq, load);
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
  if (pending_ == nullptr || seq != pending_seq_ || pending_->kind != op_kind::receive)
    return;
  if (!take_message(*pending_, seq)) {
    if (abort_) {
      pending_ = nullptr;
      abort(std::exchange(abort_, caf::error{}));
    }
    return; // another receive took it first? (never: one task, one mailbox) — keep waiting
  }
  auto& o = *std::exchange(pending_, nullptr);
  resume(o.waiter);
}

bool task_runtime::try_send(op& o, std::uint32_t seq) {
  if (!core_.task_alive(o.target)) {
    o.failed = true;
    o.result = "cannot send to task " + o.name + ": it is not running";
    record(o, seq, "error: " + o.result);
    append(event{.seq = seq, .kind = event_kind::send, .failed = true, .name = o.name,
                 .request = o.request, .result = o.result, .text = "error: " + o.result});
    return true;
  }
  eventlog::message_record m;
  m.id = core_.ids.next().value();
  m.target = o.target;
  m.sender = rec_.id;
  m.sender_seq = seq;
  m.type = o.type;
  m.payload = o.request;
  m.text = o.text;
  // The journal's rendering, and the in-memory recording's: the same, so a shadow run of a live primary
  // reports what a replay from the journal reports.
  auto text = o.text + " -> task " + o.name + " (" + o.type + ")";
  auto res = core_.mail.post(
    m, core_.cfg.mailbox_capacity,
    [&](const eventlog::message_record& msg) {
      if (!core_.journal || session_)
        return;
      event ev{.task = rec_.id, .seq = seq, .kind = event_kind::send, .name = o.name,
               .ref = msg.id, .request = o.request, .text = text};
      ev.ts = now_ns();
      last_lsn_ = core_.journal->append_message(msg, std::move(ev));
    },
    handle(), seq);
  if (res == mailboxes::post_result::full)
    return false;
  record(o, seq, text);
  return true;
}

void task_runtime::on_mail_room(std::uint32_t seq) {
  if (pending_ == nullptr || seq != pending_seq_ || pending_->kind != op_kind::send)
    return;
  if (!try_send(*pending_, seq))
    return; // full again: told again when there is room
  auto& o = *std::exchange(pending_, nullptr);
  resume(o.waiter);
}

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
    record(o, next_seq_, text);
    append(event{.seq = next_seq_++, .kind = event_kind::sleep, .request = o.request,
                 .result = o.result, .text = std::move(text)});
  }
  sleep_until_ = deadline;
  return deadline <= now_ns();
}

void task_runtime::on_timer(std::uint32_t seq) {
  if (pending_ == nullptr || seq != pending_seq_)
    return;
  if (pending_->kind == op_kind::receive) { // timed out: journaled, so a replay times out there too
    core_.mail.stop_waiting(rec_.id);
    auto& o = *std::exchange(pending_, nullptr);
    o.result = std::string(1, '\0');
    auto text = "timed out (" + o.text + ")";
    record(o, seq, text);
    append(event{.seq = seq, .kind = event_kind::receive, .name = o.name, .request = o.request,
                 .result = o.result, .text = std::move(text)});
    resume(o.waiter);
    return;
  }
  if (pending_->kind != op_kind::sleep)
    return;
  auto& o = *std::exchange(pending_, nullptr);
  resume(o.waiter);
}

// In a session: logs are captured, leaf effects answered by the session, calls start children in it.
bool task_runtime::begin_in_session(op& o) {
  auto stop = [&] {
    abort_ = make_error(errc::nondeterminism, who() + " departed from the run it is compared with");
    return false;
  };
  // Charge what the task used so far, so a bound is noticed mid-run: every 32 ops (reading a thread's
  // CPU clock is a system call; replay speed is measured in bench (f)), starting with the first.
  if (session_ops_++ % 32 == 0) {
    auto now = thread_cpu();
    session_->spend(now - cpu_mark_);
    cpu_mark_ = now;
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

// A uniform draw in [0, n) (Lemire's multiply-shift with rejection) from a splitmix64 stream.
std::uint64_t task_runtime::draw(std::uint64_t n) {
  if (rng_state_ == 0)
    rng_state_ = core_.ids.seed() | 1;
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

// Routes a call and checks its types. On failure sets o.failed / o.result and returns false.
// Routes a call: in a session that fixes the function's version (replay), to that version unless the
// call is pinned; otherwise as any live call.
caf::expected<route_decision> task_runtime::route_call(const std::string& fn,
                                                       const std::string& pinned) const {
  if (session_ && pinned.empty())
    if (auto* v = session_->version_for(fn))
      return core_.route(fn, rec_.root, *v);
  return core_.route(fn, rec_.root, pinned);
}

bool task_runtime::prepare_call(op& o, const std::string& pinned) {
  auto route = route_call(o.name, pinned);
  if (!route) {
    o.failed = true;
    o.result = describe(route.error());
    return false;
  }
  const auto& entry = *route->entry;
  auto inv = static_cast<const invoker*>(entry.impl.get());
  o.version = entry.version;
  pending_route_ = *route;
  auto bytes = o.encode(inv->input_type());
  if (!bytes) {
    o.failed = true;
    o.result = "function '" + o.name + "' version '" + entry.version + "' takes " +
               inv->input_type_name() + ", not " + type_name(*o.input_type);
    return false;
  }
  if (*o.output_type != inv->output_type()) {
    o.failed = true;
    o.result = "function '" + o.name + "' version '" + entry.version + "' returns " +
               inv->output_type_name() + ", not " + type_name(*o.output_type);
    return false;
  }
  o.request = std::move(*bytes);
  return true;
}

void task_runtime::give_place_up() {
  // It waits for a timer, a message, a child or room in a mailbox: a task waiting for admission may
  // take its place (and may be the one it waits for). It takes one again in resume().
  if (!holds_place_)
    return;
  holds_place_ = false;
  gave_place_up_ = true;
  core_.admitted.release();
}

void task_runtime::suspend(op& o, std::coroutine_handle<> h) {
  o.waiter = h;
  if (abort_)
    return;
  if (o.kind == op_kind::sleep) { // its event is journaled (or replayed) already: wait for the deadline
    pending_ = &o;
    pending_seq_ = next_seq_ - 1;
    auto remaining = std::chrono::nanoseconds{std::max<std::int64_t>(sleep_until_ - now_ns(), 0)};
    self_->delayed_send(self_, remaining, timer_atom::value, pending_seq_);
    give_place_up();
    return;
  }
  pending_ = &o;
  pending_seq_ = next_seq_++;
  if (o.kind != op_kind::effect)
    give_place_up();
  switch (o.kind) {
    case op_kind::effect:
      dispatch_effect(o);
      break;
    case op_kind::receive: // registered as the mailbox's waiter by begin_receive
      if (auto ns = static_cast<std::int64_t>(decode_u64(o.request)); ns >= 0)
        self_->delayed_send(self_, std::chrono::nanoseconds{ns}, timer_atom::value, pending_seq_);
      break;
    case op_kind::send: // registered with the full mailbox by try_send
    case op_kind::join: // waits for the child's end (on_call_done)
      break;
    default:
      dispatch_call(o);
  }
}

void task_runtime::dispatch_effect(op& o) {
  auto* h = core_.fx.find(o.name);
  effect_context cx{id(), pending_seq_};
  // An effect whose mark is this one's was handed to its handler by an earlier engine, which stopped
  // before journaling the result: this is attempt mark + 1.
  if (auto m = std::exchange(resumed_mark_, std::nullopt); m && m->seq == cx.seq && m->name == o.name)
    cx.attempt = m->attempt + 1;
  // Durability rule: everything this task journaled so far is durable before the effect runs. The
  // pool holds the job until the journal reports that lsn committed. The effect's mark is appended
  // last, so its lsn covers the rest: durable before the handler runs, it tells a resumed engine
  // that this handler was started (DESIGN-NOTES §27).
  eventlog::lsn after = 0;
  if (core_.journal)
    after = core_.journal->mark_effect(
      eventlog::effect_mark{.task = rec_.id, .seq = cx.seq, .attempt = cx.attempt, .name = o.name});
  if (!effects_wanted_)
    effects_wanted_ = std::make_shared<std::atomic<bool>>(true);
  core_.pool->submit_after(after, [&core = core_, h, request = o.request, cx, self = handle(),
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
    core.stats.effects_executed.fetch_add(1, std::memory_order_relaxed);
    tell(self, effect_done_atom::value, cx.seq, failed, std::move(r.bytes),
                   std::move(r.text));
  });
}

void task_runtime::on_effect_done(std::uint32_t seq, bool failed, std::string payload,
                                  std::string text) {
  if (pending_ == nullptr || seq != pending_seq_)
    return;
  auto& o = *std::exchange(pending_, nullptr);
  o.failed = failed;
  o.result = std::move(payload);
  auto rendered = o.text + " -> " + text;
  record(o, seq, rendered);
  append(event{.seq = seq, .kind = event_kind::effect, .failed = failed, .name = o.name,
               .request = std::move(o.request), .result = o.result, .text = std::move(rendered)});
  if (cancelling_) { // cancelled while the handler ran: its result is journaled, the task ends here
    cancel_waits_effect_ = false;
    maybe_end_cancelled();
    return;
  }
  if (detach_waits_effect_) { // the engine stops: the result is journaled, the task detaches here
    detach_waits_effect_ = false;
    on_detach();
    return;
  }
  resume(o.waiter);
}

void task_runtime::dispatch_call(op& o) {
  if (auto i = children_.find(pending_seq_); i != children_.end()) {
    // Resumed: the child was started before the crash; wait for it instead of starting another.
    if (i->second.function != o.name) {
      // Reported by after_resume(), once the coroutine has fully suspended.
      abort_ = make_error(errc::nondeterminism,
                          who() + " diverged from its journal at seq " +
                            std::to_string(pending_seq_) + ": the journal started a child of " +
                            i->second.function + ", the code calls " + o.name);
      return;
    }
    attach_child(i->second);
    return;
  }
  pending_child_ = start_child(o, pending_seq_, child_actor_);
}

std::uint64_t task_runtime::start_child(const op& o, std::uint32_t seq, caf::actor& actor) {
  auto route_entry = core_.routes.find(o.name, o.version);
  auto inv = std::static_pointer_cast<const invoker>(route_entry->impl);
  eventlog::task_record child;
  child.id = session_ ? session_->next_child_id([this] { return core_.ids.next().value(); })
                     : core_.ids.next().value();
  for (auto& r : recorders_) // a shadow run of this tree's recording takes the same ids
    r->children.push_back(child.id);
  child.parent = rec_.id;
  child.root = rec_.root;
  child.parent_seq = seq;
  child.function = o.name;
  child.version = o.version;
  child.input_type = inv->input_type_name();
  child.created = now_ns();
  child.route = describe(pending_route_);
  auto id = child.id;
  eventlog::lsn created = 0;
  if (core_.journal && !session_)
    created = core_.journal->append_task(child, o.request, o.text);
  setup s;
  s.session = session_;
  s.rec = std::move(child);
  s.fn = std::move(inv);
  s.entry = route_entry;
  s.input = o.request;
  s.created_lsn = created;
  s.parent = handle(); // the child reports straight to this actor
  if (core_.journal && !session_) // no shadow runs inside shadow runs
    s.shadow = pending_route_.shadow;
  s.recorders = recorders_;
  s.spawned = o.kind == op_kind::spawn;
  actor = core_.spawn(std::make_unique<task_runtime>(core_, std::move(s)));
  return id;
}

bool task_runtime::start_spawn(op& o) {
  auto seq = next_seq_++;
  auto fail = [&](std::string why) {
    o.failed = true;
    o.result = std::move(why);
    append(event{.seq = seq, .kind = event_kind::spawn, .failed = true, .name = o.name,
                 .result = o.result, .text = o.text + " -> error: " + o.result});
    return true;
  };
  if (!prepare_call(o, o.version))
    return fail(o.result);
  if (child_failure_ != 0) // a sibling failed: the nursery takes no new children
    return fail("a sibling failed: " + failure_text(spawned_[child_failure_]));
  // The tree no longer runs in one order: a shadow run compares it from the journal, depth-first.
  for (auto& r : recorders_)
    r->concurrent = true;
  auto& c = spawned_[seq];
  c.function = o.name + "@" + o.version;
  if (auto i = children_.find(seq); i != children_.end()) {
    c.id = i->second.id; // started before a crash, its spawn event lost: the same child
    watch_child(seq, i->second);
  } else {
    c.id = start_child(o, seq, c.actor);
  }
  o.result = encode_u64(seq) + encode_u64(c.id);
  append(event{.seq = seq, .kind = event_kind::spawn, .name = c.function, .ref = c.id,
               .request = o.request, .result = o.result,
               .text = o.text + " -> task " + to_string(task_id{c.id})});
  return true;
}

bool task_runtime::begin_join(op& o) {
  if (auto answered = from_journal(o))
    return *answered;
  auto seq = static_cast<std::uint32_t>(decode_u64(o.request));
  auto i = spawned_.find(seq);
  if (i == spawned_.end() || i->second.id != o.target) {
    o.failed = true;
    o.result = "task " + o.name + " is not a child " + who() + " spawned";
    return true;
  }
  if (i->second.ended) {
    finish_join(o, i->second, next_seq_++);
    return true;
  }
  join_seq_ = seq;
  return false;
}

void task_runtime::finish_join(op& o, spawned_child& c, std::uint32_t seq) {
  c.joined = true;
  std::string text;
  if (c.state == outcome_state::completed) {
    o.result = c.payload;
    text = c.text;
  } else {
    o.failed = true;
    o.result = failure_text(c);
    text = "error: " + o.result;
  }
  if (child_failure_ != 0 && spawned_[child_failure_].id == c.id)
    child_failure_ = 0; // observed: the caller handles it (or fails with it)
  append(event{.seq = seq, .kind = event_kind::join, .failed = o.failed, .name = o.name, .ref = c.id,
               .request = o.request, .result = o.result, .text = std::move(text)});
}

std::string task_runtime::failure_text(const spawned_child& c) const {
  return c.state == outcome_state::failed ? c.payload : describe(c.error);
}

void task_runtime::cancel_child(std::uint32_t seq) {
  auto i = spawned_.find(seq);
  if (i == spawned_.end() || i->second.ended || session_)
    return;
  i->second.cancel_requested = true;
  if (i->second.actor)
    tell(i->second.actor, cancel_atom::value);
  else
    core_.cancel_running(task_id{i->second.id}); // resumed on its own: through the registry
}

void task_runtime::on_spawned_done(std::uint32_t seq, spawned_child& c, outcome out) {
  c.ended = true;
  c.actor = nullptr;
  c.state = out.state;
  c.payload = std::move(out.payload);
  c.text = std::move(out.text);
  c.error = std::move(out.error);
  bool cancelled = c.state == outcome_state::aborted && c.error &&
                   c.error.category() == caf::atom("actors") &&
                   c.error.code() == static_cast<std::uint8_t>(errc::cancelled);
  if (c.state != outcome_state::completed && !cancelled && child_failure_ == 0 && !finished_) {
    child_failure_ = seq; // the first failure cancels the running siblings
    for (auto& [s, sib] : spawned_)
      if (s != seq && !sib.ended)
        cancel_child(s);
  }
  if (finished_)
    return;
  if (cancelling_) {
    maybe_end_cancelled();
    return;
  }
  if (pending_ != nullptr && pending_->kind == op_kind::join && join_seq_ == seq) {
    auto& o = *std::exchange(pending_, nullptr);
    finish_join(o, c, pending_seq_);
    resume(o.waiter);
    return;
  }
  if (nursery_waiting_ && std::all_of(spawned_.begin(), spawned_.end(),
                                      [](const auto& kv) { return kv.second.ended; }))
    complete();
}

void task_runtime::attach_child(const eventlog::task_record& child) {
  pending_child_ = child.id;
  watch_child(pending_seq_, child);
}

void task_runtime::watch_child(std::uint32_t seq, const eventlog::task_record& child) {
  auto self = handle();
  auto deliver = [self, seq](const outcome& out) {
    tell(self, call_done_atom::value, seq, static_cast<std::uint8_t>(out.state),
                   out.payload, out.text, out.error);
  };
  if (core_.completions.on_complete(task_id{child.id}, deliver))
    return;
  // Not running in this engine: it finished before the crash (read its end), or it cannot resume.
  outcome out;
  auto evs = core_.journal ? core_.journal->events(child.id)
                           : caf::expected<std::vector<event>>{std::vector<event>{}};
  if (!evs) {
    out.state = outcome_state::aborted;
    out.error = evs.error();
  } else if (!evs->empty() && evs->back().kind == event_kind::completed) {
    out.payload = evs->back().result;
    out.text = evs->back().text;
  } else if (!evs->empty() && evs->back().kind == event_kind::failed) {
    out.state = outcome_state::failed;
    out.payload = evs->back().result;
    out.text = evs->back().text;
  } else if (!evs->empty() && evs->back().kind == event_kind::cancelled) {
    out.state = outcome_state::aborted;
    out.error = make_error(errc::cancelled, "task " + to_string(task_id{child.id}) + " (" +
                                              child.function + "@" + child.version + ") was cancelled");
  } else {
    out.state = outcome_state::aborted;
    out.error = make_error(errc::not_resumable,
                           who() + " waits for child task " + to_string(task_id{child.id}) + " (" +
                             child.function + "@" + child.version +
                             "), which is unfinished and not registered in this engine");
  }
  deliver(out);
}

void task_runtime::on_call_done(std::uint32_t seq, std::uint8_t state, std::string payload,
                                std::string text, caf::error err) {
  if (auto i = spawned_.find(seq); i != spawned_.end()) {
    if (!i->second.ended)
      on_spawned_done(seq, i->second,
                      outcome{static_cast<outcome_state>(state), std::move(payload), std::move(text),
                              std::move(err)});
    return;
  }
  if (pending_ == nullptr || seq != pending_seq_)
    return;
  if (pending_->kind == op_kind::spawn) { // in a session: the spawned child ran to its end
    auto& c = spawned_[seq];
    c.id = pending_child_;
    c.function = pending_->name + "@" + pending_->version;
    on_spawned_done(seq, c, outcome{static_cast<outcome_state>(state), std::move(payload),
                                    std::move(text), std::move(err)});
    child_actor_ = nullptr;
    auto& o = *std::exchange(pending_, nullptr);
    o.result = encode_u64(seq) + encode_u64(c.id);
    resume(o.waiter);
    return;
  }
  child_actor_ = nullptr;
  if (cancelling_) { // the child this task waited for has ended: now this task
    cancel_waits_call_ = false;
    maybe_end_cancelled();
    return;
  }
  auto& o = *std::exchange(pending_, nullptr);
  if (static_cast<outcome_state>(state) == outcome_state::aborted) {
    abort(std::move(err));
    return;
  }
  o.failed = static_cast<outcome_state>(state) == outcome_state::failed;
  o.result = std::move(payload);
  append(event{.seq = seq, .kind = event_kind::call, .failed = o.failed,
               .name = o.name + "@" + o.version, .ref = pending_child_,
               .request = std::move(o.request), .result = o.result,
               .text = o.text + " -> " + (o.failed ? "error: " + text : text)});
  resume(o.waiter);
}

void task_runtime::on_cancel(bool graceful) {
  if (finished_ || cancelling_)
    return;
  cancelling_ = true;
  // Its children end first (they never outlive it): spawned ones, and the one it calls.
  for (auto& [seq, c] : spawned_)
    if (!c.ended)
      cancel_child(seq);
  if (graceful && pending_ != nullptr && pending_->kind == op_kind::effect) {
    // An effect handler cannot be interrupted: journal its result when it comes, then end. A task
    // resumed later (a supervisor's restart) does not run it again.
    cancel_waits_effect_ = true;
  }
  if (pending_ != nullptr && pending_->kind == op_kind::call && pending_child_ != 0) {
    if (child_actor_) {
      tell(child_actor_, cancel_atom::value);
      cancel_waits_call_ = true;
    } else if (core_.cancel_running(task_id{pending_child_})) { // a resumed child: a registry entry
      cancel_waits_call_ = true;
    } // else it is not running here: nothing to wait for
  }
  maybe_end_cancelled();
}

void task_runtime::maybe_end_cancelled() {
  if (cancel_waits_call_ || cancel_waits_effect_)
    return;
  if (std::any_of(spawned_.begin(), spawned_.end(), [](const auto& kv) { return !kv.second.ended; }))
    return;
  end_cancelled();
}

void task_runtime::end_cancelled() {
  if (finished_)
    return;
  drop_pending_effects();
  running_.reset();
  pending_ = nullptr;
  child_actor_ = nullptr;
  finished_ = true;
  close_mailbox();
  outcome out;
  out.state = outcome_state::aborted;
  out.error = make_error(errc::cancelled, who() + " was cancelled");
  if (session_) {
    end_in_session(std::move(out));
    return;
  }
  core_.log->info("{} cancelled", who());
  if (!core_.journal) {
    core_.finished(id(), std::move(out), parent_, rec_.parent_seq, completion_.get());
    return;
  }
  // Cancelled while it replays its history, the task ends after the whole history: its end must not take
  // a seq a journaled event already has.
  for (std::size_t i = cursor_; i < recorded_.size(); ++i)
    next_seq_ = std::max(next_seq_, recorded_[i].seq + 1);
  auto lsn = append(event{.seq = next_seq_++, .kind = event_kind::cancelled, .text = "cancelled"});
  core_.journal->when_durable(lsn, [&core = core_, id = id(), out = std::move(out), parent = parent_,
                                    seq = rec_.parent_seq](const caf::error&) mutable {
    core.finished(id, std::move(out), parent, seq);
  });
}

void task_runtime::drop_pending_effects() {
  if (effects_wanted_)
    effects_wanted_->store(false, std::memory_order_release);
}

void task_runtime::on_journal_error(std::string message) {
  abort(make_error(errc::journal_failure, who() + " stopped: the journal failed: " + message));
}

bool task_runtime::ended_before_its_history() {
  while (cursor_ < recorded_.size() && recorded_[cursor_].kind == event_kind::log)
    consumed(recorded_[cursor_++].seq); // logs are never compared
  if (cursor_ == recorded_.size())
    return false;
  // The code ended (returned or threw) where its journal goes on: a deterministic task cannot, a
  // damaged or edited journal (or code changed under a resumed task) can. As at any divergence nothing
  // is journaled — its end would take a seq the history already uses — and the task stays unfinished.
  auto ep = running_->error();
  const auto& ev = recorded_[cursor_];
  abort(make_error(errc::nondeterminism,
                   who() + " diverged from its journal at seq " + std::to_string(ev.seq) + " (the code " +
                     (ep ? "failed: " + exception_message(ep) : std::string{"completed"}) +
                     "): the journal has " + describe_journaled(view(ev)) + " there"));
  return true;
}

void task_runtime::complete() {
  // Nursery: the task ends after its spawned children. Failing (or after a child failed), it cancels
  // those still running first.
  if (std::any_of(spawned_.begin(), spawned_.end(), [](const auto& kv) { return !kv.second.ended; })) {
    if (!nursery_waiting_ && (running_->error() || child_failure_ != 0))
      for (auto& [seq, c] : spawned_)
        if (!c.ended)
          cancel_child(seq);
    nursery_waiting_ = true;
    return;
  }
  if (ended_before_its_history())
    return;
  event ev;
  ev.seq = next_seq_++;
  outcome out;
  std::exception_ptr ep = running_->error();
  if (!ep && child_failure_ != 0) { // a child's failure nobody observed is this task's failure
    auto& c = spawned_[child_failure_];
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
    ev.result = running_->output_bytes();
    if (core_.journal)
      ev.text = running_->output_text();
    out.payload = ev.result;
    out.text = ev.text;
  }
  running_.reset();
  finished_ = true;
  close_mailbox();
  if (session_) {
    end_in_session(std::move(out));
    return;
  }
  if (!core_.journal) {
    core_.finished(id(), std::move(out), parent_, rec_.parent_seq, completion_.get());
    return;
  }
  std::optional<shadow_run> shadow;
  if (shadow_) {
    if (own_recording_ && own_recording_->concurrent)
      own_recording_.reset(); // read back from the journal, in depth-first order
    shadow = shadow_run{rec_.id, rec_.root, rec_.version, shadow_, std::move(own_recording_)};
    if (auto& r = shadow->recorded) {
      r->failed = ev.kind == event_kind::failed;
      r->output = ev.result;
      r->output_text = ev.text;
    }
  }
  auto lsn = append(std::move(ev));
  // Durability rule: the result is reported only once it is durable.
  core_.journal->when_durable(lsn, [&core = core_, id = id(), out = std::move(out),
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
      core.finished(id, std::move(out), parent, seq, entry.get());
      return;
    }
    // The caller hears first; the shadow run starts after. Held in flight in between for drain().
    core.work.enter();
    core.finished(id, std::move(out), parent, seq, entry.get());
    core.shadows.launch(std::move(*shadow));
    core.work.leave();
  });
}

void task_runtime::close_mailbox() {
  // A supervised task keeps its mailbox while its supervisor may restart it.
  if (!session_ && !core_.supervised(rec_.id))
    core_.mail.close(rec_.id);
}

void task_runtime::end_in_session(outcome out) {
  if (parent_)
    tell(parent_, call_done_atom::value, rec_.parent_seq,
                   static_cast<std::uint8_t>(out.state), std::move(out.payload),
                   std::move(out.text), std::move(out.error));
  else
    session_->finish(out);
  core_.work.leave();
}

void task_runtime::before_exit() {
  if (std::exchange(holds_place_, false))
    core_.admitted.release();
  if (session_ || rec_.parent != 0)
    return; // only roots (and supervised tasks, which are roots) have completion entries
  if (auto c = completion_ ? completion_ : core_.completions.find(id()))
    c->actor_quits(self_->address());
}

void task_runtime::abort(caf::error err) {
  if (finished_)
    return;
  drop_pending_effects();
  if (!session_)
    core_.log->warn("{}", describe(err)); // a session reports its own divergence
  running_.reset();
  pending_ = nullptr;
  finished_ = true;
  close_mailbox();
  exit_reason_ = err;
  outcome out;
  out.state = outcome_state::aborted;
  out.error = std::move(err);
  if (session_)
    end_in_session(std::move(out));
  else
    core_.finished(id(), std::move(out), parent_, rec_.parent_seq, completion_.get());
}

} // namespace actors::detail
