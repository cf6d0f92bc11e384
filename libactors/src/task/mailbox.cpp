#include "task/mailbox.hpp"
#include "runtime/tell.hpp"

#include <iterator>
#include <vector>

#include <caf/send.hpp>

#include "task/messages.hpp"

namespace actors::detail {

mailboxes::post_result mailboxes::post(const eventlog::message_record& m, std::size_t capacity,
                                       const std::function<void(const eventlog::message_record&)>& journal,
                                       const caf::actor& sender, std::uint32_t seq) {
  caf::actor wake;
  std::uint32_t wake_seq = 0;
  {
    std::lock_guard guard{mx_};
    auto& b = boxes_[m.target];
    count_.store(boxes_.size(), std::memory_order_release);
    if (capacity > 0 && b.queue.size() >= capacity) {
      if (sender)
        b.blocked.emplace_back(sender, seq);
      return post_result::full;
    }
    journal(m);
    b.queue.push_back(m);
    if (b.waiter) {
      wake = std::move(b.waiter);
      wake_seq = b.waiter_seq;
      b.waiter = nullptr;
    }
  }
  if (wake)
    tell(wake, mail_atom::value, wake_seq);
  return post_result::accepted;
}

caf::expected<std::optional<eventlog::message_record>>
mailboxes::take(std::uint64_t target, const caf::actor& waiter, std::uint32_t seq,
                const loader& load) {
  std::optional<eventlog::message_record> out;
  caf::actor room;
  std::uint32_t room_seq = 0;
  {
    std::unique_lock guard{mx_};
    auto i = boxes_.find(target);
    if (i == boxes_.end() || !i->second.loaded) {
      // Messages of earlier runs (this task resumed) wait in the journal. Read without the lock; a
      // post meanwhile lands in the in-memory queue, after them (its id is larger).
      guard.unlock();
      auto earlier = load ? load(target) : std::vector<eventlog::message_record>{};
      if (!earlier)
        return std::move(earlier.error());
      guard.lock();
      auto& b = boxes_[target];
      count_.store(boxes_.size(), std::memory_order_release);
      if (!b.loaded) {
        b.loaded = true;
        std::deque<eventlog::message_record> merged(earlier->begin(), earlier->end());
        for (auto& m : b.queue)
          if (merged.empty() || m.id > merged.back().id)
            merged.push_back(std::move(m));
        b.queue = std::move(merged);
      }
      i = boxes_.find(target);
    }
    auto& b = i->second;
    if (b.queue.empty()) {
      b.waiter = waiter;
      b.waiter_seq = seq;
      return out;
    }
    out = std::move(b.queue.front());
    b.queue.pop_front();
    if (!b.blocked.empty()) {
      std::tie(room, room_seq) = std::move(b.blocked.front());
      b.blocked.pop_front();
    }
  }
  if (room)
    tell(room, mail_room_atom::value, room_seq);
  return out;
}

void mailboxes::stop_waiting(std::uint64_t target) {
  std::lock_guard guard{mx_};
  if (auto i = boxes_.find(target); i != boxes_.end())
    i->second.waiter = nullptr;
}

void mailboxes::close(std::uint64_t target) {
  // Every task closes its mailbox as it ends; most never had one (boxes are made under mx_, so an
  // empty count means none for `target` either).
  if (count_.load(std::memory_order_acquire) == 0)
    return;
  std::vector<std::pair<caf::actor, std::uint32_t>> blocked;
  {
    std::lock_guard guard{mx_};
    auto i = boxes_.find(target);
    if (i == boxes_.end())
      return;
    auto& b = i->second.blocked;
    blocked.assign(std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
    boxes_.erase(i);
    count_.store(boxes_.size(), std::memory_order_release);
  }
  for (auto& [a, seq] : blocked) // they try again and find the target ended
    tell(a, mail_room_atom::value, seq);
}

bool mailboxes::has(std::uint64_t target) const {
  std::lock_guard guard{mx_};
  return boxes_.contains(target);
}

} // namespace actors::detail
