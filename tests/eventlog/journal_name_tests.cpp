// Journal names: `file:` URIs are resolved to their file and checked like any path (or refused, naming
// the parameter), and read-only opens need no write access and leave nothing beside the file.

#include <catch2/catch.hpp>

#include <filesystem>
#include <initializer_list>
#include <set>
#include <string>
#include <utility>

#include "journal_test_util.hpp"

using namespace actors::eventlog;
using namespace actors::eventlog::test;

namespace {

/// The names in `dir`.
std::set<std::string> listing(const temp_dir& dir) {
  std::set<std::string> out;
  for (auto& e : std::filesystem::directory_iterator{dir.path()})
    out.insert(e.path().filename().string());
  return out;
}

journal_location resolved(const std::string& name, bool writing = true, const std::string& vfs = {}) {
  auto loc = resolve_journal_name(name, vfs, writing);
  INFO(name);
  REQUIRE(loc);
  return *loc;
}

/// The refusal of `name`: an `invalid_name` error whose message names `part`.
void refused(const std::string& name, const std::string& part, bool writing = true) {
  INFO(name);
  auto loc = resolve_journal_name(name, {}, writing);
  REQUIRE(!loc);
  CHECK(code_of(loc.error()) == code(errc::invalid_name));
  CHECK_THAT(message_of(loc.error()), Catch::Contains(part) && Catch::Contains(name));
}

/// Opens `name` (naming the file at `path`), expects `expected`, and checks that the file and its
/// directory are unchanged.
void expect_refusal(const temp_dir& dir, const std::string& name, const std::string& path, errc expected,
                    bool read_only = false) {
  INFO(name);
  auto before = read_bytes(path);
  auto names = listing(dir);
  auto opts = options(name);
  opts.read_only = read_only;
  auto j = journal::open(opts);
  REQUIRE(!j);
  CHECK(code_of(j.error()) == code(expected));
  CHECK_THAT(message_of(j.error()), Catch::Contains(path));
  CHECK(read_bytes(path) == before);
  CHECK(listing(dir) == names);
}

/// `path` with its last component's dots percent-escaped: a URI path that needs decoding.
std::string escaped(const std::string& path) {
  auto slash = path.rfind('/');
  auto out = path.substr(0, slash + 1);
  for (auto c : path.substr(slash + 1))
    out += c == '.' ? std::string{"%2E"} : std::string(1, c);
  return out;
}

/// Writes tasks `ids` (of function "f") into the journal at `path` and closes it.
void write_tasks(const std::string& path, std::initializer_list<std::uint64_t> ids) {
  auto j = journal::open(options(path));
  REQUIRE(j);
  for (auto id : ids)
    (*j)->append_task(make_task(id, "f"), "", "");
  REQUIRE(!(*j)->flush());
}

} // namespace

TEST_CASE("file URIs resolve to their file, and both in-memory names to an in-memory journal") {
  CHECK(resolved("j.db").file == "j.db");
  CHECK(resolved("file:j.db").file == "j.db");
  CHECK(resolved("file:/srv/a/j.db").file == "/srv/a/j.db");
  CHECK(resolved("file:///srv/a/j.db").file == "/srv/a/j.db");
  CHECK(resolved("file://localhost/srv/a/j.db").file == "/srv/a/j.db");
  CHECK(resolved("FILE:/srv/a/j.db").file == "/srv/a/j.db");
  CHECK(resolved("file:/srv/my%20journal%3F.db").file == "/srv/my journal?.db");
  CHECK(resolved("file:/srv/j.db#section").file == "/srv/j.db");
  CHECK(resolved("file:/srv/j.db?mode=rwc&cache=private&vfs=unix").file == "/srv/j.db");
  CHECK(resolved("file:/srv/j.db?mode=rw").must_exist);
  CHECK(resolved("file:/srv/j.db?mode=ro", false).file == "/srv/j.db");
  CHECK(resolved("file:/srv/j.db?vfs=unix-none", true, "unix-none").file == "/srv/j.db");
  CHECK(resolved("file:file:j.db").file == "./file:j.db"); // never handed to SQLite as a URI again
  CHECK(resolved(":memory:").memory);
  CHECK(resolved("file::memory:").memory);
}

TEST_CASE("file URIs with parameters that would defeat the journal's checks are refused, naming them") {
  refused("file:/srv/j.db?immutable=1", "immutable=1");
  refused("file:/srv/j.db?immutable=1", "immutable=1", false);
  refused("file:/srv/j.db?nolock=1", "nolock=1");
  refused("file:/srv/j.db?mode=ro", "mode=ro");
  refused("file:/srv/j.db?mode=memory", "mode=memory");
  refused("file:/srv/j.db?cache=shared", "cache=shared");
  refused("file:/srv/j.db?vfs=unix-none", "vfs=unix-none");
  refused("file:/srv/j.db?mode=rwc&psow=0", "psow=0");
  refused("file:/srv/j.db?frobnicate=yes", "frobnicate=yes");
  refused("file://db.example.com/srv/j.db", "db.example.com");
  refused("file:/srv/j%2.db", "%-escape");
  refused("file:/srv/j%00.db", "NUL");
  refused("file:", "no file");
  refused("file:?mode=rwc", "no file");
}

TEST_CASE("a name that ends in a slash, '.' or '..', or holds a NUL, is refused, and the journal it would reach is left as it was") {
  // "j.db/" reads as a missing file to the kernel (ENOTDIR) and as "j.db" to SQLite: a writable open set
  // the existing journal up as a new one, past every check. Found by fuzz_journal_path.
  temp_dir dir;
  auto path = dir.file("j.db");
  journal_with_task(path);
  auto before = read_bytes(path);
  auto files = listing(dir);
  for (std::string name : {path + "/", path + "/.", path + "/..", "file:" + path + "/", dir.path().string() + "/.",
                           path + std::string{"/\0x", 3}}) {
    for (bool read_only : {false, true}) {
      INFO(name << (read_only ? " read-only" : " writable"));
      auto opts = options(name);
      opts.read_only = read_only;
      auto j = journal::open(opts);
      REQUIRE(!j);
      CHECK(code_of(j.error()) == code(errc::invalid_name));
      auto msg = message_of(j.error());
      CHECK((msg.find("names a directory: a journal is a file") != std::string::npos ||
             msg.find("the name contains a NUL byte") != std::string::npos));
    }
  }
  CHECK(read_bytes(path) == before);
  CHECK(listing(dir) == files);
}

TEST_CASE("a refused URI creates nothing") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto j = journal::open(options("file:" + path + "?nolock=1"));
  REQUIRE(!j);
  CHECK(code_of(j.error()) == code(errc::invalid_name));
  CHECK(listing(dir).empty());
}

TEST_CASE("a file URI naming a foreign, newer or non-SQLite file is refused and leaves it byte-identical") {
  temp_dir dir;
  auto foreign = dir.file("app.db");
  REQUIRE(run_sql(foreign, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
                           "INSERT INTO users VALUES (1, 'ann');") == SQLITE_OK);
  auto newer = dir.file("future.db");
  {
    auto j = journal::open(options(newer));
    REQUIRE(j);
  }
  REQUIRE(run_sql(newer, "PRAGMA user_version = 99;") == SQLITE_OK);
  auto text = dir.file("notes.txt");
  write_bytes(text, std::string(3000, 'x'));
  for (bool read_only : {false, true}) {
    for (auto uri : {"file:" + foreign, "file://localhost" + foreign, "file://" + escaped(foreign)})
      expect_refusal(dir, uri, foreign, errc::foreign_database, read_only);
    for (auto uri : {"file:" + newer, "file:///" + newer.substr(1) + "?mode=rw"})
      expect_refusal(dir, uri, newer, errc::newer_schema, read_only);
    expect_refusal(dir, "file:" + text, text, errc::not_a_database, read_only);
  }
}

TEST_CASE("a journal opened through a file URI is the file, written there and read back by its path") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    auto j = journal::open(options("file://localhost" + escaped(path) + "?mode=rwc"));
    REQUIRE(j);
    CHECK((*j)->path() == path);
    (*j)->append_task(make_task(7, "f"), "", "");
    REQUIRE(!(*j)->flush());
  }
  auto j = journal::open({.path = path, .read_only = true});
  REQUIRE(j);
  auto t = (*j)->find_task(7);
  REQUIRE((t && t->has_value()));
  // mode=rw opens an existing file, and creates none.
  CHECK(journal::open(options("file:" + path + "?mode=rw")));
  auto missing = journal::open(options("file:" + dir.file("missing.db") + "?mode=rw"));
  REQUIRE(!missing);
  CHECK(code_of(missing.error()) == code(errc::not_found));
  CHECK(!std::filesystem::exists(dir.file("missing.db")));
  // file::memory: is the in-memory journal.
  auto mem = journal::open(options("file::memory:"));
  REQUIRE(mem);
  (*mem)->append_task(make_task(1, "f"), "", "");
  REQUIRE(!(*mem)->flush());
  CHECK(listing(dir) == std::set<std::string>{"j.db"});
}

TEST_CASE("reading a journal no writer has open leaves no -wal or -shm file beside it") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    auto j = journal::open(options(path));
    REQUIRE(j);
    (*j)->append_task(make_task(1, "f"), "in", "text");
    (*j)->append(make_event(1, 1, event_kind::effect, "db.get"));
    REQUIRE(!(*j)->flush());
  }
  auto before = listing(dir);
  REQUIRE(before == std::set<std::string>{"j.db"});
  {
    auto j = journal::open({.path = path, .read_only = true});
    REQUIRE(j);
    auto tasks = (*j)->list_tasks({});
    REQUIRE(tasks);
    CHECK(tasks->size() == 1);
    CHECK((*j)->events(1)->size() == 2);
    CHECK((*j)->tail(0, 10)->size() == 2);
    CHECK(listing(dir) == before);
  }
  CHECK(listing(dir) == before);
}

TEST_CASE("a reader beside a live writer sees its commits, also when the writer opened after it, also "
          "through a symlink",
          "[read-only]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto link = dir.file("link.db"); // SQLite keeps the -wal beside the file the link leads to
  write_tasks(path, {1});
  std::filesystem::create_symlink(path, link);
  // Opened while nobody writes (the file as it is), then a writer comes.
  auto early = journal::open({.path = path, .read_only = true});
  auto early_link = journal::open({.path = link, .read_only = true});
  REQUIRE((early && early_link));
  CHECK((*early)->list_tasks({})->size() == 1);
  CHECK((*early_link)->list_tasks({})->size() == 1);
  auto writer = journal::open(options(path));
  REQUIRE(writer);
  (*writer)->append_task(make_task(2, "f"), "", "");
  REQUIRE(!(*writer)->flush());
  CHECK(std::filesystem::exists(path + "-wal")); // the commit is in the WAL
  auto late = journal::open({.path = path, .read_only = true});
  auto late_link = journal::open({.path = link, .read_only = true});
  REQUIRE((late && late_link));
  std::uint64_t id = 3;
  for (auto* reader : {early->get(), early_link->get(), late->get(), late_link->get()}) {
    INFO(id);
    CHECK(reader->list_tasks({})->size() == id - 1);
    (*writer)->append_task(make_task(id, "f"), "", "");
    REQUIRE(!(*writer)->flush());
    auto t = reader->find_task(id++);
    REQUIRE(t);
    CHECK(t->has_value());
  }
}

TEST_CASE("a journal file with a second hard link is refused under both names and left as it was") {
  temp_dir dir;
  auto path = dir.file("j.db");
  write_tasks(path, {1});
  std::filesystem::create_hard_link(path, dir.file("copy.db"));
  for (bool read_only : {false, true}) {
    expect_refusal(dir, path, path, errc::invalid_name, read_only);
    expect_refusal(dir, dir.file("copy.db"), dir.file("copy.db"), errc::invalid_name, read_only);
  }
  std::filesystem::remove(dir.file("copy.db"));
  CHECK(journal::open(options(path)));
}

TEST_CASE("a reader sees the commits of a writer that came and went between two of its reads",
          "[read-only]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  write_tasks(path, {1});
  auto reader = journal::open({.path = path, .read_only = true});
  REQUIRE(reader);
  CHECK((*reader)->list_tasks({})->size() == 1);
  write_tasks(path, {2, 3}); // opens, commits, checkpoints into the file and closes: no -wal left
  REQUIRE(listing(dir) == std::set<std::string>{"j.db"});
  CHECK((*reader)->list_tasks({})->size() == 3);
  CHECK(listing(dir) == std::set<std::string>{"j.db"});
}
