// Crash resume: unfinished tasks resume from their journal; journaled effects are answered from it.

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "child_process.hpp"
#include "crash_workload.hpp"
#include "test_support.hpp"

using namespace actors;
using actors::test::temp_dir;
using eventlog::event;
using eventlog::event_kind;

namespace {

std::map<std::string, int> ledger_counts(const std::string& path) {
  std::map<std::string, int> out;
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line))
    ++out[line.substr(0, line.find(' '))];
  return out;
}

/// The ledger's lines ("charge 500 attempt 2", ...), in order.
std::vector<std::string> ledger_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in{path};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

/// Journals the start of a root task `id` of "durable" (qty 5) and its first two events — its log line
/// and stock.reserve answered 42 — as an engine would have journaled them before a crash.
void journal_durable_start(eventlog::journal& j, std::uint64_t id) {
  j.append_task(test::root_record<std::int64_t>(id, "durable"), to_bytes(std::int64_t{5}), "5");
  j.append(event{.task = id, .seq = 1, .kind = event_kind::log, .text = "order of 5"});
  j.append(event{.task = id, .seq = 2, .kind = event_kind::effect, .name = "stock.reserve",
                 .request = to_bytes(test::reserve{5}), .result = to_bytes(std::int64_t{42}),
                 .text = "{5} -> 42"});
}

/// A journal holding one task of "durable" interrupted after its first effect.
std::uint64_t journal_interrupted_task(const std::string& path) {
  auto j = eventlog::journal::open({.path = path});
  REQUIRE(j);
  journal_durable_start(**j, 0x1234abcd);
  REQUIRE_FALSE((*j)->flush());
  return 0x1234abcd;
}

} // namespace

TEST_CASE("resume answers journaled effects from the journal and calls no handler for them",
          "[resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto id = journal_interrupted_task(path);
  auto ledger = dir.file("ledger");
  engine eng{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
  REQUIRE_FALSE(eng.status());
  auto out = eng.wait<std::string>(task_id{id});
  REQUIRE(out);
  // 42 is the journaled answer of stock.reserve; a live handler would have said 95.
  CHECK(*out == "42/paid-500/parcel-5");
  auto counts = ledger_counts(ledger);
  CHECK(counts["reserve"] == 0);
  CHECK(counts["charge"] == 1);
  CHECK(counts["ship"] == 1);
  // No engine marked card.charge as started (the journal holds no mark): its first attempt.
  CHECK(ledger_lines(ledger) == std::vector<std::string>{"charge 500 attempt 1", "ship 5 attempt 1"});
  auto st = eng.stats();
  CHECK(st.resumed == 1);
  CHECK(st.effects_replayed == 1);
  CHECK(st.effects_executed == 2);
  // The resumed history continues after the journaled events, in order.
  auto evs = eng.journal()->events(id);
  REQUIRE(evs);
  REQUIRE(evs->size() == 6);
  CHECK((*evs)[3].name == "card.charge");
  CHECK((*evs)[3].seq == 3);
  CHECK((*evs)[4].name == "ship@v1");
  CHECK((*evs)[5].kind == event_kind::completed);
}

TEST_CASE("resume stops a task whose code asks for other effects than its journal holds",
          "[resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto id = journal_interrupted_task(path);
  // A "durable" whose first effect is a different one: the journal cannot answer it.
  auto changed = [](ctx& cx, std::int64_t qty) -> task<std::string> {
    co_return co_await cx.perform(test::charge{qty});
  };
  router r;
  r.add("durable", "v1", changed);
  std::atomic<int> calls{0};
  effects fx;
  fx.handle<test::charge>([&](const test::charge&) {
    ++calls;
    return std::string{"x"};
  });
  {
    engine eng{test::config_for(path), r, fx};
    auto out = eng.wait<std::string>(task_id{id});
    REQUIRE_FALSE(out);
    CHECK(out.error().code() == static_cast<std::uint8_t>(errc::nondeterminism));
    CHECK_THAT(describe(out.error()),
               Catch::Contains("stock.reserve") && Catch::Contains("card.charge"));
    CHECK(calls == 0);
  }
  // The journal still holds the task, unfinished, with its events.
  auto j = eventlog::journal::open({.path = path});
  REQUIRE(j);
  auto rec = (*j)->find_task(id);
  REQUIRE(rec);
  CHECK((*rec)->status == eventlog::task_status::running);
  CHECK((*j)->events(id)->size() == 3);
}

TEST_CASE("a task killed with SIGKILL while an effect is in flight completes after restart "
          "without re-running journaled effects",
          "[resume][crash]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  test::child_process child{dir.path().string(), ACTORS_CRASH_CHILD, {path}, test::child_process::stream::out};
  // Both lines, in either order: the handler may print INFLIGHT before the main thread prints STARTED.
  REQUIRE(child.wait_for("INFLIGHT"));
  if (child.line_after("STARTED ").empty())
    REQUIRE(child.wait_for("STARTED "));
  {
    // While the child serves the journal, a second engine that would resume its tasks is refused.
    engine second{test::config_for(path), test::crash_routes(), test::crash_effects(path + ".effects", {})};
    auto err = second.status();
    REQUIRE(err);
    CHECK(err.code() == static_cast<std::uint8_t>(errc::journal_in_use));
    CHECK_THAT(describe(err), Catch::Contains(path) &&
                                Catch::Contains("process " + std::to_string(child.pid())));
  }
  CHECK(child.stop(SIGKILL) == 128 + SIGKILL);
  auto started_id = child.line_after("STARTED ");
  REQUIRE_FALSE(started_id.empty());
  auto id = task_id::from_string(started_id);
  REQUIRE(id);
  auto ledger = path + ".effects";
  auto before = ledger_counts(ledger);
  CHECK(before["reserve"] == 1);
  CHECK(before["charge"] == 1); // in flight at the kill: never journaled
  // Restart on the same journal: the task resumes and completes.
  engine eng{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
  REQUIRE_FALSE(eng.status());
  auto out = eng.wait<std::string>(*id);
  REQUIRE(out);
  CHECK(*out == "95/paid-500/parcel-5");
  auto after = ledger_counts(ledger);
  CHECK(after["reserve"] == 1); // journaled before the kill: not run again
  CHECK(after["charge"] == 2);  // in flight at the kill: run again (its key is (task, seq))
  CHECK(after["ship"] == 1);
  CHECK(eng.stats().resumed == 1);
  // The handler learns which attempt it is: the first run's effects were attempt 1, the re-run of
  // the one in flight at the kill is attempt 2, the effects after it attempt 1 again.
  CHECK(ledger_lines(ledger) == std::vector<std::string>{"reserve 5 attempt 1", "charge 500 attempt 1",
                                                          "charge 500 attempt 2", "ship 5 attempt 1"});
}

TEST_CASE("an effect in flight at two kills in a row is attempt 3 in the third engine",
          "[resume][crash]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto ledger = path + ".effects";
  std::string started;
  {
    test::child_process first{dir.path().string(), ACTORS_CRASH_CHILD, {path},
                              test::child_process::stream::out};
    REQUIRE(first.wait_for("INFLIGHT"));
    if (first.line_after("STARTED ").empty())
      REQUIRE(first.wait_for("STARTED "));
    started = first.line_after("STARTED ");
    CHECK(first.stop(SIGKILL) == 128 + SIGKILL);
  }
  {
    // The second engine only resumes: the task runs card.charge again and is killed inside it again.
    test::child_process second{dir.path().string(), ACTORS_CRASH_CHILD, {path, "resume"},
                               test::child_process::stream::out};
    REQUIRE(second.wait_for("INFLIGHT"));
    CHECK(second.stop(SIGKILL) == 128 + SIGKILL);
  }
  auto id = task_id::from_string(started);
  REQUIRE(id);
  engine eng{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
  REQUIRE_FALSE(eng.status());
  auto out = eng.wait<std::string>(*id);
  REQUIRE(out);
  CHECK(*out == "95/paid-500/parcel-5");
  CHECK(ledger_lines(ledger) == std::vector<std::string>{"reserve 5 attempt 1", "charge 500 attempt 1",
                                                          "charge 500 attempt 2", "charge 500 attempt 3",
                                                          "ship 5 attempt 1"});
}

TEST_CASE("a task waiting for a place when the process is killed runs after restart, its effects once",
          "[resume][crash][admission]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  test::child_process child{dir.path().string(), ACTORS_CRASH_CHILD, {path, "queued"},
                            test::child_process::stream::out};
  REQUIRE(child.wait_for("INFLIGHT"));
  if (child.line_after("WAITING ").empty())
    REQUIRE(child.wait_for("WAITING "));
  CHECK(child.stop(SIGKILL) == 128 + SIGKILL);
  auto first = task_id::from_string(child.line_after("STARTED "));
  auto waiting_line = child.line_after("WAITING ");
  auto second = task_id::from_string(waiting_line.substr(0, waiting_line.find(' ')));
  REQUIRE(first);
  REQUIRE(second);
  CHECK(waiting_line.substr(waiting_line.find(' ') + 1) == "1"); // it was queued, not running
  auto ledger = path + ".effects";
  auto before = ledger_counts(ledger);
  CHECK(before["reserve"] == 1); // the running task's; the waiting one ran nothing
  CHECK(before["charge"] == 1);
  engine eng{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
  REQUIRE_FALSE(eng.status());
  auto out1 = eng.wait<std::string>(*first);
  REQUIRE(out1);
  CHECK(*out1 == "95/paid-500/parcel-5");
  auto out2 = eng.wait<std::string>(*second);
  REQUIRE(out2);
  CHECK(*out2 == "93/paid-700/parcel-7");
  auto after = ledger_counts(ledger);
  CHECK(after["reserve"] == 2); // once each
  CHECK(after["charge"] == 3);  // the first task's again (in flight at the kill), the second's once
  CHECK(after["ship"] == 2);
  CHECK(eng.stats().resumed == 2);
  // The task that waited for a place never started an effect: each of its effects is attempt 1 (a
  // resumed task is not taken for a re-run); only the first task's charge is attempt 2.
  auto lines = ledger_lines(ledger);
  auto count = [&](const std::string& l) { return std::count(lines.begin(), lines.end(), l); };
  CHECK(count("reserve 7 attempt 1") == 1);
  CHECK(count("charge 700 attempt 1") == 1);
  CHECK(count("ship 7 attempt 1") == 1);
  CHECK(count("charge 500 attempt 1") == 1);
  CHECK(count("charge 500 attempt 2") == 1);
  CHECK(lines.size() == 7);
}

namespace {

/// Journals "durable" (qty 5) interrupted after both of its effects, inside its call of "ship": the child
/// task row exists; `child_done` says whether the child had also completed before the crash.
std::pair<std::uint64_t, std::uint64_t> journal_interrupted_call(const std::string& path,
                                                                 bool child_done) {
  auto j = eventlog::journal::open({.path = path});
  REQUIRE(j);
  eventlog::task_record rec;
  rec.id = 0x2000;
  journal_durable_start(**j, rec.id);
  (*j)->append(event{.task = rec.id, .seq = 3, .kind = event_kind::effect, .name = "card.charge",
                     .request = to_bytes(test::charge{500}),
                     .result = to_bytes(std::string{"paid-old"})});
  eventlog::task_record child;
  child.id = 0x2001;
  child.parent = rec.id;
  child.root = rec.id;
  child.parent_seq = 4;
  child.function = "ship";
  child.version = "v1";
  child.input_type = type_name<std::int64_t>();
  (*j)->append_task(child, to_bytes(std::int64_t{5}), "5");
  (*j)->append(event{.task = child.id, .seq = 1, .kind = event_kind::effect, .name = "parcel.ship",
                     .request = to_bytes(test::ship{5}),
                     .result = to_bytes(std::string{"parcel-journaled"})});
  if (child_done)
    (*j)->append(event{.task = child.id, .seq = 2, .kind = event_kind::completed,
                       .result = to_bytes(std::string{"parcel-journaled"})});
  REQUIRE_FALSE((*j)->flush());
  return {rec.id, child.id};
}

} // namespace

TEST_CASE("a resumed parent waits for its resumed child instead of calling again", "[resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto [parent, child] = journal_interrupted_call(path, false);
  auto ledger = dir.file("ledger");
  engine eng{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
  auto out = eng.wait<std::string>(task_id{parent});
  REQUIRE(out);
  CHECK(*out == "42/paid-old/parcel-journaled");
  CHECK(ledger_counts(ledger).empty()); // every effect was journaled: no handler ran
  CHECK(eng.stats().resumed == 2);
  auto evs = eng.journal()->events(parent);
  REQUIRE(evs);
  REQUIRE(evs->size() == 6);
  CHECK((*evs)[4].kind == event_kind::call);
  CHECK((*evs)[4].ref == child); // the journaled child, not a new one
  auto kids = eng.journal()->children(parent);
  REQUIRE(kids);
  CHECK(kids->size() == 1);
}

TEST_CASE("a resumed parent takes the output of a child that finished before the crash",
          "[resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto [parent, child] = journal_interrupted_call(path, true);
  auto ledger = dir.file("ledger");
  engine eng{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
  auto out = eng.wait<std::string>(task_id{parent});
  REQUIRE(out);
  CHECK(*out == "42/paid-old/parcel-journaled");
  CHECK(ledger_counts(ledger).empty());
  CHECK(eng.stats().resumed == 1);
  CHECK(eng.journal()->children(parent)->size() == 1);
}

TEST_CASE("one engine resumes a journal's tasks: a second is refused and changes nothing, a replaying "
          "one is not",
          "[resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto id = journal_interrupted_task(path);
  auto ledger = dir.file("ledger");
  std::optional<engine> first;
  first.emplace(test::config_for(path), router{}, effects{}); // serves, but cannot run "durable"
  REQUIRE_FALSE(first->status());
  CHECK_FALSE(std::filesystem::exists(path + "-engine.lock")); // the lock is on the journal's file
  {
    engine second{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
    auto err = second.status();
    REQUIRE(err);
    CHECK(err.code() == static_cast<std::uint8_t>(errc::journal_in_use));
    CHECK_THAT(describe(err), Catch::Contains("journal " + path + " is served by another engine") &&
                                Catch::Contains("process " + std::to_string(getpid())) &&
                                Catch::Contains("resume = false"));
  }
  { // nothing of the task moved, and no handler ran
    auto j = eventlog::journal::open({.path = path, .read_only = true});
    REQUIRE(j);
    auto rec = (*j)->find_task(id);
    REQUIRE((rec && *rec));
    CHECK((*rec)->status == eventlog::task_status::running);
    CHECK((*j)->events(id)->size() == 3);
    CHECK(ledger_counts(ledger).empty());
  }
  {
    auto cfg = test::config_for(path);
    cfg.resume = false; // a tool that reads or replays the journal takes no lock
    engine reader{cfg, test::crash_routes(), test::crash_effects(ledger, {})};
    REQUIRE_FALSE(reader.status());
    CHECK(reader.stats().resumed == 0);
    // ... but it cannot start tasks beside the engine that serves the journal (their ids would collide)
    auto started = reader.start("durable", std::int64_t{5});
    REQUIRE_FALSE(started);
    CHECK(started.error().code() == static_cast<std::uint8_t>(errc::journal_in_use));
    CHECK_THAT(describe(started.error()), Catch::Contains("this engine cannot start tasks") &&
                                            Catch::Contains("journal " + path + " is served"));
  }
  first.reset(); // the server stops: the next one takes over
  engine next{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
  REQUIRE_FALSE(next.status());
  auto out = next.wait<std::string>(task_id{id});
  REQUIRE(out);
  CHECK(*out == "42/paid-500/parcel-5");
  CHECK(next.stats().resumed == 1);
  CHECK(ledger_counts(ledger)["charge"] == 1);
}

TEST_CASE("an engine with resume off that starts tasks serves the journal until it stops", "[resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto ledger = dir.file("ledger");
  auto cfg = test::config_for(path);
  cfg.resume = false;
  std::optional<engine> starter;
  starter.emplace(cfg, test::crash_routes(), test::crash_effects(ledger, {}));
  REQUIRE_FALSE(starter->status());
  auto id = starter->start("durable", std::int64_t{5});
  REQUIRE(id); // its first start takes the lock
  {
    engine server{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
    CHECK(server.status().code() == static_cast<std::uint8_t>(errc::journal_in_use));
  }
  CHECK(*starter->wait<std::string>(*id) == "95/paid-500/parcel-5");
  CHECK(starter->start("durable", std::int64_t{5})); // still its own
  starter.reset();
  engine server{test::config_for(path), test::crash_routes(), test::crash_effects(ledger, {})};
  CHECK_FALSE(server.status());
}

TEST_CASE("a journal file that cannot be created for its lock is a journal failure naming it",
          "[resume][errors]") {
  temp_dir dir;
  auto path = (dir.path() / "no-such-dir" / "j.db").string();
  engine eng{test::config_for(path), test::crash_routes(), test::crash_effects(dir.file("ledger"), {})};
  auto err = eng.status();
  REQUIRE(err);
  CHECK(err.code() == static_cast<std::uint8_t>(errc::journal_failure));
  CHECK_THAT(describe(err), Catch::Contains("cannot lock journal " + path + ": cannot create " + path) &&
                              Catch::Contains("No such file or directory"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "no-such-dir")); // nothing was created
}
