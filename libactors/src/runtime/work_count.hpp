#pragma once
// work_count — the units of work an engine has in flight (running or waiting tasks, shadow runs, their
// pending journal appends), for engine::drain() and shutdown. Counted atomically on every start and
// end; the mutex only guards the wake-up at zero. Thread-safe.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace actors::detail {

class work_count {
public:
  /// One more unit in flight.
  void enter() noexcept { n_.fetch_add(1, std::memory_order_relaxed); }
  /// One unit done; wakes wait_idle() at zero.
  void leave() noexcept {
    if (n_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard guard{mx_};
      cv_.notify_all();
    }
  }
  /// Blocks until nothing is in flight.
  void wait_idle() {
    std::unique_lock guard{mx_};
    cv_.wait(guard, [&] { return n_.load(std::memory_order_acquire) == 0; });
  }

private:
  alignas(64) std::atomic<std::size_t> n_{0}; // a line of its own: every start and end bumps it
  std::mutex mx_;
  std::condition_variable cv_;
};

} // namespace actors::detail
