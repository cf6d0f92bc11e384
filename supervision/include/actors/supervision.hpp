#pragma once
// actors::supervision — OTP-style supervision of durable tasks (DESIGN §5). This header holds the
// supervisor's vocabulary and its pure decisions; `actors::engine::supervise` runs supervisors built on
// them (CAF actors monitoring their children; <actors/supervise.hpp> builds specs).
//
// Children (`supervisor_spec::children`, started in order, stopped in reverse order):
//   a worker      a durable task of a registered function with an input (`actors::worker(id, fn, in)`);
//                 its task id stays the same across restarts.
//   a supervisor  a nested supervisor (`actors::supervisor_child(id, spec)`); its failure (escalation)
//                 is its parent's child failure. Names are unique in the tree.
//
// Strategy (what a supervisor restarts when a child ends and must be restarted):
//   one_for_one   only that child.                                                  (default)
//   one_for_all   every child: the others are stopped in reverse start order, then all are started
//                 again in start order.
//   rest_for_one  that child and every child started after it (stopped in reverse start order,
//                 restarted in start order).
//   Temporary siblings stopped by one_for_all / rest_for_one are not restarted (as in OTP).
//
// Restart type (per child: when is it restarted?):
//   permanent     always, whatever the reason it ended.                             (default)
//   transient     only if it ended abnormally (failed: threw, was stopped by an error); a normal end
//                 (completed, or cancelled) is final.
//   temporary     never; its end is only reported.
//
// Restart intensity (per supervisor): at most `intensity` restarts within any `period`.
//   intensity     default 1 (OTP's default).  period: default 5 s (OTP's default).
//   One more restart inside the period makes the supervisor give up: it stops its children in reverse
//   start order and fails to its own parent (escalation, error `supervision.escalated`), which applies
//   its strategy in turn. A top-level supervisor that gives up ends as "failed".
//   The decision is `restart_intensity::record` — a pure function of the restart times, now and the
//   period, with the clock injected: exactly OTP's supervisor:add_restart.
//
// Back-off (per supervisor; OTP has none): a delay before each restart of a child, growing with the
// child's consecutive restarts: initial * factor^(n-1), capped at max, then spread by +/- jitter (a
// fraction, e.g. 0.1 = 10%). initial 0 (the default) restarts at once, as OTP does. The count starts
// over when the child ran longer than `period` since its last restart. Defaults: max 30 s, factor 2,
// jitter 0.
//
// Shutdown (per child: how it is stopped by its supervisor):
//   shutdown_policy::after(t)   ask it to stop and wait up to t for its end: a running effect handler
//                               may finish and its result is journaled (a restart does not run it
//                               again); past t the child is detached (stopped without a journaled end:
//                               the next engine on the journal resumes it). Default: after(5 s), OTP's
//                               default for workers.
//   shutdown_policy::immediately()  cancel it at once (OTP's brutal_kill); a running effect's result
//                               is dropped.
//
// Restart means resume (unlike OTP): a restarted worker resumes from its journal under the same task
// id, its effects answered from the journal. What is rewound: for a child that failed on a received
// message, that message (it is consumed, as OTP drops the message a process crashed on); for one that
// failed at a failed effect or call, that effect or call (retried); otherwise only its end. A child
// that completed, or whose spec sets `fresh_start`, starts again from its input. Messages sent to a
// child while it restarts wait in its mailbox.
//
// Specs are validated when given (`validate`), and a bad one is refused with an error naming the
// supervisor, the child and the field (error category atom "supervisor"); a running supervisor is never
// handed an invalid spec.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <typeinfo>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

namespace actors::supervision {

enum class errc : std::uint8_t {
  invalid_spec = 1, ///< A supervisor or child spec that cannot run; the message names the field.
  escalated,        ///< A supervisor gave up (restart intensity exceeded) and failed to its parent.
};

/// "invalid_spec".
std::string_view to_string(errc x) noexcept;

/// A `caf::error` of category "supervisor" whose context is `msg`.
caf::error make_error(errc x, std::string msg);

enum class strategy : std::uint8_t { one_for_one = 1, one_for_all, rest_for_one };
enum class restart_type : std::uint8_t { permanent = 1, transient, temporary };

/// "one_for_one", ...; "permanent", ...
std::string_view to_string(strategy x) noexcept;
std::string_view to_string(restart_type x) noexcept;

/// How a supervisor stops a child.
struct shutdown_policy {
  bool kill = false;                          ///< true: at once (brutal_kill)
  std::chrono::milliseconds timeout{5'000};   ///< otherwise: how long to wait for its end

  static shutdown_policy after(std::chrono::milliseconds t) { return {false, t}; }
  static shutdown_policy immediately() { return {true, {}}; }
};

/// Delays between restarts of a child. `initial` 0: none (OTP's behaviour).
struct backoff {
  std::chrono::milliseconds initial{0};
  std::chrono::milliseconds max{30'000};
  double factor = 2.0;
  double jitter = 0.0; ///< 0..1: the delay is spread uniformly over [d * (1 - jitter), d * (1 + jitter)]

  bool enabled() const noexcept { return initial.count() > 0; }
};

/// A supervisor's own settings.
struct supervisor_flags {
  supervision::strategy strategy = strategy::one_for_one;
  int intensity = 1;
  std::chrono::milliseconds period{5'000};
  supervision::backoff backoff;
};

struct supervisor_spec;

/// One child of a supervisor: a task of a registered function, or another supervisor. Build task
/// children with `actors::worker(id, function, input)` (<actors/supervise.hpp>), which fills the input.
struct child_spec {
  std::string id;        ///< unique among the supervisor's children
  std::string function;  ///< the registered function the child runs (task children)
  std::string version;   ///< empty: routed like any call
  restart_type restart = restart_type::permanent;
  shutdown_policy shutdown;
  bool fresh_start = false; ///< restart from the input instead of resuming from the journal
  /// The child's input, serialized as the function's input type `target` (nothing if it cannot be).
  std::function<std::optional<std::string>(const std::type_info& target)> input;
  const std::type_info* input_type = nullptr; ///< what `input` holds
  std::string input_text;                     ///< readable
  /// Set: this child is a supervisor (function and input unused).
  std::shared_ptr<const supervisor_spec> supervisor;
};

/// A supervisor: a name unique in its engine, its flags and its children in start order.
struct supervisor_spec {
  std::string name;
  supervisor_flags flags;
  std::vector<child_spec> children;
};

/// Checks the flags: intensity >= 0, period > 0, a sane back-off.
caf::error validate(const supervisor_flags& f);
/// Checks one child: an id, a function, a positive shutdown timeout.
caf::error validate(const child_spec& c);
/// Checks flags and children together: each child, and that ids are unique.
caf::error validate(const supervisor_flags& f, const std::vector<child_spec>& children);
/// Checks a whole tree: a name, flags, children, nested supervisors, names unique in the tree.
caf::error validate(const supervisor_spec& s);

/// The restart-intensity decision (OTP's supervisor:add_restart): keeps the times of the restarts
/// within the period and says whether one more is allowed. Pure: time comes from the caller.
class restart_intensity {
public:
  using clock = std::chrono::steady_clock;

  restart_intensity(int intensity, std::chrono::milliseconds period)
    : intensity_(intensity), period_(period) {}

  /// Records a restart at `now`. Returns true if it is allowed; false if it makes more than
  /// `intensity` restarts within `period` (the supervisor must give up and escalate).
  bool record(clock::time_point now);

  /// Restarts recorded within the period ending at `now` (after the last `record`).
  std::size_t recent(clock::time_point now) const;

private:
  int intensity_;
  std::chrono::milliseconds period_;
  std::deque<clock::time_point> restarts_; ///< newest first
};

/// The delay before a child's `attempt`-th consecutive restart (1 = the first). `unit_random` in [0, 1)
/// places the delay within the jitter band (injected, so the progression is testable).
std::chrono::milliseconds backoff_delay(const backoff& b, unsigned attempt, double unit_random);

} // namespace actors::supervision
