// An acknowledged start is durable (DESIGN-NOTES §30): engine::start, start_batch, a keyed start and
// engine::send return only once their rows are committed. A slow disk (faulty_vfs::slow_write delays
// the journal's next write) makes the window between queueing a row and committing it wide and
// certain, so each check "the row is in the file when the call returns" fails on an engine that
// acknowledges at queueing, every time. Rows are read through a fresh SQLite connection: what it sees
// is committed.
// The crash form (SIGKILL the moment start returns) uses real child processes.

#include <algorithm>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "child_process.hpp"
#include "crash_workload.hpp"
#include "faulty_vfs.hpp"
#include "test_support.hpp"

using namespace actors;
using actors::test::faulty_vfs::fault;
using actors::test::temp_dir;
namespace faulty_vfs = actors::test::faulty_vfs;

namespace {

/// Long enough that a reader racing a queued row cannot win by luck; paid once per check.
constexpr std::int64_t slow_ms = 300;

/// Rows of `table` whose column `column` is `value`, counted through a fresh read-only connection.
std::int64_t committed_rows(const std::string& path, const char* table, const char* column,
                            std::uint64_t value) {
  sqlite3* db = nullptr;
  std::int64_t n = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    auto sql = std::string{"SELECT count(*) FROM "} + table + " WHERE " + column + " = ?";
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
      sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(value));
      if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

bool task_committed(const std::string& path, task_id id) {
  return committed_rows(path, "tasks", "id", id.value()) == 1;
}

task<std::int64_t> twice(ctx&, std::int64_t x) {
  co_return 2 * x;
}

task<std::int64_t> twice_v2(ctx&, std::int64_t x) {
  co_return 2 * x + 1;
}

task<std::string> shout(ctx&, std::string s) {
  co_return s + "!";
}

task<std::int64_t> inbox(ctx& cx, std::int64_t) {
  co_return co_await cx.receive<std::int64_t>();
}

/// Performs db.get, whose handler (in the test) starts a task and answers with its id.
task<std::string> starter(ctx& cx, std::int64_t x) {
  co_return co_await cx.perform<test::db_get>(x);
}

router durable_start_routes() {
  router r;
  r.add("twice", "v1", twice).add("twice", "v2", twice_v2).add("shout", "v1", shout);
  r.add("inbox", "v1", inbox).add("starter", "v1", starter);
  return r;
}

engine_config slow_disk_config(const std::string& path) {
  faulty_vfs::install();
  auto cfg = test::config_for(path);
  cfg.journal_vfs = faulty_vfs::name;
  return cfg;
}

/// Clears the VFS fault when a test ends, however it ends.
struct fault_guard {
  ~fault_guard() { faulty_vfs::clear(); }
};

/// An engine whose journal is written through the faulty VFS, on a fresh file; the fault is cleared
/// after the engine is gone.
struct slow_disk {
  temp_dir dir;
  std::string path = dir.file("j.db");
  fault_guard guard;
  engine eng{slow_disk_config(path), durable_start_routes(), effects{}};
  slow_disk() { REQUIRE_FALSE(eng.status()); }
};

bool is(const caf::error& err, errc code) {
  return err.category() == caf::atom("actors") && err.code() == static_cast<std::uint8_t>(code);
}

} // namespace

TEST_CASE_METHOD(slow_disk, "engine::start returns once the task row is committed, also on a slow disk",
                 "[durable-start]") {
  faulty_vfs::inject(fault::slow_write, slow_ms);
  auto id = eng.start("twice", 21);
  REQUIRE(id);
  CHECK(task_committed(path, *id));
  CHECK(eng.wait<std::int64_t>(*id).value() == 42);
}

TEST_CASE_METHOD(slow_disk,
                 "a keyed start, first or repeated while the first is pending, returns a durable task",
                 "[durable-start][start_key]") {
  faulty_vfs::inject(fault::slow_write, slow_ms);
  // Two starts with one key: whichever comes second finds the first's row on its way (or committed).
  auto other = std::async(std::launch::async, [&] { return eng.start("twice", 5, start_key{"k-1"}); });
  auto id = eng.start("twice", 5, start_key{"k-1"});
  REQUIRE(id);
  CHECK(task_committed(path, *id));
  CHECK(committed_rows(path, "start_keys", "task", id->value()) == 1);
  auto id2 = other.get();
  REQUIRE(id2);
  CHECK(*id2 == *id);
  CHECK(eng.wait<std::int64_t>(*id).value() == 10);
}

TEST_CASE_METHOD(slow_disk, "start_batch returns every id in input order once all rows are committed",
                 "[durable-start][start-batch]") {
  std::vector<std::int64_t> inputs;
  for (std::int64_t i = 0; i < 500; ++i)
    inputs.push_back(i);
  faulty_vfs::inject(fault::slow_write, slow_ms);
  auto ids = eng.start_batch("twice", inputs);
  REQUIRE(ids);
  REQUIRE(ids->size() == inputs.size());
  for (auto id : *ids)
    CHECK(task_committed(path, id));
  for (std::size_t i = 0; i < inputs.size(); ++i)
    CHECK(eng.wait<std::int64_t>((*ids)[i]).value() == 2 * inputs[i]);
  CHECK(std::is_sorted(ids->begin(), ids->end(), [](auto a, auto b) { return a.value() < b.value(); }));

  SECTION("pinned to a version, with inputs that normalize (const char* as std::string)") {
    auto pinned = eng.start_batch("twice", std::vector<int>{1, 2}, version{"v2"});
    REQUIRE(pinned);
    CHECK(eng.wait<std::int64_t>((*pinned)[1]).value() == 5);
    auto words = eng.start_batch("shout", std::vector<const char*>{"a", "b"});
    REQUIRE(words);
    CHECK(eng.wait<std::string>((*words)[0]).value() == "a!");
    CHECK(eng.wait<std::string>((*words)[1]).value() == "b!");
  }
  SECTION("no inputs, no tasks, no ids") {
    auto none = eng.start_batch("twice", std::vector<std::int64_t>{});
    REQUIRE(none);
    CHECK(none->empty());
  }
}

TEST_CASE("start_batch checks every input before it journals any, so a bad one starts nothing",
          "[durable-start][start-batch][errors]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  engine eng{test::config_for(path), durable_start_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto wrong = eng.start_batch("shout", std::vector<std::int64_t>{1, 2, 3});
  REQUIRE_FALSE(wrong);
  CHECK(is(wrong.error(), errc::wrong_input_type));
  CHECK_THAT(describe(wrong.error()), Catch::Contains("shout"));
  auto unknown = eng.start_batch("nope", std::vector<std::int64_t>{1});
  REQUIRE_FALSE(unknown);
  CHECK(is(unknown.error(), errc::unknown_function));
  auto bad_version = eng.start_batch("twice", std::vector<std::int64_t>{1}, version{"v9"});
  REQUIRE_FALSE(bad_version);
  CHECK(is(bad_version.error(), errc::unknown_version));
  REQUIRE_FALSE(eng.journal()->flush());
  auto tasks = eng.journal()->list_tasks({});
  REQUIRE(tasks);
  CHECK(tasks->empty());
  CHECK(eng.stats().started == 0);
}

TEST_CASE_METHOD(slow_disk, "engine::send returns once the message is committed",
                 "[durable-start][mailbox]") {
  auto id = eng.start("inbox", 0);
  REQUIRE(id);
  faulty_vfs::inject(fault::slow_write, slow_ms);
  REQUIRE(eng.send(*id, std::int64_t{7}));
  CHECK(committed_rows(path, "messages", "target", id->value()) == 1);
  CHECK(eng.wait<std::int64_t>(*id).value() == 7);
}

TEST_CASE_METHOD(slow_disk,
                 "engine::supervise returns once its children's task and supervision rows are durable",
                 "[durable-start][supervisor]") {
  supervision::supervisor_spec spec{.name = "s"};
  spec.children.push_back(worker("a", "inbox", std::int64_t{0}));
  faulty_vfs::inject(fault::slow_write, slow_ms);
  REQUIRE(eng.supervise(spec));
  auto id = eng.supervised_task("s", "a");
  REQUIRE(id);
  CHECK(task_committed(path, *id));
  CHECK(committed_rows(path, "supervision", "task", id->value()) == 1);
  REQUIRE(eng.stop_supervisor("s"));
}

TEST_CASE_METHOD(slow_disk,
                 "a journal failing before the row is durable makes start and start_batch acknowledge nothing",
                 "[durable-start][errors][storage]") {
  auto batch = GENERATE(false, true);
  INFO((batch ? "start_batch" : "start"));
  faulty_vfs::inject(fault::io_error);
  caf::error err;
  if (batch) {
    auto ids = eng.start_batch("twice", std::vector<std::int64_t>{1, 2});
    REQUIRE_FALSE(ids);
    err = ids.error();
  } else {
    auto id = eng.start("twice", 1);
    REQUIRE_FALSE(id);
    err = id.error();
  }
  CHECK(is(err, errc::journal_failure));
  CHECK_THAT(describe(err), Catch::Contains("not acknowledged") && Catch::Contains(path) &&
                              Catch::Contains("'twice'"));
  // From now on the engine takes no new tasks.
  auto later = eng.start("twice", 2);
  REQUIRE_FALSE(later);
  CHECK(is(later.error(), errc::journal_failure));
}

TEST_CASE("engine::start from an effect handler waits for its commit without deadlock",
          "[durable-start]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  engine* self = nullptr;
  effects fx;
  fx.handle<test::db_get>([&](const test::db_get& q) {
    auto id = self->start("twice", q.id);
    return id ? to_string(*id) : describe(id.error());
  });
  engine eng{test::config_for(path), durable_start_routes(), fx};
  self = &eng;
  REQUIRE_FALSE(eng.status());
  auto out = eng.run<std::string>("starter", 4);
  REQUIRE(out);
  auto started = task_id::from_string(*out);
  REQUIRE(started); // an id, not an error
  CHECK(task_committed(path, *started));
  CHECK(eng.wait<std::int64_t>(*started).value() == 8);
}

TEST_CASE("engine::start inside a durability callback on the journal's writer thread refuses",
          "[durable-start][errors]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  engine eng{test::config_for(path), durable_start_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto* j = eng.journal();
  REQUIRE(j != nullptr);
  std::promise<caf::expected<task_id>> inner;
  // Registered before the append it waits for exists (a fresh engine has appended nothing): it runs on
  // the writer thread after that commit, where a start that waited would wait for itself.
  j->when_durable(j->durable_lsn() + 1,
                  [&](const caf::error&) { inner.set_value(eng.start("twice", 2)); });
  auto outer = eng.start("twice", 1);
  REQUIRE(outer);
  auto got = inner.get_future().get();
  REQUIRE_FALSE(got);
  CHECK(is(got.error(), errc::journal_failure));
  CHECK_THAT(describe(got.error()), Catch::Contains("wrong_thread"));
  CHECK(eng.wait<std::int64_t>(*outer).value() == 2);
  eng.drain();
}

// --- the crash form --------------------------------------------------------------------------------

TEST_CASE("a task whose start returned survives a SIGKILL the moment it returned, and resumes",
          "[durable-start][crash][resume]") {
  auto mode = GENERATE(std::string{"acked"}, std::string{"acked-batch"});
  INFO(mode);
  temp_dir dir;
  auto path = dir.file("j.db");
  std::vector<task_id> ids;
  {
    test::child_process child{dir.path().string(), ACTORS_CRASH_CHILD, {path, mode},
                              test::child_process::stream::out};
    REQUIRE(child.wait_for("ACKED "));
    CHECK(child.stop(SIGKILL) == 128 + SIGKILL);
    std::istringstream line{child.line_after("ACKED ")};
    for (std::string word; line >> word;) {
      auto id = task_id::from_string(word);
      REQUIRE(id);
      ids.push_back(*id);
    }
  }
  REQUIRE(ids.size() == (mode == "acked" ? 1u : 3u));
  engine eng{test::config_for(path), test::crash_routes(), test::crash_effects(path + ".effects", {})};
  REQUIRE_FALSE(eng.status());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    INFO("task " << to_string(ids[i]));
    auto rec = eng.journal()->find_task(ids[i].value());
    REQUIRE(rec);
    CHECK(rec->has_value()); // the acknowledged id is in the journal
    auto qty = static_cast<std::int64_t>(5 + i);
    auto out = eng.wait<std::string>(ids[i]);
    REQUIRE(out);
    CHECK(*out == std::to_string(100 - qty) + "/paid-" + std::to_string(qty * 100) + "/parcel-" +
                    std::to_string(qty));
  }
}
