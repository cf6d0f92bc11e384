// An engine on a damaged journal: refused before it writes anything (status() names the file and the
// page), the file left byte-identical; with the check at open turned off, the first read that meets
// the damage stops the journal from writing, and the task stays unfinished.

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <actors/actors.hpp>
#include <actors/eventlog/errc.hpp>
#include <actors/eventlog/journal.hpp>

#include "../eventlog/journal_damage.hpp"
#include "file_checks.hpp"
#include "test_support.hpp"

using namespace actors;

namespace {

actors::task<std::string> lookup(ctx& cx, std::int64_t uid) {
  co_return co_await cx.perform(test::db_get{uid});
}

router make_routes() {
  router r;
  r.add("lookup", "v1", lookup);
  return r;
}

effects make_effects() {
  effects fx;
  fx.handle<test::db_get>([](const test::db_get& q) { return "user" + std::to_string(q.id); });
  return fx;
}

constexpr std::uint64_t unfinished_id = 0x7fff'0000'0000'0001;

/// A journal at `path` with 50 finished tasks and one unfinished one (`unfinished_id`: journaled as
/// started, as an engine that crashed would have left it).
void write_journal(const std::string& path) {
  {
    engine eng{test::config_for(path), make_routes(), make_effects()};
    for (int i = 0; i < 50; ++i)
      REQUIRE(eng.run<std::string>("lookup", std::int64_t{i}));
  }
  auto j = eventlog::journal::open({.path = path});
  REQUIRE(j);
  (*j)->append_task(test::root_record<std::int64_t>(unfinished_id, "lookup"), to_bytes(std::int64_t{7}),
                    "7");
  REQUIRE_FALSE((*j)->flush());
}

using eventlog::test::damage_leaf_pages;
using test::slurp;

bool is_corrupt(const caf::error& err) {
  return err.category() == caf::atom("journal") &&
         err.code() == static_cast<std::uint8_t>(eventlog::errc::corrupt);
}

} // namespace

TEST_CASE("an engine on a damaged journal is refused before it writes, naming the file and the page",
          "[damage]") {
  test::temp_dir d;
  auto path = d.file("j.db");
  write_journal(path);
  damage_leaf_pages(path, "events");
  auto before = slurp(path);
  engine eng{test::config_for(path), make_routes(), make_effects()};
  auto err = eng.status();
  REQUIRE(err);
  CHECK(is_corrupt(err));
  auto text = describe(err);
  INFO(text);
  CHECK(text.find(path) != std::string::npos);
  CHECK(text.find("checksum mismatch") != std::string::npos);
  CHECK(!eng.start("lookup", std::int64_t{1}));
  CHECK(slurp(path) == before);
}

TEST_CASE("with the check at open off, the first damaged read stops the journal from writing", "[damage]") {
  test::temp_dir d;
  auto path = d.file("j.db");
  write_journal(path);
  damage_leaf_pages(path, "events");
  auto cfg = test::config_for(path);
  cfg.journal_verify_on_open = false;
  engine eng{cfg, make_routes(), make_effects()};
  // Resuming the unfinished task reads its events from a damaged page: the engine stops writing.
  auto out = eng.wait<std::string>(task_id{unfinished_id});
  REQUIRE(!out);
  INFO(describe(out.error()));
  CHECK(is_corrupt(eng.journal()->failure()));
  CHECK(!eng.start("lookup", std::int64_t{1}));
}
