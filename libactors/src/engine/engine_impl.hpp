#pragma once
// engine::impl — what an engine is behind its facade: its core (engine_core: the components tasks
// share), its start-up status, and the routing file it watches. engine.cpp (the calls of the public
// API), startup.cpp (start-up steps and shutdown) and routing_file.cpp (the routing file and the
// watcher thread) define its members. Internal.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/engine.hpp"
#include "engine/engine_core.hpp"

namespace actors {

struct engine::impl {
  std::unique_ptr<detail::engine_core> core;
  caf::error status;

  // --- the routing file --------------------------------------------------------------------------
  std::mutex file_mx;                 ///< guards the fields below; one reload at a time (not re-entrant:
                                      ///< bump_routing_generation takes it too)
  std::condition_variable routing_cv; ///< notified when routing_generation or refusals move
  std::uint64_t routing_generation = 0;
  std::string file_text;              ///< content last seen (applied or refused)
  caf::error text_error;              ///< why file_text was refused (empty: it applied)
  caf::error file_error;              ///< the file's problem now (engine::routing_file_error)
  std::string last_refusal;           ///< the refusal last logged: each problem is logged once
  std::uint64_t refusals = 0;         ///< engine_stats::routing_file_refusals
  std::jthread watcher;

  // --- start-up (each step returns why the engine cannot start) ----------------------------------
  caf::error start();
  caf::error check_config();
  caf::error open_journal();
  void start_threads();
  caf::error load_routes();
  void start_watcher();
  void resume_unfinished();
  /// Stops everything start() started, wherever it stopped (and ~engine): the watcher, supervisors,
  /// in-flight tasks, then the core's threads (engine_core::shutdown). Idempotent.
  void shut_down();

  /// Reads the routing file; if its content changed since last seen, applies it (or refuses it).
  /// `at_start`: the constructor's read, whose error becomes status() (not logged, not counted).
  caf::expected<void> reload_routing_file(bool force, bool at_start = false);
  /// Counts and logs `err` (once per distinct problem); needs file_mx.
  void refused_locked(const caf::error& err);
  void bump_routing_generation();
};


} // namespace actors
