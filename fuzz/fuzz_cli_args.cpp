// fuzz_cli_args: actors::engine_main on arbitrary argument lists — every subcommand, the writing ones
// included (route set / clear, task cancel), with and without application code — each input on a fresh
// copy of a real journal (journal_fixture.hpp's template, undamaged; fuzz_journal_cli damages it).
// Arguments are words of the command line's vocabulary, task ids of the journal, numbers, and whatever
// the input spells (long, with control characters, not UTF-8).
//
// Oracle: engine_main returns 0, 1 (task replay / replay: a divergence) or 2, nothing escapes it and it
// reports no "internal error"; an exit 2 prints exactly one line of its own on stderr, at most
// max_error_line bytes however long the arguments are; no subcommand changes the journal's tasks or
// events, and one that fails (exit 2) changes nothing (routes, cancel requests, supervision rows,
// divergences included).
//
// Left out, on purpose: `log --follow` (polls until a signal), `serve` with application code (runs
// until a signal), and `--journal` values of the input (the journal path forms, URIs and links, are
// another target's: every --journal here is the input's fresh copy, a missing file or a file that is
// not a journal, all in the fixture's directory).

#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <actors/actors.hpp>
#include <actors/engine_main.hpp>

#include "engine_main_run.hpp"
#include "journal_fixture.hpp"

namespace {

using namespace fuzz;

/// An error line's limit: 5 × 200 bytes of message (engine_main's cut) plus the program's name.
constexpr std::size_t max_error_line = 1100;

[[noreturn]] void fail(const std::string& what, const std::vector<std::string>& args) {
  std::fprintf(stderr, "fuzz_cli_args: %s\n  args:", what.c_str());
  for (auto& a : args)
    std::fprintf(stderr, " [%s]", a.substr(0, 200).c_str());
  std::fprintf(stderr, "\n");
  std::abort();
}

// The application's code for the fixture's functions (task replay and replay run it).
actors::task<std::string> echo(actors::ctx&, std::string s) {
  co_return s;
}

actors::task<std::string> shout(actors::ctx& cx, std::string s) {
  co_await cx.log("shouting {}", s);
  co_return s + "!";
}

const actors::router& app_routes() {
  static const actors::router r = [] {
    actors::router r;
    r.add("lookupUser", "v1", echo).add("lookupUser", "v2", shout).add("checkout", "v1", echo);
    r.add("ship", "v1", echo).add("session", "v1", echo);
    return r;
  }();
  return r;
}

const char* const words[] = {
  "serve", "task", "list", "show", "replay", "cancel", "route", "set", "clear", "divergences", "log",
  "sup", "tree", "--json", "--help", "-h", "--function", "--status", "--since", "--limit", "--version",
  "--task", "--shadow", "--percent", "--candidate", "--primary", "--into", "--routing-file", "--",
  "lookupUser", "checkout", "ship", "session", "ghost", "v1", "v2", "v9", "lookupUser=v1",
  "lookupUser=v2", "ghost=v1", "running", "completed", "failed", "cancelled", "1h", "90s", "500ms",
  "1h30m", "999999999999d", "0", "1", "5", "-1", "100", "101", "0x10", "99999999999999999999", "",
};

/// The whole of the fixture journal a CLI run could touch, as text: what must not change.
std::string snapshot(const std::string& path, bool everything) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open";
  }
  std::string out;
  const char* always[] = {"SELECT * FROM tasks ORDER BY id", "SELECT * FROM events ORDER BY rowid"};
  const char* more[] = {"SELECT * FROM routes ORDER BY function, root",
                        "SELECT * FROM cancel_requests ORDER BY task",
                        "SELECT * FROM supervision ORDER BY supervisor, child",
                        "SELECT * FROM divergences ORDER BY id", "SELECT * FROM messages ORDER BY id"};
  auto dump = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
      out += "[cannot read]";
      return;
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        auto* p = static_cast<const char*>(sqlite3_column_blob(s, c));
        out.append(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_column_bytes(s, c)));
        out += '\x1f';
      }
      out += '\n';
    }
    sqlite3_finalize(s);
  };
  for (auto* q : always)
    dump(q);
  if (everything)
    for (auto* q : more)
      dump(q);
  sqlite3_close(db);
  return out;
}

/// One argument of the input's choosing.
std::string argument(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 9)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return in.PickValueInArray(words);
    case 4: {
      auto id = in.PickValueInArray(known_ids);
      return actors::to_string(actors::task_id{id == 0 ? 0xdead : id}); // 0xdead: no such task
    }
    case 5:
      return std::to_string(in.ConsumeIntegral<std::int64_t>());
    case 6: { // long: where errors must cut what they quote
      auto c = in.ConsumeIntegral<char>();
      return std::string(in.ConsumeIntegralInRange<std::size_t>(200, 20'000), c);
    }
    default:
      return in.ConsumeRandomLengthString(64);
  }
}

/// `a` unless it would run without end here (log --follow) or pick a journal path of the input's.
std::string tamed(std::string a, bool app) {
  if (a.rfind("--follow", 0) == 0 || (a.size() > 1 && a[0] == '-' && a[1] != '-' &&
                                      a.find('f') != std::string::npos))
    return "--json";
  if (a.rfind("--journal", 0) == 0)
    return "--journal=" + fixture::get().path();
  if (app && a == "serve")
    return "sever";
  return a;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto& f = fixture::get();
  // The working directory holds the default journal ("actors.db", never created here).
  auto dir = f.path().substr(0, f.path().rfind('/'));
  if (::chdir(dir.c_str()) != 0)
    die("cannot enter", dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in{data, size};
  auto& f = fixture::get();
  f.write(f.template_bytes()); // fresh for every input
  ::unlink((f.path() + "-engine.lock").c_str());
  bool app = in.ConsumeIntegralInRange<int>(0, 3) == 0;
  std::vector<std::string> args{"fuzz_cli"};
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: // the default journal: actors.db in the working directory, which does not exist
      break;
    case 1:
      args.push_back("--journal=" + f.path() + ".missing");
      break;
    case 2: { // a file that is not a journal
      auto other = f.path() + ".text";
      if (auto* fp = std::fopen(other.c_str(), "w")) {
        std::fputs("not a journal\n", fp);
        std::fclose(fp);
      }
      args.insert(args.end(), {"--journal", other});
      break;
    }
    default:
      args.insert(args.end(), {"--journal", f.path()});
  }
  auto n = in.ConsumeIntegralInRange<int>(0, 10);
  for (int i = 0; i < n && in.remaining_bytes() > 0; ++i)
    args.push_back(tamed(argument(in), app));

  static const actors::router no_routes;
  static const actors::effects fx;
  auto before_all = snapshot(f.path(), true);
  auto before = snapshot(f.path(), false);
  auto run = run_engine_main(args, app ? app_routes() : no_routes, fx);
  auto rc = run.code;
  const auto& errors = run.errors;
  if (run.internal_error("fuzz_cli"))
    fail("internal error: " + errors.substr(0, 2000), args);
  if (rc != 0 && rc != 1 && rc != 2)
    fail("exit code " + std::to_string(rc), args);
  if (rc == 2) {
    auto first = errors.find('\n');
    if (errors.rfind("fuzz_cli: ", 0) != 0 || first != errors.size() - 1)
      fail("exit 2 without exactly one line of its own on stderr: " + errors.substr(0, 2000), args);
    if (errors.size() > max_error_line)
      fail("an error line of " + std::to_string(errors.size()) + " bytes: " + errors.substr(0, 300),
           args);
  }
  if (snapshot(f.path(), false) != before)
    fail("the journal's tasks or events changed (exit " + std::to_string(rc) + ")", args);
  if (rc == 2 && snapshot(f.path(), true) != before_all)
    fail("a failed command changed the journal", args);
  return 0;
}
