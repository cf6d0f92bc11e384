#pragma once
// Mailboxes: the messages tasks send each other (ctx::send, engine::send) and receive (ctx::receive).
// Internal.
//
// Every message is a row of the journal's messages table before anyone can receive it: `post` appends
// it (with its sender's `send` event, one transaction) under the mailbox lock, so a receive event always
// comes after the message it refers to in the journal's commit order. A message is pending until its
// target journals a `receive` event referring to it; a mailbox created for a task of an earlier run
// (resumed) starts from the journal's pending messages.
//
// A bounded mailbox (`engine_config::mailbox_capacity`) that is full refuses a message: a task that
// sends waits (it is told when there is room and tries again); `engine::send` returns mailbox_full.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include "actors/eventlog/event.hpp"

namespace actors::detail {

class mailboxes {
public:
  enum class post_result { accepted, full };

  /// Reads the pending messages of a task whose mailbox is created by its receiver.
  using loader = std::function<caf::expected<std::vector<eventlog::message_record>>(std::uint64_t)>;

  /// Puts `m` into its target's mailbox unless it holds `capacity` messages (0: unbounded); calls
  /// `journal(m)` first, under the lock. When full and `sender` is given, `sender` gets
  /// (mail_room_atom, seq) once a message was taken.
  post_result post(const eventlog::message_record& m, std::size_t capacity,
                   const std::function<void(const eventlog::message_record&)>& journal,
                   const caf::actor& sender, std::uint32_t seq);

  /// Takes the oldest message of `target`'s mailbox; if there is none, registers `waiter`, which gets
  /// (mail_atom, seq) when one arrives. `load` fills a mailbox this call creates. A read error is
  /// returned (the mailbox stays unloaded).
  caf::expected<std::optional<eventlog::message_record>> take(std::uint64_t target,
                                                             const caf::actor& waiter,
                                                             std::uint32_t seq, const loader& load);

  /// Forgets `target`'s registered waiter (its receive timed out or it was cancelled).
  void stop_waiting(std::uint64_t target);

  /// Drops `target`'s mailbox (it ended); senders waiting for room are told so they fail.
  void close(std::uint64_t target);

  /// Whether `target` has a mailbox here (it received, or was sent to, while running).
  bool has(std::uint64_t target) const;

private:
  struct box {
    std::deque<eventlog::message_record> queue;
    caf::actor waiter;
    std::uint32_t waiter_seq = 0;
    std::deque<std::pair<caf::actor, std::uint32_t>> blocked; ///< senders waiting for room
    bool loaded = false;
  };
  mutable std::mutex mx_;
  std::unordered_map<std::uint64_t, box> boxes_;
  std::atomic<std::size_t> count_{0}; ///< boxes_.size(), written under mx_: close() skips the lock at 0

};

} // namespace actors::detail
