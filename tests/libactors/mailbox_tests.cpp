// Mailboxes: ctx::send / ctx::receive / engine::send. Every message is a journal row before it can be
// received, every receive is journaled, so a resumed or replayed task receives the same messages.

#include <chrono>
#include <future>
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

/// Where a producer sends and how many numbers (1..n).
struct job {
  std::uint64_t to = 0;
  std::int64_t n = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & to & n;
  }
  bool operator==(const job&) const = default;
};

// Receives `n` numbers and returns sum(i * x_i): the order of the messages counts.
task<std::int64_t> collector(ctx& cx, std::int64_t n) {
  std::int64_t sum = 0;
  for (std::int64_t i = 1; i <= n; ++i)
    sum += i * co_await cx.receive<std::int64_t>();
  co_return sum;
}

// Holds at a gate first, then collects: lets a test fill its mailbox.
task<std::int64_t> late_collector(ctx& cx, std::int64_t n) {
  co_await cx.perform(gate{0});
  std::int64_t sum = 0;
  for (std::int64_t i = 1; i <= n; ++i)
    sum += i * co_await cx.receive<std::int64_t>();
  co_return sum;
}

// Sends 1..n to `j.to`.
task<std::int64_t> producer(ctx& cx, job j) {
  for (std::int64_t i = 1; i <= j.n; ++i)
    co_await cx.send(task_id{j.to}, i);
  co_return j.n;
}

// Waits at most `ms` for a number; -1 if none came.
task<std::int64_t> patient(ctx& cx, std::int64_t ms) {
  auto m = co_await cx.receive<std::int64_t>(std::chrono::milliseconds{ms});
  co_return m ? *m : -1;
}

// Expects a string; reports what the receive threw.
task<std::string> picky(ctx& cx, std::int64_t) {
  try {
    auto s = co_await cx.receive<std::string>();
    co_return "got " + s;
  } catch (const effect_error& e) {
    co_return std::string{e.what()};
  }
}

// Sends to a task that is not running; reports what the send threw.
task<std::string> stray(ctx& cx, std::int64_t to) {
  try {
    co_await cx.send(task_id{static_cast<std::uint64_t>(to)}, std::int64_t{1});
    co_return "sent";
  } catch (const effect_error& e) {
    co_return std::string{e.what()};
  }
}

router make_routes() {
  router r;
  r.add("collector", "v1", collector)
    .add("lateCollector", "v1", late_collector)
    .add("producer", "v1", producer)
    .add("patient", "v1", patient)
    .add("picky", "v1", picky)
    .add("stray", "v1", stray);
  return r;
}

std::vector<eventlog::event> events_of(engine& eng, task_id id, eventlog::event_kind kind) {
  auto evs = eng.journal()->events(id.value());
  REQUIRE(evs);
  std::vector<eventlog::event> out;
  for (auto& e : *evs)
    if (e.kind == kind)
      out.push_back(e);
  return out;
}

} // namespace

TEST_CASE("tasks exchange messages through journaled mailboxes, in send order", "[mailbox][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto c = eng.start("collector", std::int64_t{5});
  REQUIRE(c);
  auto p = eng.start("producer", job{c->value(), 5});
  REQUIRE(p);
  CHECK(*eng.wait<std::int64_t>(*p) == 5);
  CHECK(*eng.wait<std::int64_t>(*c) == 1 * 1 + 2 * 2 + 3 * 3 + 4 * 4 + 5 * 5);
  auto sends = events_of(eng, *p, eventlog::event_kind::send);
  auto receives = events_of(eng, *c, eventlog::event_kind::receive);
  REQUIRE(sends.size() == 5);
  REQUIRE(receives.size() == 5);
  for (std::size_t i = 0; i < 5; ++i)
    CHECK(receives[i].ref == sends[i].ref); // each receive names the message its send journaled
  auto pending = eng.journal()->pending_messages(c->value());
  REQUIRE(pending);
  CHECK(pending->empty());

  SECTION("replay receives the recorded messages without a producer") {
    auto r = eng.replay(*c);
    REQUIRE(r);
    CHECK_FALSE(r->diverged());
    CHECK(r->recorded_effects == 5);
  }
}

TEST_CASE("receive with a timeout gives up; engine::send reaches a waiting task", "[mailbox][engine]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto quiet = eng.start("patient", std::int64_t{20});
  REQUIRE(quiet);
  CHECK(*eng.wait<std::int64_t>(*quiet) == -1);
  auto timed_out = events_of(eng, *quiet, eventlog::event_kind::receive);
  REQUIRE(timed_out.size() == 1);
  CHECK(timed_out[0].ref == 0);
  CHECK(timed_out[0].text.find("timed out") != std::string::npos);

  auto waiting = eng.start("patient", std::int64_t{3'600'000}); // an hour: only a message ends it
  REQUIRE(waiting);
  REQUIRE(eng.send(*waiting, std::int64_t{42}));
  CHECK(*eng.wait<std::int64_t>(*waiting) == 42);
  // the replay of a timed-out receive times out at once
  auto r = eng.replay(*quiet);
  REQUIRE(r);
  CHECK_FALSE(r->diverged());
}

TEST_CASE("bad messages and bad recipients fail with errors naming them", "[mailbox][engine][errors]") {
  temp_dir dir;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  auto p = eng.start("picky", std::int64_t{0});
  REQUIRE(p);
  REQUIRE(eng.send(*p, std::int64_t{7}));
  auto what = eng.wait<std::string>(*p);
  REQUIRE(what);
  CHECK(what->find("received a message of type long") != std::string::npos);
  CHECK(what->find(", expected " + type_name<std::string>()) != std::string::npos);

  auto ended = eng.run<std::int64_t>("patient", std::int64_t{1});
  REQUIRE(ended);
  auto done = eng.start("patient", std::int64_t{1});
  REQUIRE(done);
  REQUIRE(eng.wait<std::int64_t>(*done));
  auto late = eng.send(*done, std::int64_t{1});
  REQUIRE_FALSE(late);
  CHECK(describe(late.error()).find("cannot send to task " + to_string(*done) +
                                    ": it is not running") != std::string::npos);
  auto unknown = eng.send(task_id{12345}, std::int64_t{1});
  REQUIRE_FALSE(unknown);
  CHECK(describe(unknown.error()).find("not_running") != std::string::npos);

  auto s = eng.run<std::string>("stray", static_cast<std::int64_t>(done->value()));
  REQUIRE(s);
  CHECK(*s == "effect 'send' failed: cannot send to task " + to_string(*done) + ": it is not running");
}

TEST_CASE("a bounded mailbox refuses outside senders when full and makes task senders wait",
          "[mailbox][engine]") {
  temp_dir dir;
  auto cfg = test::config_for(dir.file("j.db"));
  cfg.mailbox_capacity = 2;
  test::held_gates g;
  engine eng{cfg, make_routes(), g.fx()};
  REQUIRE_FALSE(eng.status());
  auto c = eng.start("lateCollector", std::int64_t{6});
  REQUIRE(c);
  g.wait_held(); // it will not receive before the gate opens
  REQUIRE(eng.send(*c, std::int64_t{1}));
  REQUIRE(eng.send(*c, std::int64_t{2}));
  auto full = eng.send(*c, std::int64_t{99});
  REQUIRE_FALSE(full);
  CHECK(describe(full.error()).find("mailbox_full") != std::string::npos);
  CHECK(describe(full.error()).find("(2 messages)") != std::string::npos);
  auto p = eng.start("producer", job{c->value(), 4}); // blocks at its first send until there is room
  REQUIRE(p);
  g.open();
  CHECK(*eng.wait<std::int64_t>(*p) == 4);
  // 1, 2 from outside, then the producer's 1..4, in that order
  CHECK(*eng.wait<std::int64_t>(*c) == 1 * 1 + 2 * 2 + 3 * 1 + 4 * 2 + 5 * 3 + 6 * 4);
  auto pending = eng.journal()->pending_messages(c->value());
  REQUIRE(pending);
  CHECK(pending->empty()); // the refused message was never journaled
}

TEST_CASE("a resumed task receives its journaled messages from the journal, then pending ones",
          "[mailbox][engine][resume]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  constexpr std::uint64_t id = 0x5150;
  {
    auto j = eventlog::journal::open({.path = path});
    REQUIRE(j);
    (*j)->append_task(test::root_record<std::int64_t>(id, "collector"), to_bytes(std::int64_t{4}), "4");
    auto msg = [&](std::uint64_t mid, std::int64_t x) {
      eventlog::message_record m;
      m.id = mid;
      m.target = id;
      m.type = type_name<std::int64_t>();
      m.payload = to_bytes(x);
      m.text = std::to_string(x);
      (*j)->append_message(m, eventlog::event{});
    };
    msg(100, 10);
    msg(101, 20);
    msg(102, 30); // pending: no receive refers to it
    for (std::uint32_t seq = 1; seq <= 2; ++seq)
      (*j)->append(eventlog::event{.task = id, .seq = seq, .kind = eventlog::event_kind::receive,
                                   .name = type_name<std::int64_t>(), .ref = 99 + seq,
                                   .request = detail::encode_u64(~std::uint64_t{0}),
                                   .result = "\1" + to_bytes(std::int64_t{seq * 10})});
    REQUIRE_FALSE((*j)->flush());
  }
  engine eng{test::config_for(path), make_routes(), effects{}};
  REQUIRE_FALSE(eng.status());
  REQUIRE(eng.send(task_id{id}, std::int64_t{40}));
  CHECK(*eng.wait<std::int64_t>(task_id{id}) == 1 * 10 + 2 * 20 + 3 * 30 + 4 * 40);
  auto receives = events_of(eng, task_id{id}, eventlog::event_kind::receive);
  REQUIRE(receives.size() == 4); // two replayed, two new: none received twice
  CHECK(receives[2].ref == 102);
}
