// An engine that cannot start — at whatever step of its construction — reports why in status(), leaves
// no thread running and touches no freed memory (run under ASan by the asan preset, which runs the whole
// suite; the tag [asan] selects these alone). The routing file, read at start-up, may be anything a path
// can name: a directory, /dev/zero, a FIFO with no writer, a file root's permissions would let through.

#include <dirent.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>
#include <actors/routing_file.hpp>

#include "engine/engine_core.hpp" // libactors/src: the white-box teardown test at the end
#include "test_support.hpp"

using namespace actors;
using actors::test::temp_dir;
using namespace std::chrono_literals;

namespace {

task<std::string> lookup(ctx&, std::int64_t uid) {
  co_return "v1:" + std::to_string(uid);
}

/// Two effect types that claim the same name: an effects set handling both is invalid.
struct e1 {
  using result_type = int;
  static constexpr const char* name = "same.name";
  template <class Ar>
  void serialize(Ar&, unsigned) {}
};
struct e2 {
  using result_type = int;
  static constexpr const char* name = "same.name";
  template <class Ar>
  void serialize(Ar&, unsigned) {}
};

router make_routes() {
  router r;
  r.add("lookupUser", "v1", lookup);
  return r;
}

/// Threads of this process now (/proc/self/task).
std::size_t thread_count() {
  std::size_t n = 0;
  if (auto* d = opendir("/proc/self/task")) {
    while (auto* e = readdir(d))
      n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

/// Whether the thread count comes back to `n`. A joined thread leaves /proc/self/task a moment after
/// its join returned (the kernel reaps it just after waking the joiner), so this polls the kernel's
/// list for up to 30 s; a thread still running never leaves it and fails the check.
bool threads_back_to(std::size_t n) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (thread_count() > n) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::yield();
  }
  return true;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
}

/// Builds an engine with `cfg`, expects it not to start with an error containing `expect`, and checks
/// that no thread it started is left, while it lives (it stopped what it started) and once it is gone.
void expect_refused(const engine_config& cfg, const router& routes, const effects& fx,
                    const std::string& expect) {
  auto before = thread_count();
  {
    engine eng{cfg, routes, fx};
    auto err = eng.status();
    REQUIRE(err);
    INFO("status: " << to_string(err));
    CHECK(describe(err).find(expect) != std::string::npos);
    CHECK(threads_back_to(before));
    CHECK_FALSE(eng.start("lookupUser", std::int64_t{1})); // every call returns the error
  }
  CHECK(threads_back_to(before));
}

} // namespace

TEST_CASE("an engine that fails at any step of its start-up reports it, and leaves no thread running",
          "[engine][startup][asan]") {
  temp_dir dir;
  effects fx;
  auto cfg = test::config_for(dir.file("j.db"));
  cfg.log_level = "off";

  SECTION("an invalid router") {
    router bad = make_routes();
    bad.add("lookupUser", "v1", lookup);
    expect_refused(cfg, bad, fx, "registered twice");
  }
  SECTION("invalid effects") {
    effects two;
    two.handle<e1>([](const e1&) { return 1; });
    two.handle<e2>([](const e2&) { return 2; });
    expect_refused(cfg, make_routes(), two, "same.name");
  }
  SECTION("a bad configuration value") {
    cfg.scheduler_policy = "random";
    expect_refused(cfg, make_routes(), fx, "scheduler_policy");
    cfg.scheduler_policy = "sharing";
    cfg.worker_threads = std::size_t{1} << 40;
    expect_refused(cfg, make_routes(), fx, "worker_threads");
  }
  SECTION("a journal that cannot be opened") {
    write_text(dir.file("j.db"), std::string(8192, 'x')); // not an SQLite file
    expect_refused(cfg, make_routes(), fx, "j.db");
  }
  SECTION("the journal's lock, held by another engine") {
    engine first{cfg, make_routes(), fx};
    REQUIRE_FALSE(first.status());
    expect_refused(cfg, make_routes(), fx, "journal_in_use");
  }
  SECTION("a routing file that does not parse (the actor system runs by then)") {
    cfg.routing_file = dir.file("routing.yaml");
    write_text(cfg.routing_file, "functions:\n  lookupUser:\n    routing: { mode: sometimes, primary: v1 }\n");
    expect_refused(cfg, make_routes(), fx, "routing.yaml:3");
  }
}

TEST_CASE("a routing file that is not a readable regular file of at most 1 MiB is an error naming it, "
          "at start-up, and never blocks or throws",
          "[engine][startup][routing][asan]") {
  temp_dir dir;
  effects fx;
  auto cfg = test::config_for(dir.file("j.db"));
  cfg.log_level = "off";
  auto refused = [&](const std::string& path, const std::string& why) {
    cfg.routing_file = path;
    expect_refused(cfg, make_routes(), fx, path + ": cannot read the routing file: " + why);
    auto direct = read_routing_file(path);
    REQUIRE_FALSE(direct);
    CHECK(describe(direct.error()).find(why) != std::string::npos);
  };

  SECTION("a directory") { // used to hang the engine (and ignore SIGTERM) after an exception
    std::filesystem::create_directory(dir.file("routing.yaml"));
    refused(dir.file("routing.yaml"), "is a directory (a routing file must be a regular file)");
  }
  SECTION("a character device that never ends") { // used to read until bad_alloc
    refused("/dev/zero", "is a character device");
  }
  SECTION("a FIFO no one writes to") { // must not block in open()
    REQUIRE(mkfifo(dir.file("fifo.yaml").c_str(), 0600) == 0);
    refused(dir.file("fifo.yaml"), "is a FIFO");
  }
  SECTION("a file that does not exist") {
    refused(dir.file("missing.yaml"), "does not exist");
  }
  SECTION("a file over the size limit") {
    std::string big = "functions:\n" + std::string(max_routing_file_bytes, '#');
    write_text(dir.file("big.yaml"), big);
    refused(dir.file("big.yaml"), "is " + std::to_string(big.size()) +
                                    " bytes, more than the limit of 1048576 bytes (1 MiB)");
    write_text(dir.file("limit.yaml"), std::string(max_routing_file_bytes, '#')); // exactly the limit
    CHECK(read_routing_file(dir.file("limit.yaml")));
  }
  SECTION("a file this process may not read") {
    // Tests run as root, whose CAP_DAC_OVERRIDE reads any file. A thread whose filesystem uid is
    // nobody's has no such capability (the kernel drops it from the thread's effective set), so the
    // engine is built on such a thread: its open() meets the real permission check. The journal is
    // off: nobody may not create files in the test's directory either.
    auto path = dir.file("secret.yaml");
    write_text(path, "functions: {}\n");
    REQUIRE(chmod(path.c_str(), 0) == 0);
    cfg.journal_enabled = false;
    cfg.routing_file = path;
    std::string status, direct;
    bool unprivileged = false;
    std::size_t before = thread_count();
    std::thread{[&] {
      setfsuid(65534);
      unprivileged = setfsuid(static_cast<uid_t>(-1)) == 65534 || geteuid() != 0;
      engine eng{cfg, make_routes(), fx};
      status = describe(eng.status());
      auto r = read_routing_file(path);
      direct = r ? std::string{"read"} : describe(r.error());
    }}.join();
    REQUIRE(unprivileged);
    CHECK(status.find(path + ": cannot read the routing file: permission denied") != std::string::npos);
    CHECK(direct.find("permission denied") != std::string::npos);
    CHECK(threads_back_to(before));
  }
}

// White-box: the core's teardown, whatever of it construction had built when it stopped (or threw). The
// members are destroyed in reverse declaration order — the worker pool before the journal — so without
// engine_core::shutdown the journal's closing call of its commit listener ran into the freed pool.
TEST_CASE("an engine core torn down at any stage of construction never calls into what it freed",
          "[engine][startup][asan]") {
  temp_dir dir;
  for (int stage = 1; stage <= 3; ++stage) {
    INFO("stage " << stage);
    auto before = thread_count();
    {
      detail::engine_core core;
      auto j = eventlog::journal::open({.path = dir.file("j" + std::to_string(stage) + ".db")});
      REQUIRE(j);
      core.journal = std::move(*j);
      if (stage >= 2) { // the pool and the journal's listener into it
        core.pool = std::make_unique<detail::worker_pool>(2);
        core.journal->set_commit_listener(
          [pool = core.pool.get()](eventlog::lsn n, const caf::error& err) { pool->durable(n, err); });
      }
      if (stage >= 3) { // the actor system
        core.system_cfg = std::make_unique<caf::actor_system_config>();
        core.system_cfg->set("scheduler.max-threads", 2);
        core.keeping_thread_logger([&core] { core.system = std::make_unique<caf::actor_system>(*core.system_cfg); });
      }
      core.journal->set_route({.function = "f", .mode = "primary", .primary = "v1"}); // a commit to come
    } // ~engine_core: the journal closes last, its listener detached before the pool goes
    CHECK(threads_back_to(before));
  }
}
