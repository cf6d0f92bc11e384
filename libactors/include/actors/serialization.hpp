#pragma once
// Values that cross the journal (task inputs and outputs, effect requests and results) are written with
// Boost.Serialization: a type needs `template <class Ar> void serialize(Ar&, unsigned)` (or Boost's
// non-intrusive form). This header provides the byte encoding the journal stores, and `render`, the short
// human-readable form tools show ("{42, \"Ada\"}"), computed from the same `serialize` function.

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <boost/serialization/map.hpp>
#include <boost/serialization/optional.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include <boost/serialization/split_free.hpp>

#include "actors/detail/journal_archive.hpp"
#include "actors/detail/render_archive.hpp"

// Boost 1.74 serializes boost::optional but not std::optional: provide it (a presence flag, then the
// value).
namespace boost::serialization {

template <class Ar, class T>
void save(Ar& ar, const std::optional<T>& x, unsigned) {
  bool has = x.has_value();
  ar << has;
  if (has)
    ar << *x;
}

template <class Ar, class T>
void load(Ar& ar, std::optional<T>& x, unsigned) {
  bool has = false;
  ar >> has;
  if (!has) {
    x.reset();
    return;
  }
  T value{};
  ar >> value;
  x = std::move(value);
}

template <class Ar, class T>
void serialize(Ar& ar, std::optional<T>& x, unsigned version) {
  split_free(ar, x, version);
}

} // namespace boost::serialization

namespace actors {

namespace detail {

// Fast paths for the commonest journal values. They write exactly the bytes a Boost binary archive
// (no header) writes for these types — a raw native-endian value; for std::string an 8-byte length then
// the characters — so both paths read each other's output (tests/libactors/serialization_tests.cpp).
template <class T>
inline constexpr bool raw_bytes_v = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;

} // namespace detail

/// Writes `x` as a Boost binary archive (no header) and returns the bytes (detail/journal_archive.hpp).
template <class T>
std::string to_bytes(const T& x) {
  if constexpr (detail::raw_bytes_v<T>) {
    std::string out(sizeof(T), '\0');
    std::memcpy(out.data(), &x, sizeof(T));
    return out;
  } else if constexpr (std::is_same_v<T, std::string>) {
    std::uint64_t n = x.size();
    std::string out(sizeof n + x.size(), '\0');
    std::memcpy(out.data(), &n, sizeof n);
    std::memcpy(out.data() + sizeof n, x.data(), x.size());
    return out;
  } else {
    std::string out;
    detail::journal_oarchive ar{out};
    ar << x;
    return out;
  }
}

/// Reads a `T` from bytes written by `to_bytes<T>`. Throws boost::archive::archive_exception (or
/// std::exception) on malformed input; callers turn that into an error naming the value.
template <class T>
T from_bytes(const std::string& bytes) {
  if constexpr (detail::raw_bytes_v<T>) {
    if (bytes.size() != sizeof(T))
      throw std::invalid_argument("expected " + std::to_string(sizeof(T)) + " bytes, got " +
                                  std::to_string(bytes.size()));
    T x;
    std::memcpy(&x, bytes.data(), sizeof(T));
    return x;
  } else if constexpr (std::is_same_v<T, std::string>) {
    std::uint64_t n = 0;
    if (bytes.size() < sizeof n)
      throw std::invalid_argument("string value shorter than its length prefix");
    std::memcpy(&n, bytes.data(), sizeof n);
    if (n != bytes.size() - sizeof n)
      throw std::invalid_argument("string length prefix " + std::to_string(n) + " does not match " +
                                  std::to_string(bytes.size() - sizeof n) + " bytes");
    return bytes.substr(sizeof n);
  } else {
    detail::journal_iarchive ar{bytes};
    T x{};
    ar >> x;
    if (ar.remaining() != 0)
      throw std::invalid_argument(std::to_string(ar.remaining()) + " bytes left over after the value");
    return x;
  }
}

/// A short human-readable rendering of `x`, e.g. `{42, "Ada"}`, built from its `serialize` function.
/// Strings are quoted, containers shown as `[...]`, values longer than `max` characters elided.
template <class T>
std::string render(const T& x, std::size_t max = 200) {
  detail::render_archive ar;
  ar& const_cast<T&>(x); // serialize() is non-const by Boost's convention; rendering does not modify.
  return ar.take(max);
}

/// The readable name of a C++ type ("std::string", "long", "shop::user").
std::string type_name(const std::type_info& t);

template <class T>
std::string type_name() {
  return type_name(typeid(T));
}

} // namespace actors
