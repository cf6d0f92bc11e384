// The subcommands that need only the journal (tools/engine runs them on any journal): task list, show and
// cancel, divergences, log, route show, set and clear, sup tree.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "actors/routing.hpp"
#include "cli/cli_support.hpp"

namespace actors::cli {

int task_list(const globals& g, const std::string& function, const std::string& status,
              const std::string& since, std::size_t limit) {
  el::task_filter f;
  if (!function.empty())
    f.function = function;
  if (!status.empty())
    f.status = parse_status(status);
  if (!since.empty())
    f.since = now_ns() - parse_duration(since);
  f.limit = limit;
  auto j = open_journal(g.journal);
  auto tasks = need(j->list_tasks(f));
  if (g.json) {
    json out = json::array();
    for (auto& t : tasks)
      out.push_back(to_json(t));
    std::cout << dump(out) << '\n';
    return 0;
  }
  std::cout << fmt::format("{:<16}  {:<28}  {:<9}  {:<23}  {:>9}  {}\n", "id", "function@version",
                           "status", "created (UTC)", "took", "route");
  for (auto& t : tasks)
    std::cout << fmt::format("{:<16}  {:<28}  {:<9}  {:<23}  {:>9}  {}\n", to_string(task_id{t.id}),
                             t.function + "@" + t.version, el::to_string(t.status), utc(t.created),
                             took(t), t.route);
  std::cout << tasks.size() << (tasks.size() == 1 ? " task\n" : " tasks\n");
  return 0;
}

namespace {

json tree_json(el::journal& j, const el::task_record& t, int depth) {
  auto out = to_json(t);
  json evs = json::array();
  for (auto& e : need(j.events(t.id))) {
    auto ev = to_json(e);
    if ((e.kind == el::event_kind::call || e.kind == el::event_kind::spawn) && e.ref != 0 &&
        depth < 100)
      if (auto child = need(j.find_task(e.ref)))
        ev["task"] = tree_json(j, *child, depth + 1);
    evs.push_back(std::move(ev));
  }
  out["events"] = std::move(evs);
  return out;
}

void print_tree(el::journal& j, const el::task_record& t, const std::string& indent, int depth) {
  std::cout << indent
            << fmt::format("task {}  {}@{}  {}  {}  took {}{}\n", to_string(task_id{t.id}), t.function,
                           t.version, el::to_string(t.status), utc(t.created), took(t),
                           t.route.empty() ? "" : "  route " + t.route);
  for (auto& e : need(j.events(t.id))) {
    std::cout << indent
              << fmt::format("  {:>4}  {:>10}  {:<9} {:<16} {}{}\n", e.seq,
                             fmt::format("+{:.3f} ms",
                                         (static_cast<double>(e.ts) - static_cast<double>(t.created)) / 1e6),
                             el::to_string(e.kind), e.name, e.failed ? "✗ " : "", e.text);
    if ((e.kind == el::event_kind::call || e.kind == el::event_kind::spawn) && e.ref != 0 &&
        depth < 100)
      if (auto child = need(j.find_task(e.ref)))
        print_tree(j, *child, indent + "  │ ", depth + 1);
  }
}

} // namespace

int task_show(const globals& g, const std::string& id_text) {
  auto id = parse_task_id(id_text);
  auto j = open_journal(g.journal);
  auto t = need_task(*j, id);
  // Only a root started with actors::start_key has one.
  auto key = t.parent == 0 ? need(j->start_key_of(t.id)) : std::optional<std::string>{};
  if (g.json) {
    auto out = tree_json(*j, t, 0);
    if (key)
      out["start_key"] = *key;
    std::cout << dump(out) << '\n';
  } else {
    if (key)
      std::cout << "start key " << *key << '\n';
    print_tree(*j, t, "", 0);
  }
  return 0;
}

int divergences(const globals& g, const std::string& function, std::size_t limit) {
  auto j = open_journal(g.journal);
  auto found = need(j->divergences(function, limit));
  if (g.json) {
    json out = json::array();
    for (auto& d : found)
      out.push_back(to_json(d));
    std::cout << dump(out) << '\n';
    return 0;
  }
  for (auto& d : found) {
    std::cout << fmt::format("{}  task {}  {} {} -> {}  at {} ({})\n", utc(d.ts),
                             to_string(task_id{d.task}), d.function, d.primary_version,
                             d.candidate_version, position_text(d.position), d.what);
    side_by_side(std::cout, "primary " + d.primary_version, d.primary_side,
                 "candidate " + d.candidate_version, d.candidate_side);
  }
  std::cout << found.size() << (found.size() == 1 ? " divergence\n" : " divergences\n");
  return 0;
}

namespace {

json to_json(const el::supervision_record& r) {
  return json{{"supervisor", r.supervisor}, {"child", r.child},      {"parent", r.parent},
              {"position", r.position},     {"kind", r.kind},        {"function", r.function},
              {"task", r.task == 0 ? std::string{} : to_string(task_id{r.task})},
              {"state", r.state},           {"restarts", r.restarts}, {"detail", r.detail},
              {"updated", utc(r.updated)}};
}

/// Prints supervisor `name`'s row and, in start order, its children (nested supervisors recursively).
void print_supervisor(const std::vector<el::supervision_record>& rows, const std::string& name,
                      const std::string& indent, int depth) {
  for (auto& r : rows)
    if (r.supervisor == name && r.child.empty())
      std::cout << indent
                << fmt::format("supervisor {}  {}  {}  (updated {})\n", r.supervisor, r.state, r.detail,
                               utc(r.updated));
  for (auto& r : rows) {
    if (r.supervisor != name || r.child.empty())
      continue;
    if (r.kind == "supervisor") {
      std::cout << indent << fmt::format("  ├ {}  restarts {}\n", r.child, r.restarts);
      if (depth < 32)
        print_supervisor(rows, r.function, indent + "  │ ", depth + 1);
      continue;
    }
    std::cout << indent
              << fmt::format("  ├ {:<12} task {}  {:<24} {:<10} restarts {}  {}\n", r.child,
                             r.task == 0 ? std::string{"-"} : to_string(task_id{r.task}), r.function,
                             r.state, r.restarts, r.detail);
  }
}

} // namespace

int sup_tree(const globals& g) {
  auto j = open_journal(g.journal);
  auto rows = need(j->supervision());
  if (g.json) {
    json out = json::array();
    for (auto& r : rows)
      out.push_back(to_json(r));
    std::cout << dump(out) << '\n';
    return 0;
  }
  if (rows.empty()) {
    std::cout << "no supervisors in journal " << g.journal << '\n';
    return 0;
  }
  for (auto& r : rows)
    if (r.child.empty() && r.parent.empty())
      print_supervisor(rows, r.supervisor, "", 0);
  return 0;
}

std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int) {
  stop_requested = true;
}

int log(const globals& g, bool follow, std::size_t limit) {
  auto j = open_journal(g.journal);
  std::int64_t after = 0;
  std::size_t printed = 0;
  if (follow) {
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
  }
  for (;;) {
    auto rows = need(j->tail(after, 1000));
    for (auto& [rowid, e] : rows) {
      after = rowid;
      if (limit != 0 && printed == limit)
        return 0;
      ++printed;
      if (g.json)
        std::cout << dump(json{{"task", to_string(task_id{e.task})}, {"event", to_json(e)}}, -1) << '\n';
      else
        std::cout << fmt::format("{}  {}  {:>4}  {:<9} {:<16} {}{}\n", utc(e.ts),
                                 to_string(task_id{e.task}), e.seq, el::to_string(e.kind), e.name,
                                 e.failed ? "✗ " : "", e.text);
    }
    std::cout.flush();
    if (rows.size() == 1000)
      continue;
    if (!follow || stop_requested)
      return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds{200}); // polling a file: nothing to wait on
    if (stop_requested)
      return 0;
  }
}

int task_cancel(const globals& g, const std::string& id_text) {
  auto id = parse_task_id(id_text);
  auto j = open_journal_for_writing(g.journal);
  auto t = need_task(*j, id);
  auto name = "task " + to_string(id) + " (" + t.function + "@" + t.version + ")";
  if (t.parent != 0)
    throw usage_problem{name + " is a call inside the tree of task " + to_string(task_id{t.root}) +
                        ": cancel that root"};
  if (t.status != el::task_status::running)
    throw usage_problem{name + " has already ended (" + std::string{el::to_string(t.status)} + ")"};
  j->request_cancel(id.value());
  if (auto err = j->flush())
    throw usage_problem{"cannot write the cancel request: " + describe(err)};
  std::cout << name << ": cancel requested (an engine running it stops it and its calls; one that "
            << "would resume it does not)\n";
  return 0;
}

std::string route_text(const el::route_record& r) {
  if (r.mode == "shadow")
    return "shadow " + r.primary + " -> " + r.candidate;
  if (r.mode == "percent")
    return "percent " + r.primary + " / " + r.candidate + " " + std::to_string(r.percent) + "%";
  return r.mode + " " + r.primary;
}

int route_show(const globals& g) {
  auto j = open_journal(g.journal);
  auto routes = need(j->routes());
  if (g.json) {
    json out = json::array();
    for (auto& r : routes)
      out.push_back(json{{"function", r.function},
                         {"task", r.root == 0 ? json(nullptr) : json(to_string(task_id{r.root}))},
                         {"mode", r.mode},
                         {"primary", r.primary},
                         {"candidate", r.candidate},
                         {"percent", r.percent},
                         {"updated", r.updated}});
    std::cout << dump(out) << '\n';
    return 0;
  }
  std::cout << fmt::format("{:<20}  {:<22}  {:<32}  {}\n", "function", "applies to", "route",
                           "set (UTC)");
  for (auto& r : routes)
    std::cout << fmt::format("{:<20}  {:<22}  {:<32}  {}\n", r.function,
                             r.root == 0 ? std::string{"every call"} : "task " + to_string(task_id{r.root}),
                             route_text(r), utc(r.updated));
  std::cout << routes.size() << (routes.size() == 1 ? " route" : " routes")
            << " set at run time (a routing file's policies are the serving engine's own)\n";
  return 0;
}


namespace {

/// usage_problem unless every given name passes check_name (without application code, nothing else
/// checks them: a name with a newline would fake log lines of every engine that reads the route).
void need_names(std::initializer_list<std::pair<const char*, const std::string*>> names) {
  for (auto [what, name] : names)
    if (name->size() != 0 || std::string_view{what} == "function")
      if (auto err = check_name(what, *name))
        throw usage_problem{describe(err)};
}

} // namespace

int route_set(const globals& g, const router& routes, const route_change& c) {
  need_names({{"function", &c.function}, {"--version", &c.version}, {"--shadow", &c.shadow},
              {"--candidate", &c.candidate}, {"--primary", &c.primary}});
  int forms = (!c.version.empty()) + (!c.shadow.empty()) + (c.percent >= 0);
  if (forms != 1)
    throw usage_problem{"route set " + quote_input(c.function) +
                        ": give exactly one of --version V, --shadow V, "
                        "--percent P (with --candidate V)"};
  if (c.percent >= 0 && c.candidate.empty())
    throw usage_problem{"route set " + quote_input(c.function) +
                        " --percent: give the candidate with --candidate V"};
  if (c.percent < 0 && !c.candidate.empty())
    throw usage_problem{"route set " + quote_input(c.function) + ": --candidate goes with --percent"};
  if (!c.task.empty() && c.version.empty())
    throw usage_problem{"route set " + quote_input(c.function) + " --task: an override takes --version V"};
  auto j = open_journal_for_writing(g.journal);
  el::route_record r;
  r.function = c.function;
  if (!c.task.empty()) {
    r.root = parse_task_id(c.task).value();
    need_task(*j, task_id{r.root}); // an override of a tree no task roots would route nothing
  }
  if (!c.version.empty()) {
    r.mode = "primary";
    r.primary = c.version;
  } else {
    r.mode = c.shadow.empty() ? "percent" : "shadow";
    r.candidate = c.shadow.empty() ? c.candidate : c.shadow;
    r.percent = std::max(c.percent, 0);
    r.primary = c.primary;
    if (r.primary.empty()) { // the policy's primary so far, else the function's default version
      for (auto& x : need(j->routes()))
        if (x.function == c.function && x.root == 0)
          r.primary = x.primary;
      if (r.primary.empty() && !routes.versions(c.function).empty())
        r.primary = routes.versions(c.function).front();
      if (r.primary.empty())
        throw usage_problem{"route set " + quote_input(c.function) +
                            ": give --primary V (no policy in the journal "
                            "to take it from)"};
    }
  }
  std::string note;
  if (!routes.functions().empty()) {
    auto p = routing_policy{r.mode == "primary" ? policy_mode::primary
                            : r.mode == "shadow" ? policy_mode::shadow
                                                 : policy_mode::percent,
                            r.primary, r.candidate, r.percent};
    if (auto err = routing_table::check(routes, r.function, p))
      throw usage_problem{describe(err)};
  } else {
    note = " (not checked against registered versions here: an engine that lacks one logs it and "
           "keeps routing without this route)";
  }
  j->set_route(r);
  if (auto err = j->flush())
    throw usage_problem{"cannot write the route: " + describe(err)};
  std::cout << fmt::format("{}{}: {}{}\n", r.function,
                           r.root == 0 ? std::string{} : " in the tree of task " + to_string(task_id{r.root}),
                           route_text(r), note);
  return 0;
}

int route_clear(const globals& g, const std::string& function, const std::string& task) {
  need_names({{"function", &function}});
  auto j = open_journal_for_writing(g.journal);
  std::uint64_t root = task.empty() ? 0 : parse_task_id(task).value();
  bool found = false;
  for (auto& x : need(j->routes()))
    found = found || (x.function == function && x.root == root);
  if (!found)
    throw usage_problem{"no route of " + quote_input(function) +
                        (root == 0 ? std::string{} : " for task " + to_string(task_id{root})) +
                        " in journal " + quote_input(g.journal) + " (see 'route show')"};
  j->clear_route(function, root);
  if (auto err = j->flush())
    throw usage_problem{"cannot clear the route: " + describe(err)};
  std::cout << function << (root == 0 ? "" : " in the tree of task " + to_string(task_id{root}))
            << ": cleared\n";
  return 0;
}

} // namespace actors::cli
