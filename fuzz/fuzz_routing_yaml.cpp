// fuzz_routing_yaml: actors::parse_routing_file (router/src/routing_file.cpp) on arbitrary text.
//
// Oracle: the parser returns a policy set or a router error (never a crash, an exception or a hang);
// a policy set it returns passes routing_table::check for every function, names only registered
// functions and versions, and describes itself; an error is of category "router" and names the source.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <actors/actors.hpp>
#include <actors/routing_file.hpp>

namespace {

actors::task<std::int64_t> v1(actors::ctx&, std::int64_t x) {
  co_return x;
}

actors::task<std::string> as_text(actors::ctx&, std::int64_t x) {
  co_return std::to_string(x);
}

actors::task<std::int64_t> from_text(actors::ctx&, std::string x) {
  co_return static_cast<std::int64_t>(x.size());
}

/// The routes of tests/router/routing_tests.cpp: versions with matching and with clashing types.
const actors::router& routes() {
  static const actors::router r = [] {
    actors::router r;
    r.add("lookupUser", "v1", v1).add("lookupUser", "v2", v1).add("lookupUser", "v3", v1);
    r.add("listItems", "v1", v1).add("listItems", "v2", v1);
    r.add("lookupUser", "text", as_text).add("lookupUser", "bytext", from_text);
    return r;
  }();
  return r;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_routing_yaml: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  const auto& r = routes();
  auto p = actors::parse_routing_file(text, "fuzz.yaml", r);
  if (!p) {
    if (p.error().category() != caf::atom("router"))
      fail("an error that is not of category router");
    auto msg = actors::describe(p.error());
    if (msg.find("fuzz.yaml") == std::string::npos)
      fail("an error that does not name the file");
    return 0;
  }
  for (const auto& [fn, policy] : *p) {
    if (r.versions(fn).empty())
      fail("a policy for an unregistered function");
    if (r.find(fn, policy.primary) == nullptr)
      fail("a policy whose primary is not registered");
    if (policy.mode != actors::policy_mode::primary && r.find(fn, policy.candidate) == nullptr)
      fail("a policy whose candidate is not registered");
    if (policy.mode == actors::policy_mode::percent && (policy.percent < 0 || policy.percent > 100))
      fail("a percent outside 0..100");
    if (actors::routing_table::check(r, fn, policy))
      fail("a policy that routing_table::check refuses");
    (void)actors::to_string(policy);
  }
  return 0;
}
