#pragma once
// Error codes of the engine (category atom "actors"). Every error carries a message that names the
// function, version, task or file concerned; `to_string(err)` on the `caf::error` shows it.

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>

namespace actors {

enum class errc : std::uint8_t {
  unknown_function = 1, ///< No function of that name is registered.
  unknown_version,      ///< The function is registered, but not in that version.
  wrong_input_type,     ///< The input's C++ type is not the function's input type.
  wrong_output_type,    ///< The awaited result type is not the function's output type.
  bad_input,            ///< The journaled input does not deserialize as the function's input type.
  task_failed,          ///< The task threw (or a child it awaited failed): the message says what.
  unknown_task,         ///< No task with that id in this engine or its journal.
  bad_task_id,          ///< A string that is not a task id.
  nondeterminism,       ///< On replay, task code asked for an effect other than the journaled one.
  unhandled_effect,     ///< Task code performed an effect that has no handler installed.
  journal_failure,      ///< The journal could not be opened or written; the message says why.
  not_resumable,        ///< An unfinished journaled task whose function or version is not registered.
  engine_stopped,       ///< The engine failed to start or is shutting down.
  invalid_configuration,///< A router or engine_config problem found at construction.
  cancelled,            ///< The task was cancelled (engine::cancel, `task cancel`).
  not_running,          ///< The task cannot be cancelled: it has ended, or is not the root of its tree.
  mailbox_full,         ///< engine::send: the task's bounded mailbox is full (try again later).
  unknown_supervisor,   ///< No supervisor of that name runs in this engine.
  start_key_conflict,   ///< engine::start with a start key already used by a task of another function.
  journal_in_use,       ///< Another engine serves the journal (holds its lock file): this one may not
                        ///< resume or start tasks on it.
  module_not_found,     ///< A module file that does not exist or cannot be opened (the path, errno text).
  not_a_module,         ///< A module path that is a directory, not a shared object, or a shared object
                        ///< without libactors' entry point (<actors/module.hpp>).
  module_load_failed,   ///< dlopen refused a shared object (dlerror's text), or the process still has an
                        ///< earlier, different build of it loaded.
  incompatible_module,  ///< A module built against another libactors, standard library or layout; the
                        ///< message names the field: "built against libactors 0.2.0, this is 0.1.0".
  invalid_module,       ///< A module whose registration threw, registered nothing, or registered an
                        ///< invalid name, a duplicate or clashing effect types.
  version_exists,       ///< A (function, version) that the engine already has (engine::add_version, a
                        ///< module's registration).
  version_in_use,       ///< engine::retire of a version that a routing policy or override names.
  unknown_module,       ///< No module with that id is loaded in this engine.
  module_in_use,        ///< engine::unload_module of a module with a version that is not drained (the
                        ///< message names the versions and their tasks).
};

/// Returns the code's name, e.g. "unknown_function".
std::string_view to_string(errc x) noexcept;

/// Makes a `caf::error` of category "actors" whose context is `msg`.
caf::error make_error(errc x, std::string msg);

/// A one-line description of any libactors error: "actors.unknown_function: no function named ...".
/// Works for the "actors", "router" and "journal" categories; other errors fall back to caf's rendering.
std::string describe(const caf::error& err);

} // namespace actors
