// A journal's name: a path, ":memory:", or an SQLite `file:` URI resolved to its file, so that every
// check of `journal::open` (and the engine's lock) applies to the file whatever the name's form. SQLite
// itself reads "file:" names as URIs even without SQLITE_OPEN_URI (Debian builds it with
// SQLITE_USE_URI=1), so nothing that starts with "file:" is ever handed to it as a path.

#include <cctype>
#include <string>
#include <string_view>
#include <utility>

#include <sqlite3.h>

#include "actors/eventlog/errc.hpp"
#include "actors/eventlog/journal.hpp"

namespace actors::eventlog {

namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size())
    return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i])
      return false;
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/// `part` with its %HH escapes decoded; false if an escape is malformed or decodes to NUL.
bool percent_decode(std::string_view part, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') {
      out += part[i];
      continue;
    }
    if (i + 2 >= part.size())
      return false;
    int hi = hex_value(part[i + 1]), lo = hex_value(part[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
      return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

caf::error refused(const std::string& name, const std::string& why) {
  return make_error(errc::invalid_name, "journal " + name + ": " + why);
}

/// Checks one `key=value` of the URI's query; records mode=rw in `loc`.
caf::error check_parameter(const std::string& name, const std::string& key, const std::string& value,
                           const std::string& vfs, bool writing, journal_location& loc) {
  auto param = key + "=" + value;
  if (key == "mode") {
    if (value == "rwc")
      return {};
    if (value == "rw") {
      loc.must_exist = true;
      return {};
    }
    if (value == "ro")
      return writing ? refused(name, "parameter " + param + " is for read-only opens; this open writes "
                                     "the journal")
                     : caf::error{};
    if (value == "memory")
      return refused(name, "parameter " + param + " is not supported: name an in-memory journal "
                           "\":memory:\"");
    return refused(name, "parameter " + param + ": mode must be ro, rw or rwc");
  }
  if (key == "cache") {
    if (value == "private")
      return {};
    return refused(name, "parameter " + param + " is not supported (a shared cache changes SQLite's "
                         "locking between connections)");
  }
  if (key == "vfs") {
    auto configured = vfs;
    if (configured.empty())
      if (auto* dflt = sqlite3_vfs_find(nullptr))
        configured = dflt->zName;
    if (value == configured)
      return {};
    return refused(name, "parameter " + param + " names another VFS than the journal's ('" +
                           configured + "'): set the VFS in the configuration (journal_options::vfs, "
                           "engine_config::journal_vfs), not in the name");
  }
  if (key == "immutable" || key == "nolock")
    return refused(name, "parameter " + param + " is refused: it turns off SQLite's locking, so "
                         "other connections' writes would go unseen or corrupt the journal");
  return refused(name, "parameter " + param + " is not supported (allowed: mode, cache=private, vfs)");
}

/// A journal is a file: a path that ends in '/', "." or ".." names a directory, whatever is there. The
/// kernel reports "j.db/" as "not a directory", which reads as a missing file, while SQLite opens
/// "j.db" for it: a writable open would have set up the existing file as a new journal, unchecked.
caf::error check_file_name(const std::string& name, std::string_view file) {
  auto last = file.substr(file.find_last_of('/') == std::string_view::npos ? 0 : file.find_last_of('/') + 1);
  if (last.empty() || last == "." || last == "..")
    return refused(name, "the path ends in '" + std::string{last.empty() ? "/" : last} +
                           "', which names a directory: a journal is a file");
  return {};
}

/// The `file:` URI `name` resolved (SQLite's rules for Unix).
caf::expected<journal_location> resolve_uri(const std::string& name, const std::string& vfs,
                                            bool writing) {
  std::string_view rest{name};
  rest.remove_prefix(5); // "file:"
  if (auto hash = rest.find('#'); hash != std::string_view::npos)
    rest = rest.substr(0, hash);
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.starts_with("//")) {
    auto authority_end = rest.find('/', 2);
    auto authority = rest.substr(2, authority_end == std::string_view::npos ? std::string_view::npos
                                                                            : authority_end - 2);
    if (!authority.empty() && authority != "localhost")
      return refused(name, "the URI names host '" + std::string{authority} +
                             "': a journal is a local file (file:///path or file://localhost/path)");
    rest = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  }
  journal_location loc;
  if (!percent_decode(rest, loc.file))
    return refused(name, "the URI's path has a malformed %-escape or an escaped NUL");
  if (loc.file.empty())
    return refused(name, "the URI names no file (SQLite would open a temporary database)");
  if (loc.file == ":memory:") {
    loc.memory = true;
    loc.file.clear();
  }
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    std::string key, value;
    if (!percent_decode(pair.substr(0, eq), key) ||
        !percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), value))
      return refused(name, "the URI's query has a malformed %-escape or an escaped NUL");
    if (auto err = check_parameter(name, key, value, vfs, writing, loc))
      return err;
  }
  if (loc.memory && loc.must_exist)
    return refused(name, "parameter mode=rw does not apply to an in-memory journal");
  // A decoded path that reads as a URI again would be taken as one by SQLite: make it plainly a path.
  if (starts_with_nocase(loc.file, "file:"))
    loc.file = "./" + loc.file;
  return loc;
}

} // namespace

caf::expected<journal_location> resolve_journal_name(const std::string& name, const std::string& vfs,
                                                     bool writing) {
  if (name.empty())
    return make_error(errc::not_found, "journal path is empty");
  if (name == ":memory:")
    return journal_location{true, {}, false};
  if (name.find('\0') != std::string::npos) // the C calls below would see only the part before it
    return refused(name.substr(0, name.find('\0')) + "\\0...", "the name contains a NUL byte");
  auto loc = starts_with_nocase(name, "file:") ? resolve_uri(name, vfs, writing)
                                               : journal_location{false, name, false};
  if (loc && !loc->memory)
    if (auto err = check_file_name(name, loc->file))
      return err;
  return loc;
}

} // namespace actors::eventlog
