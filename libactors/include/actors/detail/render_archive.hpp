#pragma once
// A write-only, duck-typed "archive" that renders a value as text by calling the same serialize()
// functions Boost.Serialization uses. Only `ar & member` / `ar << member` are supported, which is what
// DESIGN's value types use; anything it does not understand renders as `<?>`.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/serialization/nvp.hpp>

namespace actors::detail {

class render_archive {
public:
  using is_saving = std::true_type;
  using is_loading = std::false_type;

  template <class T>
  render_archive& operator&(const T& x) {
    next();
    write(x);
    return *this;
  }

  template <class T>
  render_archive& operator<<(const T& x) {
    return *this & x;
  }

  unsigned int get_library_version() const noexcept { return 0; }

  /// The rendering, cut to at most `max` characters (bytes), ending in "..." when cut (only dots when
  /// `max` is 3 or less).
  std::string take(std::size_t max) {
    if (out_.size() > max) {
      if (max <= 3)
        return std::string(max, '.');
      auto keep = max - 3;
      // Never cut a UTF-8 sequence in half (a lone lead byte makes the journal's text column invalid
      // UTF-8): back up over the continuation bytes (10xxxxxx) of the character at the cut.
      while (keep > 0 && (static_cast<unsigned char>(out_[keep]) & 0xC0) == 0x80)
        --keep;
      out_.resize(keep);
      out_ += "...";
    }
    return std::move(out_);
  }

private:
  // Whether the current nesting level (one per open bracket, plus the outermost) has written nothing
  // yet: a bit per level in `firsts_`, levels past 63 in `deeper_` (rendering allocates nothing else).
  void next() {
    if (depth_ < 64) {
      auto bit = std::uint64_t{1} << depth_;
      if ((firsts_ & bit) == 0)
        out_ += ", ";
      firsts_ &= ~bit;
    } else {
      if (!deeper_.back())
        out_ += ", ";
      deeper_.back() = false;
    }
  }

  void open_level() {
    ++depth_;
    if (depth_ < 64)
      firsts_ |= std::uint64_t{1} << depth_;
    else
      deeper_.push_back(true);
  }

  void close_level() {
    if (depth_ >= 64)
      deeper_.pop_back();
    --depth_;
  }

  void quote(std::string_view s) {
    out_ += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }

  template <class Range>
  void write_range(const Range& xs, char open, char close) {
    out_ += open;
    open_level();
    for (const auto& x : xs) {
      next();
      write(x);
    }
    close_level();
    out_ += close;
  }

  template <class T>
  void write(const T& x) {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, bool>) {
      out_ += x ? "true" : "false";
    } else if constexpr (std::is_same_v<U, char>) {
      out_ += '\'';
      out_ += x;
      out_ += '\'';
    } else if constexpr (std::is_arithmetic_v<U>) {
      out_ += std::to_string(x);
    } else if constexpr (std::is_enum_v<U>) {
      out_ += std::to_string(static_cast<std::underlying_type_t<U>>(x));
    } else if constexpr (std::is_convertible_v<const U&, std::string_view>) {
      quote(std::string_view{x});
    } else if constexpr (is_nvp<U>::value) {
      write(x.const_value());
    } else if constexpr (is_optional<U>::value) {
      if (x)
        write(*x);
      else
        out_ += "none";
    } else if constexpr (is_pair<U>::value) {
      out_ += '(';
      open_level();
      next();
      write(x.first);
      next();
      write(x.second);
      close_level();
      out_ += ')';
    } else if constexpr (is_map<U>::value) {
      write_range(x, '{', '}');
    } else if constexpr (requires { x.begin(); x.end(); }) {
      write_range(x, '[', ']');
    } else if constexpr (requires(U& y) { y.serialize(*this, 0u); }) {
      out_ += '{';
      open_level();
      const_cast<U&>(x).serialize(*this, 0u);
      close_level();
      out_ += '}';
    } else {
      out_ += "<?>";
    }
  }

  template <class T> struct is_optional : std::false_type {};
  template <class T> struct is_optional<std::optional<T>> : std::true_type {};
  template <class T> struct is_pair : std::false_type {};
  template <class A, class B> struct is_pair<std::pair<A, B>> : std::true_type {};
  template <class T> struct is_map : std::false_type {};
  template <class K, class V, class C, class A>
  struct is_map<std::map<K, V, C, A>> : std::true_type {};
  template <class T> struct is_nvp : std::false_type {};
  template <class T> struct is_nvp<boost::serialization::nvp<T>> : std::true_type {};

  std::string out_;
  std::uint64_t firsts_ = 1; ///< bit n: level n has written nothing yet (level 0: the value itself)
  unsigned depth_ = 0;
  std::vector<bool> deeper_; ///< the same for levels 64 and deeper
};

} // namespace actors::detail
