// Cancellation (engine::cancel, `task cancel`): a root task and its call tree end as cancelled, journaled;
// the request is kept in the journal, so another process's engine, or a resuming one, honours it.

#include <chrono>
#include <future>
#include <map>
#include <mutex>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::gate;
using actors::test::temp_dir;
using namespace std::chrono_literals;

namespace {

task<std::int64_t> held(ctx& cx, std::int64_t n) {
  auto x = co_await cx.perform(gate{n});
  co_return x + 1;
}

task<std::int64_t> parent(ctx& cx, std::int64_t n) {
  auto x = co_await cx.call<std::int64_t>("held", n);
  co_return x * 10;
}

router make_routes() {
  router r;
  r.add("held", "v1", held).add("parent", "v1", parent);
  return r;
}

bool is_cancelled(const caf::error& err) {
  return err.category() == caf::atom("actors") && err.code() == static_cast<std::uint8_t>(errc::cancelled);
}

eventlog::task_status status_of(eventlog::journal& j, task_id id) {
  auto t = j.find_task(id.value());
  REQUIRE(t);
  REQUIRE(t->has_value());
  return (*t)->status;
}

} // namespace

TEST_CASE("cancelling a root task waiting for an effect ends it as cancelled", "[cancel][engine]") {
  temp_dir dir;
  test::held_gates g;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("held", std::int64_t{1});
  REQUIRE(id);
  g.wait_held(); // its effect handler runs, held
  REQUIRE(eng.cancel(*id));
  auto out = eng.wait<std::int64_t>(*id);
  REQUIRE_FALSE(out);
  CHECK(is_cancelled(out.error()));
  CHECK(to_string(out.error()).find("was cancelled") != std::string::npos);
  g.open(); // the handler finishes; its result is dropped
  eng.drain();
  CHECK(status_of(*eng.journal(), *id) == eventlog::task_status::cancelled);
  auto evs = eng.journal()->events(id->value());
  REQUIRE(evs);
  CHECK(evs->back().kind == eventlog::event_kind::cancelled);
  auto again = eng.cancel(*id);
  REQUIRE_FALSE(again);
  CHECK(to_string(again.error()).find("has already ended (cancelled)") != std::string::npos);
  auto later = eng.wait<std::int64_t>(*id); // read back from the journal
  REQUIRE_FALSE(later);
  CHECK(is_cancelled(later.error()));
  auto replay = eng.replay(*id);
  REQUIRE_FALSE(replay);
  CHECK(to_string(replay.error()).find("was cancelled: its recording has no end") != std::string::npos);
}

TEST_CASE("a cancelled task's effect whose handler has not started is never run", "[cancel][engine]") {
  temp_dir dir;
  test::held_gates g;
  auto cfg = test::config_for(dir.file("j.db"));
  cfg.worker_threads = 1; // a queue of effect jobs behind one held handler
  engine eng{cfg, make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto first = eng.start("held", std::int64_t{1});
  REQUIRE(first);
  g.wait_held(); // the only worker runs the first task's handler, held
  auto second = eng.start("held", std::int64_t{2}); // its effect job waits behind it
  REQUIRE(second);
  REQUIRE(eng.cancel(*second));
  auto out = eng.wait<std::int64_t>(*second);
  REQUIRE_FALSE(out);
  CHECK(is_cancelled(out.error()));
  g.open();
  REQUIRE(eng.wait<std::int64_t>(*first));
  // A third task's effect queues behind the second's job: once it has run, that job was taken too.
  auto third = eng.run<std::int64_t>("held", std::int64_t{3});
  REQUIRE(third);
  CHECK(g.calls() == 2); // the first and the third: the cancelled task's handler never ran
}

TEST_CASE("cancelling a root cancels the child it waits for first", "[cancel][engine]") {
  temp_dir dir;
  test::held_gates g;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("parent", std::int64_t{2});
  REQUIRE(id);
  g.wait_held();
  auto kids = eng.journal()->children(id->value());
  // The child row may still be queued; the request for it goes through the root anyway.
  REQUIRE(eng.cancel(*id));
  auto out = eng.wait<std::int64_t>(*id);
  REQUIRE_FALSE(out);
  CHECK(is_cancelled(out.error()));
  g.open();
  eng.drain();
  kids = eng.journal()->children(id->value());
  REQUIRE(kids);
  REQUIRE(kids->size() == 1);
  CHECK(kids->front().status == eventlog::task_status::cancelled);
  CHECK(status_of(*eng.journal(), *id) == eventlog::task_status::cancelled);
  auto child = eng.cancel(task_id{kids->front().id});
  REQUIRE_FALSE(child);
  CHECK(to_string(child.error()).find("cancel that root") != std::string::npos);
}

TEST_CASE("a cancel request written by another process stops the task in the engine running it",
          "[cancel][engine]") {
  temp_dir dir;
  test::held_gates g;
  auto path = dir.file("j.db");
  auto cfg = test::config_for(path);
  cfg.routing_file_poll = 20ms;
  engine eng{cfg, make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("held", std::int64_t{3});
  REQUIRE(id);
  g.wait_held();
  {
    auto other = eventlog::journal::open({.path = path}); // what `task cancel` does
    REQUIRE(other);
    (*other)->request_cancel(id->value());
    REQUIRE_FALSE((*other)->flush());
  }
  auto out = eng.wait<std::int64_t>(*id); // the watcher's doing
  REQUIRE_FALSE(out);
  CHECK(is_cancelled(out.error()));
  g.open();
}

TEST_CASE("a task cancelled while no engine ran it is not resumed", "[cancel][engine][resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  const std::uint64_t id = 0x5eed;
  {
    auto j = eventlog::journal::open({.path = path});
    REQUIRE(j);
    (*j)->append_task(test::root_record<std::int64_t>(id, "held"), to_bytes(std::int64_t{4}), "4");
    (*j)->request_cancel(id);
    REQUIRE_FALSE((*j)->flush());
  }
  test::held_gates g;
  g.open();
  engine eng{test::config_for(path), make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto out = eng.wait<std::int64_t>(task_id{id});
  REQUIRE_FALSE(out);
  CHECK(is_cancelled(out.error()));
  CHECK(g.calls() == 0);
  CHECK(eng.stats().resumed == 0);
}

TEST_CASE("cancel names what it cannot cancel", "[cancel][engine][errors]") {
  temp_dir dir;
  test::held_gates g;
  g.open();
  engine eng{test::config_for(dir.file("j.db")), make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto nobody = eng.cancel(task_id{0x77});
  REQUIRE_FALSE(nobody);
  CHECK(to_string(nobody.error()).find("no task 0000000000000077") != std::string::npos);
  auto done = eng.run<std::int64_t>("held", std::int64_t{5});
  REQUIRE(done);
}
