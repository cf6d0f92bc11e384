// Raw CAF workloads (see raw_caf.hpp). They mirror what the engine does per task — one event-based
// actor per unit of work, spawned with default flags — without any of libactors' bookkeeping.

#include "raw_caf.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "bench_common.hpp"

namespace bench {

namespace {

std::unique_ptr<caf::actor_system_config> make_config(const caf_setup& setup) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  cfg->set("scheduler.policy", caf::atom_from_string(setup.policy));
  cfg->set("scheduler.max-threads", setup.threads);
  return cfg;
}

/// The raw counterpart of a trivial task: answers one int with x + 1 and quits.
caf::behavior increment(caf::event_based_actor* self) {
  return {
    [self](std::int64_t x) {
      self->quit();
      return x + 1; // the reply still goes out: quit() takes effect after the handler returns
    },
  };
}

struct parent_state {
  std::int64_t next = 0; ///< index of the next child to spawn
  std::int64_t sum = 0;  ///< sum of the replies, checked by the caller
};

using parent_actor = caf::stateful_actor<parent_state>;

/// Spawns the next child and awaits its reply before spawning the one after (sequential calls).
void spawn_next_child(parent_actor* self, std::int64_t children, caf::actor sink) {
  if (self->state.next == children) {
    self->send(sink, self->state.sum);
    self->quit();
    return;
  }
  auto child = self->spawn(increment);
  self->request(child, caf::infinite, self->state.next++)
    .then([self, children, sink](std::int64_t y) {
      self->state.sum += y;
      spawn_next_child(self, children, sink);
    });
}

caf::behavior fanout_parent(parent_actor* self, std::int64_t children, caf::actor sink) {
  spawn_next_child(self, children, sink);
  // Never matched: a non-empty behavior keeps the actor alive while its requests are pending.
  return {
    [](caf::unit_t) {},
  };
}

struct burst_state {
  std::int64_t pending = 0; ///< replies still to come
  std::int64_t sum = 0;
};

using burst_actor = caf::stateful_actor<burst_state>;

caf::behavior burst_parent(burst_actor* self, std::int64_t children, caf::actor sink) {
  self->state.pending = children;
  for (std::int64_t i = 0; i < children; ++i) {
    self->request(self->spawn(increment), caf::infinite, i).then([self, sink](std::int64_t y) {
      self->state.sum += y;
      if (--self->state.pending == 0) {
        self->send(sink, self->state.sum);
        self->quit();
      }
    });
  }
  return {
    [](caf::unit_t) {},
  };
}

} // namespace

run_time raw_caf_spawn_reply(const caf_setup& setup, std::int64_t total, std::int64_t window) {
  auto cfg = make_config(setup);
  caf::actor_system sys{*cfg};
  caf::scoped_actor self{sys};
  std::int64_t sum = 0;
  stopwatch watch;
  for (std::int64_t base = 0; base < total; base += window) {
    auto n = std::min(window, total - base);
    for (std::int64_t i = 0; i < n; ++i)
      self->send(sys.spawn(increment), base + i);
    std::int64_t received = 0;
    self->receive_for(received, n)([&](std::int64_t y) { sum += y; });
  }
  auto elapsed = watch.stop();
  // sum of (i + 1) for i in [0, total)
  if (sum != total * (total + 1) / 2)
    fail("raw CAF spawn/reply: wrong sum of replies");
  return elapsed;
}

run_time raw_caf_fanout(const caf_setup& setup, std::int64_t parents, std::int64_t children) {
  auto cfg = make_config(setup);
  caf::actor_system sys{*cfg};
  caf::scoped_actor self{sys};
  auto sink = caf::actor_cast<caf::actor>(self);
  std::int64_t sum = 0;
  stopwatch watch;
  for (std::int64_t p = 0; p < parents; ++p)
    sys.spawn(fanout_parent, children, sink);
  std::int64_t received = 0;
  self->receive_for(received, parents)([&](std::int64_t s) { sum += s; });
  auto elapsed = watch.stop();
  if (sum != parents * (children * (children + 1) / 2))
    fail("raw CAF fan-out: wrong sum of replies");
  return elapsed;
}

run_time raw_caf_burst(const caf_setup& setup, std::int64_t children) {
  auto cfg = make_config(setup);
  caf::actor_system sys{*cfg};
  caf::scoped_actor self{sys};
  std::int64_t sum = 0;
  stopwatch watch;
  sys.spawn(burst_parent, children, caf::actor_cast<caf::actor>(self));
  self->receive([&](std::int64_t s) { sum = s; });
  auto elapsed = watch.stop();
  if (sum != children * (children + 1) / 2)
    fail("raw CAF burst: wrong sum of replies");
  return elapsed;
}

} // namespace bench
