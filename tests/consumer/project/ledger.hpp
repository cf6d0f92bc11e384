// The effect of both consumer programs: an aggregate with a std::string, exactly as DESIGN.md §9 shows
// user effects, and a handler for it.
#pragma once

#include <actors/actors.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

struct fetch_balance {
  using result_type = std::int64_t;
  static constexpr const char* name = "ledger.fetch";
  std::string id;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & id;
  }
};

/// The ledger: an account's balance is 100 times the length of its id.
inline actors::effects ledger_effects() {
  actors::effects fx;
  fx.handle<fetch_balance>(
    [](const fetch_balance& q) { return static_cast<std::int64_t>(q.id.size()) * 100; });
  return fx;
}

/// Runs "balance" on an id longer than std::string's small buffer (a double free hits the heap).
/// Returns the process's exit status: 0 iff the balance is right.
inline int check_balance(actors::engine& eng, const char* who) {
  std::string id = "account-" + std::string(40, '7');
  auto b = eng.run<std::int64_t>("balance", id);
  if (!b) {
    std::fprintf(stderr, "%s: balance failed: %s\n", who, to_string(b.error()).c_str());
    return 1;
  }
  auto want = static_cast<std::int64_t>(id.size()) * 100;
  if (*b != want) {
    std::fprintf(stderr, "%s: expected balance %lld, got %lld\n", who, static_cast<long long>(want),
                 static_cast<long long>(*b));
    return 1;
  }
  std::printf("%s: balance(%s) = %lld\n", who, id.c_str(), static_cast<long long>(*b));
  return 0;
}
