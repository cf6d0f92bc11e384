#pragma once
// Internal: lists in router error messages ("registered: v1, v2"), and the message an error carries.

#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/message.hpp>

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

/// The message a router error carries (its context is one string).
inline std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return "invalid name or policy";
}

} // namespace actors::detail
