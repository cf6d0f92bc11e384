// Opening files that are not (yet) journals: every refusal names the file and leaves it byte-identical.

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "journal_test_util.hpp"

using namespace actors::eventlog;
using namespace actors::eventlog::test;

namespace {

/// Opens `path`, expects `expected`, and checks that the file and its directory are unchanged.
std::string expect_refusal(const temp_dir& dir, const std::string& path, errc expected, bool read_only = false) {
  auto before = read_bytes(path);
  auto opts = options(path);
  opts.read_only = read_only;
  auto j = journal::open(opts);
  REQUIRE(!j);
  CHECK(code_of(j.error()) == code(expected));
  auto msg = message_of(j.error());
  CHECK(msg.find(path) != std::string::npos);
  CHECK(read_bytes(path) == before);
  CHECK(!std::filesystem::exists(path + "-wal"));
  CHECK(!std::filesystem::exists(path + "-shm"));
  CHECK(!std::filesystem::exists(path + "-journal"));
  return msg;
}

} // namespace

TEST_CASE("opening a text file fails with not_a_database and leaves it byte-identical") {
  temp_dir dir;
  auto path = dir.file("notes.txt");
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "line " + std::to_string(i) + ": this is not a database\n";
  write_bytes(path, text);
  expect_refusal(dir, path, errc::not_a_database);
  expect_refusal(dir, path, errc::not_a_database, true);
}

TEST_CASE("opening a tiny non-SQLite file fails with not_a_database") {
  temp_dir dir;
  auto path = dir.file("tiny");
  write_bytes(path, "hello\n");
  expect_refusal(dir, path, errc::not_a_database);
}

TEST_CASE("opening a foreign SQLite database fails with foreign_database naming its tables") {
  temp_dir dir;
  auto path = dir.file("app.db");
  REQUIRE(run_sql(path, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
                        "CREATE TABLE orders(id INTEGER, user INTEGER);"
                        "INSERT INTO users VALUES (1, 'ann');")
          == SQLITE_OK);
  auto msg = expect_refusal(dir, path, errc::foreign_database);
  CHECK(msg.find("users") != std::string::npos);
  CHECK(msg.find("orders") != std::string::npos);
  expect_refusal(dir, path, errc::foreign_database, true);
}

TEST_CASE("opening an SQLite database with another application_id fails with foreign_database") {
  temp_dir dir;
  auto path = dir.file("other.db");
  REQUIRE(run_sql(path, "PRAGMA application_id = 1234; CREATE TABLE t(x);") == SQLITE_OK);
  auto msg = expect_refusal(dir, path, errc::foreign_database);
  CHECK(msg.find("0x000004d2") != std::string::npos);
}

TEST_CASE("opening a journal written by a newer schema fails with newer_schema naming both versions") {
  temp_dir dir;
  auto path = dir.file("future.db");
  {
    auto j = journal::open(options(path));
    REQUIRE(j);
  }
  REQUIRE(run_sql(path, "PRAGMA user_version = 99;") == SQLITE_OK);
  auto msg = expect_refusal(dir, path, errc::newer_schema);
  CHECK(msg.find("99") != std::string::npos);
  CHECK(msg.find(std::to_string(journal::schema_version)) != std::string::npos);
}

TEST_CASE("a read-only open of a missing path fails with not_found and creates nothing") {
  temp_dir dir;
  auto path = dir.file("missing.db");
  auto opts = options(path);
  opts.read_only = true;
  auto j = journal::open(opts);
  REQUIRE(!j);
  CHECK(code_of(j.error()) == code(errc::not_found));
  CHECK(message_of(j.error()).find(path) != std::string::npos);
  CHECK(!std::filesystem::exists(path));
}

TEST_CASE("a directory, a FIFO or a device at the journal's name is refused as not a journal, naming what it is") {
  temp_dir dir;
  auto sub = dir.file("sub");
  std::filesystem::create_directory(sub);
  auto fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto link = dir.file("link");
  std::filesystem::create_directory_symlink(sub, link);
  struct refused {
    std::string path;
    const char* what;
  };
  for (const auto& r : {refused{sub, "is a directory, not a journal"}, refused{fifo, "is a FIFO, not a journal"},
                        refused{link, "is a directory, not a journal"},
                        refused{"/dev/null", "is a character device, not a journal"}}) {
    for (bool read_only : {false, true}) {
      INFO(r.path << (read_only ? " read-only" : " writable"));
      auto opts = options(r.path);
      opts.read_only = read_only;
      auto j = journal::open(opts); // a FIFO's open must not wait for a writer
      REQUIRE(!j);
      CHECK(code_of(j.error()) == code(errc::not_a_database));
      CHECK(message_of(j.error()) == r.path + ": " + r.what + " (a journal is a regular file)");
    }
  }
  CHECK(std::filesystem::is_directory(sub));
  CHECK(std::filesystem::is_empty(sub));
  CHECK(std::filesystem::is_fifo(fifo));
  auto entries = std::distance(std::filesystem::directory_iterator{dir.path()}, {});
  CHECK(entries == 3); // nothing created beside them (no -wal, -shm or -journal)
}

TEST_CASE("opening a path in a missing directory fails with io_error") {
  temp_dir dir;
  auto path = dir.file("no/such/dir/j.db");
  auto j = journal::open(options(path));
  REQUIRE(!j);
  CHECK(code_of(j.error()) == code(errc::io_error));
  CHECK(message_of(j.error()).find(path) != std::string::npos);
}

TEST_CASE("a new journal carries the application id, schema version and format marker") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    auto j = journal::open(options(path));
    REQUIRE(j);
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  auto query = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  };
  CHECK(query("PRAGMA application_id") == std::to_string(journal::application_id));
  CHECK(query("PRAGMA user_version") == std::to_string(journal::schema_version));
  CHECK(query("PRAGMA journal_mode") == "wal");
  CHECK(query("SELECT value FROM meta WHERE key = 'format'") == "libactors journal");
  CHECK(!query("SELECT value FROM meta WHERE key = 'created'").empty());
  sqlite3_close(db);
}

TEST_CASE("a 0-byte file is initialised as a fresh journal") {
  temp_dir dir;
  auto path = dir.file("empty.db");
  write_bytes(path, "");
  auto j = journal::open(options(path));
  REQUIRE(j);
  (*j)->append_task(make_task(1, "f"), "", "");
  REQUIRE(!(*j)->flush());
  auto t = (*j)->find_task(1);
  REQUIRE(t);
  CHECK(t->has_value());
}

TEST_CASE("an SQLite database without tables or application id is initialised as a fresh journal") {
  temp_dir dir;
  auto path = dir.file("blank.db");
  REQUIRE(run_sql(path, "CREATE TABLE scratch(x); DROP TABLE scratch;") == SQLITE_OK);
  REQUIRE(std::filesystem::file_size(path) > 0);
  auto j = journal::open(options(path));
  REQUIRE(j);
  (*j)->append_task(make_task(1, "f"), "", "");
  REQUIRE(!(*j)->flush());
}

TEST_CASE("a read-only open of a 0-byte file reads as empty and leaves it empty") {
  temp_dir dir;
  auto path = dir.file("empty.db");
  write_bytes(path, "");
  auto opts = options(path);
  opts.read_only = true;
  {
    auto j = journal::open(opts);
    REQUIRE(j);
    auto tasks = (*j)->list_tasks({});
    REQUIRE(tasks);
    CHECK(tasks->empty());
    auto rows = (*j)->tail(0, 10);
    REQUIRE(rows);
    CHECK(rows->empty());
  }
  CHECK(std::filesystem::file_size(path) == 0);
}

namespace {

/// All rows' last column of `sql` (EXPLAIN QUERY PLAN's details), joined by "; ".
std::string plan(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  auto full = "EXPLAIN QUERY PLAN " + sql;
  REQUIRE(sqlite3_prepare_v2(db, full.c_str(), -1, &s, nullptr) == SQLITE_OK);
  std::string out;
  while (sqlite3_step(s) == SQLITE_ROW)
    out += std::string{reinterpret_cast<const char*>(sqlite3_column_text(s, 3))} + "; ";
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

} // namespace

TEST_CASE("a schema-6 journal is migrated: unfinished tasks are found through a partial index") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    auto j = journal::open(options(path));
    REQUIRE(j);
    (*j)->append_task(make_task(10, "f", 0, 0, 300), "", "");
    (*j)->append_task(make_task(11, "f", 0, 0, 100), "", "");
    (*j)->append_task(make_task(12, "f", 0, 0, 200), "", "");
    (*j)->append(make_event(12, 1, event_kind::completed));
    REQUIRE(!(*j)->flush());
  }
  // Make it what an engine of schema 6 left: the index on every task's status, no partial index.
  REQUIRE(run_sql(path, "DROP INDEX tasks_unfinished; CREATE INDEX tasks_by_status ON tasks(status); "
                        "PRAGMA user_version = 6;") == SQLITE_OK);
  auto j = journal::open(options(path));
  REQUIRE(j);
  CHECK(first_column(path, "PRAGMA user_version") == std::to_string(journal::schema_version));
  CHECK(first_column(path, "SELECT count(*) FROM sqlite_master WHERE name = 'tasks_by_status'") == "0");
  CHECK(first_column(path, "SELECT count(*) FROM sqlite_master WHERE name = 'tasks_unfinished'") == "1");
  auto open_tasks = (*j)->unfinished_tasks();
  REQUIRE(open_tasks);
  REQUIRE(open_tasks->size() == 2);
  CHECK((*open_tasks)[0].id == 11); // oldest first
  CHECK((*open_tasks)[1].id == 10);
  // Resume reads them through the index, in order: no scan of every task, no sort.
  auto p = plan(path, "SELECT id FROM tasks WHERE status = 0 ORDER BY created, id");
  CHECK(p.find("tasks_unfinished") != std::string::npos);
  CHECK(p.find("TEMP B-TREE") == std::string::npos);
}

TEST_CASE("a writable open through a dangling symlink creates the journal at the link's target and keeps the link") {
  temp_dir dir;
  auto link = dir.file("link.db");
  auto target = dir.file("target.db");
  std::filesystem::create_symlink("target.db", link);
  {
    auto j = journal::open(options(link));
    REQUIRE(j);
    (*j)->append_task(make_task(7, "f"), "input", "in");
    REQUIRE(!(*j)->flush());
  }
  CHECK(std::filesystem::is_symlink(std::filesystem::symlink_status(link)));
  CHECK(std::filesystem::is_regular_file(target));
  auto again = journal::open(options(link));
  REQUIRE(again);
  auto t = (*again)->find_task(7);
  REQUIRE(t);
  CHECK(t->has_value());
}

TEST_CASE("a journal closed after reads leaves no -wal or -shm beside it, whatever name opened it") {
  // A read-only reader connection that closed after the writer's (seen on a journal that a tool had
  // switched out of WAL mode, which every writable open switches back) can neither checkpoint nor
  // remove the WAL: the file alone then lacked the last commits. Found by fuzz_journal_path.
  temp_dir dir;
  auto path = dir.file("j.db");
  journal_with_task(path);
  for (std::string name : {path, dir.file("./j.db"), "file:" + path, "file:" + path + "?mode=rw"}) {
    INFO(name);
    REQUIRE(run_sql(path, "PRAGMA journal_mode=DELETE") == SQLITE_OK); // as a tool may leave it
    {
      auto j = journal::open(options(name));
      REQUIRE(j);
      auto t = (*j)->find_task(7); // a read: on a reader connection of its own
      REQUIRE(t);
      CHECK(t->has_value());
    }
    CHECK(!std::filesystem::exists(path + "-wal"));
    CHECK(!std::filesystem::exists(path + "-shm"));
  }
}
