#pragma once
// journal_oarchive / journal_iarchive — Boost binary archives that write to and read from memory.
//
// They produce and accept exactly the bytes of boost::archive::binary_oarchive / binary_iarchive opened
// with `no_header` (same class-info, version and collection-size encoding, inherited from Boost's
// basic_binary_oarchive / basic_binary_iarchive; same primitive encoding: native-endian values,
// std::size_t length prefixes). What they leave out is the stream layer: Boost's binary primitives
// build a new std::locale (with a codecvt facet) for every archive, and std::stringstream caches its
// locale's facets — together the most expensive part of encoding a small value, once per effect
// request, result, input and output. tests/libactors/serialization_tests.cpp checks byte equality with
// Boost's archives for every kind of value.
//
// The input archive also bounds every length and element count it reads by the bytes that remain, so a
// corrupt length prefix or collection size is an archive_exception, never a huge allocation. (Counts are
// bounded at one byte per element: a collection of more elements than bytes left is refused even when its
// elements serialize to nothing — a vector of empty structs.)

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/basic_binary_iarchive.hpp>
#include <boost/archive/basic_binary_oarchive.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/serialization/array_optimization.hpp>
#include <boost/serialization/array_wrapper.hpp>
#include <boost/serialization/is_bitwise_serializable.hpp>

namespace actors::detail {

/// Appends to a std::string.
class journal_oarchive : public boost::archive::basic_binary_oarchive<journal_oarchive> {
  friend class boost::archive::detail::interface_oarchive<journal_oarchive>;
  friend class boost::archive::basic_binary_oarchive<journal_oarchive>;
  friend class boost::archive::save_access;

public:
  explicit journal_oarchive(std::string& out)
    : boost::archive::basic_binary_oarchive<journal_oarchive>(boost::archive::no_header), out_(out) {}

  // As boost::archive::basic_binary_oprimitive: bitwise-serializable arrays are written in one piece.
  struct use_array_optimization {
    template <class T>
    struct apply : public boost::serialization::is_bitwise_serializable<T> {};
  };

  template <class ValueType>
  void save_array(const boost::serialization::array_wrapper<ValueType>& a, unsigned int) {
    save_binary(a.address(), a.count() * sizeof(ValueType));
  }

  void save_binary(const void* address, std::size_t count) {
    out_.append(static_cast<const char*>(address), count);
  }

protected:
  template <class T>
  void save_override(T& t) {
    this->boost::archive::basic_binary_oarchive<journal_oarchive>::save_override(t);
  }

  // --- primitives, encoded as basic_binary_oprimitive encodes them -------------------------------
  template <class T>
  void save(const T& t) {
    save_binary(&t, sizeof(T));
  }
  void save(const std::string& s) {
    std::size_t l = s.size();
    save(l);
    save_binary(s.data(), l);
  }
  void save(const std::wstring& ws) {
    std::size_t l = ws.size();
    save(l);
    save_binary(ws.data(), l * sizeof(wchar_t));
  }
  void save(const char* s) {
    std::size_t l = std::strlen(s);
    save(l);
    save_binary(s, l);
  }
  void save(const wchar_t* ws) {
    std::size_t l = std::wcslen(ws);
    save(l);
    save_binary(ws, l * sizeof(wchar_t));
  }

private:
  std::string& out_;
};

/// Reads from a byte range that outlives the archive.
class journal_iarchive : public boost::archive::basic_binary_iarchive<journal_iarchive> {
  friend class boost::archive::detail::interface_iarchive<journal_iarchive>;
  friend class boost::archive::basic_binary_iarchive<journal_iarchive>;
  friend class boost::archive::load_access;

public:
  explicit journal_iarchive(std::string_view in)
    : boost::archive::basic_binary_iarchive<journal_iarchive>(boost::archive::no_header),
      pos_(in.data()), end_(in.data() + in.size()) {}

  /// Bytes not read yet (a fully read value leaves 0).
  std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }

  struct use_array_optimization {
    template <class T>
    struct apply : public boost::serialization::is_bitwise_serializable<T> {};
  };

  template <class ValueType>
  void load_array(boost::serialization::array_wrapper<ValueType>& a, unsigned int) {
    load_binary(a.address(), a.count() * sizeof(ValueType));
  }

  void load_binary(void* address, std::size_t count) {
    if (count > remaining())
      boost::serialization::throw_exception(
        boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error));
    if (count > 0)
      std::memcpy(address, pos_, count);
    pos_ += count;
  }

protected:
  template <class T>
  void load_override(T& t) {
    this->boost::archive::basic_binary_iarchive<journal_iarchive>::load_override(t);
  }
  /// As basic_binary_iarchive's (exported class names of polymorphic pointers), which is compiled only
  /// for Boost's own archives.
  void load_override(boost::archive::class_name_type& t) {
    std::string cn;
    load(cn);
    if (cn.size() > BOOST_SERIALIZATION_MAX_KEY_SIZE - 1)
      boost::serialization::throw_exception(
        boost::archive::archive_exception(boost::archive::archive_exception::invalid_class_name));
    std::memcpy(t, cn.data(), cn.size());
    t.t[cn.size()] = '\0';
  }

  /// A collection's element count (std::vector, std::map, ...). Every element takes at least one byte of
  /// what remains, so a larger count is corrupt: refused here, before Boost's vector loader resizes the
  /// vector to it (a crafted count would otherwise allocate up to 2^64 elements).
  void load_override(boost::serialization::collection_size_type& t) {
    std::size_t n = 0;
    load_binary(&n, sizeof n);
    if (n > remaining())
      boost::serialization::throw_exception(
        boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error));
    t = boost::serialization::collection_size_type(n);
  }

  template <class T>
  void load(T& t) {
    load_binary(&t, sizeof(T));
  }
  void load(bool& t) {
    unsigned char b = 0;
    load_binary(&b, 1);
    if (b > 1)
      boost::serialization::throw_exception(
        boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error));
    t = b != 0;
  }
  void load(std::string& s) {
    auto l = load_length(1);
    s.assign(pos_, l);
    pos_ += l;
  }
  void load(std::wstring& ws) {
    auto l = load_length(sizeof(wchar_t));
    ws.resize(l);
    load_binary(ws.data(), l * sizeof(wchar_t));
  }
  void load(char* s) {
    auto l = load_length(1);
    load_binary(s, l);
    s[l] = '\0';
  }
  void load(wchar_t* ws) {
    auto l = load_length(sizeof(wchar_t));
    load_binary(ws, l * sizeof(wchar_t));
    ws[l] = L'\0';
  }

private:
  /// A std::size_t length prefix of elements of `size` bytes, checked against the bytes that remain.
  std::size_t load_length(std::size_t size) {
    std::size_t l = 0;
    load_binary(&l, sizeof l);
    if (l > remaining() / size)
      boost::serialization::throw_exception(
        boost::archive::archive_exception(boost::archive::archive_exception::input_stream_error));
    return l;
  }

  const char* pos_;
  const char* end_;
};

} // namespace actors::detail

BOOST_SERIALIZATION_REGISTER_ARCHIVE(actors::detail::journal_oarchive)
BOOST_SERIALIZATION_REGISTER_ARCHIVE(actors::detail::journal_iarchive)
// As for Boost's binary archives: vectors of bitwise-serializable values are one block, no item version.
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(actors::detail::journal_oarchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(actors::detail::journal_iarchive)
