// Behaviour of the journal on healthy storage: appends, group commit, durability callbacks, reads, reopen,
// and a disk-full fault injected through max_page_count_for_tests.

#include <atomic>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "journal_test_util.hpp"

using namespace actors::eventlog;
using namespace actors::eventlog::test;

namespace {

std::unique_ptr<journal> open_ok(const journal_options& opts) {
  auto j = journal::open(opts);
  if (!j)
    FAIL("open failed: " << to_string(j.error()));
  return std::move(*j);
}

} // namespace

TEST_CASE("appended tasks and events read back in seq order with their payloads") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  auto rec = make_task(7, "lookupUser");
  rec.created = 1000;
  j->append_task(rec, std::string{"in\0put", 6}, "lookupUser(42)");
  auto eff = make_event(7, 1, event_kind::effect, "db.get", "req", std::string{"r\0s", 3});
  eff.failed = true;
  j->append(eff);
  j->append(make_event(7, 2, event_kind::log));
  auto call = make_event(7, 3, event_kind::call, "child");
  call.ref = 99;
  j->append(call);
  REQUIRE(!j->flush());

  auto task = j->find_task(7);
  REQUIRE(task);
  REQUIRE(task->has_value());
  CHECK((*task)->function == "lookupUser");
  CHECK((*task)->version == "v1");
  CHECK((*task)->input_type == "int");
  CHECK((*task)->root == 7);
  CHECK((*task)->created == 1000);
  CHECK((*task)->status == task_status::running);
  CHECK((*task)->finished == 0);

  auto evs = j->events(7);
  REQUIRE(evs);
  REQUIRE(evs->size() == 4);
  CHECK((*evs)[0].kind == event_kind::started);
  CHECK((*evs)[0].seq == 0);
  CHECK((*evs)[0].name == "lookupUser");
  CHECK((*evs)[0].request == std::string{"in\0put", 6});
  CHECK((*evs)[0].text == "lookupUser(42)");
  CHECK((*evs)[0].ts == 1000);
  CHECK((*evs)[1].kind == event_kind::effect);
  CHECK((*evs)[1].failed);
  CHECK((*evs)[1].name == "db.get");
  CHECK((*evs)[1].request == "req");
  CHECK((*evs)[1].result == std::string{"r\0s", 3});
  CHECK((*evs)[1].ts > 0); // stamped by the journal when left 0
  CHECK((*evs)[2].kind == event_kind::log);
  CHECK((*evs)[2].request.empty());
  CHECK((*evs)[3].ref == 99);
  for (std::uint32_t i = 0; i < evs->size(); ++i)
    CHECK((*evs)[i].seq == i);

  auto missing = j->find_task(8);
  REQUIRE(missing);
  CHECK(!missing->has_value());
}

TEST_CASE("task ids above INT64_MAX round-trip unchanged") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  constexpr auto big = std::numeric_limits<std::uint64_t>::max() - 5;
  auto child = make_task(big - 1, "child", big, 3);
  j->append_task(make_task(big, "root"), "", "");
  j->append_task(child, "", "");
  REQUIRE(!j->flush());
  auto t = j->find_task(big);
  REQUIRE(t);
  REQUIRE(t->has_value());
  CHECK((*t)->id == big);
  auto kids = j->children(big);
  REQUIRE(kids);
  REQUIRE(kids->size() == 1);
  CHECK(kids->front().id == big - 1);
  CHECK(kids->front().parent == big);
}

TEST_CASE("appends from several threads are group-committed and each callback runs once in lsn order per thread") {
  temp_dir dir;
  auto opts = options(dir.file("j.db"));
  opts.max_batch = 64; // several transactions per swap as well
  auto j = open_ok(opts);
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  struct seen {
    std::mutex mu;
    std::vector<lsn> appended;
    std::vector<lsn> called;
    int errors = 0;
    bool flush_failed = false;
  };
  std::vector<seen> per(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto& me = per[t];
      auto id = static_cast<std::uint64_t>(t + 1);
      auto first = j->append_task(make_task(id, "worker"), "", "");
      me.appended.push_back(first);
      j->when_durable(first, [&me, first](const caf::error& err) {
        std::lock_guard lk{me.mu};
        me.called.push_back(first);
        me.errors += err ? 1 : 0;
      });
      for (int i = 1; i < per_thread; ++i) {
        auto n = j->append(make_event(id, static_cast<std::uint32_t>(i), event_kind::effect, "fx", "q", "r"));
        me.appended.push_back(n);
        j->when_durable(n, [&me, n](const caf::error& err) {
          std::lock_guard lk{me.mu};
          me.called.push_back(n);
          me.errors += err ? 1 : 0;
        });
      }
      auto err = j->flush(); // Catch2 assertions are not thread-safe: checked on the main thread
      std::lock_guard lk{me.mu};
      me.flush_failed = static_cast<bool>(err);
    });
  }
  for (auto& w : workers)
    w.join();
  for (auto& me : per) {
    std::lock_guard lk{me.mu};
    CHECK(me.errors == 0);
    CHECK(!me.flush_failed);
    CHECK(me.called == me.appended); // each exactly once, in the thread's lsn order
    CHECK(std::is_sorted(me.appended.begin(), me.appended.end()));
  }
  CHECK(j->durable_lsn() == static_cast<lsn>(threads * per_thread));
  auto rows = j->tail(0, threads * per_thread + 10);
  REQUIRE(rows);
  CHECK(rows->size() == static_cast<std::size_t>(threads * per_thread));
  for (int t = 0; t < threads; ++t) {
    auto evs = j->events(static_cast<std::uint64_t>(t + 1));
    REQUIRE(evs);
    REQUIRE(evs->size() == static_cast<std::size_t>(per_thread));
    for (std::size_t i = 0; i < evs->size(); ++i)
      CHECK((*evs)[i].seq == i);
  }
}

TEST_CASE("completed and failed events set the task's status and finish time") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  j->append_task(make_task(1, "f"), "", "");
  j->append_task(make_task(2, "f"), "", "");
  j->append_task(make_task(3, "f"), "", "");
  auto done = make_event(1, 1, event_kind::completed, "", "", "out");
  done.ts = 5000;
  j->append(done);
  auto bad = make_event(2, 1, event_kind::failed, "", "", "boom");
  bad.ts = 6000;
  j->append(bad);
  REQUIRE(!j->flush());
  auto t1 = j->find_task(1);
  auto t2 = j->find_task(2);
  auto t3 = j->find_task(3);
  REQUIRE((t1 && t2 && t3));
  CHECK((*t1)->status == task_status::completed);
  CHECK((*t1)->finished == 5000);
  CHECK((*t2)->status == task_status::failed);
  CHECK((*t2)->finished == 6000);
  CHECK((*t3)->status == task_status::running);
  CHECK((*t3)->finished == 0);
}

TEST_CASE("unfinished_tasks lists the running tasks oldest first") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  j->append_task(make_task(10, "f", 0, 0, 300), "", "");
  j->append_task(make_task(11, "f", 0, 0, 100), "", "");
  j->append_task(make_task(12, "f", 0, 0, 200), "", "");
  j->append_task(make_task(13, "f", 0, 0, 50), "", "");
  j->append(make_event(13, 1, event_kind::completed));
  REQUIRE(!j->flush());
  auto open_tasks = j->unfinished_tasks();
  REQUIRE(open_tasks);
  std::vector<std::uint64_t> ids;
  for (auto& t : *open_tasks)
    ids.push_back(t.id);
  CHECK(ids == std::vector<std::uint64_t>{11, 12, 10});
}

TEST_CASE("children come back in parent_seq order") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  j->append_task(make_task(1, "parent"), "", "");
  j->append_task(make_task(4, "c", 1, 9), "", "");
  j->append_task(make_task(2, "c", 1, 5), "", "");
  j->append_task(make_task(3, "c", 1, 7), "", "");
  j->append_task(make_task(5, "other", 2, 1), "", "");
  REQUIRE(!j->flush());
  auto kids = j->children(1);
  REQUIRE(kids);
  std::vector<std::uint64_t> ids;
  for (auto& t : *kids)
    ids.push_back(t.id);
  CHECK(ids == std::vector<std::uint64_t>{2, 3, 4});
  CHECK(kids->front().root == 1);
  auto none = j->children(5);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("list_tasks filters by function, status, since and limit, newest first") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  j->append_task(make_task(1, "a", 0, 0, 100), "", "");
  j->append_task(make_task(2, "b", 0, 0, 200), "", "");
  j->append_task(make_task(3, "a", 0, 0, 300), "", "");
  j->append_task(make_task(4, "a", 0, 0, 400), "", "");
  j->append(make_event(3, 1, event_kind::completed));
  REQUIRE(!j->flush());
  auto ids = [&](const task_filter& f) {
    std::vector<std::uint64_t> out;
    auto rows = j->list_tasks(f);
    REQUIRE(rows);
    for (auto& t : *rows)
      out.push_back(t.id);
    return out;
  };
  using v = std::vector<std::uint64_t>;
  CHECK(ids({}) == v{4, 3, 2, 1});
  task_filter by_fn;
  by_fn.function = "a";
  CHECK(ids(by_fn) == v{4, 3, 1});
  task_filter by_status;
  by_status.status = task_status::completed;
  CHECK(ids(by_status) == v{3});
  task_filter running_a;
  running_a.function = "a";
  running_a.status = task_status::running;
  CHECK(ids(running_a) == v{4, 1});
  task_filter since;
  since.since = 200;
  CHECK(ids(since) == v{4, 3, 2});
  task_filter limited;
  limited.limit = 2;
  CHECK(ids(limited) == v{4, 3});
  task_filter nothing;
  nothing.function = "zzz";
  CHECK(ids(nothing).empty());
}

TEST_CASE("tail returns events in global append order after a rowid, at most limit") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  j->append_task(make_task(1, "a"), "", "");
  j->append_task(make_task(2, "b"), "", "");
  j->append(make_event(2, 1, event_kind::log));
  j->append(make_event(1, 1, event_kind::log));
  j->append(make_event(2, 2, event_kind::completed));
  REQUIRE(!j->flush());
  auto all = j->tail(0, 100);
  REQUIRE(all);
  REQUIRE(all->size() == 5);
  std::vector<std::pair<std::uint64_t, std::uint32_t>> order;
  for (auto& [rowid, ev] : *all)
    order.emplace_back(ev.task, ev.seq);
  CHECK(order == std::vector<std::pair<std::uint64_t, std::uint32_t>>{{1, 0}, {2, 0}, {2, 1}, {1, 1}, {2, 2}});
  CHECK(std::is_sorted(all->begin(), all->end(), [](auto& x, auto& y) { return x.first < y.first; }));
  auto page = j->tail((*all)[1].first, 2);
  REQUIRE(page);
  REQUIRE(page->size() == 2);
  CHECK((*page)[0].first == (*all)[2].first);
  CHECK((*page)[1].first == (*all)[3].first);
  auto rest = j->tail(all->back().first, 10);
  REQUIRE(rest);
  CHECK(rest->empty());
  auto zero = j->tail(0, 0);
  REQUIRE(zero);
  CHECK(zero->empty());
}

namespace {

/// Holds the journal's writer inside a durability callback (callbacks run outside the queue's lock)
/// until `release()`: everything appended meanwhile goes into one commit. It holds on an append of its
/// own that is not an event (a cancellation request for a task that does not exist), and appends
/// again if the writer committed it before the callback was registered (the callback then ran inline,
/// on this thread, and cannot hold).
class writer_hold {
public:
  explicit writer_hold(journal& j) {
    auto released = release_.get_future().share();
    auto self = std::this_thread::get_id();
    for (;;) {
      auto held = std::make_shared<std::promise<bool>>();
      auto result = held->get_future();
      j.when_durable(j.request_cancel(0xffff'ffff'ffff'fff0), [held, released, self](const caf::error&) {
        if (std::this_thread::get_id() == self) {
          held->set_value(false);
          return;
        }
        held->set_value(true);
        released.wait();
      });
      if (result.get())
        return;
    }
  }
  ~writer_hold() { release(); }
  writer_hold(const writer_hold&) = delete;
  writer_hold& operator=(const writer_hold&) = delete;
  void release() {
    if (!released_) {
      released_ = true;
      release_.set_value();
    }
  }

private:
  std::promise<void> release_;
  bool released_ = false;
};

} // namespace

TEST_CASE("a commit of many events inserts them in append order, with the task rows and updates around them") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  // Everything below is queued while the writer is held: it goes in one commit, whose events go
  // through the multi-row inserts (64, 16, 4 and 1 rows per statement).
  j->append_task(make_task(100, "first"), "", "");
  j->append(make_event(100, 1, event_kind::log));
  writer_hold hold{*j};
  auto before = j->stats();
  std::vector<std::pair<std::uint64_t, std::uint32_t>> appended{{100, 0}, {100, 1}};
  constexpr std::uint32_t per_task = 60;
  for (std::uint64_t t = 1; t <= 3; ++t) {
    j->append_task(make_task(t, "f"), "", "");
    appended.emplace_back(t, 0);
  }
  for (std::uint32_t seq = 1; seq <= per_task; ++seq)
    for (std::uint64_t t = 1; t <= 3; ++t) {
      auto kind = seq == per_task && t != 2 ? event_kind::completed : event_kind::effect;
      j->append(make_event(t, seq, kind, "fx", "req" + std::to_string(seq), "res" + std::to_string(t)));
      appended.emplace_back(t, seq);
    }
  hold.release();
  REQUIRE(!j->flush());
  auto after = j->stats();
  CHECK(after.commits - before.commits == 1); // all of it in one transaction
  CHECK(after.appends - before.appends == 3 + 3 * per_task);
  auto all = j->tail(0, 1000);
  REQUIRE(all);
  std::vector<std::pair<std::uint64_t, std::uint32_t>> order;
  for (auto& [rowid, ev] : *all)
    order.emplace_back(ev.task, ev.seq);
  CHECK(order == appended);
  auto evs = j->events(2);
  REQUIRE(evs);
  REQUIRE(evs->size() == per_task + 1);
  CHECK((*evs)[7].request == "req7");
  CHECK((*evs)[7].result == "res2");
  CHECK((*evs)[7].name == "fx");
  auto t1 = j->find_task(1);
  auto t2 = j->find_task(2);
  REQUIRE((t1 && *t1 && t2 && *t2));
  CHECK((*t1)->status == task_status::completed);
  CHECK((*t2)->status == task_status::running);
}

TEST_CASE("a commit of many task rows inserts each with its fields, and ends and restarts in the same commit update them") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  // 90 task rows (64 + 16 + 4 + 4 + 1 + 1 rows per statement) queued while the writer is held, so in
  // one commit, with ends between them that must update rows inserted earlier in the same commit.
  writer_hold hold{*j};
  auto before = j->stats();
  constexpr std::uint64_t n = 90;
  for (std::uint64_t id = 1; id <= n; ++id) {
    auto t = make_task(id, "f" + std::to_string(id), id > 1 ? id - 1 : 0, static_cast<std::uint32_t>(id),
                       static_cast<std::int64_t>(id * 10));
    t.version = "v" + std::to_string(id % 3);
    t.route = "percent bucket " + std::to_string(id);
    if (id % 10 == 0)
      t.start_key = "key-" + std::to_string(id);
    j->append_task(t, "", "");
    if (id == 5)
      j->append(make_event(5, 1, event_kind::completed)); // task 5 ends in the commit it started in
    if (id == 70) {
      j->append(make_event(6, 1, event_kind::failed));
      auto restart = make_event(6, 2, event_kind::restarted);
      restart.ref = 1;
      j->append(restart); // and runs again
      j->append(make_event(7, 1, event_kind::cancelled));
    }
  }
  hold.release();
  REQUIRE(!j->flush());
  auto after = j->stats();
  CHECK(after.commits - before.commits == 1);
  CHECK(after.appends - before.appends == n + 4);
  for (std::uint64_t id = 1; id <= n; ++id) {
    auto t = j->find_task(id);
    REQUIRE(t);
    REQUIRE(t->has_value());
    auto& r = **t;
    CHECK(r.function == "f" + std::to_string(id));
    CHECK(r.version == "v" + std::to_string(id % 3));
    CHECK(r.parent == (id > 1 ? id - 1 : 0));
    CHECK(r.parent_seq == id);
    CHECK(r.created == static_cast<std::int64_t>(id * 10));
    CHECK(r.route == "percent bucket " + std::to_string(id));
    auto expected = id == 5 ? task_status::completed
                    : id == 7 ? task_status::cancelled
                              : task_status::running; // 6 failed, then restarted
    CHECK(r.status == expected);
    if (id % 10 == 0) {
      auto k = j->find_start_key("key-" + std::to_string(id));
      REQUIRE(k);
      CHECK(*k == std::optional<std::uint64_t>{id});
    }
  }
  auto kids = j->children(44);
  REQUIRE(kids);
  REQUIRE(kids->size() == 1);
  CHECK(kids->front().id == 45);
}

TEST_CASE("a reopened journal sees everything appended before it was closed") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    auto j = open_ok(options(path));
    j->append_task(make_task(1, "f"), "input", "f(1)");
    for (std::uint32_t i = 1; i <= 500; ++i)
      j->append(make_event(1, i, event_kind::log));
    j->append(make_event(1, 501, event_kind::completed, "", "", "out"));
    // no flush: closing drains the queue
  }
  auto j = open_ok(options(path));
  auto evs = j->events(1);
  REQUIRE(evs);
  CHECK(evs->size() == 502);
  auto t = j->find_task(1);
  REQUIRE(t);
  REQUIRE(t->has_value());
  CHECK((*t)->status == task_status::completed);
  // appends continue after the existing rows
  j->append_task(make_task(2, "g"), "", "");
  REQUIRE(!j->flush());
  auto all = j->tail(0, 1000);
  REQUIRE(all);
  CHECK(all->size() == 503);
  CHECK(all->back().second.task == 2);
}

TEST_CASE("a read-only journal reads committed appends and refuses new ones with closed") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto writer = open_ok(options(path));
  writer->append_task(make_task(1, "f"), "", "");
  REQUIRE(!writer->flush());
  auto ro_opts = options(path);
  ro_opts.read_only = true;
  auto reader = open_ok(ro_opts);
  auto t = reader->find_task(1);
  REQUIRE(t);
  CHECK(t->has_value());
  // the reader sees what the writer commits later
  writer->append_task(make_task(2, "f"), "", "");
  REQUIRE(!writer->flush());
  auto listed = reader->list_tasks({});
  REQUIRE(listed);
  CHECK(listed->size() == 2);
  auto n = reader->append(make_event(1, 1, event_kind::log));
  std::promise<caf::error> got;
  reader->when_durable(n, [&](const caf::error& err) { got.set_value(err); });
  CHECK(code_of(got.get_future().get()) == code(errc::closed));
}

TEST_CASE("when_durable for an already durable lsn calls back inline") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  auto n = j->append_task(make_task(1, "f"), "", "");
  REQUIRE(!j->flush());
  CHECK(j->durable_lsn() >= n);
  bool called = false;
  auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  j->when_durable(n, [&](const caf::error& err) {
    called = !err;
    ran_on = std::this_thread::get_id();
  });
  CHECK(called);
  CHECK(ran_on == caller);
  bool zero_called = false;
  j->when_durable(0, [&](const caf::error& err) { zero_called = !err; });
  CHECK(zero_called);
}

TEST_CASE("when_durable waits for a later append and is called once it commits") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  std::promise<caf::error> got;
  auto fut = got.get_future();
  auto next = j->durable_lsn() + 1;
  j->when_durable(next, [&](const caf::error& err) { got.set_value(err); });
  auto n = j->append_task(make_task(1, "f"), "", "");
  CHECK(n == next);
  CHECK(!fut.get());
  CHECK(j->durable_lsn() >= n);
}

TEST_CASE("flush returns no error and makes everything queued before it durable") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  CHECK(!j->flush()); // nothing queued
  lsn last = 0;
  j->append_task(make_task(1, "f"), "", "");
  for (std::uint32_t i = 1; i <= 100; ++i)
    last = j->append(make_event(1, i, event_kind::log));
  CHECK(!j->flush());
  CHECK(j->durable_lsn() >= last);
  CHECK(!j->failure());
}

TEST_CASE("await_durable returns once its lsn is durable; many threads wait for one commit") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  CHECK(!j->await_durable(0)); // nothing to wait for
  j->append_task(make_task(1, "f"), "", "");
  constexpr int threads = 8;
  std::vector<std::thread> waiters;
  std::vector<lsn> mine(threads);
  std::vector<caf::error> got(threads);
  for (int t = 0; t < threads; ++t)
    waiters.emplace_back([&, t] {
      mine[t] = j->append(make_event(1, static_cast<std::uint32_t>(t + 1), event_kind::log));
      got[t] = j->await_durable(mine[t]);
    });
  for (auto& w : waiters)
    w.join();
  for (int t = 0; t < threads; ++t) {
    CHECK(!got[t]);
    CHECK(j->durable_lsn() >= mine[t]);
  }
  auto evs = j->events(1); // read through another connection: committed
  REQUIRE(evs);
  CHECK(evs->size() == threads + 1);
  CHECK(!j->await_durable(mine[0])); // already durable: at once
}

TEST_CASE("await_durable and flush on the writer thread (a durability callback) refuse instead of hanging") {
  temp_dir dir;
  auto j = open_ok(options(dir.file("j.db")));
  std::promise<std::pair<caf::error, caf::error>> got;
  auto fut = got.get_future();
  auto caller = std::this_thread::get_id();
  std::thread::id ran_on;
  // Registered before its append exists: it runs on the writer thread, after the commit.
  auto next = j->durable_lsn() + 1;
  j->when_durable(next, [&](const caf::error&) {
    ran_on = std::this_thread::get_id();
    auto later = j->append(make_event(1, 2, event_kind::log));
    got.set_value({j->await_durable(later), j->flush()});
  });
  CHECK(j->append_task(make_task(1, "f"), "", "") == next);
  auto [waited, flushed] = fut.get();
  CHECK(ran_on != caller);
  CHECK(code_of(waited) == code(errc::wrong_thread));
  CHECK(message_of(waited).find(dir.file("j.db")) != std::string::npos);
  CHECK(code_of(flushed) == code(errc::wrong_thread));
  CHECK(!j->flush()); // from another thread both work, and the journal is healthy
  CHECK(!j->failure());
}

TEST_CASE("await_durable on a failed journal returns the write error, on a read-only one closed") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    auto opts = options(path);
    opts.max_page_count_for_tests = 16;
    auto j = open_ok(opts);
    j->append_task(make_task(1, "f"), "", "");
    REQUIRE(!j->flush());
    std::string payload(4096, 'x');
    lsn last = 0;
    for (std::uint32_t i = 0; i < 50; ++i)
      last = j->append(make_event(1, i + 1, event_kind::effect, "fx", payload, payload));
    auto err = j->await_durable(last);
    CHECK(code_of(err) == code(errc::io_error));
    CHECK(message_of(err).find(path) != std::string::npos);
  }
  auto opts = options(path);
  opts.read_only = true;
  auto reader = open_ok(opts);
  auto n = reader->append(make_event(1, 1, event_kind::log));
  CHECK(code_of(reader->await_durable(n)) == code(errc::closed));
}

TEST_CASE("synchronous FULL journals work the same way") {
  temp_dir dir;
  auto opts = options(dir.file("j.db"));
  opts.synchronous_full = true;
  auto j = open_ok(opts);
  j->append_task(make_task(1, "f"), "", "");
  CHECK(!j->flush());
  auto evs = j->events(1);
  REQUIRE(evs);
  CHECK(evs->size() == 1);
}

TEST_CASE("a :memory: journal supports appends and reads") {
  auto j = open_ok(options(":memory:"));
  CHECK(j->path() == ":memory:");
  j->append_task(make_task(1, "f"), "in", "");
  j->append(make_event(1, 1, event_kind::completed, "", "", "out"));
  REQUIRE(!j->flush());
  auto t = j->find_task(1);
  REQUIRE(t);
  REQUIRE(t->has_value());
  CHECK((*t)->status == task_status::completed);
  auto evs = j->events(1);
  REQUIRE(evs);
  CHECK(evs->size() == 2);
}

TEST_CASE("a full disk fails the journal: pending and later callbacks get io_error, committed data stays") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    auto opts = options(path);
    opts.max_page_count_for_tests = 16; // a few pages beyond the schema
    auto j = open_ok(opts);
    j->append_task(make_task(1, "f"), "", "");
    REQUIRE(!j->flush());
    CHECK(!j->failure());

    // 200 events of 4 KiB cannot fit in 16 pages.
    std::vector<std::future<caf::error>> results;
    std::vector<std::promise<caf::error>> promises(200);
    std::string payload(4096, 'x');
    for (std::uint32_t i = 0; i < 200; ++i) {
      auto n = j->append(make_event(1, i + 1, event_kind::effect, "fx", payload, payload));
      results.push_back(promises[i].get_future());
      j->when_durable(n, [&p = promises[i]](const caf::error& err) { p.set_value(err); });
    }
    auto err = j->flush();
    CHECK(code_of(err) == code(errc::io_error));
    CHECK(code_of(j->failure()) == code(errc::io_error));
    CHECK(message_of(j->failure()).find(path) != std::string::npos);
    // Every callback runs exactly once (a second set_value would throw), the last one with the error.
    std::vector<caf::error> got;
    for (auto& f : results)
      got.push_back(f.get());
    CHECK(code_of(got.back()) == code(errc::io_error));
    for (auto& e : got)
      CHECK((!e || code_of(e) == code(errc::io_error)));

    // Later appends are dropped and their callbacks get the failure inline.
    auto late = j->append(make_event(1, 999, event_kind::log));
    caf::error late_err;
    j->when_durable(late, [&](const caf::error& e) { late_err = e; });
    CHECK(code_of(late_err) == code(errc::io_error));
    CHECK(code_of(j->flush()) == code(errc::io_error));

    // What was committed before the failure is still readable.
    auto t = j->find_task(1);
    REQUIRE(t);
    CHECK(t->has_value());
  }
  auto j = open_ok(options(path));
  auto t = j->find_task(1);
  REQUIRE(t);
  CHECK(t->has_value());
  CHECK(!j->failure());
}

TEST_CASE("errc and event enums have names") {
  CHECK(to_string(errc::newer_schema) == "newer_schema");
  CHECK(to_string(errc::not_found) == "not_found");
  CHECK(to_string(errc::wrong_thread) == "wrong_thread");
  CHECK(to_string(event_kind::call) == "call");
  CHECK(to_string(static_cast<event_kind>(200)) == "unknown");
  CHECK(to_string(task_status::cancelled) == "cancelled");
  auto err = make_error(errc::corrupt, "x");
  CHECK(err == errc::corrupt);
  CHECK(err != errc::closed);
  CHECK(message_of(err) == "x");
}

TEST_CASE("with a tiny append-queue bound, producers wait for the writer and every append becomes durable") {
  temp_dir dir;
  auto opts = options(dir.file("j.db"));
  opts.max_queue = 8; // tiny: producers block many times
  opts.max_batch = 4;
  auto j = open_ok(opts);
  constexpr int threads = 3;
  constexpr int per_thread = 3000;
  std::atomic<int> callbacks{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto id = static_cast<std::uint64_t>(t + 1);
      j->append_task(make_task(id, "producer"), "", "");
      for (int i = 1; i <= per_thread; ++i) {
        auto n = j->append(make_event(id, static_cast<std::uint32_t>(i), event_kind::log));
        if (i % 100 == 0)
          j->when_durable(n, [&](const caf::error& err) {
            if (!err)
              ++callbacks;
          });
      }
    });
  }
  for (auto& w : workers)
    w.join();
  REQUIRE_FALSE(j->flush());
  CHECK(callbacks == threads * per_thread / 100);
  for (int t = 1; t <= threads; ++t) {
    auto evs = j->events(static_cast<std::uint64_t>(t));
    REQUIRE(evs);
    CHECK(evs->size() == per_thread + 1);
  }
}

TEST_CASE("the commit listener is told at install, after each commit, and once when the journal closes") {
  temp_dir dir;
  std::mutex mx;
  std::vector<std::pair<lsn, bool>> calls; // (durable lsn, with an error)
  auto listener = [&](lsn n, const caf::error& err) {
    std::lock_guard guard{mx};
    calls.emplace_back(n, static_cast<bool>(err));
  };
  lsn last = 0;
  {
    auto j = open_ok(options(dir.file("j.db")));
    j->set_commit_listener(listener);
    {
      std::lock_guard guard{mx};
      REQUIRE(calls.size() == 1);
      CHECK(calls[0] == std::pair<lsn, bool>{0, false});
    }
    j->append_task(make_task(1, "f"), "", "");
    last = j->append(make_event(1, 1, event_kind::effect, "fx", "a", "b"));
    REQUIRE(!j->flush());
    {
      // flush returns once durable_ is published, which is after the listener heard of the commit.
      std::lock_guard guard{mx};
      REQUIRE(calls.size() >= 2);
      CHECK(calls.back() == std::pair<lsn, bool>{last, false});
      for (std::size_t i = 1; i < calls.size(); ++i)
        CHECK(calls[i].first >= calls[i - 1].first); // never goes back
    }
  }
  std::lock_guard guard{mx};
  CHECK(calls.back() == std::pair<lsn, bool>{last, true}); // closed: nothing more will be durable
}

TEST_CASE("a removed commit listener is not called again; a failed journal reports its error to a new one") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto opts = options(path);
  opts.max_page_count_for_tests = 16;
  auto j = open_ok(opts);
  std::atomic<int> removed_calls{0};
  j->set_commit_listener([&](lsn, const caf::error&) { ++removed_calls; });
  CHECK(removed_calls == 1);
  j->set_commit_listener({});
  j->append_task(make_task(1, "f"), "", "");
  REQUIRE(!j->flush());
  CHECK(removed_calls == 1);
  std::string payload(4096, 'x');
  for (std::uint32_t i = 0; i < 200; ++i)
    j->append(make_event(1, i + 1, event_kind::effect, "fx", payload, payload));
  REQUIRE(code_of(j->flush()) == code(errc::io_error));
  caf::error told;
  j->set_commit_listener([&](lsn, const caf::error& err) { told = err; });
  CHECK(code_of(told) == code(errc::io_error));
  CHECK(removed_calls == 1);
}

TEST_CASE("divergence records are appended with group commit and read back newest first, by function") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    auto j = open_ok(options(path));
    CHECK(j->divergences("")->empty());
    divergence_record d;
    d.task = 42;
    d.function = "lookupUser";
    d.primary_version = "v1";
    d.candidate_version = "v3";
    d.position = -1;
    d.what = "output";
    d.primary_side = "\"Ada\"";
    d.candidate_side = "\"ADA\"";
    j->append_divergence(d);
    d.function = "listItems";
    d.position = 2;
    d.what = "effect";
    j->append_divergence(d);
    d.function = "lookupUser";
    d.task = 43;
    j->append_divergence(d);
    REQUIRE(!j->flush());
  }
  auto j = open_ok(options(path));
  auto all = j->divergences("");
  REQUIRE(all);
  REQUIRE(all->size() == 3);
  auto mine = j->divergences("lookupUser");
  REQUIRE(mine);
  REQUIRE(mine->size() == 2);
  CHECK((*mine)[0].task == 43); // newest first
  CHECK((*mine)[0].what == "effect");
  CHECK((*mine)[0].position == 2);
  CHECK((*mine)[1].task == 42);
  CHECK((*mine)[1].what == "output");
  CHECK((*mine)[1].primary_side == "\"Ada\"");
  CHECK((*mine)[1].candidate_side == "\"ADA\"");
  CHECK((*mine)[1].candidate_version == "v3");
  CHECK((*mine)[1].ts > 0);
  CHECK(j->divergences("lookupUser", 1)->size() == 1);
}

TEST_CASE("routes set at run time are kept per function and root, replaced, cleared and counted",
          "[journal][routes]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto j = open_ok(options(path));
  CHECK(*j->routes_version() == 0);
  CHECK(j->routes()->empty());
  j->set_route({.function = "lookupUser", .mode = "shadow", .primary = "v1", .candidate = "v2"});
  j->set_route({.function = "lookupUser", .root = 77, .mode = "primary", .primary = "debug"});
  j->set_route({.function = "listItems", .mode = "percent", .primary = "v1", .candidate = "v2",
                .percent = 30});
  j->set_route({.function = "lookupUser", .mode = "primary", .primary = "v2"}); // replaces
  REQUIRE(!j->flush());
  CHECK(*j->routes_version() == 4);
  auto r = j->routes();
  REQUIRE(r);
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].function == "listItems");
  CHECK((*r)[0].percent == 30);
  CHECK((*r)[1].function == "lookupUser");
  CHECK((*r)[1].root == 0);
  CHECK((*r)[1].mode == "primary");
  CHECK((*r)[1].primary == "v2");
  CHECK((*r)[1].updated > 0);
  CHECK((*r)[2].root == 77);
  CHECK((*r)[2].primary == "debug");
  j->clear_route("lookupUser", 77);
  REQUIRE(!j->flush());
  CHECK(*j->routes_version() == 5);
  CHECK(j->routes()->size() == 2);
  // Another connection (another process) sees them.
  auto other = open_ok(options(path));
  CHECK(other->routes()->size() == 2);
  CHECK(*other->routes_version() == 5);
}

TEST_CASE("a task's effect mark is replaced by its next one and reads back; tasks without one have none",
          "[journal][effect_marks]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto j = open_ok(options(path));
  CHECK_FALSE(*j->effect_mark_of(7));
  j->mark_effect({.task = 7, .seq = 2, .attempt = 1, .name = "stock.reserve"});
  j->mark_effect({.task = 8, .seq = 5, .attempt = 3, .name = "card.charge"});
  j->mark_effect({.task = 7, .seq = 3, .attempt = 1, .name = "card.charge"}); // replaces task 7's
  REQUIRE(!j->flush());
  auto m = j->effect_mark_of(7);
  REQUIRE(m);
  REQUIRE(*m);
  CHECK((*m)->task == 7);
  CHECK((*m)->seq == 3);
  CHECK((*m)->attempt == 1);
  CHECK((*m)->name == "card.charge");
  CHECK((*j->effect_mark_of(8))->attempt == 3);
  CHECK_FALSE(*j->effect_mark_of(9));
  // Another connection (the next engine) reads them; a journal of schema 7 has none.
  auto other = open_ok(options(path));
  CHECK((*other->effect_mark_of(8))->seq == 5);
  j.reset();
  other.reset();
  REQUIRE(run_sql(path, "DROP TABLE effect_marks; PRAGMA user_version = 7;") == SQLITE_OK);
  auto ro = open_ok({.path = path, .read_only = true});
  CHECK_FALSE(*ro->effect_mark_of(8));
  ro.reset();
  auto migrated = open_ok(options(path)); // schema 7 -> 8: the table is created
  CHECK_FALSE(*migrated->effect_mark_of(8));
  migrated->mark_effect({.task = 8, .seq = 6, .attempt = 1, .name = "x"});
  REQUIRE(!migrated->flush());
  CHECK((*migrated->effect_mark_of(8))->seq == 6);
}

namespace {

/// Appends `n` effect events of `bytes` bytes each to task `task` (seq from `first`), then flushes.
void append_bulk(journal& j, std::uint64_t task, std::uint32_t first, int n, std::size_t bytes) {
  for (int i = 0; i < n; ++i)
    j.append(make_event(task, first + static_cast<std::uint32_t>(i), event_kind::effect, "bulk", "req",
                        std::string(bytes, static_cast<char>('a' + i % 26))));
  REQUIRE(!j.flush());
}

} // namespace

TEST_CASE("WAL checkpoints run beside the writer, and everything committed reads back after reopening",
          "[checkpoint]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  {
    auto j = open_ok(options(path));
    j->append_task(make_task(1, "bulk"), "in", "bulk()");
    append_bulk(*j, 1, 1, 3000, 4000); // ~12 MB: three times the WAL size that asks for a checkpoint
    REQUIRE(j->await_checkpoints(1, std::chrono::minutes{1}));
    CHECK(j->stats().writer_checkpoints == 0); // no commit of the writer checkpointed
    // The checkpointer copied the WAL's pages back into the database file.
    CHECK(std::filesystem::file_size(path) > 4'000'000);
  }
  auto j = open_ok(options(path));
  auto evs = j->events(1);
  REQUIRE(evs);
  REQUIRE(evs->size() == 3001);
  CHECK(evs->back().result == std::string(4000, static_cast<char>('a' + 2999 % 26)));
}

TEST_CASE("a writer whose checkpointer cannot catch up checkpoints in its own commits", "[checkpoint]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto j = open_ok(options(path));
  j->append_task(make_task(1, "bulk"), "in", "bulk()");
  REQUIRE(!j->flush());
  // A reader holding its snapshot keeps every later frame in the WAL: no checkpoint can copy them, so
  // the WAL grows past the size at which the writer takes over.
  sqlite3* reader = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &reader, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM events;", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  append_bulk(*j, 1, 1, 9000, 4000); // ~36 MB: more than 8,000 pages
  CHECK(j->stats().writer_checkpoints >= 1);
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  append_bulk(*j, 1, 9001, 10, 100);
  auto evs = j->events(1);
  REQUIRE(evs);
  CHECK(evs->size() == 9011);
}
