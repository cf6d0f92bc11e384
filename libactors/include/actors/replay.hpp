#pragma once
// Replay (DESIGN §4): re-run a recorded task's whole call tree from its journal, optionally with other
// versions of some functions, and see where it departs from the recording.
//
//   auto r = eng.replay(id, {.versions = {{"lookupUser", "debug"}}});
//   for (auto& line : r->logs) std::cout << line << '\n';             // the debug version's logs
//   if (r->diverged()) std::cout << r->divergence->recorded << " vs " << r->divergence->replayed;
//
// A replay journals nothing and calls no effect handler: every leaf effect (now, random, user effects,
// sleep, send, receive) the replayed tree asks for must be the recording's next one, depth-first across
// the recorded tree (calls are transparent, logs never count), compared field by field as resume compares
// (README, "Versions and routing": the divergence words), and is answered with the recorded result. The
// first difference stops the replay and is reported; so is a different output or error.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/task_id.hpp"

namespace actors {

struct replay_options {
  /// Versions to run instead of the recorded ones, by function ("--version lookupUser=debug"). They take
  /// precedence over the engine's overrides for the task's tree (`engine::override_route`), which take
  /// precedence over the versions the recording ran. Pinned calls stay pinned.
  std::map<std::string, std::string, std::less<>> versions;
  /// CPU time the replay may use before it is stopped as a "timeout" divergence.
  std::chrono::milliseconds cpu_bound{60'000};
};

/// The first point where a replay departs from its recording.
struct replay_divergence {
  std::int64_t position = -1; ///< index of the first differing leaf effect (0-based); -1: the output
  std::string what;           ///< "different request", "different recipient", "extra effect", "output", ...
  std::string recorded;       ///< the recording's side: kind, name, arguments and result, or output
  std::string replayed;       ///< the replay's side: kind, name and arguments, or output
};

struct replay_report {
  task_id task;                                     ///< the replayed task
  std::string function;
  std::string recorded_version;                     ///< the version the task ran
  std::string replayed_version;                     ///< the version the replay ran
  std::map<std::string, std::string, std::less<>> versions; ///< per function: the version replayed
  /// The functions replayed with another version than the recording ran (by options or overrides).
  std::map<std::string, std::string, std::less<>> swapped;
  std::vector<std::string> logs;                    ///< the replay's log lines ("[fn@v] text")
  std::size_t recorded_tasks = 0;                   ///< tasks in the recorded tree
  std::size_t recorded_events = 0;                  ///< journal events read
  std::size_t recorded_effects = 0;                 ///< leaf effects in the recording
  std::size_t replayed_effects = 0;                 ///< leaf effects answered before the end
  bool recorded_failed = false;                     ///< the recording ended with an error
  std::string recorded_output;                      ///< its output or error, rendered
  bool replay_failed = false;                       ///< the replay threw (or was stopped)
  std::string replayed_output;                      ///< its output or error, rendered
  std::optional<replay_divergence> divergence;      ///< empty: the replay matched the recording

  bool diverged() const noexcept { return divergence.has_value(); }
  const std::optional<replay_divergence>& first_divergence() const noexcept { return divergence; }
};

} // namespace actors
