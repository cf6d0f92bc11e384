// shop — libactors' flagship example. `shop demo` serves a few page requests as durable tasks, prints the
// pages, then prints the journal of the first request's whole call tree, then shadow-tests lookupUser
// v2 and v3 against v1 on live requests and prints what the shadow runs found. See README.md.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "catalog.hpp"
#include "journal_view.hpp"
#include "shop.hpp"

namespace {

constexpr const char* catalog_file = "shop-catalog.db";

constexpr const char* usage_text = R"(usage: shop <command> [options]

A small web shop whose request handler is a durable libactors task: handleRequest calls
lookupUser and listItems as child tasks, which read a SQLite catalog through journaled effects.

commands:
  demo      serve a few requests, print the pages and the first request's journal, then
            shadow-test lookupUser v2 and v3 against v1 and print the divergences
  get UID   serve one page request for user UID and print the page (or the error) and its task
  help      print this help
  task, route, replay, divergences, log, serve
            libactors' command line on the shop's journal (run 'shop task --help')

demo options:
  --journal PATH    journal file (default: shop.db in the working directory)
  --requests N      number of requests to serve, one per user (default: 5)
  --verbose         also show the engine's and the tasks' log lines on stderr

The catalog is shop-catalog.db in the working directory, created and filled on first run.
)";

int usage_error(const std::string& msg) {
  std::cerr << "shop: " << msg << "\n(run 'shop --help' for usage)\n";
  return 2;
}

int fail(const std::string& msg) {
  std::cerr << "shop: error: " << msg << '\n';
  return 1;
}

struct demo_options {
  std::string journal = "shop.db";
  int requests = 5;
  bool verbose = false;
};

/// Parses `demo`'s options. Returns an exit code if the program should stop (help or bad usage).
std::optional<int> parse_demo(const std::vector<std::string_view>& args, demo_options& opts) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto a = args[i];
    std::string_view value;
    bool has_value = false;
    auto take_value = [&](std::string_view flag) -> bool {
      if (a.size() > flag.size() && a.substr(0, flag.size()) == flag && a[flag.size()] == '=') {
        value = a.substr(flag.size() + 1);
        return has_value = true;
      }
      if (a == flag) {
        if (i + 1 >= args.size())
          return false;
        value = args[++i];
        return has_value = true;
      }
      return false;
    };
    if (a == "-h" || a == "--help") {
      std::cout << usage_text;
      return 0;
    } else if (a == "--verbose" || a == "-v") {
      opts.verbose = true;
    } else if (a.starts_with("--journal")) {
      if (!take_value("--journal") || value.empty())
        return usage_error("--journal needs a file path");
      opts.journal = std::string{value};
    } else if (a.starts_with("--requests")) {
      if (!take_value("--requests"))
        return usage_error("--requests needs a number");
      int n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size() || n < 1 || n > 10000)
        return usage_error("--requests wants a whole number from 1 to 10000, not '" +
                           std::string{value} + "'");
      opts.requests = n;
    } else {
      (void)has_value;
      return usage_error("demo: unknown option '" + std::string{a} + "'");
    }
  }
  return std::nullopt;
}

/// Starts `n` page requests (users in turn), waits for them all; an error message, or empty.
std::string serve(actors::engine& eng, int n, std::int64_t users, std::vector<actors::task_id>* ids) {
  std::vector<actors::task_id> started;
  for (int i = 0; i < n; ++i) {
    auto id = eng.start("handleRequest", shop::Request{i % users + 1, "/cart"});
    if (!id)
      return "cannot start request " + std::to_string(i + 1) + ": " + actors::describe(id.error());
    started.push_back(*id);
  }
  for (auto id : started)
    if (auto page = eng.wait<shop::Page>(id); !page)
      return "request (task " + actors::to_string(id) + ") failed: " + actors::describe(page.error());
  if (ids != nullptr)
    *ids = std::move(started);
  return {};
}

/// 5. Versions: lookupUser v2 and v3 shadow v1 on live requests, then what the shadow runs found.
int shadow_demo(actors::engine& eng, int requests, std::int64_t users) {
  std::cout << fmt::format("\nShadow-testing lookupUser v2 and v3 against v1 on {} live requests each "
                           "(v1 serves every request;\nthe candidate then runs against v1's journal, "
                           "executing nothing):\n\n",
                           requests);
  for (const char* candidate : {"v2", "v3"}) {
    if (auto ok = eng.set_policy("lookupUser", actors::policy::shadow("v1", candidate)); !ok)
      return fail("cannot set the shadow policy: " + actors::describe(ok.error()));
    if (auto err = serve(eng, requests, users, nullptr); !err.empty())
      return fail(err);
    eng.drain(); // shadow runs included
  }
  eng.clear_policy("lookupUser");
  std::cout << fmt::format("  {:<12}{:<9}{:<11}{:>6}{:>9}{:>13}\n", "function", "primary", "candidate",
                           "runs", "matches", "divergences");
  for (const auto& c : eng.shadow_stats())
    std::cout << fmt::format("  {:<12}{:<9}{:<11}{:>6}{:>9}{:>13}\n", c.function, c.primary,
                             c.candidate, c.runs, c.matches, c.divergences);
  auto found = eng.divergences("lookupUser");
  auto v3 = std::find_if(found.begin(), found.end(),
                         [](const auto& d) { return d.candidate_version == "v3"; });
  if (v3 != found.end()) {
    auto where = v3->position < 0 ? std::string{"the output"}
                                  : "effect #" + std::to_string(v3->position + 1) + " (" + v3->what + ")";
    std::cout << fmt::format("\nNewest divergence of v3 ({} recorded in {}): task {}, {} {} -> {}, at "
                             "{}:\n",
                             found.size(), eng.journal()->path(),
                             actors::to_string(actors::task_id{v3->task}), v3->function,
                             v3->primary_version, v3->candidate_version, where)
              << "  primary   " << v3->primary_side << '\n'
              << "  candidate " << v3->candidate_side << '\n';
  }
  return 0;
}

/// `shop get UID [--journal PATH]`: serves one page request; prints the page, or the error, and the task.
int run_get(const std::vector<std::string_view>& args) {
  std::string journal = "shop.db";
  std::optional<std::int64_t> uid;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--journal" && i + 1 < args.size()) {
      journal = std::string{args[++i]};
      continue;
    }
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(args[i].data(), args[i].data() + args[i].size(), n);
    if (ec != std::errc{} || end != args[i].data() + args[i].size() || uid)
      return usage_error("get: expected one user id (a whole number), not '" + std::string{args[i]} + "'");
    uid = n;
  }
  if (!uid)
    return usage_error("get: give a user id, e.g. 'shop get 3'");
  auto cat = std::make_shared<const shop::catalog>(catalog_file);
  cat->seed();
  actors::engine_config cfg;
  cfg.journal = journal;
  cfg.log_level = "warn";
  actors::engine eng{cfg, shop::make_routes(), shop::make_effects(cat)};
  if (auto err = eng.status())
    return fail("cannot start the engine: " + actors::describe(err));
  auto id = eng.start("handleRequest", shop::Request{*uid, "/cart"});
  if (!id)
    return fail(actors::describe(id.error()));
  auto page = eng.wait<shop::Page>(*id);
  if (!page) {
    std::cout << "task " << actors::to_string(*id) << " failed: " << actors::describe(page.error())
              << '\n';
    return 1;
  }
  std::cout << "task " << actors::to_string(*id) << '\n' << page->render();
  return 0;
}

int run_demo(const demo_options& opts) {
  // 1. The catalog: a real SQLite file that the effect handlers query.
  auto cat = std::make_shared<const shop::catalog>(catalog_file);
  std::int64_t users = 0;
  try {
    cat->seed();
    users = cat->user_count();
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  if (users < 1)
    return fail(std::string{"catalog "} + catalog_file + " has no users");

  // 2. The engine: functions, effect handlers, journal.
  actors::engine_config cfg;
  cfg.journal = opts.journal;
  cfg.log_level = opts.verbose ? "info" : "warn";
  actors::engine eng{cfg, shop::make_routes(), shop::make_effects(cat)};
  if (auto err = eng.status())
    return fail("cannot start the engine: " + actors::describe(err));

  // 3. Start every request first (they run concurrently), then wait for each in turn.
  std::vector<actors::task_id> ids;
  std::vector<std::int64_t> uids;
  for (int i = 0; i < opts.requests; ++i) {
    std::int64_t uid = i % users + 1;
    auto id = eng.start("handleRequest", shop::Request{uid, "/cart"});
    if (!id)
      return fail("cannot start request " + std::to_string(i + 1) + ": " +
                  actors::describe(id.error()));
    ids.push_back(*id);
    uids.push_back(uid);
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto page = eng.wait<shop::Page>(ids[i]);
    if (!page) {
      auto code = fail("request " + std::to_string(i + 1) + " (task " + actors::to_string(ids[i]) +
                       ") failed: " + actors::describe(page.error()));
      if (auto* journal = eng.journal()) { // show what happened, if the journal can tell
        std::cout << "\nJournal of the failed request:\n\n";
        (void)shop::print_call_tree(*journal, ids[i].value(), std::cout, shop::terminal_options());
      }
      return code;
    }
    std::cout << fmt::format("request {}/{} · user {} · task {}\n", i + 1, ids.size(), uids[i],
                             actors::to_string(ids[i]))
              << page->render() << '\n';
  }
  eng.drain();

  // 4. The first request's journal, with its whole call tree.
  auto* journal = eng.journal();
  if (journal == nullptr)
    return fail("the engine has no journal");
  std::cout << fmt::format("Journal of request 1 (task {}) and the tasks it called, from {}:\n\n",
                           actors::to_string(ids.front()), journal->path());
  if (auto err = shop::print_call_tree(*journal, ids.front().value(), std::cout,
                                       shop::terminal_options()))
    return fail("cannot read the journal: " + actors::describe(err));

  auto st = eng.stats();
  std::cout << fmt::format("\n{} tasks started, {} completed, {} failed; {} effects executed, "
                           "{} answered from the journal.\n",
                           st.started, st.completed, st.failed, st.effects_executed,
                           st.effects_replayed);
  if (auto code = shadow_demo(eng, opts.requests, users); code != 0)
    return code;
  std::cout.flush();
  return std::cout ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << usage_text;
    return 0;
  }
  auto cmd = args[0];
  args.erase(args.begin());
  if (cmd == "get") {
    try {
      return run_get(args);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }
  if (cmd != "demo") {
    // Everything else is libactors' command line (task list|show|replay, divergences, log, serve) on
    // the shop's functions and effects.
    auto cat = std::make_shared<const shop::catalog>(catalog_file);
    actors::cli_options opts;
    opts.default_journal = "shop.db";
    opts.description = "the libactors shop example (see 'shop demo')";
    return actors::engine_main(argc, argv, shop::make_routes(), shop::make_effects(cat), opts);
  }
  {
    demo_options opts;
    if (auto code = parse_demo(args, opts))
      return *code;
    try {
      return run_demo(opts);
    } catch (const std::exception& e) {
      return fail(e.what());
    }
  }
}
