// The versioned function table: registration, default routing, pinned versions, named errors.

#include <catch2/catch.hpp>

#include <actors/actors.hpp>

using namespace actors;

namespace {

task<std::int64_t> v1(ctx&, std::int64_t x) {
  co_return x;
}

task<std::int64_t> v2(ctx&, std::int64_t x) {
  co_return x * 2;
}

task<std::string> name_of(ctx&, const std::string& s) {
  co_return s;
}

bool is(const caf::error& err, router_errc code) {
  return err && err.category() == caf::atom("router") &&
         err.code() == static_cast<std::uint8_t>(code);
}

} // namespace

TEST_CASE("a function with no policy routes to its first registered version", "[router]") {
  router r;
  r.add("lookupUser", "v2", v2).add("lookupUser", "v1", v1);
  auto d = r.resolve("lookupUser");
  REQUIRE(d);
  CHECK(d->entry->version == "v2");
  CHECK(d->reason == route_reason::default_version);
  CHECK(to_string(d->reason) == "default");
  CHECK(r.versions("lookupUser") == std::vector<std::string>{"v2", "v1"});
}

TEST_CASE("a pinned call routes to exactly that version", "[router]") {
  router r;
  r.add("lookupUser", "v1", v1).add("lookupUser", "v2", v2);
  auto d = r.resolve("lookupUser", "v2");
  REQUIRE(d);
  CHECK(d->entry->version == "v2");
  CHECK(d->reason == route_reason::pinned);
}

TEST_CASE("registered functions keep their input and output types", "[router]") {
  router r;
  r.add("name", "v1", name_of).add("lookupUser", "v1", v1);
  CHECK(r.find("name", "v1")->impl->input_type() == typeid(std::string));
  CHECK(r.find("name", "v1")->impl->output_type() == typeid(std::string));
  CHECK(r.find("lookupUser", "v1")->impl->input_type() == typeid(std::int64_t));
  CHECK(r.find("lookupUser", "v9") == nullptr);
  CHECK(r.functions() == std::vector<std::string>{"lookupUser", "name"});
}

TEST_CASE("routing an unknown function or version is an error naming it", "[router]") {
  router r;
  r.add("lookupUser", "v1", v1);
  auto f = r.resolve("lookupUsr");
  REQUIRE_FALSE(f);
  CHECK(is(f.error(), router_errc::unknown_function));
  CHECK_THAT(describe(f.error()), Catch::Contains("'lookupUsr'") && Catch::Contains("lookupUser"));
  auto v = r.resolve("lookupUser", "v3");
  REQUIRE_FALSE(v);
  CHECK(is(v.error(), router_errc::unknown_version));
  CHECK_THAT(describe(v.error()), Catch::Contains("'v3'") && Catch::Contains("registered: v1"));
}

TEST_CASE("duplicate and malformed registrations are reported, never thrown", "[router]") {
  router ok;
  ok.add("f", "v1", v1);
  CHECK_FALSE(ok.validate());

  router twice;
  twice.add("f", "v1", v1).add("f", "v1", v2);
  CHECK(is(twice.validate(), router_errc::invalid_registration));
  CHECK_THAT(describe(twice.validate()), Catch::Contains("'f' version 'v1' registered twice"));

  router empty;
  empty.add("", "v1", v1);
  CHECK(is(empty.validate(), router_errc::invalid_registration));

  router at;
  at.add("f@x", "v1", v1);
  CHECK(is(at.validate(), router_errc::invalid_registration));
  CHECK_THAT(describe(at.validate()), Catch::Contains("'@'"));
}
