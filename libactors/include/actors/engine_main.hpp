#pragma once
// actors::engine_main — the command line every application binary gets (DESIGN §7):
//
//   int main(int argc, char** argv) { return actors::engine_main(argc, argv, routes, fx); }
//
//   app [--journal PATH] [--json] serve [--routing-file PATH]
//   app task list [--function F] [--status S] [--since DURATION] [--limit N]
//   app task show ID
//   app task replay ID [--version F=V ...]     exit 0: matches the recording, 1: diverges, 2: error
//   app task cancel ID
//   app route show
//   app route set F --version V [--task ID] | --shadow V [--primary V] | --percent P --candidate V
//   app route clear F [--task ID]
//   app replay --function F --into F=V [--since DURATION] [--limit N]   exit 1 if any diverged
//   app divergences [F] [--limit N]
//   app log [--follow] [--limit N]
//
// `--journal` defaults to `cli_options::default_journal` ("actors.db" in the working directory). `--json`
// prints data as JSON: one document, except `log`, which prints one JSON object per event, one per line
// (JSON Lines: {"task": ID, "event": {"seq", "kind", "name", "failed", "text", "ts"[, "ref"]}}; `log
// --help` lists the fields). Durations are like 90s, 15m, 1h30m, 2d, 500ms, at most 106751d (int64
// nanoseconds). `--limit N` takes a decimal count from 1 to 1,000,000,000, or 0 for no limit (the
// default). Bad input (unknown subcommand or option, a malformed or too large duration or limit, a
// malformed F=V, an unknown task id, a journal that does not exist) prints one line naming the problem
// on stderr (plus where to get usage) and exits 2; the line quotes at most 200 bytes of any input, with
// control characters escaped. Routes set here are kept in the journal: an engine serving it
// (in any process) applies them within `engine_config::routing_file_poll` (250 ms). The standalone
// `engine` tool (tools/engine) is this same
// command line without application code: it runs every subcommand that needs none.

#include <string>

#include "actors/effects.hpp"
#include "actors/router.hpp"

namespace actors {

struct cli_options {
  /// The journal when `--journal` is not given.
  std::string default_journal = "actors.db";
  /// One line for `--help`, after the program name.
  std::string description = "a libactors application";
};

/// Parses `argv` and runs the subcommand. Returns the process exit code.
int engine_main(int argc, char** argv, const router& routes, const effects& fx,
                const cli_options& opts = {});

} // namespace actors
