// A module built against the installed package with actors_add_module() and -Wall -Wextra -Werror
// (<actors/module.hpp>): a version of "twice" that performs the ledger effect, and its handler.
#include <actors/module.hpp>

#include <cstdint>
#include <string>

#include "ledger.hpp"

namespace {

actors::task<std::int64_t> twice_v2(actors::ctx& cx, std::int64_t x) {
  auto extra = co_await cx.perform<fetch_balance>(std::string{"abcde"});
  co_return x + x + extra;
}

} // namespace

ACTORS_MODULE(ledger_v2) {
  m.add("twice", "v2", twice_v2);
  m.handle<fetch_balance>([](const fetch_balance& q) { return static_cast<std::int64_t>(q.id.size()); });
}
