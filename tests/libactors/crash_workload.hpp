#pragma once
// The workload shared by the crash tests and their child process: a task that reserves stock, charges a
// card (the effect in flight at the kill), then calls a child task that ships; and a task killed while it
// sleeps on a durable timer.

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <actors/actors.hpp>

#include "test_support.hpp"

namespace actors::test {

struct reserve {
  using result_type = std::int64_t;
  static constexpr const char* name = "stock.reserve";
  std::int64_t qty = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & qty;
  }
};

struct charge {
  using result_type = std::string;
  static constexpr const char* name = "card.charge";
  std::int64_t cents = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & cents;
  }
};

struct ship {
  using result_type = std::string;
  static constexpr const char* name = "parcel.ship";
  std::int64_t qty = 0;
  template <class Ar>
  void serialize(Ar& ar, unsigned) {
    ar & qty;
  }
};

inline task<std::string> ship_order(ctx& cx, std::int64_t qty) {
  co_return co_await cx.perform(ship{qty});
}

inline task<std::string> durable(ctx& cx, std::int64_t qty) {
  co_await cx.log("order of {}", qty);
  auto left = co_await cx.perform(reserve{qty});
  auto receipt = co_await cx.perform(charge{qty * 100});
  auto tracking = co_await cx.call<std::string>("ship", qty);
  co_return std::to_string(left) + "/" + receipt + "/" + tracking;
}

// Sleeps `ms` milliseconds between two clock readings and returns how long it observed, in ms. Killed
// during the sleep, it must resume with the journaled first reading and deadline, not fresh ones.
inline task<std::int64_t> crash_nap(ctx& cx, std::int64_t ms) {
  auto before = co_await cx.now();
  co_await cx.sleep(std::chrono::milliseconds{ms});
  auto after = co_await cx.now();
  co_return std::chrono::duration_cast<std::chrono::milliseconds>(after - before).count();
}

inline router crash_routes() {
  router r;
  r.add("durable", "v1", durable).add("ship", "v1", ship_order).add("crashNap", "v1", crash_nap);
  return r;
}

/// Effects that append "<kind> <arg> attempt <effect_context::attempt>" to `ledger` (one line per
/// execution), then call `hook(line)`.
inline effects crash_effects(std::string ledger, std::function<void(const std::string&)> hook) {
  auto record = [ledger, hook](const std::string& line) {
    if (auto* f = std::fopen(ledger.c_str(), "a")) {
      std::fprintf(f, "%s\n", line.c_str());
      std::fclose(f);
    }
    if (hook)
      hook(line);
  };
  auto attempt = [](const effect_context& cx) { return " attempt " + std::to_string(cx.attempt); };
  effects fx;
  fx.handle<reserve>([record, attempt](const reserve& r, const effect_context& cx) {
    record("reserve " + std::to_string(r.qty) + attempt(cx));
    return 100 - r.qty;
  });
  fx.handle<charge>([record, attempt](const charge& c, const effect_context& cx) {
    record("charge " + std::to_string(c.cents) + attempt(cx));
    return "paid-" + std::to_string(c.cents);
  });
  fx.handle<ship>([record, attempt](const ship& s, const effect_context& cx) {
    record("ship " + std::to_string(s.qty) + attempt(cx));
    return "parcel-" + std::to_string(s.qty);
  });
  return fx;
}

} // namespace actors::test
