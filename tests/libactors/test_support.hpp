#pragma once
// Shared helpers for engine tests: temp directories and small effect types.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>

#include <actors/actors.hpp>

namespace actors::test {

/// A fresh directory under the system temp dir, removed when the object dies.
class temp_dir {
public:
  temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("actors-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

/// effect db.get :: id -> name
struct db_get {
  using result_type = std::string;
  static constexpr const char* name = "db.get";
  std::int64_t id = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & id;
  }
};

/// effect kv.put :: (key, value) -> value * 2
/// An aggregate with a std::string, performed as `cx.perform<kv_put>(key, value)` (README, "Compiler
/// notes": `cx.perform(kv_put{key, value})` is refused on GCC 12, which would destroy it twice).
struct kv_put {
  using result_type = std::int64_t;
  static constexpr const char* name = "kv.put";
  std::string key;
  std::int64_t value = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & key & value;
  }
};

/// effect test.gate :: n -> n — tests hold a task at it until they have done something.
struct gate {
  using result_type = std::int64_t;
  static constexpr const char* name = "test.gate";
  std::int64_t n = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & n;
  }
};

/// Mocks test.gate so that every handler is held until open(): a test waits for `n` held handlers with
/// wait_held(n), acts while the tasks wait in their effects, then opens the gate for all of them.
class held_gates {
public:
  held_gates() = default;
  held_gates(const held_gates&) = delete;
  held_gates& operator=(const held_gates&) = delete;

  effects fx() {
    effects e;
    e.handle<gate>([this](const gate& g) {
      {
        std::lock_guard guard{mx_};
        ++held_;
      }
      cv_.notify_all();
      opened_.wait();
      return g.n;
    });
    return e;
  }
  /// Blocks until `n` handlers have been reached (each is held until open()).
  void wait_held(int n = 1) {
    std::unique_lock guard{mx_};
    cv_.wait(guard, [&] { return held_ >= n; });
  }
  /// Releases every held handler, and every later one at once.
  void open() { open_.set_value(); }
  /// How many handlers have run (been held) so far.
  int calls() const {
    std::lock_guard guard{mx_};
    return held_;
  }

private:
  std::promise<void> open_;
  std::shared_future<void> opened_ = open_.get_future().share();
  mutable std::mutex mx_;
  std::condition_variable cv_;
  int held_ = 0;
};

/// A user database mocked through the effects API (db.get): counts its calls and remembers the ids
/// asked for; negative ids fail ("no user -4"), other ids answer "user<id>".
struct user_db {
  std::atomic<int> calls{0};
  std::mutex mx;
  std::multiset<std::int64_t> asked;
  effects fx() {
    effects e;
    e.handle<db_get>([this](const db_get& q) {
      ++calls;
      std::lock_guard guard{mx};
      asked.insert(q.id);
      if (q.id < 0)
        throw std::runtime_error("no user " + std::to_string(q.id));
      return "user" + std::to_string(q.id);
    });
    return e;
  }
};

/// Nanoseconds since the Unix epoch.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// The row of a root task `id` of `function`@v1 taking In, as an engine journals it: for journals a test
/// crafts to look like a crash left them.
template <class In>
eventlog::task_record root_record(std::uint64_t id, std::string function, std::string route = {}) {
  eventlog::task_record rec;
  rec.id = id;
  rec.root = id;
  rec.function = std::move(function);
  rec.version = "v1";
  rec.input_type = type_name<In>();
  rec.route = std::move(route);
  return rec;
}

inline engine_config config_for(const std::string& journal) {
  engine_config cfg;
  cfg.journal = journal;
  cfg.log_level = "warn";
  return cfg;
}

} // namespace actors::test
