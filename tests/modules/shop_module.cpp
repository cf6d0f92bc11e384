// A test module, as an application writes one: lookupUser v2 (awaits an effect), greet v2 (pure, so a
// test can run it without an engine) and a handler for db.get. Built twice: SHOP_FIXED=0 is the first
// build, SHOP_FIXED=1 "the fixed build" of the same module (other strings, same name and versions).

#include <actors/ctx.hpp>
#include <actors/module.hpp>

#include "shop_types.hpp"

#ifndef SHOP_FIXED
#define SHOP_FIXED 0
#endif

namespace {

actors::task<shop::user> lookup_user_v2(actors::ctx& cx, std::int64_t uid) {
  auto u = co_await cx.perform<shop::db_get>(uid);
  co_return u;
}

actors::task<std::string> greet_v2(actors::ctx&, shop::user u) {
  std::string hello = SHOP_FIXED ? "Hello, " : "hello ";
  co_return hello + u.name;
}

} // namespace

ACTORS_MODULE(shop_v2) {
  m.add("lookupUser", "v2", lookup_user_v2).add("greet", "v2", greet_v2);
  m.handle<shop::db_get>([](const shop::db_get& q) {
    return shop::user{q.id, SHOP_FIXED ? "ada (fixed)" : "ada"};
  });
}
