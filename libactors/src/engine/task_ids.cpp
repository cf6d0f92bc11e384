#include "engine/task_ids.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include "runtime/clock.hpp"

namespace actors::detail {

namespace {

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

} // namespace

task_ids::task_ids()
  : seed_state_{std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                static_cast<std::uint64_t>(now_ns())} {}

task_id task_ids::next() noexcept {
  auto ms = static_cast<std::uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
  auto floor = ms << 20;
  auto prev = last_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    next = std::max(prev + 1, floor);
  } while (!last_.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  return task_id{next};
}

void task_ids::keep_above(std::uint64_t id) noexcept {
  auto prev = last_.load(std::memory_order_relaxed);
  while (prev < id && !last_.compare_exchange_weak(prev, id, std::memory_order_relaxed)) {
  }
}

std::uint64_t task_ids::seed() noexcept {
  return splitmix64(seed_state_.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed));
}

} // namespace actors::detail
