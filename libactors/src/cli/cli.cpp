// actors::engine_main: the command line of every application binary and of tools/engine (see
// <actors/engine_main.hpp>). CLI11 parses; this file holds the subcommands that run the application's code
// (serve, task replay, replay); those that need only the journal are in cli_inspect.cpp, the shared
// parsing and rendering in cli_support.cpp.

#include "actors/engine_main.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <unistd.h>

#include "actors/engine.hpp"
#include "actors/eventlog/journal.hpp"
#include "actors/routing.hpp"

#include "cli/cli_support.hpp"

namespace actors {

namespace {

using namespace cli;

int task_replay(const globals& g, const router& routes, const effects& fx,
                const std::string& id_text, const std::vector<std::string>& versions) {
  auto id = parse_task_id(id_text);
  replay_options opts;
  for (auto& v : versions)
    opts.versions.insert(parse_assignment(v, "--version"));
  if (routes.functions().empty())
    throw usage_problem{"task replay runs the application's code: run it from the application's "
                        "binary (actors::engine_main), not from the standalone engine tool"};
  { // a clear "no such task" before an engine starts
    auto j = open_journal(g.journal);
    need_task(*j, id);
  }
  engine_config cfg;
  cfg.journal = g.journal;
  cfg.resume = false; // a replay must not take over another process's unfinished tasks
  cfg.log_level = "warn";
  engine eng{cfg, routes, fx};
  if (auto err = eng.status())
    throw usage_problem{describe(err)};
  auto r = eng.replay(id, opts);
  if (!r)
    throw usage_problem{describe(r.error())};
  if (g.json) {
    json out{{"task", to_string(r->task)},
             {"function", r->function},
             {"recorded_version", r->recorded_version},
             {"replayed_version", r->replayed_version},
             {"logs", r->logs},
             {"recorded_effects", r->recorded_effects},
             {"replayed_effects", r->replayed_effects},
             {"recorded_output", r->recorded_output},
             {"replayed_output", r->replayed_output},
             {"diverged", r->diverged()}};
    if (auto& d = r->divergence)
      out["divergence"] = json{{"position", d->position},
                               {"what", d->what},
                               {"recorded", d->recorded},
                               {"replayed", d->replayed}};
    std::cout << dump(out) << '\n';
    return r->diverged() ? 1 : 0;
  }
  auto plural = [](std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::string swapped;
  for (auto& [fn, v] : r->swapped)
    swapped += (swapped.empty() ? " with " : ", ") + fn + "@" + v;
  std::cout << fmt::format("replay of task {} ({}@{}){}: {}, {} recorded\n", to_string(r->task),
                           r->function, r->recorded_version, swapped,
                           plural(r->recorded_tasks, "task", "tasks"),
                           plural(r->recorded_effects, "effect", "effects"));
  if (!r->logs.empty()) {
    std::cout << "logs:\n";
    for (auto& line : r->logs)
      std::cout << "  " << line << '\n';
  }
  if (!r->diverged()) {
    std::cout << fmt::format("matches the recording: {} answered from the journal, {} {}\n",
                             plural(r->replayed_effects, "effect", "effects"),
                             r->replay_failed ? "error" : "output", r->replayed_output);
    return 0;
  }
  auto& d = *r->divergence;
  std::cout << fmt::format("diverges at {} ({}):\n", position_text(d.position), d.what);
  side_by_side(std::cout, "recorded", d.recorded, "replayed", d.replayed);
  return 1;
}

/// Regression replay: every recorded task of `function` (finished, within `since`, newest first, at most
/// `limit`) replayed with `into` (F=V) on a few threads; a progress bar on a terminal; exit 1 if any
/// diverged, 2 if any could not be replayed.
int replay_many(const globals& g, const router& routes, const effects& fx,
                const std::string& function, const std::string& into, const std::string& since,
                std::size_t limit) {
  auto [fn, version] = parse_assignment(into, "--into");
  if (routes.functions().empty())
    throw usage_problem{"replay runs the application's code: run it from the application's binary "
                        "(actors::engine_main), not from the standalone engine tool"};
  if (routes.versions(function).empty())
    throw usage_problem{"replay --function: no function " + quote_input(function) + " is registered"};
  if (routes.find(fn, version) == nullptr)
    throw usage_problem{"replay --into: " + quote_input(fn + "@" + version) + " is not registered"};
  std::vector<task_id> ids;
  {
    auto j = open_journal(g.journal);
    el::task_filter f;
    f.function = function;
    if (!since.empty())
      f.since = now_ns() - parse_duration(since);
    for (auto& t : need(j->list_tasks(f))) {
      if (t.status != el::task_status::completed && t.status != el::task_status::failed)
        continue;
      ids.push_back(task_id{t.id});
      if (limit != 0 && ids.size() == limit)
        break;
    }
  }
  engine_config cfg;
  cfg.journal = g.journal;
  cfg.resume = false;
  cfg.log_level = "warn";
  engine eng{cfg, routes, fx};
  if (auto err = eng.status())
    throw usage_problem{describe(err)};
  replay_options opts;
  opts.versions.emplace(fn, version);

  struct outcome {
    std::optional<replay_report> report;
    std::string error;
  };
  std::vector<outcome> results(ids.size());
  std::atomic<std::size_t> next{0}, done{0};
  bool bar = !g.json && isatty(2) != 0;
  auto threads = std::max<std::size_t>(2, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < std::min(threads, ids.size()); ++t)
    workers.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < ids.size();) {
        auto r = eng.replay(ids[i], opts);
        if (r)
          results[i].report = std::move(*r);
        else
          results[i].error = describe(r.error());
        done.fetch_add(1);
      }
    });
  if (bar) {
    while (done.load() < ids.size()) {
      auto n = done.load();
      auto filled = ids.empty() ? 40 : n * 40 / ids.size();
      std::cerr << "\r[" << std::string(filled, '#') << std::string(40 - filled, '.') << "] " << n << "/"
                << ids.size() << std::flush;
      std::this_thread::sleep_for(std::chrono::milliseconds{100}); // a progress bar's refresh
    }
    std::cerr << "\r" << std::string(60, ' ') << "\r";
  }
  for (auto& w : workers)
    w.join();

  std::size_t matched = 0, diverged = 0, errors = 0;
  json list = json::array();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto& o = results[i];
    if (!o.report) {
      ++errors;
      list.push_back(json{{"task", to_string(ids[i])}, {"error", o.error}});
      continue;
    }
    if (!o.report->diverged()) {
      ++matched;
      continue;
    }
    ++diverged;
    auto& d = *o.report->divergence;
    list.push_back(json{{"task", to_string(ids[i])},
                        {"position", d.position},
                        {"what", d.what},
                        {"recorded", d.recorded},
                        {"replayed", d.replayed}});
  }
  if (g.json) {
    std::cout << dump(json{{"function", function}, {"into", fn + "@" + version},
                           {"replayed", ids.size()}, {"matched", matched}, {"diverged", diverged},
                           {"errors", errors}, {"tasks", list}})
              << '\n';
  } else {
    std::size_t shown = 0;
    for (auto& x : list) {
      if (++shown > 10)
        break;
      if (x.contains("error"))
        std::cout << "  task " << x["task"].get<std::string>() << ": error: "
                  << x["error"].get<std::string>() << '\n';
      else
        std::cout << fmt::format("  task {}: diverges at {} ({}): {} | {}\n",
                                 x["task"].get<std::string>(), position_text(x["position"].get<std::int64_t>()),
                                 x["what"].get<std::string>(), x["recorded"].get<std::string>(),
                                 x["replayed"].get<std::string>());
    }
    if (list.size() > 10)
      std::cout << "  ... and " << list.size() - 10 << " more\n";
    std::cout << fmt::format("replayed {} task(s) of {} with {}@{}: {} matched, {} diverged, {} error(s)\n",
                             ids.size(), function, fn, version, matched, diverged, errors);
  }
  return errors != 0 ? 2 : diverged != 0 ? 1 : 0;
}

int serve(const globals& g, const router& routes, const effects& fx, const std::string& routing_file) {
  if (routes.functions().empty())
    throw usage_problem{"serve runs the application's code: run it from the application's binary "
                        "(actors::engine_main), not from the standalone engine tool"};
  // Every thread the engine starts inherits this mask: the signals reach only sigwait below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  engine_config cfg;
  cfg.journal = g.journal;
  cfg.routing_file = routing_file;
  engine eng{cfg, routes, fx};
  if (auto err = eng.status())
    throw usage_problem{describe(err)};
  auto st = eng.stats();
  std::cerr << fmt::format("serving {} function(s) on journal {} ({} unfinished task(s) resumed); "
                           "SIGINT or SIGTERM drains and stops\n",
                           routes.functions().size(), g.journal, st.resumed);
  int sig = 0;
  sigwait(&stop, &sig);
  std::cerr << "draining...\n";
  eng.drain();
  std::cerr << "stopped\n";
  return 0;
}

} // namespace

int engine_main(int argc, char** argv, const router& routes, const effects& fx,
                const cli_options& opts) {
  std::string program = argc > 0 ? std::filesystem::path{argv[0]}.filename().string() : "engine";
  CLI::App app{program + ": " + opts.description, program};
  app.require_subcommand(1);
  globals g;
  g.journal = opts.default_journal;
  app.add_option("--journal", g.journal, "the journal file (SQLite)")
    ->default_str(opts.default_journal);
  app.add_flag("--json", g.json, "print data as JSON");

  std::string routing_file;
  auto* serve_cmd = app.add_subcommand("serve", "run the engine until SIGINT or SIGTERM, then drain");
  serve_cmd->add_option("--routing-file", routing_file, "a YAML routing file to apply and watch");

  auto* task_cmd = app.add_subcommand("task", "list, show and replay tasks");
  task_cmd->require_subcommand(1);
  std::string function, status, since, id_text;
  std::string limit; // parsed by parse_limit: CLI11 takes "-1" for a size_t as 2^64 - 1
  std::vector<std::string> versions;
  auto* list_cmd = task_cmd->add_subcommand("list", "tasks, newest first");
  list_cmd->add_option("--function", function, "only tasks of this function");
  list_cmd->add_option("--status", status, "running, completed, failed or cancelled");
  list_cmd->add_option("--since", since, "only tasks created within this duration (e.g. 1h)");
  auto* list_limit =
    list_cmd->add_option("--limit", limit, "at most this many (1 to 1000000000; 0: no limit)");
  auto* show_cmd = task_cmd->add_subcommand("show", "a task's call tree, event by event");
  show_cmd->add_option("id", id_text, "task id (16 hex digits)")->required();
  auto* cancel_cmd = task_cmd->add_subcommand("cancel", "cancel a running task and its calls");
  cancel_cmd->add_option("id", id_text, "task id (16 hex digits)")->required();
  auto* replay_cmd =
    task_cmd->add_subcommand("replay", "re-run a task from its journal and compare (exit 1: diverges)");
  replay_cmd->add_option("id", id_text, "task id (16 hex digits)")->required();
  replay_cmd->add_option("--version", versions, "run FUNCTION=VERSION instead of the recorded one");

  auto* div_cmd = app.add_subcommand("divergences", "what shadow runs found, newest first");
  div_cmd->add_option("function", function, "only this function");
  auto* div_limit = div_cmd->add_option("--limit", limit, "at most this many (1 to 1000000000; 0: no limit)");

  auto* route_cmd = app.add_subcommand("route", "routes set at run time, kept in the journal");
  route_cmd->require_subcommand(1);
  auto* route_show_cmd = route_cmd->add_subcommand("show", "the routes set at run time");
  route_change change;
  auto* route_set_cmd = route_cmd->add_subcommand(
    "set", "route F: --version V [--task ID] | --shadow V [--primary V] | --percent P --candidate V");
  route_set_cmd->add_option("function", change.function, "the function")->required();
  route_set_cmd->add_option("--version", change.version, "every call (or, with --task, that tree's) to V");
  route_set_cmd->add_option("--task", change.task, "only the call tree rooted at this task");
  route_set_cmd->add_option("--shadow", change.shadow, "shadow-run V after each call of the primary");
  std::string percent; // parsed by parse_percent: CLI11 reads "010" as octal 8 and "0x10" as 16
  auto* percent_opt =
    route_set_cmd->add_option("--percent", percent, "send P% of call trees to the candidate (0 to 100)");
  route_set_cmd->add_option("--candidate", change.candidate, "the candidate of --percent");
  route_set_cmd->add_option("--primary", change.primary, "the primary of --shadow / --percent");
  std::string clear_fn, clear_task;
  auto* route_clear_cmd = route_cmd->add_subcommand("clear", "remove a route set at run time");
  route_clear_cmd->add_option("function", clear_fn, "the function")->required();
  route_clear_cmd->add_option("--task", clear_task, "the override of this task's tree");

  std::string many_fn, many_into, many_since;
  std::string many_limit;
  auto* replay_many_cmd = app.add_subcommand(
    "replay", "regression replay: replay recorded tasks of a function into a version (exit 1: any diverged)");
  replay_many_cmd->add_option("--function", many_fn, "replay the recorded tasks of this function")
    ->required();
  replay_many_cmd->add_option("--into", many_into, "FUNCTION=VERSION to run instead")->required();
  replay_many_cmd->add_option("--since", many_since, "only tasks created within this duration");
  auto* many_limit_opt = replay_many_cmd->add_option(
    "--limit", many_limit, "at most this many tasks, newest first (1 to 1000000000; 0: no limit)");

  auto* sup_cmd = app.add_subcommand("sup", "supervision trees, as their engines last reported them");
  sup_cmd->require_subcommand(1);
  auto* sup_tree_cmd =
    sup_cmd->add_subcommand("tree", "supervisors, their children, states and restart counts");

  bool follow = false;
  auto* log_cmd = app.add_subcommand(
    "log", "the event log, oldest first (with --json: one JSON object per event, one per line)");
  log_cmd->footer("With --json, each line is one JSON object (JSON Lines), an event of any task in "
                  "journal order:\n"
                  "  {\"task\": ID, \"event\": {\"seq\": N, \"kind\": K, \"name\": S, \"failed\": B, "
                  "\"text\": S, \"ts\": NS[, \"ref\": ID]}}\n"
                  "ID: 16 hex digits; kind: started, now, random, log, effect, call, spawn, join, send, "
                  "receive, sleep, restarted, completed, failed, cancelled; ts: nanoseconds since the Unix "
                  "epoch; ref (16 hex digits, when not 0): a call's or spawn's child task, a send's or "
                  "receive's message.");
  log_cmd->add_flag("--follow,-f", follow, "keep printing new events until interrupted");
  auto* log_limit =
    log_cmd->add_option("--limit", limit, "at most this many events (1 to 1000000000; 0: no limit)");
  // A --limit given is parsed (and refused) by parse_limit; one not given is 0, no limit.
  auto limit_of = [](const CLI::Option* o, const std::string& text, const char* flag) {
    return o->count() == 0 ? std::size_t{0} : parse_limit(text, flag);
  };

  // CLI11 reports a missing or misspelt subcommand as "a subcommand is required": name it instead.
  static const std::pair<const char*, const char*> nested[] = {
    {"task", "list, show, replay or cancel"}, {"route", "show, set or clear"}, {"sup", "tree"}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--journal") {
      ++i;
      continue;
    }
    if (a.starts_with("-"))
      continue;
    if (a != "serve" && a != "task" && a != "route" && a != "replay" && a != "divergences" &&
        a != "log" && a != "sup") {
      std::cerr << program << ": unknown subcommand " << quote_input(a) << " (expected serve, task, route, "
                << "replay, divergences, log or sup; run '" << program << " --help' for usage)\n";
      return 2;
    }
    for (auto [top, subs] : nested) {
      if (a != top)
        continue;
      std::string sub = i + 1 < argc ? argv[i + 1] : "";
      if (sub == "--help" || sub == "-h")
        break;
      if (sub.empty() || sub.starts_with("-")) {
        std::cerr << program << ": '" << top << "' needs a subcommand: " << subs << " (run '" << program
                  << " " << top << " --help' for usage)\n";
        return 2;
      }
      auto known = app.get_subcommand(a)->get_subcommands(
        [&sub](const CLI::App* c) { return c->get_name() == sub; });
      if (known.empty()) {
        std::cerr << program << ": unknown " << top << " subcommand " << quote_input(sub) << " (expected "
                  << subs << "; run '" << program << " " << top << " --help' for usage)\n";
        return 2;
      }
    }
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11's messages repeat the argument they refuse: cut like every quoted input.
    std::cerr << program << ": " << clip_input(e.what(), 2 * detail::quoted_input_max) << " (run '"
              << program << " --help' for usage)\n";
    return 2;
  }
  try {
    if (*serve_cmd)
      return serve(g, routes, fx, routing_file);
    if (*list_cmd)
      return task_list(g, function, status, since, limit_of(list_limit, limit, "task list --limit"));
    if (*show_cmd)
      return task_show(g, id_text);
    if (*replay_cmd)
      return task_replay(g, routes, fx, id_text, versions);
    if (*cancel_cmd)
      return task_cancel(g, id_text);
    if (*div_cmd)
      return divergences(g, function, limit_of(div_limit, limit, "divergences --limit"));
    if (*replay_many_cmd)
      return replay_many(g, routes, fx, many_fn, many_into, many_since,
                         limit_of(many_limit_opt, many_limit, "replay --limit"));
    if (*route_show_cmd)
      return route_show(g);
    if (*route_set_cmd) {
      if (percent_opt->count() > 0)
        change.percent = parse_percent(percent, "route set --percent");
      return route_set(g, routes, change);
    }
    if (*route_clear_cmd)
      return route_clear(g, clear_fn, clear_task);
    if (*log_cmd)
      return log(g, follow, limit_of(log_limit, limit, "log --limit"));
    if (*sup_tree_cmd)
      return sup_tree(g);
  } catch (const usage_problem& p) {
    // Messages of lower layers may embed an input whole (a name, a path): one line, cut.
    std::cerr << program << ": " << clip_input(p.message, 5 * detail::quoted_input_max) << '\n';
    return 2;
  } catch (const std::exception& e) {
    // Nothing else should get here; if it does, one line and exit 2 beat std::terminate.
    std::cerr << program << ": internal error: " << clip_input(e.what(), 5 * detail::quoted_input_max)
              << '\n';
    return 2;
  }
  std::cerr << program << ": no subcommand (run '" << program << " --help' for usage)\n";
  return 2;
}

} // namespace actors
