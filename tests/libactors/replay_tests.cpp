// engine::replay (DESIGN §4): a recorded task's tree runs again from its journal — with the recorded
// versions or others — executing nothing and writing nothing, and reports where it departs.

#include <atomic>
#include <future>
#include <map>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::db_get;
using actors::test::temp_dir;
using actors::test::user_db;

namespace {

task<std::string> lookup_v1(ctx& cx, std::int64_t uid) {
  co_await cx.log("looking up user {}", uid);
  auto name = co_await cx.perform(db_get{uid});
  auto lucky = co_await cx.random(1000);
  co_return name + "#" + std::to_string(lucky);
}

// The debugging version: more logs, the same effects, the same output.
task<std::string> lookup_debug(ctx& cx, std::int64_t uid) {
  co_await cx.log("debug: uid = {}", uid);
  auto name = co_await cx.perform(db_get{uid});
  co_await cx.log("debug: the database said '{}'", name);
  auto lucky = co_await cx.random(1000);
  co_await cx.log("debug: drew {}", lucky);
  co_return name + "#" + std::to_string(lucky);
}

// A fix that asks the database for another user: departs at the first effect.
task<std::string> lookup_fixed(ctx& cx, std::int64_t uid) {
  co_await cx.log("fixed: asking for {}", uid + 1);
  auto name = co_await cx.perform(db_get{uid + 1});
  co_return name;
}

task<std::string> handle(ctx& cx, std::int64_t uid) {
  co_await cx.log("handling {}", uid);
  auto user = co_await cx.call<std::string>("lookupUser", uid);
  auto t = co_await cx.now();
  (void)t;
  co_return "[" + user + "]";
}

router make_routes() {
  router r;
  r.add("lookupUser", "v1", lookup_v1)
    .add("lookupUser", "debug", lookup_debug)
    .add("lookupUser", "fixed", lookup_fixed)
    .add("handle", "v1", handle);
  return r;
}

/// Rows in the journal: tasks and events (a replay must not add any).
std::pair<std::size_t, std::size_t> journal_size(engine& eng) {
  auto tasks = eng.journal()->list_tasks({});
  REQUIRE(tasks);
  std::size_t events = 0;
  for (auto& t : *tasks) {
    auto evs = eng.journal()->events(t.id);
    REQUIRE(evs);
    events += evs->size();
  }
  return {tasks->size(), events};
}

} // namespace

TEST_CASE("a replay with the recorded versions matches, captures the logs, and executes and writes "
          "nothing",
          "[replay][engine]") {
  temp_dir dir;
  user_db db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("handle", std::int64_t{7});
  REQUIRE(id);
  auto out = eng.wait<std::string>(*id);
  REQUIRE(out);
  eng.drain();
  auto before = journal_size(eng);
  REQUIRE(db.calls == 1);

  auto r = eng.replay(*id);
  REQUIRE(r);
  CHECK_FALSE(r->diverged());
  CHECK(r->task == *id);
  CHECK(r->function == "handle");
  CHECK(r->recorded_version == "v1");
  CHECK(r->replayed_version == "v1");
  CHECK(r->versions.at("lookupUser") == "v1");
  CHECK(r->recorded_tasks == 2);
  CHECK(r->recorded_effects == 3); // db.get, random, now
  CHECK(r->replayed_effects == 3);
  CHECK(r->recorded_output == "\"" + *out + "\"");
  CHECK(r->replayed_output == r->recorded_output);
  REQUIRE(r->logs.size() == 2);
  CHECK(r->logs[0] == "[handle@v1] handling 7");
  CHECK(r->logs[1] == "[lookupUser@v1] looking up user 7");
  CHECK(db.calls == 1);
  CHECK(journal_size(eng) == before);
  CHECK(eng.stats().started == 2); // a replay's tasks are not tasks of the engine
}

TEST_CASE("replaying with one function swapped for a debug version shows its logs; a departing version "
          "shows the first divergence and is not executed",
          "[replay][engine]") {
  temp_dir dir;
  user_db db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("handle", std::int64_t{3});
  REQUIRE(id);
  REQUIRE(eng.wait<std::string>(*id));

  SECTION("a debug version through the options") {
    auto r = eng.replay(*id, {.versions = {{"lookupUser", "debug"}}});
    REQUIRE(r);
    CHECK_FALSE(r->diverged());
    CHECK(r->versions.at("lookupUser") == "debug");
    REQUIRE(r->logs.size() == 4);
    CHECK(r->logs[1] == "[lookupUser@debug] debug: uid = 3");
    CHECK(r->logs[2] == "[lookupUser@debug] debug: the database said 'user3'");
  }
  SECTION("a debug version through an override of the task's tree") {
    REQUIRE(eng.override_route(*id, "lookupUser", "debug"));
    auto r = eng.replay(*id);
    REQUIRE(r);
    CHECK_FALSE(r->diverged());
    CHECK(r->versions.at("lookupUser") == "debug");
    CHECK(r->logs.size() == 4);
  }
  SECTION("a version that asks for something else") {
    auto r = eng.replay(*id, {.versions = {{"lookupUser", "fixed"}}});
    REQUIRE(r);
    REQUIRE(r->diverged());
    CHECK(r->divergence->position == 0);
    CHECK(r->divergence->what == "different request");
    CHECK(r->divergence->recorded == "effect db.get {3} -> \"user3\"");
    CHECK(r->divergence->replayed == "effect db.get {4}");
    CHECK(r->replay_failed);
    REQUIRE(r->logs.size() == 2);
    CHECK(r->logs[1] == "[lookupUser@fixed] fixed: asking for 4");
  }
  CHECK(db.calls == 1);
}

TEST_CASE("a failed task replays to the same failure", "[replay][engine]") {
  temp_dir dir;
  user_db db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("lookupUser", std::int64_t{-2});
  REQUIRE(id);
  REQUIRE_FALSE(eng.wait<std::string>(*id));
  auto r = eng.replay(*id);
  REQUIRE(r);
  CHECK(r->recorded_failed);
  CHECK(r->replay_failed);
  CHECK(r->recorded_output.find("no user -2") != std::string::npos);
  CHECK(r->replayed_output == r->recorded_output);
  CHECK_FALSE(r->diverged());
  CHECK(db.calls == 1);
}

TEST_CASE("replay refuses what it cannot replay, naming it", "[replay][engine][errors]") {
  temp_dir dir;
  user_db db;
  SECTION("unknown task, unknown function or version") {
    engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
    REQUIRE_FALSE(eng.status());
    auto nobody = eng.replay(task_id{0xabc});
    REQUIRE_FALSE(nobody);
    CHECK(to_string(nobody.error()).find("no task 0000000000000abc") != std::string::npos);
    auto id = eng.start("lookupUser", std::int64_t{1});
    REQUIRE(id);
    REQUIRE(eng.wait<std::string>(*id));
    auto bad = eng.replay(*id, {.versions = {{"lookupUser", "v9"}}});
    REQUIRE_FALSE(bad);
    CHECK(to_string(bad.error()).find("no version 'v9'") != std::string::npos);
    auto ghost = eng.replay(*id, {.versions = {{"ghost", "v1"}}});
    REQUIRE_FALSE(ghost);
    CHECK(to_string(ghost.error()).find("no function 'ghost'") != std::string::npos);
  }
  SECTION("journal off") {
    auto cfg = test::config_for(dir.file("j.db"));
    cfg.journal_enabled = false;
    engine eng{cfg, make_routes(), db.fx()};
    REQUIRE_FALSE(eng.status());
    auto r = eng.replay(task_id{1});
    REQUIRE_FALSE(r);
    CHECK(to_string(r.error()).find("journaling is off") != std::string::npos);
  }
}
