// The command line (actors::engine_main) through the real binaries: `shop` (with the shop's functions)
// and `engine` (tools/engine, no application code), as child processes on journals in temp dirs.

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <actors/eventlog/journal.hpp>

#include "../eventlog/journal_damage.hpp"
#include "../libactors/child_process.hpp"
#include "../libactors/file_checks.hpp"
#include "../libactors/test_support.hpp"
#include "../../examples/shop/model.hpp"

using actors::test::exec_in;
using actors::test::temp_dir;
using running = actors::test::child_process;

namespace {

struct result {
  int code = -1;
  std::string out;
  std::string err;
};

using actors::eventlog::test::damage_leaf_pages;
using actors::test::slurp;

/// Runs `binary args...` in `dir`, waits for it, returns its exit code and output. With `limit_s`, a
/// child that might hang is killed by SIGALRM after that many seconds (failing the test instead of
/// hanging it); with `uid` non-zero it runs as that user (and group), without root's right to read
/// every file.
result run(const std::string& dir, const std::string& binary, const std::vector<std::string>& args,
           unsigned limit_s = 0, uid_t uid = 0) {
  auto out_path = dir + "/.stdout", err_path = dir + "/.stderr";
  int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (uid != 0 && (setgroups(0, nullptr) != 0 || setresgid(uid, uid, uid) != 0 ||
                     setresuid(uid, uid, uid) != 0))
      _exit(126);
    alarm(limit_s);
    exec_in(dir, binary, args, out, err);
  }
  close(out);
  close(err);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

result shop_cli(const temp_dir& d, const std::vector<std::string>& args) {
  return run(d.path().string(), ACTORS_SHOP_BINARY, args);
}

result engine(const temp_dir& d, const std::vector<std::string>& args) {
  return run(d.path().string(), ACTORS_ENGINE_BINARY, args);
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::size_t lines(const std::string& s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

/// A journal with the shop demo's requests: 3 served by v1, then 3 shadowed by v2, 3 by v3.
void record_demo(const temp_dir& d) {
  auto r = shop_cli(d, {"demo", "--journal", "shop.db", "--requests", "3"});
  INFO(r.err);
  REQUIRE(r.code == 0);
}

std::string first_request(const temp_dir& d) {
  auto r = engine(d, {"--journal", "shop.db", "--json", "task", "list", "--function", "handleRequest"});
  REQUIRE(r.code == 0);
  auto tasks = nlohmann::json::parse(r.out);
  REQUIRE(tasks.size() == 9);
  return tasks.back()["id"].get<std::string>(); // newest first: the last is the first request
}

} // namespace

TEST_CASE("engine lists and shows tasks, divergences and the event log of any journal", "[cli]") {
  temp_dir d;
  record_demo(d);
  auto id = first_request(d);

  auto list = engine(d, {"--journal", "shop.db", "task", "list", "--since", "1h"});
  REQUIRE(list.code == 0);
  CHECK(contains(list.out, "27 tasks")); // 9 requests x (handleRequest, lookupUser, listItems)
  CHECK(contains(list.out, "shadow v3"));
  auto failed = engine(d, {"--journal", "shop.db", "task", "list", "--status", "failed"});
  REQUIRE(failed.code == 0);
  CHECK(contains(failed.out, "0 tasks"));

  auto show = engine(d, {"--journal", "shop.db", "task", "show", id});
  REQUIRE(show.code == 0);
  CHECK(contains(show.out, "task " + id + "  handleRequest@v1  completed"));
  CHECK(contains(show.out, "lookupUser@v1"));
  CHECK(contains(show.out, "catalog.user"));
  CHECK(contains(show.out, "│ task ")); // the children's events, indented under their calls

  auto shown = engine(d, {"--journal", "shop.db", "--json", "task", "show", id});
  REQUIRE(shown.code == 0);
  auto tree = nlohmann::json::parse(shown.out);
  CHECK(tree["function"] == "handleRequest");
  CHECK(tree["events"][2]["task"]["function"] == "lookupUser");

  auto div = engine(d, {"--journal", "shop.db", "--json", "divergences", "lookupUser"});
  REQUIRE(div.code == 0);
  auto found = nlohmann::json::parse(div.out);
  REQUIRE(found.size() == 3); // v3's three shadow runs; v2 matched
  for (auto& x : found) {
    CHECK(x["candidate"] == "v3");
    CHECK(x["what"] == "output");
  }

  auto log = engine(d, {"--journal", "shop.db", "log", "--limit", "5"});
  REQUIRE(log.code == 0);
  CHECK(lines(log.out) == 5);
  CHECK(contains(log.out, "started"));
}

TEST_CASE("task replay re-runs a recorded task with the application's code and exits 0 when it "
          "matches, 1 when it diverges",
          "[cli][replay]") {
  temp_dir d;
  record_demo(d);
  auto id = first_request(d);

  auto same = shop_cli(d, {"task", "replay", id});
  INFO(same.out << same.err);
  CHECK(same.code == 0);
  CHECK(contains(same.out, "matches the recording"));
  CHECK(contains(same.out, "[lookupUser@v1] looking up user 1"));

  auto v2 = shop_cli(d, {"task", "replay", id, "--version", "lookupUser=v2"});
  CHECK(v2.code == 0);
  CHECK(contains(v2.out, "[lookupUser@v2] audit: user 1 looked up by " + id));

  auto v3 = shop_cli(d, {"task", "replay", id, "--version", "lookupUser=v3"});
  CHECK(v3.code == 1);
  CHECK(contains(v3.out, "diverges at the output (output)"));
  CHECK(contains(v3.out, "recorded"));
  CHECK(contains(v3.out, "Lovelace, Ada"));

  auto json = shop_cli(d, {"--json", "task", "replay", id, "--version", "lookupUser=v3"});
  CHECK(json.code == 1);
  auto r = nlohmann::json::parse(json.out);
  CHECK(r["diverged"] == true);
  CHECK(r["divergence"]["what"] == "output");

  // Replay wrote nothing: the journal still holds the same tasks.
  auto list = engine(d, {"--journal", "shop.db", "task", "list"});
  CHECK(contains(list.out, "27 tasks"));
}

TEST_CASE("bad command lines get one line naming the problem and exit 2", "[cli][errors]") {
  temp_dir d;
  record_demo(d);
  auto id = first_request(d);
  struct bad_case {
    bool app; // run through shop (true) or engine
    std::vector<std::string> args;
    const char* expect;
  };
  const bad_case cases[] = {
    {false, {"frobnicate"}, "unknown subcommand 'frobnicate'"},
    {false, {"--journal", "shop.db", "task", "list", "--frob"}, "--frob"},
    {false, {"--journal", "shop.db", "task", "list", "--since", "5 minutes"}, "malformed duration '5 minutes'"},
    {false, {"--journal", "shop.db", "task", "list", "--status", "done"}, "unknown status 'done'"},
    {false, {"--journal", "missing.db", "task", "list"}, "journal 'missing.db' does not exist"},
    {false, {"--journal", "shop.db", "task", "show", "00000000000000ff"}, "no task 00000000000000ff"},
    {false, {"--journal", "shop.db", "task", "show", "xyz"}, "malformed task id 'xyz'"},
    {false, {"--journal", "shop.db", "task", "replay", id}, "run it from the application's binary"},
    {true, {"task", "replay", id, "--version", "lookupUser"}, "malformed --version 'lookupUser'"},
    {true, {"task", "replay", id, "--version", "lookupUser=v9"}, "no version 'v9'"},
    {true, {"task", "replay", id, "--version", "ghost=v1"}, "no function 'ghost'"},
    {true, {"task", "replay", "00000000000000ff"}, "no task 00000000000000ff"},
    {false, {"--journal", "shop.db", "task", "list", "--since", "999999999999d"},
     "duration '999999999999d' is too large: at most 106751d"}, // found by fuzz_journal_cli: int64 overflow
    {false, {"--journal", "shop.db", "task", "list", "--since", "99999999999999999999999s"},
     "duration '99999999999999999999999s' is too large"},
    {false, {"--journal", "shop.db", "task", "list", "--since", "99999999999999999999999x"},
     "malformed duration '99999999999999999999999x'"},
    // --limit: CLI11 read "-1" and "99999999999999999999" into a size_t as 2^64 - 1, "010" as 8.
    {false, {"--journal", "shop.db", "task", "list", "--limit", "-1"}, "task list --limit '-1': negative"},
    {false, {"--journal", "shop.db", "task", "list", "--limit", "99999999999999999999"},
     "task list --limit '99999999999999999999': too large (a count from 1 to 1000000000, or 0 for no limit)"},
    {false, {"--journal", "shop.db", "task", "list", "--limit", "1000000001"}, "too large"},
    {false, {"--journal", "shop.db", "task", "list", "--limit", "0x10"}, "'0x10': not a whole number"},
    {false, {"--journal", "shop.db", "log", "--limit", "-5"}, "log --limit '-5': negative"},
    // --percent: CLI11 read "0x10" as 16 and "010" as octal 8; now only decimal digits, 0 to 100.
    {false, {"--journal", "shop.db", "route", "set", "lookupUser", "--percent", "0x10", "--candidate", "v2"},
     "route set --percent '0x10': not a whole number (a whole percent from 0 to 100)"},
    {false, {"--journal", "shop.db", "route", "set", "lookupUser", "--percent", "101", "--candidate", "v2"},
     "route set --percent '101': too large"},
    {false, {"--journal", "shop.db", "route", "set", "lookupUser", "--percent", "-5", "--candidate", "v2"},
     "route set --percent '-5': negative"},
    {false, {"--journal", "shop.db", "route", "set", "lookupUser", "--percent", "12.5", "--candidate", "v2"},
     "route set --percent '12.5': not a whole number"},
    {false, {"--journal", "shop.db", "divergences", "--limit", "-1"}, "divergences --limit '-1': negative"},
    {true, {"replay", "--function", "handleRequest", "--into", "lookupUser=v1", "--limit", "-1"},
     "replay --limit '-1': negative"},
    {false, {"task"}, "'task' needs a subcommand: list, show, replay or cancel"},
    {false, {"--journal", "shop.db", "sup"}, "'sup' needs a subcommand: tree"},
    {false, {"sup", "bush"}, "unknown sup subcommand 'bush' (expected tree"},
    {false, {"route", "--json"}, "'route' needs a subcommand: show, set or clear"},
    {true, {"task", "lsit"}, "unknown task subcommand 'lsit' (expected list, show, replay or cancel"},
    // An override needs a task to apply to; a name may not fake log lines (escaped in the error too).
    {false, {"--journal", "shop.db", "route", "set", "lookupUser", "--task", "00000000000000ff", "--version", "v2"},
     "no task 00000000000000ff in journal 'shop.db'"},
    {true, {"route", "set", "lookupUser", "--task", "00000000000000ff", "--version", "v2"},
     "no task 00000000000000ff in journal"},
    {false, {"--journal", "shop.db", "route", "set", "look\n[00:00:00.000] [actors] [info] fake", "--version", "v1"},
     "function 'look\\n[00:00:00.000] [actors] [info] fake' contains a control character (\\n)"},
    {false, {"--journal", "shop.db", "route", "set", "lookupUser", "--shadow", "v2\x1b[2J"},
     "--shadow 'v2\\x1b[2J' contains a control character"},
    {true, {"route", "set", "lookupUser", "--version", "v\xff"}, "--version 'v\\xff' is not valid UTF-8"},
    {false, {"--journal", "shop.db", "route", "clear", std::string(200, 'f')}, "is 200 bytes long; at most 128"},
  };
  for (const auto& c : cases) {
    auto r = c.app ? shop_cli(d, c.args) : engine(d, c.args);
    INFO("args: " << nlohmann::json(c.args).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\nstderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(contains(r.err, c.expect));
    CHECK(lines(r.err) == 1);
    CHECK(r.out.empty());
  }
}

TEST_CASE("a limit of N prints at most N tasks, and 0 prints all (--limit)", "[cli][errors]") {
  temp_dir d;
  record_demo(d);
  auto two = engine(d, {"--journal", "shop.db", "--json", "task", "list", "--limit", "2"});
  REQUIRE(two.code == 0);
  CHECK(nlohmann::json::parse(two.out).size() == 2);
  auto all = engine(d, {"--journal", "shop.db", "--json", "task", "list", "--limit", "0"});
  REQUIRE(all.code == 0);
  CHECK(nlohmann::json::parse(all.out).size() == 27);
}

TEST_CASE("errors quote at most 200 bytes of an input, on one line", "[cli][errors]") {
  temp_dir d;
  record_demo(d);
  const std::string huge(100'000, 'x');
  const std::string cut = std::string(200, 'x') + "… (100000 bytes)";
  std::string deep; // a long path of short components ("a/a/.../j.db", 304 bytes)
  for (int i = 0; i < 150; ++i)
    deep += "a/";
  deep += "j.db";
  struct bad_case {
    std::vector<std::string> args;
    std::string expect;
  };
  const bad_case cases[] = {
    {{huge}, "unknown subcommand '" + cut + "'"},
    {{"ser\nve"}, "unknown subcommand 'ser\\nve'"}, // a newline could fake a second line
    {{"task", huge}, "unknown task subcommand '" + cut + "'"},
    {{"--journal", "shop.db", "task", "show", huge}, "malformed task id '" + cut + "'"},
    {{"--journal", "shop.db", "task", "show", "ab\ncd"}, "malformed task id 'ab\\ncd'"},
    {{"--journal", "shop.db", "task", "list", "--since", huge}, "malformed duration '" + cut + "'"},
    {{"--journal", "shop.db", "task", "list", "--status", huge}, "unknown status '" + cut + "'"},
    {{"--journal", "shop.db", "task", "list", "--limit", huge}, "--limit '" + cut + "'"},
    {{"--journal", deep, "task", "list"}, "journal '" + deep.substr(0, 200) + "… (304 bytes)' does not exist"},
    {{"--journal", "shop.db", "task", "list", "--" + huge}, "… ("}, // CLI11's own message, cut
    // Escaping makes a control character 4 bytes: the cut counts what is printed (found by fuzz_cli_args).
    {{"--journal", "shop.db", "task", "list", "--" + std::string(5000, '\x12')}, "\\x12\\x12… ("},
    {{std::string(5000, '\x01')}, "unknown subcommand '\\x01"},
    // A function name is checked before anything else is read (router's check_name, which quotes 64).
    {{"--journal", "shop.db", "route", "set", huge, "--version", "v1", "--shadow", "v2"},
     "function '" + std::string(64, 'x') + "...' (100000 bytes) is 100000 bytes long; at most 128"},
    {{"--journal", "shop.db", "route", "clear", huge},
     "function '" + std::string(64, 'x') + "...' (100000 bytes) is 100000 bytes long; at most 128"},
  };
  for (const auto& c : cases) {
    auto r = engine(d, c.args);
    INFO("args: " << nlohmann::json(c.args).dump().substr(0, 300) << "\nstderr: " << r.err.substr(0, 2000));
    CHECK(r.code == 2);
    CHECK(contains(r.err, c.expect));
    CHECK(lines(r.err) == 1);
    CHECK(r.err.size() < 1000);
    CHECK(r.out.empty());
  }
  auto app = shop_cli(d, {"replay", "--function", huge, "--into", "lookupUser=v1"});
  CHECK(app.code == 2);
  CHECK(contains(app.err, "replay --function: no function '" + cut + "' is registered"));
  CHECK(app.err.size() < 1000);
}

TEST_CASE("log --help says what log --json prints", "[cli]") {
  temp_dir d;
  auto r = engine(d, {"log", "--help"});
  CHECK(r.code == 0);
  CHECK(contains(r.out, "one JSON object per event, one per line"));
  CHECK(contains(r.out, "{\"task\": ID, \"event\": {\"seq\": N, \"kind\": K"));
}

TEST_CASE("route set in one process reaches the engine serving the journal in another; serve drains "
          "on SIGTERM",
          "[cli][routing]") {
  temp_dir d;
  record_demo(d);
  running serve{d.path().string(), ACTORS_SHOP_BINARY, {"serve"}};
  REQUIRE(serve.wait_for("serving 3 function(s) on journal shop.db"));
  auto set = engine(d, {"--journal", "shop.db", "route", "set", "lookupUser", "--shadow", "v2",
                        "--primary", "v1"});
  REQUIRE(set.code == 0);
  CHECK(contains(set.out, "lookupUser: shadow v1 -> v2"));
  INFO(serve.seen());
  CHECK(serve.wait_for("routing: the journal's routes changed"));
  auto show = engine(d, {"--journal", "shop.db", "--json", "route", "show"});
  REQUIRE(show.code == 0);
  auto routes = nlohmann::json::parse(show.out);
  REQUIRE(routes.size() == 1);
  CHECK(routes[0]["mode"] == "shadow");
  CHECK(serve.stop(SIGTERM) == 0);
}

TEST_CASE("route set --percent reads decimal digits only, and 010 is ten percent", "[cli][routing]") {
  temp_dir d;
  record_demo(d);
  auto set = engine(d, {"--journal", "shop.db", "route", "set", "lookupUser", "--percent", "010", "--candidate",
                        "v2", "--primary", "v1"});
  INFO(set.err);
  REQUIRE(set.code == 0);
  auto show = engine(d, {"--journal", "shop.db", "--json", "route", "show"});
  REQUIRE(show.code == 0);
  auto routes = nlohmann::json::parse(show.out);
  REQUIRE(routes.size() == 1);
  CHECK(routes[0]["mode"] == "percent");
  CHECK(routes[0]["percent"] == 10);
}

TEST_CASE("route set --task swaps one function for one task's tree, and its replay runs that version",
          "[cli][routing][replay]") {
  temp_dir d;
  record_demo(d);
  auto id = first_request(d);
  auto set = shop_cli(d, {"route", "set", "lookupUser", "--task", id, "--version", "v3"});
  REQUIRE(set.code == 0);
  CHECK(contains(set.out, "lookupUser in the tree of task " + id + ": primary v3"));
  auto replay = shop_cli(d, {"task", "replay", id});
  CHECK(replay.code == 1); // v3 changes the name format: the replay departs at the output
  CHECK(contains(replay.out, "Lovelace, Ada"));
  auto clear = shop_cli(d, {"route", "clear", "lookupUser", "--task", id});
  REQUIRE(clear.code == 0);
  CHECK(shop_cli(d, {"task", "replay", id}).code == 0);
  auto again = engine(d, {"--journal", "shop.db", "route", "clear", "lookupUser", "--task", id});
  CHECK(again.code == 2);
  CHECK(contains(again.err, "no route of 'lookupUser' for task " + id));
  auto bad = shop_cli(d, {"route", "set", "lookupUser", "--version", "v9"});
  CHECK(bad.code == 2);
  CHECK(contains(bad.err, "'v9'"));
  auto both = shop_cli(d, {"route", "set", "lookupUser", "--version", "v2", "--shadow", "v3"});
  CHECK(both.code == 2);
  CHECK(contains(both.err, "exactly one of"));
}

TEST_CASE("the debugging story: a failing task, its replay, one function swapped for that task, the "
          "debug version's logs and where it departs",
          "[cli][replay][story]") {
  temp_dir d;
  auto get = shop_cli(d, {"get", "99"});
  REQUIRE(get.code == 1);
  REQUIRE(contains(get.out, "no user with id 99"));
  auto id = get.out.substr(5, 16); // "task <id> failed: ..."
  INFO("task " << id << "\n" << get.out);

  auto failed = engine(d, {"--journal", "shop.db", "task", "list", "--status", "failed"});
  CHECK(contains(failed.out, id));

  auto replay = shop_cli(d, {"task", "replay", id});
  CHECK(replay.code == 0); // the same failure, from the journal
  CHECK(contains(replay.out, "matches the recording"));
  CHECK(contains(replay.out, "no user with id 99"));

  auto set = shop_cli(d, {"route", "set", "lookupUser", "--task", id, "--version", "debug"});
  REQUIRE(set.code == 0);
  auto debug = shop_cli(d, {"task", "replay", id});
  CHECK(debug.code == 1);
  CHECK(contains(debug.out, "with lookupUser@debug"));
  CHECK(contains(debug.out, "[lookupUser@debug] debug: looking up user 99 for request tree " + id));
  CHECK(contains(debug.out, "[lookupUser@debug] debug: catalog.user failed"));
  CHECK(contains(debug.out, "diverges at effect #2 (extra effect)"));
  CHECK(contains(debug.out, "effect catalog.items {99}")); // asked for, never executed

  // Other tasks are untouched by the override.
  auto other = shop_cli(d, {"get", "2"});
  CHECK(other.code == 0);
  CHECK(contains(other.out, "Alan Turing"));
}

TEST_CASE("regression replay of 102 recorded tasks into a matching and into a diverging version",
          "[cli][replay][regression]") {
  temp_dir d;
  auto demo = shop_cli(d, {"demo", "--journal", "shop.db", "--requests", "34"}); // 3 x 34 page requests
  REQUIRE(demo.code == 0);
  auto same = shop_cli(d, {"replay", "--function", "handleRequest", "--into", "lookupUser=v2"});
  INFO(same.out << same.err);
  CHECK(same.code == 0);
  CHECK(contains(same.out, "replayed 102 task(s) of handleRequest with lookupUser@v2: 102 matched, "
                           "0 diverged, 0 error(s)"));
  auto diverging = shop_cli(d, {"--json", "replay", "--function", "handleRequest", "--into",
                            "lookupUser=v3", "--since", "1h"});
  CHECK(diverging.code == 1);
  auto r = nlohmann::json::parse(diverging.out);
  CHECK(r["replayed"] == 102);
  CHECK(r["diverged"] == 102);
  CHECK(r["matched"] == 0);
  CHECK(r["tasks"][0]["what"] == "output");
  auto some = shop_cli(d, {"replay", "--function", "handleRequest", "--into", "lookupUser=v3", "--limit", "5"});
  CHECK(some.code == 1);
  CHECK(contains(some.out, "replayed 5 task(s)"));
  auto bad = shop_cli(d, {"replay", "--function", "handleRequest", "--into", "lookupUser"});
  CHECK(bad.code == 2);
  CHECK(contains(bad.err, "malformed --into 'lookupUser'"));
}

TEST_CASE("JSON output (--json) survives journal text that is not UTF-8 (found by fuzz_journal_cli)",
          "[cli][errors]") {
  temp_dir d;
  const std::uint64_t id = 0x7100;
  {
    auto j = actors::eventlog::journal::open({.path = (d.path() / "bytes.db").string()});
    REQUIRE(j);
    auto rec = actors::test::root_record<std::string>(id, "raw\xff");
    (*j)->append_task(rec, actors::to_bytes(std::string{"\xc3"}), "\"\xc3\"");
    actors::eventlog::event ev;
    ev.task = id;
    ev.seq = 1;
    ev.kind = actors::eventlog::event_kind::log;
    ev.text = "half a character: \xc3, a stray byte: \xff";
    (*j)->append(ev);
    REQUIRE_FALSE((*j)->flush());
  }
  auto hex = actors::to_string(actors::task_id{id});
  for (const auto& args : std::vector<std::vector<std::string>>{
         {"--journal", "bytes.db", "--json", "task", "show", hex},
         {"--journal", "bytes.db", "--json", "task", "list"},
         {"--journal", "bytes.db", "--json", "log"}}) {
    auto r = engine(d, args);
    INFO(nlohmann::json(args).dump() << "\nstderr: " << r.err);
    REQUIRE(r.code == 0);
    // Valid UTF-8 (the bad bytes became U+FFFD): one document, or one per line (`log`).
    std::istringstream docs{args.back() == "log" ? r.out : std::string{}};
    if (args.back() != "log")
      CHECK_FALSE(nlohmann::json::parse(r.out).is_null());
    for (std::string line; std::getline(docs, line);)
      CHECK_FALSE(nlohmann::json::parse(line).is_null());
    CHECK(contains(r.out, "\xef\xbf\xbd"));
  }
}

namespace {


} // namespace

TEST_CASE("a damaged journal is refused for writing, left as it is, and reads that meet the damage say "
          "so",
          "[cli][damage]") {
  temp_dir d;
  record_demo(d);
  auto id = first_request(d);
  auto path = d.path().string() + "/shop.db";
  damage_leaf_pages(path, "events");
  auto before = slurp(path);

  auto set = engine(d, {"--journal", "shop.db", "route", "set", "lookupUser", "--version", "v2"});
  CHECK(set.code == 2);
  CHECK(contains(set.err, "shop.db"));
  CHECK(contains(set.err, "corrupt"));
  CHECK(contains(set.err, "checksum mismatch"));
  CHECK(lines(set.err) == 1);
  auto get = shop_cli(d, {"get", "3"});
  CHECK(get.code != 0);
  CHECK(contains(get.err + get.out, "corrupt"));
  auto serve = shop_cli(d, {"--journal", "shop.db", "serve"});
  CHECK(serve.code == 2);
  CHECK(contains(serve.err, "corrupt"));
  CHECK(slurp(path) == before);

  auto show = engine(d, {"--journal", "shop.db", "task", "show", id});
  CHECK(show.code == 2);
  CHECK(contains(show.err, "corrupt"));
  CHECK(!contains(show.err + show.out, "no task"));
  CHECK(slurp(path) == before);
}

TEST_CASE("task cancel: an unfinished task is not resumed by the engine serving the journal; ended "
          "tasks and calls inside a tree are refused",
          "[cli][cancel]") {
  temp_dir d;
  record_demo(d);
  auto id = first_request(d);
  // An unfinished request, as a crash leaves it: its task row and started event only.
  const std::uint64_t stuck = 0x7000;
  {
    auto j = actors::eventlog::journal::open({.path = (d.path() / "shop.db").string()});
    REQUIRE(j);
    auto rec = actors::test::root_record<shop::Request>(stuck, "handleRequest");
    (*j)->append_task(rec, actors::to_bytes(shop::Request{1, "/cart"}), "{1, \"/cart\"}");
    REQUIRE_FALSE((*j)->flush());
  }
  auto stuck_id = actors::to_string(actors::task_id{stuck});
  auto cancel = engine(d, {"--journal", "shop.db", "task", "cancel", stuck_id});
  INFO(cancel.err);
  REQUIRE(cancel.code == 0);
  CHECK(contains(cancel.out, "cancel requested"));
  running serve{d.path().string(), ACTORS_SHOP_BINARY, {"serve"}};
  REQUIRE(serve.wait_for("(0 unfinished task(s) resumed)"));
  CHECK(serve.stop(SIGTERM) == 0);
  auto list = engine(d, {"--journal", "shop.db", "task", "list", "--status", "cancelled"});
  CHECK(contains(list.out, stuck_id));
  CHECK(contains(list.out, "1 task"));

  auto ended = engine(d, {"--journal", "shop.db", "task", "cancel", id});
  CHECK(ended.code == 2);
  CHECK(contains(ended.err, "has already ended (completed)"));
  auto unknown = engine(d, {"--journal", "shop.db", "task", "cancel", "00000000000000ff"});
  CHECK(unknown.code == 2);
  CHECK(contains(unknown.err, "no task 00000000000000ff"));
}

TEST_CASE("log --follow prints events as another process appends them, until interrupted",
          "[cli][log]") {
  temp_dir d;
  record_demo(d);
  running follow{d.path().string(), ACTORS_ENGINE_BINARY,
                 {"--journal", "shop.db", "log", "--follow"}, running::stream::out};
  REQUIRE(follow.wait_for("GET /cart for user 1")); // the history first
  auto get = shop_cli(d, {"get", "5"});
  REQUIRE(get.code == 0);
  INFO(follow.seen());
  CHECK(follow.wait_for("GET /cart for user 5")); // then what is appended while it runs
  CHECK(follow.wait_for("catalog.user"));
  CHECK(follow.stop(SIGINT) == 0);
}

TEST_CASE("task show names the start key a task was started with", "[cli]") {
  temp_dir d;
  const std::uint64_t keyed = 0x7200, plain = 0x7201;
  {
    auto j = actors::eventlog::journal::open({.path = (d.path() / "keys.db").string()});
    REQUIRE(j);
    auto rec = actors::test::root_record<std::string>(keyed, "checkout");
    rec.start_key = "order-42";
    (*j)->append_task(rec, actors::to_bytes(std::string{"cart"}), "\"cart\"");
    (*j)->append_task(actors::test::root_record<std::string>(plain, "checkout"),
                      actors::to_bytes(std::string{"cart"}), "\"cart\"");
    REQUIRE_FALSE((*j)->flush());
  }
  auto keyed_hex = actors::to_string(actors::task_id{keyed});
  auto plain_hex = actors::to_string(actors::task_id{plain});
  auto show = engine(d, {"--journal", "keys.db", "task", "show", keyed_hex});
  REQUIRE(show.code == 0);
  CHECK(contains(show.out, "start key order-42\ntask " + keyed_hex + "  checkout@v1"));
  auto json_show = engine(d, {"--journal", "keys.db", "--json", "task", "show", keyed_hex});
  REQUIRE(json_show.code == 0);
  CHECK(nlohmann::json::parse(json_show.out)["start_key"] == "order-42");
  auto other = engine(d, {"--journal", "keys.db", "task", "show", plain_hex});
  REQUIRE(other.code == 0);
  CHECK_FALSE(contains(other.out, "start key"));
  auto other_json = engine(d, {"--journal", "keys.db", "--json", "task", "show", plain_hex});
  REQUIRE(other_json.code == 0);
  CHECK_FALSE(nlohmann::json::parse(other_json.out).contains("start_key"));
}

TEST_CASE("serve refuses a routing file it cannot read — a directory, a device, a FIFO, a missing, "
          "oversized or forbidden file — with one line naming it, exit 2, at once",
          "[cli][routing][errors]") {
  temp_dir d;
  auto dir = d.path().string();
  std::filesystem::create_directory(d.file("dir.yaml"));
  REQUIRE(mkfifo(d.file("fifo.yaml").c_str(), 0600) == 0);
  {
    std::ofstream big{d.file("big.yaml")};
    big << std::string(2 << 20, '#');
  }
  struct serve_case {
    std::string file;
    std::string expect;
  };
  const serve_case cases[] = {
    {"dir.yaml", "dir.yaml: cannot read the routing file: is a directory"}, // hung, ignoring SIGTERM
    {"/dev/zero", "/dev/zero: cannot read the routing file: is a character device"}, // bad_alloc, hung
    {"fifo.yaml", "fifo.yaml: cannot read the routing file: is a FIFO"},      // blocked in open()
    {"missing.yaml", "missing.yaml: cannot read the routing file: does not exist"},
    {"big.yaml", "big.yaml: cannot read the routing file: is 2097152 bytes, more than the limit of "
                 "1048576 bytes (1 MiB)"},
  };
  for (const auto& c : cases) {
    auto r = run(dir, ACTORS_SHOP_BINARY, {"serve", "--routing-file", c.file}, 60);
    INFO(c.file << "\nstderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(contains(r.err, c.expect));
    CHECK(lines(r.err) == 1);
  }

  // Root reads any file: the server runs as nobody here, in a directory of its own that nobody may
  // write (for its journal), with a routing file only root may read.
  auto own = d.file("nobody");
  std::filesystem::create_directory(own);
  REQUIRE(chmod(own.c_str(), 0777) == 0);
  {
    std::ofstream secret{own + "/secret.yaml"};
    secret << "functions: {}\n";
  }
  auto as = geteuid() == 0 ? uid_t{65534} : uid_t{0}; // not root: the owner is refused by mode 0
  REQUIRE(chmod((own + "/secret.yaml").c_str(), as != 0 ? 0600 : 0) == 0);
  auto r = run(own, ACTORS_SHOP_BINARY, {"serve", "--routing-file", "secret.yaml"}, 60, as);
  INFO("stderr: " << r.err);
  CHECK(r.code == 2);
  CHECK(contains(r.err, "secret.yaml: cannot read the routing file: permission denied"));
  CHECK(lines(r.err) == 1);
}
