// Divergence detection compares every field it journals, in all three places that compare a run with a
// journal: a shadow run of a live primary (the in-memory recording), engine::replay with an override (the
// recording read back from the journal), and resume (task_runtime against the task's own journal). One
// matcher decides (libactors/src/continuation/journal_match.hpp); these tests drive it through engines.

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::temp_dir;
using eventlog::event;
using eventlog::event_kind;
using namespace std::chrono_literals;

namespace {

// ping: v1 sends 5 to the task in its input, v2 the same message to itself.
task<std::int64_t> ping_v1(ctx& cx, std::uint64_t to) {
  co_await cx.send(task_id{to}, std::int64_t{5});
  co_return 0;
}
task<std::int64_t> ping_v2(ctx& cx, std::uint64_t) {
  co_await cx.send(cx.id(), std::int64_t{5});
  co_return 0;
}

task<std::int64_t> sink(ctx& cx, std::int64_t) {
  co_return co_await cx.receive<std::int64_t>();
}

// hear: v1 receives a number, v2 expects a string.
task<std::string> hear_v1(ctx& cx, std::int64_t) {
  auto x = co_await cx.receive<std::int64_t>();
  co_return std::to_string(x);
}
task<std::string> hear_v2(ctx& cx, std::int64_t) {
  co_return co_await cx.receive<std::string>();
}

// wait: a receive that times out after 20 ms (v1) or 30 ms (v2).
task<std::int64_t> wait_v1(ctx& cx, std::int64_t) {
  auto m = co_await cx.receive<std::int64_t>(20ms);
  co_return m ? *m : -1;
}
task<std::int64_t> wait_v2(ctx& cx, std::int64_t) {
  auto m = co_await cx.receive<std::int64_t>(30ms);
  co_return m ? *m : -1;
}

// nap: sleeps 1 ms (v1) or 2 ms (v2).
task<std::int64_t> nap_v1(ctx& cx, std::int64_t) {
  co_await cx.sleep(1ms);
  co_return 0;
}
task<std::int64_t> nap_v2(ctx& cx, std::int64_t) {
  co_await cx.sleep(2ms);
  co_return 0;
}

// draw: the same draw from [0, 10) (v1) or [0, 20) (v2).
task<std::int64_t> draw_v1(ctx& cx, std::int64_t) {
  (void)co_await cx.random(10);
  co_return 0;
}
task<std::int64_t> draw_v2(ctx& cx, std::int64_t) {
  (void)co_await cx.random(20);
  co_return 0;
}

// parent: spawns a child that waits for a message (so it makes no effect before it is cancelled), and
// cancels it: v1 spawns waiterA, v2 waiterB — the same body under another name.
task<std::int64_t> waiter(ctx& cx, std::int64_t) {
  co_return co_await cx.receive<std::int64_t>();
}
task<std::string> cancel_child(ctx& cx, const char* child) {
  auto h = co_await cx.spawn<std::int64_t>(child, std::int64_t{0});
  cx.cancel(h);
  try {
    co_await h;
    co_return "joined";
  } catch (const call_error&) {
    co_return "cancelled";
  }
}
task<std::string> parent_v1(ctx& cx, std::int64_t) {
  co_return co_await cancel_child(cx, "waiterA");
}
task<std::string> parent_v2(ctx& cx, std::int64_t) {
  co_return co_await cancel_child(cx, "waiterB");
}

router make_routes() {
  router r;
  r.add("ping", "v1", ping_v1)
    .add("ping", "v2", ping_v2)
    .add("sink", "v1", sink)
    .add("hear", "v1", hear_v1)
    .add("hear", "v2", hear_v2)
    .add("wait", "v1", wait_v1)
    .add("wait", "v2", wait_v2)
    .add("nap", "v1", nap_v1)
    .add("nap", "v2", nap_v2)
    .add("draw", "v1", draw_v1)
    .add("draw", "v2", draw_v2)
    .add("waiterA", "v1", waiter)
    .add("waiterB", "v1", waiter)
    .add("parent", "v1", parent_v1)
    .add("parent", "v2", parent_v2);
  return r;
}

/// What a shadow run (of the live primary `id`, from the in-memory recording or the journal) and a
/// replay with v2 (from the journal) found.
struct found {
  divergence shadow;
  replay_divergence replay;
};

found diverge_both(engine& eng, task_id id, const std::string& fn) {
  eng.drain();
  auto d = eng.divergences(fn);
  REQUIRE(d.size() == 1);
  CHECK(d.front().task == id.value());
  REQUIRE(eng.override_route(id, fn, "v2"));
  auto r = eng.replay(id);
  REQUIRE(r);
  CHECK(r->replayed_version == "v2");
  REQUIRE(r->diverged());
  return {d.front(), *r->divergence};
}

/// Both runs report `what` at leaf effect `position`, and render the recorded side the same: the
/// in-memory recording and the journal carry the same fields.
void check_same(const found& f, const std::string& what, std::int64_t position) {
  INFO("shadow: " << f.shadow.what << ": " << f.shadow.primary_side << " | " << f.shadow.candidate_side);
  INFO("replay: " << f.replay.what << ": " << f.replay.recorded << " | " << f.replay.replayed);
  CHECK(f.shadow.what == what);
  CHECK(f.replay.what == what);
  CHECK(f.shadow.position == position);
  CHECK(f.replay.position == position);
  CHECK(f.shadow.primary_side == f.replay.recorded);
  CHECK(f.shadow.candidate_side == f.replay.replayed);
}

} // namespace

TEST_CASE("the same message to a different task diverges in a shadow run and in a replay "
          "(different recipient)",
          "[divergence][shadow][replay][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.set_policy("ping", policy::shadow("v1", "v2")));
  auto s = eng.start("sink", std::int64_t{0});
  REQUIRE(s);
  auto id = eng.start("ping", s->value());
  REQUIRE(id);
  REQUIRE(*eng.wait<std::int64_t>(*id) == 0);
  REQUIRE(*eng.wait<std::int64_t>(*s) == 5);
  auto f = diverge_both(eng, *id, "ping");
  check_same(f, "different recipient", 0);
  CHECK(f.replay.recorded == "send 5 -> task " + to_string(*s) + " (long)");
  CHECK(f.replay.replayed == "send 5 -> task " + to_string(*id) + " (long)");
}

TEST_CASE("a receive of another message type diverges (different message type)",
          "[divergence][shadow][replay][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.set_policy("hear", policy::shadow("v1", "v2")));
  auto id = eng.start("hear", std::int64_t{0});
  REQUIRE(id);
  REQUIRE(eng.send(*id, std::int64_t{42}));
  REQUIRE(*eng.wait<std::string>(*id) == "42");
  auto f = diverge_both(eng, *id, "hear");
  check_same(f, "different message type", 0);
  CHECK(f.replay.recorded == "receive long (no timeout) -> 42 (from outside)");
  CHECK(f.replay.replayed == "receive std::string (no timeout)");
}

TEST_CASE("a receive with another timeout diverges (different timeout)",
          "[divergence][shadow][replay][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.set_policy("wait", policy::shadow("v1", "v2")));
  auto id = eng.start("wait", std::int64_t{0});
  REQUIRE(id);
  REQUIRE(*eng.wait<std::int64_t>(*id) == -1);
  auto f = diverge_both(eng, *id, "wait");
  check_same(f, "different timeout", 0);
  CHECK(f.replay.recorded == "receive long (timeout 20 ms) -> timed out");
  CHECK(f.replay.replayed == "receive long (timeout 30 ms)");
}

TEST_CASE("a timer of another duration and a draw from another bound diverge",
          "[divergence][shadow][replay][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  SECTION("different duration") {
    REQUIRE(eng.set_policy("nap", policy::shadow("v1", "v2")));
    auto id = eng.start("nap", std::int64_t{0});
    REQUIRE(id);
    REQUIRE(*eng.wait<std::int64_t>(*id) == 0);
    auto f = diverge_both(eng, *id, "nap");
    check_same(f, "different duration", 0);
    CHECK(f.replay.recorded.rfind("sleep 1 ms (until ", 0) == 0);
    CHECK(f.replay.replayed == "sleep 2 ms");
  }
  SECTION("different bound") {
    REQUIRE(eng.set_policy("draw", policy::shadow("v1", "v2")));
    auto id = eng.start("draw", std::int64_t{0});
    REQUIRE(id);
    REQUIRE(*eng.wait<std::int64_t>(*id) == 0);
    auto f = diverge_both(eng, *id, "draw");
    check_same(f, "different bound", 0);
    CHECK(f.replay.recorded.rfind("random [0, 10) -> ", 0) == 0);
    CHECK(f.replay.replayed == "random [0, 20)");
  }
}

TEST_CASE("a spawned child of another function where the recorded one was cancelled diverges "
          "(different function)",
          "[divergence][shadow][replay][spawn][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.set_policy("parent", policy::shadow("v1", "v2")));
  auto id = eng.start("parent", std::int64_t{0});
  REQUIRE(id);
  REQUIRE(*eng.wait<std::string>(*id) == "cancelled");
  auto kids = eng.journal()->children(id->value());
  REQUIRE(kids);
  REQUIRE(kids->size() == 1);
  auto f = diverge_both(eng, *id, "parent"); // a tree that spawned: the shadow run reads the journal
  check_same(f, "different function", 0);
  CHECK(f.replay.recorded ==
        "cancelled waiterA (task " + to_string(task_id{kids->front().id}) + " was cancelled here)");
  CHECK(f.replay.replayed == "receive long (no timeout)");
}

// --- resume: the task's own journal ------------------------------------------------------------------

namespace {

constexpr std::uint64_t probe_id = 0x5150aa01;

/// Journals an unfinished root task "probe"@v1 (input 0) with `ev` at seq 1, then resumes it in an
/// engine whose probe@v1 is `code`; returns how the task ended.
template <class Out>
caf::expected<Out> resume_probe(temp_dir& dir, event ev, task<Out> (*code)(ctx&, std::int64_t)) {
  auto path = dir.file("j.db");
  {
    auto j = eventlog::journal::open({.path = path});
    REQUIRE(j);
    (*j)->append_task(test::root_record<std::int64_t>(probe_id, "probe"), to_bytes(std::int64_t{0}),
                      "0");
    ev.task = probe_id;
    ev.seq = 1;
    (*j)->append(std::move(ev));
    REQUIRE_FALSE((*j)->flush());
  }
  router r = make_routes();
  r.add("probe", "v1", code);
  engine eng{test::config_for(path), r, effects{}};
  REQUIRE_FALSE(eng.status());
  return eng.wait<Out>(task_id{probe_id});
}

/// As resume_probe; the task must end diverged: returns the error.
template <class Out>
std::string resume_error(temp_dir& dir, event ev, task<Out> (*code)(ctx&, std::int64_t)) {
  auto out = resume_probe(dir, std::move(ev), code);
  REQUIRE_FALSE(out);
  CHECK(out.error().code() == static_cast<std::uint8_t>(errc::nondeterminism));
  return describe(out.error());
}

constexpr std::uint64_t journaled_peer = 0x5150aa02;

task<std::int64_t> send_elsewhere(ctx& cx, std::int64_t) {
  co_await cx.send(task_id{0x5150aa03}, std::int64_t{5});
  co_return 0;
}
task<std::int64_t> receive_string(ctx& cx, std::int64_t) {
  auto s = co_await cx.receive<std::string>();
  co_return static_cast<std::int64_t>(s.size());
}
task<std::int64_t> receive_longer(ctx& cx, std::int64_t) {
  auto m = co_await cx.receive<std::int64_t>(30ms);
  co_return m ? *m : -1;
}
// Calls waiterA pinned to a version that does not exist: the call fails to route.
task<std::int64_t> call_missing_version(ctx& cx, std::int64_t) {
  try {
    co_await cx.call<std::int64_t>("waiterA", std::int64_t{0}, actors::version{"v9"});
    co_return 0;
  } catch (const call_error&) {
    co_return -2;
  }
}
task<std::int64_t> spawn_other(ctx& cx, std::int64_t) {
  co_await cx.spawn<std::int64_t>("waiterB", std::int64_t{0});
  co_return 0;
}

} // namespace

TEST_CASE("resume compares the same fields with the same words", "[divergence][resume][engine]") {
  temp_dir dir;
  auto none = detail::encode_u64(static_cast<std::uint64_t>(std::int64_t{-1}));
  SECTION("different recipient") {
    auto err = resume_error(dir,
                            event{.kind = event_kind::send, .name = to_string(task_id{journaled_peer}),
                                  .ref = 77, .request = to_bytes(std::int64_t{5}),
                                  .text = "5 -> task " + to_string(task_id{journaled_peer}) + " (long)"},
                            send_elsewhere);
    CHECK_THAT(err, Catch::Contains("(different recipient): the journal has send 5 -> task " +
                                    to_string(task_id{journaled_peer}) +
                                    " (long), the code asks for send 5 -> task " +
                                    to_string(task_id{0x5150aa03}) + " (long)"));
  }
  SECTION("different message type") {
    auto err = resume_error(dir,
                            event{.kind = event_kind::receive, .name = type_name<std::int64_t>(),
                                  .ref = 77, .request = none,
                                  .result = "\1" + to_bytes(std::int64_t{5}), .text = "5 (from outside)"},
                            receive_string);
    CHECK_THAT(err, Catch::Contains("(different message type)") &&
                      Catch::Contains("the code asks for receive std::string (no timeout)"));
  }
  SECTION("different timeout") {
    auto err = resume_error(dir,
                            event{.kind = event_kind::receive, .name = type_name<std::int64_t>(),
                                  .request = detail::encode_u64(20'000'000),
                                  .result = std::string(1, '\0'), .text = "timed out (timeout 20 ms)"},
                            receive_longer);
    CHECK_THAT(err, Catch::Contains("(different timeout): the journal has receive long (timeout 20 ms) "
                                    "-> timed out, the code asks for receive long (timeout 30 ms)"));
  }
  SECTION("different duration") {
    auto err = resume_error(dir,
                            event{.kind = event_kind::sleep, .request = detail::encode_u64(1'000'000),
                                  .result = detail::encode_u64(1), .text = "1 ms (until 1970)"},
                            nap_v2);
    CHECK_THAT(err, Catch::Contains("(different duration)") &&
                      Catch::Contains("the code asks for sleep 2 ms"));
  }
  SECTION("different bound") {
    auto err = resume_error(dir,
                            event{.kind = event_kind::random, .request = detail::encode_u64(10),
                                  .result = detail::encode_u64(3), .text = "[0, 10) -> 3"},
                            draw_v2);
    CHECK_THAT(err, Catch::Contains("(different bound): the journal has random [0, 10) -> 3, the code "
                                    "asks for random [0, 20)"));
  }
  SECTION("different function in a spawn") {
    auto err = resume_error(dir,
                            event{.kind = event_kind::spawn, .name = "waiterA@v1", .ref = 0,
                                  .request = to_bytes(std::int64_t{0}), .text = "0 -> task 0"},
                            spawn_other);
    CHECK_THAT(err, Catch::Contains("(different function): the journal has spawn waiterA@v1 0 -> task 0, "
                                    "the code asks for spawn waiterB 0"));
  }
}

TEST_CASE("resume answers a pinned call that failed to route as journaled", "[divergence][resume][engine]") {
  // Live, the call failed before it started a child: the journal has the function without a version
  // and no input. Resume must not compare the pinned version (or an input) with what was never there.
  temp_dir dir;
  auto out = resume_probe(dir,
                          event{.kind = event_kind::call, .failed = true, .name = "waiterA",
                                .result = "function 'waiterA' has no version 'v9'",
                                .text = "0 -> error: function 'waiterA' has no version 'v9'"},
                          call_missing_version);
  REQUIRE(out);
  CHECK(*out == -2);
}

namespace {

task<std::int64_t> ends_at_once(ctx&, std::int64_t) {
  co_return 7;
}
task<std::int64_t> throws_at_once(ctx&, std::int64_t) {
  throw std::runtime_error("boom");
  co_return 0;
}

/// The probe's journaled events and whether it is still unfinished, read back after the engine closed.
std::pair<std::vector<event>, bool> probe_history(temp_dir& dir) {
  eventlog::journal_options opts;
  opts.path = dir.file("j.db");
  opts.read_only = true;
  auto j = eventlog::journal::open(opts);
  REQUIRE(j);
  auto evs = (*j)->events(probe_id);
  REQUIRE(evs);
  auto t = (*j)->find_task(probe_id);
  REQUIRE(t);
  REQUIRE(t->has_value());
  return {*evs, (*t)->status == eventlog::task_status::running};
}

} // namespace

TEST_CASE("a resumed task whose code ends before its history does has diverged, and journals nothing",
          "[divergence][resume][engine]") {
  // Found by fuzz_journal_resume: the task's end took the seq of the next journaled event (two events
  // at one seq), on a journal whose rows had been edited.
  temp_dir dir;
  auto journaled = event{.kind = event_kind::random, .request = detail::encode_u64(10),
                         .result = detail::encode_u64(3), .text = "[0, 10) -> 3"};
  SECTION("it returns") {
    auto err = resume_error(dir, journaled, ends_at_once);
    CHECK_THAT(err, Catch::Contains("diverged from its journal at seq 1 (the code completed): the journal "
                                    "has random [0, 10) -> 3 there"));
  }
  SECTION("it throws") {
    auto err = resume_error(dir, journaled, throws_at_once);
    CHECK_THAT(err, Catch::Contains("diverged from its journal at seq 1 (the code failed: boom): the "
                                    "journal has random [0, 10) -> 3 there"));
  }
  auto [evs, unfinished] = probe_history(dir);
  CHECK(unfinished); // left for a fixed version of the code (or a repaired journal) to resume
  REQUIRE(evs.size() == 2);
  CHECK(evs[0].kind == event_kind::started);
  CHECK(evs[1].seq == 1);
  CHECK(evs[1].kind == event_kind::random);
}

namespace {

task<std::int64_t> naps(ctx& cx, std::int64_t) {
  co_await cx.sleep(1ms);
  co_return 1;
}
task<std::int64_t> draws(ctx& cx, std::int64_t) {
  co_return static_cast<std::int64_t>(co_await cx.random(10));
}

} // namespace

TEST_CASE("a resumed task whose journaled deadline or draw is malformed stops, saying the journal is damaged",
          "[divergence][resume][engine][damage]") {
  // Found by fuzz_journal_resume: a deadline read from 19 bytes of text put the task to sleep for 55
  // years, and a wait for it never returned.
  temp_dir dir;
  std::string text = "1048932506152111758";
  SECTION("a deadline") {
    auto out = resume_probe(dir,
                            event{.kind = event_kind::sleep, .request = detail::encode_u64(1'000'000),
                                  .result = text, .text = "1 ms"},
                            naps);
    REQUIRE_FALSE(out);
    CHECK(out.error().code() == static_cast<std::uint8_t>(errc::journal_failure));
    CHECK_THAT(describe(out.error()),
               Catch::Contains("the journal is damaged at seq 1: its sleep result is 19 bytes, where 8 are journaled"));
  }
  SECTION("a deadline of 8 bytes, long after the sleep was journaled") {
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
    auto far = static_cast<std::uint64_t>(now) + 3'000'000'000'000'000'000ULL; // ~95 years on
    auto out = resume_probe(dir,
                            event{.kind = event_kind::sleep, .request = detail::encode_u64(1'000'000),
                                  .result = detail::encode_u64(far), .text = "1 ms"},
                            naps);
    REQUIRE_FALSE(out);
    CHECK(out.error().code() == static_cast<std::uint8_t>(errc::journal_failure));
    CHECK_THAT(describe(out.error()), Catch::Contains("the journal is damaged at seq 1: its sleep of 1000000 ns "
                                                      "ends at") &&
                                        Catch::Contains("long after it was journaled"));
  }
  SECTION("a sleep marked failed") {
    auto out = resume_probe(dir,
                            event{.kind = event_kind::sleep, .failed = true, .request = detail::encode_u64(1'000'000),
                                  .result = detail::encode_u64(1), .text = "1 ms"},
                            naps);
    REQUIRE_FALSE(out);
    CHECK_THAT(describe(out.error()), Catch::Contains("its sleep is marked failed, which it cannot be"));
  }
  SECTION("a draw") {
    auto out = resume_probe(dir,
                            event{.kind = event_kind::random, .request = detail::encode_u64(10),
                                  .result = "\x03", .text = "[0, 10) -> 3"},
                            draws);
    REQUIRE_FALSE(out);
    CHECK_THAT(describe(out.error()), Catch::Contains("its random result is 1 bytes, where 8 are journaled"));
  }
  auto [evs, unfinished] = probe_history(dir);
  CHECK(unfinished);
  CHECK(evs.size() == 2);
}
