// Journal value encoding: fast paths agree with Boost, rendering is readable, bad bytes are errors.

#include <cstring>
#include <map>
#include <sstream>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <catch2/catch.hpp>

#include <actors/actors.hpp>

using namespace actors;

namespace {

template <class T>
std::string boost_bytes(const T& x) {
  std::ostringstream os{std::ios::binary};
  {
    boost::archive::binary_oarchive ar{os, boost::archive::no_header};
    ar << x;
  }
  return os.str();
}

template <class T>
T boost_read(const std::string& bytes) {
  std::istringstream is{bytes, std::ios::binary};
  boost::archive::binary_iarchive ar{is, boost::archive::no_header};
  T x{};
  ar >> x;
  return x;
}

struct user {
  std::int64_t id = 0;
  std::string name;
  std::vector<int> tags;
  std::optional<std::string> email;
  bool operator==(const user&) const = default;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & id & name & tags & email;
  }
};

struct point {
  double x = 0;
  double y = 0;
  bool operator==(const point&) const = default;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & x & y;
  }
};

struct order {
  user buyer;
  std::vector<point> route;
  std::map<std::string, std::int32_t> items;
  std::pair<bool, char> flags;
  std::vector<std::string> notes;
  std::vector<double> prices;
  std::optional<point> pickup;
  std::wstring wide;
  bool operator==(const order&) const = default;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & buyer & route & items & flags & notes & prices & pickup & wide;
  }
};

/// Both directions: our archive writes Boost's bytes, and each reads the other's.
template <class T>
void check_boost_compatible(const T& x) {
  auto ours = to_bytes(x);
  auto theirs = boost_bytes(x);
  CHECK(ours == theirs);
  CHECK(from_bytes<T>(theirs) == x);
  CHECK(boost_read<T>(ours) == x);
}

} // namespace

TEST_CASE("journal archives write exactly Boost's binary archive bytes", "[serialization]") {
  check_boost_compatible(user{42, "Ada", {1, 2, 3}, std::string{"ada@example.org"}});
  check_boost_compatible(user{});
  check_boost_compatible(point{1.5, -2.25});
  check_boost_compatible(std::vector<point>{{1, 2}, {3, 4}});
  check_boost_compatible(std::vector<std::int64_t>{5, 6, 7});
  check_boost_compatible(std::vector<std::string>{"a", "", "ccc"});
  check_boost_compatible(std::map<std::string, std::vector<long>>{{"x", {1}}, {"y", {}}});
  check_boost_compatible(std::optional<std::string>{});
  check_boost_compatible(std::optional<std::string>{"here"});
  check_boost_compatible(std::pair<int, std::string>{3, "three"});
  order o;
  o.buyer = user{7, "Grace", {}, std::nullopt};
  o.route = {{0, 0}, {1, 1}};
  o.items = {{"book", 2}, {"pen", 10}};
  o.flags = {true, 'z'};
  o.notes = {"fragile"};
  o.prices = {9.99, 1.25};
  o.pickup = point{3, 4};
  o.wide = L"wide ✓";
  check_boost_compatible(o);
  check_boost_compatible(std::vector<order>{o, order{}, o});
}

TEST_CASE("fast-path encodings are byte-identical to Boost binary archives", "[serialization]") {
  CHECK(to_bytes(std::int64_t{-42}) == boost_bytes(std::int64_t{-42}));
  CHECK(to_bytes(std::uint32_t{7}) == boost_bytes(std::uint32_t{7}));
  CHECK(to_bytes(3.25) == boost_bytes(3.25));
  std::string s = "hello, journal";
  CHECK(to_bytes(s) == boost_bytes(s));
  CHECK(to_bytes(std::string{}) == boost_bytes(std::string{}));
  CHECK(from_bytes<std::string>(boost_bytes(s)) == s);
  CHECK(boost_read<std::string>(to_bytes(s)) == s);
  CHECK(from_bytes<std::int64_t>(boost_bytes(std::int64_t{99})) == 99);
}

TEST_CASE("user structs round-trip through the journal encoding", "[serialization]") {
  user u{42, "Ada", {1, 2, 3}, std::string{"ada@example.org"}};
  CHECK(from_bytes<user>(to_bytes(u)) == u);
}

TEST_CASE("render shows values readably from their serialize function", "[serialization]") {
  CHECK(render(std::int64_t{42}) == "42");
  CHECK(render(std::string{"a \"b\""}) == "\"a \\\"b\\\"\"");
  user u{42, "Ada", {1, 2}, std::nullopt};
  CHECK(render(u) == "{42, \"Ada\", [1, 2], none}");
  CHECK(render(std::string(500, 'x'), 20).size() == 20);
  CHECK(render(std::string(500, 'x'), 20).ends_with("..."));
  // A cut never makes the rendering longer than asked, even below the length of "...".
  CHECK(render(std::string(500, 'x'), 5) == "\"x..."); // strings render quoted
  CHECK(render(std::string(500, 'x'), 3) == "...");
  CHECK(render(std::string(500, 'x'), 2) == "..");
  CHECK(render(std::string(500, 'x'), 0).empty());
  CHECK(render(std::int64_t{42}, 2) == "42"); // fits: not cut
}

namespace {

struct tree {
  std::int64_t v = 0;
  std::vector<tree> kids;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & v;
    ar & kids;
  }
};

/// The rendering `render` must give `t`, built by hand.
std::string expected_rendering(const tree& t) {
  std::string kids;
  for (const auto& k : t.kids)
    kids += (kids.empty() ? "" : ", ") + expected_rendering(k);
  return "{" + std::to_string(t.v) + ", [" + kids + "]}";
}

} // namespace

TEST_CASE("render separates values right at every nesting depth", "[serialization]") {
  // A chain 60 nodes deep (two levels each: past the 64 levels kept in a word), whose deepest node
  // has two leaves, beside a leaf at the top: commas deep down, and again at the top after it.
  tree deepest{60, {tree{61, {}}, tree{62, {}}}};
  tree t = deepest;
  for (std::int64_t v = 59; v >= 1; --v)
    t = tree{v, {std::move(t)}};
  tree top{0, {std::move(t), tree{100, {}}}};
  CHECK(render(top, 100000) == expected_rendering(top));
  CHECK(render(std::vector<std::vector<std::int64_t>>{{1, 2}, {}, {3}}) == "[[1, 2], [], [3]]");
}

TEST_CASE("malformed bytes are an exception, never undefined behaviour", "[serialization]") {
  CHECK_THROWS(from_bytes<std::int64_t>(std::string{"abc"}));
  CHECK_THROWS(from_bytes<std::string>(std::string{"\x05\0\0\0\0\0\0\0ab", 10}));
  CHECK_THROWS(from_bytes<user>(std::string{"\x01"}));
  // A length prefix far beyond the bytes present is refused before anything is allocated.
  auto huge = to_bytes(user{1, "x", {}, std::nullopt});
  std::uint64_t big = 1ULL << 60;
  // name's length prefix: the 8 bytes 01 00 .. 00 just before the only "x".
  auto x = huge.find('x');
  REQUIRE(x != std::string::npos);
  REQUIRE(x >= 8);
  auto at = x - 8;
  std::uint64_t len = 0;
  std::memcpy(&len, huge.data() + at, 8);
  REQUIRE(len == 1);
  std::memcpy(huge.data() + at, &big, 8);
  CHECK_THROWS_AS(from_bytes<user>(huge), boost::archive::archive_exception);
  // Bytes left over after a value mean it is not that type.
  CHECK_THROWS(from_bytes<user>(to_bytes(user{}) + "extra"));
}

TEST_CASE("a collection count beyond the bytes present is refused before anything is allocated",
          "[serialization]") {
  // fuzz/regressions/fuzz_payload: Boost's vector loader resizes to the count before reading an element.
  // std::vector<std::int64_t> is its 8-byte count, then the elements: claim 2^40 of them (8 TiB).
  auto ints = to_bytes(std::vector<std::int64_t>{7, 8, 9});
  std::uint64_t count = 0;
  std::memcpy(&count, ints.data(), 8);
  REQUIRE(count == 3);
  count = 1ULL << 40;
  std::memcpy(ints.data(), &count, 8);
  CHECK_THROWS_AS(from_bytes<std::vector<std::int64_t>>(ints), boost::archive::archive_exception);
  // std::vector<std::string> (class preamble, count, item version, elements): 2^28 strings (8 GiB).
  auto strings = to_bytes(std::vector<std::string>{"a"});
  auto at = strings.find(std::string("\x01\0\0\0\0\0\0\0", 8));
  REQUIRE(at != std::string::npos);
  count = 1ULL << 28;
  std::memcpy(strings.data() + at, &count, 8);
  CHECK_THROWS_AS(from_bytes<std::vector<std::string>>(strings), boost::archive::archive_exception);
  check_boost_compatible(std::vector<std::string>{"a", "", "b"}); // real counts still read
}

TEST_CASE("render never cuts a UTF-8 character in half", "[serialization]") {
  auto r = render(std::string(195, 'a') + "\xc3\xa9\xc3\xa9"); // "aaa...éé": the cut falls inside an é
  REQUIRE(r.size() <= 200);
  CHECK(r.ends_with("a..."));
}

TEST_CASE("type names are readable", "[serialization]") {
  CHECK(type_name<std::string>() == "std::string");
  CHECK(type_name<std::int64_t>() == "long");
  CHECK(type_name<std::vector<std::string>>() == "std::vector<std::string>");
  CHECK(type_name<std::map<std::string, std::vector<long>>>() ==
        "std::map<std::string, std::vector<long>>");
}
