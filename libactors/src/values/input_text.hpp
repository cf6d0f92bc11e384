#pragma once
// Internal: how an error message shows text that came from outside (a command-line argument, a task id
// to parse, a message from a lower layer that embeds one) — on one line and at most a few hundred bytes,
// however long or strange the input. Every error that quotes user input goes through these.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace actors::detail {

/// The most bytes of an input an error message quotes.
inline constexpr std::size_t quoted_input_max = 200;

/// `s` with control characters (and DEL) escaped — \n, \r, \t, else \xHH — so it stays on one line,
/// cut where the escaped text would pass `max` bytes (so at most `max` bytes of `s`, never inside a
/// UTF-8 sequence), with "… (N bytes)" appended when cut.
inline std::string clip_input(std::string_view s, std::size_t max = quoted_input_max) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(s.size(), max) + 16);
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    char esc[4] = {'\\', 0, 0, 0};
    std::size_t n = 2;
    if (c == '\n')
      esc[1] = 'n';
    else if (c == '\r')
      esc[1] = 'r';
    else if (c == '\t')
      esc[1] = 't';
    else if (c < 0x20 || c == 0x7f) {
      esc[1] = 'x';
      esc[2] = hex[c >> 4];
      esc[3] = hex[c & 0xf];
      n = 4;
    } else {
      esc[0] = static_cast<char>(c);
      n = 1;
    }
    if (out.size() + n > max)
      break;
    out.append(esc, n);
  }
  if (i == s.size())
    return out;
  // Back off over continuation bytes (10xxxxxx, copied as they are) so the cut falls between characters.
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) {
    --i;
    out.pop_back();
  }
  return out + "… (" + std::to_string(s.size()) + " bytes)";
}

/// `clip_input(s, max)` in single quotes: "'5 minutes'".
inline std::string quote_input(std::string_view s, std::size_t max = quoted_input_max) {
  return "'" + clip_input(s, max) + "'";
}

} // namespace actors::detail
