#include "completion.hpp"

namespace actors::detail {

std::shared_ptr<completion> completion_registry::create(task_id id, std::string function,
                                                        std::string version,
                                                        const std::type_info* output_type) {
  auto c = std::make_shared<completion>();
  c->function = std::move(function);
  c->version = std::move(version);
  c->output_type = output_type;
  std::lock_guard guard{mx_};
  entries_[id] = c;
  return c;
}

std::shared_ptr<completion> completion_registry::find(task_id id) const {
  std::lock_guard guard{mx_};
  auto i = entries_.find(id);
  return i == entries_.end() ? nullptr : i->second;
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
  cb(c->result);
  return true;
}

void completion_registry::complete(task_id id, outcome out) {
  auto c = find(id);
  if (!c)
    return;
  std::vector<std::function<void(const outcome&)>> callbacks;
  {
    std::lock_guard guard{c->mx};
    c->result = std::move(out);
    c->done = true;
    callbacks.swap(c->callbacks);
  }
  c->cv.notify_all();
  for (auto& cb : callbacks)
    cb(c->result);
  std::lock_guard guard{mx_};
  if (!callbacks.empty()) {
    entries_.erase(id); // delivered to its parent: nobody else asks for a child's outcome
    return;
  }
  retained_.push_back(id);
  while (retained_.size() > max_retained) {
    entries_.erase(retained_.front());
    retained_.pop_front();
  }
}

outcome completion_registry::wait(completion& c) {
  std::unique_lock guard{c.mx};
  c.cv.wait(guard, [&] { return c.done; });
  return c.result;
}

} // namespace actors::detail
