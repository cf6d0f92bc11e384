// Journal value encoding: fast paths agree with Boost, rendering is readable, bad bytes are errors.

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

} // namespace

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
}

TEST_CASE("malformed bytes are an exception, never undefined behaviour", "[serialization]") {
  CHECK_THROWS(from_bytes<std::int64_t>(std::string{"abc"}));
  CHECK_THROWS(from_bytes<std::string>(std::string{"\x05\0\0\0\0\0\0\0ab", 10}));
  CHECK_THROWS(from_bytes<user>(std::string{"\x01"}));
}

TEST_CASE("type names are readable", "[serialization]") {
  CHECK(type_name<std::string>() == "std::string");
  CHECK(type_name<std::int64_t>() == "long");
  CHECK(type_name<std::vector<std::string>>() == "std::vector<std::string>");
  CHECK(type_name<std::map<std::string, std::vector<long>>>() ==
        "std::map<std::string, std::vector<long>>");
}
