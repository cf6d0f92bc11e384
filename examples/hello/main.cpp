// The README's twenty-line example, verbatim: built and run by the test suite so the README stays true.
#include <actors/actors.hpp>
#include <iostream>

struct db_get {                                    // a user effect: db.get :: id -> name
  using result_type = std::string;
  static constexpr const char* name = "db.get";
  std::int64_t id;
  template <class Ar> void serialize(Ar& ar, unsigned) { ar & id; }
};

actors::task<std::string> lookup_user(actors::ctx& cx, std::int64_t uid) {
  co_await cx.log("lookup {}", uid);               // journaled, never compared
  co_return co_await cx.perform<db_get>(uid);      // runs the handler once, ever
}

actors::task<std::string> greet(actors::ctx& cx, std::int64_t uid) {
  auto name = co_await cx.call<std::string>("lookupUser", uid);   // a child task: its own actor
  co_return "hello " + name;
}

int main() {
  actors::router routes;
  routes.add("greet", "v1", greet).add("lookupUser", "v1", lookup_user);
  actors::effects fx;
  fx.handle<db_get>([](const db_get& q) { return "user" + std::to_string(q.id); });
  actors::engine eng{actors::engine_config{}, routes, fx};           // journal: ./actors.db
  auto page = eng.run<std::string>("greet", 42);                     // caf::expected<std::string>
  std::cout << (page ? *page : actors::describe(page.error())) << "\n";  // "hello user42"
  return page ? 0 : 1;
}
