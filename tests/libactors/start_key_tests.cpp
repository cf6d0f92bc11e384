// engine::start with an actors::start_key: at most one task per key, across engines on one journal,
// with concurrent callers, and a clear error for a key of another function. Across SIGKILLs: the crash
// loop's worker starts every input by key (tools/crashloop).

#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::db_get;
using actors::test::temp_dir;
using actors::test::user_db;

namespace {

task<std::string> lookup(ctx& cx, std::int64_t id) {
  co_return co_await cx.perform(db_get{id});
}

task<std::string> other(ctx&, std::int64_t id) {
  co_return "other " + std::to_string(id);
}

router routes() {
  router r;
  r.add("lookup", "v1", lookup).add("other", "v1", other);
  return r;
}

engine_config on(const std::string& path) {
  engine_config cfg;
  cfg.journal = path;
  cfg.log_level = "off";
  return cfg;
}

bool is(const caf::error& err, errc code) {
  return err.category() == caf::atom("actors") && err.code() == static_cast<std::uint8_t>(code);
}

} // namespace

TEST_CASE("a second start with the same key returns the first task and runs nothing", "[start_key]") {
  temp_dir dir;
  user_db users;
  engine eng{on(dir.file("j.db")), routes(), users.fx()};
  REQUIRE(!eng.status());
  auto first = eng.start("lookup", std::int64_t{7}, start_key{"order-7"});
  REQUIRE(first);
  auto again = eng.start("lookup", std::int64_t{7}, start_key{"order-7"});
  REQUIRE(again);
  CHECK(*again == *first);
  auto other_key = eng.start("lookup", std::int64_t{7}, start_key{"order-8"});
  REQUIRE(other_key);
  CHECK(*other_key != *first);
  CHECK(eng.wait<std::string>(*first) == "user7");
  CHECK(eng.wait<std::string>(*other_key) == "user7");
  // After it ended, the key still names it (now answered from the journal).
  auto after = eng.start("lookup", std::int64_t{99}, start_key{"order-7"});
  REQUIRE(after);
  CHECK(*after == *first);
  eng.drain();
  CHECK(users.calls == 2);
}

TEST_CASE("a start key of another function is a start_key_conflict naming both", "[start_key]") {
  temp_dir dir;
  user_db users;
  engine eng{on(dir.file("j.db")), routes(), users.fx()};
  auto first = eng.start("lookup", std::int64_t{1}, start_key{"k1"});
  REQUIRE(first);
  auto clash = eng.start("other", std::int64_t{1}, start_key{"k1"});
  REQUIRE(!clash);
  CHECK(is(clash.error(), errc::start_key_conflict));
  auto msg = describe(clash.error());
  CHECK(msg.find("'k1'") != std::string::npos);
  CHECK(msg.find(to_string(*first)) != std::string::npos);
  CHECK(msg.find("'lookup'") != std::string::npos);
  CHECK(msg.find("'other'") != std::string::npos);
  auto empty = eng.start("lookup", std::int64_t{1}, start_key{""});
  REQUIRE(!empty);
  CHECK(is(empty.error(), errc::bad_input));
  // Unknown function and wrong input type still come first for a new key.
  auto unknown = eng.start("nope", std::int64_t{1}, start_key{"k2"});
  REQUIRE(!unknown);
  CHECK(describe(unknown.error()).find("nope") != std::string::npos);
  CHECK(eng.wait<std::string>(*first) == "user1");
}

TEST_CASE("a later engine on the same journal returns the task started with the key", "[start_key]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  user_db users;
  task_id first;
  {
    engine eng{on(path), routes(), users.fx()};
    auto id = eng.start("lookup", std::int64_t{5}, start_key{"signup/ada"});
    REQUIRE(id);
    first = *id;
    REQUIRE(eng.wait<std::string>(first) == "user5");
  }
  engine again{on(path), routes(), users.fx()};
  REQUIRE(!again.status());
  auto id = again.start("lookup", std::int64_t{5}, start_key{"signup/ada"});
  REQUIRE(id);
  CHECK(*id == first);
  CHECK(again.wait<std::string>(*id) == "user5");
  CHECK(users.calls == 1);
  auto clash = again.start("other", std::int64_t{5}, start_key{"signup/ada"});
  REQUIRE(!clash);
  CHECK(is(clash.error(), errc::start_key_conflict));
}

TEST_CASE("concurrent starts with the same keys start one task per key", "[start_key][load]") {
  temp_dir dir;
  user_db users;
  engine eng{on(dir.file("j.db")), routes(), users.fx()};
  constexpr int threads = 4;
  constexpr int keys = 25;
  std::vector<std::vector<task_id>> got(threads);
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t)
    callers.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round)
        for (int k = 0; k < keys; ++k) {
          auto id = eng.start("lookup", std::int64_t{k}, start_key{"key-" + std::to_string(k)});
          if (id)
            got[t].push_back(*id);
        }
    });
  for (auto& c : callers)
    c.join();
  for (int t = 0; t < threads; ++t) {
    REQUIRE(got[t].size() == 3 * keys);
    for (int k = 0; k < keys; ++k) // every caller got the same id for key k
      CHECK(got[t][k] == got[0][k]);
  }
  std::set<task_id> distinct(got[0].begin(), got[0].end());
  CHECK(distinct.size() == keys);
  for (int k = 0; k < keys; ++k)
    CHECK(eng.wait<std::string>(got[0][k]) == "user" + std::to_string(k));
  eng.drain();
  CHECK(users.calls == keys);
}

TEST_CASE("with the journal off, keys hold for the engine's life", "[start_key]") {
  user_db users;
  engine_config cfg;
  cfg.journal_enabled = false;
  cfg.log_level = "off";
  engine eng{cfg, routes(), users.fx()};
  REQUIRE(!eng.status());
  auto a = eng.start("lookup", std::int64_t{2}, start_key{"x"});
  auto b = eng.start("lookup", std::int64_t{2}, start_key{"x"});
  REQUIRE((a && b));
  CHECK(*a == *b);
  CHECK(eng.wait<std::string>(*a) == "user2");
  eng.drain();
  CHECK(users.calls == 1);
}
