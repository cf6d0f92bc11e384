// Recorded journals (tests/replay/) resume under today's code: schema, value encoding and the workload's
// determinism stay compatible with what earlier builds wrote.

#include <filesystem>
#include <fstream>
#include <map>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "crash_workload.hpp"
#include "test_support.hpp"

using namespace actors;
using actors::test::temp_dir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

TEST_CASE("a journal recorded at a SIGKILL by an earlier build resumes and completes",
          "[resume][recorded]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  std::filesystem::copy_file(ACTORS_RECORDED_JOURNALS "/schema1-durable-killed-in-flight.db", path);
  auto ledger = dir.file("ledger");
  engine eng{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
  REQUIRE_FALSE(eng.status());
  auto id = task_id::from_string("1a209e019e700000");
  REQUIRE(id);
  auto out = eng.wait<std::string>(*id);
  REQUIRE(out);
  CHECK(*out == "95/paid-500/parcel-5");
  std::map<std::string, int> counts;
  std::ifstream in{ledger};
  for (std::string line; std::getline(in, line);)
    ++counts[line.substr(0, line.find(' '))];
  CHECK(counts["reserve"] == 0); // journaled in the recorded run
  CHECK(counts["charge"] == 1);  // in flight at the kill
  CHECK(counts["ship"] == 1);
  CHECK(eng.stats().resumed == 1);
  CHECK(eng.stats().effects_replayed == 1);
  // Opened writable, the schema-1 file was migrated: its old task has an empty route, new ones say why.
  auto old = eng.journal()->find_task(id->value());
  REQUIRE(old);
  REQUIRE(old->has_value());
  CHECK((*old)->route.empty());
  auto fresh = eng.start("ship", std::int64_t{3});
  REQUIRE(fresh);
  REQUIRE(eng.wait<std::string>(*fresh));
  auto rec = eng.journal()->find_task(fresh->value());
  REQUIRE(rec);
  REQUIRE(rec->has_value());
  CHECK((*rec)->route == "default");
}

TEST_CASE("a schema-1 journal opened read-only is read as it is and not migrated", "[recorded]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  std::filesystem::copy_file(ACTORS_RECORDED_JOURNALS "/schema1-durable-killed-in-flight.db", path);
  auto before = slurp(path);
  {
    eventlog::journal_options opts;
    opts.path = path;
    opts.read_only = true;
    auto j = eventlog::journal::open(opts);
    REQUIRE(j);
    auto t = (*j)->find_task(task_id::from_string("1a209e019e700000")->value());
    REQUIRE(t);
    REQUIRE(t->has_value());
    CHECK((*t)->function == "durable");
    CHECK((*t)->route.empty());
  }
  CHECK(slurp(path) == before);
}
