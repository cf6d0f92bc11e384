// The spellings of an effect (README, "Compiler notes"; DESIGN-NOTES §5): `cx.perform<E>(args...)`
// builds the effect inside libactors and keeps it in the awaiter — safe on every compiler, GCC 12
// included, for an aggregate with std::string members. What GCC 12 refuses at compile time is proven by
// tests/consumer (a translation unit that must not compile there).

#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::temp_dir;

namespace {

/// The effect of the issue: an aggregate holding std::strings, as DESIGN §9 shows effects.
struct fetch_balance {
  using result_type = std::int64_t;
  static constexpr const char* name = "ledger.fetch";
  std::string id;
  std::string currency;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & id & currency;
  }
};

/// A ledger: the balance of an account is the length of its id times 100; it records every request.
struct ledger {
  std::mutex mx;
  std::vector<std::string> requests;
  effects fx() {
    effects e;
    e.handle<fetch_balance>([this](const fetch_balance& q) {
      std::lock_guard guard{mx};
      requests.push_back(q.id + "/" + q.currency);
      return static_cast<std::int64_t>(q.id.size() * 100);
    });
    return e;
  }
};

// Long ids: a std::string beyond the small-string buffer, so a double free would hit the heap.
std::string account(std::int64_t n) {
  return "account-" + std::string(40, 'x') + "-" + std::to_string(n);
}

task<std::int64_t> balance(ctx& cx, std::int64_t n) {
  auto id = account(n);
  co_return co_await cx.perform<fetch_balance>(id, "EUR");
}

// Two effects, the second's arguments temporaries built in the co_await statement (std::strings: not
// aggregates, so fine on GCC 12 too).
task<std::int64_t> two_balances(ctx& cx, std::int64_t n) {
  auto a = co_await cx.perform<fetch_balance>(account(n), std::string{"EUR"});
  auto b = co_await cx.perform<fetch_balance>(account(n + 1), "USD");
  co_return a + b;
}

// The awaiter moved before it is awaited: the effect it renders is the one it holds when awaited.
task<std::int64_t> moved_awaiter(ctx& cx, std::int64_t n) {
  auto first = cx.perform<fetch_balance>(account(n + 1), "CHF");
  auto moved = std::move(first);
  co_return co_await moved;
}

// A named effect: the spelling for a value built earlier.
task<std::int64_t> named(ctx& cx, std::int64_t n) {
  fetch_balance q{account(n), "EUR"};
  co_return co_await cx.perform(q);
}

router make_routes() {
  router r;
  r.add("balance", "v1", balance)
    .add("balance", "moved", moved_awaiter)
    .add("balance", "named", named)
    .add("two", "v1", two_balances);
  return r;
}

} // namespace

TEST_CASE("cx.perform<E>(args...) runs an aggregate effect with std::string members once and journals "
          "it",
          "[effects][gcc12][engine]") {
  temp_dir dir;
  ledger db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());

  auto one = eng.run<std::int64_t>("balance", std::int64_t{7});
  REQUIRE(one);
  CHECK(*one == static_cast<std::int64_t>(account(7).size() * 100));
  auto two = eng.run<std::int64_t>("two", std::int64_t{8});
  REQUIRE(two);
  CHECK(*two == static_cast<std::int64_t>((account(8).size() + account(9).size()) * 100));
  auto named_id = eng.start("balance", std::int64_t{3}, version{"named"});
  REQUIRE(named_id);
  auto via_name = eng.wait<std::int64_t>(*named_id);
  REQUIRE(via_name);
  CHECK(*via_name == static_cast<std::int64_t>(account(3).size() * 100));

  std::lock_guard guard{db.mx};
  CHECK(db.requests == std::vector<std::string>{account(7) + "/EUR", account(8) + "/EUR",
                                                account(9) + "/USD", account(3) + "/EUR"});
}

TEST_CASE("a replay renders the effect cx.perform<E>(args...) holds, also after its awaiter was moved",
          "[effects][gcc12][replay][engine]") {
  temp_dir dir;
  ledger db;
  engine eng{test::config_for(dir.file("j.db")), make_routes(), db.fx()};
  REQUIRE_FALSE(eng.status());
  auto id = eng.start("balance", std::int64_t{5});
  REQUIRE(id);
  REQUIRE(eng.wait<std::int64_t>(*id));

  // The recorded version replays without a divergence (the effect is answered from the journal).
  auto same = eng.replay(*id);
  REQUIRE(same);
  CHECK_FALSE(same->diverged());

  // A version asking for another account departs at the effect; the replay renders the request from
  // the effect the awaiter holds (replays do not journal, so nothing was rendered before).
  auto r = eng.replay(*id, {.versions = {{"balance", "moved"}}});
  REQUIRE(r);
  REQUIRE(r->diverged());
  CHECK(r->divergence->what == "different request");
  CHECK(r->divergence->recorded.find(account(5)) != std::string::npos);
  CHECK(r->divergence->replayed.find(account(6)) != std::string::npos);
  CHECK(r->divergence->replayed.find("CHF") != std::string::npos);

  std::lock_guard guard{db.mx};
  CHECK(db.requests.size() == 1); // the replays ran no handler
}

#if !(defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13)
// Where the compiler is sound, the temporary spelling compiles and works (GCC 12 refuses it).
namespace {
task<std::int64_t> temporary_effect(ctx& cx, std::int64_t n) {
  co_return co_await cx.perform(fetch_balance{account(n), "EUR"});
}
} // namespace

TEST_CASE("on clang and GCC >= 13, cx.perform(E{...}) with an aggregate temporary works",
          "[effects][gcc12][engine]") {
  router r;
  r.add("temp", "v1", temporary_effect);
  temp_dir dir;
  ledger db;
  engine eng{test::config_for(dir.file("j.db")), r, db.fx()};
  REQUIRE_FALSE(eng.status());
  auto out = eng.run<std::int64_t>("temp", std::int64_t{2});
  REQUIRE(out);
  CHECK(*out == static_cast<std::int64_t>(account(2).size() * 100));
}
#endif

// The guard's verdicts (compile time): only an aggregate temporary with non-trivial members, only GCC 12.
namespace {
struct with_ctor {
  explicit with_ctor(std::string s) : id(std::move(s)) {}
  std::string id;
};
struct trivial {
  std::int64_t n = 0;
};
constexpr bool gcc12 =
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ < 13
  true;
#else
  false;
#endif
static_assert(detail::gcc12_aggregate_temporary<fetch_balance> == gcc12);
static_assert(detail::gcc12_aggregate_temporary<const fetch_balance> == gcc12);
static_assert(!detail::gcc12_aggregate_temporary<fetch_balance&>);
static_assert(!detail::gcc12_aggregate_temporary<const fetch_balance&>);
static_assert(!detail::gcc12_aggregate_temporary<with_ctor>);
static_assert(!detail::gcc12_aggregate_temporary<trivial>);
static_assert(!detail::gcc12_aggregate_temporary<std::string>);
static_assert(detail::no_gcc12_aggregate_temporary<std::string, trivial, fetch_balance&>);
static_assert(detail::is_exactly<fetch_balance, const fetch_balance&>);
static_assert(!detail::is_exactly<fetch_balance, std::string>);
} // namespace
