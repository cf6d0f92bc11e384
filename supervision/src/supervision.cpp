#include "actors/supervision.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <caf/atom.hpp>
#include <caf/make_message.hpp>

namespace actors::supervision {

std::string_view to_string(errc x) noexcept {
  switch (x) {
    case errc::invalid_spec: return "invalid_spec";
    case errc::escalated: return "escalated";
  }
  return "unknown";
}

caf::error make_error(errc x, std::string msg) {
  return caf::error{static_cast<std::uint8_t>(x), caf::atom("supervisor"),
                    caf::make_message(std::move(msg))};
}

std::string_view to_string(strategy x) noexcept {
  switch (x) {
    case strategy::one_for_one: return "one_for_one";
    case strategy::one_for_all: return "one_for_all";
    case strategy::rest_for_one: return "rest_for_one";
  }
  return "unknown";
}

std::string_view to_string(restart_type x) noexcept {
  switch (x) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
  }
  return "unknown";
}

namespace {

caf::error invalid(std::string msg) {
  return make_error(errc::invalid_spec, std::move(msg));
}

} // namespace

caf::error validate(const supervisor_flags& f) {
  if (f.strategy < strategy::one_for_one || f.strategy > strategy::rest_for_one)
    return invalid("supervisor: unknown strategy " + std::to_string(static_cast<int>(f.strategy)));
  if (f.intensity < 0)
    return invalid("supervisor: intensity " + std::to_string(f.intensity) + " is negative");
  if (f.period.count() <= 0)
    return invalid("supervisor: period " + std::to_string(f.period.count()) +
                   " ms must be positive");
  const auto& b = f.backoff;
  if (b.initial.count() < 0)
    return invalid("supervisor: backoff.initial is negative");
  if (b.enabled()) {
    if (b.max < b.initial)
      return invalid("supervisor: backoff.max " + std::to_string(b.max.count()) +
                     " ms is below backoff.initial " + std::to_string(b.initial.count()) + " ms");
    if (!(b.factor >= 1.0))
      return invalid("supervisor: backoff.factor " + std::to_string(b.factor) + " must be >= 1");
    if (!(b.jitter >= 0.0 && b.jitter <= 1.0))
      return invalid("supervisor: backoff.jitter " + std::to_string(b.jitter) + " must lie in 0..1");
  }
  return {};
}

caf::error validate(const child_spec& c) {
  if (c.id.empty())
    return invalid("child spec without an id (function '" + c.function + "')");
  if (c.supervisor) {
    if (!c.function.empty())
      return invalid("child '" + c.id + "': both a function and a supervisor");
  } else {
    if (c.function.empty())
      return invalid("child '" + c.id + "': no function");
    if (!c.input || c.input_type == nullptr)
      return invalid("child '" + c.id + "': no input (build task children with actors::worker)");
  }
  if (c.restart < restart_type::permanent || c.restart > restart_type::temporary)
    return invalid("child '" + c.id + "': unknown restart type " +
                   std::to_string(static_cast<int>(c.restart)));
  if (!c.shutdown.kill && c.shutdown.timeout.count() <= 0)
    return invalid("child '" + c.id + "': shutdown timeout " +
                   std::to_string(c.shutdown.timeout.count()) +
                   " ms must be positive (or use shutdown_policy::immediately())");
  return {};
}

caf::error validate(const supervisor_flags& f, const std::vector<child_spec>& children) {
  if (auto err = validate(f))
    return err;
  std::set<std::string_view> ids;
  for (const auto& c : children) {
    if (auto err = validate(c))
      return err;
    if (!ids.insert(c.id).second)
      return invalid("child '" + c.id + "': another child has the same id");
  }
  return {};
}

namespace {

caf::error validate_tree(const supervisor_spec& s, std::set<std::string>& names, int depth) {
  if (s.name.empty())
    return invalid("supervisor without a name");
  if (depth > 32)
    return invalid("supervisor '" + s.name + "': nested deeper than 32 levels");
  if (!names.insert(s.name).second)
    return invalid("supervisor '" + s.name + "': another supervisor in the tree has the same name");
  if (auto err = validate(s.flags, s.children))
    return make_error(errc::invalid_spec, "supervisor '" + s.name + "': " +
                                            err.context().get_as<std::string>(0));
  for (const auto& c : s.children)
    if (c.supervisor)
      if (auto err = validate_tree(*c.supervisor, names, depth + 1))
        return err;
  return {};
}

} // namespace

caf::error validate(const supervisor_spec& s) {
  std::set<std::string> names;
  return validate_tree(s, names, 0);
}

bool restart_intensity::record(clock::time_point now) {
  // OTP: keep the restarts no older than the period, add this one, allow while count <= intensity.
  while (!restarts_.empty() && now - restarts_.back() > period_)
    restarts_.pop_back();
  restarts_.push_front(now);
  return restarts_.size() <= static_cast<std::size_t>(std::max(intensity_, 0));
}

std::size_t restart_intensity::recent(clock::time_point now) const {
  return static_cast<std::size_t>(std::count_if(restarts_.begin(), restarts_.end(),
                                                [&](auto t) { return now - t <= period_; }));
}

std::chrono::milliseconds backoff_delay(const backoff& b, unsigned attempt, double unit_random) {
  if (!b.enabled() || attempt == 0)
    return std::chrono::milliseconds{0};
  auto base = static_cast<double>(b.initial.count()) * std::pow(b.factor, attempt - 1);
  base = std::min(base, static_cast<double>(b.max.count()));
  auto spread = base * b.jitter * (2.0 * std::clamp(unit_random, 0.0, 1.0) - 1.0);
  auto d = std::max(0.0, base + spread);
  return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(d))};
}

} // namespace actors::supervision
