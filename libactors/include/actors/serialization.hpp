#pragma once
// Values that cross the journal (task inputs and outputs, effect requests and results) are written with
// Boost.Serialization: a type needs `template <class Ar> void serialize(Ar&, unsigned)` (or Boost's
// non-intrusive form). This header provides the byte encoding the journal stores, and `render`, the short
// human-readable form tools show ("{42, \"Ada\"}"), computed from the same `serialize` function.

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/optional.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include "actors/detail/render_archive.hpp"

namespace actors {

/// Writes `x` as a Boost binary archive (no header) and returns the bytes.
template <class T>
std::string to_bytes(const T& x) {
  std::ostringstream os{std::ios::binary};
  {
    boost::archive::binary_oarchive ar{os, boost::archive::no_header};
    ar << x;
  }
  return std::move(os).str();
}

/// Reads a `T` from bytes written by `to_bytes<T>`. Throws boost::archive::archive_exception (or
/// std::exception) on malformed input; callers turn that into an error naming the value.
template <class T>
T from_bytes(const std::string& bytes) {
  std::istringstream is{bytes, std::ios::binary};
  boost::archive::binary_iarchive ar{is, boost::archive::no_header};
  T x{};
  ar >> x;
  return x;
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
