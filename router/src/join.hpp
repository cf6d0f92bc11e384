#pragma once
// Internal: lists in router error messages ("registered: v1, v2").

#include <string>
#include <vector>

namespace actors::detail {

/// "a, b, c", or "none" for an empty list.
inline std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs) {
    if (!out.empty())
      out += ", ";
    out += x;
  }
  return out.empty() ? std::string{"none"} : out;
}

} // namespace actors::detail
