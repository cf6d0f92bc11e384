// fuzz_payload: decoding journal payload bytes (actors::from_bytes<T>, the Boost binary archive of
// detail/journal_archive.hpp) for several value types.
//
// Input: byte 0 picks the type, the rest are the payload bytes.
// Oracle:
//  - from_bytes throws a std::exception or returns a value; it never crashes, hangs or allocates more
//    than a small multiple of the input (libFuzzer's -malloc_limit_mb / -rss_limit_mb catch that);
//  - a decoded value re-encodes (to_bytes) to bytes that decode to the same encoding again, and for
//    types whose encoding is canonical the re-encoding is the input itself (primitives, std::string,
//    std::vector<std::int64_t>; not class types: Boost accepts any tracking flag and class version in
//    their preamble — 1.74 does not even refuse versions newer than the code's — and not vectors of
//    non-primitives: their item version is read and ignored);
//  - Boost's own binary_iarchive (no_header) reads bytes our archive accepted to the same value (the
//    compatibility journal_archive.hpp promises);
//  - the std::string and arithmetic fast paths agree with the generic archive path;
//  - render() of a decoded value works and respects its length limit.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/serialization/vector.hpp>

#include <actors/serialization.hpp>

namespace {

enum class colour : std::uint8_t { red, green, blue };

struct point {
  double x = 0;
  double y = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & x & y;
  }
};

struct user {
  std::int64_t id = 0;
  std::string name;
  std::vector<int> tags;
  std::optional<std::string> email;
  colour favourite = colour::red;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & id & name & tags & email & favourite;
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
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & buyer & route & items & flags & notes & prices & pickup & wide;
  }
};

[[noreturn]] void fail(const char* type, const char* what) {
  std::fprintf(stderr, "fuzz_payload: %s: %s\n", type, what);
  std::abort();
}

template <class T>
T boost_read(const std::string& bytes) {
  std::istringstream is{bytes, std::ios::binary};
  boost::archive::binary_iarchive ar{is, boost::archive::no_header};
  T x{};
  ar >> x;
  return x;
}

/// The generic archive path, bypassing from_bytes's fast paths.
template <class T>
T generic_read(const std::string& bytes) {
  actors::detail::journal_iarchive ar{bytes};
  T x{};
  ar >> x;
  if (ar.remaining() != 0)
    throw std::invalid_argument("bytes left over");
  return x;
}

template <class T>
void check(const char* type, const std::string& bytes, bool canonical, std::size_t render_max) {
  T value;
  try {
    value = actors::from_bytes<T>(bytes);
  } catch (const std::exception&) {
    if constexpr (actors::detail::raw_bytes_v<T> || std::is_same_v<T, std::string>) {
      // The fast path refused: so must the generic archive.
      bool generic_ok = true;
      try {
        (void)generic_read<T>(bytes);
      } catch (const std::exception&) {
        generic_ok = false;
      }
      if (generic_ok)
        fail(type, "the fast path refused bytes the generic archive reads");
    }
    return;
  } catch (...) {
    fail(type, "from_bytes threw something that is not a std::exception");
  }
  auto again = actors::to_bytes(value);
  if (canonical && again != bytes)
    fail(type, "a decoded value does not re-encode to its bytes");
  try {
    if (actors::to_bytes(actors::from_bytes<T>(again)) != again)
      fail(type, "decode(encode(x)) does not re-encode to the same bytes");
  } catch (const std::exception&) {
    fail(type, "a re-encoded value does not decode");
  }
  try {
    if (actors::to_bytes(boost_read<T>(bytes)) != again)
      fail(type, "Boost's binary_iarchive reads another value");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "boost: %s\n", e.what());
    fail(type, "Boost's binary_iarchive refuses bytes the journal archive accepted");
  }
  if constexpr (actors::detail::raw_bytes_v<T> || std::is_same_v<T, std::string>) {
    try {
      if (actors::to_bytes(generic_read<T>(bytes)) != again)
        fail(type, "the generic archive reads another value than the fast path");
    } catch (const std::exception&) {
      fail(type, "the generic archive refuses bytes the fast path accepted");
    }
  }
  auto text = actors::render(value, render_max);
  if (text.size() > render_max)
    fail(type, "render() is longer than its limit");
}

/// Writes the selector of type number `type` (see LLVMFuzzerTestOneInput), then to_bytes(x), as the seed
/// file `dir/name`.
template <class T>
void seed(const std::string& dir, const char* name, int type, const T& x) {
  std::ofstream out{dir + "/" + name, std::ios::binary};
  out.put(static_cast<char>(type + 4 * 14)); // render limit 51 or 67
  auto bytes = actors::to_bytes(x);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The seed corpus (fuzz/corpus/fuzz_payload): valid payloads of every type, as to_bytes writes them.
void write_seeds(const std::string& dir) {
  user ada{42, "Ada", {1, 2, 3}, std::string{"ada@example.org"}, colour::blue};
  order o;
  o.buyer = ada;
  o.route = {{0, 0}, {1.5, -2.25}};
  o.items = {{"book", 2}, {"pen", 10}};
  o.flags = {true, 'z'};
  o.notes = {"fragile"};
  o.prices = {9.99, 1.25};
  o.pickup = point{3, 4};
  o.wide = L"wide";
  seed(dir, "string", 0, std::string{"hello, journal"});
  seed(dir, "int64", 1, std::int64_t{-42});
  seed(dir, "vector_string", 2, std::vector<std::string>{"a", "", "ccc"});
  seed(dir, "map_string_int", 3, std::map<std::string, int>{{"x", 1}, {"y", -2}});
  seed(dir, "user", 4, ada);
  seed(dir, "order", 5, o);
  seed(dir, "vector_int64", 6, std::vector<std::int64_t>{5, 6, 7});
  seed(dir, "optional_string", 7, std::optional<std::string>{"here"});
  seed(dir, "bool", 8, true);
  seed(dir, "double", 9, 3.25);
  seed(dir, "pair", 10, std::pair<std::int32_t, std::string>{3, "three"});
  seed(dir, "vector_user", 11, std::vector<user>{ada, user{}});
  seed(dir, "map_string_vector", 12, std::map<std::string, std::vector<long>>{{"x", {1}}, {"y", {}}});
  seed(dir, "vector_vector_string", 13, std::vector<std::vector<std::string>>{{"a"}, {}, {"b", "c"}});
}

} // namespace

/// FUZZ_PAYLOAD_WRITE_SEEDS=<dir>: write the seed corpus there and exit (regenerates
/// fuzz/corpus/fuzz_payload when the types above change).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("FUZZ_PAYLOAD_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  std::string bytes{reinterpret_cast<const char*>(data) + 1, size - 1};
  // render() cuts to at least "..." (3 characters): keep the limit >= 3.
  std::size_t render_max = 3 + (data[0] >> 4) * 16;
  switch (data[0] % 14) {
    case 0: check<std::string>("std::string", bytes, true, render_max); break;
    case 1: check<std::int64_t>("std::int64_t", bytes, true, render_max); break;
    case 2: check<std::vector<std::string>>("std::vector<std::string>", bytes, false, render_max); break;
    case 3: check<std::map<std::string, int>>("std::map<std::string, int>", bytes, false, render_max); break;
    case 4: check<user>("user", bytes, false, render_max); break;
    case 5: check<order>("order", bytes, false, render_max); break;
    case 6: check<std::vector<std::int64_t>>("std::vector<std::int64_t>", bytes, true, render_max); break;
    case 7: check<std::optional<std::string>>("std::optional<std::string>", bytes, false, render_max); break;
    case 8: check<bool>("bool", bytes, true, render_max); break;
    case 9: check<double>("double", bytes, true, render_max); break;
    case 10: check<std::pair<std::int32_t, std::string>>("std::pair<std::int32_t, std::string>", bytes, false, render_max); break;
    case 11: check<std::vector<user>>("std::vector<user>", bytes, false, render_max); break;
    case 12: check<std::map<std::string, std::vector<long>>>("std::map<std::string, std::vector<long>>", bytes, false, render_max); break;
    case 13: check<std::vector<std::vector<std::string>>>("std::vector<std::vector<std::string>>", bytes, false, render_max); break;
  }
  return 0;
}
