// Bad input gets a clear error naming the thing, and nothing journaled is lost.

#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <actors/actors.hpp>
#include <actors/eventlog/errc.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::db_get;
using actors::test::temp_dir;

namespace {

task<std::string> greet(ctx& cx, std::string name) {
  co_await cx.log("greet {}", name);
  co_return "hello " + name;
}

task<std::int64_t> square(ctx&, std::int64_t x) {
  co_return x * x;
}

task<std::string> uses_db(ctx& cx, std::int64_t x) {
  co_return co_await cx.perform(db_get{x});
}

router make_routes() {
  router r;
  r.add("greet", "v1", greet).add("square", "v1", square).add("usesDb", "v1", uses_db);
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

template <class Code>
bool is(const caf::error& err, Code code) {
  return err && err.code() == static_cast<std::uint8_t>(code);
}

/// Runs `sql` on `path` through the journal's VFS (which keeps page checksums).
void exec_sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                          eventlog::journal::sqlite_vfs().c_str()) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

} // namespace

TEST_CASE("starting an unknown function names it and lists what is registered", "[errors]") {
  engine eng{test::config_for(":memory:"), make_routes(), effects{}};
  auto r = eng.start("lookupUsr", std::int64_t{1});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::unknown_function));
  CHECK_THAT(describe(r.error()), Catch::Contains("'lookupUsr'") && Catch::Contains("greet"));
}

TEST_CASE("starting an unknown version names the function and the version", "[errors]") {
  engine eng{test::config_for(":memory:"), make_routes(), effects{}};
  auto r = eng.start("square", std::int64_t{1}, version{"v9"});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::unknown_version));
  CHECK_THAT(describe(r.error()), Catch::Contains("'v9'") && Catch::Contains("'square'") &&
                                    Catch::Contains("v1"));
}

TEST_CASE("an input of the wrong type is refused with both types named", "[errors]") {
  engine eng{test::config_for(":memory:"), make_routes(), effects{}};
  auto r = eng.start("greet", 42);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::wrong_input_type));
  CHECK_THAT(describe(r.error()),
             Catch::Contains("'greet'") && Catch::Contains("std::string") && Catch::Contains("int"));
  // the lossless integer conversion and string literals are accepted
  auto sq = eng.run<std::int64_t>("square", 7);
  REQUIRE(sq);
  CHECK(*sq == 49);
  auto hi = eng.run<std::string>("greet", "Ada");
  REQUIRE(hi);
  CHECK(*hi == "hello Ada");
}

TEST_CASE("waiting with the wrong output type is refused with both types named", "[errors]") {
  engine eng{test::config_for(":memory:"), make_routes(), effects{}};
  auto id = eng.start("square", std::int64_t{3});
  REQUIRE(id);
  auto r = eng.wait<std::string>(*id);
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::wrong_output_type));
  CHECK_THAT(describe(r.error()), Catch::Contains("square@v1") && Catch::Contains("long"));
  CHECK(eng.wait<std::int64_t>(*id).value() == 9);
}

TEST_CASE("waiting for an unknown task id names it", "[errors]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  auto r = eng.wait<std::int64_t>(task_id{0xdeadbeef});
  REQUIRE_FALSE(r);
  CHECK(is(r.error(), errc::unknown_task));
  CHECK_THAT(describe(r.error()), Catch::Contains("00000000deadbeef"));
}

TEST_CASE("an effect without a handler stops the task with a named error, unjournaled",
          "[errors]") {
  temp_dir dir;
  task_id id;
  {
    engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
    auto started = eng.start("usesDb", std::int64_t{4});
    REQUIRE(started);
    id = *started;
    auto r = eng.wait<std::string>(id);
    REQUIRE_FALSE(r);
    CHECK(is(r.error(), errc::unhandled_effect));
    CHECK_THAT(describe(r.error()), Catch::Contains("db.get") && Catch::Contains("usesDb@v1"));
  }
  // Nothing was lost: with the handler installed, the task resumes and completes.
  effects fx;
  fx.handle<db_get>([](const db_get& q) { return "row" + std::to_string(q.id); });
  engine eng{test::config_for(dir.file("j.db")), make_routes(), fx};
  auto r = eng.wait<std::string>(id);
  REQUIRE(r);
  CHECK(*r == "row4");
}

TEST_CASE("a registration problem is reported by the engine, not a crash", "[errors]") {
  router r = make_routes();
  r.add("square", "v1", square); // twice
  engine eng{test::config_for(":memory:"), r, effects{}};
  REQUIRE(eng.status());
  CHECK(is(eng.status(), errc::invalid_configuration));
  CHECK_THAT(describe(eng.status()), Catch::Contains("'square' version 'v1' registered twice"));
  auto started = eng.start("square", std::int64_t{1});
  REQUIRE_FALSE(started);
}

TEST_CASE("a journal file that is not SQLite is refused and left untouched", "[errors][journal]") {
  temp_dir dir;
  auto path = dir.file("notes.db");
  {
    std::ofstream out{path, std::ios::binary};
    out << "these are my notes, not a database\n";
    for (int i = 0; i < 200; ++i)
      out << "line " << i << " of precious text\n";
  }
  auto before = slurp(path);
  engine eng{test::config_for(path), make_routes(), effects{}};
  REQUIRE(eng.status());
  CHECK(is(eng.status(), eventlog::errc::not_a_database));
  CHECK_THAT(describe(eng.status()), Catch::Contains(path));
  auto r = eng.start("square", std::int64_t{2});
  REQUIRE_FALSE(r);
  CHECK(slurp(path) == before);
}

TEST_CASE("a corrupt journal is refused and left untouched", "[errors][journal]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    engine eng{test::config_for(path), make_routes(), effects{}};
    REQUIRE(eng.run<std::int64_t>("square", std::int64_t{5}));
  }
  // Overwrite the middle of the file with garbage, keeping the SQLite header.
  auto bytes = slurp(path);
  REQUIRE(bytes.size() > 4096);
  for (std::size_t i = 100; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(0xA5 ^ (i * 31));
  {
    std::ofstream out{path, std::ios::binary | std::ios::trunc};
    out << bytes;
  }
  engine eng{test::config_for(path), make_routes(), effects{}};
  REQUIRE(eng.status());
  CHECK(eng.status().category() == caf::atom("journal"));
  CHECK_THAT(describe(eng.status()), Catch::Contains(path));
  CHECK(slurp(path) == bytes);
}

TEST_CASE("a journal written by a newer schema is refused and left untouched", "[errors][journal]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    engine eng{test::config_for(path), make_routes(), effects{}};
    REQUIRE(eng.run<std::int64_t>("square", std::int64_t{5}));
  }
  exec_sql(path, "PRAGMA journal_mode=DELETE; PRAGMA user_version = 99;");
  auto before = slurp(path);
  engine eng{test::config_for(path), make_routes(), effects{}};
  REQUIRE(eng.status());
  CHECK(is(eng.status(), eventlog::errc::newer_schema));
  CHECK_THAT(describe(eng.status()), Catch::Contains("99") && Catch::Contains(path));
  CHECK(slurp(path) == before);
}

TEST_CASE("a foreign SQLite database is refused and left untouched", "[errors][journal]") {
  temp_dir dir;
  auto path = dir.file("shop.db");
  exec_sql(path, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
                 "INSERT INTO users VALUES (1, 'Ada');");
  auto before = slurp(path);
  engine eng{test::config_for(path), make_routes(), effects{}};
  REQUIRE(eng.status());
  CHECK(is(eng.status(), eventlog::errc::foreign_database));
  CHECK_THAT(describe(eng.status()), Catch::Contains("users"));
  CHECK(slurp(path) == before);
}

TEST_CASE("a call to an unknown function, version or with the wrong types throws call_error "
          "naming it, and is journaled",
          "[errors]") {
  auto caller = [](ctx& cx, std::int64_t which) -> task<std::string> {
    try {
      if (which == 0)
        co_await cx.call<std::int64_t>("sqare", std::int64_t{2});
      else if (which == 1)
        co_await cx.call<std::int64_t>("square", std::int64_t{2}, version{"v7"});
      else if (which == 2)
        co_await cx.call<std::int64_t>("square", std::string{"two"});
      else
        co_await cx.call<std::string>("square", std::int64_t{2});
    } catch (const call_error& e) {
      co_return std::string{e.what()};
    }
    co_return "no error";
  };
  router r = make_routes();
  r.add("caller", "v1", caller);
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), r, effects{}};
  auto unknown = eng.run<std::string>("caller", std::int64_t{0});
  REQUIRE(unknown);
  CHECK_THAT(*unknown, Catch::Contains("'sqare'") && Catch::Contains("square"));
  auto bad_version = eng.run<std::string>("caller", std::int64_t{1});
  REQUIRE(bad_version);
  CHECK_THAT(*bad_version, Catch::Contains("'v7'"));
  auto bad_input = eng.run<std::string>("caller", std::int64_t{2});
  REQUIRE(bad_input);
  CHECK_THAT(*bad_input, Catch::Contains("takes long, not std::string"));
  auto id = eng.start("caller", std::int64_t{3});
  REQUIRE(id);
  auto bad_output = eng.wait<std::string>(*id);
  REQUIRE(bad_output);
  CHECK_THAT(*bad_output, Catch::Contains("returns long, not std::string"));
  auto evs = eng.journal()->events(id->value());
  REQUIRE(evs);
  REQUIRE(evs->size() == 3); // started, the failed call, completed
  CHECK((*evs)[1].kind == eventlog::event_kind::call);
  CHECK((*evs)[1].failed);
}
