// Shadow runs (DESIGN §3): the candidate runs after its primary, against the primary's journal, executes
// nothing, and every difference becomes a divergence record.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <time.h>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::db_get;
using actors::test::temp_dir;
using actors::test::user_db;
using namespace std::chrono_literals;

namespace {

// lookupUser@v1: one user effect, the clock and a random draw — every kind of leaf effect.
task<std::string> lookup_v1(ctx& cx, std::int64_t uid) {
  auto name = co_await cx.perform(db_get{uid});
  auto t = co_await cx.now();
  auto lucky = co_await cx.random(1000);
  (void)t;
  co_return name + "#" + std::to_string(lucky);
}

// v2 logs, then calls v1 pinned: calls are transparent and logs never count, so it matches v1.
task<std::string> lookup_v2(ctx& cx, std::int64_t uid) {
  co_await cx.log("v2 delegating user {} to v1", uid);
  auto out = co_await cx.call<std::string>("lookupUser", uid, actors::version{"v1"});
  co_return out;
}

// v3 makes the same effects and changes the output.
task<std::string> lookup_v3(ctx& cx, std::int64_t uid) {
  auto out = co_await lookup_v1(cx, uid);
  co_return "Dr. " + out;
}

// v4 asks for a user the primary never asked for.
task<std::string> lookup_other_user(ctx& cx, std::int64_t uid) {
  auto name = co_await cx.perform(db_get{uid + 1000});
  co_return name;
}

// v5 makes one more effect after v1's.
task<std::string> lookup_twice(ctx& cx, std::int64_t uid) {
  auto out = co_await lookup_v1(cx, uid);
  auto again = co_await cx.perform(db_get{uid});
  co_return out + again;
}

// v6 stops before the clock and the draw.
task<std::string> lookup_short(ctx& cx, std::int64_t uid) {
  auto name = co_await cx.perform(db_get{uid});
  co_return name + "#?";
}

// v7 throws after the user effect.
task<std::string> lookup_throws(ctx& cx, std::int64_t uid) {
  co_await cx.perform(db_get{uid});
  throw std::runtime_error("v7 cannot format user " + std::to_string(uid));
}

/// CPU time the calling thread has used.
std::chrono::nanoseconds thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

// v8 computes for 300 ms of CPU time before its first effect (the test's bound is 50 ms).
task<std::string> lookup_slow(ctx& cx, std::int64_t uid) {
  auto until = thread_cpu() + 300ms;
  volatile std::uint64_t sink = 0;
  while (thread_cpu() < until)
    for (int i = 0; i < 1000; ++i)
      sink = sink + static_cast<std::uint64_t>(i);
  auto out = co_await lookup_v1(cx, uid);
  co_return out;
}

// A different output type: refused as a shadow of v1.
task<std::int64_t> lookup_number(ctx&, std::int64_t uid) {
  co_return uid;
}

// handle@v1 calls lookupUser (routed by its policy) and frames the answer.
task<std::string> handle(ctx& cx, std::int64_t uid) {
  auto user = co_await cx.call<std::string>("lookupUser", uid);
  auto t = co_await cx.now();
  (void)t;
  co_return "[" + user + "]";
}

router make_routes() {
  router r;
  r.add("lookupUser", "v1", lookup_v1)
    .add("lookupUser", "v2", lookup_v2)
    .add("lookupUser", "v3", lookup_v3)
    .add("lookupUser", "v4", lookup_other_user)
    .add("lookupUser", "v5", lookup_twice)
    .add("lookupUser", "v6", lookup_short)
    .add("lookupUser", "v7", lookup_throws)
    .add("lookupUser", "v8", lookup_slow)
    .add("lookupUser", "number", lookup_number)
    .add("handle", "v1", handle);
  return r;
}

/// Runs `n` lookupUser tasks through `eng` and returns their ids (each checked to be served by v1).
std::vector<task_id> serve(engine& eng, int n) {
  std::vector<task_id> ids;
  for (int i = 0; i < n; ++i) {
    auto id = eng.start("lookupUser", std::int64_t{i});
    REQUIRE(id);
    ids.push_back(*id);
  }
  for (auto id : ids) {
    auto out = eng.wait<std::string>(id);
    REQUIRE(out);
    CHECK(out->rfind("user", 0) == 0); // v1's answer, whatever the candidate does
  }
  return ids;
}

shadow_counts counts_of(engine& eng, const std::string& candidate) {
  for (auto& c : eng.shadow_stats())
    if (c.function == "lookupUser" && c.candidate == candidate)
      return c;
  return {};
}

} // namespace

TEST_CASE("a candidate that logs and calls the primary pinned matches it on every run, and executes "
          "no effect",
          "[shadow][engine]") {
  temp_dir dir;
  user_db db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v2")));
  auto ids = serve(eng, 40);
  eng.drain();
  auto c = counts_of(eng, "v2");
  CHECK(c.primary == "v1");
  CHECK(c.runs == 40);
  CHECK(c.matches == 40);
  CHECK(c.divergences == 0);
  CHECK(c.skipped == 0);
  CHECK(db.calls == 40); // the primaries' effects only
  auto d = eng.divergences("lookupUser");
  CHECK(d.empty());
  // The primary's journal says why it ran v1.
  auto rec = eng.journal()->find_task(ids.front().value());
  REQUIRE(rec);
  REQUIRE(rec->has_value());
  CHECK((*rec)->route == "shadow v2");
  CHECK(eng.stats().started == 40); // shadow runs are not tasks: nothing about them is journaled
  auto listed = eng.journal()->list_tasks({});
  REQUIRE(listed);
  CHECK(listed->size() == 40);
}

TEST_CASE("failures compare by their innermost message: a delegating candidate fails like its primary",
          "[shadow][engine]") {
  temp_dir dir;
  user_db db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v2")));
  auto out = eng.run<std::string>("lookupUser", std::int64_t{-4});
  REQUIRE_FALSE(out);
  CHECK(to_string(out.error()).find("no user -4") != std::string::npos);
  REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v3")));
  REQUIRE_FALSE(eng.run<std::string>("lookupUser", std::int64_t{-5}));
  eng.drain();
  CHECK(counts_of(eng, "v2").matches == 1); // v2's error reads "call to lookupUser@v1 failed: ..."
  CHECK(counts_of(eng, "v3").matches == 1); // v3 throws from the same effect
  CHECK(db.calls == 2);
  auto d = eng.divergences();
  CHECK(d.empty());
}

TEST_CASE("a candidate with a different output diverges on every run; the records name both sides",
          "[shadow][engine]") {
  temp_dir dir;
  user_db db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v3")));
  auto ids = serve(eng, 25);
  eng.drain();
  auto c = counts_of(eng, "v3");
  CHECK(c.runs == 25);
  CHECK(c.matches == 0);
  CHECK(c.divergences == 25);
  CHECK(db.calls == 25);
  auto d = eng.divergences("lookupUser");
  REQUIRE(d.size() == 25);
  std::set<std::uint64_t> tasks;
  for (auto& rec : d) {
    tasks.insert(rec.task);
    CHECK(rec.function == "lookupUser");
    CHECK(rec.primary_version == "v1");
    CHECK(rec.candidate_version == "v3");
    CHECK(rec.what == "output");
    CHECK(rec.position == -1);
    CHECK(rec.primary_side.rfind("output \"user", 0) == 0);
    CHECK(rec.candidate_side.rfind("output \"Dr. user", 0) == 0);
  }
  std::set<std::uint64_t> expected;
  for (auto id : ids)
    expected.insert(id.value());
  CHECK(tasks == expected);
  // The same answer as the primary would have had: the candidate saw the primary's draw.
  auto& one = d.front();
  auto primary = one.primary_side.substr(std::string{"output "}.size());
  CHECK(one.candidate_side == "output \"Dr. " + primary.substr(1));
}

TEST_CASE("an effect the primary never made is a divergence and is not executed",
          "[shadow][engine]") {
  temp_dir dir;
  user_db db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());

  SECTION("a different request") {
    REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v4")));
    auto ids = serve(eng, 5);
    eng.drain();
    CHECK(db.calls == 5);
    CHECK(std::none_of(db.asked.begin(), db.asked.end(), [](auto id) { return id >= 1000; }));
    auto d = eng.divergences("lookupUser");
    REQUIRE(d.size() == 5);
    auto user0 = std::find_if(d.begin(), d.end(),
                              [&](auto& rec) { return rec.task == ids.front().value(); });
    REQUIRE(user0 != d.end());
    auto& rec = *user0;
    CHECK(rec.what == "different request");
    CHECK(rec.position == 0);
    CHECK(rec.primary_side == "effect db.get {0} -> \"user0\"");
    CHECK(rec.candidate_side == "effect db.get {1000}");
  }
  SECTION("an extra effect after the primary's last") {
    REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v5")));
    serve(eng, 5);
    eng.drain();
    CHECK(db.calls == 5);
    auto d = eng.divergences("lookupUser");
    REQUIRE(d.size() == 5);
    CHECK(d.front().what == "extra effect");
    CHECK(d.front().position == 3);
    CHECK(d.front().primary_side == "(none: the recording made 3 effects)");
    CHECK(d.front().candidate_side.rfind("effect db.get {", 0) == 0);
  }
  SECTION("fewer effects than the primary") {
    REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v6")));
    serve(eng, 5);
    eng.drain();
    auto d = eng.divergences("lookupUser");
    REQUIRE(d.size() == 5);
    CHECK(d.front().what == "missing effect");
    CHECK(d.front().position == 1);
    CHECK(d.front().primary_side.rfind("now ", 0) == 0);
    CHECK(d.front().candidate_side.find("ended after 1 effect") != std::string::npos);
  }
  auto c = eng.shadow_stats();
  REQUIRE(c.size() == 1);
  CHECK(c.front().divergences == 5);
  CHECK(c.front().matches == 0);
}

TEST_CASE("a candidate that throws or exceeds its time bound diverges; the caller gets the primary's "
          "output",
          "[shadow][engine]") {
  temp_dir dir;
  user_db db;
  auto cfg = test::config_for(dir.file("j.db"));
  cfg.shadow_timeout = 50ms;
  engine eng{cfg, make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());

  SECTION("throws") {
    REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v7")));
    serve(eng, 3);
    eng.drain();
    auto d = eng.divergences("lookupUser");
    REQUIRE(d.size() == 3);
    CHECK(d.front().what == "error");
    CHECK(d.front().position == 1); // where the primary went on to read the clock
    CHECK(d.front().candidate_side.rfind("error: v7 cannot format user", 0) == 0);
    CHECK(d.front().candidate_side.find("(after 1 effect)") != std::string::npos);
    CHECK(d.front().primary_side.rfind("now ", 0) == 0);
  }
  SECTION("exceeds the time bound") {
    REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v8")));
    serve(eng, 2);
    eng.drain();
    auto d = eng.divergences("lookupUser");
    REQUIRE(d.size() == 2);
    CHECK(d.front().what == "timeout");
    CHECK(d.front().position == 0);
    CHECK(d.front().primary_side == "(a run may use 50 ms of CPU time)");
    CHECK(d.front().candidate_side.rfind("(used ", 0) == 0);
  }
  CHECK(db.calls == static_cast<int>(eng.stats().completed)); // one per primary, none for shadows
}

TEST_CASE("the caller never waits for the shadow run", "[shadow][engine]") {
  temp_dir dir;
  user_db db;
  static std::atomic<bool> released{false};
  static std::atomic<bool> shadow_started{false};
  released = false;
  shadow_started = false;
  auto held = [](ctx& cx, std::int64_t uid) -> task<std::string> {
    shadow_started = true;
    // Spins until the test releases it, which the test does only after the caller got its answer.
    auto give_up = std::chrono::steady_clock::now() + 60s;
    while (!released && std::chrono::steady_clock::now() < give_up)
      std::this_thread::yield();
    auto out = co_await lookup_v1(cx, uid);
    co_return out;
  };
  auto routes = make_routes();
  routes.add("lookupUser", "held", held);
  engine eng{test::config_for(dir.file("j.db")), routes, db.fx()};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "held")));
  auto out = eng.run<std::string>("lookupUser", std::int64_t{7});
  REQUIRE(out);
  CHECK(released == false);
  released = true;
  eng.drain();
  CHECK(shadow_started);
  auto c = counts_of(eng, "held");
  CHECK(c.runs == 1);
  CHECK(c.matches == 1);
}

TEST_CASE("a shadowed call inside a tree is compared on its own subtree", "[shadow][engine]") {
  temp_dir dir;
  user_db db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v3")));
  auto id = eng.start("handle", std::int64_t{5});
  REQUIRE(id);
  auto out = eng.wait<std::string>(*id);
  REQUIRE(out);
  CHECK(out->rfind("[user5#", 0) == 0);
  eng.drain();
  auto kids = eng.journal()->children(id->value());
  REQUIRE(kids);
  REQUIRE(kids->size() == 1);
  CHECK(kids->front().route == "shadow v3");
  auto d = eng.divergences("lookupUser");
  REQUIRE(d.size() == 1);
  CHECK(d.front().task == kids->front().id); // the child's run, not the root's
  CHECK(d.front().what == "output");
  CHECK(db.calls == 1);
}

TEST_CASE("divergences are durable in the journal file", "[shadow][engine]") {
  temp_dir dir;
  user_db db;
  auto path = dir.file("j.db");
  {
    engine eng{test::config_for(path), make_routes(), db.fx()};
    REQUIRE_FALSE(eng.status());
    REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v3")));
    serve(eng, 3);
  } // the destructor drains, shadow runs included
  eventlog::journal_options opts;
  opts.path = path;
  opts.read_only = true;
  auto j = eventlog::journal::open(opts);
  REQUIRE(j);
  auto d = (*j)->divergences("lookupUser");
  REQUIRE(d);
  CHECK(d->size() == 3);
}

TEST_CASE("a shadow candidate must take and return the primary's types; without a journal nothing "
          "is shadowed",
          "[shadow][engine]") {
  temp_dir dir;
  user_db db;
  SECTION("types") {
    engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
    REQUIRE_FALSE(eng.status());
    auto bad = eng.set_policy("lookupUser", policy::shadow("v1", "number"));
    REQUIRE_FALSE(bad);
    auto msg = to_string(bad.error());
    CHECK(msg.find("'number' returns long") != std::string::npos);
    CHECK(msg.find("primary 'v1' returns std::") != std::string::npos);
    CHECK(eng.routing().policy_of("lookupUser") == nullptr);
  }
  SECTION("beyond max_shadow_runs a primary is not shadowed, and counted as skipped") {
    auto cfg = test::config_for(dir.file("j.db"));
    cfg.max_shadow_runs = 0;
    engine eng{cfg, make_routes(), db.fx()};
    REQUIRE_FALSE(eng.status());
    REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v3")));
    serve(eng, 4);
    eng.drain();
    auto c = counts_of(eng, "v3");
    CHECK(c.skipped == 4);
    CHECK(c.runs == 0);
    CHECK(eng.divergences("lookupUser").empty());
  }
  SECTION("journal off") {
    auto cfg = test::config_for(dir.file("j.db"));
    cfg.journal_enabled = false;
    engine eng{cfg, make_routes(), db.fx()};
    REQUIRE_FALSE(eng.status());
    REQUIRE(eng.set_policy("lookupUser", policy::shadow("v1", "v3")));
    serve(eng, 3);
    eng.drain();
    CHECK(eng.shadow_stats().empty());
    CHECK(eng.divergences("lookupUser").empty()); // nothing recorded, nothing to read
  }
}

TEST_CASE("a shadowed task resumed after a crash is shadowed once it ends, against its whole journal",
          "[shadow][engine][resume]") {
  temp_dir dir;
  user_db db;
  auto path = dir.file("j.db");
  const std::uint64_t id = 0x1234abcd;
  {
    // What an engine had journaled before it died: lookupUser@v1 routed "shadow <candidate>", its first
    // effect answered, nothing after.
    auto j = eventlog::journal::open({.path = path});
    REQUIRE(j);
    (*j)->append_task(test::root_record<std::int64_t>(id, "lookupUser", "shadow v3"),
                      to_bytes(std::int64_t{9}), "9");
    (*j)->append(eventlog::event{.task = id, .seq = 1, .kind = eventlog::event_kind::effect,
                                 .name = "db.get", .request = to_bytes(db_get{9}),
                                 .result = to_bytes(std::string{"journaled9"}),
                                 .text = "{9} -> \"journaled9\""});
    REQUIRE_FALSE((*j)->flush());
  }
  engine eng{test::config_for(path), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());
  auto out = eng.wait<std::string>(task_id{id});
  REQUIRE(out);
  CHECK(out->rfind("journaled9#", 0) == 0); // the journaled answer, not a live "user9"
  eng.drain();
  CHECK(db.calls == 0); // the resumed primary replayed db.get; the shadow run executed nothing
  auto c = counts_of(eng, "v3");
  CHECK(c.runs == 1);
  CHECK(c.divergences == 1);
  auto d = eng.divergences("lookupUser");
  REQUIRE(d.size() == 1);
  CHECK(d.front().task == id);
  CHECK(d.front().what == "output");
  CHECK(d.front().candidate_side.rfind("output \"Dr. journaled9#", 0) == 0);
}
