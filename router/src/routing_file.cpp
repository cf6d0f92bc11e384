#include "actors/routing_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

#include <caf/message.hpp>
#include <yaml-cpp/yaml.h>

#include "join.hpp"

namespace actors {

namespace {

/// Errors carry "source:line: path: what".
struct file_error {
  std::string source;

  caf::error at(const YAML::Node& n, const std::string& path, const std::string& what,
                router_errc code = router_errc::invalid_routing_file) const {
    auto line = n.Mark().is_null() ? std::string{} : std::to_string(n.Mark().line + 1) + ":";
    return make_error(code, source + ":" + line + " " + path + ": " + what);
  }
};

using detail::message_of;

std::string quoted(const YAML::Node& n) {
  if (n.IsScalar())
    return quoted_name(n.Scalar());
  if (n.IsMap())
    return "a map";
  if (n.IsSequence())
    return "a list";
  return "nothing";
}

/// A key as it shows in an error's path: as it is if it is a fit name, else quoted and escaped (a key
/// may hold anything, a newline too).
std::string key_text(const std::string& key) {
  return check_name("key", key) ? quoted_name(key) : key;
}

caf::expected<policy_set> parse(const YAML::Node& root, const file_error& fe, const router& routes) {
  policy_set out;
  if (!root || root.IsNull())
    return out; // an empty file: no policies
  if (!root.IsMap())
    return fe.at(root, "(top level)", "expected a map with the key 'functions', found " + quoted(root));
  for (const auto& kv : root) {
    auto key = kv.first.as<std::string>();
    if (key != "functions")
      return fe.at(kv.first, key_text(key), "unknown key (expected 'functions')");
  }
  auto functions = root["functions"];
  if (!functions || functions.IsNull())
    return out;
  if (!functions.IsMap())
    return fe.at(functions, "functions", "expected a map of function names, found " + quoted(functions));
  for (const auto& fkv : functions) {
    auto fn = fkv.first.as<std::string>();
    if (auto err = check_name("function name", fn))
      return fe.at(fkv.first, "functions", message_of(err));
    auto fpath = "functions." + fn;
    const auto& body = fkv.second;
    if (!body.IsMap())
      return fe.at(fkv.first, fpath, "expected a map with the key 'routing', found " + quoted(body));
    for (const auto& kv : body) {
      auto key = kv.first.as<std::string>();
      if (key != "routing")
        return fe.at(kv.first, fpath + "." + key_text(key), "unknown key (expected 'routing')");
    }
    auto r = body["routing"];
    auto rpath = fpath + ".routing";
    if (!r || !r.IsMap())
      return fe.at(r ? r : fkv.first, rpath, "expected a map with 'mode' and versions, found " +
                                               quoted(r));
    auto mode_node = r["mode"];
    if (!mode_node)
      return fe.at(r, rpath + ".mode", "missing (expected primary, shadow or percent)");
    if (!mode_node.IsScalar())
      return fe.at(mode_node, rpath + ".mode", "expected primary, shadow or percent, found " +
                                                  quoted(mode_node));
    auto mode = mode_node.Scalar();
    // Allowed keys per mode; each is required.
    std::vector<std::string> keys;
    if (mode == "primary")
      keys = {"mode", "primary"};
    else if (mode == "shadow")
      keys = {"mode", "primary", "shadow"};
    else if (mode == "percent")
      keys = {"mode", "primary", "candidate", "percent"};
    else
      return fe.at(mode_node, rpath + ".mode",
                   "unknown mode " + quoted_name(mode) + " (expected primary, shadow or percent)");
    for (const auto& kv : r) {
      auto key = kv.first.as<std::string>();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        return fe.at(kv.first, rpath + "." + key_text(key),
                     "unknown key for mode " + mode + " (expected " + detail::join(keys) + ")");
      }
    }
    auto scalar = [&](const std::string& key) -> caf::expected<std::string> {
      auto n = r[key];
      if (!n)
        return fe.at(r, rpath + "." + key, "missing (mode " + mode + " needs it)");
      if (!n.IsScalar() || n.Scalar().empty())
        return fe.at(n, rpath + "." + key, "expected a version name, found " + quoted(n));
      if (auto err = check_name("version name", n.Scalar()))
        return fe.at(n, rpath + "." + key, message_of(err));
      return n.Scalar();
    };
    auto version = [&](const std::string& key) -> caf::expected<std::string> {
      auto v = scalar(key);
      if (!v)
        return v;
      if (routes.versions(fn).empty()) {
        return fe.at(fkv.first, fpath, "unknown function '" + fn + "' (registered: " +
                                         detail::join(routes.functions()) + ")",
                     router_errc::unknown_function);
      }
      if (routes.find(fn, *v) == nullptr) {
        return fe.at(r[key], rpath + "." + key,
                     "unknown version " + quoted_name(*v) + " of function '" + fn + "' (registered: " +
                       detail::join(routes.versions(fn)) + ")",
                     router_errc::unknown_version);
      }
      return v;
    };
    routing_policy p;
    auto primary = version("primary");
    if (!primary)
      return std::move(primary.error());
    if (mode == "primary") {
      p = policy::primary(*primary);
    } else if (mode == "shadow") {
      auto cand = version("shadow");
      if (!cand)
        return std::move(cand.error());
      p = policy::shadow(*primary, *cand);
    } else {
      auto cand = version("candidate");
      if (!cand)
        return std::move(cand.error());
      auto pn = r["percent"];
      if (!pn)
        return fe.at(r, rpath + ".percent", "missing (mode percent needs it)");
      int pct = -1;
      try {
        pct = pn.as<int>();
      } catch (const YAML::Exception&) {
        return fe.at(pn, rpath + ".percent", "expected a whole number 0..100, found " + quoted(pn));
      }
      p = policy::percent(*primary, *cand, pct);
    }
    if (auto err = routing_table::check(routes, fn, p))
      return fe.at(mode_node, rpath, message_of(err), static_cast<router_errc>(err.code()));
    out.insert_or_assign(fn, std::move(p));
  }
  return out;
}

} // namespace

caf::expected<policy_set> parse_routing_file(std::string_view text, std::string_view source,
                                             const router& routes) {
  file_error fe{std::string{source}};
  YAML::Node root;
  try {
    root = YAML::Load(std::string{text});
  } catch (const YAML::ParserException& e) {
    return make_error(router_errc::invalid_routing_file,
                      fe.source + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    return make_error(router_errc::invalid_routing_file, fe.source + ": " + e.what());
  }
  try {
    return parse(root, fe, routes);
  } catch (const YAML::Exception& e) {
    return make_error(router_errc::invalid_routing_file,
                      fe.source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

namespace {

/// Why a file of mode `mode` is not read, or nullptr for a regular file.
const char* not_regular(mode_t mode) {
  if (S_ISREG(mode))
    return nullptr;
  if (S_ISDIR(mode))
    return "is a directory";
  if (S_ISFIFO(mode))
    return "is a FIFO";
  if (S_ISCHR(mode))
    return "is a character device";
  if (S_ISBLK(mode))
    return "is a block device";
  if (S_ISSOCK(mode))
    return "is a socket";
  return "is not a regular file";
}

std::string errno_text(int e) {
  switch (e) {
    case ENOENT: return "does not exist";
    case EACCES:
    case EPERM: return "permission denied";
    default: return std::generic_category().message(e);
  }
}

/// Closes a descriptor on every path.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

caf::expected<std::string> read_routing_file(const std::string& path) {
  auto fail = [&](const std::string& why) {
    return make_error(router_errc::invalid_routing_file, path + ": cannot read the routing file: " + why);
  };
  auto refuse_type = [&](mode_t mode) {
    return fail(std::string{not_regular(mode)} + " (a routing file must be a regular file)");
  };
  auto limit = std::to_string(max_routing_file_bytes) + " bytes (1 MiB)";
  auto too_large = [&](std::uint64_t n) {
    return fail("is " + std::to_string(n) + " bytes, more than the limit of " + limit);
  };
  // Look before opening: opening a device can have effects of its own.
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    return fail(errno_text(errno));
  if (not_regular(st.st_mode) != nullptr)
    return refuse_type(st.st_mode);
  // O_NONBLOCK: should the path have become a FIFO since, the open does not wait for a writer.
  fd_guard f{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)};
  if (f.fd < 0)
    return fail(errno_text(errno));
  if (::fstat(f.fd, &st) != 0)
    return fail(errno_text(errno));
  if (not_regular(st.st_mode) != nullptr) // replaced between stat and open
    return refuse_type(st.st_mode);
  if (static_cast<std::uint64_t>(st.st_size) > max_routing_file_bytes)
    return too_large(static_cast<std::uint64_t>(st.st_size));
  // Read at most one byte past the limit: the file may grow while it is read (and /proc files report
  // size 0).
  std::string text;
  text.resize(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), max_routing_file_bytes) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == text.size()) {
      if (used > max_routing_file_bytes)
        return fail("holds more than the limit of " + limit);
      text.resize(std::min(2 * used, max_routing_file_bytes + 1));
    }
    auto n = ::read(f.fd, text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail(errno_text(errno));
    if (n == 0)
      break;
    used += static_cast<std::size_t>(n);
  }
  text.resize(used);
  return text;
}

caf::expected<policy_set> load_routing_file(const std::string& path, const router& routes) {
  auto text = read_routing_file(path);
  if (!text)
    return std::move(text.error());
  return parse_routing_file(*text, path, routes);
}

} // namespace actors
