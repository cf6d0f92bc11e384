// actors::engine_main: the command line of every application binary and of tools/engine (see
// <actors/engine_main.hpp>). CLI11 parses; each subcommand reads the journal (read-only) or runs an
// engine on it; nlohmann-json renders `--json` output.

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

namespace actors {

namespace {

namespace el = eventlog;
using json = nlohmann::ordered_json;

/// A failure the user can fix: printed as one line, exit code 2.
struct usage_problem {
  std::string message;
};

// --- parsing --------------------------------------------------------------------------------------

/// "90s", "15m", "1h30m", "2d", "500ms" -> nanoseconds.
std::int64_t parse_duration(const std::string& text) {
  auto bad = [&] {
    return usage_problem{"malformed duration '" + text + "': expected e.g. 500ms, 90s, 15m, 1h30m, 2d"};
  };
  if (text.empty())
    throw bad();
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9')
      ++j;
    if (j == i || j - i > 12)
      throw bad();
    auto n = std::stoll(text.substr(i, j - i));
    std::size_t k = j;
    while (k < text.size() && (text[k] < '0' || text[k] > '9'))
      ++k;
    auto unit = text.substr(j, k - j);
    std::int64_t scale = 0;
    if (unit == "ms")
      scale = 1'000'000;
    else if (unit == "s")
      scale = 1'000'000'000;
    else if (unit == "m")
      scale = 60LL * 1'000'000'000;
    else if (unit == "h")
      scale = 3600LL * 1'000'000'000;
    else if (unit == "d")
      scale = 86400LL * 1'000'000'000;
    else
      throw bad();
    total += n * scale;
    i = k;
  }
  return total;
}

/// "lookupUser=debug" -> (lookupUser, debug).
std::pair<std::string, std::string> parse_assignment(const std::string& text, const char* flag) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size() ||
      text.find('=', eq + 1) != std::string::npos)
    throw usage_problem{"malformed " + std::string{flag} + " '" + text +
                        "': expected FUNCTION=VERSION, e.g. lookupUser=debug"};
  return {text.substr(0, eq), text.substr(eq + 1)};
}

task_id parse_task_id(const std::string& text) {
  auto id = task_id::from_string(text);
  if (!id)
    throw usage_problem{"malformed task id '" + text + "': " + describe(id.error())};
  return *id;
}

el::task_status parse_status(const std::string& text) {
  for (auto s : {el::task_status::running, el::task_status::completed, el::task_status::failed,
                 el::task_status::cancelled})
    if (el::to_string(s) == text)
      return s;
  throw usage_problem{"unknown status '" + text + "': expected running, completed, failed or cancelled"};
}

// --- rendering ------------------------------------------------------------------------------------

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::string utc(std::int64_t ns) {
  if (ns <= 0)
    return "-";
  auto secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ns / 1'000'000) % 1000);
}

std::string took(const el::task_record& t) {
  if (t.finished <= 0)
    return "-";
  auto ns = t.finished - t.created;
  if (ns < 1'000'000)
    return fmt::format("{:.0f} µs", static_cast<double>(ns) / 1e3);
  if (ns < 1'000'000'000)
    return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

json to_json(const el::task_record& t) {
  return json{{"id", to_string(task_id{t.id})},
              {"parent", t.parent == 0 ? json(nullptr) : json(to_string(task_id{t.parent}))},
              {"root", to_string(task_id{t.root})},
              {"function", t.function},
              {"version", t.version},
              {"status", std::string{el::to_string(t.status)}},
              {"route", t.route},
              {"created", t.created},
              {"finished", t.finished}};
}

json to_json(const el::event& e) {
  json out{{"seq", e.seq},
           {"kind", std::string{el::to_string(e.kind)}},
           {"name", e.name},
           {"failed", e.failed},
           {"text", e.text},
           {"ts", e.ts}};
  if (e.ref != 0)
    out["ref"] = to_string(task_id{e.ref});
  return out;
}

json to_json(const el::divergence_record& d) {
  return json{{"task", to_string(task_id{d.task})},
              {"function", d.function},
              {"primary", d.primary_version},
              {"candidate", d.candidate_version},
              {"position", d.position},
              {"what", d.what},
              {"primary_side", d.primary_side},
              {"candidate_side", d.candidate_side},
              {"ts", d.ts}};
}

std::string position_text(std::int64_t position) {
  return position < 0 ? "the output" : "effect #" + std::to_string(position + 1);
}

/// Prints `left` and `right` side by side under the headers, each column at most `w` wide.
void side_by_side(std::ostream& os, const std::string& lh, const std::string& left,
                  const std::string& rh, const std::string& right) {
  auto w = std::max<std::size_t>({lh.size(), std::min<std::size_t>(left.size(), 60), 12});
  auto cut = [&](const std::string& s, std::size_t from) {
    return from < s.size() ? s.substr(from, w) : std::string{};
  };
  os << "  " << fmt::format("{:<{}}", lh, w) << " │ " << rh << '\n';
  for (std::size_t from = 0; from < std::max(left.size(), right.size()); from += w)
    os << "  " << fmt::format("{:<{}}", cut(left, from), w) << " │ " << cut(right, from) << '\n';
}

// --- the journal ----------------------------------------------------------------------------------

std::unique_ptr<el::journal> open_journal(const std::string& path) {
  if (path != ":memory:" && !std::filesystem::exists(path))
    throw usage_problem{"journal '" + path + "' does not exist (give one with --journal PATH)"};
  el::journal_options opts;
  opts.path = path;
  opts.read_only = true;
  auto j = el::journal::open(opts);
  if (!j)
    throw usage_problem{"cannot open journal '" + path + "': " + describe(j.error())};
  return std::move(*j);
}

template <class T>
T need(caf::expected<T> x) {
  if (!x)
    throw usage_problem{describe(x.error())};
  return std::move(*x);
}

el::task_record need_task(el::journal& j, task_id id) {
  auto t = need(j.find_task(id.value()));
  if (!t)
    throw usage_problem{"no task " + to_string(id) + " in journal '" + j.path() + "'"};
  return std::move(*t);
}

// --- subcommands ----------------------------------------------------------------------------------

struct globals {
  std::string journal;
  bool json = false;
};

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
    std::cout << out.dump(2) << '\n';
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

json tree_json(el::journal& j, const el::task_record& t, int depth) {
  auto out = to_json(t);
  json evs = json::array();
  for (auto& e : need(j.events(t.id))) {
    auto ev = to_json(e);
    if (e.kind == el::event_kind::call && e.ref != 0 && depth < 100)
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
                             fmt::format("+{:.3f} ms", static_cast<double>(e.ts - t.created) / 1e6),
                             el::to_string(e.kind), e.name, e.failed ? "✗ " : "", e.text);
    if (e.kind == el::event_kind::call && e.ref != 0 && depth < 100)
      if (auto child = need(j.find_task(e.ref)))
        print_tree(j, *child, indent + "  │ ", depth + 1);
  }
}

int task_show(const globals& g, const std::string& id_text) {
  auto id = parse_task_id(id_text);
  auto j = open_journal(g.journal);
  auto t = need_task(*j, id);
  if (g.json)
    std::cout << tree_json(*j, t, 0).dump(2) << '\n';
  else
    print_tree(*j, t, "", 0);
  return 0;
}

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
    std::cout << out.dump(2) << '\n';
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

int divergences(const globals& g, const std::string& function, std::size_t limit) {
  auto j = open_journal(g.journal);
  auto found = need(j->divergences(function, limit));
  if (g.json) {
    json out = json::array();
    for (auto& d : found)
      out.push_back(to_json(d));
    std::cout << out.dump(2) << '\n';
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
        std::cout << json{{"task", to_string(task_id{e.task})}, {"event", to_json(e)}}.dump() << '\n';
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
    throw usage_problem{"replay --function: no function '" + function + "' is registered"};
  if (routes.find(fn, version) == nullptr)
    throw usage_problem{"replay --into: " + fn + "@" + version + " is not registered"};
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
    std::cout << json{{"function", function}, {"into", fn + "@" + version}, {"replayed", ids.size()},
                      {"matched", matched}, {"diverged", diverged}, {"errors", errors},
                      {"tasks", list}}
                   .dump(2)
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

/// Opens an existing journal for writing (route changes).
std::unique_ptr<el::journal> open_journal_for_writing(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw usage_problem{"journal '" + path + "' does not exist (give one with --journal PATH)"};
  auto j = el::journal::open({.path = path});
  if (!j)
    throw usage_problem{"cannot open journal '" + path + "': " + describe(j.error())};
  return std::move(*j);
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
    std::cout << out.dump(2) << '\n';
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

struct route_change {
  std::string function, version, shadow, candidate, primary, task;
  int percent = -1;
};

int route_set(const globals& g, const router& routes, const route_change& c) {
  int forms = (!c.version.empty()) + (!c.shadow.empty()) + (c.percent >= 0);
  if (forms != 1)
    throw usage_problem{"route set " + c.function + ": give exactly one of --version V, --shadow V, "
                        "--percent P (with --candidate V)"};
  if (c.percent >= 0 && c.candidate.empty())
    throw usage_problem{"route set " + c.function + " --percent: give the candidate with --candidate V"};
  if (c.percent < 0 && !c.candidate.empty())
    throw usage_problem{"route set " + c.function + ": --candidate goes with --percent"};
  if (!c.task.empty() && c.version.empty())
    throw usage_problem{"route set " + c.function + " --task: an override takes --version V"};
  auto j = open_journal_for_writing(g.journal);
  el::route_record r;
  r.function = c.function;
  if (!c.task.empty())
    r.root = parse_task_id(c.task).value();
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
        throw usage_problem{"route set " + c.function + ": give --primary V (no policy in the journal "
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
  auto j = open_journal_for_writing(g.journal);
  std::uint64_t root = task.empty() ? 0 : parse_task_id(task).value();
  bool found = false;
  for (auto& x : need(j->routes()))
    found = found || (x.function == function && x.root == root);
  if (!found)
    throw usage_problem{"no route of " + function +
                        (root == 0 ? std::string{} : " for task " + to_string(task_id{root})) +
                        " in journal '" + g.journal + "' (see 'route show')"};
  j->clear_route(function, root);
  if (auto err = j->flush())
    throw usage_problem{"cannot clear the route: " + describe(err)};
  std::cout << function << (root == 0 ? "" : " in the tree of task " + to_string(task_id{root}))
            << ": cleared\n";
  return 0;
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
  std::size_t limit = 0;
  std::vector<std::string> versions;
  auto* list_cmd = task_cmd->add_subcommand("list", "tasks, newest first");
  list_cmd->add_option("--function", function, "only tasks of this function");
  list_cmd->add_option("--status", status, "running, completed, failed or cancelled");
  list_cmd->add_option("--since", since, "only tasks created within this duration (e.g. 1h)");
  list_cmd->add_option("--limit", limit, "at most this many");
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
  div_cmd->add_option("--limit", limit, "at most this many");

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
  route_set_cmd->add_option("--percent", change.percent, "send P% of call trees to the candidate")
    ->check(CLI::Range(0, 100));
  route_set_cmd->add_option("--candidate", change.candidate, "the candidate of --percent");
  route_set_cmd->add_option("--primary", change.primary, "the primary of --shadow / --percent");
  std::string clear_fn, clear_task;
  auto* route_clear_cmd = route_cmd->add_subcommand("clear", "remove a route set at run time");
  route_clear_cmd->add_option("function", clear_fn, "the function")->required();
  route_clear_cmd->add_option("--task", clear_task, "the override of this task's tree");

  std::string many_fn, many_into, many_since;
  std::size_t many_limit = 0;
  auto* replay_many_cmd = app.add_subcommand(
    "replay", "regression replay: replay recorded tasks of a function into a version (exit 1: any diverged)");
  replay_many_cmd->add_option("--function", many_fn, "replay the recorded tasks of this function")
    ->required();
  replay_many_cmd->add_option("--into", many_into, "FUNCTION=VERSION to run instead")->required();
  replay_many_cmd->add_option("--since", many_since, "only tasks created within this duration");
  replay_many_cmd->add_option("--limit", many_limit, "at most this many tasks (newest first)");

  bool follow = false;
  auto* log_cmd = app.add_subcommand("log", "the event log, oldest first");
  log_cmd->add_flag("--follow,-f", follow, "keep printing new events until interrupted");
  log_cmd->add_option("--limit", limit, "at most this many events");

  // CLI11 reports a misspelt subcommand as "a subcommand is required": name it instead.
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--journal") {
      ++i;
      continue;
    }
    if (a.starts_with("-"))
      continue;
    if (a != "serve" && a != "task" && a != "route" && a != "replay" && a != "divergences" &&
        a != "log") {
      std::cerr << program << ": unknown subcommand '" << a << "' (expected serve, task, route, "
                << "replay, divergences or log; run '" << program << " --help' for usage)\n";
      return 2;
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
    std::cerr << program << ": " << e.what() << " (run '" << program << " --help' for usage)\n";
    return 2;
  }
  try {
    if (*serve_cmd)
      return serve(g, routes, fx, routing_file);
    if (*list_cmd)
      return task_list(g, function, status, since, limit);
    if (*show_cmd)
      return task_show(g, id_text);
    if (*replay_cmd)
      return task_replay(g, routes, fx, id_text, versions);
    if (*cancel_cmd)
      return task_cancel(g, id_text);
    if (*div_cmd)
      return divergences(g, function, limit);
    if (*replay_many_cmd)
      return replay_many(g, routes, fx, many_fn, many_into, many_since, many_limit);
    if (*route_show_cmd)
      return route_show(g);
    if (*route_set_cmd)
      return route_set(g, routes, change);
    if (*route_clear_cmd)
      return route_clear(g, clear_fn, clear_task);
    if (*log_cmd)
      return log(g, follow, limit);
  } catch (const usage_problem& p) {
    std::cerr << program << ": " << p.message << '\n';
    return 2;
  }
  std::cerr << program << ": no subcommand (run '" << program << " --help' for usage)\n";
  return 2;
}

} // namespace actors
