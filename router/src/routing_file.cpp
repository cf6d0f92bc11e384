#include "actors/routing_file.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

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

/// The message a router error carries (its context is one string).
std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return "invalid policy";
}

std::string quoted(const YAML::Node& n) {
  if (n.IsScalar())
    return "'" + n.Scalar() + "'";
  if (n.IsMap())
    return "a map";
  if (n.IsSequence())
    return "a list";
  return "nothing";
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
      return fe.at(kv.first, key, "unknown key (expected 'functions')");
  }
  auto functions = root["functions"];
  if (!functions || functions.IsNull())
    return out;
  if (!functions.IsMap())
    return fe.at(functions, "functions", "expected a map of function names, found " + quoted(functions));
  for (const auto& fkv : functions) {
    auto fn = fkv.first.as<std::string>();
    auto fpath = "functions." + fn;
    const auto& body = fkv.second;
    if (!body.IsMap())
      return fe.at(fkv.first, fpath, "expected a map with the key 'routing', found " + quoted(body));
    for (const auto& kv : body) {
      auto key = kv.first.as<std::string>();
      if (key != "routing")
        return fe.at(kv.first, fpath + "." + key, "unknown key (expected 'routing')");
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
                   "unknown mode '" + mode + "' (expected primary, shadow or percent)");
    for (const auto& kv : r) {
      auto key = kv.first.as<std::string>();
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        return fe.at(kv.first, rpath + "." + key,
                     "unknown key for mode " + mode + " (expected " + detail::join(keys) + ")");
      }
    }
    auto scalar = [&](const std::string& key) -> caf::expected<std::string> {
      auto n = r[key];
      if (!n)
        return fe.at(r, rpath + "." + key, "missing (mode " + mode + " needs it)");
      if (!n.IsScalar() || n.Scalar().empty())
        return fe.at(n, rpath + "." + key, "expected a version name, found " + quoted(n));
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
                     "unknown version '" + *v + "' of function '" + fn + "' (registered: " +
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

caf::expected<policy_set> load_routing_file(const std::string& path, const router& routes) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return make_error(router_errc::invalid_routing_file, path + ": cannot read the routing file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_routing_file(text.str(), path, routes);
}

} // namespace actors
