// Structured concurrency: ctx::spawn / co_await on the handle / ctx::cancel. Children run at the same
// time; the parent ends after them; the first failure cancels the siblings and reaches the parent.

#include <future>
#include <mutex>
#include <stdexcept>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::gate;
using actors::test::temp_dir;
using eventlog::event_kind;
using eventlog::task_status;

namespace {

task<std::int64_t> square(ctx& cx, std::int64_t x) {
  co_await cx.now();
  co_return x * x;
}

// Held at the gate until the test opens it.
task<std::int64_t> slow(ctx& cx, std::int64_t x) {
  co_return co_await cx.perform(gate{x});
}

// slow@v2: ends at once, without the effect slow@v1 waits in.
task<std::int64_t> quick(ctx&, std::int64_t x) {
  co_return x;
}

task<std::int64_t> boom(ctx& cx, std::int64_t x) {
  co_await cx.now();
  throw std::runtime_error("boom " + std::to_string(x));
}

// Spawns square(1..n), then joins them all.
task<std::int64_t> fan_out(ctx& cx, std::int64_t n) {
  std::vector<spawned<std::int64_t>> kids;
  for (std::int64_t i = 1; i <= n; ++i)
    kids.push_back(co_await cx.spawn<std::int64_t>("square", i));
  std::int64_t sum = 0;
  for (auto& k : kids)
    sum += co_await k;
  co_return sum;
}

// Spawns two slow children and a failing one, and joins none of them.
task<std::int64_t> doomed(ctx& cx, std::int64_t) {
  co_await cx.spawn<std::int64_t>("slow", std::int64_t{1});
  co_await cx.spawn<std::int64_t>("slow", std::int64_t{2});
  co_await cx.spawn<std::int64_t>("boom", std::int64_t{3});
  co_return 0;
}

// Joins a failing child and handles its error.
task<std::int64_t> careful(ctx& cx, std::int64_t) {
  auto h = co_await cx.spawn<std::int64_t>("boom", std::int64_t{4});
  bool failed = false;
  try {
    co_await h;
  } catch (const call_error&) {
    failed = true;
  }
  co_return failed ? -1 : 0;
}

// Spawns a slow child and returns at once: it still ends after the child.
task<std::int64_t> hasty(ctx& cx, std::int64_t x) {
  co_await cx.spawn<std::int64_t>("slow", x);
  co_return x + 100;
}

// Cancels its slow child and reports what joining it did.
task<std::string> canceller(ctx& cx, std::int64_t x) {
  auto h = co_await cx.spawn<std::int64_t>("slow", x);
  cx.cancel(h);
  try {
    co_await cx.join(h);
    co_return "joined";
  } catch (const call_error& e) {
    co_return std::string{e.what()};
  }
}

// Spawns a function that does not exist.
task<std::string> lost(ctx& cx, std::int64_t) {
  try {
    co_await cx.spawn<std::int64_t>("nowhere", std::int64_t{1});
    co_return "spawned";
  } catch (const call_error& e) {
    co_return std::string{e.what()};
  }
}

router make_routes() {
  router r;
  r.add("square", "v1", square)
    .add("slow", "v1", slow)
    .add("slow", "v2", quick)
    .add("boom", "v1", boom)
    .add("fanOut", "v1", fan_out)
    .add("doomed", "v1", doomed)
    .add("careful", "v1", careful)
    .add("hasty", "v1", hasty)
    .add("canceller", "v1", canceller)
    .add("lost", "v1", lost);
  return r;
}

task_status status_of(engine& eng, std::uint64_t id) {
  auto t = eng.journal()->find_task(id);
  REQUIRE(t);
  REQUIRE(t->has_value());
  return (*t)->status;
}

std::vector<eventlog::task_record> children_of(engine& eng, task_id id) {
  auto kids = eng.journal()->children(id.value());
  REQUIRE(kids);
  return *kids;
}

} // namespace

TEST_CASE("spawned children run and are joined; the journal has spawn and join events",
          "[spawn][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("fanOut", std::int64_t{5});
  REQUIRE(id);
  CHECK(*eng.wait<std::int64_t>(*id) == 1 + 4 + 9 + 16 + 25);
  auto evs = eng.journal()->events(id->value());
  REQUIRE(evs);
  std::vector<event_kind> kinds;
  for (auto& e : *evs)
    kinds.push_back(e.kind);
  CHECK(std::count(kinds.begin(), kinds.end(), event_kind::spawn) == 5);
  CHECK(std::count(kinds.begin(), kinds.end(), event_kind::join) == 5);
  CHECK(children_of(eng, *id).size() == 5);

  SECTION("replay runs the spawned children and matches") {
    auto r = eng.replay(*id);
    REQUIRE(r);
    CHECK_FALSE(r->diverged());
    CHECK(r->recorded_effects == 5); // each child's now()
  }
}

TEST_CASE("the first failing child cancels its siblings and fails the parent that never joined it",
          "[spawn][engine]") {
  temp_dir dir;
  test::held_gates g;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("doomed", std::int64_t{0});
  REQUIRE(id);
  auto out = eng.wait<std::int64_t>(*id); // the slow children are held: only a cancel ends them
  REQUIRE_FALSE(out);
  CHECK(describe(out.error()).find("failed: call to ") == std::string::npos);
  CHECK(describe(out.error()).find("(boom@v1) failed: boom 3") != std::string::npos);
  g.open();
  eng.drain();
  auto kids = children_of(eng, *id);
  REQUIRE(kids.size() == 3);
  CHECK(kids[0].status == task_status::cancelled);
  CHECK(kids[1].status == task_status::cancelled);
  CHECK(kids[2].status == task_status::failed);
  CHECK(status_of(eng, id->value()) == task_status::failed);
  // How many slow children reached their handler before the cancel depends on timing (0 to 2); the
  // replay must add none.
  auto live_calls = g.calls();

  SECTION("replay stops the cancelled siblings where they were cancelled, and matches") {
    auto r = eng.replay(*id);
    REQUIRE(r);
    INFO((r->divergence ? r->divergence->what + ": " + r->divergence->recorded + " / " +
                            r->divergence->replayed
                        : std::string{"no divergence"}));
    CHECK_FALSE(r->diverged());
    CHECK(g.calls() == live_calls); // the replay called no handler
  }
  SECTION("a version whose children do not stop there diverges at the mark") {
    auto r = eng.replay(*id, {.versions = {{"slow", "v2"}}});
    REQUIRE(r);
    REQUIRE(r->diverged());
    CHECK(r->divergence->recorded.find("was cancelled here") != std::string::npos);
  }
}

TEST_CASE("a child's failure observed by joining it is handled by the parent", "[spawn][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("careful", std::int64_t{0});
  REQUIRE(id);
  CHECK(*eng.wait<std::int64_t>(*id) == -1);
  CHECK(status_of(eng, id->value()) == task_status::completed);
  auto replayed = eng.replay(*id); // the child fails again in the replay, and is handled again
  REQUIRE(replayed);
  CHECK_FALSE(replayed->diverged());
  auto r = eng.run<std::string>("lost", std::int64_t{0});
  REQUIRE(r);
  CHECK(r->find("call to nowhere failed: router.unknown_function: unknown function 'nowhere'") == 0);
}

TEST_CASE("a parent does not end before its spawned children (nursery)", "[spawn][engine]") {
  temp_dir dir;
  test::held_gates g;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("hasty", std::int64_t{7});
  REQUIRE(id);
  g.wait_held(1); // the child is held in its effect
  REQUIRE(eng.journal()->flush() == caf::error{});
  CHECK(status_of(eng, id->value()) == task_status::running); // its body returned; it waits
  g.open();
  CHECK(*eng.wait<std::int64_t>(*id) == 107);
  auto kids = children_of(eng, *id);
  REQUIRE(kids.size() == 1);
  CHECK(kids[0].status == task_status::completed);
  CHECK(kids[0].finished <= (*eng.journal()->find_task(id->value()))->finished);
}

TEST_CASE("cancel ends a spawned child; joining it throws and the parent goes on", "[spawn][engine][cancel]") {
  temp_dir dir;
  test::held_gates g;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("canceller", std::int64_t{3});
  REQUIRE(id);
  auto out = eng.wait<std::string>(*id);
  REQUIRE(out);
  CHECK(out->find("was cancelled") != std::string::npos);
  g.open();
  eng.drain();
  auto r = eng.replay(*id); // the cancellation is journaled: the replayed child stops where it did
  REQUIRE(r);
  INFO((r->divergence ? r->divergence->what + ": " + r->divergence->recorded + " / " +
                          r->divergence->replayed
                      : std::string{"no divergence"}));
  CHECK_FALSE(r->diverged());
}

TEST_CASE("a resumed parent takes its spawned children over instead of spawning again",
          "[spawn][engine][resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  constexpr std::uint64_t parent = 0x7001, done = 0x7002, pending = 0x7003;
  {
    auto j = eventlog::journal::open({.path = path});
    REQUIRE(j);
    (*j)->append_task(test::root_record<std::int64_t>(parent, "fanOut"), to_bytes(std::int64_t{2}), "2");
    auto kid = [&](std::uint64_t id, std::uint32_t seq, std::int64_t x) {
      eventlog::task_record rec = test::root_record<std::int64_t>(id, "square");
      rec.parent = parent;
      rec.root = parent;
      rec.parent_seq = seq;
      (*j)->append_task(rec, to_bytes(x), std::to_string(x));
      (*j)->append(eventlog::event{.task = parent, .seq = seq, .kind = event_kind::spawn,
                                   .name = "square@v1", .ref = id, .request = to_bytes(x),
                                   .result = detail::encode_u64(seq) + detail::encode_u64(id)});
    };
    kid(done, 1, 1);
    kid(pending, 2, 2);
    (*j)->append(eventlog::event{.task = done, .seq = 1, .kind = event_kind::now,
                                 .result = detail::encode_u64(1)});
    (*j)->append(eventlog::event{.task = done, .seq = 2, .kind = event_kind::completed,
                                 .result = to_bytes(std::int64_t{1})});
    REQUIRE_FALSE((*j)->flush());
  }
  engine eng{test::config_for(path), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto sum = eng.wait<std::int64_t>(task_id{parent});
  REQUIRE(sum);
  CHECK(*sum == 1 + 4);
  CHECK(children_of(eng, task_id{parent}).size() == 2); // no child spawned twice
  auto done_events = eng.journal()->events(done);
  REQUIRE(done_events);
  CHECK(done_events->size() == 3); // started, now, completed: it did not run again
}

TEST_CASE("cancelling a parent cancels its spawned children, which end before it",
          "[spawn][engine][cancel]") {
  temp_dir dir;
  test::held_gates g;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("hasty", std::int64_t{9});
  REQUIRE(id);
  g.wait_held(1);
  REQUIRE(eng.cancel(*id));
  auto out = eng.wait<std::int64_t>(*id);
  REQUIRE_FALSE(out);
  CHECK(describe(out.error()).find("was cancelled") != std::string::npos);
  auto kids = children_of(eng, *id);
  REQUIRE(kids.size() == 1);
  CHECK(kids[0].status == task_status::cancelled); // journaled before the parent's end was reported
  CHECK(kids[0].finished <= (*eng.journal()->find_task(id->value()))->finished);
  g.open();
  eng.drain();
}
