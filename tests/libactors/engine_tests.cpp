// Engine behaviour: tasks as actors, effects journaled in order, calls, subroutines, failures, load.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::db_get;
using actors::test::kv_put;
using actors::test::temp_dir;
using eventlog::event_kind;

namespace {

struct probe {
  using result_type = std::int64_t;
  static constexpr const char* name = "test.probe";
  std::int64_t x = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & x;
  }
};

task<std::string> lookup_user(ctx& cx, std::int64_t uid) {
  co_await cx.log("lookup {}", uid);
  auto name = co_await cx.perform(db_get{uid});
  co_return name;
}

task<std::string> every_effect(ctx& cx, std::int64_t uid) {
  co_await cx.log("start {}", uid);
  auto t = co_await cx.now();
  auto r = co_await cx.random(1000);
  auto name = co_await cx.perform(db_get{uid});
  auto n = co_await cx.perform<kv_put>("k", uid);
  auto child = co_await cx.call<std::string>("lookupUser", uid);
  co_return name + "|" + child + "|" + std::to_string(n) + "|" + std::to_string(r < 1000) + "|" +
    std::to_string(t.time_since_epoch().count() > 0);
}

task<std::int64_t> add_one(ctx&, std::int64_t x) {
  co_return x + 1;
}

task<std::int64_t> helper(ctx& cx, std::int64_t x) { // a plain subroutine, not a registered call
  auto r = co_await cx.random(10);
  co_return x * 100 + static_cast<std::int64_t>(r) * 0;
}

task<std::int64_t> uses_subroutine(ctx& cx, std::int64_t x) {
  auto a = co_await helper(cx, x);
  auto b = co_await cx.call<std::int64_t>("addOne", a);
  co_return b;
}

task<std::int64_t> throws(ctx& cx, std::int64_t x) {
  co_await cx.log("about to throw");
  if (x > 0)
    throw std::runtime_error("boom: x was " + std::to_string(x));
  co_return x;
}

task<std::string> catches_child_failure(ctx& cx, std::int64_t x) {
  try {
    co_await cx.call<std::int64_t>("throws", x);
  } catch (const call_error& e) {
    co_return std::string{"caught: "} + e.what();
  }
  co_return "no failure";
}

task<std::int64_t> propagates_child_failure(ctx& cx, std::int64_t x) {
  auto y = co_await cx.call<std::int64_t>("throws", x);
  co_return y;
}

effects counting_effects(std::atomic<int>& db_calls, std::atomic<int>& kv_calls) {
  effects fx;
  fx.handle<db_get>([&](const db_get& q) {
    ++db_calls;
    return "user" + std::to_string(q.id);
  });
  fx.handle<kv_put>([&](const kv_put& q) {
    ++kv_calls;
    return q.value * 2;
  });
  return fx;
}

router make_routes() {
  router r;
  r.add("lookupUser", "v1", lookup_user)
    .add("everyEffect", "v1", every_effect)
    .add("addOne", "v1", add_one)
    .add("usesSubroutine", "v1", uses_subroutine)
    .add("throws", "v1", throws)
    .add("catchesChildFailure", "v1", catches_child_failure)
    .add("propagatesChildFailure", "v1", propagates_child_failure);
  return r;
}

std::vector<event_kind> kinds(const std::vector<eventlog::event>& evs) {
  std::vector<event_kind> out;
  for (auto& e : evs)
    out.push_back(e.kind);
  return out;
}

} // namespace

TEST_CASE("a task's effects are journaled in the order task code performed them", "[engine]") {
  temp_dir dir;
  std::atomic<int> db{0}, kv{0};
  engine eng{test::config_for(dir.file("j.db")), make_routes(), counting_effects(db, kv)};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("everyEffect", std::int64_t{7});
  REQUIRE(id);
  auto out = eng.wait<std::string>(*id);
  REQUIRE(out);
  CHECK(*out == "user7|user7|14|1|1");
  CHECK(db == 2);
  CHECK(kv == 1);
  auto evs = eng.journal()->events(id->value());
  REQUIRE(evs);
  CHECK(kinds(*evs) == std::vector<event_kind>{event_kind::started, event_kind::log,
                                               event_kind::now, event_kind::random,
                                               event_kind::effect, event_kind::effect,
                                               event_kind::call, event_kind::completed});
  for (std::size_t i = 0; i < evs->size(); ++i)
    CHECK((*evs)[i].seq == i);
  CHECK((*evs)[4].name == "db.get");
  CHECK((*evs)[4].text == "{7} -> \"user7\"");
  CHECK((*evs)[5].name == "kv.put");
  CHECK((*evs)[6].name == "lookupUser@v1");
  CHECK(from_bytes<std::string>((*evs)[7].result) == *out);
  // the child is a task of its own, journaled with its place in the call tree
  auto child = eng.journal()->find_task((*evs)[6].ref);
  REQUIRE(child);
  REQUIRE(child->has_value());
  CHECK((*child)->parent == id->value());
  CHECK((*child)->root == id->value());
  CHECK((*child)->parent_seq == 6);
  CHECK((*child)->function == "lookupUser");
  CHECK((*child)->status == eventlog::task_status::completed);
}

TEST_CASE("effect handlers run on the worker pool, not on the thread running task code",
          "[engine]") {
  static std::atomic<std::thread::id> task_thread;
  auto fn = [](ctx& cx, std::int64_t x) -> task<std::int64_t> {
    task_thread = std::this_thread::get_id();
    co_return co_await cx.perform(probe{x});
  };
  std::atomic<std::thread::id> handler_thread;
  router r;
  r.add("probe", "v1", fn);
  effects fx;
  fx.handle<probe>([&](const probe& p) {
    handler_thread = std::this_thread::get_id();
    return p.x;
  });
  engine_config cfg = test::config_for(":memory:");
  engine eng{cfg, r, fx};
  auto out = eng.run<std::int64_t>("probe", std::int64_t{5});
  REQUIRE(out);
  CHECK(*out == 5);
  CHECK(handler_thread.load() != task_thread.load());
  CHECK(handler_thread.load() != std::this_thread::get_id());
}

namespace {

/// A handler that blocks until `expected` handlers have arrived (a barrier): 1 when they all met,
/// 0 when it gave up after a minute (so a worker pool that serialises handlers fails the test instead
/// of hanging it).
struct meet {
  using result_type = std::int64_t;
  static constexpr const char* name = "test.meet";
  std::int64_t x = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & x;
  }
};

struct barrier_state {
  std::mutex mx;
  std::condition_variable cv;
  int arrived = 0;
  int expected = 0;
};

effects meeting_effects(barrier_state& b) {
  effects fx;
  fx.handle<meet>([&b](const meet&) -> std::int64_t {
    std::unique_lock lk{b.mx};
    ++b.arrived;
    b.cv.notify_all();
    return b.cv.wait_for(lk, std::chrono::minutes{1}, [&] { return b.arrived >= b.expected; }) ? 1 : 0;
  });
  fx.handle<probe>([](const probe& p) { return p.x; });
  return fx;
}

router meeting_routes() {
  router r;
  r.add("meet", "v1", [](ctx& cx, std::int64_t x) -> task<std::int64_t> {
     co_return co_await cx.perform(meet{x});
   }).add("probe", "v1", [](ctx& cx, std::int64_t x) -> task<std::int64_t> {
    co_return co_await cx.perform(probe{x});
  });
  return r;
}

} // namespace

TEST_CASE("blocking handlers run side by side: a burst of them meets at a barrier", "[engine][effects]") {
  temp_dir dir;
  barrier_state b;
  b.expected = 4;
  auto cfg = test::config_for(dir.file("j.db"));
  cfg.worker_threads = 4;
  engine eng{cfg, meeting_routes(), meeting_effects(b)};
  std::vector<task_id> ids;
  for (std::int64_t i = 0; i < 4; ++i) {
    auto id = eng.start("meet", i);
    REQUIRE(id);
    ids.push_back(*id);
  }
  for (auto id : ids) {
    auto met = eng.wait<std::int64_t>(id);
    REQUIRE(met);
    CHECK(*met == 1); // all four handlers were running at once
  }
}

TEST_CASE("a handler that blocks holds up no other task's effect", "[engine][effects]") {
  temp_dir dir;
  barrier_state b;
  b.expected = 2;
  auto cfg = test::config_for(dir.file("j.db"));
  cfg.worker_threads = 4;
  engine eng{cfg, meeting_routes(), meeting_effects(b)};
  auto first = eng.start("meet", std::int64_t{1}); // blocks in its handler until the second arrives
  REQUIRE(first);
  {
    std::unique_lock lk{b.mx};
    b.cv.wait(lk, [&] { return b.arrived == 1; });
  }
  // Effects of other tasks run meanwhile, one after another.
  for (std::int64_t i = 0; i < 20; ++i) {
    auto out = eng.run<std::int64_t>("probe", i);
    REQUIRE(out);
    CHECK(*out == i);
  }
  auto second = eng.start("meet", std::int64_t{2});
  REQUIRE(second);
  for (auto id : {*first, *second}) {
    auto met = eng.wait<std::int64_t>(id);
    REQUIRE(met);
    CHECK(*met == 1);
  }
}

TEST_CASE("task code runs on every scheduler thread at once: two spinning tasks meet",
          "[engine][scheduler]") {
  // Each task spins (never blocks, so only another scheduler thread can run the other one) until both
  // have arrived: 1 when they met, 0 after a minute (a scheduler that runs one job at a time, or
  // never wakes its second thread, fails the test instead of hanging it).
  static std::atomic<int> arrived;
  static std::mutex threads_mx;
  static std::set<std::thread::id> threads;
  arrived = 0;
  threads.clear();
  router r;
  r.add("spin", "v1", [](ctx&, std::int64_t) -> task<std::int64_t> {
    {
      std::lock_guard guard{threads_mx};
      threads.insert(std::this_thread::get_id());
    }
    ++arrived;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes{1};
    while (arrived.load() < 2 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::yield();
    co_return arrived.load() >= 2 ? 1 : 0;
  });
  auto policy = GENERATE(as<std::string>{}, "sharing", "stealing");
  CAPTURE(policy);
  auto cfg = test::config_for(":memory:");
  cfg.scheduler_threads = 2;
  cfg.scheduler_policy = policy;
  engine eng{cfg, r, effects{}};
  REQUIRE_FALSE(eng.status());
  auto first = eng.start("spin", std::int64_t{1});
  REQUIRE(first);
  auto second = eng.start("spin", std::int64_t{2});
  REQUIRE(second);
  for (auto id : {*first, *second}) {
    auto met = eng.wait<std::int64_t>(id);
    REQUIRE(met);
    CHECK(*met == 1);
  }
  std::lock_guard guard{threads_mx};
  CHECK(threads.size() == 2);
}

TEST_CASE("a burst of tasks started while the scheduler sleeps all run, on every policy",
          "[engine][scheduler]") {
  auto policy = GENERATE(as<std::string>{}, "sharing", "stealing");
  CAPTURE(policy);
  auto cfg = test::config_for(":memory:");
  cfg.scheduler_threads = 2;
  cfg.scheduler_policy = policy;
  router r;
  r.add("twice", "v1", [](ctx& cx, std::int64_t x) -> task<std::int64_t> {
    auto zero = co_await cx.random(1); // an effect between start and end: two activations
    co_return 2 * x + static_cast<std::int64_t>(zero);
  });
  engine eng{cfg, r, effects{}};
  for (int round = 0; round < 3; ++round) { // the scheduler's threads go to sleep between rounds
    std::vector<task_id> ids;
    for (std::int64_t i = 0; i < 500; ++i) {
      auto id = eng.start("twice", i);
      REQUIRE(id);
      ids.push_back(*id);
    }
    std::int64_t sum = 0;
    for (auto id : ids) {
      auto out = eng.wait<std::int64_t>(id);
      REQUIRE(out);
      sum += *out;
    }
    CHECK(sum == 2 * (499 * 500 / 2));
    eng.drain();
  }
}

TEST_CASE("a task awaits another task<T> directly as a subroutine", "[engine]") {
  std::atomic<int> db{0}, kv{0};
  engine eng{test::config_for(":memory:"), make_routes(), counting_effects(db, kv)};
  auto out = eng.run<std::int64_t>("usesSubroutine", std::int64_t{4});
  REQUIRE(out);
  CHECK(*out == 401);
}

TEST_CASE("an exception in task code fails the task with its message", "[engine]") {
  temp_dir dir;
  std::atomic<int> db{0}, kv{0};
  engine eng{test::config_for(dir.file("j.db")), make_routes(), counting_effects(db, kv)};
  auto id = eng.start("throws", std::int64_t{3});
  REQUIRE(id);
  auto out = eng.wait<std::int64_t>(*id);
  REQUIRE_FALSE(out);
  CHECK(out.error().code() == static_cast<std::uint8_t>(errc::task_failed));
  CHECK_THAT(to_string(out.error()), Catch::Contains("boom: x was 3"));
  CHECK_THAT(describe(out.error()), Catch::Contains("throws@v1"));
  auto rec = eng.journal()->find_task(id->value());
  REQUIRE(rec);
  CHECK((*rec)->status == eventlog::task_status::failed);
}

TEST_CASE("a caller's co_await cx.call rethrows a failed child's exception", "[engine]") {
  std::atomic<int> db{0}, kv{0};
  engine eng{test::config_for(":memory:"), make_routes(), counting_effects(db, kv)};
  auto caught = eng.run<std::string>("catchesChildFailure", std::int64_t{9});
  REQUIRE(caught);
  CHECK_THAT(*caught, Catch::StartsWith("caught: call to throws@v1 failed: boom: x was 9"));
  auto propagated = eng.run<std::int64_t>("propagatesChildFailure", std::int64_t{5});
  REQUIRE_FALSE(propagated);
  CHECK_THAT(describe(propagated.error()),
             Catch::Contains("propagatesChildFailure@v1") && Catch::Contains("boom: x was 5"));
}

TEST_CASE("an effect handler's exception reaches task code as effect_error", "[engine]") {
  auto fn = [](ctx& cx, std::int64_t x) -> task<std::string> {
    try {
      co_await cx.perform(db_get{x});
    } catch (const effect_error& e) {
      co_return std::string{e.what()};
    }
    co_return "not thrown";
  };
  router r;
  r.add("f", "v1", fn);
  effects fx;
  fx.handle<db_get>([](const db_get&) -> std::string { throw std::runtime_error("db down"); });
  engine eng{test::config_for(":memory:"), r, fx};
  auto out = eng.run<std::string>("f", std::int64_t{1});
  REQUIRE(out);
  CHECK(*out == "effect 'db.get' failed: db down");
}

TEST_CASE("1,000 concurrent tasks all complete with correct results", "[engine][load]") {
  temp_dir dir;
  std::atomic<int> db{0}, kv{0};
  engine eng{test::config_for(dir.file("j.db")), make_routes(), counting_effects(db, kv)};
  std::vector<task_id> ids;
  for (std::int64_t i = 0; i < 1000; ++i) {
    auto id = eng.start("everyEffect", i);
    REQUIRE(id);
    ids.push_back(*id);
  }
  std::set<task_id> distinct(ids.begin(), ids.end());
  CHECK(distinct.size() == 1000);
  for (std::int64_t i = 0; i < 1000; ++i) {
    auto out = eng.wait<std::string>(ids[static_cast<std::size_t>(i)]);
    REQUIRE(out);
    auto u = "user" + std::to_string(i);
    CHECK(*out == u + "|" + u + "|" + std::to_string(2 * i) + "|1|1");
  }
  eng.drain();
  CHECK(db == 2000);
  CHECK(kv == 1000);
  auto st = eng.stats();
  CHECK(st.completed == 2000); // 1000 roots + 1000 child calls
  CHECK(st.failed == 0);
}

TEST_CASE("the journal can be turned off for the bare task layer", "[engine]") {
  std::atomic<int> db{0}, kv{0};
  auto cfg = test::config_for("unused.db");
  cfg.journal_enabled = false;
  engine eng{cfg, make_routes(), counting_effects(db, kv)};
  REQUIRE_FALSE(eng.status());
  CHECK(eng.journal() == nullptr);
  auto out = eng.run<std::string>("everyEffect", std::int64_t{2});
  REQUIRE(out);
  CHECK(*out == "user2|user2|4|1|1");
  CHECK_FALSE(std::filesystem::exists("unused.db"));
}

TEST_CASE("wait returns a finished task's output from the journal in a later engine", "[engine]") {
  temp_dir dir;
  std::atomic<int> db{0}, kv{0};
  task_id id;
  {
    engine eng{test::config_for(dir.file("j.db")), make_routes(), counting_effects(db, kv)};
    auto started = eng.start("lookupUser", std::int64_t{11});
    REQUIRE(started);
    id = *started;
    REQUIRE(eng.wait<std::string>(id));
  }
  engine again{test::config_for(dir.file("j.db")), make_routes(), counting_effects(db, kv)};
  auto out = again.wait<std::string>(id);
  REQUIRE(out);
  CHECK(*out == "user11");
  CHECK(db == 1);
}

TEST_CASE("task ids print as 16 hex digits and parse back", "[task_id]") {
  task_id id{0x3f9a0c1d2b4e5f60ULL};
  CHECK(to_string(id) == "3f9a0c1d2b4e5f60");
  auto back = task_id::from_string("3F9A0C1D2B4E5F60");
  REQUIRE(back);
  CHECK(*back == id);
  CHECK(task_id::from_string("abc123").value() == task_id{0xabc123});
  for (auto bad : {"", "xyz", "12345678901234567", "0", "12 34"}) {
    auto r = task_id::from_string(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == static_cast<std::uint8_t>(errc::bad_task_id));
    CHECK_THAT(describe(r.error()), Catch::Contains("is not a task id"));
  }
}

TEST_CASE("a bad task id's error quotes it on one line, at most 200 bytes", "[task_id]") {
  auto nl = task_id::from_string("12\n34");
  REQUIRE_FALSE(nl);
  CHECK(describe(nl.error()).find('\n') == std::string::npos);
  CHECK_THAT(describe(nl.error()), Catch::Contains("'12\\n34' is not a task id"));
  auto huge = task_id::from_string(std::string(100'000, 'z'));
  REQUIRE_FALSE(huge);
  CHECK_THAT(describe(huge.error()), Catch::Contains("'" + std::string(200, 'z') + "… (100000 bytes)'"));
  CHECK(describe(huge.error()).size() < 400);
}

TEST_CASE("task ids are time-ordered: (id >> 20) is the start's time in ms since the epoch",
          "[engine][task_id]") {
  // What <actors/task_id.hpp> promises (it called ids random until 2026-12-03; DESIGN-NOTES §7).
  temp_dir dir;
  std::atomic<int> db{0}, kv{0};
  engine eng{test::config_for(dir.file("j.db")), make_routes(), counting_effects(db, kv)};
  REQUIRE_FALSE(eng.status());
  auto ms = [] {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
  };
  auto before = ms();
  auto a = eng.start("addOne", std::int64_t{1});
  auto b = eng.start("addOne", std::int64_t{2});
  auto after = ms();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*b > *a);
  CHECK(a->value() >> 20 >= before);
  CHECK(b->value() >> 20 <= after);
  eng.drain();
}

TEST_CASE("task ids increase and stay above every id already in the journal", "[engine][task_id]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  const std::uint64_t planted = 0x7000000000000000ULL; // far in the future for a time-ordered id
  {
    auto j = eventlog::journal::open({.path = path});
    REQUIRE(j);
    eventlog::task_record rec;
    rec.id = planted;
    rec.root = planted;
    rec.function = "gone";
    rec.version = "v0";
    rec.input_type = "long";
    rec.status = eventlog::task_status::completed;
    (*j)->append_task(rec, to_bytes(std::int64_t{1}), "1");
    REQUIRE_FALSE((*j)->flush());
  }
  std::atomic<int> db{0}, kv{0};
  engine eng{test::config_for(path), make_routes(), counting_effects(db, kv)};
  REQUIRE_FALSE(eng.status());
  task_id prev{planted};
  for (int i = 0; i < 100; ++i) {
    auto id = eng.start("addOne", std::int64_t{i});
    REQUIRE(id);
    CHECK(*id > prev);
    prev = *id;
  }
  eng.drain();
}

TEST_CASE("a second wait reads the outcome back from the journal", "[engine]") {
  temp_dir dir;
  std::atomic<int> db{0}, kv{0};
  engine eng{test::config_for(dir.file("j.db")), make_routes(), counting_effects(db, kv)};
  auto id = eng.start("lookupUser", std::int64_t{3});
  REQUIRE(id);
  CHECK(eng.wait<std::string>(*id).value() == "user3");
  CHECK(eng.wait<std::string>(*id).value() == "user3");
  CHECK(db == 1);
}

TEST_CASE("with the journal off, only the first wait for a task gets its outcome", "[engine]") {
  std::atomic<int> db{0}, kv{0};
  auto cfg = test::config_for("unused.db");
  cfg.journal_enabled = false;
  engine eng{cfg, make_routes(), counting_effects(db, kv)};
  auto id = eng.start("addOne", std::int64_t{1});
  REQUIRE(id);
  CHECK(eng.wait<std::int64_t>(*id).value() == 2);
  auto again = eng.wait<std::int64_t>(*id);
  REQUIRE_FALSE(again);
  CHECK(again.error().code() == static_cast<std::uint8_t>(errc::unknown_task));
}

TEST_CASE("a task<void> runs, journals its end, and is awaited with wait<void>", "[engine]") {
  static std::atomic<int> performed{0};
  auto side = [](ctx& cx, std::int64_t x) -> task<void> {
    co_await cx.perform(db_get{x});
    ++performed;
  };
  auto caller = [](ctx& cx, std::int64_t x) -> task<std::int64_t> {
    co_await cx.call<void>("side", x);
    co_return x;
  };
  router r;
  r.add("side", "v1", side).add("caller", "v1", caller);
  effects fx;
  fx.handle<db_get>([](const db_get& q) { return std::to_string(q.id); });
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), r, fx};
  auto id = eng.start("side", std::int64_t{1});
  REQUIRE(id);
  auto done = eng.wait<void>(*id);
  CHECK(done);
  CHECK(eng.run<std::int64_t>("caller", std::int64_t{2}).value() == 2);
  CHECK(performed == 2);
  auto wrong = eng.wait<std::int64_t>(*id); // read back from the journal: the type is still checked
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code() == static_cast<std::uint8_t>(errc::wrong_output_type));
}

TEST_CASE("random(0) is an effect_error in task code, not undefined behaviour", "[engine]") {
  auto fn = [](ctx& cx, std::int64_t) -> task<std::string> {
    try {
      co_await cx.random(0);
    } catch (const effect_error& e) {
      co_return std::string{e.what()};
    }
    co_return "no error";
  };
  router r;
  r.add("f", "v1", fn);
  engine eng{test::config_for(":memory:"), r, effects{}};
  auto out = eng.run<std::string>("f", std::int64_t{0});
  REQUIRE(out);
  CHECK_THAT(*out, Catch::Contains("random") && Catch::Contains("bound must be positive"));
}

namespace {

task<std::int64_t> fib(ctx& cx, std::int64_t n) {
  if (n < 2)
    co_return n;
  auto a = co_await cx.call<std::int64_t>("fib", n - 1);
  auto b = co_await cx.call<std::int64_t>("fib", n - 2);
  co_return a + b;
}

task<std::int64_t> failing_subroutine(ctx& cx, std::int64_t x) {
  co_await cx.log("subroutine {}", x);
  throw std::invalid_argument("bad x " + std::to_string(x));
}

task<std::string> catches_subroutine(ctx& cx, std::int64_t x) {
  try {
    co_await failing_subroutine(cx, x);
  } catch (const std::invalid_argument& e) {
    co_return std::string{"caught "} + e.what();
  }
  co_return "not thrown";
}

} // namespace

TEST_CASE("recursive calls build a deep tree of child tasks with the right result", "[engine][load]") {
  router r;
  r.add("fib", "v1", fib);
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), r, effects{}};
  auto out = eng.run<std::int64_t>("fib", std::int64_t{15});
  REQUIRE(out);
  CHECK(*out == 610);
  eng.drain();
  CHECK(eng.stats().completed == 1973); // fib(15) makes 1973 calls, the root included
}

TEST_CASE("an exception from a subroutine reaches its awaiter in the same task", "[engine]") {
  router r;
  r.add("catches", "v1", catches_subroutine);
  engine eng{test::config_for(":memory:"), r, effects{}};
  auto out = eng.run<std::string>("catches", std::int64_t{4});
  REQUIRE(out);
  CHECK(*out == "caught bad x 4");
}

TEST_CASE("several threads may wait for the same task", "[engine]") {
  std::atomic<int> db{0}, kv{0};
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), counting_effects(db, kv)};
  auto id = eng.start("everyEffect", std::int64_t{6});
  REQUIRE(id);
  std::vector<std::string> results(4);
  std::vector<std::thread> waiters;
  for (std::size_t i = 0; i < results.size(); ++i)
    waiters.emplace_back([&, i] {
      auto r = eng.wait<std::string>(*id);
      results[i] = r ? *r : describe(r.error());
    });
  for (auto& w : waiters)
    w.join();
  for (auto& r : results)
    CHECK(r == "user6|user6|12|1|1");
}

TEST_CASE("an engine is destroyed while a thread that started tasks in it lives on", "[engine]") {
  // CAF 0.17 pins its logger in every thread that spawns an actor, and ~actor_system waits for those
  // references: before the engine let go of it, this destructor never returned.
  std::atomic<int> db{0}, kv{0};
  temp_dir dir;
  std::promise<void> engine_gone;
  std::promise<task_id> started;
  auto engine_gone_f = engine_gone.get_future();
  std::thread starter;
  {
    engine eng{test::config_for(dir.file("j.db")), make_routes(), counting_effects(db, kv)};
    REQUIRE_FALSE(eng.status());
    starter = std::thread{[&] {
      auto id = eng.start("addOne", std::int64_t{41});
      started.set_value(id ? *id : task_id{});
      engine_gone_f.wait(); // outlives the engine
    }};
    auto id = started.get_future().get();
    REQUIRE(id.value() != 0);
    auto out = eng.wait<std::int64_t>(id);
    REQUIRE(out);
    CHECK(*out == 42);
  }
  engine_gone.set_value();
  starter.join();
}
