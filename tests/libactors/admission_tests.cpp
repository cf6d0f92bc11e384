// Admission (engine_config::max_running_tasks): a burst of starts beyond the limit waits in a queue,
// journaled; tasks that wait for anything but an effect give their place up; a cancel reaches a
// waiting task at once.

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include <actors/actors.hpp>
#include <actors/eventlog/journal.hpp>

#include "test_support.hpp"

using namespace actors;
using actors::test::temp_dir;

namespace {

/// test.enter: its handler records which task entered and holds every caller until open().
struct enter {
  using result_type = std::int64_t;
  static constexpr const char* name = "test.enter";
  std::int64_t n = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & n;
  }
};

class doorway {
public:
  effects fx() {
    effects e;
    e.handle<enter>([this](const enter& x) {
      {
        std::lock_guard guard{mx_};
        entered_.push_back(x.n);
        inside_max_ = std::max(inside_max_, static_cast<int>(entered_.size()) - left_);
      }
      cv_.notify_all();
      opened_.wait();
      std::lock_guard guard{mx_};
      ++left_;
      return x.n;
    });
    return e;
  }
  /// Blocks until `n` handlers have been entered.
  void wait_entered(std::size_t n) {
    std::unique_lock guard{mx_};
    cv_.wait(guard, [&] { return entered_.size() >= n; });
  }
  std::vector<std::int64_t> entered() const {
    std::lock_guard guard{mx_};
    return entered_;
  }
  int inside_max() const {
    std::lock_guard guard{mx_};
    return inside_max_;
  }
  void open() { open_.set_value(); }

private:
  std::promise<void> open_;
  std::shared_future<void> opened_ = open_.get_future().share();
  mutable std::mutex mx_;
  std::condition_variable cv_;
  std::vector<std::int64_t> entered_;
  int left_ = 0;
  int inside_max_ = 0;
};

router admission_routes() {
  router r;
  r.add("enters", "v1", [](ctx& cx, std::int64_t n) -> task<std::int64_t> {
     co_return co_await cx.perform(enter{n});
   })
    .add("collects", "v1", [](ctx& cx, std::int64_t) -> task<std::int64_t> {
      co_return co_await cx.receive<std::int64_t>();
    })
    .add("sends", "v1", [](ctx& cx, std::int64_t to) -> task<std::int64_t> {
      co_await cx.send(task_id{static_cast<std::uint64_t>(to)}, std::int64_t{7});
      co_return 0;
    })
    .add("naps", "v1", [](ctx& cx, std::int64_t ms) -> task<std::int64_t> {
      co_await cx.sleep(std::chrono::milliseconds{ms});
      co_return ms;
    });
  return r;
}

engine_config limited(const std::string& journal, std::size_t places) {
  auto cfg = test::config_for(journal);
  cfg.max_running_tasks = places;
  return cfg;
}

} // namespace

TEST_CASE("a burst beyond max_running_tasks waits, journaled, and runs as places free up",
          "[admission][engine]") {
  temp_dir dir;
  doorway door;
  engine eng{limited(dir.file("j.db"), 4), admission_routes(), door.fx()};
  REQUIRE_FALSE(eng.status());
  std::vector<task_id> ids;
  for (std::int64_t i = 0; i < 10; ++i) {
    auto id = eng.start("enters", i);
    REQUIRE(id); // returns at once, placed or not
    ids.push_back(*id);
  }
  door.wait_entered(4);
  // The first four started run (held in their effects); the other six wait, and they are journaled.
  auto first = door.entered();
  CHECK(std::set<std::int64_t>(first.begin(), first.end()) == std::set<std::int64_t>{0, 1, 2, 3});
  CHECK(eng.stats().waiting == 6);
  REQUIRE(eng.journal()->flush() == caf::error{});
  for (auto id : ids) {
    auto rec = eng.journal()->find_task(id.value());
    REQUIRE(rec);
    REQUIRE(rec->has_value());
    CHECK((*rec)->status == eventlog::task_status::running);
  }
  door.open();
  for (std::int64_t i = 0; i < 10; ++i) {
    auto out = eng.wait<std::int64_t>(ids[static_cast<std::size_t>(i)]);
    REQUIRE(out);
    CHECK(*out == i);
  }
  CHECK(door.inside_max() <= 4);
  CHECK(door.entered().size() == 10);
  CHECK(eng.stats().waiting == 0);
}

TEST_CASE("tasks waiting for messages or timers give their place up", "[admission][engine]") {
  // Two places. Two receivers start first and wait for a message; without giving their places up
  // they would hold both, and the senders they wait for would never start (the test would hang).
  temp_dir dir;
  doorway door;
  engine eng{limited(dir.file("j.db"), 2), admission_routes(), door.fx()};
  REQUIRE_FALSE(eng.status());
  auto a = eng.start("collects", std::int64_t{0});
  auto b = eng.start("collects", std::int64_t{0});
  auto nap1 = eng.start("naps", std::int64_t{1});
  auto nap2 = eng.start("naps", std::int64_t{1});
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(nap1);
  REQUIRE(nap2);
  auto to_a = eng.start("sends", static_cast<std::int64_t>(a->value()));
  auto to_b = eng.start("sends", static_cast<std::int64_t>(b->value()));
  REQUIRE(to_a);
  REQUIRE(to_b);
  for (auto id : {*to_a, *to_b, *nap1, *nap2})
    REQUIRE(eng.wait<std::int64_t>(id));
  for (auto id : {*a, *b}) {
    auto got = eng.wait<std::int64_t>(id);
    REQUIRE(got);
    CHECK(*got == 7);
  }
  CHECK(eng.stats().waiting == 0);
  door.open();
}

TEST_CASE("a task cancelled while it waits for a place ends at once, without running its code",
          "[admission][cancel][engine]") {
  auto journal = GENERATE(as<std::string>{}, "file", "off");
  CAPTURE(journal);
  temp_dir dir;
  doorway door;
  auto cfg = limited(dir.file("j.db"), 1);
  cfg.journal_enabled = journal == "file";
  engine eng{cfg, admission_routes(), door.fx()};
  REQUIRE_FALSE(eng.status());
  auto running = eng.start("enters", std::int64_t{1});
  REQUIRE(running);
  door.wait_entered(1); // it holds the only place
  auto waiting = eng.start("enters", std::int64_t{2});
  REQUIRE(waiting);
  CHECK(eng.stats().waiting == 1);
  REQUIRE(eng.cancel(*waiting));
  auto out = eng.wait<std::int64_t>(*waiting);
  REQUIRE_FALSE(out);
  CHECK(out.error().code() == static_cast<std::uint8_t>(errc::cancelled));
  CHECK(eng.stats().waiting == 0);
  if (cfg.journal_enabled) {
    auto rec = eng.journal()->find_task(waiting->value());
    REQUIRE(rec);
    REQUIRE(rec->has_value());
    CHECK((*rec)->status == eventlog::task_status::cancelled);
  }
  door.open();
  auto first = eng.wait<std::int64_t>(*running);
  REQUIRE(first);
  CHECK(*first == 1);
  CHECK(door.entered() == std::vector<std::int64_t>{1}); // the cancelled task never ran its effect
}

TEST_CASE("max_running_tasks = 0 runs every start at once", "[admission][engine]") {
  temp_dir dir;
  doorway door;
  auto cfg = limited(dir.file("j.db"), 0);
  cfg.worker_threads = 20; // a handler each
  engine eng{cfg, admission_routes(), door.fx()};
  REQUIRE_FALSE(eng.status());
  std::vector<task_id> ids;
  for (std::int64_t i = 0; i < 20; ++i) {
    auto id = eng.start("enters", i);
    REQUIRE(id);
    ids.push_back(*id);
  }
  door.wait_entered(20); // all twenty inside at once
  CHECK(eng.stats().waiting == 0);
  door.open();
  for (auto id : ids)
    REQUIRE(eng.wait<std::int64_t>(id));
}
