// Damaged journals (page checksums, verify_on_open): a journal known to be damaged is refused for
// writing and left as it is; reads that meet damage say `corrupt`, and a writable journal stops writing.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "journal_damage.hpp"
#include "journal_test_util.hpp"

using namespace actors::eventlog;
using namespace actors::eventlog::test;

namespace {

constexpr std::uint64_t first_task = 1000;
constexpr int tasks = 400;
constexpr int events_per_task = 4;

/// A closed journal at `path` with `tasks` tasks of `events_per_task` events each, ~80 pages.
void write_journal(const std::string& path) {
  auto j = journal::open(options(path));
  REQUIRE(j);
  for (int t = 0; t < tasks; ++t) {
    auto id = first_task + static_cast<std::uint64_t>(t);
    (*j)->append_task(make_task(id, "f"), "input", "in");
    for (int s = 1; s <= events_per_task; ++s)
      (*j)->append(make_event(id, static_cast<std::uint32_t>(s), event_kind::effect, "db.get",
                              std::string(40, static_cast<char>('a' + s)), std::string(30, 'r')));
  }
  REQUIRE(!(*j)->flush());
}

std::set<std::string> names_in(const std::filesystem::path& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator{dir})
    out.insert(e.path().filename().string());
  return out;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("a new journal reserves room for page checksums and verifies them", "[damage]") {
  temp_dir d;
  auto path = d.file("j.db");
  write_journal(path);
  auto bytes = read_bytes(path);
  REQUIRE(bytes.size() > 4096);
  CHECK(static_cast<unsigned char>(bytes[20]) == 8); // reserved bytes per page, SQLite's header
  CHECK(run_sql(path, "SELECT 1") == SQLITE_OK);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, journal::sqlite_vfs().c_str()) ==
          SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA actors_checksum_verification", -1, &s, nullptr) == SQLITE_OK);
  // The flag is known once page 1 has been read.
  sqlite3_exec(db, "SELECT count(*) FROM tasks", nullptr, nullptr, nullptr);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(sqlite3_column_int(s, 0) == 1);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_CASE("a journal with damaged bytes mid-file is refused for writing and left as it is",
          "[damage]") {
  temp_dir d;
  auto path = d.file("j.db");
  write_journal(path);
  auto files = names_in(d.path());
  auto leaves = leaf_pages(path, "events");
  REQUIRE(leaves.size() > 4);
  auto target = leaves[leaves.size() / 2];
  damage_page(path, target);
  auto before = read_bytes(path);

  auto j = journal::open(options(path));
  REQUIRE(!j);
  CHECK(code_of(j.error()) == code(errc::corrupt));
  auto msg = message_of(j.error());
  INFO(msg);
  CHECK(contains(msg, path));
  CHECK(contains(msg, "damaged"));
  CHECK(contains(msg, "page " + std::to_string(target)));
  CHECK(contains(msg, "checksum mismatch"));
  CHECK(read_bytes(path) == before);
  CHECK(names_in(d.path()) == files);

  SECTION("read-only opens still work; the reads that meet the damage say corrupt") {
    auto ro_opts = options(path);
    ro_opts.read_only = true;
    auto ro = journal::open(ro_opts);
    REQUIRE(ro);
    int corrupt = 0, right = 0;
    for (int t = 0; t < tasks; ++t) {
      auto evs = (*ro)->events(first_task + static_cast<std::uint64_t>(t));
      if (!evs) {
        CHECK(code_of(evs.error()) == code(errc::corrupt));
        CHECK(contains(message_of(evs.error()), "checksum mismatch"));
        ++corrupt;
        continue;
      }
      // a read that succeeds returns what was written, never damaged bytes
      REQUIRE(evs->size() == static_cast<std::size_t>(events_per_task + 1));
      for (int s = 1; s <= events_per_task; ++s)
        CHECK((*evs)[static_cast<std::size_t>(s)].request ==
              std::string(40, static_cast<char>('a' + s)));
      ++right;
    }
    CHECK(corrupt > 0);
    CHECK(right > 0);
    ro->reset();
    CHECK(read_bytes(path) == before);
  }
}

TEST_CASE("a writable journal that reads a damaged page stops writing", "[damage]") {
  temp_dir d;
  auto path = d.file("j.db");
  write_journal(path);
  auto leaves = leaf_pages(path, "events");
  REQUIRE(!leaves.empty());
  damage_page(path, leaves.back());
  auto opts = options(path);
  opts.verify_on_open = false; // damage found by a read, not at open
  auto j = journal::open(opts);
  REQUIRE(j);
  caf::error found;
  for (int t = tasks - 1; t >= 0 && !found; --t)
    if (auto evs = (*j)->events(first_task + static_cast<std::uint64_t>(t)); !evs)
      found = evs.error();
  REQUIRE(found);
  CHECK(code_of(found) == code(errc::corrupt));
  CHECK(code_of((*j)->failure()) == code(errc::corrupt));
  auto n = (*j)->append(make_event(first_task, 99, event_kind::log));
  caf::error cb_err;
  bool called = false;
  (*j)->when_durable(n, [&](const caf::error& e) {
    called = true;
    cb_err = e;
  });
  CHECK(called);
  CHECK(code_of(cb_err) == code(errc::corrupt));
}

TEST_CASE("pages written by a program that bypasses the journal's VFS read as damaged", "[damage]") {
  temp_dir d;
  auto path = d.file("j.db");
  write_journal(path);
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); // the default VFS: keeps no checksums
  REQUIRE(sqlite3_exec(db, "UPDATE events SET text = 'changed' WHERE task = 1100; "
                           "PRAGMA wal_checkpoint(TRUNCATE);",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto j = journal::open(options(path));
  REQUIRE(!j);
  CHECK(code_of(j.error()) == code(errc::corrupt));
  CHECK(contains(message_of(j.error()), "checksum mismatch"));
}

TEST_CASE("a journal without page checksums is checked with quick_check when opened for writing",
          "[damage]") {
  temp_dir d;
  auto path = d.file("old.db");
  std::filesystem::copy_file(ACTORS_RECORDED_JOURNALS "/schema1-durable-killed-in-flight.db", path);
  auto bytes = read_bytes(path);
  REQUIRE(static_cast<unsigned char>(bytes[20]) == 0); // written before page checksums existed
  // Break the structure of the tasks table's root page: a b-tree page header of an unknown type.
  auto root = first_column(path, "SELECT rootpage FROM sqlite_master WHERE name = 'events'");
  REQUIRE(!root.empty());
  auto offset = static_cast<std::size_t>((std::stoll(root) - 1) * 4096);
  bytes[offset + 3] = '\x7f'; // cell count
  bytes[offset + 4] = '\x7f';
  write_bytes(path, bytes);
  auto j = journal::open(options(path));
  REQUIRE(!j);
  CHECK(code_of(j.error()) == code(errc::corrupt));
  auto msg = message_of(j.error());
  INFO(msg);
  CHECK(contains(msg, "quick_check"));
  CHECK(read_bytes(path) == bytes);
}

TEST_CASE("verification can be turned off, and a healthy journal passes it", "[damage]") {
  temp_dir d;
  auto path = d.file("j.db");
  write_journal(path);
  {
    auto j = journal::open(options(path));
    REQUIRE(j); // verified, healthy
    auto evs = (*j)->events(first_task);
    REQUIRE(evs);
    CHECK(evs->size() == static_cast<std::size_t>(events_per_task + 1));
  }
  auto leaves = leaf_pages(path, "events");
  damage_page(path, leaves.front());
  auto opts = options(path);
  opts.verify_on_open = false;
  CHECK(journal::open(opts)); // opens: the damage is not read
}

TEST_CASE("damage is found while the journal is open and its WAL holds newer pages", "[damage]") {
  temp_dir d;
  auto path = d.file("j.db");
  write_journal(path);
  auto leaves = leaf_pages(path, "events");
  REQUIRE(leaves.size() > 4);
  auto j = journal::open(options(path));
  REQUIRE(j);
  // New commits put page 1 (and the right edge of the b-trees) into the WAL; earlier pages stay in the
  // file only.
  for (int s = 1; s <= 200; ++s)
    (*j)->append(make_event(first_task, static_cast<std::uint32_t>(100 + s), event_kind::log));
  REQUIRE(!(*j)->flush());
  damage_page(path, leaves[leaves.size() / 2]);
  caf::error found;
  for (int t = 0; t < tasks && !found; ++t)
    if (auto evs = (*j)->events(first_task + static_cast<std::uint64_t>(t)); !evs)
      found = evs.error();
  REQUIRE(found);
  CHECK(code_of(found) == code(errc::corrupt));
  CHECK(contains(message_of(found), "checksum mismatch"));
  CHECK(code_of((*j)->failure()) == code(errc::corrupt));
}

TEST_CASE("every page a fresh journal's checkpoints write carries its checksum", "[damage]") {
  // The writer, the checkpointer and the readers all open the file while it is still empty; whichever
  // connection writes a page later must checksum it, and the check at open must find every page in
  // order. (At 10 M events bench/journal_integrity_bench found one more case, the page of SQLite's
  // lock bytes at 1 GiB, which SQLite never writes: too large a file for this suite.)
  temp_dir d;
  auto path = d.file("j.db");
  {
    auto j = journal::open(options(path));
    REQUIRE(j);
    std::uint64_t id = first_task;
    while ((*j)->stats().checkpoints < 3) {
      for (int i = 0; i < 2000; ++i, ++id) {
        (*j)->append_task(make_task(id, "f"), std::string(100, 'i'), "in");
        (*j)->append(make_event(id, 1, event_kind::effect, "db.get", std::string(100, 'q'),
                                std::string(100, 'r')));
      }
      REQUIRE(!(*j)->flush());
    }
  }
  auto j = journal::open(options(path)); // verified: every page read and checked
  INFO((j ? std::string{} : message_of(j.error())));
  REQUIRE(j);
}

TEST_CASE("triggers an edit put into a journal never run on libactors' reads and writes") {
  temp_dir d;
  auto path = d.file("j.db");
  write_journal(path);
  std::size_t events_before = 0;
  {
    auto j = journal::open(options(path));
    REQUIRE(j);
    auto evs = (*j)->events(first_task);
    REQUIRE(evs);
    events_before = evs->size();
  }
  REQUIRE(events_before > 0);
  // What a hostile or careless edit may leave: a trigger that erases history on an update, and one
  // that refuses every new event.
  REQUIRE(run_sql(path, "CREATE TRIGGER t_upd AFTER UPDATE ON tasks BEGIN DELETE FROM events; END;"
                        "CREATE TRIGGER t_ins AFTER INSERT ON events BEGIN SELECT RAISE(ABORT, 'no'); END;") ==
          SQLITE_OK);
  {
    auto j = journal::open(options(path));
    REQUIRE(j);
    (*j)->append(make_event(first_task, static_cast<std::uint32_t>(events_per_task + 1), event_kind::completed,
                            "", "", "done"));
    REQUIRE(!(*j)->flush()); // the insert trigger would have aborted it
    auto t = (*j)->find_task(first_task);
    REQUIRE(t);
    REQUIRE(t->has_value());
    CHECK((*t)->status == task_status::completed); // the update ran, and its trigger did not
  }
  auto j = journal::open(options(path));
  REQUIRE(j);
  auto evs = (*j)->events(first_task);
  REQUIRE(evs);
  CHECK(evs->size() == events_before + 1);
  auto other = (*j)->events(first_task + 1);
  REQUIRE(other);
  CHECK(other->size() == events_before);
}
