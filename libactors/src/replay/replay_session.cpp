#include "replay/replay_session.hpp"

#include <fmt/format.h>

#include "actors/errc.hpp"
#include "actors/eventlog/journal.hpp"

namespace actors::detail {

namespace {

using eventlog::event_kind;

constexpr int max_call_depth = 1000;

std::string task_text(std::uint64_t id) {
  return "task " + to_string(task_id{id});
}

/// Appends the leaf effects of `task` (whose events are `evs`) and, depth-first, of every child it
/// called.
caf::error flatten(eventlog::journal& j, std::uint64_t task, std::vector<eventlog::event>& evs,
                   int depth, recording& out) {
  if (depth > max_call_depth)
    return make_error(errc::bad_input, task_text(task) + ": call tree deeper than " +
                                         std::to_string(max_call_depth) + " levels");
  ++out.tasks;
  out.events += evs.size();
  for (auto& ev : evs) {
    switch (ev.kind) {
      case event_kind::now:
      case event_kind::random:
      case event_kind::effect:
      case event_kind::sleep:
      case event_kind::send:
      case event_kind::receive:
        out.effects.push_back(recorded_effect{ev.kind, std::move(ev.name), std::move(ev.request),
                                              ev.failed, std::move(ev.result), std::move(ev.text),
                                              task, ev.seq});
        break;
      case event_kind::call:
      case event_kind::spawn: // a spawned child's effects count where it was spawned (sessions run it there)
        // A call that never started a child (it failed to route) made no effect.
        if (ev.ref != 0) {
          if (auto at = ev.name.rfind('@'); at != std::string::npos) // "function@version"
            out.versions.emplace(ev.name.substr(0, at), ev.name.substr(at + 1));
          out.children.push_back(ev.ref);
          auto child = j.events(ev.ref);
          if (!child)
            return std::move(child.error());
          *child = eventlog::journal::history(std::move(*child));
          bool cancelled = ev.kind == event_kind::spawn && !child->empty() &&
                           child->back().kind == event_kind::cancelled;
          std::string function = cancelled ? ev.name.substr(0, ev.name.rfind('@')) : std::string{};
          if (auto err = flatten(j, ev.ref, *child, depth + 1, out))
            return err;
          if (cancelled) // where the child stopped: a session's child stops there too
            out.effects.push_back(recorded_effect{event_kind::cancelled, std::move(function), {}, false,
                                                  {}, "(" + task_text(ev.ref) + " was cancelled here)",
                                                  ev.ref, child->back().seq});
        }
        break;
      default:
        break; // started, log, routed; the end is read by the caller
    }
  }
  return {};
}

/// A failure message without the "call to F@V failed: " and "spawned child task ID (F@V) failed: "
/// prefixes that calls and spawns add on the way up: calls are transparent, so a caller that fails
/// because its callee failed fails the same way (and a replay's children have ids of their own).
std::string_view innermost(std::string_view msg) {
  constexpr std::string_view call_head = "call to ";
  constexpr std::string_view spawn_head = "spawned child task ";
  constexpr std::string_view tail = " failed: ";
  for (;;) {
    auto end = msg.find(tail);
    if (end == std::string_view::npos)
      break;
    auto between = msg.substr(0, end);
    if (between.starts_with(call_head)) {
      if (between.substr(call_head.size()).find(' ') != std::string_view::npos)
        break; // "call to F@V" has no space in F@V
    } else if (between.starts_with(spawn_head)) {
      auto rest = between.substr(spawn_head.size()); // "ID (F@V)"
      if (rest.find(' ') != 16 || !rest.ends_with(")") || rest.substr(17).find(' ') != std::string_view::npos)
        break;
    } else {
      break;
    }
    msg.remove_prefix(end + tail.size());
  }
  return msg;
}

std::string effects_text(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " effect" : " effects");
}

} // namespace

caf::expected<recording> read_recording(eventlog::journal& j, std::uint64_t task) {
  auto rec = j.find_task(task);
  if (!rec)
    return std::move(rec.error());
  if (!*rec)
    return make_error(errc::unknown_task, "no " + task_text(task) + " in journal '" + j.path() + "'");
  auto evs = j.events(task);
  if (!evs)
    return std::move(evs.error());
  *evs = eventlog::journal::history(std::move(*evs)); // the run that ended, without rewound runs
  auto name = task_text(task) + " (" + (*rec)->function + "@" + (*rec)->version + ")";
  if (evs->empty() || evs->front().kind != event_kind::started)
    return make_error(errc::bad_input, name + " has no started event in its journal");
  auto& last = evs->back();
  if (last.kind == event_kind::cancelled)
    return make_error(errc::cancelled, name + " was cancelled: its recording has no end to compare with");
  if (last.kind != event_kind::completed && last.kind != event_kind::failed)
    return make_error(errc::not_resumable, name + " has not finished: nothing to compare with");
  recording out;
  out.task = task;
  out.function = (*rec)->function;
  out.version = (*rec)->version;
  out.root = (*rec)->root;
  out.input_type = (*rec)->input_type;
  out.input = evs->front().request;
  out.failed = last.kind == event_kind::failed;
  out.output = last.result;
  out.output_text = last.text;
  out.versions.emplace(out.function, out.version);
  if (auto err = flatten(j, task, *evs, 0, out))
    return err;
  return out;
}

replay_session::replay_session(recording rec, session_options opts)
  : rec_(std::move(rec)), opts_(std::move(opts)) {}

const std::string* replay_session::version_for(std::string_view function) const {
  auto i = opts_.versions.find(function);
  return i == opts_.versions.end() ? nullptr : &i->second;
}

void replay_session::spend(std::chrono::nanoseconds cpu) {
  std::lock_guard guard{mx_};
  spent_ += cpu;
}

bool replay_session::diverge_locked(std::int64_t position, std::string what, std::string recorded,
                                    std::string replayed) {
  if (!divergence_)
    divergence_ = divergence_point{position, std::move(what), std::move(recorded),
                                   std::move(replayed)};
  return false;
}

bool replay_session::expired() {
  std::lock_guard guard{mx_};
  if (divergence_)
    return divergence_->what == "timeout";
  if (spent_ <= opts_.cpu_bound)
    return false;
  auto ms = [](std::chrono::nanoseconds d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  diverge_locked(static_cast<std::int64_t>(cursor_), "timeout",
                 fmt::format("(a run may use {} ms of CPU time)", ms(opts_.cpu_bound)),
                 fmt::format("(used {} ms of CPU time, after {})", ms(spent_), effects_text(cursor_)));
  return true;
}

replay_session::answer_kind replay_session::answer(op& o, const asker& who) {
  if (expired())
    return answer_kind::diverged;
  std::lock_guard guard{mx_};
  if (divergence_)
    return answer_kind::diverged;
  auto pos = static_cast<std::int64_t>(cursor_);
  if (cursor_ == rec_.effects.size()) {
    diverge_locked(pos, "extra effect", "(none: the recording made " + effects_text(cursor_) + ")",
                   describe_asked(o));
    return answer_kind::diverged;
  }
  const auto& e = rec_.effects[cursor_];
  auto recorded = e.view();
  // Not an effect: the mark where a spawned child stopped, cancelled (sessions only, see the matcher).
  bool mark = e.kind == event_kind::cancelled;
  auto m = mark ? match_cancelled(who, recorded) : match(o, recorded);
  if (!m.ok()) {
    diverge_locked(pos, std::string{m.diff->what}, describe_journaled(recorded), describe_asked(o));
    return answer_kind::diverged;
  }
  ++cursor_;
  if (mark)
    return answer_kind::cancelled;
  o.failed = e.failed;
  o.result = e.result;
  return answer_kind::answered;
}

std::uint64_t replay_session::next_child_id(const std::function<std::uint64_t()>& fresh) {
  {
    std::lock_guard guard{mx_};
    if (child_cursor_ < rec_.children.size())
      return rec_.children[child_cursor_++];
  }
  return fresh();
}

void replay_session::log(std::string line) {
  std::lock_guard guard{mx_};
  logs_.push_back(std::move(line));
}

void replay_session::finish(const outcome& out) {
  compare_end(out);
  {
    std::lock_guard guard{mx_};
    ended_ = out;
  }
  if (opts_.on_end)
    opts_.on_end(*this);
}

std::optional<outcome> replay_session::ended() const {
  std::lock_guard guard{mx_};
  return ended_;
}

void replay_session::compare_end(const outcome& out) {
  if (expired())
    return;
  std::lock_guard guard{mx_};
  if (divergence_)
    return;
  auto ended = [&] {
    return out.state == outcome_state::failed ? "error: " + out.payload : "output " + out.text;
  };
  auto recorded_end = [&] {
    return rec_.failed ? "error: " + rec_.output : "output " + rec_.output_text;
  };
  if (out.state == outcome_state::aborted) {
    diverge_locked(static_cast<std::int64_t>(cursor_), "error", recorded_end(),
                   "stopped: " + describe(out.error));
    return;
  }
  bool run_failed = out.state == outcome_state::failed;
  if (cursor_ < rec_.effects.size()) {
    // The run ended where the recording went on: by throwing (an error), or early.
    diverge_locked(static_cast<std::int64_t>(cursor_), run_failed ? "error" : "missing effect",
                   describe_journaled(rec_.effects[cursor_].view()),
                   run_failed ? ended() + " (after " + effects_text(cursor_) + ")"
                              : "(none: the run ended after " + effects_text(cursor_) + ", with " +
                                  ended() + ")");
    return;
  }
  if (run_failed == rec_.failed &&
      (run_failed ? innermost(out.payload) == innermost(rec_.output) : out.payload == rec_.output))
    return; // a match
  diverge_locked(-1, run_failed ? "error" : "output", recorded_end(), ended());
}

std::optional<divergence_point> replay_session::divergence() const {
  std::lock_guard guard{mx_};
  return divergence_;
}

std::vector<std::string> replay_session::logs() const {
  std::lock_guard guard{mx_};
  return logs_;
}

std::size_t replay_session::answered() const {
  std::lock_guard guard{mx_};
  return cursor_;
}

} // namespace actors::detail
