// Raw SQLite inserts of a durable task's rows (see raw_sqlite.hpp).

#include "raw_sqlite.hpp"

#include <chrono>
#include <iterator>
#include <memory>
#include <random>

#include <sqlite3.h>

#include <actors/eventlog/journal.hpp>

#include "bench_common.hpp"

namespace bench {

namespace {

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    fail(std::string{"raw SQLite: "} + what + ": " + sqlite3_errmsg(db));
}

void exec(sqlite3* db, const char* sql) {
  check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), sql);
}

/// A prepared statement run many times: bind, step, reset.
class statement {
public:
  statement(sqlite3* db, const char* sql) : db_(db) {
    check(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr), sql);
  }
  ~statement() { sqlite3_finalize(s_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  void i64(int i, std::int64_t x) { sqlite3_bind_int64(s_, i, x); }
  void text(int i, const std::string& x) {
    sqlite3_bind_text(s_, i, x.data(), static_cast<int>(x.size()), SQLITE_STATIC);
  }
  void blob(int i, const std::string& x) {
    sqlite3_bind_blob(s_, i, x.data(), static_cast<int>(x.size()), SQLITE_STATIC);
  }
  void run() {
    check(db_, sqlite3_step(s_), "step");
    sqlite3_reset(s_);
  }

private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Random 64-bit ids (splitmix64 over a counter), spread over the whole range: the contrast case.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

} // namespace

run_time raw_sqlite_insert(const std::string& path, const task_rows& rows, std::int64_t tasks,
                         std::int64_t tasks_per_txn, row_order order) {
  remove_db(path);
  {
    // The journal creates its own schema (tables, indexes, pragmas): both sides write the same layout.
    actors::eventlog::journal_options opts;
    opts.path = path;
    auto j = actors::eventlog::journal::open(opts);
    if (!j)
      fail("raw SQLite: cannot create the journal schema in " + path);
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
    fail("raw SQLite: cannot open " + path);
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=NORMAL");
  run_time elapsed;
  {
    statement begin{db, "BEGIN IMMEDIATE"};
    statement commit{db, "COMMIT"};
    statement insert_task{db, "INSERT INTO tasks(id, parent, root, parent_seq, function, version, "
                              "input_type, status, created, finished) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"};
    statement insert_event{db, "INSERT INTO events(task, seq, kind, failed, name, ref, request, "
                               "result, text, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"};
    statement finish_task{db, "UPDATE tasks SET status = ?2, finished = ?3 WHERE id = ?1"};
    const auto& t = rows.task;
    auto id_state = std::random_device{}() ^ static_cast<std::uint64_t>(now_ns());
    auto next_id = [&](std::int64_t i) {
      return order == row_order::random_ids
               ? static_cast<std::int64_t>(splitmix64(id_state += 0x9e3779b97f4a7c15ULL))
               : i + 1;
    };
    auto write_task = [&](std::int64_t id, std::int64_t ts) {
      insert_task.i64(1, id);
      insert_task.i64(2, 0);
      insert_task.i64(3, id);
      insert_task.i64(4, 0);
      insert_task.text(5, t.function);
      insert_task.text(6, t.version);
      insert_task.text(7, t.input_type);
      insert_task.i64(8, 0); // running
      insert_task.i64(9, ts);
      insert_task.i64(10, 0);
      insert_task.run();
    };
    // Binds one event row at parameter offset `b` (0 for the first row of a statement).
    auto bind_event = [](statement& st, int b, std::int64_t id, const actors::eventlog::event& ev,
                         std::int64_t ts) {
      st.i64(b + 1, id);
      st.i64(b + 2, ev.seq);
      st.i64(b + 3, static_cast<std::int64_t>(ev.kind));
      st.i64(b + 4, ev.failed ? 1 : 0);
      st.text(b + 5, ev.name);
      st.i64(b + 6, static_cast<std::int64_t>(ev.ref));
      st.blob(b + 7, ev.request);
      st.blob(b + 8, ev.result);
      st.text(b + 9, ev.text);
      st.i64(b + 10, ts);
    };
    auto write_event = [&](std::int64_t id, const actors::eventlog::event& ev, std::int64_t ts) {
      bind_event(insert_event, 0, id, ev, ts);
      insert_event.run();
    };
    auto write_finish = [&](std::int64_t id, std::int64_t ts) {
      finish_task.i64(1, id);
      finish_task.i64(2, static_cast<std::int64_t>(actors::eventlog::task_status::completed));
      finish_task.i64(3, ts);
      finish_task.run();
    };
    // multi_row: the journal's event statements (eventlog/src/open.cpp), bound the same way.
    constexpr int multi_sizes[] = {64, 16, 4, 1};
    std::vector<std::unique_ptr<statement>> insert_events;
    for (int rows_per : multi_sizes) {
      std::string sql = "INSERT INTO events(task, seq, kind, failed, name, ref, request, result, text, "
                        "ts) VALUES ";
      for (int r = 0; r < rows_per; ++r)
        sql += r == 0 ? "(?,?,?,?,?,?,?,?,?,?)" : ",(?,?,?,?,?,?,?,?,?,?)";
      insert_events.push_back(std::make_unique<statement>(db, sql.c_str()));
    }
    struct queued_event {
      std::int64_t id;
      std::int64_t ts;
      const actors::eventlog::event* ev;
    };
    std::vector<queued_event> queued;
    auto write_queued = [&] {
      std::size_t next = 0;
      for (std::size_t k = 0; k < std::size(multi_sizes); ++k) {
        auto rows_per = static_cast<std::size_t>(multi_sizes[k]);
        auto& st = *insert_events[k];
        while (queued.size() - next >= rows_per) {
          for (std::size_t r = 0; r < rows_per; ++r) {
            const auto& [id, ts, ev] = queued[next + r];
            bind_event(st, static_cast<int>(r) * 10, id, *ev, ts);
          }
          st.run();
          next += rows_per;
        }
      }
      queued.clear();
    };
    stopwatch watch;
    if (order != row_order::pipelined) {
      auto multi = order == row_order::multi_row;
      for (std::int64_t base = 0; base < tasks; base += tasks_per_txn) {
        begin.run();
        auto n = std::min(tasks_per_txn, tasks - base);
        for (std::int64_t k = 0; k < n; ++k) {
          auto id = next_id(base + k);
          auto ts = now_ns();
          write_task(id, ts);
          for (const auto& ev : rows.events) {
            if (multi)
              queued.push_back({id, ts, &ev}); // inserted after the transaction's tasks and updates
            else
              write_event(id, ev, ts);
          }
          write_finish(id, ts);
        }
        if (multi)
          write_queued();
        commit.run();
      }
    } else {
      // Transaction j holds step 0 (task row + started) of window j, step 1 of window j - 1, ...: the
      // order in which concurrent tasks that wait for durability between steps produce their rows.
      auto steps = static_cast<std::int64_t>(rows.events.size());
      auto windows = (tasks + tasks_per_txn - 1) / tasks_per_txn;
      for (std::int64_t j = 0; j < windows + steps - 1; ++j) {
        begin.run();
        for (std::int64_t step = 0; step < steps; ++step) {
          auto w = j - step;
          if (w < 0 || w >= windows)
            continue;
          auto base = w * tasks_per_txn;
          auto n = std::min(tasks_per_txn, tasks - base);
          for (std::int64_t k = 0; k < n; ++k) {
            auto id = base + k + 1;
            auto ts = now_ns();
            if (step == 0)
              write_task(id, ts);
            write_event(id, rows.events[static_cast<std::size_t>(step)], ts);
            if (step == steps - 1)
              write_finish(id, ts);
          }
        }
        commit.run();
      }
    }
    elapsed = watch.stop();
  }
  sqlite3_close(db);
  remove_db(path);
  return elapsed;
}

run_time raw_sqlite_read_events(const std::string& path, const std::vector<std::uint64_t>& tasks,
                                std::int64_t& events) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
    fail("raw read: cannot open " + path);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT seq, kind, failed, name, ref, request, result, text, ts FROM events "
                         "WHERE task = ?1 ORDER BY seq, rowid",
                         -1, &st, nullptr) != SQLITE_OK)
    fail("raw read: cannot prepare: " + std::string{sqlite3_errmsg(db)});
  auto text = [&](int i) {
    auto p = static_cast<const char*>(sqlite3_column_blob(st, i));
    return std::string{p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(st, i))};
  };
  events = 0;
  stopwatch watch;
  for (auto id : tasks) {
    sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(id));
    while (sqlite3_step(st) == SQLITE_ROW) {
      actors::eventlog::event ev;
      ev.task = id;
      ev.seq = static_cast<std::uint32_t>(sqlite3_column_int64(st, 0));
      ev.kind = static_cast<actors::eventlog::event_kind>(sqlite3_column_int(st, 1));
      ev.failed = sqlite3_column_int(st, 2) != 0;
      ev.name = text(3);
      ev.ref = static_cast<std::uint64_t>(sqlite3_column_int64(st, 4));
      ev.request = text(5);
      ev.result = text(6);
      ev.text = text(7);
      ev.ts = sqlite3_column_int64(st, 8);
      ++events;
    }
    sqlite3_reset(st);
  }
  auto t = watch.stop();
  sqlite3_finalize(st);
  sqlite3_close(db);
  return t;
}

} // namespace bench
