#pragma once
// Internal: how an error message shows text that came from outside (a command-line argument, a task id
// to parse, a message from a lower layer that embeds one) — on one line and at most a few hundred bytes,
// however long or strange the input. Every error that quotes user input goes through these.

#include <cstddef>
#include <string>
#include <string_view>

namespace actors::detail {

/// The most bytes of an input an error message quotes.
inline constexpr std::size_t quoted_input_max = 200;

/// `s` with control characters (and DEL) escaped — \n, \r, \t, else \xHH — so it stays on one line,
/// cut after `max` bytes of `s` (never inside a UTF-8 sequence) with "… (N bytes)" appended.
inline std::string clip_input(std::string_view s, std::size_t max = quoted_input_max) {
  std::size_t cut = s.size();
  if (cut > max) {
    cut = max;
    // Back off over continuation bytes (10xxxxxx) so the cut falls between characters.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
      --cut;
  }
  std::string out;
  out.reserve(cut + 16);
  static constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < cut; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else
      out += static_cast<char>(c);
  }
  if (cut < s.size())
    out += "… (" + std::to_string(s.size()) + " bytes)";
  return out;
}

/// `clip_input(s, max)` in single quotes: "'5 minutes'".
inline std::string quote_input(std::string_view s, std::size_t max = quoted_input_max) {
  return "'" + clip_input(s, max) + "'";
}

} // namespace actors::detail
