// The journal matcher (libactors/src/continuation/journal_match.hpp) without actors: each field of each
// op kind, each mismatch's words, the renderings of both sides.

#include <set>
#include <string>

#include <catch2/catch.hpp>

#include <actors/detail/op.hpp>
#include <actors/eventlog/event.hpp>

#include "continuation/journal_match.hpp"

using namespace actors::detail;
using actors::eventlog::event;
using actors::eventlog::event_kind;

namespace {

static_assert(event_kind_of(op_kind::send) == event_kind::send);
static_assert(event_kind_of(op_kind::receive) == event_kind::receive);
static_assert(event_kind_of(op_kind::spawn) == event_kind::spawn);
static_assert(op_kinds_equal_event_kinds());

op asked(op_kind k, std::string name = {}, std::string request = {}) {
  op o;
  o.kind = k;
  o.name = std::move(name);
  o.request = std::move(request);
  return o;
}

event journaled(event_kind k, std::string name = {}, std::string request = {}) {
  event ev;
  ev.kind = k;
  ev.name = std::move(name);
  ev.request = std::move(request);
  return ev;
}

/// The words of the first difference, or "" for a match.
std::string diff(const op& o, const event& ev, fields which = fields::all) {
  auto m = match(o, view(ev), which);
  return m.ok() ? std::string{} : std::string{m.diff->what};
}

} // namespace

TEST_CASE("every field has its own words", "[match]") {
  std::set<std::string_view> seen;
  for (auto f : {field::kind, field::effect, field::request, field::bound, field::duration,
                 field::recipient, field::message, field::message_type, field::timeout,
                 field::function, field::pinned_version, field::input, field::child})
    CHECK(seen.insert(words(f)).second);
  CHECK(seen.size() == 13);
  CHECK(words(field::recipient) == "different recipient");
  CHECK(words(field::message_type) == "different message type");
}

TEST_CASE("the kind is compared first, for every kind", "[match]") {
  CHECK(diff(asked(op_kind::now), journaled(event_kind::now)).empty());
  CHECK(diff(asked(op_kind::now), journaled(event_kind::random)) == "different kind of effect");
  CHECK(diff(asked(op_kind::effect, "db.get", "x"), journaled(event_kind::sleep, "db.get", "x")) ==
        "different kind of effect");
  CHECK(diff(asked(op_kind::send, "t", "m"), journaled(event_kind::receive, "t", "m")) ==
        "different kind of effect");
  CHECK(diff(asked(op_kind::call, "f"), journaled(event_kind::spawn, "f@v1")) ==
        "different kind of effect");
  for (auto k : all_op_kinds) {
    CHECK(diff(asked(k), journaled(event_kind_of(k))).empty());
    CHECK(diff(asked(k), journaled(event_kind::cancelled)) == "different kind of effect");
  }
}

TEST_CASE("effects compare their name, then their request", "[match]") {
  CHECK(diff(asked(op_kind::effect, "db.get", "1"), journaled(event_kind::effect, "db.get", "1")).empty());
  CHECK(diff(asked(op_kind::effect, "db.put", "1"), journaled(event_kind::effect, "db.get", "1")) ==
        "different effect");
  CHECK(diff(asked(op_kind::effect, "db.get", "2"), journaled(event_kind::effect, "db.get", "1")) ==
        "different request");
  CHECK(diff(asked(op_kind::effect, "db.put", "2"), journaled(event_kind::effect, "db.get", "1")) ==
        "different effect"); // the first field that differs
}

TEST_CASE("random compares its bound, sleep its duration", "[match]") {
  auto n10 = encode_u64(10), n20 = encode_u64(20);
  CHECK(diff(asked(op_kind::random, {}, n10), journaled(event_kind::random, {}, n10)).empty());
  CHECK(diff(asked(op_kind::random, {}, n20), journaled(event_kind::random, {}, n10)) ==
        "different bound");
  CHECK(diff(asked(op_kind::sleep, {}, n10), journaled(event_kind::sleep, {}, n10)).empty());
  CHECK(diff(asked(op_kind::sleep, {}, n20), journaled(event_kind::sleep, {}, n10)) ==
        "different duration");
}

TEST_CASE("a send compares its recipient, then its message", "[match]") {
  auto o = asked(op_kind::send, "1a2b000000000001", "m1");
  CHECK(diff(o, journaled(event_kind::send, "1a2b000000000001", "m1")).empty());
  CHECK(diff(o, journaled(event_kind::send, "3c4d000000000002", "m1")) == "different recipient");
  CHECK(diff(o, journaled(event_kind::send, "1a2b000000000001", "m2")) == "different message");
  o.type = "long"; // the type is not journaled with the send: not compared
  CHECK(diff(o, journaled(event_kind::send, "1a2b000000000001", "m1")).empty());
}

TEST_CASE("a receive compares its message type, then its timeout", "[match]") {
  auto none = encode_u64(static_cast<std::uint64_t>(std::int64_t{-1}));
  auto t20 = encode_u64(20'000'000);
  CHECK(diff(asked(op_kind::receive, "long", none), journaled(event_kind::receive, "long", none)).empty());
  CHECK(diff(asked(op_kind::receive, "std::string", none),
             journaled(event_kind::receive, "long", none)) == "different message type");
  CHECK(diff(asked(op_kind::receive, "long", t20), journaled(event_kind::receive, "long", none)) ==
        "different timeout");
}

TEST_CASE("a join compares the child it waits for", "[match]") {
  CHECK(diff(asked(op_kind::join, "1a2b000000000001"), journaled(event_kind::join, "1a2b000000000001"))
          .empty());
  CHECK(diff(asked(op_kind::join, "1a2b000000000001"),
             journaled(event_kind::join, "3c4d000000000002")) == "different child");
}

TEST_CASE("calls and spawns compare function, pinned version and input; the input in a step of its own",
          "[match]") {
  for (auto [ok, ek] : {std::pair{op_kind::call, event_kind::call},
                        std::pair{op_kind::spawn, event_kind::spawn}}) {
    INFO(actors::eventlog::to_string(ek));
    auto started = journaled(ek, "lookup@v1", "in");
    CHECK(diff(asked(ok, "lookup", "in"), started).empty());
    CHECK(diff(asked(ok, "other", "in"), started) == "different function");
    CHECK(diff(asked(ok, "lookup", "other input"), started) == "different input");

    // Pinned: compared with the version the journal ran; unpinned calls route freely.
    auto pinned = asked(ok, "lookup", "in");
    pinned.version = "v2";
    CHECK(diff(pinned, started) == "different pinned version");
    pinned.version = "v1";
    CHECK(diff(pinned, started).empty());

    // Two steps, as resume compares: identity before preparing the call, then its input.
    auto unprepared = asked(ok, "lookup"); // no input encoded yet
    CHECK(diff(unprepared, started, fields::identity).empty());
    CHECK(diff(unprepared, started, fields::input) == "different input");
    CHECK(diff(asked(ok, "other", "in"), started, fields::input).empty()); // only the input
    CHECK(diff(asked(ok, "other", "in"), started, fields::identity) == "different function");

    // A call that never started (it failed to route) journaled neither a version nor an input.
    auto never = journaled(ek, "lookup");
    CHECK(journaled_version(view(never)).empty());
    pinned.version = "v9";
    CHECK(diff(pinned, never).empty());
    CHECK(diff(asked(ok, "other"), never) == "different function");
  }
  CHECK(journaled_version(view(journaled(event_kind::spawn, "a@b@v3"))) == "v3");
  CHECK(journaled_version(view(journaled(event_kind::effect, "x@y"))).empty());
}

TEST_CASE("fields::input compares nothing for kinds without an input", "[match]") {
  CHECK(diff(asked(op_kind::effect, "a", "1"), journaled(event_kind::effect, "b", "2"), fields::input)
          .empty());
  CHECK(diff(asked(op_kind::effect, "a", "1"), journaled(event_kind::effect, "b", "2"),
             fields::identity) == "different effect");
}

TEST_CASE("a cancelled mark stops the spawned child it stands for, and only that one", "[match]") {
  journaled_op mark{.kind = event_kind::cancelled, .name = "slow", .task = 7};
  CHECK(match_cancelled(asker{7, "slow", true}, mark).ok());
  auto words_of = [&](asker who) {
    auto m = match_cancelled(who, mark);
    return m.ok() ? std::string{} : std::string{m.diff->what};
  };
  CHECK(words_of(asker{7, "quick", true}) == "different function");
  CHECK(words_of(asker{8, "slow", true}) == "different kind of effect");  // another child
  CHECK(words_of(asker{7, "slow", false}) == "different kind of effect"); // called, not spawned
}

TEST_CASE("both sides render the compared fields in the same shape", "[match]") {
  auto send = asked(op_kind::send, "3c4d000000000002", "bytes");
  send.text = "5";
  send.type = "long";
  CHECK(describe_asked(send) == "send 5 -> task 3c4d000000000002 (long)");
  auto sent = journaled(event_kind::send, "1a2b000000000001", "bytes");
  sent.text = "5 -> task 1a2b000000000001 (long)";
  CHECK(describe_journaled(view(sent)) == "send 5 -> task 1a2b000000000001 (long)");

  auto recv = asked(op_kind::receive, "std::string", encode_u64(20'000'000));
  recv.text = "timeout 20 ms";
  CHECK(describe_asked(recv) == "receive std::string (timeout 20 ms)");
  auto got = journaled(event_kind::receive, "long", encode_u64(20'000'000));
  got.result = "\1x";
  got.text = "5 (from outside)";
  CHECK(describe_journaled(view(got)) == "receive long (timeout 20 ms) -> 5 (from outside)");
  got.result = std::string(1, '\0');
  got.request = encode_u64(static_cast<std::uint64_t>(std::int64_t{-1}));
  CHECK(describe_journaled(view(got)) == "receive long (no timeout) -> timed out");

  auto fx = asked(op_kind::effect, "db.get", "b");
  fx.text = "{4}";
  CHECK(describe_asked(fx) == "effect db.get {4}");
  auto done = journaled(event_kind::effect, "db.get", "a");
  done.text = "{3} -> \"user3\"";
  CHECK(describe_journaled(view(done)) == "effect db.get {3} -> \"user3\"");

  auto r = asked(op_kind::random, {}, encode_u64(10));
  r.text = "10";
  CHECK(describe_asked(r) == "random [0, 10)");
  auto drawn = journaled(event_kind::random, {}, encode_u64(20));
  drawn.text = "[0, 20) -> 3";
  CHECK(describe_journaled(view(drawn)) == "random [0, 20) -> 3");
  CHECK(describe_asked(asked(op_kind::now)) == "now");

  auto call = asked(op_kind::spawn, "slow");
  call.text = "1";
  CHECK(describe_asked(call) == "spawn slow 1");
  auto spawned = journaled(event_kind::spawn, "fast@v1");
  spawned.text = "1 -> task 1a2b000000000001";
  CHECK(describe_journaled(view(spawned)) == "spawn fast@v1 1 -> task 1a2b000000000001");
}
