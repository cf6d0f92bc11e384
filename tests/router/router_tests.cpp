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

TEST_CASE("names are non-empty, at most 128 bytes of UTF-8, no control character or '@'; errors quote "
          "them escaped and cut short",
          "[router][names]") {
  const std::string fine[] = {"lookupUser", "v1", "café", "日本語", "a b-c_d.e/f", std::string(128, 'x')};
  for (const auto& n : fine) {
    INFO(n);
    CHECK_FALSE(check_name("function name", n));
  }
  struct bad_case {
    std::string name;
    const char* expect;
  };
  const bad_case bad[] = {
    {"", "function name is empty"},
    {std::string(129, 'x'), "is 129 bytes long; at most 128 are allowed"},
    {"user\n[12:00:00.000] [actors] [info] fake", "'user\\n[12:00:00.000] [actors] [info] fake' contains "
                                                  "a control character (\\n)"},
    {"tab\there", "contains a control character (\\t)"},
    {"nul" + std::string(1, '\0'), "contains a control character (\\x00)"},
    {"del\x7f", "(\\x7f)"},
    {"nel\xc2\x85", "contains a control character (\\xc2\\x85)"}, // C1: U+0085, a line break to some
    {"bad\xff", "'bad\\xff' is not valid UTF-8 (at byte 3)"},
    {"over\xc0\xaf", "is not valid UTF-8 (at byte 4)"},      // an overlong '/'
    {"surr\xed\xa0\x80", "is not valid UTF-8 (at byte 4)"},  // a UTF-16 surrogate
    {"cut\xe6\x97", "is not valid UTF-8 (at byte 3)"},
    {"f@v1", "contains '@'"},
  };
  for (const auto& c : bad) {
    auto err = check_name("function name", c.name);
    REQUIRE(is(err, router_errc::invalid_name));
    auto text = describe(err);
    INFO(text);
    CHECK(text.find(c.expect) != std::string::npos);
    CHECK(text.find('\n') == std::string::npos);
    CHECK(text.find('\0') == std::string::npos);
  }
  auto long_bad = std::string(300, 'y') + "\n";
  CHECK(quoted_name(long_bad) == "'" + std::string(64, 'y') + "...' (301 bytes)");
  CHECK(quoted_name("it's\\") == "'it\\'s\\\\'");
}

TEST_CASE("router::add refuses a name check_name refuses, quoting it safely", "[router][names]") {
  router r;
  r.add("look\nup", "v1", v1);
  CHECK(is(r.validate(), router_errc::invalid_registration));
  CHECK_THAT(describe(r.validate()), Catch::Contains("function name 'look\\nup' contains a control character"));
  router rv;
  rv.add("lookup", std::string(200, 'v'), v1);
  CHECK(is(rv.validate(), router_errc::invalid_registration));
  CHECK_THAT(describe(rv.validate()), Catch::Contains("version name of function 'lookup'"));
  CHECK_THAT(describe(rv.validate()), Catch::Contains("is 200 bytes long"));
  router ok;
  ok.add("lookup", "v1", v1);
  auto unknown = ok.resolve("ghost\r\nX");
  REQUIRE_FALSE(unknown);
  CHECK_THAT(describe(unknown.error()), Catch::Contains("unknown function 'ghost\\r\\nX'"));
}
