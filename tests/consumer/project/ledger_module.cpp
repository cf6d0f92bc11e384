// A module built against the installed package with actors_add_module() and -Wall -Wextra -Werror
// (<actors/module.hpp>): a version of "twice" and a handler of the ledger effect.
#include <actors/module.hpp>

#include <cstdint>
#include <string>

#include "ledger.hpp"

namespace {

actors::task<std::int64_t> twice_v2(actors::ctx&, std::int64_t x) {
  co_return x + x;
}

} // namespace

ACTORS_MODULE(ledger_v2) {
  m.add("twice", "v2", twice_v2);
  m.handle<fetch_balance>([](const fetch_balance& q) { return static_cast<std::int64_t>(q.id.size()); });
}
