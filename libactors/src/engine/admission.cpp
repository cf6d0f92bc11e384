#include "engine/admission.hpp"

#include <algorithm>

#include "engine/engine_core.hpp"
#include "task/task_runtime.hpp"

namespace actors::detail {

admission::admission(engine_core& core, std::size_t limit) : core_(core), limit_(limit) {}

admission::~admission() = default;

caf::actor admission::admit(std::unique_ptr<task_runtime> rt) {
  if (limit_ > 0) {
    std::lock_guard guard{mx_};
    if (running_ >= limit_) {
      core_.work.enter(); // drain() waits for it too
      waiting_.push_back(std::move(rt));
      return {};
    }
    ++running_;
    rt->hold_place();
  }
  return core_.spawn(std::move(rt));
}

void admission::spawn_waiting(std::unique_ptr<task_runtime> rt) {
  auto entry = rt->completion_entry();
  auto actor = core_.spawn(std::move(rt), true);
  if (entry)
    core_.name_actor(*entry, actor);
}

void admission::release(bool pass_on) {
  std::unique_lock guard{mx_};
  if (!pass_on || waiting_.empty() || running_ > limit_) {
    --running_;
    return;
  }
  auto next = std::move(waiting_.front()); // takes over the place
  waiting_.pop_front();
  next->hold_place();
  guard.unlock();
  spawn_waiting(std::move(next));
}

void admission::retake() {
  std::lock_guard guard{mx_};
  ++running_;
}

bool admission::admit_now(task_id id) {
  std::unique_lock guard{mx_};
  auto i = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& rt) { return rt->id() == id; });
  if (i == waiting_.end())
    return false;
  auto rt = std::move(*i);
  waiting_.erase(i);
  ++running_;
  rt->hold_place();
  rt->cancel_at_start();
  guard.unlock();
  spawn_waiting(std::move(rt));
  return true;
}

std::size_t admission::waiting() const {
  std::lock_guard guard{mx_};
  return waiting_.size();
}

} // namespace actors::detail
