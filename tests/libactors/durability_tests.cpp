// The durability rule (DESIGN §2): a task's earlier results are durable before it runs an externally
// visible effect, and before its result is reported. Checked through a second, independent SQLite
// connection to the journal file: what it sees is committed.

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <actors/actors.hpp>
#include <actors/eventlog/event.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::db_get;
using actors::test::temp_dir;

namespace {

/// Kinds of the committed events of task `id`, read through a fresh connection.
std::vector<int> committed_kinds(const std::string& path, std::uint64_t id) {
  sqlite3* db = nullptr;
  std::vector<int> out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT kind FROM events WHERE task = ? ORDER BY seq", -1, &st, nullptr);
  sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(id));
  while (sqlite3_step(st) == SQLITE_ROW)
    out.push_back(sqlite3_column_int(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

struct observed {
  std::mutex mx;
  std::vector<int> before_parent_effect;
  std::vector<int> parent_before_child_effect;
  std::uint64_t parent = 0;
};

observed* seen = nullptr;
std::string journal_path;

task<std::string> child(ctx& cx, std::int64_t x) {
  co_return co_await cx.perform(db_get{x + 1});
}

task<std::string> parent(ctx& cx, std::int64_t x) {
  co_await cx.log("parent {}", x);
  co_await cx.now();
  co_await cx.random(6);
  auto a = co_await cx.perform(db_get{x});
  auto b = co_await cx.call<std::string>("child", x);
  co_return a + b;
}

} // namespace

TEST_CASE("earlier results are durable before a user effect, a child's effect, and the result",
          "[durability]") {
  temp_dir dir;
  journal_path = dir.file("j.db");
  observed obs;
  seen = &obs;
  router r;
  r.add("parent", "v1", parent).add("child", "v1", child);
  effects fx;
  fx.handle<db_get>([&](const db_get& q, const effect_context& ec) {
    std::lock_guard guard{obs.mx};
    if (ec.task.value() == obs.parent)
      obs.before_parent_effect = committed_kinds(journal_path, obs.parent);
    else
      obs.parent_before_child_effect = committed_kinds(journal_path, obs.parent);
    return "r" + std::to_string(q.id);
  });
  engine eng{test::config_for(journal_path), r, fx};
  {
    // Hold the lock while starting so the handler sees the parent's id.
    std::unique_lock guard{obs.mx};
    auto id = eng.start("parent", std::int64_t{1});
    REQUIRE(id);
    obs.parent = id->value();
  }
  auto out = eng.wait<std::string>(task_id{obs.parent});
  REQUIRE(out);
  CHECK(*out == "r1r2");
  using k = eventlog::event_kind;
  auto i = [](k x) { return static_cast<int>(x); };
  // started, log, now, random: all committed before db.get ran
  CHECK(obs.before_parent_effect == std::vector<int>{i(k::started), i(k::log), i(k::now),
                                                     i(k::random)});
  // ...and the parent's effect result was committed before the child's effect ran
  CHECK(obs.parent_before_child_effect ==
        std::vector<int>{i(k::started), i(k::log), i(k::now), i(k::random), i(k::effect)});
  // the reported result is committed
  auto final_kinds = committed_kinds(journal_path, obs.parent);
  REQUIRE_FALSE(final_kinds.empty());
  CHECK(final_kinds.back() == i(k::completed));
}
