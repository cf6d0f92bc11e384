// The spelling GCC 12 miscompiles: a temporary aggregate effect with a std::string inside co_await
// (GCC 12 destroys it twice: "free(): invalid pointer"). On GCC < 13 this file must NOT compile: the
// installed headers refuse it with an error at the line below that names the type and the fix. On other
// compilers it must compile and run correctly. ../run_consumer.cmake checks both.
#include <actors/actors.hpp>

#include <cstdint>
#include <string>

#include "ledger.hpp"

actors::task<std::int64_t> balance(actors::ctx& cx, std::string id) {
  co_return co_await cx.perform(fetch_balance{id}); // REFUSED-ON-GCC12
}

int main() {
  actors::router routes;
  routes.add("balance", "v1", balance);
  actors::engine_config cfg;
  cfg.journal = ":memory:";
  actors::engine eng{cfg, routes, ledger_effects()};
  return check_balance(eng, "temporary_effect");
}
