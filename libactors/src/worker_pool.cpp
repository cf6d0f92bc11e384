#include "worker_pool.hpp"

#include <pthread.h>

namespace actors::detail {

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

void worker_pool::submit(std::function<void()> job) {
  {
    std::lock_guard guard{mx_};
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void worker_pool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock guard{mx_};
      cv_.wait(guard, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty())
        return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

} // namespace actors::detail
