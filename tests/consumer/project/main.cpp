// Smallest application of the installed libactors, written as DESIGN.md §9 and the README show it: a
// coroutine task that calls a task performing a user effect whose struct holds a std::string, run on an
// in-memory journal. The effect is performed as `cx.perform<fetch_balance>(id)` (built inside libactors),
// the spelling that is safe on every supported compiler, GCC 12 included (README, "Compiler notes").
// Then opens a module built against the package (ledger_module.cpp, module_check.cpp). Exits 0 iff
// both tasks return what they should and the module loads and answers.
#include <actors/actors.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "ledger.hpp"

int check_module(const char* path); // module_check.cpp

actors::task<std::int64_t> twice(actors::ctx& cx, std::int64_t x) {
  co_await cx.log("twice {}", x);
  co_return 2 * x;
}

actors::task<std::int64_t> balance(actors::ctx& cx, std::string id) {
  co_await cx.log("balance of {}", id);
  co_return co_await cx.perform<fetch_balance>(id);
}

int main() {
  actors::router routes;
  routes.add("twice", "v1", twice).add("balance", "v1", balance);
  actors::engine_config cfg;
  cfg.journal = ":memory:";
  actors::engine eng{cfg, routes, ledger_effects()};

  auto r = eng.run<std::int64_t>("twice", std::int64_t{21});
  if (!r) {
    std::fprintf(stderr, "consumer: run failed: %s\n", to_string(r.error()).c_str());
    return 1;
  }
  if (*r != 42) {
    std::fprintf(stderr, "consumer: expected 42, got %lld\n", static_cast<long long>(*r));
    return 1;
  }
  std::printf("consumer: twice(21) = %lld\n", static_cast<long long>(*r));
  if (int status = check_balance(eng, "consumer"); status != 0)
    return status;
  return check_module(LEDGER_MODULE);
}
