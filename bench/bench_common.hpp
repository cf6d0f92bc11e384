#pragma once
// Shared helpers of actors_bench: sizes, timing, medians, CPU count, temp files and the output format.
//
// Output: one measurement per line, `name value unit`, and one line per paired comparison,
// `name.ratio value` (our throughput / raw throughput: higher is better). Lines starting with '#'
// are comments (configuration, goals) for humans.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <sched.h>
#include <time.h>
#include <unistd.h>

namespace bench {

/// Workload sizes; `--quick` shrinks them so the whole run stays a CI smoke test (< 20 s).
struct sizes {
  int repetitions = 5;            ///< each figure is the median of this many runs
  std::int64_t trivial_tasks = 100'000; ///< (a) spawn + reply / trivial tasks, in total
  std::int64_t trivial_window = 1'000;  ///< (a) how many are in flight at once
  std::int64_t durable_tasks = 10'000;  ///< (b) durable tasks, all started then all waited
  std::int64_t durable_tasks_per_txn = 200; ///< (b) raw side: 200 tasks x 5 rows = 1,000 rows per txn
  std::int64_t fanout_parents = 1'000;      ///< (c) parents running at once
  std::int64_t fanout_children = 100;       ///< (c) sequential child calls per parent
  std::int64_t fanout_journal_children = 100; ///< (c) journal on (each call waits for a commit)
  int fanout_journal_repetitions = 3;         ///< (c) journal on: seconds per run, so fewer runs
  std::int64_t burst_children = 20'000;      ///< (d) raw CAF: children spawned at once by one actor
  std::int64_t shadow_blocks = 10;           ///< (e) blocks per run, alternating shadow off / on
  std::int64_t shadow_block_requests = 300;  ///< (e) sequential requests per block
  std::int64_t replay_tasks = 1'000;         ///< (f) recorded tasks replayed per run
  std::int64_t replay_effects = 98;          ///< (f) user effects per task (+ started, completed)

  static sizes quick() {
    sizes s;
    s.repetitions = 1;
    s.trivial_tasks = 20'000;
    s.durable_tasks = 2'000;
    s.fanout_parents = 200;
    s.fanout_children = 50;
    s.fanout_journal_children = 10;
    s.fanout_journal_repetitions = 1;
    s.burst_children = 5'000;
    s.shadow_blocks = 2;
    s.shadow_block_requests = 150;
    s.replay_tasks = 100;
    return s;
  }
};

using clock_type = std::chrono::steady_clock;

/// Seconds elapsed since `t0`.
inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// CPU seconds used so far by all threads of this process.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// One timed run: wall-clock seconds (the figure reported) and the CPU seconds all threads of the
/// process spent meanwhile — on a shared, loaded machine CPU time per unit of work is the steadier
/// figure for finding where our side spends its time.
struct run_time {
  double wall = 0;
  double cpu = 0;
};

/// Times one workload: construct right before it, call `stop()` right after it.
class stopwatch {
public:
  stopwatch() : wall0_(clock_type::now()), cpu0_(process_cpu_seconds()) {}
  run_time stop() const { return {seconds_since(wall0_), process_cpu_seconds() - cpu0_}; }

private:
  clock_type::time_point wall0_;
  double cpu0_;
};

inline double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/// CPUs this process may run on (its affinity mask), as the engine sizes its scheduler: CAF's own
/// default would start 4 threads on a 2-core machine (see shared/BASELINES.md).
inline std::size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
  return 1;
}

/// Prints `name value unit`; nothing for a figure that did not run (value 0).
inline void print_value(const std::string& name, double value, const char* unit) {
  if (value <= 0)
    return;
  std::printf("%s %.0f %s\n", name.c_str(), value, unit);
  std::fflush(stdout);
}

/// Prints `name.ratio ours/raw`; nothing unless both sides ran.
inline void print_ratio(const std::string& name, double ours, double raw) {
  if (ours <= 0 || raw <= 0)
    return;
  std::printf("%s.ratio %.3f\n", name.c_str(), ours / raw);
  std::fflush(stdout);
}

inline void print_comment(const std::string& text) {
  std::printf("# %s\n", text.c_str());
  std::fflush(stdout);
}

/// A fresh path in the temp directory for one SQLite file; `remove_db` deletes it with its WAL files.
inline std::string temp_db_path(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto name = "actors_bench_" + std::to_string(::getpid()) + "_" + tag + "_" +
              std::to_string(counter.fetch_add(1)) + ".db";
  return (std::filesystem::temp_directory_path() / name).string();
}

inline void remove_db(const std::string& path) {
  std::error_code ec;
  for (auto suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(path + suffix, ec);
}

/// Aborts the run: a benchmark whose work went wrong measures nothing.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "actors_bench: %s\n", what.c_str());
  std::exit(1);
}

} // namespace bench
