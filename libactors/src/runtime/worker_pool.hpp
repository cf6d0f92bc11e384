#pragma once
// A fixed pool of threads that runs effect handlers, which may block (HTTP, database drivers). Task
// actors never run handlers on CAF's scheduler threads.
//
// A job may be gated on the journal: `submit_after(n, job)` runs `job` only once every append up to lsn
// `n` is durable (DESIGN §2: an effect runs only after the task's earlier results are durable). The
// journal tells the pool about each commit (`durable`, installed as its commit listener), and the pool
// releases all jobs that became runnable at once: the journal's writer thread does no per-job work.
//
// Waking workers: at most one wake-up is on its way at a time. A ready job wakes an idle worker only
// when no wake-up is pending; a worker that takes a job and sees more waiting wakes the next one
// before it runs its job (which may block). So a burst gets
// every worker, one after another, and a blocked handler holds up nobody; but a stream of short jobs
// is taken by the workers already awake instead of waking a sleeping worker per job (on 2 cores that
// herd of wake-ups cost bench (b) a third of its throughput: bench/README.md).

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/error.hpp>

namespace actors::detail {

class worker_pool {
public:
  /// A job receives an error instead of running its effect when what it waits for cannot become
  /// durable (the journal failed or closed).
  using job = std::function<void(const caf::error&)>;

  explicit worker_pool(std::size_t threads);
  /// Runs every released job, then joins the threads. Jobs still gated receive `closed`-style errors
  /// only through `durable`; the engine drains before destroying the pool, so none are left.
  ~worker_pool();

  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Queues `j` to run once lsn `after` is durable (0: at once). Thread-safe.
  void submit_after(std::uint64_t after, job j);

  /// Every append up to `n` is durable; or, with `err`, nothing more will be: gated jobs receive it.
  /// Called by the journal's writer (the commit listener). Thread-safe, never blocks on a job.
  void durable(std::uint64_t n, const caf::error& err);

private:
  struct ready_job {
    job fn;
    caf::error err;
  };
  struct gated_job {
    std::uint64_t after;
    job fn;
  };

  void run();
  /// Moves every gated job with after <= durable_ (or all, once failed_) to ready_. Needs mx_.
  std::size_t release_locked();
  /// Whether a ready job needs a worker woken: only when no wake-up is on its way and a worker is
  /// idle (then it counts the wake-up as sent). A woken worker looks for work under mx_ as it wakes,
  /// so it either takes a job or is idle again before anyone else sees it. Needs mx_.
  bool claim_wake_locked();

  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<ready_job> ready_;
  std::vector<gated_job> gated_; ///< min-heap on `after`
  std::uint64_t durable_ = 0;
  caf::error failed_;
  bool stopping_ = false;
  std::size_t idle_ = 0;         ///< workers waiting on cv_
  std::size_t wakes_ = 0;        ///< wake-ups sent that no worker has answered yet (0 or 1)
  std::vector<std::thread> threads_;
};

} // namespace actors::detail
