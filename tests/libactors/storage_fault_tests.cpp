// Storage faults: the disk fills up, or writes and syncs fail, while an engine runs. The engine reports
// the error, takes no new work, loses nothing it acknowledged, and a restart after the fault resumes the
// tasks the fault stopped. Faults are injected by an SQLite VFS wrapping the default one (faulty_vfs).

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "faulty_vfs.hpp"
#include "test_support.hpp"

using namespace actors;
using actors::test::gate;
using actors::test::kv_put;
using actors::test::temp_dir;
namespace faulty_vfs = actors::test::faulty_vfs;

namespace {

// Three puts: the journal holds each result before the next one runs.
task<std::int64_t> three_puts(ctx& cx, std::int64_t n) {
  std::int64_t sum = 0;
  for (int k = 0; k < 3; ++k)
    sum += co_await cx.perform<kv_put>("k" + std::to_string(n) + "." + std::to_string(k), n);
  co_return sum;
}

// Held at the gate, then one put.
task<std::int64_t> held_put(ctx& cx, std::int64_t n) {
  auto g = co_await cx.perform(gate{n});
  co_return g + co_await cx.perform<kv_put>("held" + std::to_string(n), n);
}

router make_routes() {
  router r;
  r.add("threePuts", "v1", three_puts).add("heldPut", "v1", held_put);
  return r;
}

/// Counts executions of each put key; the gate is held until the test opens it (held_gates).
struct world {
  std::mutex mx;
  std::map<std::string, int> puts;
  test::held_gates gates;
  effects fx() {
    auto e = gates.fx();
    e.handle<kv_put>([this](const kv_put& p) {
      std::lock_guard guard{mx};
      ++puts[p.key];
      return p.value * 2;
    });
    return e;
  }
  int executions(const std::string& key) {
    std::lock_guard guard{mx};
    return puts.count(key) ? puts[key] : 0;
  }
};

bool is_journal_failure(const caf::error& err) {
  return err.category() == caf::atom("actors") &&
         err.code() == static_cast<std::uint8_t>(errc::journal_failure);
}

engine_config faulty_config(const std::string& path) {
  auto cfg = test::config_for(path);
  cfg.journal_vfs = faulty_vfs::name;
  return cfg;
}

} // namespace

TEST_CASE("a storage fault stops the engine taking work and loses nothing acknowledged; a restart "
          "after the fault resumes",
          "[storage][journal][resume]") {
  faulty_vfs::install();
  auto fault = GENERATE(faulty_vfs::fault::disk_full, faulty_vfs::fault::io_error);
  INFO((fault == faulty_vfs::fault::disk_full ? "disk full" : "I/O error"));
  temp_dir dir;
  auto path = dir.file("j.db");
  world w;
  std::vector<task_id> acknowledged;
  task_id stopped;
  {
    engine eng{faulty_config(path), make_routes(), w.fx()};
    REQUIRE_FALSE(eng.status());
    for (std::int64_t n = 1; n <= 5; ++n) {
      auto id = eng.start("threePuts", n);
      REQUIRE(id);
      REQUIRE(*eng.wait<std::int64_t>(*id) == 6 * n); // acknowledged: its result was durable
      acknowledged.push_back(*id);
    }
    auto held = eng.start("heldPut", std::int64_t{7});
    REQUIRE(held);
    stopped = *held;
    w.gates.wait_held(1); // the task is inside its effect, its start durable
    REQUIRE(eng.journal()->flush() == caf::error{});
    faulty_vfs::inject(fault);
    auto before = faulty_vfs::failures();
    w.gates.open(); // the gate's result cannot be journaled
    auto out = eng.wait<std::int64_t>(stopped);
    REQUIRE_FALSE(out);
    INFO(describe(out.error()));
    CHECK(is_journal_failure(out.error()));
    CHECK(faulty_vfs::failures() > before);
    CHECK(w.executions("held7") == 0); // it stopped before its next effect
    // The engine reports the failure and takes no new work.
    auto status = eng.status();
    REQUIRE(status);
    CHECK(is_journal_failure(status));
    CHECK(describe(status).find(path) != std::string::npos);
    auto refused = eng.start("threePuts", std::int64_t{9});
    REQUIRE_FALSE(refused);
    CHECK(is_journal_failure(refused.error()));
    CHECK(describe(refused.error()).find("takes no new tasks") != std::string::npos);
  }
  faulty_vfs::clear();
  // The fault is gone: a new engine on the file resumes the stopped task; the acknowledged results are
  // all there and none of their effects runs again.
  engine eng{faulty_config(path), make_routes(), w.fx()};
  REQUIRE_FALSE(eng.status());
  CHECK(*eng.wait<std::int64_t>(stopped) == 7 + 14);
  CHECK(w.gates.calls() == 2); // its result was never journaled: the gate runs again
  CHECK(w.executions("held7") == 1);
  for (std::size_t i = 0; i < acknowledged.size(); ++i) {
    auto n = static_cast<std::int64_t>(i + 1);
    CHECK(*eng.wait<std::int64_t>(acknowledged[i]) == 6 * n);
    for (int k = 0; k < 3; ++k)
      CHECK(w.executions("k" + std::to_string(n) + "." + std::to_string(k)) == 1);
  }
  auto more = eng.run<std::int64_t>("threePuts", std::int64_t{10});
  REQUIRE(more);
  CHECK(*more == 60);
}

TEST_CASE("an engine opened while the disk refuses writes says so, and opens once it accepts them",
          "[storage][journal][errors]") {
  faulty_vfs::install();
  temp_dir dir;
  auto path = dir.file("j.db");
  world w;
  faulty_vfs::inject(faulty_vfs::fault::io_error);
  {
    engine eng{faulty_config(path), make_routes(), w.fx()};
    auto err = eng.status();
    faulty_vfs::clear();
    REQUIRE(err);
    INFO(describe(err));
    CHECK(describe(err).find(path) != std::string::npos);
    auto refused = eng.start("threePuts", std::int64_t{1});
    CHECK_FALSE(refused);
  }
  engine eng{faulty_config(path), make_routes(), w.fx()};
  REQUIRE_FALSE(eng.status());
  CHECK(*eng.run<std::int64_t>("threePuts", std::int64_t{2}) == 12);
}

TEST_CASE("a journal VFS that is not registered is a clear error", "[storage][journal][errors]") {
  temp_dir dir;
  auto cfg = test::config_for(dir.file("j.db"));
  cfg.journal_vfs = "no-such-vfs";
  engine eng{cfg, make_routes(), effects{}};
  auto err = eng.status();
  REQUIRE(err);
  CHECK(describe(err).find("no SQLite VFS named 'no-such-vfs'") != std::string::npos);
}
