// Routing policies and the YAML routing file, without an engine.

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/routing_file.hpp>

using namespace actors;

namespace {

task<std::int64_t> v1(ctx&, std::int64_t x) {
  co_return x;
}

task<std::string> as_text(ctx&, std::int64_t x) {
  co_return std::to_string(x);
}

task<std::int64_t> from_text(ctx&, std::string x) {
  co_return static_cast<std::int64_t>(x.size());
}

router make_routes() {
  router r;
  r.add("lookupUser", "v1", v1).add("lookupUser", "v2", v1).add("lookupUser", "v3", v1);
  r.add("listItems", "v1", v1).add("listItems", "v2", v1);
  r.add("lookupUser", "text", as_text).add("lookupUser", "bytext", from_text);
  return r;
}

bool is(const caf::error& err, router_errc code) {
  return err && err.category() == caf::atom("router") &&
         err.code() == static_cast<std::uint8_t>(code);
}

std::string message(const caf::error& err) {
  return to_string(err);
}

} // namespace

TEST_CASE("precedence: pinned, then override of the root, then policy, then default", "[routing]") {
  auto routes = make_routes();
  auto t = routing_table{}
             .with_policy("lookupUser", policy::primary("v2"))
             .with_override(7, "lookupUser", "v3");
  auto d = t.route(routes, "lookupUser", 7, "v1");
  REQUIRE(d);
  CHECK(d->entry->version == "v1");
  CHECK(describe(*d) == "pinned");
  d = t.route(routes, "lookupUser", 7);
  REQUIRE(d);
  CHECK(d->entry->version == "v3");
  CHECK(describe(*d) == "override");
  d = t.route(routes, "lookupUser", 8); // another tree: the policy
  REQUIRE(d);
  CHECK(d->entry->version == "v2");
  CHECK(describe(*d) == "policy");
  d = t.route(routes, "listItems", 7); // no policy, no override for this function
  REQUIRE(d);
  CHECK(d->entry->version == "v1");
  CHECK(describe(*d) == "default");
  auto cleared = t.without_override(7);
  CHECK(cleared.route(routes, "lookupUser", 7)->entry->version == "v2");
  CHECK(t.route(routes, "lookupUser", 7)->entry->version == "v3"); // tables are values
}

TEST_CASE("a shadow policy serves from the primary and names the candidate", "[routing]") {
  auto routes = make_routes();
  auto t = routing_table{}.with_policy("lookupUser", policy::shadow("v1", "v2"));
  auto d = t.route(routes, "lookupUser", 1);
  REQUIRE(d);
  CHECK(d->entry->version == "v1");
  REQUIRE(d->shadow != nullptr);
  CHECK(d->shadow->version == "v2");
  CHECK(describe(*d) == "shadow v2");
}

TEST_CASE("percent 30 sends 22-38% of 1,000 roots to the candidate, the same root always the same way",
          "[routing]") {
  auto routes = make_routes();
  auto t = routing_table{}.with_policy("lookupUser", policy::percent("v1", "v2", 30));
  int candidate = 0;
  std::uint64_t id = 0x1a209e019e700000ULL; // time-ordered ids, as the engine draws them
  for (int i = 0; i < 1000; ++i, ++id) {
    auto d = t.route(routes, "lookupUser", id);
    REQUIRE(d);
    CHECK(d->reason == route_reason::percent);
    CHECK((d->entry->version == "v2") == (d->bucket < 30));
    candidate += d->entry->version == "v2" ? 1 : 0;
    for (int again = 0; again < 3; ++again)
      CHECK(t.route(routes, "lookupUser", id)->entry->version == d->entry->version);
  }
  CHECK(candidate >= 220);
  CHECK(candidate <= 380);
  // The bucket function is part of the journal format: pin a few values.
  CHECK(percent_bucket(0) == percent_bucket(0));
  CHECK(percent_bucket(1) != percent_bucket(2));
  auto p0 = routing_table{}.with_policy("lookupUser", policy::percent("v1", "v2", 0));
  auto p100 = routing_table{}.with_policy("lookupUser", policy::percent("v1", "v2", 100));
  for (std::uint64_t r = 1; r < 200; ++r) {
    CHECK(p0.route(routes, "lookupUser", r)->entry->version == "v1");
    CHECK(p100.route(routes, "lookupUser", r)->entry->version == "v2");
  }
}

TEST_CASE("policies naming unknown functions or versions, or bad percents, are refused by name",
          "[routing]") {
  auto routes = make_routes();
  auto err = routing_table::check(routes, "lookupUser", policy::primary("v9"));
  CHECK(is(err, router_errc::unknown_version));
  CHECK(message(err).find("'v9'") != std::string::npos);
  CHECK(message(err).find("lookupUser") != std::string::npos);
  err = routing_table::check(routes, "lookupUser", policy::shadow("v1", "v7"));
  CHECK(is(err, router_errc::unknown_version));
  CHECK(message(err).find("shadow version 'v7'") != std::string::npos);
  err = routing_table::check(routes, "nobody", policy::primary("v1"));
  CHECK(is(err, router_errc::unknown_function));
  CHECK(message(err).find("'nobody'") != std::string::npos);
  err = routing_table::check(routes, "lookupUser", policy::percent("v1", "v2", 101));
  CHECK(is(err, router_errc::invalid_policy));
  CHECK(message(err).find("101") != std::string::npos);
  err = routing_table::check(routes, "lookupUser", policy::shadow("v1", "v1"));
  CHECK(is(err, router_errc::invalid_policy));
  CHECK_FALSE(routing_table::check(routes, "lookupUser", policy::percent("v1", "v2", 30)));
  // A candidate gets the primary's input and is compared by its output: the types must agree.
  err = routing_table::check(routes, "lookupUser", policy::shadow("v1", "text"));
  CHECK(is(err, router_errc::invalid_policy));
  CHECK(message(err).find("shadow candidate 'text' returns std::") != std::string::npos);
  CHECK(message(err).find("primary 'v1' returns long") != std::string::npos);
  err = routing_table::check(routes, "lookupUser", policy::percent("v1", "bytext", 10));
  CHECK(is(err, router_errc::invalid_policy));
  CHECK(message(err).find("percent candidate 'bytext' takes std::") != std::string::npos);
  CHECK_FALSE(routing_table::check(routes, "lookupUser", policy::primary("text")));
}

TEST_CASE("a routing file sets every mode", "[routing][yaml]") {
  auto routes = make_routes();
  auto p = parse_routing_file(R"(
functions:
  lookupUser:
    routing: { mode: shadow, primary: v1, shadow: v2 }
  listItems:
    routing:
      mode: percent
      primary: v1
      candidate: v2
      percent: 30
)",
                              "routing.yaml", routes);
  REQUIRE(p);
  REQUIRE(p->size() == 2);
  CHECK(p->at("lookupUser") == policy::shadow("v1", "v2"));
  CHECK(p->at("listItems") == policy::percent("v1", "v2", 30));
  auto q = parse_routing_file("functions: { lookupUser: { routing: { mode: primary, primary: v3 } } }",
                              "r.yaml", routes);
  REQUIRE(q);
  CHECK(q->at("lookupUser") == policy::primary("v3"));
  auto empty = parse_routing_file("", "r.yaml", routes);
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("a bad routing file is an error naming the file, the line and the key", "[routing][yaml]") {
  auto routes = make_routes();
  struct bad {
    const char* text;
    router_errc code;
    const char* expect; // substring of the message
  };
  const bad cases[] = {
    {"functions:\n  lookupUser:\n    routing: { mode: shadow, primary: v1, shadow: v2\n",
     router_errc::invalid_routing_file, "r.yaml:4: YAML syntax error"},
    {"functions:\n  lookupUser:\n    routing: { mode: shdow, primary: v1 }\n",
     router_errc::invalid_routing_file,
     "r.yaml:3: functions.lookupUser.routing.mode: unknown mode 'shdow'"},
    {"functions:\n  lookupUser:\n    routing: { mode: primary, primary: v8 }\n",
     router_errc::unknown_version,
     "r.yaml:3: functions.lookupUser.routing.primary: unknown version 'v8'"},
    {"functions:\n  lookupUser:\n    routing: { mode: shadow, primary: v1 }\n",
     router_errc::invalid_routing_file, "functions.lookupUser.routing.shadow: missing"},
    {"functions:\n  lookupUser:\n    routing: { mode: primary, primary: v1, shadow: v2 }\n",
     router_errc::invalid_routing_file,
     "r.yaml:3: functions.lookupUser.routing.shadow: unknown key for mode primary"},
    {"functions:\n  lookupUser:\n    routng: { mode: primary, primary: v1 }\n",
     router_errc::invalid_routing_file, "r.yaml:3: functions.lookupUser.routng: unknown key"},
    {"functionz: {}\n", router_errc::invalid_routing_file, "r.yaml:1: functionz: unknown key"},
    {"functions:\n  ghost:\n    routing: { mode: primary, primary: v1 }\n",
     router_errc::unknown_function, "r.yaml:2: functions.ghost: unknown function 'ghost'"},
    {"functions:\n  listItems:\n    routing: { mode: percent, primary: v1, candidate: v2, percent: "
     "lots }\n",
     router_errc::invalid_routing_file, "r.yaml:3: functions.listItems.routing.percent: expected a whole"},
    {"functions:\n  listItems:\n    routing: { mode: percent, primary: v1, candidate: v2, percent: "
     "130 }\n",
     router_errc::invalid_policy, "r.yaml:3: functions.listItems.routing: policy for function"},
    {"- just\n- a list\n", router_errc::invalid_routing_file, "(top level)"},
    {"functions:\n  lookupUser:\n    routing: { mode: shadow, primary: v1, shadow: text }\n",
     router_errc::invalid_policy, "r.yaml:3: functions.lookupUser.routing: policy for function "
                                  "'lookupUser': shadow candidate 'text' returns"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto p = parse_routing_file(c.text, "r.yaml", routes);
    REQUIRE_FALSE(p);
    INFO(message(p.error()));
    CHECK(is(p.error(), c.code));
    CHECK(message(p.error()).find(c.expect) != std::string::npos);
  }
  auto missing = load_routing_file("/nonexistent/dir/routing.yaml", routes);
  REQUIRE_FALSE(missing);
  CHECK(message(missing.error()).find("/nonexistent/dir/routing.yaml") != std::string::npos);
}

TEST_CASE("policies and the routing file refuse names check_name refuses, quoting them safely",
          "[routing][names]") {
  auto routes = make_routes();
  auto bad_fn = routing_table::check(routes, "lookup\nUser", policy::primary("v1"));
  CHECK(is(bad_fn, router_errc::invalid_name));
  CHECK(describe(bad_fn).find("function name 'lookup\\nUser' contains a control character") !=
        std::string::npos);
  auto bad_v = routing_table::check(routes, "lookupUser", policy::shadow("v1", "v2\x1b[31m"));
  CHECK(is(bad_v, router_errc::invalid_name));
  CHECK(describe(bad_v).find("shadow version of a policy for 'lookupUser' 'v2\\x1b[31m'") !=
        std::string::npos);

  struct bad {
    const char* text;
    const char* expect;
  };
  const bad cases[] = {
    {"functions:\n  \"look\\nUser\":\n    routing: { mode: primary, primary: v1 }\n",
     "r.yaml:2: functions: function name 'look\\nUser' contains a control character (\\n)"},
    {"functions:\n  lookupUser:\n    routing: { mode: primary, primary: \"v1\\u0085\" }\n",
     "r.yaml:3: functions.lookupUser.routing.primary: version name 'v1\\xc2\\x85' contains a control"},
    {"functions:\n  lookupUser:\n    routing: { mode: primary, primary: \"v1\\n\" }\n",
     "version name 'v1\\n'"},
    {"\"functions\\nX\": {}\n", "r.yaml:1: 'functions\\nX': unknown key"},
    {"functions:\n  lookupUser:\n    routing: { mode: \"pri\\nmary\", primary: v1 }\n",
     "unknown mode 'pri\\nmary'"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto p = parse_routing_file(c.text, "r.yaml", routes);
    REQUIRE_FALSE(p);
    INFO(describe(p.error()));
    CHECK(describe(p.error()).find(c.expect) != std::string::npos);
    CHECK(describe(p.error()).find('\n') == std::string::npos);
  }
}
