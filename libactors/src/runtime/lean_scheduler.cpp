#include "runtime/lean_scheduler.hpp"

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include <caf/abstract_actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/execution_unit.hpp>
#include <caf/logger.hpp>
#include <caf/ref_counted.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduler/abstract_coordinator.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace actors::detail {

namespace {

/// CAF's thread-safe clock, minus the cancellation events for actors that never set a timeout.
class lean_clock : public caf::detail::thread_safe_actor_clock {
public:
  using super = caf::detail::thread_safe_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            std::uint64_t id) override {
    remember(self);
    super::set_ordinary_timeout(t, self, type, id);
  }

  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    remember(self);
    super::set_request_timeout(t, self, id);
  }

  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         std::uint64_t id) override {
    remember(self);
    super::set_multi_timeout(t, self, type, id);
  }

  /// Called by every quitting actor: forwarded only for actors that set a timeout.
  void cancel_timeouts(caf::abstract_actor* self) override {
    // Most actors never set a timeout: skip the lock (an actor's own remember() happened before it
    // quits, in its own activations, so its count is visible here).
    if (remembered_.load(std::memory_order_acquire) == 0)
      return;
    {
      std::lock_guard guard{mx_};
      if (with_timeouts_.erase(self->id()) == 0)
        return;
      remembered_.store(with_timeouts_.size(), std::memory_order_release);
    }
    super::cancel_timeouts(self);
  }

private:
  void remember(caf::abstract_actor* self) {
    std::lock_guard guard{mx_};
    with_timeouts_.insert(self->id());
    remembered_.store(with_timeouts_.size(), std::memory_order_release);
  }

  std::mutex mx_;
  std::unordered_set<caf::actor_id> with_timeouts_;
  std::atomic<std::size_t> remembered_{0}; ///< with_timeouts_.size(), written under mx_
};

template <class Policy>
class lean_coordinator : public caf::scheduler::coordinator<Policy> {
public:
  using super = caf::scheduler::coordinator<Policy>;

  explicit lean_coordinator(caf::actor_system& sys) : super(sys) {}

  lean_clock& clock() noexcept override { return clock_; }

protected:
  void start() override {
    dispatcher_ = std::thread{[this] {
      pthread_setname_np(pthread_self(), "actors.clock");
      this->system().thread_started();
      clock_.run_dispatch_loop();
      this->system().thread_terminates();
    }};
    super::start();
  }

  void stop() override {
    super::stop();
    clock_.cancel_dispatch_loop();
    dispatcher_.join();
  }

private:
  lean_clock clock_;
  std::thread dispatcher_;
};

/// The `sharing` policy without CAF's per-job overhead. CAF's worker<work_sharing> loop does, for every
/// job, a dynamic_cast and two lookups of the logger's per-thread actor id under a spin lock (its
/// CAF_PUSH_AID is compiled in at every log level), and its central queue (a std::list) allocates a
/// node per enqueue and wakes a sleeping worker on every enqueue. Here: one central queue of jobs
/// under a mutex (a deque: no allocation per job), and at most one wake-up on its way at a time — a
/// worker that takes a job and sees more queued wakes the next (the same rule as the worker pool,
/// DESIGN-NOTES §9). Jobs run exactly as CAF's loop runs them.
class sharing_coordinator : public caf::scheduler::abstract_coordinator {
public:
  using super = caf::scheduler::abstract_coordinator;

  explicit sharing_coordinator(caf::actor_system& sys) : super(sys) {}

  lean_clock& clock() noexcept override { return clock_; }

  void enqueue(caf::resumable* job) override { push(job); }

protected:
  void start() override {
    dispatcher_ = std::thread{[this] {
      pthread_setname_np(pthread_self(), "actors.clock");
      system().thread_started();
      clock_.run_dispatch_loop();
      system().thread_terminates();
    }};
    auto n = num_workers();
    workers_.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      workers_.push_back(std::make_unique<worker>(*this));
    for (auto& w : workers_)
      w->start();
    super::start();
  }

  void stop() override {
    // As CAF's coordinator::stop: one shutdown job per worker (the worker that runs it leaves its
    // loop), then the utility actors, then whatever is still queued is released.
    struct shutdown_job : caf::resumable, caf::ref_counted {
      resume_result resume(caf::execution_unit* eu, std::size_t) override {
        std::lock_guard guard{mx};
        last = eu;
        cv.notify_all();
        return resumable::shutdown_execution_unit;
      }
      void intrusive_ptr_add_ref_impl() override { ref(); }
      void intrusive_ptr_release_impl() override { deref(); }
      std::mutex mx;
      std::condition_variable cv;
      caf::execution_unit* last = nullptr;
    };
    shutdown_job sh;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
      sh.ref(); // never released to zero: it lives on this stack
      push(&sh);
      std::unique_lock guard{sh.mx};
      sh.cv.wait(guard, [&] { return sh.last != nullptr; });
      sh.last = nullptr;
    }
    stop_actors();
    for (auto& w : workers_)
      w->thread.join();
    std::deque<caf::resumable*> rest;
    {
      std::lock_guard guard{mx_};
      rest.swap(jobs_);
    }
    for (auto* job : rest)
      cleanup_and_release(job);
    clock_.cancel_dispatch_loop();
    dispatcher_.join();
  }

private:
  struct worker : caf::execution_unit {
    explicit worker(sharing_coordinator& parent)
      : caf::execution_unit(&parent.system()), parent(parent) {}

    void exec_later(caf::resumable* job) override { parent.push(job); }

    void start() {
      thread = std::thread{[this] {
        CAF_SET_LOGGER_SYS(&system());
        pthread_setname_np(pthread_self(), "actors.sched"); // shows in top, perf and gdb
        system().thread_started();
        run();
        system().thread_terminates();
      }};
    }

    void run() {
      auto throughput = parent.max_throughput();
      for (;;) {
        auto* job = parent.pop();
        switch (job->resume(this, throughput)) {
          case caf::resumable::resume_later:
            parent.push(job); // keeps its reference: it stays in the loop
            break;
          case caf::resumable::done:
          case caf::resumable::awaiting_message:
            intrusive_ptr_release(job); // enqueued again (with a new reference) when it has work
            break;
          case caf::resumable::shutdown_execution_unit:
            return;
        }
      }
    }

    sharing_coordinator& parent;
    std::thread thread;
  };

  void push(caf::resumable* job) {
    bool wake = false;
    {
      std::lock_guard guard{mx_};
      jobs_.push_back(job);
      wake = claim_wake_locked();
    }
    if (wake)
      cv_.notify_one();
  }

  /// Blocks until a job is queued and takes it.
  caf::resumable* pop() {
    std::unique_lock guard{mx_};
    while (jobs_.empty()) {
      ++idle_;
      cv_.wait(guard, [this] { return wakes_ > 0; });
      --idle_;
      --wakes_; // this worker answers the wake-up, whoever it was meant for
    }
    auto* job = jobs_.front();
    jobs_.pop_front();
    auto wake = claim_wake_locked();
    guard.unlock();
    if (wake)
      cv_.notify_one();
    return job;
  }

  bool claim_wake_locked() {
    if (jobs_.empty() || wakes_ > 0 || idle_ == 0)
      return false;
    ++wakes_;
    return true;
  }

  lean_clock clock_;
  std::thread dispatcher_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::mutex mx_;
  std::condition_variable cv_;
  std::deque<caf::resumable*> jobs_; ///< guarded by mx_
  std::size_t idle_ = 0;             ///< workers waiting on cv_; guarded by mx_
  std::size_t wakes_ = 0;            ///< wake-ups sent and not yet answered (0 or 1); guarded by mx_
};

} // namespace

void use_lean_scheduler(caf::actor_system_config& cfg, bool stealing) {
  if (stealing)
    cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
      return new lean_coordinator<caf::policy::work_stealing>(sys);
    });
  else
    cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
      return new sharing_coordinator(sys);
    });
}

} // namespace actors::detail
