#include "engine/keyed_starts.hpp"

#include "actors/errc.hpp"
#include "engine/engine_core.hpp"

namespace actors::detail {

namespace {

/// The task (id, function) that start key `key` names in `j`, if any. Errors: journal_failure.
caf::expected<std::optional<std::pair<task_id, std::string>>>
journaled_start_key(eventlog::journal& j, std::string_view key) {
  auto found = j.find_start_key(key);
  if (!found)
    return make_error(errc::journal_failure, "cannot look up start key '" + std::string{key} +
                                               "': " + describe(found.error()));
  if (!*found)
    return std::nullopt;
  auto rec = j.find_task(**found);
  if (!rec)
    return make_error(errc::journal_failure, "cannot read the task of start key '" + std::string{key} +
                                               "': " + describe(rec.error()));
  if (!*rec)
    return make_error(errc::journal_failure, "start key '" + std::string{key} + "' names task " +
                                               to_string(task_id{**found}) +
                                               ", which the journal does not have");
  return std::make_pair(task_id{**found}, std::move((*rec)->function));
}

} // namespace

caf::expected<task_id> keyed_starts::start(std::string_view key, std::string_view fn,
                                           std::string_view pinned, const erased_input& in) {
  auto conflict = [&](task_id id, const std::string& function) {
    return make_error(errc::start_key_conflict,
                      "start key '" + std::string{key} + "' belongs to task " + to_string(id) + " of '" +
                        function + "', not to a start of '" + std::string{fn} + "'");
  };
  eventlog::lsn created = 0;
  task_id id;
  bool fresh = false;
  {
    std::lock_guard guard{mx_};
    if (auto i = not_durable_.find(std::string{key}); i != not_durable_.end()) {
      if (i->second.function != fn)
        return conflict(i->second.id, i->second.function);
      // Started by an earlier call whose row may not be durable yet: acknowledged once it is.
      id = i->second.id;
      created = i->second.created;
    } else {
      if (core_.journal) {
        auto found = journaled_start_key(*core_.journal, key);
        if (!found)
          return std::move(found.error());
        if (*found) { // in the journal, so durable
          if ((*found)->second != fn)
            return conflict((*found)->first, (*found)->second);
          return (*found)->first;
        }
      }
      auto root = core_.start_root(fn, pinned, in, false, key, &created);
      if (!root)
        return std::move(root.error());
      id = root->first;
      fresh = true;
      not_durable_.emplace(std::string{key}, started{id, std::string{fn}, created});
    }
  }
  // Once the task row (and its key) is durable, the journal answers for the key. Registered outside
  // the lock: the callback may run inline.
  if (core_.journal && fresh)
    core_.journal->when_durable(created, [this, k = std::string{key}](const caf::error& err) {
      if (err)
        return; // the journal failed: the engine takes no new tasks; the entry stays
      std::lock_guard guard{mx_};
      not_durable_.erase(k);
    });
  if (auto err = core_.await_durable(created, [&] {
        return "task " + to_string(id) + " of '" + std::string{fn} + "' (start key '" +
               std::string{key} + "')";
      }))
    return err;
  return id;
}

} // namespace actors::detail
