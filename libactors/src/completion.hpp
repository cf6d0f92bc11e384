#pragma once
// Completion registry: how a finished task's outcome reaches whoever waits for it — a parent task's actor
// (callback) or a thread blocked in engine::wait. One entry per task started or resumed by this engine.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include <caf/error.hpp>

#include "actors/task_id.hpp"

namespace actors::detail {

/// How a task ended.
enum class outcome_state : std::uint8_t {
  completed = 0, ///< Output in `payload` (bytes), journaled.
  failed = 1,    ///< Task code threw; `payload` is the message. Journaled.
  aborted = 2,   ///< Stopped without a journaled end (nondeterminism, journal failure...): `error`.
};

struct outcome {
  outcome_state state = outcome_state::completed;
  std::string payload; ///< Output bytes, or the failure message.
  std::string text;    ///< Readable rendering of the output or failure.
  caf::error error;    ///< For aborted tasks.
};

struct completion {
  std::string function;
  std::string version;
  const std::type_info* output_type = nullptr;
  std::mutex mx;
  std::condition_variable cv;
  bool done = false;
  outcome result;
  std::vector<std::function<void(const outcome&)>> callbacks;
};

class completion_registry {
public:
  /// Registers a running task.
  std::shared_ptr<completion> create(task_id id, std::string function, std::string version,
                                     const std::type_info* output_type);

  /// The entry of `id`, or nullptr (never registered, or finished long ago).
  std::shared_ptr<completion> find(task_id id) const;

  /// Calls `cb` with the outcome of `id` once it finishes (inline if it has). Returns false if `id`
  /// is unknown.
  bool on_complete(task_id id, std::function<void(const outcome&)> cb);

  /// Records the outcome and notifies waiters. Entries whose outcome nobody has consumed yet stay for
  /// later `find`s, up to a bound (oldest evicted first).
  void complete(task_id id, outcome out);

  /// Blocks until `c` is done and returns its outcome.
  static outcome wait(completion& c);

private:
  static constexpr std::size_t max_retained = 65536;
  mutable std::mutex mx_;
  std::unordered_map<task_id, std::shared_ptr<completion>> entries_;
  std::deque<task_id> retained_;
};

} // namespace actors::detail
