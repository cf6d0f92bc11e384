// Smallest application of the installed libactors: one coroutine task, run once on an in-memory journal.
// Uses only the DESIGN.md §9 contract; exits 0 iff the task returns 42.
#include <actors/actors.hpp>

#include <cstdint>
#include <cstdio>

actors::task<std::int64_t> twice(actors::ctx& cx, std::int64_t x) {
  co_await cx.log("twice {}", x);
  co_return 2 * x;
}

int main() {
  actors::router routes;
  routes.add("twice", "v1", twice);

  actors::effects fx;
  actors::engine_config cfg;
  cfg.journal = ":memory:";
  actors::engine eng{cfg, routes, fx};

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
  return 0;
}
