#include "runtime/worker_pool.hpp"

#include <pthread.h>

#include <algorithm>

namespace actors::detail {

namespace {

/// Orders the gated heap so that the smallest `after` is at the front.
constexpr auto later = [](const auto& a, const auto& b) { return a.after > b.after; };

} // namespace

worker_pool::worker_pool(std::size_t threads) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "actors.worker"); // shows in top, perf and gdb
      run();
    });
}

worker_pool::~worker_pool() {
  {
    std::lock_guard guard{mx_};
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void worker_pool::submit_after(std::uint64_t after, job j) {
  bool wake = false;
  {
    std::lock_guard guard{mx_};
    if (after <= durable_ || failed_) {
      ready_.push_back(ready_job{std::move(j), failed_});
      wake = claim_wake_locked();
    } else {
      gated_.push_back(gated_job{after, std::move(j)});
      std::push_heap(gated_.begin(), gated_.end(), later);
    }
  }
  if (wake)
    cv_.notify_one();
}

void worker_pool::durable(std::uint64_t n, const caf::error& err) {
  bool wake = false;
  {
    std::lock_guard guard{mx_};
    durable_ = std::max(durable_, n);
    if (err && !failed_)
      failed_ = err;
    if (release_locked() > 0)
      wake = claim_wake_locked();
  }
  if (wake)
    cv_.notify_one();
}

bool worker_pool::claim_wake_locked() {
  if (ready_.empty() || wakes_ > 0 || idle_ == 0)
    return false;
  ++wakes_;
  return true;
}

std::size_t worker_pool::release_locked() {
  std::size_t n = 0;
  while (!gated_.empty() && (failed_ || gated_.front().after <= durable_)) {
    std::pop_heap(gated_.begin(), gated_.end(), later);
    ready_.push_back(ready_job{std::move(gated_.back().fn), failed_});
    gated_.pop_back();
    ++n;
  }
  return n;
}

void worker_pool::run() {
  std::unique_lock guard{mx_};
  for (;;) {
    if (!ready_.empty()) {
      auto j = std::move(ready_.front());
      ready_.pop_front();
      // More work, and no wake-up on its way: wake one more worker before running this job (which
      // may block). Workers so join a burst one by one, each woken by one that is working.
      auto wake = claim_wake_locked();
      guard.unlock();
      if (wake)
        cv_.notify_one();
      j.fn(j.err);
      guard.lock();
      continue;
    }
    if (stopping_)
      return;
    ++idle_;
    cv_.wait(guard, [this] { return wakes_ > 0 || stopping_; });
    --idle_;
    if (wakes_ > 0)
      --wakes_; // this worker answers the wake-up, whoever it was meant for; it looks for work now
  }
}

} // namespace actors::detail
