// A process the crash tests start and kill with SIGKILL while a user effect is in flight.
//
//   actors_crash_child JOURNAL
// Starts task "durable" (see crash_workload.hpp) with input 5, prints "STARTED <id>", and blocks inside
// the handler of the second effect after printing "INFLIGHT <id>". Each handler call appends a line to
// JOURNAL.effects so the test can count executions across processes.

#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "crash_workload.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: actors_crash_child JOURNAL\n");
    return 2;
  }
  std::string journal = argv[1];
  std::mutex mx;
  std::condition_variable never;
  auto fx = actors::test::crash_effects(journal + ".effects", [&](const std::string& line) {
    if (line.rfind("charge", 0) == 0) {
      std::printf("INFLIGHT\n");
      std::fflush(stdout);
      std::unique_lock guard{mx};
      never.wait(guard, [] { return false; }); // until SIGKILL
    }
  });
  auto cfg = actors::test::config_for(journal);
  actors::engine eng{cfg, actors::test::crash_routes(), fx};
  if (auto err = eng.status()) {
    std::fprintf(stderr, "%s\n", actors::describe(err).c_str());
    return 1;
  }
  auto id = eng.start("durable", std::int64_t{5});
  if (!id) {
    std::fprintf(stderr, "%s\n", actors::describe(id.error()).c_str());
    return 1;
  }
  std::printf("STARTED %s\n", actors::to_string(*id).c_str());
  std::fflush(stdout);
  auto r = eng.wait<std::string>(*id);
  return r ? 0 : 1;
}
