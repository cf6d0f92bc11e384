#include "actors/router.hpp"

#include <algorithm>

#include "join.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>

namespace actors {

function_impl::~function_impl() = default;

std::string_view to_string(route_reason x) noexcept {
  switch (x) {
    case route_reason::default_version: return "default";
    case route_reason::pinned: return "pinned";
    case route_reason::policy: return "policy";
    case route_reason::shadow: return "shadow";
    case route_reason::percent: return "percent";
    case route_reason::override_version: return "override";
  }
  return "unknown";
}

std::string describe(const route_decision& d) {
  std::string out{to_string(d.reason)};
  if (d.reason == route_reason::shadow && d.shadow != nullptr)
    out += " " + d.shadow->version;
  if (d.reason == route_reason::percent)
    out += " bucket " + std::to_string(d.bucket) + (d.bucket < d.percent ? " < " : " >= ") +
           std::to_string(d.percent);
  return out;
}

std::string_view to_string(router_errc x) noexcept {
  switch (x) {
    case router_errc::unknown_function: return "unknown_function";
    case router_errc::unknown_version: return "unknown_version";
    case router_errc::invalid_registration: return "invalid_registration";
    case router_errc::invalid_policy: return "invalid_policy";
    case router_errc::invalid_routing_file: return "invalid_routing_file";
    case router_errc::invalid_name: return "invalid_name";
  }
  return "unknown";
}

caf::error make_error(router_errc x, std::string msg) {
  return caf::error{static_cast<std::uint8_t>(x), caf::atom("router"),
                    caf::make_message(std::move(msg))};
}

namespace {

using detail::join;
using detail::message_of;

/// The length of the UTF-8 sequence at the start of `s` and its code point, or 0 if it is not one
/// (overlong, a surrogate, beyond U+10FFFF, cut short).
std::size_t utf8_sequence(std::string_view s, char32_t& cp) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto c0 = b(0);
  std::size_t n = c0 < 0x80 ? 1 : c0 >= 0xC2 && c0 <= 0xDF ? 2 : c0 >= 0xE0 && c0 <= 0xEF ? 3
                : c0 >= 0xF0 && c0 <= 0xF4 ? 4 : 0;
  if (n == 0 || s.size() < n)
    return 0;
  cp = n == 1 ? c0 : n == 2 ? c0 & 0x1F : n == 3 ? c0 & 0x0F : c0 & 0x07;
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (b(i) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

bool is_control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

std::string hex_byte(unsigned char c) {
  static constexpr char digits[] = "0123456789abcdef";
  return std::string{"\\x"} + digits[c >> 4] + digits[c & 0xF];
}

/// One character (or, if not UTF-8, one byte) at the start of `s`, escaped; `used` its length.
std::string escaped(std::string_view s, std::size_t& used) {
  char32_t cp = 0;
  used = utf8_sequence(s, cp);
  if (used == 0) {
    used = 1;
    return hex_byte(static_cast<unsigned char>(s[0]));
  }
  switch (cp) {
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\\': return "\\\\";
    case '\'': return "\\'";
    default: break;
  }
  if (!is_control(cp))
    return std::string{s.substr(0, used)};
  std::string out; // C0 and DEL are one byte, C1 two
  for (std::size_t i = 0; i < used; ++i)
    out += hex_byte(static_cast<unsigned char>(s[i]));
  return out;
}

} // namespace

std::string quoted_name(std::string_view name) {
  constexpr std::size_t shown = 64;
  std::string out = "'";
  std::size_t i = 0;
  while (i < name.size() && i < shown) {
    std::size_t used = 0;
    out += escaped(name.substr(i), used);
    i += used;
  }
  out += "'";
  if (i < name.size())
    out.insert(out.size() - 1, "...").append(" (" + std::to_string(name.size()) + " bytes)");
  return out;
}

caf::error check_name(std::string_view field, std::string_view name) {
  auto refuse = [&](const std::string& what) {
    return make_error(router_errc::invalid_name, std::string{field} + " " + quoted_name(name) + " " + what);
  };
  if (name.empty())
    return make_error(router_errc::invalid_name, std::string{field} + " is empty");
  if (name.size() > max_name_bytes)
    return refuse("is " + std::to_string(name.size()) + " bytes long; at most " +
                  std::to_string(max_name_bytes) + " are allowed");
  for (std::size_t i = 0; i < name.size();) {
    char32_t cp = 0;
    auto n = utf8_sequence(name.substr(i), cp);
    if (n == 0)
      return refuse("is not valid UTF-8 (at byte " + std::to_string(i) + ")");
    if (is_control(cp)) {
      std::size_t used = 0;
      return refuse("contains a control character (" + escaped(name.substr(i), used) + ")");
    }
    if (cp == '@')
      return refuse("contains '@' (the journal writes a call as function@version)");
    i += n;
  }
  return {};
}

router& router::add_entry(std::string name, std::string version,
                          std::shared_ptr<const function_impl> impl) {
  return add_entry(std::make_shared<function_entry>(
    function_entry{std::move(name), std::move(version), std::move(impl)}));
}

router& router::add_entry(std::shared_ptr<function_entry> e) {
  if (!e) {
    problems_.push_back("a null function entry was registered");
    return *this;
  }
  if (auto err = check_name("function name", e->name)) {
    problems_.push_back(message_of(err));
    return *this;
  }
  if (auto err = check_name("version name of function '" + e->name + "'", e->version)) {
    problems_.push_back(message_of(err));
    return *this;
  }
  if (find(e->name, e->version) != nullptr) {
    problems_.push_back("function '" + e->name + "' version '" + e->version + "' registered twice");
    return *this;
  }
  auto& slot = table_[e->name];
  slot.versions.push_back(std::move(e));
  return *this;
}

caf::error router::validate() const {
  if (problems_.empty())
    return {};
  return make_error(router_errc::invalid_registration, problems_.front());
}

caf::expected<route_decision> router::resolve(std::string_view name,
                                              std::string_view pinned) const {
  auto i = table_.find(name);
  if (i == table_.end())
    return make_error(router_errc::unknown_function,
                      "unknown function " + quoted_name(name) + " (registered: " +
                        join(functions()) + ")");
  const auto& vs = i->second.versions;
  if (pinned.empty())
    return route_decision{vs.front().get(), route_reason::default_version};
  for (const auto& e : vs)
    if (e->version == pinned)
      return route_decision{e.get(), route_reason::pinned};
  return make_error(router_errc::unknown_version,
                    "unknown version " + quoted_name(pinned) + " of function '" +
                      std::string{name} + "' (registered: " + join(versions(name)) + ")");
}

const function_entry* router::find(std::string_view name,
                                   std::string_view version) const noexcept {
  auto i = table_.find(name);
  if (i == table_.end())
    return nullptr;
  for (const auto& e : i->second.versions)
    if (e->version == version)
      return e.get();
  return nullptr;
}

std::vector<std::string> router::versions(std::string_view name) const {
  std::vector<std::string> out;
  if (auto i = table_.find(name); i != table_.end())
    for (const auto& e : i->second.versions)
      out.push_back(e->version);
  return out;
}

std::vector<std::string> router::functions() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : table_)
    out.push_back(k);
  return out;
}

} // namespace actors
