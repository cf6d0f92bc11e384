#include "task/completion.hpp"

namespace actors::detail {

std::shared_ptr<completion> completion_registry::create(task_id id,
                                                        std::shared_ptr<const version_signature> signature) {
  auto c = std::make_shared<completion>();
  c->signature = std::move(signature);
  auto& s = shard_of(id);
  std::lock_guard guard{s.mx};
  s.entries[id] = c;
  return c;
}

std::shared_ptr<completion> completion_registry::find(task_id id) const {
  auto& s = shard_of(id);
  std::lock_guard guard{s.mx};
  auto i = s.entries.find(id);
  return i == s.entries.end() ? nullptr : i->second;
}

void completion_registry::forget(task_id id) {
  auto& s = shard_of(id);
  std::lock_guard guard{s.mx};
  s.entries.erase(id);
}

bool completion_registry::on_complete(task_id id, std::function<void(const outcome&)> cb) {
  auto c = find(id);
  if (!c)
    return false;
  {
    std::unique_lock guard{c->mx};
    if (!c->done) {
      c->callbacks.push_back(std::move(cb));
      return true;
    }
  }
  forget(id);
  cb(c->result);
  return true;
}

void completion_registry::complete(task_id id, outcome out, completion* entry) {
  std::shared_ptr<completion> found;
  if (entry == nullptr) {
    found = find(id);
    if (!found)
      return;
    entry = found.get();
  }
  auto& c = *entry;
  {
    std::lock_guard guard{c.mx};
    c.result = std::move(out);
    if (c.supervised) { // its supervisor decides whether this is the end
      c.held = true;
      return;
    }
  }
  publish(id, c);
}

void completion_registry::publish(task_id id, completion& c) {
  std::vector<std::function<void(const outcome&)>> callbacks;
  {
    std::lock_guard guard{c.mx};
    c.done = true;
    c.held = false;
    callbacks.swap(c.callbacks);
  }
  c.cv.notify_all();
  for (auto& cb : callbacks)
    cb(c.result);
  if (!callbacks.empty()) {
    forget(id); // delivered: nobody else asks for it
    return;
  }
  if (retain_bound_ == 0)
    return; // kept until waited for
  auto& s = shard_of(id);
  std::lock_guard guard{s.mx};
  s.retained.push_back(id);
  while (s.retained.size() > retain_bound_ / shard_count + 1) {
    s.entries.erase(s.retained.front()); // no-op if already waited for
    s.retained.pop_front();
  }
}

std::shared_ptr<completion> completion_registry::restart(task_id id,
                                                         std::shared_ptr<const version_signature> signature) {
  if (auto c = find(id)) {
    std::lock_guard guard{c->mx};
    if (!c->done) {
      c->signature = signature;
      c->held = false;
      c->result = outcome{};
      return c;
    }
  }
  return create(id, std::move(signature));
}

void completion_registry::set_supervised(task_id id, bool on) {
  if (on) // before the entry says so: supervised() never misses a supervised task for the flag
    any_supervised_.store(true, std::memory_order_release);
  auto c = find(id);
  if (!c)
    return;
  bool report = false;
  {
    std::lock_guard guard{c->mx};
    c->supervised = on;
    report = !on && c->held;
  }
  if (report)
    publish(id, *c);
}

bool completion_registry::supervised(task_id id) const {
  if (!any_supervised_.load(std::memory_order_acquire))
    return false; // engines without supervisors skip the lookup on every task's end
  auto c = find(id);
  if (!c)
    return false;
  std::lock_guard guard{c->mx};
  return c->supervised;
}

outcome completion_registry::wait(task_id id, completion& c) {
  outcome out;
  {
    std::unique_lock guard{c.mx};
    c.cv.wait(guard, [&] { return c.done; });
    out = c.result;
  }
  forget(id);
  return out;
}

} // namespace actors::detail
