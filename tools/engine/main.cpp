// engine — the standalone command-line tool: inspect any libactors journal without the application's code.
//
//   engine --journal app.db task list --status failed --since 1h
//   engine --journal app.db task show 1a20a4317c800001
//   engine --journal app.db divergences lookupUser
//   engine --journal app.db log --follow
//
// Subcommands that run application code (serve, task replay) say so and exit 2: run them from the
// application's binary, which gets the same command line from actors::engine_main.

#include <actors/actors.hpp>

int main(int argc, char** argv) {
  actors::cli_options opts;
  opts.description = "inspect a libactors journal (tasks, events, divergences)";
  return actors::engine_main(argc, argv, actors::router{}, actors::effects{}, opts);
}
