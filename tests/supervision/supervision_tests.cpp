// Supervision's pure decisions (OTP's supervisor.erl semantics), tested with an injected clock.

#include <chrono>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/supervision.hpp>

using namespace actors::supervision;
using namespace std::chrono_literals;
using clock_type = restart_intensity::clock;

TEST_CASE("restart intensity: at most `intensity` restarts within `period`, older ones forgotten",
          "[supervision][intensity]") {
  clock_type::time_point t0{};
  SECTION("OTP's defaults: 1 restart in 5 s") {
    supervisor_flags f;
    CHECK(f.intensity == 1);
    CHECK(f.period == 5s);
    restart_intensity ri{f.intensity, f.period};
    CHECK(ri.record(t0));              // the first restart is allowed
    CHECK_FALSE(ri.record(t0 + 4s));   // a second within 5 s: give up
  }
  SECTION("restarts older than the period no longer count") {
    restart_intensity ri{1, 5s};
    CHECK(ri.record(t0));
    CHECK(ri.record(t0 + 5s + 1ms));   // the first is now out of the period
    CHECK(ri.recent(t0 + 5s + 1ms) == 1);
  }
  SECTION("a restart exactly `period` after the last still counts (OTP: Now =< Then + Period)") {
    restart_intensity ri{1, 5s};
    CHECK(ri.record(t0));
    CHECK_FALSE(ri.record(t0 + 5s));
  }
  SECTION("3 in 10 s") {
    restart_intensity ri{3, 10s};
    CHECK(ri.record(t0));
    CHECK(ri.record(t0 + 1s));
    CHECK(ri.record(t0 + 2s));
    CHECK_FALSE(ri.record(t0 + 3s));   // the fourth within 10 s
    restart_intensity later{3, 10s};
    CHECK(later.record(t0));
    CHECK(later.record(t0 + 4s));
    CHECK(later.record(t0 + 8s));
    CHECK(later.record(t0 + 12s));     // t0 left the window: 4 s, 8 s, 12 s
    CHECK(later.recent(t0 + 12s) == 3);
  }
  SECTION("intensity 0: no restart at all") {
    restart_intensity ri{0, 5s};
    CHECK_FALSE(ri.record(t0));
  }
}

TEST_CASE("back-off grows by its factor from the initial delay, is capped, and jitter spreads it",
          "[supervision][backoff]") {
  backoff none;
  CHECK_FALSE(none.enabled());
  CHECK(backoff_delay(none, 3, 0.5) == 0ms); // OTP's behaviour: restart at once

  backoff b{100ms, 1'000ms, 2.0, 0.0};
  CHECK(backoff_delay(b, 1, 0.5) == 100ms);
  CHECK(backoff_delay(b, 2, 0.5) == 200ms);
  CHECK(backoff_delay(b, 3, 0.5) == 400ms);
  CHECK(backoff_delay(b, 4, 0.5) == 800ms);
  CHECK(backoff_delay(b, 5, 0.5) == 1'000ms); // capped
  CHECK(backoff_delay(b, 50, 0.5) == 1'000ms);

  backoff j{100ms, 1'000ms, 2.0, 0.1};
  CHECK(backoff_delay(j, 2, 0.0) == 180ms);   // 200 ms - 10%
  CHECK(backoff_delay(j, 2, 0.5) == 200ms);
  CHECK(backoff_delay(j, 2, 1.0) == 220ms);   // 200 ms + 10%
}

namespace {

/// A task child spec with an input (what actors::child fills in).
child_spec with_input(child_spec c) {
  c.input = [](const std::type_info&) { return std::optional<std::string>{"x"}; };
  c.input_type = &typeid(int);
  return c;
}

} // namespace

TEST_CASE("specs are validated with errors naming the child and the field", "[supervision][spec]") {
  auto message = [](const caf::error& err) { return actors::describe(err); };
  supervisor_flags ok;
  child_spec a = with_input({.id = "session", .function = "session"});
  CHECK_FALSE(validate(ok, {a}));

  struct bad {
    supervisor_flags flags;
    std::vector<child_spec> children;
    const char* expect;
  };
  const bad cases[] = {
    {{.intensity = -1}, {a}, "intensity -1 is negative"},
    {{.period = 0ms}, {a}, "period 0 ms must be positive"},
    {{.backoff = {.initial = 100ms, .max = 50ms}}, {a}, "backoff.max 50 ms is below backoff.initial 100 ms"},
    {{.backoff = {.initial = 100ms, .factor = 0.5}}, {a}, "backoff.factor"},
    {{.backoff = {.initial = 100ms, .jitter = 1.5}}, {a}, "backoff.jitter"},
    {ok, {child_spec{.function = "session"}}, "child spec without an id (function 'session')"},
    {ok, {child_spec{.id = "poller"}}, "child 'poller': no function"},
    {ok, {with_input({.id = "poller", .function = "poll", .shutdown = shutdown_policy::after(0ms)})},
     "child 'poller': shutdown timeout 0 ms must be positive"},
    {ok, {child_spec{.id = "poller", .function = "poll"}}, "child 'poller': no input"},
    {ok, {with_input({.id = "both", .function = "poll", .supervisor = std::make_shared<supervisor_spec>()})},
     "child 'both': both a function and a supervisor"},
    {ok, {a, a}, "child 'session': another child has the same id"},
  };
  for (const auto& c : cases) {
    auto err = validate(c.flags, c.children);
    REQUIRE(err);
    INFO(message(err));
    CHECK(message(err).rfind("supervision.invalid_spec: ", 0) == 0);
    CHECK(message(err).find(c.expect) != std::string::npos);
  }
  CHECK_FALSE(validate(with_input({.id = "x", .function = "f", .shutdown = shutdown_policy::immediately()})));

  // whole trees: names, nesting, and the nested supervisor's problems named with its name
  auto inner = std::make_shared<supervisor_spec>(supervisor_spec{.name = "inner", .children = {a}});
  supervisor_spec tree{.name = "top", .children = {a, child_spec{.id = "sub", .supervisor = inner}}};
  CHECK_FALSE(validate(tree));
  CHECK(message(validate(supervisor_spec{})) == "supervision.invalid_spec: supervisor without a name");
  auto same = std::make_shared<supervisor_spec>(supervisor_spec{.name = "top"});
  CHECK(message(validate(supervisor_spec{.name = "top", .children = {child_spec{.id = "s", .supervisor = same}}}))
          .find("supervisor 'top': another supervisor in the tree has the same name") != std::string::npos);
  auto bad_inner = std::make_shared<supervisor_spec>(supervisor_spec{.name = "inner", .flags = {.intensity = -2}});
  CHECK(message(validate(supervisor_spec{.name = "top", .children = {child_spec{.id = "s", .supervisor = bad_inner}}}))
          .find("supervisor 'inner': supervisor: intensity -2 is negative") != std::string::npos);
  CHECK(to_string(strategy::rest_for_one) == "rest_for_one");
  CHECK(to_string(restart_type::transient) == "transient");
}
