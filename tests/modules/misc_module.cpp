// A test module whose registration does what the environment variable ACTORS_TEST_MODULE_MODE says, so
// that one build (a real shared object, really dlopen'ed) covers every kind of bad registration:
//   (unset) | ok     echo v1
//   throw            throws std::runtime_error        throw_other   throws an int
//   empty            registers nothing                bad_name      a function name with a newline
//   bad_version      a version with '@'               duplicate     echo v1 twice
//   effect_clash     two effect types named "misc.same"
//   wrong_input      lookupUser v8 taking std::string     wrong_output  lookupUser v9 returning std::string
//   anon_type        anonType v2 taking a type from an anonymous namespace
//   waiter           wait v2: receives a number, then returns (a task that stays open while a test
//                    tries to unload the module)
// Built three times: with the right stamp, and with a wrong libactors minor version or string ABI
// (ACTORS_TESTING_MODULE_STAMP_MINOR / ACTORS_TESTING_MODULE_STAMP_CXX11_ABI).

#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include <actors/ctx.hpp>
#include <actors/module.hpp>

#include "shop_types.hpp"

namespace {

struct local_input { // internal linkage: never the same type as another TU's local_input
  std::int64_t x = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & x;
  }
};

struct same_a {
  using result_type = int;
  static constexpr const char* name = "misc.same";
  int x = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & x;
  }
};

struct same_b {
  using result_type = int;
  static constexpr const char* name = "misc.same";
  int y = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & y;
  }
};

actors::task<std::string> echo(actors::ctx&, std::string s) {
  co_return s;
}

actors::task<shop::user> lookup_by_name(actors::ctx&, std::string name) {
  co_return shop::user{1, name};
}

actors::task<std::string> lookup_as_text(actors::ctx&, std::int64_t uid) {
  co_return std::to_string(uid);
}

actors::task<std::int64_t> anon_type(actors::ctx&, local_input in) {
  co_return in.x;
}

actors::task<std::string> wait_v2(actors::ctx& cx, std::string who) {
  auto n = co_await cx.receive<std::int64_t>();
  co_return "v2 " + who + " " + std::to_string(n);
}

} // namespace

ACTORS_MODULE(misc) {
  const char* env = std::getenv("ACTORS_TEST_MODULE_MODE");
  std::string_view mode = env != nullptr ? env : "ok";
  if (mode == "ok")
    m.add("echo", "v1", echo);
  else if (mode == "throw")
    throw std::runtime_error("misc: registration fails on purpose");
  else if (mode == "throw_other")
    throw 42;
  else if (mode == "empty")
    return;
  else if (mode == "bad_name")
    m.add("bad\nname", "v1", echo);
  else if (mode == "bad_version")
    m.add("echo", "v@1", echo);
  else if (mode == "duplicate")
    m.add("echo", "v1", echo).add("echo", "v1", echo);
  else if (mode == "effect_clash")
    m.handle<same_a>([](const same_a& a) { return a.x; }).handle<same_b>([](const same_b& b) {
      return b.y;
    });
  else if (mode == "wrong_input")
    m.add("lookupUser", "v8", lookup_by_name);
  else if (mode == "wrong_output")
    m.add("lookupUser", "v9", lookup_as_text);
  else if (mode == "anon_type")
    m.add("anonType", "v2", anon_type);
  else if (mode == "waiter")
    m.add("wait", "v2", wait_v2);
  else
    throw std::invalid_argument("misc: unknown ACTORS_TEST_MODULE_MODE");
}
