// Durable timers (ctx::sleep): the deadline is journaled; a resumed task sleeps only what is left of it;
// replay does not wait.

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "child_process.hpp"
#include "crash_workload.hpp"
#include "test_support.hpp"

using namespace actors;
using actors::test::now_ns;
using actors::test::temp_dir;
using namespace std::chrono_literals;

namespace {

// Sleeps `ms` milliseconds between two clock readings and returns how long it observed.
task<std::int64_t> nap(ctx& cx, std::int64_t ms) {
  auto before = co_await cx.now();
  co_await cx.sleep(std::chrono::milliseconds{ms});
  auto after = co_await cx.now();
  co_return std::chrono::duration_cast<std::chrono::milliseconds>(after - before).count();
}

// Sleeps an hour: only a journaled deadline can make it end soon.
task<std::int64_t> long_sleep(ctx& cx, std::int64_t x) {
  co_await cx.sleep(1h);
  co_return x + 1;
}

router make_routes() {
  router r;
  r.add("nap", "v1", nap).add("longSleep", "v1", long_sleep);
  return r;
}

/// A journal holding an unfinished longSleep task whose sleep event has the deadline `deadline_ns`.
void journal_sleeping_task(const std::string& path, std::uint64_t id, std::int64_t deadline_ns) {
  auto j = eventlog::journal::open({.path = path});
  REQUIRE(j);
  (*j)->append_task(test::root_record<std::int64_t>(id, "longSleep"), to_bytes(std::int64_t{41}), "41");
  auto hour = std::chrono::duration_cast<std::chrono::nanoseconds>(1h).count();
  (*j)->append(eventlog::event{.task = id, .seq = 1, .kind = eventlog::event_kind::sleep,
                               .request = detail::encode_u64(static_cast<std::uint64_t>(hour)),
                               .result = detail::encode_u64(static_cast<std::uint64_t>(deadline_ns)),
                               .text = "3600000 ms"});
  REQUIRE_FALSE((*j)->flush());
}

} // namespace

TEST_CASE("sleep suspends the task for its duration and journals the deadline", "[timer][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("nap", std::int64_t{50});
  REQUIRE(id);
  auto slept = eng.wait<std::int64_t>(*id);
  REQUIRE(slept);
  CHECK(*slept >= 50); // never early
  auto evs = eng.journal()->events(id->value());
  REQUIRE(evs);
  REQUIRE(evs->size() == 5); // started, now, sleep, now, completed
  CHECK((*evs)[2].kind == eventlog::event_kind::sleep);
  CHECK((*evs)[2].text.rfind("50 ms (until ", 0) == 0);
}

TEST_CASE("a task resumed in the middle of a sleep sleeps only what is left", "[timer][engine][resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  SECTION("the deadline is still ahead") {
    auto deadline = now_ns() + 200'000'000; // 200 ms from now, of a one-hour sleep
    journal_sleeping_task(path, 0xabc1, deadline);
    engine eng{test::config_for(path), make_routes(), effects{}};
    REQUIRE_FALSE(eng.status());
    auto out = eng.wait<std::int64_t>(task_id{0xabc1}); // an hour if the sleep started over
    REQUIRE(out);
    CHECK(*out == 42);
    CHECK(now_ns() >= deadline); // and not before its deadline
  }
  SECTION("the deadline passed while no engine ran") {
    journal_sleeping_task(path, 0xabc2, now_ns() - 1'000'000'000);
    engine eng{test::config_for(path), make_routes(), effects{}};
    REQUIRE_FALSE(eng.status());
    auto out = eng.wait<std::int64_t>(task_id{0xabc2});
    REQUIRE(out);
    CHECK(*out == 42);
  }
}

TEST_CASE("replay answers a sleep from the journal without waiting; a cancel interrupts a sleep",
          "[timer][engine][replay][cancel]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  journal_sleeping_task(path, 0xabc3, now_ns() + 100'000'000);
  engine eng{test::config_for(path), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  REQUIRE(*eng.wait<std::int64_t>(task_id{0xabc3}) == 42);
  auto r = eng.replay(task_id{0xabc3}); // the recorded sleep is an hour long: a wait would hang here
  REQUIRE(r);
  CHECK_FALSE(r->diverged());
  CHECK(r->recorded_effects == 1);

  auto id = eng.start("longSleep", std::int64_t{1});
  REQUIRE(id);
  REQUIRE(eng.cancel(*id));
  auto out = eng.wait<std::int64_t>(*id);
  REQUIRE_FALSE(out);
  CHECK(to_string(out.error()).find("was cancelled") != std::string::npos);
}

TEST_CASE("a durable timer survives a real SIGKILL: the resumed task sleeps only what is left",
          "[timer][resume][crash]") {
  // Long enough that the kill, which follows SLEEPING at once, lands well before the deadline.
  constexpr std::int64_t ms = 3000;
  temp_dir dir;
  auto path = dir.file("j.db");
  test::child_process child{dir.path().string(), ACTORS_CRASH_CHILD, {path, "sleep", std::to_string(ms)},
                            test::child_process::stream::out};
  // The child prints SLEEPING only once the deadline is committed: a kill after it cannot lose the timer.
  REQUIRE(child.wait_for("SLEEPING "));
  CHECK(child.stop(SIGKILL) == 128 + SIGKILL);
  auto killed_at = now_ns();
  auto sleeping_id = child.line_after("SLEEPING ");
  REQUIRE_FALSE(sleeping_id.empty());
  auto id = task_id::from_string(sleeping_id);
  REQUIRE(id);

  // What the kill left: the task unfinished, mid-sleep. Were it finished, nothing below would resume.
  std::int64_t deadline = 0;
  {
    eventlog::journal_options opts;
    opts.path = path;
    opts.read_only = true;
    auto j = eventlog::journal::open(opts);
    REQUIRE(j);
    auto rec = (*j)->find_task(id->value());
    REQUIRE(rec);
    REQUIRE(rec->has_value());
    REQUIRE((*rec)->status == eventlog::task_status::running);
    auto evs = (*j)->events(id->value());
    REQUIRE(evs);
    REQUIRE(evs->size() == 3); // started, now, sleep
    REQUIRE((*evs)[2].kind == eventlog::event_kind::sleep);
    CHECK(detail::decode_u64((*evs)[2].request) == static_cast<std::uint64_t>(ms * 1'000'000));
    deadline = static_cast<std::int64_t>(detail::decode_u64((*evs)[2].result));
  }

  auto opened_at = now_ns();
  engine eng{test::config_for(path), test::crash_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto out = eng.wait<std::int64_t>(*id); // ms more if the timer started over
  auto woke_at = now_ns();
  REQUIRE(out);
  INFO("resumed " << (deadline - opened_at) / 1'000'000 << " ms before the deadline, done "
                  << (woke_at - deadline) / 1'000'000 << " ms after it");
  CHECK(woke_at >= deadline);
  CHECK(eng.stats().resumed == 1);

  auto evs = eng.journal()->events(id->value());
  REQUIRE(evs);
  // One sleep and one first reading, both the child's: resume answered them from the journal instead
  // of journaling a new clock reading or a new deadline.
  REQUIRE(evs->size() == 5);
  CHECK((*evs)[0].kind == eventlog::event_kind::started);
  CHECK((*evs)[1].kind == eventlog::event_kind::now);
  CHECK((*evs)[2].kind == eventlog::event_kind::sleep);
  CHECK((*evs)[3].kind == eventlog::event_kind::now);
  CHECK((*evs)[4].kind == eventlog::event_kind::completed);
  CHECK((*evs)[1].ts < killed_at);
  CHECK((*evs)[2].ts < killed_at);
  CHECK(static_cast<std::int64_t>(detail::decode_u64((*evs)[2].result)) == deadline);
  auto before = static_cast<std::int64_t>(detail::decode_u64((*evs)[1].result));
  auto after = static_cast<std::int64_t>(detail::decode_u64((*evs)[3].result));
  CHECK(after >= deadline);        // the task woke no earlier than the journaled deadline
  CHECK((*evs)[4].ts >= deadline); // nor completed before it
  // The output spans the child's reading and the resumed one: the first reading was not taken again.
  CHECK(*out == (after - before) / 1'000'000);
  CHECK(*out >= ms);
}
