#pragma once
// sharded_counter — an event counter that threads bump without sharing a cache line.
//
// The engine counts every task start and end and every effect (engine::stats) from whichever thread
// does the work: the caller, CAF's workers, the worker pool, the journal writer. One std::atomic per
// counter, all in one struct, put every increment of every task on the same cache line, which then
// travels between the cores at each step of each task (~0.1 µs per move on these machines, up to
// ~0.4 µs when the two cores sit far apart). Each thread here increments a slot of its own (by a
// per-thread index; threads beyond the slot count share); a read sums the slots, so it is exact once
// the increments it should see have happened, and otherwise a moment's snapshot — which is all
// statistics need (drain() keeps its exact in-flight counter).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace actors::detail {

class sharded_counter {
public:
  void fetch_add(std::uint64_t n, std::memory_order order = std::memory_order_relaxed) noexcept {
    slots_[slot_index()].value.fetch_add(n, order);
  }

  std::uint64_t load() const noexcept {
    std::uint64_t sum = 0;
    for (const auto& s : slots_)
      sum += s.value.load(std::memory_order_relaxed);
    return sum;
  }

private:
  static constexpr std::size_t slot_count = 8;
  struct alignas(64) slot {
    std::atomic<std::uint64_t> value{0};
  };

  /// This thread's slot: threads take indexes in turn at their first increment.
  static std::size_t slot_index() noexcept {
    static std::atomic<std::size_t> next{0};
    thread_local std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % slot_count;
    return mine;
  }

  std::array<slot, slot_count> slots_;
};

} // namespace actors::detail
