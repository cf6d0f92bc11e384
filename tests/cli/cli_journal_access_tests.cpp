// Inspecting a journal needs no write access and leaves nothing behind: `task list`, `task show` and
// `log` on a journal in a read-only directory as a user who cannot write there, on a writable one
// (no -wal or -shm left), and beside a live writer (its commits are seen). A journal under a directory
// the user cannot read is a one-line error. Real binaries as child processes; as root, the child drops
// to `nobody` before it runs the command, so the checks hold whoever runs the suite.

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <actors/eventlog/journal.hpp>

#include "../libactors/child_process.hpp"
#include "../libactors/test_support.hpp"
#include "../libactors/file_checks.hpp"

using actors::test::listing;
using actors::test::slurp;
using actors::test::temp_dir;

namespace {

struct result {
  int code = -1;
  std::string out;
  std::string err;
};

/// Who runs the commands: this user if it is not root (permissions bind it), else `nobody`.
struct reader_identity {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

reader_identity reader() {
  if (geteuid() != 0)
    return {};
  auto* pw = getpwnam("nobody");
  REQUIRE(pw != nullptr);
  return {true, pw->pw_uid, pw->pw_gid};
}

/// Runs `binary args...` in `dir` as `who`, to its end; output goes to files in `outputs`.
result run_as(const reader_identity& who, const std::string& dir, const std::string& binary,
              const std::vector<std::string>& args, const temp_dir& outputs) {
  auto out_path = outputs.file("stdout"), err_path = outputs.file("stderr");
  auto pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (who.drop && (setgroups(0, nullptr) != 0 || setgid(who.gid) != 0 || setuid(who.uid) != 0))
      _exit(126);
    actors::test::exec_in(dir, binary, args, out, err);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// A journal at `path` with one root task `id` of "checkout" that completed, written and closed.
void write_journal(const std::string& path, std::uint64_t id) {
  auto j = actors::eventlog::journal::open({.path = path});
  REQUIRE(j);
  (*j)->append_task(actors::test::root_record<std::string>(id, "checkout"),
                    actors::to_bytes(std::string{"cart"}), "\"cart\"");
  REQUIRE_FALSE((*j)->flush());
}

/// Runs `task list`, `task show ID` and `log` on `journal` as `who` in `dir`; each must exit 0 and show
/// the task.
void inspect(const reader_identity& who, const std::string& dir, const std::string& journal,
             std::uint64_t id) {
  temp_dir outputs;
  auto hex = actors::to_string(actors::task_id{id});
  const std::vector<std::vector<std::string>> commands{
    {"--journal", journal, "task", "list"},
    {"--journal", journal, "--json", "task", "list"},
    {"--journal", journal, "task", "show", hex},
    {"--journal", journal, "log"}};
  for (const auto& args : commands) {
    auto r = run_as(who, dir, ACTORS_ENGINE_BINARY, args, outputs);
    std::string command;
    for (std::size_t i = 2; i < args.size(); ++i)
      command += args[i] + " ";
    INFO(command);
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(contains(r.out, args.back() == "log" ? hex : std::string{"checkout"}));
  }
}

} // namespace

TEST_CASE("read commands work on a journal in a read-only directory for a user who cannot write "
          "there, and leave it as it was",
          "[cli][read-only]") {
  temp_dir d;
  auto ro = d.path() / "ro";
  std::filesystem::create_directory(ro);
  auto path = (ro / "j.db").string();
  write_journal(path, 0x5100);
  auto before = listing(ro);
  REQUIRE(before == std::set<std::string>{"j.db"});
  std::filesystem::permissions(ro, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                                     std::filesystem::perms::group_read | std::filesystem::perms::group_exec |
                                     std::filesystem::perms::others_read | std::filesystem::perms::others_exec);
  inspect(reader(), d.path().string(), path, 0x5100);
  inspect(reader(), ro.string(), "j.db", 0x5100); // relative to a read-only working directory
  inspect(reader(), d.path().string(), "file:" + path, 0x5100);
  CHECK(listing(ro) == before);
  std::filesystem::permissions(ro, std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
}

TEST_CASE("read commands leave no -wal or -shm file beside a journal in a writable directory",
          "[cli][read-only]") {
  temp_dir d;
  auto path = d.file("j.db");
  write_journal(path, 0x5200);
  auto before = listing(d.path());
  REQUIRE(before == std::set<std::string>{"j.db"});
  reader_identity self; // this user, who may write there
  inspect(self, d.path().string(), "j.db", 0x5200);
  CHECK(listing(d.path()) == before);
}

TEST_CASE("read commands beside a live writer see its commits as they come, also from a user who "
          "cannot write in its directory",
          "[cli][read-only]") {
  temp_dir d;
  auto path = d.file("j.db");
  write_journal(path, 0x5300);
  auto writer = actors::eventlog::journal::open({.path = path});
  REQUIRE(writer);
  auto append = [&](std::uint64_t id) {
    (*writer)->append_task(actors::test::root_record<std::string>(id, "checkout"),
                           actors::to_bytes(std::string{"cart"}), "\"cart\"");
    REQUIRE_FALSE((*writer)->flush());
  };
  append(0x5301);
  REQUIRE(std::filesystem::exists(path + "-wal")); // the commit is in the WAL, not the file yet
  auto before = listing(d.path());
  reader_identity self;
  inspect(self, d.path().string(), "j.db", 0x5301);
  append(0x5302);
  inspect(self, d.path().string(), "j.db", 0x5302);
  using std::filesystem::perms;
  std::filesystem::permissions(d.path(), perms::owner_write | perms::group_write | perms::others_write,
                               std::filesystem::perm_options::remove);
  append(0x5303);
  inspect(reader(), d.path().string(), path, 0x5303);
  CHECK(listing(d.path()) == before);
  std::filesystem::permissions(d.path(), perms::owner_write, std::filesystem::perm_options::add);
}

TEST_CASE("a journal under a directory the user cannot read is a one-line error naming it",
          "[cli][errors]") {
  temp_dir d;
  auto locked = d.path() / "locked";
  std::filesystem::create_directory(locked);
  write_journal((locked / "j.db").string(), 0x5400);
  std::filesystem::permissions(locked, std::filesystem::perms::none);
  temp_dir outputs;
  auto who = reader();
  for (const auto& args : std::vector<std::vector<std::string>>{
         {"--journal", "locked/j.db", "task", "list"},
         {"--journal", "locked/j.db", "log"},
         {"--journal", "locked/j.db", "route", "show"}}) {
    auto r = run_as(who, d.path().string(), ACTORS_ENGINE_BINARY, args, outputs);
    INFO(r.err);
    CHECK(r.code == 2);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(contains(r.err, "locked/j.db"));
    CHECK(contains(r.err, "Permission denied"));
    CHECK_FALSE(contains(r.err, "internal error"));
  }
  // An engine serving it: refused in one line, before anything is created.
  auto r = run_as(who, d.path().string(), ACTORS_SHOP_BINARY, {"--journal", "locked/j.db", "serve"},
                  outputs);
  INFO(r.err);
  CHECK(r.code != 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(contains(r.err, "locked/j.db"));
  CHECK(contains(r.err, "Permission denied"));
  CHECK_FALSE(contains(r.err, "internal error"));
  std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
  CHECK(listing(locked) == std::set<std::string>{"j.db"});
}
