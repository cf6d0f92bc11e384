#pragma once
// A fixed pool of threads that runs effect handlers, which may block (HTTP, database drivers). Task
// actors never run handlers on CAF's scheduler threads.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace actors::detail {

class worker_pool {
public:
  explicit worker_pool(std::size_t threads);
  /// Runs every queued job, then joins the threads.
  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Queues `job`. Thread-safe.
  void submit(std::function<void()> job);

private:
  void run();

  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace actors::detail
