// Live versions (DESIGN §11, issue 16 part B point 1): engine::add_version, retire and versions in a
// running engine — a version added while tasks run is routed to at once, a retired one gets no new
// work, and its tasks finish on it until it is drained.

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::temp_dir;
using namespace std::chrono_literals;

namespace {

task<std::string> greet_v1(ctx&, std::string who) {
  co_return "v1 hello " + who;
}

task<std::string> greet_v2(ctx&, std::string who) {
  co_return "v2 hello " + who;
}

// Waits for one message, then answers with its version's name: a task that stays on its version while
// the test retires it.
task<std::string> waiter_v1(ctx& cx, std::string who) {
  auto n = co_await cx.receive<std::int64_t>();
  co_return "v1 " + who + " " + std::to_string(n);
}

task<std::string> waiter_v2(ctx& cx, std::string who) {
  auto n = co_await cx.receive<std::int64_t>();
  co_return "v2 " + who + " " + std::to_string(n);
}

// A supervised child: fails on "poison", ends on anything else.
task<std::string> poisonable(ctx& cx, std::string who) {
  auto m = co_await cx.receive<std::string>();
  if (m == "poison")
    throw std::runtime_error(who + " took poison");
  co_return who + " " + m;
}

// The same function name with another input type.
task<std::string> greet_number(ctx&, std::int64_t n) {
  co_return std::to_string(n);
}

// Calls greet (routed), for children started by a task of a retired version.
task<std::string> caller(ctx& cx, std::string who) {
  co_return co_await cx.call<std::string>("greet", who);
}

engine_config journaled(const temp_dir& dir) {
  engine_config cfg;
  cfg.journal = dir.file("journal.db");
  return cfg;
}

const version_info* find_version(const std::vector<version_info>& vs, const std::string& v) {
  auto i = std::find_if(vs.begin(), vs.end(), [&](const version_info& x) { return x.version == v; });
  return i == vs.end() ? nullptr : &*i;
}

} // namespace

TEST_CASE("a version added to a running engine is routed to at once", "[live-versions]") {
  temp_dir dir;
  router r;
  r.add("greet", "v1", greet_v1);
  engine eng{journaled(dir), r, effects{}};
  REQUIRE_FALSE(eng.status());
  auto before = eng.start("greet", std::string{"ada"});
  REQUIRE(before);
  CHECK(eng.wait<std::string>(*before).value() == "v1 hello ada");

  REQUIRE(eng.add_version("greet", "v2", greet_v2));
  // Not the default (v1 was registered first), but pinned calls, policies and overrides may name it.
  auto pinned = eng.start("greet", std::string{"bob"}, version{"v2"});
  REQUIRE(pinned);
  CHECK(eng.wait<std::string>(*pinned).value() == "v2 hello bob");
  REQUIRE(eng.set_policy("greet", policy::primary("v2")));
  auto routed = eng.start("greet", std::string{"cy"});
  REQUIRE(routed);
  CHECK(eng.wait<std::string>(*routed).value() == "v2 hello cy");

  auto vs = eng.versions("greet");
  REQUIRE(vs.size() == 2);
  CHECK(vs[0].version == "v1");
  CHECK(vs[1].version == "v2");
  CHECK(vs[0].state == version_state::active);
  CHECK(vs[1].state == version_state::active);
  CHECK(vs[1].module == 0);
  CHECK(eng.routes().find("greet", "v2") != nullptr);

  // A function the engine did not have before.
  REQUIRE(eng.add_version("shout", "v1", greet_v2));
  auto fresh = eng.start("shout", std::string{"di"});
  REQUIRE(fresh);
  CHECK(eng.wait<std::string>(*fresh).value() == "v2 hello di");
  CHECK(eng.versions().size() == 3);
}

TEST_CASE("add_version refuses a duplicate, other types and bad names, naming them", "[live-versions]") {
  router r;
  r.add("greet", "v1", greet_v1);
  engine eng{engine_config{.journal_enabled = false}, r, effects{}};
  REQUIRE_FALSE(eng.status());

  auto dup = eng.add_version("greet", "v1", greet_v2);
  REQUIRE_FALSE(dup);
  CHECK(dup.error() == make_error(errc::version_exists, ""));
  CHECK_THAT(describe(dup.error()), Catch::Contains("'greet' already has a version 'v1'"));

  auto other = eng.add_version("greet", "v2", greet_number);
  REQUIRE_FALSE(other);
  CHECK(other.error() == make_error(errc::wrong_input_type, ""));
  CHECK_THAT(describe(other.error()), Catch::Contains("greet@v2 takes") &&
                                        Catch::Contains("greet@v1 takes"));

  auto bad = eng.add_version("greet", "v\n2", greet_v2);
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == make_error(errc::bad_input, ""));
  CHECK_THAT(describe(bad.error()), Catch::Contains("control character"));

  CHECK(eng.versions("greet").size() == 1); // nothing of the refused ones is left
}

TEST_CASE("retire is refused while a policy or an override names the version", "[live-versions]") {
  temp_dir dir;
  router r;
  r.add("greet", "v1", greet_v1).add("greet", "v2", greet_v2);
  engine eng{journaled(dir), r, effects{}};
  REQUIRE_FALSE(eng.status());

  REQUIRE(eng.set_policy("greet", policy::shadow("v1", "v2")));
  for (auto v : {"v1", "v2"}) {
    auto refused = eng.retire("greet", v);
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == make_error(errc::version_in_use, ""));
    CHECK_THAT(describe(refused.error()),
               Catch::Contains("routing policy of 'greet'") && Catch::Contains("shadow v1 -> v2"));
  }
  eng.clear_policy("greet");
  auto tree = eng.start("greet", std::string{"ada"});
  REQUIRE(tree);
  REQUIRE(eng.wait<std::string>(*tree));
  REQUIRE(eng.override_route(*tree, "greet", "v2"));
  auto by_override = eng.retire("greet", "v2");
  REQUIRE_FALSE(by_override);
  CHECK(by_override.error() == make_error(errc::version_in_use, ""));
  CHECK_THAT(describe(by_override.error()), Catch::Contains("override of 'greet'"));

  auto unknown = eng.retire("greet", "v9");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error() == make_error(errc::unknown_version, ""));
  auto no_fn = eng.retire("nope", "v1");
  REQUIRE_FALSE(no_fn);
  CHECK(no_fn.error() == make_error(errc::unknown_function, ""));
  CHECK(eng.versions("greet")[1].state == version_state::active);
}

TEST_CASE("a retired version gets no new work; its running task finishes on it, then it is drained",
          "[live-versions]") {
  temp_dir dir;
  router r;
  r.add("wait", "v1", waiter_v1);
  engine eng{journaled(dir), r, effects{}};
  REQUIRE_FALSE(eng.status());
  auto old_task = eng.start("wait", std::string{"old"});
  REQUIRE(old_task);

  REQUIRE(eng.add_version("wait", "v2", waiter_v2));
  REQUIRE(eng.retire("wait", "v1"));
  auto vs = eng.versions("wait");
  REQUIRE(find_version(vs, "v1") != nullptr);
  CHECK(find_version(vs, "v1")->state == version_state::draining);
  CHECK(find_version(vs, "v1")->tasks == 1);
  CHECK_FALSE(eng.await_drained("wait", "v1", 0ms));

  // New work goes to the first active version.
  auto new_task = eng.start("wait", std::string{"new"});
  REQUIRE(new_task);
  REQUIRE(eng.send(*new_task, std::int64_t{2}));
  CHECK(eng.wait<std::string>(*new_task).value() == "v2 new 2");

  // The old task is still on v1 and ends there.
  REQUIRE(eng.send(*old_task, std::int64_t{1}));
  CHECK(eng.wait<std::string>(*old_task).value() == "v1 old 1");
  CHECK(eng.await_drained("wait", "v1", 60s));
  vs = eng.versions("wait");
  CHECK(find_version(vs, "v1")->state == version_state::drained);
  CHECK(find_version(vs, "v1")->tasks == 0);
  CHECK(find_version(vs, "v2")->state == version_state::active);
  REQUIRE(eng.retire("wait", "v1")); // again: nothing to do
}

TEST_CASE("with every version retired, only a pinned start reaches one", "[live-versions]") {
  temp_dir dir;
  router r;
  r.add("greet", "v1", greet_v1).add("relay", "v1", caller);
  engine eng{journaled(dir), r, effects{}};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.retire("greet", "v1"));
  CHECK(eng.await_drained("greet", "v1", 60s)); // nothing ran it: drained at once

  auto refused = eng.start("greet", std::string{"ada"});
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == make_error(errc::unknown_version, ""));
  CHECK_THAT(describe(refused.error()), Catch::Contains("every version of function 'greet' is retired"));
  // A routed call from a task fails the same way (the caller sees it as a failed call).
  auto relayed = eng.start("relay", std::string{"bob"});
  REQUIRE(relayed);
  auto out = eng.wait<std::string>(*relayed);
  REQUIRE_FALSE(out);
  CHECK_THAT(describe(out.error()), Catch::Contains("is retired"));

  auto pinned = eng.start("greet", std::string{"cy"}, version{"v1"});
  REQUIRE(pinned);
  CHECK(eng.wait<std::string>(*pinned).value() == "v1 hello cy");
  CHECK(eng.await_drained("greet", "v1", 60s));

  // No route may name a retired version.
  auto by_policy = eng.set_policy("greet", policy::primary("v1"));
  REQUIRE_FALSE(by_policy);
  CHECK(by_policy.error() == make_error(errc::unknown_version, ""));
  CHECK_THAT(describe(by_policy.error()), Catch::Contains("version 'v1' of 'greet' is retired"));
  auto by_override = eng.override_route(*pinned, "greet", "v1");
  REQUIRE_FALSE(by_override);
  CHECK_THAT(describe(by_override.error()), Catch::Contains("is retired"));
}

TEST_CASE("a supervised child's version stays draining between its runs, until its supervisor lets go",
          "[live-versions][supervisor]") {
  temp_dir dir;
  router r;
  r.add("child", "v1", poisonable);
  engine eng{journaled(dir), r, effects{}};
  REQUIRE_FALSE(eng.status());
  supervision::supervisor_spec spec{.name = "s", .flags = {.intensity = 10, .period = 60s}};
  spec.flags.backoff = {.initial = 3'600'000ms, .max = 3'600'000ms}; // the restart waits an hour
  spec.children.push_back(worker("a", "child", std::string{"a"}));
  REQUIRE(eng.supervise(spec));
  auto a = eng.supervised_task("s", "a");
  REQUIRE(a);

  REQUIRE(eng.add_version("child", "v2", poisonable));
  REQUIRE(eng.retire("child", "v1"));
  REQUIRE(eng.send(*a, std::string{"poison"}));
  // Its run has ended; the supervisor will restart it on v1 (resumed from its journal), so v1 is held.
  REQUIRE(eng.await_supervision(
    "s",
    [](const std::vector<std::string>& log) {
      return std::any_of(log.begin(), log.end(),
                         [](const std::string& l) { return l.find("restarting a") != std::string::npos; });
    },
    60s));
  CHECK_FALSE(eng.await_drained("child", "v1", 0ms));
  CHECK(find_version(eng.versions("child"), "v1")->state == version_state::draining);

  REQUIRE(eng.stop_supervisor("s")); // lets its children go
  CHECK(eng.await_drained("child", "v1", 60s));
}
