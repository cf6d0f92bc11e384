#pragma once
// keyed_starts — engine::start(fn, in, start_key{...}) starts at most once per key (DESIGN-NOTES §20).
// A key seen before returns its task. Keyed starts are serialized by one mutex; a key lives here until
// its task row is durable, then in the journal only (with the journal off: for the engine's life).
// Thread-safe.

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <caf/expected.hpp>

#include "actors/eventlog/journal.hpp"
#include "actors/task_id.hpp"

namespace actors::detail {

struct engine_core;
struct erased_input;

class keyed_starts {
public:
  explicit keyed_starts(engine_core& core) : core_(core) {}

  /// Starts a root task of `fn` (routed; `pinned` if not empty) for `key`, unless the key started one
  /// before: then returns that task. Returns once the task row is durable.
  /// Errors: engine_core::start_root's; start_key_conflict (the key belongs to a start of another
  /// function); journal_failure (the key cannot be looked up, or the row not acknowledged).
  caf::expected<task_id> start(std::string_view key, std::string_view fn, std::string_view pinned,
                               const erased_input& in);

private:
  struct started {
    task_id id;
    std::string function;
    eventlog::lsn created = 0; ///< its task row's lsn: a repeated start waits for it too
  };
  engine_core& core_;
  std::mutex mx_;
  std::unordered_map<std::string, started> not_durable_; ///< guarded by mx_
};

} // namespace actors::detail
