#pragma once
// run_replay — engine::replay (DESIGN §4): a recorded tree runs again in a foreground replay session,
// with the versions it ran or others for some functions, and the report says where it departs.
// Internal.

#include <caf/expected.hpp>

#include "actors/engine.hpp"
#include "actors/routing.hpp"
#include "replay/replay_session.hpp"

namespace actors::detail {

class task_host;

/// Runs `rec` again on `host` and blocks the calling thread until it ends. Versions, weakest first:
/// what the recording ran, the overrides of `in_force` for the recorded tree, `opts.versions`.
/// Errors: unknown_function / unknown_version (a version asked for is not registered), wrong_input_type
/// (the version to run takes another input type than the recording's).
caf::expected<replay_report> run_replay(task_host& host, const routing_table& in_force, recording rec,
                                        const replay_options& opts);

} // namespace actors::detail
