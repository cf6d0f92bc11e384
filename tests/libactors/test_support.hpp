#pragma once
// Shared helpers for engine tests: temp directories and small effect types.

#include <atomic>
#include <filesystem>
#include <random>
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
/// Has a constructor: GCC 12 destroys aggregate temporaries with non-trivial members twice inside a
/// co_await expression (see README, "Compiler notes"), so `co_await cx.perform(kv_put{"k", 1})` needs it.
struct kv_put {
  using result_type = std::int64_t;
  static constexpr const char* name = "kv.put";
  kv_put() = default;
  kv_put(std::string k, std::int64_t v) : key(std::move(k)), value(v) {}
  std::string key;
  std::int64_t value = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & key & value;
  }
};

inline engine_config config_for(const std::string& journal) {
  engine_config cfg;
  cfg.journal = journal;
  cfg.log_level = "warn";
  return cfg;
}

} // namespace actors::test
