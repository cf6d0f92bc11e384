#include "lean_scheduler.hpp"

#include <pthread.h>

#include <mutex>
#include <thread>
#include <unordered_set>

#include <caf/abstract_actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/work_sharing.hpp>
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
    {
      std::lock_guard guard{mx_};
      if (with_timeouts_.erase(self->id()) == 0)
        return;
    }
    super::cancel_timeouts(self);
  }

private:
  void remember(caf::abstract_actor* self) {
    std::lock_guard guard{mx_};
    with_timeouts_.insert(self->id());
  }

  std::mutex mx_;
  std::unordered_set<caf::actor_id> with_timeouts_;
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

} // namespace

void use_lean_scheduler(caf::actor_system_config& cfg, bool stealing) {
  if (stealing)
    cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
      return new lean_coordinator<caf::policy::work_stealing>(sys);
    });
  else
    cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
      return new lean_coordinator<caf::policy::work_sharing>(sys);
    });
}

} // namespace actors::detail
