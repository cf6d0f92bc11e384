// One engine per journal, whatever path names it: the lock is on the journal's file, so a symlink, a
// hard link, a relative path, a path with ".." or "//" and a `file:` URI all lead to it. Real child
// engine processes (actors_crash_child), real links.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "child_process.hpp"
#include "crash_workload.hpp"
#include "test_support.hpp"
#include "file_checks.hpp"

using namespace actors;
using actors::test::listing;
using actors::test::slurp;
using actors::test::temp_dir;

namespace {

struct finished {
  int code = -1;
  std::string err;
  bool ran_a_task = false; ///< it printed INFLIGHT: it served the journal (and was killed)
};

/// Runs the crash child on `journal` in `dir` to its end; its stderr goes to `err_file`. A child that
/// is not refused starts a task and blocks in its effect after printing INFLIGHT: it is killed then.
finished run_child(const std::string& dir, const std::string& journal, const std::string& err_file) {
  int out[2];
  REQUIRE(pipe(out) == 0);
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(out[0]);
    int err = open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    test::exec_in(dir, ACTORS_CRASH_CHILD, {journal}, out[1], err);
  }
  close(out[1]);
  finished r;
  std::string seen;
  char chunk[256];
  for (ssize_t n; (n = read(out[0], chunk, sizeof chunk)) > 0;) { // EOF when the child exits
    seen.append(chunk, static_cast<std::size_t>(n));
    if (seen.find("INFLIGHT") != std::string::npos) {
      r.ran_a_task = true;
      kill(pid, SIGKILL);
      break;
    }
  }
  close(out[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.err = slurp(err_file);
  return r;
}

/// `path` as a `file:` URI with its dots percent-escaped.
std::string escaped_uri(const std::string& path) {
  std::string out = "file://localhost";
  for (auto c : path)
    out += c == '.' ? std::string{"%2E"} : std::string(1, c);
  return out;
}

/// True if process `pid` holds a POSIX (fcntl) lock on the file at `path`: SQLite's connections do.
bool holds_posix_lock(pid_t pid, const std::string& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  std::ifstream in{"/proc/locks"};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words{line};
    std::vector<std::string> w;
    for (std::string x; words >> x;)
      w.push_back(x);
    if (w.size() >= 6 && w[1] == "POSIX" && w[4] == std::to_string(pid) && w[5] == id)
      return true;
  }
  return false;
}

} // namespace

TEST_CASE("a second engine process is refused on every name of a served journal (symlink, hard link, "
          "relative, '..', '//', file URI)",
          "[resume][crash][lock]") {
  temp_dir dir;
  auto d = dir.path().string();
  auto path = dir.file("j.db");
  test::child_process server{d, ACTORS_CRASH_CHILD, {path}, test::child_process::stream::out};
  REQUIRE(server.wait_for("INFLIGHT"));
  if (server.line_after("STARTED ").empty())
    REQUIRE(server.wait_for("STARTED "));
  std::filesystem::create_symlink("j.db", dir.path() / "link.db");
  std::filesystem::create_directory(dir.path() / "sub");
  std::filesystem::create_directory_symlink(d, dir.path() / "sub" / "up");
  std::filesystem::create_hard_link(path, dir.path() / "sub" / "hard.db");
  auto ledger = slurp(path + ".effects");
  auto outputs = temp_dir{};
  auto names_before = listing(dir.path());
  const std::vector<std::string> names{
    "link.db", d + "/link.db", d + "/sub/hard.db", "j.db", "./j.db", d + "//j.db",
    d + "/sub/../j.db", d + "/sub/up/j.db", "file:j.db", "file:" + path, "file:///" + path.substr(1),
    escaped_uri(path), "file:sub/hard.db?mode=rw"};
  for (const auto& name : names) {
    INFO(name);
    auto r = run_child(d, name, outputs.file("err"));
    CHECK_FALSE(r.ran_a_task);
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Catch::Contains("actors.journal_in_use") &&
                        Catch::Contains("is served by another engine (process " +
                                        std::to_string(server.pid()) + ")"));
  }
  // No second engine ran an effect or left a file: the ledgers are the ones of the server.
  CHECK(slurp(path + ".effects") == ledger);
  CHECK(listing(dir.path()) == names_before);
  CHECK(server.stop(SIGKILL) == 128 + SIGKILL);
  auto id = task_id::from_string(server.line_after("STARTED "));
  REQUIRE(id);
  // Alone, an engine on a journal with two hard links is refused: SQLite would look for the -wal
  // beside the name it opens, miss the last commits (the unfinished task) and start a second log.
  for (const auto& name : {path, d + "/sub/hard.db"}) {
    engine linked{test::config_for(name), test::crash_routes(), test::crash_effects(path + ".effects", {})};
    CHECK_THAT(describe(linked.status()), Catch::Contains("journal.invalid_name") &&
                                            Catch::Contains("2 hard links"));
  }
  CHECK(listing(dir.path()) == names_before);
  std::filesystem::remove(dir.path() / "sub" / "hard.db");
  // The kernel dropped the lock with the server: an engine on another name takes over and resumes.
  engine next{test::config_for(d + "/link.db"), test::crash_routes(),
              test::crash_effects(path + ".effects", {})};
  REQUIRE_FALSE(next.status());
  auto out = next.wait<std::string>(*id);
  REQUIRE(out);
  CHECK(*out == "95/paid-500/parcel-5");
  CHECK(next.stats().resumed == 1);
  auto ran = slurp(path + ".effects");
  CHECK(std::count(ran.begin(), ran.end(), '\n') == 4); // reserve, charge (in flight at the kill), charge, ship
}

TEST_CASE("in one process, an engine on another name of a served journal is refused, and the "
          "refusal leaves the server's SQLite locks in place",
          "[resume][lock]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  std::optional<engine> first;
  first.emplace(test::config_for(path), router{}, effects{});
  REQUIRE_FALSE(first->status());
  std::filesystem::create_symlink(path, dir.file("link.db"));
  std::filesystem::create_hard_link(path, dir.file("hard.db"));
  REQUIRE(holds_posix_lock(getpid(), path)); // the serving engine's SQLite connections
  for (const auto& name : {dir.file("link.db"), dir.file("hard.db"), "file:" + path}) {
    INFO(name);
    engine second{test::config_for(name), router{}, effects{}};
    auto err = second.status();
    REQUIRE(err);
    CHECK(err.code() == static_cast<std::uint8_t>(errc::journal_in_use));
    CHECK_THAT(describe(err), Catch::Contains("process " + std::to_string(getpid())));
  }
  // Closing a descriptor of the file would have dropped every POSIX lock of this process on it, the
  // serving engine's included (SQLite counts on them to know it is not the last connection).
  CHECK(holds_posix_lock(getpid(), path));
  first.reset();
  std::filesystem::remove(dir.file("hard.db"));
  engine next{test::config_for(dir.file("link.db")), router{}, effects{}};
  CHECK_FALSE(next.status());
}

TEST_CASE("a failed engine start leaves nothing beside the journal (no lock file, no journal it "
          "created)",
          "[resume][lock][errors]") {
  temp_dir dir;
  auto path = dir.file("j.db");
  auto cfg = test::config_for(path);
  cfg.journal_vfs = "no-such-vfs";
  {
    engine eng{cfg, router{}, effects{}};
    auto err = eng.status();
    REQUIRE(err);
    CHECK_THAT(describe(err), Catch::Contains("no-such-vfs"));
  }
  CHECK(listing(dir.path()).empty());
  { // a refused URI touches nothing either
    engine eng{test::config_for("file:" + path + "?nolock=1"), router{}, effects{}};
    CHECK_THAT(describe(eng.status()), Catch::Contains("journal.invalid_name") &&
                                         Catch::Contains("nolock=1"));
  }
  CHECK(listing(dir.path()).empty());
  { // a journal that exists is locked and opened, and left as it was when its open fails
    auto j = eventlog::journal::open({.path = path});
    REQUIRE(j);
  }
  auto before = listing(dir.path());
  {
    engine eng{cfg, router{}, effects{}};
    CHECK(eng.status());
  }
  CHECK(listing(dir.path()) == before);
}
