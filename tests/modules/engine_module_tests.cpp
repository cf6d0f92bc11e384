// Modules in a running engine (issue 16 part B, points 2 and 3): engine::load_module adds a module's
// versions and handlers, they are shadowed and promoted like any version, retired and drained, and
// engine::unload_module closes the library once nothing runs its code — then a fixed build of the same
// module loads in its place. Real dlopen of shared objects this build produces.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>

#include "modules/loaded_module.hpp"
#include "shop_types.hpp"

using namespace actors;
using actors::detail::is_library_loaded;
using namespace std::chrono_literals;

namespace {

task<shop::user> lookup_user_v1(ctx& cx, std::int64_t uid) {
  auto u = co_await cx.perform<shop::db_get>(uid);
  co_return u;
}

task<std::string> greet_v1(ctx&, shop::user u) {
  co_return "hi " + u.name;
}

router program() {
  router r;
  r.add("lookupUser", "v1", lookup_user_v1).add("greet", "v1", greet_v1);
  return r;
}

engine_config in_memory() {
  engine_config cfg;
  cfg.journal_enabled = false;
  return cfg;
}

const module_info* find_module(const std::vector<module_info>& ms, module_id id) {
  for (const auto& m : ms)
    if (m.id == id)
      return &m;
  return nullptr;
}

} // namespace

TEST_CASE("a module loaded into a running engine is routed to, drained and unloaded, then reloaded",
          "[modules][engine]") {
  const std::string path = ACTORS_TEST_SHOP_MODULE;
  REQUIRE_FALSE(is_library_loaded(path));
  {
    engine eng{in_memory(), program(), effects{}};
    REQUIRE_FALSE(eng.status());

    auto id = eng.load_module(path);
    REQUIRE(id);
    CHECK(is_library_loaded(path));
    auto ms = eng.modules();
    REQUIRE(ms.size() == 1);
    CHECK(ms[0].name == "shop_v2");
    CHECK(ms[0].content_hash.size() == 64);
    CHECK(ms[0].versions == std::vector<std::string>{"lookupUser@v2", "greet@v2"});
    auto vs = eng.versions("lookupUser");
    REQUIRE(vs.size() == 2);
    CHECK(vs[1].version == "v2");
    CHECK(vs[1].module == *id);

    // The program's version is the default; the module's handles db.get for both (the program has none).
    auto a = eng.start("lookupUser", std::int64_t{1});
    REQUIRE(a);
    CHECK(eng.wait<shop::user>(*a).value() == shop::user{1, "ada"});
    // Promoted: new work runs the module's coroutine.
    REQUIRE(eng.set_policy("lookupUser", policy::primary("v2")));
    auto b = eng.start("lookupUser", std::int64_t{2});
    REQUIRE(b);
    CHECK(eng.wait<shop::user>(*b).value() == shop::user{2, "ada"});
    auto g = eng.start("greet", shop::user{3, "cy"}, version{"v2"});
    REQUIRE(g);
    CHECK(eng.wait<std::string>(*g).value() == "hello cy");

    // Not while its versions are active.
    auto busy = eng.unload_module(*id);
    REQUIRE_FALSE(busy);
    CHECK(busy.error() == make_error(errc::module_in_use, ""));
    CHECK_THAT(describe(busy.error()), Catch::Contains("lookupUser@v2 is active (retire it first)") &&
                                         Catch::Contains("greet@v2 is active"));
    auto unknown = eng.unload_module(*id + 100);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error() == make_error(errc::unknown_module, ""));

    // Back to v1, retire the module's versions, unload: the library is closed.
    eng.clear_policy("lookupUser");
    REQUIRE(eng.retire("lookupUser", "v2"));
    REQUIRE(eng.retire("greet", "v2"));
    REQUIRE(eng.await_drained("lookupUser", "v2", 60s));
    REQUIRE(eng.await_drained("greet", "v2", 60s));
    REQUIRE(eng.unload_module(*id));
    CHECK(eng.modules().empty());
    CHECK(eng.versions("lookupUser").size() == 1);
    CHECK_FALSE(is_library_loaded(path));

    // More traffic without it: the program's version, and db.get has no handler any more.
    auto c = eng.start("lookupUser", std::int64_t{4});
    REQUIRE(c);
    auto without = eng.wait<shop::user>(*c);
    REQUIRE_FALSE(without);
    CHECK_THAT(describe(without.error()), Catch::Contains("db.get"));

    // The fixed build of the same module loads in its place.
    auto fixed = eng.load_module(ACTORS_TEST_SHOP_FIXED_MODULE);
    REQUIRE(fixed);
    CHECK(*fixed != *id);
    auto d = eng.start("lookupUser", std::int64_t{5}, version{"v2"});
    REQUIRE(d);
    CHECK(eng.wait<shop::user>(*d).value() == shop::user{5, "ada (fixed)"});
    auto e = eng.start("greet", shop::user{6, "di"}, version{"v2"});
    REQUIRE(e);
    CHECK(eng.wait<std::string>(*e).value() == "Hello, di");
    REQUIRE(find_module(eng.modules(), *fixed) != nullptr);
  } // the engine's end lets go of the fixed build too
  CHECK_FALSE(is_library_loaded(ACTORS_TEST_SHOP_FIXED_MODULE));
}

TEST_CASE("load_module refuses bad files and clashes, naming them, and leaves the engine as it was",
          "[modules][engine]") {
  engine eng{in_memory(), program(), effects{}};
  REQUIRE_FALSE(eng.status());

  auto missing = eng.load_module("/nonexistent/dir/shop.so");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == make_error(errc::module_not_found, ""));
  CHECK_THAT(describe(missing.error()), Catch::Contains("/nonexistent/dir/shop.so"));

  auto plain = eng.load_module(ACTORS_TEST_PLAIN_LIBRARY);
  REQUIRE_FALSE(plain);
  CHECK(plain.error() == make_error(errc::not_a_module, ""));

  auto old = eng.load_module(ACTORS_TEST_WRONG_VERSION_MODULE);
  REQUIRE_FALSE(old);
  CHECK(old.error() == make_error(errc::incompatible_module, ""));

  auto first = eng.load_module(ACTORS_TEST_SHOP_MODULE);
  REQUIRE(first);
  auto again = eng.load_module(ACTORS_TEST_SHOP_MODULE); // the same versions once more
  REQUIRE_FALSE(again);
  CHECK(again.error() == make_error(errc::version_exists, ""));
  CHECK_THAT(describe(again.error()), Catch::Contains("lookupUser") && Catch::Contains("'v2'"));
  CHECK(eng.modules().size() == 1);
  CHECK(eng.versions("lookupUser").size() == 2);
}

TEST_CASE("a module's effect handler may not replace the program's", "[modules][engine]") {
  effects fx;
  fx.handle<shop::db_get>([](const shop::db_get& q) { return shop::user{q.id, "program"}; });
  engine eng{in_memory(), program(), fx};
  REQUIRE_FALSE(eng.status());
  auto clash = eng.load_module(ACTORS_TEST_SHOP_MODULE);
  REQUIRE_FALSE(clash);
  CHECK(clash.error() == make_error(errc::invalid_module, ""));
  CHECK_THAT(describe(clash.error()),
             Catch::Contains("handles effect 'db.get', which already has a handler (the program's)"));
  CHECK(eng.versions("lookupUser").size() == 1); // nothing of it was added
  CHECK(eng.modules().empty());
  auto t = eng.start("lookupUser", std::int64_t{1});
  REQUIRE(t);
  CHECK(eng.wait<shop::user>(*t).value() == shop::user{1, "program"});
}

TEST_CASE("replaying a task whose version was unloaded says so and offers another version",
          "[modules][engine]") {
  auto dir = std::filesystem::temp_directory_path() /
             ("actors-module-replay-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  {
    engine_config cfg;
    cfg.journal = (dir / "journal.db").string();
    engine eng{cfg, program(), effects{}};
    REQUIRE_FALSE(eng.status());
    auto id = eng.load_module(ACTORS_TEST_SHOP_MODULE);
    REQUIRE(id);
    auto t = eng.start("lookupUser", std::int64_t{7}, version{"v2"});
    REQUIRE(t);
    CHECK(eng.wait<shop::user>(*t).value() == shop::user{7, "ada"});
    REQUIRE(eng.retire("lookupUser", "v2"));
    REQUIRE(eng.retire("greet", "v2"));
    REQUIRE(eng.await_drained("lookupUser", "v2", 60s));
    REQUIRE(eng.await_drained("greet", "v2", 60s));
    REQUIRE(eng.unload_module(*id));

    auto gone = eng.replay(*t);
    REQUIRE_FALSE(gone);
    CHECK(gone.error() == make_error(errc::unknown_version, ""));
    CHECK_THAT(describe(gone.error()), Catch::Contains("lookupUser@v2 is not registered") &&
                                         Catch::Contains("unloaded") &&
                                         Catch::Contains("--version lookupUser=v1"));
    // With the offered version, the journal answers its effect (db.get has no handler any more).
    replay_options opts;
    opts.versions["lookupUser"] = "v1";
    auto other = eng.replay(*t, opts);
    REQUIRE(other);
    CHECK_FALSE(other->divergence);
    CHECK(other->replayed_version == "v1");
  }
  std::filesystem::remove_all(dir);
}

namespace {

task<std::string> wait_v1(ctx& cx, std::string who) {
  auto n = co_await cx.receive<std::int64_t>();
  co_return "v1 " + who + " " + std::to_string(n);
}

} // namespace

TEST_CASE("unload_module is refused while a version of it is draining, naming its tasks",
          "[modules][engine]") {
  auto dir = std::filesystem::temp_directory_path() /
             ("actors-module-drain-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  {
    engine_config cfg;
    cfg.journal = (dir / "journal.db").string();
    router r;
    r.add("wait", "v1", wait_v1);
    engine eng{cfg, r, effects{}};
    REQUIRE_FALSE(eng.status());
    ::setenv("ACTORS_TEST_MODULE_MODE", "waiter", 1); // misc_module registers wait v2
    auto id = eng.load_module(ACTORS_TEST_MISC_MODULE);
    ::unsetenv("ACTORS_TEST_MODULE_MODE");
    REQUIRE(id);
    auto open_task = eng.start("wait", std::string{"x"}, version{"v2"});
    REQUIRE(open_task);
    REQUIRE(eng.retire("wait", "v2"));

    auto busy = eng.unload_module(*id);
    REQUIRE_FALSE(busy);
    CHECK(busy.error() == make_error(errc::module_in_use, ""));
    CHECK_THAT(describe(busy.error()), Catch::Contains("wait@v2 is draining (1 task: " +
                                                       to_string(*open_task) + ")"));
    CHECK(is_library_loaded(ACTORS_TEST_MISC_MODULE));

    REQUIRE(eng.send(*open_task, std::int64_t{3}));
    CHECK(eng.wait<std::string>(*open_task).value() == "v2 x 3"); // it ends on its version
    REQUIRE(eng.await_drained("wait", "v2", 60s));
    REQUIRE(eng.unload_module(*id));
    CHECK_FALSE(is_library_loaded(ACTORS_TEST_MISC_MODULE));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a module loaded through a symlink is the same library as its file", "[modules][engine]") {
  auto dir = std::filesystem::temp_directory_path() /
             ("actors-module-link-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  auto link = dir / "shop-current.so";
  std::filesystem::create_symlink(ACTORS_TEST_SHOP_MODULE, link);
  {
    engine eng{in_memory(), program(), effects{}};
    REQUIRE_FALSE(eng.status());
    auto id = eng.load_module(link.string());
    REQUIRE(id);
    CHECK(is_library_loaded(ACTORS_TEST_SHOP_MODULE)); // dlopen knows the file, whatever its name
    auto t = eng.start("lookupUser", std::int64_t{9}, version{"v2"});
    REQUIRE(t);
    CHECK(eng.wait<shop::user>(*t).value() == shop::user{9, "ada"});
    // The file under its own name is the module already loaded: its versions exist.
    auto again = eng.load_module(ACTORS_TEST_SHOP_MODULE);
    REQUIRE_FALSE(again);
    CHECK(again.error() == make_error(errc::version_exists, ""));
    REQUIRE(eng.retire("lookupUser", "v2"));
    REQUIRE(eng.retire("greet", "v2"));
    REQUIRE(eng.await_drained("lookupUser", "v2", 60s));
    REQUIRE(eng.await_drained("greet", "v2", 60s));
    REQUIRE(eng.unload_module(*id));
    CHECK_FALSE(is_library_loaded(ACTORS_TEST_SHOP_MODULE));
  }
  std::filesystem::remove_all(dir);
}
